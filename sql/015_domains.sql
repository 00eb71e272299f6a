-- 015_domains.sql - custom domains of stores: claims, DNS verification, their host and certificate.
--
-- The web app (src/web/store_domain.c) records a claim: the domain in its
-- one normal form (src/domain/dnsname.h: lower-case ASCII, IDNA A-labels,
-- no trailing dot), the name for people (display), and a random token the
-- owner publishes as the TXT record _storefleet-challenge.<domain>.
-- storefleet-reconcile (src/fleet/reconcile_domain.c) looks the records up
-- in DNS and marks the claim verified, expires the claims never verified by
-- expires_at, puts a verified domain on the store's Ingress with a
-- cert-manager Certificate and writes back what cert-manager says
-- (cert_state, cert_message).  A removal of a verified domain is status
-- 'removing' until reconcile has taken the host and the Certificate away,
-- then the row goes.
--
--   pending --reconcile: DNS right--> verified --web: remove--> removing --reconcile--> (row gone)
--   pending --reconcile: expires_at passed, or web: remove--> (row gone)
--
-- Uniqueness after normalisation: any number of stores may hold a pending
-- claim on a name (each with its own token: only the one whose token is in
-- DNS can verify), but only one row per name is verified (or being
-- removed), so a verified domain cannot be taken by another store.
CREATE TABLE store_domains (
	id bigserial PRIMARY KEY,
	store_id text NOT NULL REFERENCES stores (id),
	domain text NOT NULL CHECK (char_length(domain) <= 253
		AND domain ~ '^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
	display text NOT NULL CHECK (char_length(display) BETWEEN 1 AND 253),
	token text NOT NULL CHECK (token ~ '^[a-f0-9]{32}$'),
	status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'verified', 'removing')),
	created_at timestamptz NOT NULL DEFAULT now(),
	expires_at timestamptz NOT NULL,		-- a pending claim's end
	verified_at timestamptz,
	checked_at timestamptz,				-- the last DNS look-up
	check_message text NOT NULL DEFAULT '',		-- what it found, for the owner
	next_check_at timestamptz NOT NULL DEFAULT now(),
	-- reconcile: the host is on the Ingress and the Certificate asked for
	applied boolean NOT NULL DEFAULT false,
	cert_state text NOT NULL DEFAULT 'none'
		CHECK (cert_state IN ('none', 'requested', 'issued', 'failed')),
	cert_message text NOT NULL DEFAULT '',
	cert_not_after timestamptz,
	UNIQUE (store_id, domain),
	CHECK ((status = 'pending') = (verified_at IS NULL))
);

CREATE UNIQUE INDEX store_domains_taken ON store_domains (domain) WHERE status <> 'pending';
-- reconcile's look-ups: the pending claims by due time
CREATE INDEX store_domains_due ON store_domains (next_check_at) WHERE status = 'pending';
