-- 003_revisions.sql - store revisions: every apply of a store's manifests, upgrades and rollbacks.
--
-- A revision is one apply of a store's rendered set: the engine version and
-- the per-store values layer (never a secret) it was rendered from, who asked
-- for it, and how it ended.  The web app (or storefleetctl) asks for an
-- upgrade or a rollback by inserting a 'pending' revision and pointing
-- stores.pending_revision at it, with status 'upgrading', in one transaction;
-- storefleet-reconcile carries it out under its lease:
--
--   pending -> snapshotting -> applying -> verifying -> ready
--                  |               |           |
--                  +-> failed      +-----------+-> rolled_back (the previous
--                     (nothing         revision re-applied and the snapshot
--                      applied)        restored, as a revision of its own)
--
-- Snapshots: before an upgrade applies, a Job dumps the store's database into
-- the snapshot PVC of the store namespace; its name is recorded on the
-- revision whose apply it precedes (snapshot).  Rolling back to revision K
-- restores the snapshot taken before revision K+1 - the state of the data
-- while K was live - and is refused (409) when that snapshot does not exist
-- or did not complete.

ALTER TABLE stores DROP CONSTRAINT stores_status_check;
ALTER TABLE stores ADD CONSTRAINT stores_status_check CHECK (status IN
	('requested', 'provisioning', 'ready', 'degraded', 'upgrading', 'failed', 'deleting', 'deleted'));

-- The revision live in the cluster (0 = none applied yet) and the one
-- reconcile is carrying out (NULL = none).
ALTER TABLE stores ADD COLUMN current_revision integer NOT NULL DEFAULT 0;
ALTER TABLE stores ADD COLUMN pending_revision integer;
ALTER TABLE stores ADD CONSTRAINT stores_upgrading_check
	CHECK ((status = 'upgrading') = (pending_revision IS NOT NULL));

CREATE TABLE store_revisions (
	store_id text NOT NULL REFERENCES stores (id),
	revision integer NOT NULL CHECK (revision > 0),
	kind text NOT NULL CHECK (kind IN ('provision', 'upgrade', 'rollback')),
	engine_version text NOT NULL,
	-- sha256 of the rendered set, filled in when reconcile applies it
	blueprint_revision text NOT NULL DEFAULT '',
	-- the per-store values layer it renders with; secrets never go here
	"values" jsonb NOT NULL DEFAULT '{}',
	-- NULL = the platform itself (reconcile's automatic rollback)
	actor_id bigint REFERENCES users (id),
	actor text NOT NULL,
	-- rollback: the revision whose engine version and values are re-applied,
	-- and the snapshot restored (taken before source_revision + 1)
	source_revision integer,
	restore_snapshot text,
	-- the snapshot taken before this revision was applied ('' = none)
	snapshot text NOT NULL DEFAULT '',
	snapshot_status text NOT NULL DEFAULT 'none'
		CHECK (snapshot_status IN ('none', 'pending', 'complete', 'failed')),
	result text NOT NULL DEFAULT 'pending' CHECK (result IN
		('pending', 'snapshotting', 'applying', 'verifying', 'ready', 'failed', 'rolled_back')),
	reason text NOT NULL DEFAULT '',
	created_at timestamptz NOT NULL DEFAULT now(),
	finished_at timestamptz,
	PRIMARY KEY (store_id, revision),
	CHECK (kind <> 'rollback' OR source_revision IS NOT NULL)
);

-- History is kept for the last 10 revisions of a store; the live and the
-- pending one are never pruned, whatever their age.
CREATE FUNCTION store_revisions_prune() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM store_revisions r
	 WHERE r.store_id = NEW.store_id
	   AND r.revision <= NEW.revision - 10
	   AND r.revision NOT IN (SELECT s.current_revision FROM stores s WHERE s.id = NEW.store_id)
	   AND r.revision IS DISTINCT FROM
		(SELECT s.pending_revision FROM stores s WHERE s.id = NEW.store_id);
	RETURN NULL;
END $$;
CREATE TRIGGER store_revisions_prune AFTER INSERT ON store_revisions
	FOR EACH ROW EXECUTE FUNCTION store_revisions_prune();
