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

/*
 * Restore in place (sql/023_restores.sql): a restore of store id from its
 * complete backup bid ("b12" or "12"), requested.  reconcile
 * (src/fleet/reconcile_restore.c) first takes a 'pre-restore' backup of
 * the current state, then runs the restore Job, which checks the backup's
 * sizes and SHA-256 before it changes anything.  Errors: 404 (another
 * tenant's store, a backup of another store or none), 409 with the reason
 * (not complete, the store not ready - an upgrade runs -, a backup or
 * another restore live, backups not configured).  An event and the audit
 * row restore.requested.  OUT: *out the restore's view: {number, backup,
 * status, reason, pre_backup, created_at, finished_at, source_store
 * (null unless a clone's)}.
 */
int store_restore_request(struct arena *a, const struct store_who *who, const char *id,
			  const char *bid, struct view **out, struct err *e);

/*
 * Clone from backup (sql/025_clones.sql): store id's complete backup bid
 * restored into a new store named c->name, of the same engine and plan,
 * owned by store id's owner.  The new store is made by store_create (the
 * owner's limits, the rate limits and admission, exactly as a create: on
 * 429/422/503 c->code, c->field, c->refused and c->retry_after say what
 * they say for a create) and, in its transaction, a restore of the backup
 * into it is recorded (restores.source_store = id): reconcile runs it once
 * the new store passed its readiness checks and before it is ready; the
 * restore Job checks the backup's sizes and SHA-256 before it writes
 * anything; a refusal fails the new store with the reason.  Store id is
 * never changed.  Events on both stores; audit rows store.clone (on id)
 * and restore.requested (on the new store), besides store.create.
 * Errors: 404 (another tenant's store, no such backup of it), 409 (the
 * backup not complete, with its status and reason; backups not
 * configured), and a create's.  OUT: *out {store: the new store's view,
 * restore: {number, backup, source_store, status}}.
 */
int store_clone(struct arena *a, const struct store_who *who, const char *id, const char *bid,
		struct store_create *c, struct view **out, struct err *e);

/* The store's restores, newest first (at most 20).  0, or -1 with e (404). */
int store_restore_list(struct arena *a, const struct store_who *who, const char *id,
		       struct view **list, struct err *e);

/*
 * Why store id cannot be verb-ed ("upgraded") while a restore of it is
 * live, or NULL (none; or the database failed: e set, check e->status).
 */
const char *store_restore_busy(struct arena *a, const char *id, const char *verb, struct err *e);

#endif
