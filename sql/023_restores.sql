-- 023_restores.sql - a store restored in place from one of its backups (issue 13 item 3;
-- docs/stores.md "Backups and restore", src/fleet/reconcile_restore.c).
--
-- The web app (or storefleetctl) inserts a 'requested' row for a complete
-- backup of a ready (or degraded) store; reconcile carries it out:
--
--   requested --a 'pre-restore' backup of the current state requested--> backing-up
--   backing-up --that backup complete: the restore Job's name recorded, Job applied--> restoring
--   restoring --the Job completed--> complete
--       \--the pre-restore backup failed / the Job refused or failed / timeout / store gone--> failed
--
-- The store's own status is not changed: it stays ready while the restore
-- runs (the restore Job loads into a scratch database and swaps it in with
-- one RENAME, then swaps the files: nothing is served half-restored), and
-- while a restore is live the store takes no upgrade, backup request,
-- suspend or other restore (409 with the reason).  A Job that refuses the
-- backup (a size or SHA-256 unlike the manifest's, a member outside the
-- uploads...) changes nothing: the restore ends failed with the Job's reason.
--
-- backup_id names the backup restored (no foreign key: pruning deletes
-- backups rows; a backup a live restore needs is never pruned).
CREATE TABLE restores (
	id bigserial PRIMARY KEY,
	store_id text NOT NULL REFERENCES stores (id),
	backup_id bigint NOT NULL,
	backup_name text NOT NULL,			-- b<n>: the prefix's last part
	pre_backup_id bigint,				-- the 'pre-restore' backup, once requested
	status text NOT NULL DEFAULT 'requested'
		CHECK (status IN ('requested', 'backing-up', 'restoring', 'complete', 'failed')),
	reason text NOT NULL DEFAULT '',
	job text NOT NULL DEFAULT '',			-- recorded before the Job is created
	actor_id bigint,
	actor text NOT NULL DEFAULT '',
	created_at timestamptz NOT NULL DEFAULT now(),
	started_at timestamptz,				-- the restore Job created
	finished_at timestamptz,
	CHECK ((status IN ('complete', 'failed')) = (finished_at IS NOT NULL)),
	CHECK (status = 'requested' OR status = 'failed' OR pre_backup_id IS NOT NULL)
);

CREATE UNIQUE INDEX restores_one_live ON restores (store_id)
	WHERE status IN ('requested', 'backing-up', 'restoring');
CREATE INDEX restores_store ON restores (store_id, id DESC);
