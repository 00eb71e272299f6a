-- 013_plans.sql - the plan each store runs on (src/domain/plan.h, charts/plans-<overlay>.yaml).
--
-- plan is what the owner asked for; plan_applied what storefleet-reconcile
-- last applied to the store's namespace (ResourceQuota, LimitRange, volume
-- sizes).  The web app writes plan (at create, both columns alike; a change
-- only plan, and only while the two are equal); reconcile, under its lease,
-- makes plan_applied follow, or puts plan back when the change cannot be
-- applied (a volume whose StorageClass does not allow expansion), with the
-- reason in the store's activity.  '' is the plans file's default plan: the
-- stores made before plans existed.
ALTER TABLE stores
	ADD COLUMN plan text NOT NULL DEFAULT ''
		CHECK (plan ~ '^([a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?)?$'),
	ADD COLUMN plan_applied text NOT NULL DEFAULT ''
		CHECK (plan_applied ~ '^([a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?)?$'),
	ADD COLUMN plan_changed_at timestamptz;

-- The per-plan store limit counts a tenant's stores on one plan.
CREATE INDEX stores_owner_plan_idx ON stores (owner_id, plan) WHERE status <> 'deleted';
