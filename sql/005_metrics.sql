-- 005_metrics.sql - cumulative counters and histograms behind /metrics that must outlive their rows.
--
-- Prometheus counters must only go up.  reconcile_runs and store rows are the
-- record of what happened, but old runs may be pruned and a store's status
-- moves on, so anything counted from them directly could fall.  Instead each
-- event adds to a total here, in the same statement as the row it counts:
--
--   * a reconcile pass: its UPDATE of reconcile_runs carries the increments of
--     the pass counters, its Kubernetes requests by verb and result and its
--     duration histogram (metrics_pass_record in src/metrics.c, one statement);
--   * a store failing or first becoming ready: the trigger below, fired by
--     whichever program changes the status.
--
-- Every series is seeded with 0 here, so a family has all its label values
-- from the first scrape (rate() and absent() work without "first event"
-- gaps) and the label sets stay exactly these: bounded cardinality.
-- The web app reads all of this with one query (src/metrics.c).

CREATE TABLE metric_counters (
	name text NOT NULL,		-- family key, e.g. 'kubernetes_requests'
	l1 text NOT NULL DEFAULT '',	-- label values; which labels they are is the
	l2 text NOT NULL DEFAULT '',	-- family's business (src/metrics.c names them)
	value double precision NOT NULL DEFAULT 0 CHECK (value >= 0),
	PRIMARY KEY (name, l1, l2)
);

-- Histogram buckets, cumulative as Prometheus wants them (an observation adds
-- one to every bucket whose upper bound le it does not exceed; the 'Infinity'
-- bucket is the count).  The bucket bounds are these rows: the one place they
-- are defined.
CREATE TABLE metric_histograms (
	name text NOT NULL,
	le double precision NOT NULL,
	count bigint NOT NULL DEFAULT 0 CHECK (count >= 0),
	PRIMARY KEY (name, le)
);

-- The sum of every observation of a histogram.
CREATE TABLE metric_histogram_sums (
	name text PRIMARY KEY,
	sum double precision NOT NULL DEFAULT 0
);

-- A reconcile pass takes well under a second for a few stores and a few
-- seconds for 10,000; minutes means trouble.
INSERT INTO metric_histograms (name, le)
SELECT 'reconcile_pass_seconds', le
FROM unnest('{0.05,0.1,0.25,0.5,1,2.5,5,10,30,60,120,300,Infinity}'::float8[]) le;
-- Provisioning (request -> ready) takes 30 s .. 15 min on a real cluster
-- (provisioning_timeout defaults to 15 min); the simulator finishes in seconds.
INSERT INTO metric_histograms (name, le)
SELECT 'store_provisioning_seconds', le
FROM unnest('{5,15,30,60,90,120,180,240,300,420,600,900,1200,1800,Infinity}'::float8[]) le;
INSERT INTO metric_histogram_sums (name)
VALUES ('reconcile_pass_seconds'), ('store_provisioning_seconds');

INSERT INTO metric_counters (name, l1)
VALUES ('reconcile_passes', 'ok'), ('reconcile_passes', 'error');

-- Verbs and result classes of src/k8s.h (enum k8s_verb, enum k8s_result).
INSERT INTO metric_counters (name, l1, l2)
SELECT 'kubernetes_requests', v, r
FROM unnest('{get,list,apply,delete,post,other}'::text[]) v,
     unnest('{2xx,4xx,429,5xx,error}'::text[]) r;

-- The class of a store failure, from the reason reconcile wrote
-- (src/reconcile.c, src/readiness.c), never the free text itself: the text
-- holds names and messages, a label must come from a small fixed set.
CREATE FUNCTION metrics_failure_reason(reason text, step text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE
		WHEN reason LIKE 'timed out after %' THEN 'timeout'
		WHEN reason LIKE '% blueprint cannot be rendered%' THEN 'render'
		WHEN reason LIKE 'kubernetes refused to %' THEN 'kubernetes_refused'
		WHEN reason LIKE 'image % could not be pulled%' THEN 'image_pull'
		WHEN reason LIKE '%(CrashLoopBackOff)%' THEN 'crash_loop'
		WHEN reason LIKE '% cannot start: %' THEN 'container_start'
		WHEN reason LIKE '% cannot be scheduled%' THEN 'unschedulable'
		WHEN reason LIKE '%resource quota refused%' OR reason LIKE '%exceeded quota%'
			THEN 'quota'
		WHEN reason LIKE 'pods for deployment % could not be created%' THEN 'pod_create'
		WHEN reason LIKE '%(ProgressDeadlineExceeded)%' THEN 'deployment_stalled'
		WHEN reason LIKE 'setup job % failed%' THEN 'setup_job'
		WHEN reason LIKE 'volume claim %' THEN 'storage'
		WHEN reason LIKE 'namespace % is being deleted%' THEN 'namespace_deleted'
		WHEN step = 'readiness' OR reason LIKE '%probe%' THEN 'readiness'
		ELSE 'other'
	END
$$;

INSERT INTO metric_counters (name, l1)
SELECT 'store_failures', r
FROM unnest('{timeout,render,kubernetes_refused,image_pull,crash_loop,container_start,'
	    'unschedulable,quota,pod_create,deployment_stalled,setup_job,storage,'
	    'namespace_deleted,readiness,other}'::text[]) r;

-- Counted where the status changes, whoever changes it: a store entering
-- 'failed' adds to its reason's counter; a store becoming ready for the first
-- time (ready_at was NULL) observes request -> ready, measured from created_at,
-- so the wait in the queue and any failed attempt before a retry are included
-- (what the tenant waited).
CREATE FUNCTION metrics_store_status() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	secs double precision;
BEGIN
	IF NEW.status = 'failed' THEN
		INSERT INTO metric_counters (name, l1, value)
		VALUES ('store_failures', metrics_failure_reason(NEW.status_reason, NEW.step), 1)
		ON CONFLICT (name, l1, l2) DO UPDATE SET value = metric_counters.value + 1;
	ELSIF NEW.status = 'ready' AND OLD.ready_at IS NULL AND NEW.ready_at IS NOT NULL THEN
		secs := greatest(extract(epoch FROM NEW.ready_at - NEW.created_at), 0);
		UPDATE metric_histograms SET count = count + 1
		WHERE name = 'store_provisioning_seconds' AND le >= secs;
		UPDATE metric_histogram_sums SET sum = sum + secs
		WHERE name = 'store_provisioning_seconds';
	END IF;
	RETURN NULL;
END $$;

CREATE TRIGGER metrics_store_status AFTER UPDATE OF status ON stores
	FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status
			   AND NEW.status IN ('failed', 'ready'))
	EXECUTE FUNCTION metrics_store_status();

-- /readyz and /metrics ask for the last finished pass: an index answers it
-- without reading every run.
CREATE INDEX reconcile_runs_finished_idx ON reconcile_runs (finished_at DESC)
	WHERE finished_at IS NOT NULL;
