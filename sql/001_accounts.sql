-- 001_accounts.sql - users, sessions, API tokens, the audit log and rate-limit counters.
--
-- Secrets are never stored: sessions and API tokens keep only the SHA-256 of
-- the token the client holds; passwords are argon2id strings.  Emails are
-- unique case-insensitively through the lower(email) index.

CREATE TABLE users (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	email text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
	password_hash text NOT NULL,
	role text NOT NULL DEFAULT 'tenant' CHECK (role IN ('admin', 'tenant')),
	disabled_at timestamptz,
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE sessions (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	token_sha256 bytea NOT NULL UNIQUE CHECK (length(token_sha256) = 32),
	csrf_token text NOT NULL,
	ip text,
	created_at timestamptz NOT NULL DEFAULT now(),
	last_seen_at timestamptz NOT NULL DEFAULT now(),
	expires_at timestamptz NOT NULL		-- absolute limit; the idle limit uses last_seen_at
);
CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

CREATE TABLE api_tokens (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name text NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
	token_sha256 bytea NOT NULL UNIQUE CHECK (length(token_sha256) = 32),
	created_at timestamptz NOT NULL DEFAULT now(),
	last_used_at timestamptz,
	expires_at timestamptz,			-- NULL: until revoked (tokens from /account)
	revoked_at timestamptz
);
CREATE INDEX api_tokens_user_id ON api_tokens (user_id);

CREATE TABLE audit_log (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at timestamptz NOT NULL DEFAULT now(),
	actor_id bigint REFERENCES users (id) ON DELETE SET NULL,
	actor_email text,
	ip text,
	action text NOT NULL,
	target text,
	details jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_at ON audit_log (at DESC);
CREATE INDEX audit_log_actor_id ON audit_log (actor_id);

-- Fixed-window counters: login failures now, store-creation guardrails later.
CREATE TABLE rate_limits (
	bucket text NOT NULL,
	key text NOT NULL,
	window_start timestamptz NOT NULL,
	count integer NOT NULL CHECK (count >= 0),
	PRIMARY KEY (bucket, key)
);
CREATE INDEX rate_limits_window_start ON rate_limits (window_start);
