-- 026_backup_leftovers.sql - the objects a failed backup left in object storage are deleted
-- (issue 13: "an interrupted upload leaves no complete-looking backup"; src/fleet/reconcile_backup.c).
--
-- A backup recorded 'failed' with a prefix (its Job was started) gets leftovers = 12: the
-- attempts reconcile has left to list that prefix (taken from this row, never from what object
-- storage names) and delete what is under it, manifest.json first.  Attempt k (k = 12 -
-- leftovers) is due 2^k - 1 seconds after finished_at, so twelve attempts span about an hour
-- of object storage being away.  A listing that finds nothing ends it (0); an attempt that
-- deleted something is followed by one more (a Job still uploading after it was failed).
-- 0: nothing left to do, or the attempts are used up (an event says so).
ALTER TABLE backups ADD COLUMN leftovers smallint NOT NULL DEFAULT 0
	CHECK (leftovers BETWEEN 0 AND 12);
CREATE INDEX backups_leftovers ON backups (finished_at) WHERE leftovers > 0;
