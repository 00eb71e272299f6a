-- 017_pass_indexes.sql - partial indexes for the statements every reconcile
-- pass runs, so that a steady pass reads what is due, not the whole fleet
-- (docs/operations.md section 8).
--
-- Each index's predicate is its statement's WHERE clause, so PostgreSQL can
-- prove the index applies; a steady fleet keeps all four nearly empty (or,
-- for the two "checked_at" ones, reads them in due order and stops at the
-- first row not due).  Without them each statement scanned every stores row
-- at every pass: about 10 ms each at 50,000 stores.

-- reconcile_upgrade.c st_backfill: ready stores with no live revision.
CREATE INDEX stores_no_revision_idx ON stores (id)
	WHERE current_revision = 0 AND status IN ('ready', 'degraded');

-- reconcile_upgrade.c st_backfill_ready: provision revisions whose ready mark was lost.
CREATE INDEX store_revisions_unready_idx ON store_revisions (store_id, revision)
	WHERE kind = 'provision' AND result <> 'ready';

-- reconcile_webhooks.c st_due: WooCommerce stores whose webhooks are due a check.
CREATE INDEX stores_webhooks_due_idx ON stores (webhooks_checked_at NULLS FIRST, id)
	WHERE engine = 'woocommerce' AND status = 'ready' AND woo_api_key IS NOT NULL;

-- reconcile_medusa.c st_due: Medusa stores still without their publishable key.
CREATE INDEX stores_keys_due_idx ON stores (publishable_key_checked_at NULLS FIRST, id)
	WHERE engine = 'medusa' AND status = 'ready' AND publishable_key IS NULL
	  AND admin_secret IS NOT NULL;
