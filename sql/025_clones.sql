-- 025_clones.sql - a clone from backup: a complete backup of one of the tenant's stores restored
-- into a new store (issue 13 item 3; docs/stores.md "Clone from backup",
-- src/web/store_clone.c, src/fleet/reconcile_backup.c).
--
-- The new store is made by the ordinary create (the same limits and
-- admission) and, in the same transaction, a restore row is recorded for it
-- with source_store set: the backup is the source store's (backup_id,
-- backup_name name it under stores/<source_store>/backups/).  Such a
-- restore takes no 'pre-restore' backup (the new store has nothing to
-- save): once provisioning has passed every readiness check, the new store
-- is held in 'provisioning' while the restore Job (which checks the
-- backup's sizes and SHA-256 before it writes anything) runs:
--
--   requested --the new store past its readiness checks: the Job's name recorded--> restoring
--   restoring --the Job completed--> complete (the store then goes ready)
--       \--the Job refused or failed / timeout--> failed, and the new store failed with the reason
--
-- The source store is only read (its backup's objects): it is never changed.
ALTER TABLE restores ADD COLUMN source_store text;		-- NULL: the store's own backup

DO $$
DECLARE c text;
BEGIN
	SELECT conname INTO c FROM pg_constraint
	WHERE conrelid = 'restores'::regclass AND contype = 'c'
	AND pg_get_constraintdef(oid) LIKE '%pre_backup_id IS NOT NULL%';
	IF c IS NOT NULL THEN
		EXECUTE format('ALTER TABLE restores DROP CONSTRAINT %I', c);
	END IF;
END $$;

ALTER TABLE restores ADD CONSTRAINT restores_pre_backup CHECK
	(status IN ('requested', 'failed') OR pre_backup_id IS NOT NULL OR source_store IS NOT NULL);

-- a source's backup cloned somewhere: "which clones came from this store"
CREATE INDEX restores_source ON restores (source_store) WHERE source_store IS NOT NULL;
