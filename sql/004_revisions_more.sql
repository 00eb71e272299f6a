-- 004_revisions_more.sql - what reconcile keeps on a revision to carry an upgrade or rollback across passes and crashes.
--
-- restore_status: the restore of restore_snapshot (a rollback's), like
-- snapshot_status for the snapshot taken before the revision.  applied_at:
-- when the revision's manifests were applied, the start of its upgrade
-- timeout (verifying).

ALTER TABLE store_revisions ADD COLUMN restore_status text NOT NULL DEFAULT 'none'
	CHECK (restore_status IN ('none', 'pending', 'complete', 'failed'));
ALTER TABLE store_revisions ADD COLUMN applied_at timestamptz;
