/* reconcile_backup.h - stores' backups to object storage, one phase of each pass
 * (sql/021_backups.sql). */
#ifndef SF_RECONCILE_BACKUP_H
#define SF_RECONCILE_BACKUP_H

#include "err.h"

struct reconcile;

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

#endif
