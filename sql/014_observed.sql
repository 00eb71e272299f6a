-- 014_observed.sql - what storefleet-reconcile observed of the cluster, kept between runs
-- (src/fleet/observe.c).
--
-- Reconcile lists each kind it watches once, then follows a watch from the
-- list's resourceVersion; every change is applied here, so the next cron
-- run resumes the watch from observed_kinds.resource_version instead of
-- listing again, and every reconcile host reads one shared view.
--
-- observed_kinds: one row per watched kind.  The host holding the row's
-- lease (holder, lease_holder: the advisory-lock holder of
-- sql/008_lease_holder.sql, held_until) owns that kind's watch; token
-- grows at every change of holder and fences every write of the kind's
-- objects (the write's transaction first updates this row on
-- (kind, holder, token, unexpired) and stops when no row matched).
-- current_at is when the view of the kind was last known current: a LIST
-- (as of its start) or a BOOKMARK (the server sends one only after every
-- earlier event), by the database clock.  A view older than
-- SF_OBSERVE_STALE seconds (or dated in the future: a clock that jumped)
-- is not trusted; '' resource_version = list first.
CREATE TABLE observed_kinds (
	kind smallint PRIMARY KEY,	-- 0 Namespace, 1 PersistentVolumeClaim, 2 StatefulSet, 3 Deployment
	resource_version text NOT NULL DEFAULT '',
	current_at timestamptz,
	holder text,
	lease_holder integer,
	held_until timestamptz,
	token bigint NOT NULL DEFAULT 0
);
INSERT INTO observed_kinds (kind) VALUES (0), (1), (2), (3);

-- One narrow row per observed object (app.kubernetes.io/managed-by=storefleet):
-- the readiness-relevant summary as compact JSON shaped like the object
-- (metadata name/creationTimestamp/deletionTimestamp/generation/blueprint
-- revision, spec.replicas, status with conditions cut to type, status,
-- reason and message); about 150-400 bytes.
CREATE TABLE observed_objects (
	kind smallint NOT NULL,
	namespace text NOT NULL,	-- '' for Namespaces
	name text NOT NULL,
	store_id text NOT NULL,		-- the storefleet.io/store label
	summary text NOT NULL,
	PRIMARY KEY (kind, namespace, name)
);
CREATE INDEX observed_objects_store_idx ON observed_objects (store_id);
