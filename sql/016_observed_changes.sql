-- 016_observed_changes.sql - which stores a reconcile pass judges again
-- (src/fleet/reconcile.c "what a pass judges", docs/design.md section 7).
--
-- A pass judges a store (readiness.c over its observed summaries, then
-- decide()) only when its verdict can have changed: a row here, a status
-- that is not steady (stores_busy_idx), a slice of the safety sweep, or
-- every store when the view was (re)listed since the last whole pass.
--
-- observed_changes: one row per store that something changed for since it
-- was last judged settled.  Written by observe.c (a watched object of the
-- store added, changed in its summary, relabelled or deleted: same
-- transaction as the object rows) and by the trigger below (a change of
-- the stores row that decide() reads, whoever makes it: the web app,
-- storefleetctl, reconcile).  change is a fresh sequence value at every
-- write; it is compared only for equality, never as a cursor: a pass that
-- judged the store as of change c deletes the row only "WHERE change = c",
-- so a write committed meanwhile (in any order, by any host) keeps the row,
-- and a row deleted and inserted again never repeats a value.
CREATE SEQUENCE observed_change_seq;
CREATE TABLE observed_changes (
	store_id text PRIMARY KEY,
	change bigint NOT NULL DEFAULT nextval('observed_change_seq')
);

-- Grows at every re-list of the kind (observe.c st_clear, in the re-list's
-- transaction): a pass whose sum of these differs from
-- observed_judged.listed judges every store.
ALTER TABLE observed_kinds ADD COLUMN listed bigint NOT NULL DEFAULT 0;

-- One row.  listed: the sum(observed_kinds.listed) a whole pass last judged
-- under (-1: none yet).  The safety sweep: stores after sweep_after (by id)
-- are the next slice; swept_at is when the last slice was taken.
CREATE TABLE observed_judged (
	one boolean PRIMARY KEY DEFAULT true CHECK (one),
	listed bigint NOT NULL DEFAULT -1,
	sweep_after text NOT NULL DEFAULT '',
	swept_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO observed_judged DEFAULT VALUES;

-- A change of what decide() reads from a stores row marks the store (the
-- lease columns are not in it: a store leased by another run is never
-- judged settled, so it stays marked until a pass judges it unleased).
CREATE FUNCTION stores_judge_again() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO observed_changes (store_id) VALUES (NEW.id)
		ON CONFLICT (store_id) DO UPDATE SET change = excluded.change;
	RETURN NULL;
END $$;
CREATE TRIGGER stores_judge_again AFTER UPDATE ON stores
	FOR EACH ROW WHEN ((OLD.status, OLD.status_reason, OLD.step, OLD.desired, OLD.engine,
			   OLD.engine_version, OLD.next_attempt_at, OLD.delete_requested_at,
			   OLD.updated_at, OLD.trouble_since, OLD.plan, OLD.plan_applied,
			   OLD.owner_id)
			  IS DISTINCT FROM
			  (NEW.status, NEW.status_reason, NEW.step, NEW.desired, NEW.engine,
			   NEW.engine_version, NEW.next_attempt_at, NEW.delete_requested_at,
			   NEW.updated_at, NEW.trouble_since, NEW.plan, NEW.plan_applied,
			   NEW.owner_id))
	EXECUTE FUNCTION stores_judge_again();

-- The stores judged at every pass: few (a steady fleet is ready, suspended
-- or failed).  Same predicate as reconcile.c's load of a pass.
CREATE INDEX stores_busy_idx ON stores (id)
	WHERE status NOT IN ('ready', 'suspended', 'failed', 'deleted');
