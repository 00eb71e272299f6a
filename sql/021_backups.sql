-- 021_backups.sql - a store's backups to object storage (issue 13; docs/operations.md "The stores' data").
--
-- One row per backup.  The web app inserts 'requested' rows ("Back up now":
-- kind manual); storefleet-reconcile (src/fleet/reconcile_backup.c) inserts
-- scheduled ones when the policy says one is due, names the Job and the
-- prefix before it creates the Job (status 'running'), follows the Job, and
-- records the backup 'complete' only after it has read manifest.json and
-- found every object it names, with the size it records (HEAD), in object
-- storage; anything else ends 'failed' with the reason.
--
--   requested --reconcile: job named--> running --job complete + verified--> complete
--                                              \--job failed / mismatch / store gone--> failed
--
-- At most one requested or running backup per store (backups_one_live).
-- Pruning deletes complete backups beyond the policy (objects, then row);
-- the newest complete one is never pruned.
CREATE TABLE backups (
	id bigserial PRIMARY KEY,
	store_id text NOT NULL REFERENCES stores (id),
	kind text NOT NULL CHECK (kind IN ('scheduled', 'manual', 'pre-upgrade', 'pre-restore', 'final')),
	status text NOT NULL DEFAULT 'requested'
		CHECK (status IN ('requested', 'running', 'complete', 'failed')),
	reason text NOT NULL DEFAULT '',		-- why it failed, for people
	failure text NOT NULL DEFAULT '',		-- the metrics' reason (fixed set), '' unless failed
	name text NOT NULL DEFAULT '',			-- the backup id in object storage: b<id>
	prefix text NOT NULL DEFAULT '',		-- stores/<store>/backups/<name>/
	job text NOT NULL DEFAULT '',			-- the Job's name, recorded before it is created
	engine text NOT NULL DEFAULT '',
	version text NOT NULL DEFAULT '',
	revision text NOT NULL DEFAULT '',
	-- from manifest.json, once verified
	dump_size bigint,
	dump_sha256 text,
	files_size bigint,
	files_sha256 text,
	manifest_started text,
	manifest_finished text,
	actor_id bigint,				-- who asked (manual), else NULL
	created_at timestamptz NOT NULL DEFAULT now(),
	started_at timestamptz,				-- the Job created
	finished_at timestamptz,
	CHECK ((status IN ('complete', 'failed')) = (finished_at IS NOT NULL)),
	CHECK (status <> 'complete' OR (dump_size IS NOT NULL AND files_size IS NOT NULL))
);

CREATE UNIQUE INDEX backups_one_live ON backups (store_id) WHERE status IN ('requested', 'running');
CREATE INDEX backups_store ON backups (store_id, created_at DESC);

-- storefleet_backup_failures_total{reason}: metric_counters (sql/005_metrics.sql), a
-- fixed set of reasons (src/fleet/reconcile_backup.c), zeros included
INSERT INTO metric_counters (name, l1)
SELECT 'backup_failures', r
FROM unnest('{job,timeout,manifest,mismatch,storage,deleted}'::text[]) r;
