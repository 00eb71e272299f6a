-- 010_medusa_key.sql - a Medusa store's publishable API key, read from the store, for its page and API.
--
-- Each Medusa store's setup Job creates a publishable API key titled
-- "Storefront" on the default sales channel: what a storefront sends as
-- x-publishable-api-key with every Store API request.  It is not a secret
-- (it ships inside every storefront's JavaScript), so it is kept in clear.
-- The web app never talks to a store, so reconcile reads it once the store
-- is ready, through the ingress, signed in as the store's admin
-- (src/fleet/reconcile_medusa.c), and again whenever it is missing.
--
-- A failed read never changes the store's status: when it was last tried
-- (retried after store_api_retry seconds) and the reason it last reported
-- ('' = none), so a lasting failure is reported once, not every pass.
ALTER TABLE stores ADD COLUMN publishable_key text
	CHECK (publishable_key ~ '^pk_[A-Za-z0-9_-]{1,250}$');
ALTER TABLE stores ADD COLUMN publishable_key_checked_at timestamptz;
ALTER TABLE stores ADD COLUMN publishable_key_error text NOT NULL DEFAULT '';
