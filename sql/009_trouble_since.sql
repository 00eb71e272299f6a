-- 009_trouble_since.sql - when the store's current episode of cluster trouble began.
--
-- While the Kubernetes API answers 429, 5xx or not at all, reconcile retries a
-- store with backoff and tells its tenant why in status_reason, with one event
-- when the episode begins and one when the cluster answers again
-- (src/fleet/reconcile.c, "cluster trouble").  The episode lives in the row so
-- that several reconcilers and restarts agree on it: trouble_since is set by
-- the first failed claim (NULL = no trouble), attempts counts the failed
-- claims, and the first claim that gets through sets it back to NULL.
ALTER TABLE stores ADD COLUMN trouble_since timestamptz;
