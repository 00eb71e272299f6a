/* store_undelete.h - deleted stores for the web: the list, and undelete within the revive window
 * (sql/024_undelete.sql; docs/stores.md "Deleting and undeleting"). */
#ifndef SF_STORE_UNDELETE_H
#define SF_STORE_UNDELETE_H

#include "arena.h"
#include "err.h"
#include "store.h"
#include "view.h"

/*
 * The stores deleted within the revive window, newest deletion first (at
 * most 100): who's own, or every owner's when all (an administrator's
 * list).  Those deleted earlier have nothing left to bring back.  Each: {id, name,
 * engine, owner, deleted_at (null: deleted before undelete existed),
 * revivable_until, final_backup (b<n> or null), final_backup_status
 * (complete | failed | ... | null: none taken, or pruned), revivable (bool:
 * undelete would be accepted as far as the window and the backup go),
 * why_not (null, or the sentence undelete would answer)}.
 */
int store_deleted_list(struct arena *a, const struct store_who *who, int all, struct view **list,
		       struct err *e);

/*
 * Undelete store id: within revive_window of its deletion, from its
 * complete final backup, with the same id and host (a deleted store keeps
 * its row, so both stay its own).  The store goes back to 'requested' on
 * its own cluster, within its owner's limits (stores_per_tenant,
 * stores_max, the plan's) and admission (admission.h, that cluster only),
 * and a restore of the final backup is recorded (restores.undelete):
 * reconcile runs it once the store is ready again.  An event and the audit
 * row store.undelete.  Errors: 404 (not visible: another tenant), 409 (not
 * deleted; deleted without a final backup; the final backup not complete;
 * backups not configured), 410 (the revive window passed), 429, 422, 503
 * (limits, admission).  OUT: *out {store: the store's view, restore:
 * {number, backup, status}}.
 */
int store_undelete(struct arena *a, const struct store_who *who, const char *id, struct view **out,
		   struct err *e);

#endif
