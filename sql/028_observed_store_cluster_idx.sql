-- 028_observed_store_cluster_idx.sql - one index that answers observe.c's
-- st_load (each store's objects in its own cluster) by itself.
--
-- st_load joins observed_objects to the pass's (store id, cluster) pairs.
-- With only the store_id index, PostgreSQL planned a BitmapAnd of it and
-- the primary key's leading column (cluster): right while the table's
-- statistics were those of a small table, ruinous just after a re-list
-- rewrote every row, because the cluster side of the AND read the whole
-- cluster's rows again for every store.  At 10,000 stores the first pass
-- after a re-list spent 15.8 s there (pg_stat_statements; 1.6 s for each
-- 1,000 stores) against 0.2 s with this index.  It also serves every
-- lookup by store_id alone, so it replaces the old one.
CREATE INDEX observed_objects_store_cluster_idx ON observed_objects (store_id, cluster);
DROP INDEX observed_objects_store_idx;
