-- 020_admission.sql - creates refused at once because they cannot fit
-- (docs/design.md "Placement and admission", src/web/admission.c).
--
-- storefleet_admission_refusals_total{reason} in /metrics: every reason
-- from the start at 0, so a first refusal is a rise, not a new series.
--   capacity       no candidate cluster has the CPU, memory or store slot
--                  free (503), or may ever hold the store (422)
--   storage_class  the cluster's overlay names a StorageClass it lacks (422)
--   region         the asked region has no cluster (422)
--   budget         a custom domain past its weekly certificate budget (422)
INSERT INTO metric_counters (name, l1, l2)
SELECT 'admission_refusals', r, ''
FROM unnest('{capacity,storage_class,region,budget}'::text[]) r;
