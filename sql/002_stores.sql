-- 002_stores.sql - stores, their activity log, idempotency keys, reconcile bookkeeping.
--
-- A store row is the desired state (status 'requested', desired 'absent' for a
-- delete) written by the web app, and the observed progress written by
-- storefleet-reconcile under a lease: lease_token is set when a reconciler
-- claims the row and every write of results is fenced on it
-- (UPDATE ... WHERE id = $1 AND lease_token = $2; 0 rows = lease lost).

CREATE TABLE stores (
	-- 8 random lowercase alphanumerics starting with a letter; rows are never
	-- deleted (status 'deleted' stays), so an id - and its namespace and host -
	-- is never reused.
	id text PRIMARY KEY CHECK (id ~ '^[a-z][a-z0-9]{7}$'),
	owner_id bigint NOT NULL REFERENCES users (id),
	name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 64),
	engine text NOT NULL CHECK (engine IN ('woocommerce', 'medusa')),
	engine_version text NOT NULL DEFAULT '',
	status text NOT NULL DEFAULT 'requested' CHECK (status IN
		('requested', 'provisioning', 'ready', 'degraded', 'failed', 'deleting', 'deleted')),
	status_reason text NOT NULL DEFAULT '',
	step text NOT NULL DEFAULT '',
	desired text NOT NULL DEFAULT 'present' CHECK (desired IN ('present', 'absent')),
	blueprint_revision text NOT NULL DEFAULT '',	-- of the last successful apply

	-- What the owner may see of the store's credentials: the admin user and its
	-- password sealed with libsodium secretbox under config secret_key.  The
	-- cluster's Secret is the source of truth; this copy exists because the web
	-- app never talks to Kubernetes.
	admin_user text NOT NULL DEFAULT '',
	admin_secret bytea,

	-- reconcile's lease (all times from the database clock)
	lease_owner text,
	lease_token uuid,
	lease_expires_at timestamptz,
	attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	next_attempt_at timestamptz NOT NULL DEFAULT now(),

	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	provisioning_started_at timestamptz,
	ready_at timestamptz,
	delete_requested_at timestamptz,
	deleted_at timestamptz,

	CHECK ((lease_token IS NULL) = (lease_expires_at IS NULL)),
	CHECK (status <> 'deleted' OR desired = 'absent'),
	CHECK (status <> 'deleting' OR desired = 'absent')
);

-- The tenant's list (newest first) and the admin list.
CREATE INDEX stores_owner_idx ON stores (owner_id, created_at DESC, id DESC);
CREATE INDEX stores_created_idx ON stores (created_at DESC, id DESC);
-- What reconcile claims: everything not finished, by due time.
CREATE INDEX stores_due_idx ON stores (next_attempt_at) WHERE status <> 'deleted';

-- The activity log a tenant reads on the store page.
CREATE TABLE store_events (
	id bigserial PRIMARY KEY,
	store_id text NOT NULL REFERENCES stores (id),
	at timestamptz NOT NULL DEFAULT now(),
	step text NOT NULL,
	level text NOT NULL DEFAULT 'info' CHECK (level IN ('info', 'warn', 'error')),
	message text NOT NULL
);
CREATE INDEX store_events_store_idx ON store_events (store_id, id);

-- Idempotent creates: same user + key + same body -> the same store (kept 24 h).
CREATE TABLE idempotency_keys (
	user_id bigint NOT NULL REFERENCES users (id),
	key text NOT NULL CHECK (char_length(key) BETWEEN 1 AND 255),
	request_sha256 bytea NOT NULL,
	store_id text NOT NULL REFERENCES stores (id),
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- Reconcile's own bookkeeping: when a pass last ran, for /readyz and /metrics.
CREATE TABLE reconcile_runs (
	id bigserial PRIMARY KEY,
	host text NOT NULL,
	started_at timestamptz NOT NULL DEFAULT now(),
	finished_at timestamptz,
	stores_seen integer NOT NULL DEFAULT 0,
	transitions integer NOT NULL DEFAULT 0,
	k8s_requests integer NOT NULL DEFAULT 0,
	error text
);
CREATE INDEX reconcile_runs_started_idx ON reconcile_runs (started_at DESC);

-- The web app wakes a waiting reconcile (--for 55s) early.
CREATE FUNCTION stores_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('storefleet_stores', NEW.id);
	RETURN NEW;
END $$;

CREATE TRIGGER stores_notify_insert AFTER INSERT ON stores
	FOR EACH ROW EXECUTE FUNCTION stores_notify();
CREATE TRIGGER stores_notify_desired AFTER UPDATE OF desired, status ON stores
	FOR EACH ROW WHEN (NEW.status IN ('requested', 'deleting')
			   AND (OLD.status IS DISTINCT FROM NEW.status
				OR OLD.desired IS DISTINCT FROM NEW.desired))
	EXECUTE FUNCTION stores_notify();
