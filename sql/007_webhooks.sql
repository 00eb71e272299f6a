-- 007_webhooks.sql - WooCommerce webhooks: per-store secrets, deliveries recorded once, what the store page shows.
--
-- Each WooCommerce store's setup Job registers webhooks that POST to
-- /hooks/woocommerce/<store id>, signed with a per-store secret.  The secret
-- is generated once by reconcile with the store's other credentials and kept
-- in the store's Secret; the web app (which never talks to Kubernetes) checks
-- signatures against the sealed copy below (libsodium secretbox under
-- config secret_key, as admin_secret).
--
-- De-duplication: a delivery is identified by the signed bytes, not by the
-- X-WC-Webhook-Delivery-ID header.  WooCommerce makes that id as
-- wp_hash(webhook id . time()), so two different deliveries of one webhook
-- in the same second share it, and the header is not covered by the
-- signature, so a replayer can change it.  A replay (same body, whatever the
-- headers) hits the primary key; an order is counted once per order id.

ALTER TABLE stores ADD COLUMN webhook_secret bytea;	-- sealed; NULL until reconcile made it
-- The store's WooCommerce REST API key, sealed as "<consumer key> <consumer
-- secret>": reconcile re-enables webhooks WooCommerce disabled with it.
ALTER TABLE stores ADD COLUMN woo_api_key bytea;
ALTER TABLE stores ADD COLUMN orders_seen bigint NOT NULL DEFAULT 0 CHECK (orders_seen >= 0);
ALTER TABLE stores ADD COLUMN last_webhook_at timestamptz;
-- reconcile's webhook check: when it last ran (at most every
-- webhook_check_interval) and the error it last reported as an event ('' =
-- none), so a lasting failure is reported once, not every pass.
ALTER TABLE stores ADD COLUMN webhooks_checked_at timestamptz;
ALTER TABLE stores ADD COLUMN webhooks_error text NOT NULL DEFAULT '';

CREATE TABLE webhook_deliveries (
	store_id text NOT NULL REFERENCES stores (id),
	body_sha256 bytea NOT NULL CHECK (octet_length(body_sha256) = 32),
	-- what WooCommerce sent (diagnostics only; bounded by the handler)
	delivery_id text NOT NULL DEFAULT '' CHECK (char_length(delivery_id) <= 128),
	webhook_id bigint,
	topic text NOT NULL CHECK (char_length(topic) <= 64),
	-- the order or product id of the payload (NULL for a ping)
	resource_id bigint,
	received_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (store_id, body_sha256)
);
-- An order is counted once, whatever WooCommerce (or a replayer) resends.
CREATE UNIQUE INDEX webhook_deliveries_order_idx ON webhook_deliveries (store_id, resource_id)
	WHERE topic = 'order.created';
-- Pruning by age (reconcile keeps 30 days).
CREATE INDEX webhook_deliveries_received_idx ON webhook_deliveries (received_at);
