-- 011_email.sql - the outbox, one-use links (password reset, address verification),
-- and each owner's choice of notifications.
--
-- outbox: one row per message, written in the transaction of the event that
-- causes it (a reset request, a registration, a store turning ready), and sent
-- later by storefleet-mail (src/mail/outbox.c).  The message is rendered at
-- enqueue time, headers and all, so what is sent never changes between
-- attempts and carries the same Message-ID every time.
--
--   queued     waiting for next_attempt_at
--   sending    claimed by attempt_id until claimed_until; the end of the
--              message has not been sent yet, so the relay cannot have it
--   delivering the end of the message is on its way (written just before
--              the final "." leaves): the relay may have accepted it
--   sent       the relay answered 250 to the end of the message
--   unknown    a sender stopped in 'delivering': never resent by itself
--   failed     gave up after mail_max_attempts attempts (last_error says why)
--
-- docs/operations.md, "Email", says what this guarantees and what it does not.
CREATE TABLE outbox (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	created_at timestamptz NOT NULL DEFAULT now(),
	kind text NOT NULL,				-- the template: password_reset, store_ready...
	user_id bigint REFERENCES users (id) ON DELETE SET NULL,
	rcpt text NOT NULL CHECK (rcpt !~ '[\r\n<>]' AND length(rcpt) BETWEEN 3 AND 254),
	message_id text NOT NULL UNIQUE,
	message text NOT NULL,				-- the whole RFC 5322 message, CRLF lines
	state text NOT NULL DEFAULT 'queued' CHECK (state IN
		('queued', 'sending', 'delivering', 'sent', 'unknown', 'failed')),
	attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	next_attempt_at timestamptz NOT NULL DEFAULT now(),
	attempt_id uuid,				-- the claim that may send it now
	claimed_until timestamptz,
	last_error text NOT NULL DEFAULT '',
	sent_at timestamptz
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE state = 'queued';
CREATE INDEX outbox_claimed ON outbox (claimed_until) WHERE state = 'sending';

-- One-use links: only the SHA-256 of the token in the mail is kept.
CREATE TABLE email_tokens (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	purpose text NOT NULL CHECK (purpose IN ('reset', 'verify')),
	token_sha256 bytea NOT NULL UNIQUE CHECK (length(token_sha256) = 32),
	email text NOT NULL,				-- the address the link went to
	created_at timestamptz NOT NULL DEFAULT now(),
	expires_at timestamptz NOT NULL,
	used_at timestamptz
);
CREATE INDEX email_tokens_user_id ON email_tokens (user_id);

-- Verification: NULL until the link is followed.  Accounts that exist
-- before this migration count as verified (nobody could verify them).
ALTER TABLE users ADD COLUMN email_verified_at timestamptz;
UPDATE users SET email_verified_at = created_at;

-- Notifications an owner gets (the account page turns each off).
ALTER TABLE users ADD COLUMN notify_store_ready boolean NOT NULL DEFAULT true;
ALTER TABLE users ADD COLUMN notify_store_failed boolean NOT NULL DEFAULT true;
ALTER TABLE users ADD COLUMN notify_upgrade_rolled_back boolean NOT NULL DEFAULT true;
