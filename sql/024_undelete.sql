-- 024_undelete.sql - a deleted store stays restorable for the revive window (issue 13 item 4;
-- docs/stores.md "Deleting and undeleting", src/fleet/reconcile_backup.c, src/web/store_undelete.c).
--
-- stores.final_backup says what the delete asked for:
--   ''        not deleted (or undeleted since)
--   'wanted'  a final backup (backups.kind 'final') is taken before the namespace goes:
--             reconcile records it in final_backup_id, and holds the store in
--             'deleting' until it is complete; a failed one keeps the store deleting
--             with the reason (delete again: a new final backup, or without one, confirmed)
--   'skipped' the owner asked for none and confirmed it: the delete cannot be undone
--   'none'    none could be taken (backups not configured, or the store was not ready
--             or degraded: failed, provisioning, upgrading, suspended)
-- stores.deleted_at (002, set by reconcile when the namespace is gone) starts the revive
-- window (config revive_window); an undelete clears it.  Past the window reconcile prunes the
-- store's backups, and the store can no longer be undeleted.
ALTER TABLE stores
	ADD COLUMN final_backup text NOT NULL DEFAULT ''
		CHECK (final_backup IN ('', 'wanted', 'skipped', 'none')),
	ADD COLUMN final_backup_id bigint;		-- no foreign key: pruning deletes backups rows

-- An undelete's restore (restores.undelete): it waits while the store is made again
-- (requested, provisioning, failed: a retry carries on), then runs as a restore in place.
ALTER TABLE restores ADD COLUMN undelete boolean NOT NULL DEFAULT false;

CREATE INDEX stores_deleted ON stores (deleted_at) WHERE status = 'deleted';
