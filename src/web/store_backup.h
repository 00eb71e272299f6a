/* store_backup.h - a store's backups for the web: "Back up now" and the list (sql/021_backups.sql).
 */
#ifndef SF_STORE_BACKUP_H
#define SF_STORE_BACKUP_H

#include "arena.h"
#include "err.h"
#include "store.h"
#include "view.h"

/*
 * The web app records the request only; storefleet-reconcile starts the
 * Job, follows it and records the backup complete once every object is
 * verified (src/fleet/reconcile_backup.c).  The store is found with the
 * ownership condition (store_get): another tenant's store is 404.
 *
 * The view of one backup: {id (b<n> once started, else null), number,
 * kind, status (requested | running | complete | failed), reason, engine,
 * version, revision, job, prefix, size (dump + files bytes, null until
 * complete), objects: [{name, size, sha256}] (complete only), created_at,
 * started_at, finished_at, age_seconds}.
 */

/* The store's backups, newest first (at most 100).  0, or -1 with e (404). */
int store_backup_list(struct arena *a, const struct store_who *who, const char *id,
		      struct view **list, struct err *e);

/*
 * "Back up now": a manual backup of store id, requested.  Refused 409 with
 * the reason when backups are not configured, when the store is not ready
 * (an upgrade runs, it is suspended, being made or deleted) or a backup of
 * it is already requested or running.  An event and the audit row
 * backup.requested.  OUT: *out the new backup's view.  Errors: 404, 409, 503.
 */
int store_backup_request(struct arena *a, const struct store_who *who, const char *id,
			 struct view **out, struct err *e);

#endif
