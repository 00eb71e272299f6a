-- 019_observed_clusters.sql - reconcile observes every cluster, each on its own
-- (src/fleet/observe.c, docs/design.md section 7 "Several clusters").
--
-- storefleet-reconcile keeps one Kubernetes client per row of clusters
-- (sql/018_clusters.sql) and, for each, the same machinery as for the one
-- cluster before: its own watches, resourceVersions, re-lists, watch leases
-- and fencing tokens.  So observed_kinds and observed_objects are keyed by
-- cluster too; what was observed before is the default cluster's.
--
-- observed_kinds rows of a cluster are made with its clusters row and go
-- with it (the trigger and the cascade below); its observed_objects rows go
-- with it too (the trigger: no foreign key there, which would cost a check
-- per row of every re-list).
ALTER TABLE observed_kinds ADD COLUMN cluster text NOT NULL DEFAULT 'default'
	REFERENCES clusters (name) ON DELETE CASCADE;
ALTER TABLE observed_kinds DROP CONSTRAINT observed_kinds_pkey;
ALTER TABLE observed_kinds ADD PRIMARY KEY (cluster, kind);

ALTER TABLE observed_objects ADD COLUMN cluster text NOT NULL DEFAULT 'default';
ALTER TABLE observed_objects DROP CONSTRAINT observed_objects_pkey;
ALTER TABLE observed_objects ADD PRIMARY KEY (cluster, kind, namespace, name);

-- Where reconcile's HTTP probe (and the store API checks) reach the
-- cluster's ingress, with the store's Host header: '' = the configuration's
-- ingress_address for 'default'; for another cluster, no probe (the store
-- is ready once every object is, as with no ingress_address configured).
ALTER TABLE clusters ADD COLUMN ingress_address text NOT NULL DEFAULT ''
	CHECK (ingress_address = '' OR ingress_address ~ '^https?://[^\s/]+$');

CREATE FUNCTION clusters_observed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		INSERT INTO observed_kinds (cluster, kind)
			SELECT NEW.name, k FROM generate_series(0, 3) k ON CONFLICT DO NOTHING;
		RETURN NULL;
	END IF;
	DELETE FROM observed_objects WHERE cluster = OLD.name;
	RETURN NULL;
END $$;
CREATE TRIGGER clusters_observed AFTER INSERT OR DELETE ON clusters
	FOR EACH ROW EXECUTE FUNCTION clusters_observed();

-- the clusters registered before this migration (none but 'default' in practice)
INSERT INTO observed_kinds (cluster, kind)
	SELECT c.name, k FROM clusters c, generate_series(0, 3) k ON CONFLICT DO NOTHING;
