-- 027_default_storage_class.sql - which of a cluster's StorageClasses is its default.
--
-- A chart value storage_class "" leaves a claim's storageClassName out, so
-- the API server's DefaultStorageClass admission gives it the class
-- annotated storageclass.kubernetes.io/is-default-class: "true"; on a
-- cluster with none the claim stays Pending.  reconcile records the
-- annotation (src/fleet/reconcile_capacity.c) and admission refuses a
-- create whose overlay relies on a default the cluster lacks
-- (src/web/admission.c, reason storage_class).
ALTER TABLE cluster_storage_classes ADD COLUMN is_default boolean NOT NULL DEFAULT false;
