/* reconcile_backup.h - stores' backups to object storage, one phase of each pass
 * (sql/021_backups.sql). */
#ifndef SF_RECONCILE_BACKUP_H
#define SF_RECONCILE_BACKUP_H

#include "err.h"

struct arena;
struct k8s_err;
struct reconcile;
struct store;

/* Are backups configured (backup_endpoint and backup_bucket set)? */
int reconcile_backup_enabled(void);

/*
 * Schedule, start, follow, verify and prune the stores' backups
 * (reconcile_backup.c says how).  *changed = backups started, ended or
 * pruned.  0, or -1 with e when the database failed; a store's trouble is
 * that backup's reason, never an error of the pass.
 */
int reconcile_backups(struct reconcile *r, int *changed, struct err *e);

/*
 * The name of the store's running backup, or NULL (none, or the database
 * failed: logged).  An upgrade waits for it before its snapshot
 * (reconcile_upgrade.c): the backup reads the version it was started on.
 */
const char *reconcile_backup_running(struct reconcile *r, const char *store);

/*
 * An upgrade's backup (reconcile_upgrade.c, when a backup target is
 * configured), in the caller's transaction: the store's backup requested
 * and not yet started (taken now, it serves the upgrade), else a new row of
 * kind 'pre-upgrade' (audited).  reconcile_backups starts and follows it as
 * any other, while the store is upgrading too, as long as the pending
 * revision names it as its snapshot.  OUT: *name b<n>.  1, 0 when another
 * backup of the store runs (none requested: wait for it), -1 with e.
 */
int reconcile_backup_for_upgrade(struct arena *a, const char *store, const char **name,
				 struct err *e);

/*
 * Backup name (b<n>) of store: *status 'requested', 'running', 'complete'
 * or 'failed' ("" when there is no such backup), *reason why it failed.
 * 0, or -1 with e.
 */
int reconcile_backup_status(struct arena *a, const char *store, const char *name,
			    const char **status, const char **reason, struct err *e);

/*
 * A rollback's restore (reconcile_upgrade.c): the restore Job of backup
 * name (75-backup.yaml, restore-backup-<tag>, the one restores in place
 * run: it checks every object's size and SHA-256 against the manifest
 * before it changes anything), rendered at version, applied with the
 * Secret and the policies.  Refused (K8S_HARD, why) unless the backup is
 * complete and a target is configured.  0, or -1 with ke and why.
 */
int reconcile_backup_restore_apply(struct reconcile *r, const struct store *s, const char *version,
				   const char *name, const char *tag, char *why, size_t n,
				   struct k8s_err *ke);

/*
 * That Job's state: "complete", "failed" (why: its condition and its log's
 * tail), "running" or "gone" (no such Job); NULL when it could not be read
 * (ke).
 */
const char *reconcile_backup_restore_state(struct reconcile *r, const struct store *s,
					   const char *tag, char *why, size_t n,
					   struct k8s_err *ke);

/*
 * The clone from backup into store (sql/025_clones.sql), for its
 * provisioning pass: 0 none, or complete (the store may go ready); 1 live
 * (*why: what the store waits for; also when the database failed); -1
 * failed (*why: the reason the store fails with).
 */
int reconcile_clone_state(struct reconcile *r, const char *store, const char **why);

#endif
