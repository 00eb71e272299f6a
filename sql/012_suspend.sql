-- 012_suspend.sql - suspend and resume: a store paused with its data kept, and who paused it.
--
-- An owner or an administrator suspends a ready (or degraded) store:
--
--   ready, degraded, resuming --web: suspend--> suspending --reconcile--> suspended
--   suspending, suspended     --web: resume---> resuming   --reconcile--> ready
--
-- reconcile scales the store's Deployments and StatefulSets to 0 replicas
-- (volumes, Secrets and the namespace stay) and points its Ingress at the
-- platform's "this store is paused" page; resume restores the replicas and
-- the Ingress and waits for readiness like provisioning does
-- (docs/design.md section 3, docs/stores.md "Suspend and resume").
--
-- suspended_by: who holds the suspension while the store is suspending or
-- suspended ('owner' or 'admin'; NULL otherwise).  An owner cannot resume a
-- store an administrator suspended.  suspended_at: when the current
-- suspension was asked for; suspended_seconds: the length of every earlier
-- suspension, added when it ends (resume or delete), so the time a store
-- spent suspended - on its page and in /metrics - never goes down.

ALTER TABLE stores DROP CONSTRAINT stores_status_check;
ALTER TABLE stores ADD CONSTRAINT stores_status_check CHECK (status IN
	('requested', 'provisioning', 'ready', 'degraded', 'upgrading', 'suspending', 'suspended', 'resuming', 'failed', 'deleting', 'deleted'));

ALTER TABLE stores ADD COLUMN suspended_by text CHECK (suspended_by IN ('owner', 'admin'));
ALTER TABLE stores ADD COLUMN suspended_at timestamptz;
ALTER TABLE stores ADD COLUMN suspended_seconds double precision NOT NULL DEFAULT 0
	CHECK (suspended_seconds >= 0);
ALTER TABLE stores ADD CONSTRAINT stores_suspended_check
	CHECK ((status IN ('suspending', 'suspended')) = (suspended_by IS NOT NULL)
	       AND (suspended_by IS NULL) = (suspended_at IS NULL));

-- The web app wakes a waiting reconcile for suspend and resume too.
DROP TRIGGER stores_notify_desired ON stores;
CREATE TRIGGER stores_notify_desired AFTER UPDATE OF desired, status ON stores
	FOR EACH ROW WHEN (NEW.status IN ('requested', 'deleting', 'suspending', 'resuming')
			   AND (OLD.status IS DISTINCT FROM NEW.status
				OR OLD.desired IS DISTINCT FROM NEW.desired))
	EXECUTE FUNCTION stores_notify();
