-- 018_clusters.sql - the Kubernetes clusters stores are placed on.
--
-- Operators register clusters with `storefleetctl cluster add` (src/ctl);
-- the web app places each new store on one of them and records it in
-- stores.cluster, which never changes afterwards: a store's namespace, host
-- and data live on that cluster.  storefleet-reconcile keeps one Kubernetes
-- client per cluster and writes back what it sees of each (reachable,
-- trouble) and its capacity (cluster_capacity, cluster_storage_classes),
-- which the web app reads to admit a create: it never talks to Kubernetes.
--
-- The cluster named 'default' always exists: it is the single cluster of
-- storefleet's configuration (kubeconfig, kube_context, domain, overlay),
-- so an installation that never adds a cluster runs unchanged.  Its row
-- holds no kubeconfig; its empty store_domain and overlay mean "the
-- configuration's".
--
--   active --ctl/admin: drain--> draining --ctl/admin: undrain--> active
--   (remove: only a cluster with no store that is not deleted)
CREATE TABLE clusters (
	name text PRIMARY KEY CHECK (name ~ '^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$'),
	-- how reconcile reaches it: a kubeconfig sealed under config secret_key
	-- (seal.h) with the context to use, or the in-cluster service account;
	-- neither for 'default' (the configuration's kubeconfig)
	kubeconfig bytea,
	context text NOT NULL DEFAULT '',
	in_cluster boolean NOT NULL DEFAULT false,
	region text NOT NULL DEFAULT '' CHECK (region ~ '^([a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?)?$'),
	store_domain text NOT NULL DEFAULT '' CHECK (char_length(store_domain) <= 200),
	overlay text NOT NULL DEFAULT '' CHECK (overlay ~ '^([a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?)?$'),
	-- operator's capacity limits; NULL = no limit beyond what the nodes have
	max_stores integer CHECK (max_stores >= 0),
	max_cpu_millis bigint CHECK (max_cpu_millis >= 0),
	max_memory_bytes bigint CHECK (max_memory_bytes >= 0),
	state text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'draining')),
	created_at timestamptz NOT NULL DEFAULT now(),
	-- reconcile: the last time it reached the cluster, and why not since
	reachable boolean,
	checked_at timestamptz,
	trouble text NOT NULL DEFAULT '',
	CHECK (NOT (in_cluster AND kubeconfig IS NOT NULL)),
	CHECK (name <> 'default' OR (kubeconfig IS NULL AND NOT in_cluster))
);
INSERT INTO clusters (name) VALUES ('default');

ALTER TABLE stores ADD COLUMN cluster text NOT NULL DEFAULT 'default'
	REFERENCES clusters (name) ON DELETE RESTRICT;
CREATE INDEX stores_cluster_idx ON stores (cluster) WHERE status <> 'deleted';

-- What reconcile last read of a cluster's nodes: the sum of every
-- schedulable, Ready node's status.allocatable.
CREATE TABLE cluster_capacity (
	cluster text PRIMARY KEY REFERENCES clusters (name) ON DELETE CASCADE,
	nodes integer NOT NULL CHECK (nodes >= 0),
	cpu_millis bigint NOT NULL CHECK (cpu_millis >= 0),
	memory_bytes bigint NOT NULL CHECK (memory_bytes >= 0),
	observed_at timestamptz NOT NULL DEFAULT now()
);

-- The StorageClasses a cluster has, as reconcile last listed them.
CREATE TABLE cluster_storage_classes (
	cluster text NOT NULL REFERENCES clusters (name) ON DELETE CASCADE,
	name text NOT NULL,
	observed_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (cluster, name)
);
