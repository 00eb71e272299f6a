/* reconcile_backup.c - stores' backups to object storage: scheduled, started, followed, verified,
 * pruned (sql/021_backups.sql). */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "backup_manifest.h"
#include "blueprint.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "reconcile_backup.h"
#include "reconcile_int.h"
#include "s3.h"

/*
 * One phase of each pass, after the stores' claims (reconcile.c calls
 * reconcile_backups): never a pass error.  Only one reconcile runs it at a
 * time (a session advisory lock: a killed process lets go of it with its
 * connection), so "never two backups of one store" is the unique index
 * backups_one_live and nothing else.
 *
 *   schedule  a 'scheduled' row for each ready store whose last backup is
 *             older than backup_interval (a failed one: an hour), at most
 *             backup_concurrency live backups fleet-wide;
 *   start     a 'requested' row of a store that is ready (or degraded):
 *             the Job's name is recorded ('running') before the Secret
 *             backup-s3 and the Job (75-backup.yaml, backup.take = b<id>)
 *             are applied, so a reconcile killed between the two finds the
 *             row and applies the Job again under the same name; a store
 *             upgrading, suspended or still provisioning keeps it waiting;
 *   follow    a running Job: complete -> manifest.json read (s3.c), parsed
 *             (backup_manifest.c) and every object's size checked with
 *             HEAD; only then 'complete'.  A failed Job, a missing or bad
 *             manifest, a size that differs, a store deleted, or a Job over
 *             its deadline: 'failed' with the reason;
 *   finals    a 'final' row for each store deleting whose delete asked for
 *             one (sql/024_undelete.sql), recorded on the store: reconcile.c
 *             keeps the namespace until it is complete; a final backup is
 *             started and followed while its store is deleting (any other
 *             backup of a deleting store fails);
 *   leftovers a failed backup's objects deleted from its own prefix
 *             (leftovers(), sql/026_backup_leftovers.sql);
 *   prune     complete backups beyond the policy: the newest of each of the
 *             last backup_keep_daily days and of each of the last
 *             backup_keep_weekly weeks are kept, every backup of the last 24
 *             hours too ("Back up now" twice today keeps both), and always a
 *             store's newest; the others go, manifest.json first (what is
 *             left of a half-pruned backup never looks complete), then the
 *             other objects, then the row; every backup of a store deleted
 *             longer than revive_window ago, final ones included.
 */

#define ACTOR  "storefleet-reconcile"
#define SECRET "backup-s3"
/* at most 20 live backups are looked at per pass, 50 pruned (st_live, st_prunable) */
#define LOCK_KEY "7308251013" /* pg advisory lock: the backup phase */

/* clang-format off */
static struct db_stmt st_lock = DB_STMT("SELECT pg_try_advisory_lock(" LOCK_KEY ")", 0);
static struct db_stmt st_unlock = DB_STMT("SELECT pg_advisory_unlock(" LOCK_KEY ")", 0);
/* $1 interval (s), $2 concurrency */
static struct db_stmt st_schedule = DB_STMT(
	"INSERT INTO backups (store_id, kind, engine, version, revision) "
	"SELECT s.id, 'scheduled', s.engine, s.engine_version, s.blueprint_revision FROM stores s "
	"WHERE s.status IN ('ready', 'degraded') AND NOT EXISTS (SELECT 1 FROM restores x "
	"  WHERE x.store_id = s.id AND x.status IN ('requested', 'backing-up', 'restoring')) "
	"AND NOT EXISTS (SELECT 1 FROM backups b "
	"  WHERE b.store_id = s.id AND (b.status IN ('requested', 'running') "
	"  OR (b.status = 'complete' AND b.created_at > now() - make_interval(secs => $1::integer)) "
	"  OR (b.status = 'failed' AND b.created_at > now() - "
	"      make_interval(secs => least($1::integer, 3600))))) "
	"ORDER BY s.id LIMIT greatest(0, $2::integer - (SELECT count(*) FROM backups "
	"  WHERE status IN ('requested', 'running'))) "
	"ON CONFLICT DO NOTHING RETURNING id, store_id", 2);
static struct db_stmt st_live = DB_STMT(
	"SELECT b.id, b.store_id, b.status, b.job, b.name, b.kind,"
	" extract(epoch FROM now() - coalesce(b.started_at, b.created_at))::bigint,"
	" s.status, s.engine, s.engine_version, s.blueprint_revision, s.name, u.email, s.plan_applied,"
	" coalesce(b.actor_id, 0), s.cluster,"
	" EXISTS (SELECT 1 FROM store_revisions v WHERE v.store_id = s.id"
	"   AND v.revision = s.pending_revision AND v.snapshot = 'b' || b.id) "
	"FROM backups b JOIN stores s ON s.id = b.store_id JOIN users u ON u.id = s.owner_id "
	"WHERE b.status IN ('requested', 'running') ORDER BY b.id LIMIT 20", 0);
/* the Job's name and the prefix, recorded before the Job is made */
static struct db_stmt st_named = DB_STMT(
	"UPDATE backups SET status = 'running', name = $2, job = $3, prefix = $4, started_at = now(),"
	" engine = $5, version = $6, revision = $7 WHERE id = $1::bigint AND status = 'requested'", 7);
/* a started backup (its prefix recorded) leaves objects to delete: sql/026_backup_leftovers.sql */
static struct db_stmt st_failed = DB_STMT(
	"UPDATE backups SET status = 'failed', reason = $2, failure = $3, finished_at = now(),"
	" leftovers = CASE WHEN prefix <> '' THEN 12 ELSE 0 END "
	"WHERE id = $1::bigint AND status IN ('requested', 'running') RETURNING store_id", 3);
static struct db_stmt st_count = DB_STMT(
	"UPDATE metric_counters SET value = value + 1 WHERE name = 'backup_failures' AND l1 = $1", 1);
static struct db_stmt st_complete = DB_STMT(
	"UPDATE backups SET status = 'complete', finished_at = now(), dump_size = $2::bigint,"
	" dump_sha256 = $3, files_size = $4::bigint, files_sha256 = $5, manifest_started = $6,"
	" manifest_finished = $7, version = $8, revision = $9, reason = '' "
	"WHERE id = $1::bigint AND status = 'running'", 9);
static struct db_stmt st_event = DB_STMT(
	"INSERT INTO store_events (store_id, step, level, message) VALUES ($1, 'backup', $2, $3)", 3);
/* $1 keep daily, $2 keep weekly: the complete backups the policy lets go (never a store's newest) */
static struct db_stmt st_prunable = DB_STMT(
	"SELECT id, store_id, name, prefix FROM (SELECT id, store_id, name, prefix,"
	" row_number() OVER (PARTITION BY store_id ORDER BY created_at DESC, id DESC) AS n,"
	" row_number() OVER (PARTITION BY store_id, date_trunc('day', created_at AT TIME ZONE 'UTC')"
	"   ORDER BY created_at DESC, id DESC) AS in_day,"
	" dense_rank() OVER (PARTITION BY store_id ORDER BY date_trunc('day', created_at AT TIME ZONE 'UTC') DESC) AS day,"
	" row_number() OVER (PARTITION BY store_id, date_trunc('week', created_at AT TIME ZONE 'UTC')"
	"   ORDER BY created_at DESC, id DESC) AS in_week,"
	" dense_rank() OVER (PARTITION BY store_id ORDER BY date_trunc('week', created_at AT TIME ZONE 'UTC') DESC) AS week,"
	" created_at FROM backups WHERE status = 'complete' AND id NOT IN (SELECT backup_id FROM restores"
	"  WHERE status IN ('requested', 'backing-up', 'restoring'))"
	/* an upgrade's backup stays while a kept revision can roll back with it (revision.c) */
	" AND NOT EXISTS (SELECT 1 FROM store_revisions v WHERE v.store_id = backups.store_id"
	"  AND (v.snapshot = backups.name OR v.restore_snapshot = backups.name))) c "
	"WHERE n > 1 AND created_at < now() - interval '1 day' AND NOT (in_day = 1 AND day <= $1::integer) AND NOT (in_week = 1 AND week <= $2::integer) "
	"ORDER BY id LIMIT 50", 2);
static struct db_stmt st_pruned = DB_STMT(
	"DELETE FROM backups WHERE id = $1::bigint AND status = 'complete'", 1);
/* failed backups whose objects are to be deleted, attempt 12 - leftovers due 2^k - 1 s after the end */
static struct db_stmt st_leftovers = DB_STMT(
	"SELECT id, store_id, name, prefix, leftovers FROM backups WHERE leftovers > 0"
	" AND status = 'failed' AND finished_at + make_interval(secs => power(2, 12 - leftovers) - 1) <= now() "
	"ORDER BY finished_at, id LIMIT 20", 0);
static struct db_stmt st_leftovers_set = DB_STMT(
	"UPDATE backups SET leftovers = $2::smallint WHERE id = $1::bigint AND status = 'failed'", 2);
static struct db_stmt st_running = DB_STMT(
	"SELECT name FROM backups WHERE store_id = $1 AND status = 'running'", 1);
/*
 * The final backups deletes asked for (sql/024_undelete.sql): requested
 * and recorded on the store, unless another backup of it is live (the live
 * loop fails that one first: its store is deleting).
 */
static struct db_stmt st_finals = DB_STMT(
	"WITH b AS (INSERT INTO backups (store_id, kind, engine, version, revision) "
	"  SELECT s.id, 'final', s.engine, s.engine_version, s.blueprint_revision FROM stores s "
	"  WHERE s.status = 'deleting' AND s.final_backup = 'wanted' AND s.final_backup_id IS NULL "
	"  ORDER BY s.id LIMIT 20 ON CONFLICT DO NOTHING RETURNING id, store_id) "
	"UPDATE stores s SET final_backup_id = b.id, updated_at = now() FROM b "
	"WHERE s.id = b.store_id RETURNING b.id, b.store_id", 0);
/* a final backup complete: the delete goes on now, its timeout counted from here */
static struct db_stmt st_final_done = DB_STMT(
	"UPDATE stores SET delete_requested_at = now(), next_attempt_at = now() "
	"WHERE final_backup_id = $1::bigint AND status = 'deleting'", 1);
/* $1 revive window (s): every backup of a store deleted longer ago */
static struct db_stmt st_expired = DB_STMT(
	"SELECT b.id, b.store_id, b.name, b.prefix FROM backups b JOIN stores s ON s.id = b.store_id "
	"WHERE s.status = 'deleted' AND s.deleted_at < now() - make_interval(secs => $1::integer) "
	"AND b.status IN ('complete', 'failed') ORDER BY b.id LIMIT 50", 1);
static struct db_stmt st_expired_gone = DB_STMT(
	"DELETE FROM backups WHERE id = $1::bigint AND status IN ('complete', 'failed')", 1);
/*
 * An upgrade's backup: the store's backup requested and not yet started (it
 * is taken now, before the upgrade), else a new 'pre-upgrade' one; nothing
 * while one runs (backups_one_live).
 */
static struct db_stmt st_for_upgrade = DB_STMT(
	"WITH live AS (SELECT id, kind FROM backups WHERE store_id = $1 AND status = 'requested'),"
	" ins AS (INSERT INTO backups (store_id, kind, engine, version, revision)"
	"  SELECT s.id, 'pre-upgrade', s.engine, s.engine_version, s.blueprint_revision FROM stores s"
	"  WHERE s.id = $1 AND NOT EXISTS (SELECT 1 FROM backups b WHERE b.store_id = $1"
	"   AND b.status IN ('requested', 'running'))"
	"  ON CONFLICT DO NOTHING RETURNING id, kind) "
	"SELECT id, kind, true FROM ins UNION ALL SELECT id, kind, false FROM live", 1);
static struct db_stmt st_status = DB_STMT(
	"SELECT status, reason FROM backups WHERE store_id = $1 AND 'b' || id = $2", 2);
/* clang-format on */

const char *reconcile_backup_running(struct reconcile *r, const char *store)
{
	const char *p[1] = {store};
	struct err e = ERR_INIT;
	PGresult *res = db_run(r->a, &st_running, p, &e);

	if (!res) {
		log_warn("reconcile: store %s: backups: %s", store, e.msg);
		return NULL;
	}
	return db_rows(res) ? db_get(res, 0, 0) : NULL;
}

/* One live backup and its store, as st_live loads them. */
struct bk {
	const char *id, *store, *status, *job, *name, *kind;
	long long age;
	struct store s; /* enough of it for rendering (reconcile_values, credentials) */
	const char *store_status, *revision;
	long long actor;
	const char *restore, *restore_tag; /* a restore Job: the backup restored, r<id> */
	int for_upgrade; /* named by the store's pending revision: it starts while upgrading */
	const char *from;		   /* the store whose backup it is (a clone's source) */
};

static const char *secret_key(struct arena *a, struct err *e)
{
	FILE *f;
	char line[512];
	size_t n;

	if (!*config.backup_secret_key_file)
		return config.backup_secret_key;
	f = fopen(config.backup_secret_key_file, "r");
	if (!f) {
		err_set(e, 500, "config: backup_secret_key_file: cannot open '%s'",
			config.backup_secret_key_file);
		return NULL;
	}
	if (!fgets(line, sizeof(line), f))
		line[0] = 0;
	fclose(f);
	n = strcspn(line, "\r\n");
	line[n] = 0;
	return arena_strdup(a, line);
}

int reconcile_backup_enabled(void)
{
	return *config.backup_endpoint && *config.backup_bucket;
}

static struct s3 *client(struct arena *a, struct err *e)
{
	struct s3_config c = {config.backup_endpoint,
			      config.backup_bucket,
			      config.backup_region,
			      config.backup_access_key,
			      NULL,
			      config.backup_path_style};

	if (!(c.secret_key = secret_key(a, e)))
		return NULL;
	return s3_new(&c, e);
}

static void event(struct arena *a, const char *store, const char *level, const char *msg)
{
	const char *p[3] = {store, level, msg};
	struct err e = ERR_INIT;

	if (!db_run(a, &st_event, p, &e))
		log_warn("reconcile: store %s: backup event: %s", store, e.msg);
}

static void audit(struct arena *a, const char *action, const struct bk *b, const char *reason)
{
	struct view *d = view_obj(a);
	struct err e = ERR_INIT;

	view_set_str(d, "backup", b->name);
	view_set_str(d, "kind", b->kind);
	if (reason)
		view_set_str(d, "reason", reason);
	if (audit_record(a, 0, ACTOR, NULL, action, b->store, d, &e) < 0)
		log_error("reconcile: store %s: audit: %s", b->store, e.msg);
}

/* The backup ends failed: reason for people, failure one of the metrics' fixed set. */
static int failed(struct reconcile *r, const struct bk *b, const char *failure, const char *why)
{
	const char *p[3] = {b->id, why, failure};
	struct err e = ERR_INIT;
	PGresult *res = db_run(r->a, &st_failed, p, &e);

	if (!res) {
		log_warn("reconcile: store %s: backup %s: %s", b->store, b->id, e.msg);
		return 0;
	}
	if (!db_rows(res))
		return 0;
	if (!db_run(r->a, &st_count, p + 2, &e))
		log_warn("reconcile: backups: cannot count a failure: %s", e.msg);
	event(r->a, b->store, "error",
	      arena_printf(r->a, "Backup %s failed: %s", *b->name ? b->name : b->id, why));
	audit(r->a, "backup.failed", b, why);
	log_info("reconcile: store %s: backup %s failed (%s): %s", b->store, b->name, failure, why);
	return 1;
}

/* ---- Kubernetes ------------------------------------------------------------------ */

static const char *ns_of(struct arena *a, const char *store)
{
	return arena_printf(a, "store-%s", store);
}

/* The Secret backup-s3 the Job reads: the key from the configuration. */
static int apply_secret(struct reconcile *r, const struct bk *b, struct k8s_err *ke)
{
	const char *secret;
	struct err e = ERR_INIT;
	json_t *data = arena_json(r->a, json_object()), *obj;
	const char *plain[2][2] = {{"access-key-id", config.backup_access_key},
				   {"secret-access-key", NULL}};

	if (!(secret = secret_key(r->a, &e))) {
		memset(ke, 0, sizeof(*ke));
		ke->klass = K8S_HARD;
		ke->err = e;
		return -1;
	}
	plain[1][1] = secret;
	for (int i = 0; i < 2; i++) {
		size_t n = strlen(plain[i][1]),
		       cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
		char *out = arena_alloc(r->a, cap);

		sodium_bin2base64(out, cap, (const unsigned char *)plain[i][1], n,
				  sodium_base64_VARIANT_ORIGINAL);
		json_object_set_new(data, plain[i][0], json_string(out));
	}
	obj = arena_json(r->a,
			 json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s, s:s}}, s:s, s:O}", "apiVersion",
				   "v1", "kind", "Secret", "metadata", "name", SECRET, "namespace",
				   ns_of(r->a, b->store), "labels", "app.kubernetes.io/managed-by",
				   "storefleet", "storefleet.io/store", b->store, "type", "Opaque",
				   "data", data));
	return k8s_apply(r->k, obj, NULL, NULL, ke) ? 0 : -1;
}

/* Render the store's set with backup.take = name and apply its backup Job (+ policies). */
static int apply_job(struct reconcile *r, const struct bk *b, char *why, size_t n,
		     struct k8s_err *ke)
{
	struct engine_bp *eb = reconcile_engine_bp(r, b->s.engine);
	struct err e = ERR_INIT;
	json_t *creds = NULL, *set, *out, *o, *more;
	int generated = 0;
	size_t i;

	memset(ke, 0, sizeof(*ke));
	if (!eb || !eb->bp) {
		ke->klass = K8S_HARD;
		snprintf(why, n, "the %s blueprint cannot be loaded", b->s.engine);
		return -1;
	}
	if (reconcile_credentials(r, &b->s, eb, 0, &creds, &generated, ke) < 0) {
		snprintf(why, n, "cannot read the store's credentials: %.300s",
			 *ke->st.message ? ke->st.message : ke->err.msg);
		return -1;
	}
	more = arena_json(
	    r->a,
	    json_pack("{s:{s:b, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s}}", "backup", "enabled",
		      1, "take", b->restore_tag ? "" : b->name, "endpoint", config.backup_endpoint,
		      "bucket", config.backup_bucket, "region", config.backup_region, "path_style",
		      config.backup_path_style ? "true" : "false", "sse", config.backup_sse,
		      "egress_cidr", config.backup_egress_cidr, "deadline",
		      (json_int_t)config.backup_timeout, "revision", b->revision));
	json_object_set_new(json_object_get(more, "backup"), "egress_port",
			    json_integer(config.backup_egress_port));
	if (b->restore_tag) { /* the restore Job (75-backup.yaml): restore-backup-<restore_tag> */
		json_object_set_new(json_object_get(more, "backup"), "restore",
				    json_string(b->restore));
		json_object_set_new(json_object_get(more, "backup"), "from",
				    json_string(b->from ? b->from : b->store));
		json_object_set_new(json_object_get(more, "backup"), "restore_tag",
				    json_string(b->restore_tag));
	}
	{
		struct blueprint_store bs = {.id = b->s.id,
					     .name = b->s.name,
					     .owner_email = b->s.email,
					     .version = *b->s.version ? b->s.version : NULL,
					     .secrets = creds,
					     .values =
						 reconcile_values(r, &b->s, NULL, more, why, n)};

		if (!bs.values) {
			ke->klass = K8S_HARD;
			return -1;
		}
		set = arena_json(r->a, blueprint_render(eb->bp, &bs, &e));
	}
	if (!set) {
		ke->klass = K8S_HARD;
		snprintf(why, n, "the %s blueprint cannot be rendered: %.300s", b->s.engine, e.msg);
		return -1;
	}
	out = arena_json(r->a, json_array());
	json_array_foreach(set, i, o) {
		const json_t *meta = json_object_get(o, "metadata");
		const char *kind = jstr(o, "kind"), *name = jstr(meta, "name");

		if (!strcmp(jstr(json_object_get(meta, "labels"), "app.kubernetes.io/component"),
			    "backup") &&
		    (!strcmp(kind, "NetworkPolicy") || !strcmp(name, b->job)))
			json_array_append(out, o);
	}
	if (!json_array_size(out)) {
		ke->klass = K8S_HARD;
		snprintf(why, n, "the %s blueprint renders no job %s", b->s.engine, b->job);
		return -1;
	}
	if (apply_secret(r, b, ke) < 0 || k8s_apply_all(r->k, out, NULL, NULL, NULL, ke) < 0) {
		snprintf(why, n, "%.400s", *ke->st.message ? ke->st.message : ke->err.msg);
		return -1;
	}
	return 0;
}

/* GET the Job: *job (arena) or NULL for 404.  0, or -1 with ke. */
static int get_job(struct reconcile *r, const struct bk *b, json_t **job, struct k8s_err *ke)
{
	struct buf path = BUF_INIT;
	int rc = 0;

	memset(ke, 0, sizeof(*ke));
	if (k8s_path(&path, "batch/v1", "Job", ns_of(r->a, b->store), b->job, &ke->err) < 0)
		BUG("job path: %s", ke->err.msg);
	*job = arena_json(r->a, k8s_get(r->k, path.s, ke));
	if (!*job && ke->st.code != 404)
		rc = -1;
	buf_release(&path);
	return rc;
}

static void delete_job(struct reconcile *r, const struct bk *b)
{
	struct buf path = BUF_INIT;
	struct k8s_err ke;

	memset(&ke, 0, sizeof(ke));
	if (k8s_path(&path, "batch/v1", "Job", ns_of(r->a, b->store), b->job, &ke.err) < 0)
		BUG("job path: %s", ke.err.msg);
	if (k8s_delete(r->k, path.s, "Background", K8S_DELETE_GONE_OK, &ke) < 0)
		log_warn("reconcile: store %s: cannot delete job %s: %s", b->store, b->job,
			 ke.err.msg);
	buf_release(&path);
}

/*
 * "complete", "failed" (why: the condition and what the container's
 * termination message says - the log's tail, terminationMessagePolicy
 * FallbackToLogsOnError) or "running".
 */
static const char *job_state(struct reconcile *r, const struct bk *b, const json_t *job, char *why,
			     size_t n, int *deadline)
{
	const json_t *c, *pods, *p;
	size_t i, j;

	*deadline = 0;
	json_array_foreach(json_object_get(json_object_get(job, "status"), "conditions"), i, c) {
		struct k8s_err ke;
		const char *tail = "";

		if (strcmp(jstr(c, "status"), "True"))
			continue;
		if (!strcmp(jstr(c, "type"), "Complete"))
			return "complete";
		if (strcmp(jstr(c, "type"), "Failed"))
			continue;
		*deadline = !strcmp(jstr(c, "reason"), "DeadlineExceeded");
		memset(&ke, 0, sizeof(ke));
		pods = arena_json(r->a, k8s_pods(r->k, ns_of(r->a, b->store),
						 arena_printf(r->a, "job-name=%s", b->job), &ke));
		json_array_foreach(pods, j, p) {
			const json_t *cs = json_array_get(
			    json_object_get(json_object_get(p, "status"), "containerStatuses"), 0);
			const char *m = jstr(jpath(cs, "state", "terminated"), "message");

			if (*m)
				tail = m;
		}
		snprintf(why, n, "job %s: %s%s%s%s%.600s", b->job, jstr(c, "reason"),
			 *jstr(c, "message") ? ": " : "", jstr(c, "message"), *tail ? "; " : "",
			 tail);
		/* one line for people: the log's tail may hold several */
		for (char *q = why; *q; q++)
			if (*q == '\n' || *q == '\r')
				*q = ' ';
		return "failed";
	}
	return "running";
}

/* ---- verification ------------------------------------------------------------------ */

/*
 * Read manifest.json and HEAD every object it names.  0 with m filled when
 * whole; 1 when object storage could not be asked (retry); -1 with failure
 * and why when the backup is not what it must be.
 */
static int verify(struct reconcile *r, struct s3 *s3, const struct bk *b, struct backup_manifest *m,
		  const char **failure, char *why, size_t n)
{
	struct buf body = BUF_INIT;
	struct err e = ERR_INIT;
	const char *prefix = arena_printf(r->a, "stores/%s/backups/%s/", b->store, b->name);
	int rc = -1;

	if (s3_get(s3, arena_printf(r->a, "%smanifest.json", prefix), BACKUP_MANIFEST_MAX, &body,
		   &e) < 0) {
		if (e.status == 404) {
			*failure = "manifest";
			snprintf(why, n,
				 "the job completed but s3://%s/%smanifest.json is missing: the "
				 "backup never completed",
				 config.backup_bucket, prefix);
		} else if (e.status == 413) {
			*failure = "manifest";
			snprintf(why, n, "manifest.json is larger than %d bytes",
				 BACKUP_MANIFEST_MAX);
		} else {
			*failure = "storage";
			snprintf(why, n, "cannot read manifest.json: %.300s", e.msg);
			rc = 1;
		}
		goto out;
	}
	if (backup_manifest_parse(body.s ? body.s : "", body.len, b->store, b->name, m, &e) < 0) {
		*failure = "manifest";
		snprintf(why, n, "manifest.json: %.400s", e.msg);
		goto out;
	}
	if (strcmp(m->engine, b->s.engine)) {
		*failure = "manifest";
		snprintf(why, n, "manifest.json is for a %s store, not %s", m->engine, b->s.engine);
		goto out;
	}
	for (int i = 0; i < m->nobjects; i++) {
		long long size = -1;
		const char *key = arena_printf(r->a, "%s%s", prefix, m->objects[i].name);

		e = (struct err)ERR_INIT;
		if (s3_head(s3, key, &size, &e) < 0) {
			if (e.status == 404) {
				*failure = "mismatch";
				snprintf(why, n, "%s is named by manifest.json but missing",
					 m->objects[i].name);
			} else {
				*failure = "storage";
				snprintf(why, n, "cannot check %s: %.300s", m->objects[i].name,
					 e.msg);
				rc = 1;
			}
			goto out;
		}
		if (size != m->objects[i].size) {
			*failure = "mismatch";
			snprintf(why, n,
				 "%s is %lld bytes in object storage, manifest.json says %lld",
				 m->objects[i].name, size, m->objects[i].size);
			goto out;
		}
	}
	rc = 0;
out:
	buf_release(&body);
	return rc;
}

static int complete(struct reconcile *r, const struct bk *b, const struct backup_manifest *m)
{
	char ds[24], fs[24];
	const struct backup_object *dump = NULL, *files = NULL;
	const char *p[9];
	struct err e = ERR_INIT;

	for (int i = 0; i < m->nobjects; i++) {
		if (!strcmp(m->objects[i].name, "files.tar.gz"))
			files = &m->objects[i];
		else
			dump = &m->objects[i];
	}
	if (!dump || !files)
		BUG("a parsed manifest lacks an object");
	snprintf(ds, sizeof(ds), "%lld", dump->size);
	snprintf(fs, sizeof(fs), "%lld", files->size);
	p[0] = b->id, p[1] = ds, p[2] = dump->sha256, p[3] = fs, p[4] = files->sha256;
	p[5] = m->started, p[6] = m->finished, p[7] = m->version, p[8] = m->revision;
	if (!db_run(r->a, &st_complete, p, &e)) {
		log_warn("reconcile: store %s: backup %s: %s", b->store, b->name, e.msg);
		return 0;
	}
	event(r->a, b->store, "info",
	      arena_printf(r->a, "Backup %s complete: %s %lld bytes, files %lld bytes, verified",
			   b->name, dump->name, dump->size, files->size));
	if (!strcmp(b->kind, "final") && !db_run(r->a, &st_final_done, p, &e))
		log_warn("reconcile: store %s: final backup %s: %s", b->store, b->name, e.msg);
	audit(r->a, "backup.complete", b, NULL);
	log_info("reconcile: store %s: backup %s complete", b->store, b->name);
	return 1;
}

/* ---- one live backup --------------------------------------------------------------- */

static int start(struct reconcile *r, struct bk *b)
{
	char why[512];
	struct k8s_err ke;
	struct err e = ERR_INIT;
	const char *name = arena_printf(r->a, "b%s", b->id);
	const char *job = arena_printf(r->a, "backup-%s", name);
	const char *prefix = arena_printf(r->a, "stores/%s/backups/%s/", b->store, name);
	const char *p[7] = {b->id, name, job, prefix, b->s.engine, b->s.version, b->revision};
	PGresult *res;

	if (strcmp(b->store_status, "ready") && strcmp(b->store_status, "degraded") &&
	    !(!strcmp(b->kind, "final") && !strcmp(b->store_status, "deleting")) &&
	    !(b->for_upgrade && !strcmp(b->store_status, "upgrading")))
		return 0; /* upgrading (unless the upgrade waits for it), suspended...: it waits */
	/* named first: a reconcile killed after this finds the Job by its name */
	if (!(res = db_run(r->a, &st_named, p, &e))) {
		log_warn("reconcile: store %s: backup %s: %s", b->store, b->id, e.msg);
		return 0;
	}
	b->name = name;
	b->job = job;
	b->status = "running";
	if (apply_job(r, b, why, sizeof(why), &ke) < 0) {
		if (k8s_transient_err(&ke))
			return 0; /* next pass: the row is running, the Job applied again */
		return failed(r, b, "job",
			      arena_printf(r->a, "the backup job could not start: %s", why));
	}
	event(r->a, b->store, "info",
	      arena_printf(r->a, "Backup %s started (%s, job %s)", name, b->kind, job));
	log_info("reconcile: store %s: backup %s started (job %s)", b->store, name, job);
	return 1;
}

static int follow(struct reconcile *r, struct bk *b, struct s3 **s3)
{
	struct k8s_err ke;
	json_t *job;
	char why[1024];
	const char *state, *failure = "job";
	int deadline = 0;

	if (get_job(r, b, &job, &ke) < 0)
		return 0; /* transient or not, the next pass asks again */
	if (!job) {
		/* recorded but never made (killed in between), or removed by hand: again */
		if (b->age > config.backup_timeout + 60)
			return failed(
			    r, b, "timeout",
			    arena_printf(r->a,
					 "job %s is gone and the backup did not finish within %d s",
					 b->job, config.backup_timeout));
		if (apply_job(r, b, why, sizeof(why), &ke) < 0 && !k8s_transient_err(&ke))
			return failed(
			    r, b, "job",
			    arena_printf(r->a, "the backup job could not start: %s", why));
		log_info("reconcile: store %s: backup %s: job %s applied again", b->store, b->name,
			 b->job);
		return 0;
	}
	state = job_state(r, b, job, why, sizeof(why), &deadline);
	if (!strcmp(state, "failed"))
		return failed(r, b, deadline ? "timeout" : "job", why);
	if (!strcmp(state, "running")) {
		if (b->age > config.backup_timeout + 60)
			return failed(r, b, "timeout",
				      arena_printf(r->a, "job %s did not finish within %d s",
						   b->job, config.backup_timeout));
		return 0;
	}
	{
		struct backup_manifest m;
		struct err e = ERR_INIT;
		int rc;

		if (!*s3 && !(*s3 = client(r->a, &e)))
			return failed(r, b, "storage",
				      arena_printf(r->a, "object storage: %s", e.msg));
		rc = verify(r, *s3, b, &m, &failure, why, sizeof(why));
		if (rc == 1 && b->age <= config.backup_timeout + 60)
			return 0;
		if (rc != 0)
			return failed(r, b, failure, why);
		if (!complete(r, b, &m))
			return 0;
		delete_job(r, b);
		return 1;
	}
}

/* ---- pruning ------------------------------------------------------------------------- */

/*
 * Delete backup b's objects under prefix, manifest.json first (what is left
 * of a half-pruned backup is never complete-looking), then its row with
 * gone.  1 when it is gone; 0 when not (logged; the next pass tries again);
 * -1 when object storage has no client.
 */
static int drop(struct reconcile *r, struct s3 **s3, const struct bk *b, const char *prefix,
		struct db_stmt *gone)
{
	struct s3_object *objs = NULL;
	size_t nobj = 0;
	const char *q[1] = {b->id};
	struct err e = ERR_INIT;
	int bad = 0;

	if (!*s3 && !(*s3 = client(r->a, &e))) {
		log_warn("reconcile: backups: pruning: object storage: %s", e.msg);
		return -1;
	}
	if (*prefix && s3_list(*s3, prefix, &objs, &nobj, &e) < 0) {
		log_warn("reconcile: store %s: cannot prune backup %s: %s", b->store, b->name,
			 e.msg);
		return 0;
	}
	for (size_t k = 0; k < nobj && !bad; k++)
		if (!strcmp(objs[k].key + strlen(prefix), "manifest.json") &&
		    s3_delete(*s3, objs[k].key, &e) < 0)
			bad = 1;
	for (size_t k = 0; k < nobj && !bad; k++)
		if (strcmp(objs[k].key + strlen(prefix), "manifest.json") &&
		    s3_delete(*s3, objs[k].key, &e) < 0)
			bad = 1;
	free(objs);
	if (bad) {
		log_warn("reconcile: store %s: cannot prune backup %s: %s", b->store, b->name,
			 e.msg);
		return 0;
	}
	if (!db_run(r->a, gone, q, &e)) {
		log_warn("reconcile: store %s: backup %s: %s", b->store, b->name, e.msg);
		return 0;
	}
	return 1;
}

static int prune(struct reconcile *r, struct s3 **s3)
{
	char d[16], w[16];
	const char *p[2] = {d, w};
	struct err e = ERR_INIT;
	PGresult *res;
	int n = 0;

	snprintf(d, sizeof(d), "%d", config.backup_keep_daily);
	snprintf(w, sizeof(w), "%d", config.backup_keep_weekly);
	if (!(res = db_run(r->a, &st_prunable, p, &e))) {
		log_warn("reconcile: backups: pruning: %s", e.msg);
		return 0;
	}
	for (int i = 0; i < db_rows(res); i++) {
		struct bk b = {.id = db_get(res, i, 0),
			       .store = db_get(res, i, 1),
			       .name = db_get(res, i, 2),
			       .kind = ""};
		const char *prefix = db_get(res, i, 3);
		int rc;

		if (!*prefix) {
			log_warn("reconcile: store %s: cannot prune backup %s: no prefix", b.store,
				 b.name);
			continue;
		}
		if ((rc = drop(r, s3, &b, prefix, &st_pruned)) < 0)
			return n;
		if (!rc)
			continue;
		audit(r->a, "backup.pruned", &b, NULL);
		event(r->a, b.store, "info",
		      arena_printf(r->a,
				   "Backup %s pruned by the policy (%d daily, %d weekly kept)",
				   b.name, config.backup_keep_daily, config.backup_keep_weekly));
		log_info("reconcile: store %s: backup %s pruned", b.store, b.name);
		n++;
	}
	return n;
}

/*
 * The backups of stores deleted longer than revive_window ago, final ones
 * included (sql/024_undelete.sql): every object under their prefixes, then
 * the rows.  Such a store can no longer be undeleted.
 */
static int prune_expired(struct reconcile *r, struct s3 **s3)
{
	char win[16];
	const char *p[1] = {win};
	struct err e = ERR_INIT;
	PGresult *res;
	int n = 0;

	snprintf(win, sizeof(win), "%d", config.revive_window);
	if (!(res = db_run(r->a, &st_expired, p, &e))) {
		log_warn("reconcile: backups: pruning deleted stores': %s", e.msg);
		return 0;
	}
	for (int i = 0; i < db_rows(res); i++) {
		struct bk b = {.id = db_get(res, i, 0),
			       .store = db_get(res, i, 1),
			       .name = db_get(res, i, 2),
			       .kind = ""};
		int rc;

		if ((rc = drop(r, s3, &b, db_get(res, i, 3), &st_expired_gone)) < 0)
			return n;
		if (!rc)
			continue;
		audit(r->a, "backup.pruned", &b, "the revive window of the deleted store passed");
		event(r->a, b.store, "info",
		      arena_printf(r->a,
				   "Backup %s pruned: the store was deleted more than %d s ago "
				   "(revive_window); it can no longer be undeleted",
				   *b.name ? b.name : b.id, config.revive_window));
		log_info("reconcile: store %s: backup %s pruned (revive window passed)", b.store,
			 b.name);
		n++;
	}
	return n;
}

/* The final backups deletes asked for, requested (st_finals). */
static int finals(struct reconcile *r)
{
	struct err e = ERR_INIT;
	PGresult *res = db_run(r->a, &st_finals, NULL, &e);

	if (!res) {
		log_warn("reconcile: backups: final backups: %s", e.msg);
		return 0;
	}
	for (int i = 0; i < db_rows(res); i++) {
		struct bk b = {.id = db_get(res, i, 0),
			       .store = db_get(res, i, 1),
			       .name = "",
			       .kind = "final"};

		audit(r->a, "backup.requested", &b, NULL);
		event(r->a, b.store, "info",
		      arena_printf(r->a,
				   "Final backup #%s requested: the namespace is deleted once it "
				   "is complete",
				   b.id));
	}
	return db_rows(res);
}

/* ---- a failed backup's leftovers ----------------------------------------------------- */

/* 1 when s is a store id or a backup name: [a-z0-9-] (no '/', no "..") */
static int plain_name(const char *s)
{
	if (!*s || strlen(s) > 64)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
			return 0;
	return 1;
}

static void leftovers_set(struct reconcile *r, const char *id, int left)
{
	char n[16];
	const char *p[2] = {id, n};
	struct err e = ERR_INIT;

	snprintf(n, sizeof(n), "%d", left);
	if (!db_run(r->a, &st_leftovers_set, p, &e))
		log_warn("reconcile: backups: leftovers of %s: %s", id, e.msg);
}

/*
 * The objects a failed backup left (an upload cut short whose Job could not
 * purge them, a Job past its deadline, an object that failed the check) are
 * deleted: the prefix is the row's own, checked to be exactly
 * stores/<store>/backups/<name>/, the listing (s3.c) only names keys under
 * it, manifest.json goes first.  An attempt that cannot reach object storage
 * is retried later (12 in all, over about an hour: sql/026); one that
 * deleted something is followed by one more look, in case the Job was
 * still writing.  Returns how many backups had objects deleted.
 */
static int leftovers(struct reconcile *r, struct s3 **s3)
{
	struct err e = ERR_INIT;
	PGresult *res = db_run(r->a, &st_leftovers, NULL, &e);
	int n = 0;

	if (!res) {
		log_warn("reconcile: backups: leftovers: %s", e.msg);
		return 0;
	}
	for (int i = 0; i < db_rows(res); i++) {
		struct bk b = {.id = db_get(res, i, 0),
			       .store = db_get(res, i, 1),
			       .name = db_get(res, i, 2),
			       .kind = ""};
		const char *prefix = db_get(res, i, 3);
		int left = (int)db_get_ll(res, i, 4) - 1;
		struct s3_object *objs = NULL;
		size_t nobj = 0, gone = 0;
		int bad = 0;

		if (!plain_name(b.store) || !plain_name(b.name) ||
		    strcmp(prefix, arena_printf(r->a, "stores/%s/backups/%s/", b.store, b.name))) {
			log_error(
			    "reconcile: store %s: backup %s: prefix '%s' is not the backup's own; "
			    "its objects are left alone",
			    b.store, b.id, prefix);
			leftovers_set(r, b.id, 0);
			continue;
		}
		e = (struct err)ERR_INIT;
		if (!*s3 && !(*s3 = client(r->a, &e))) {
			log_warn("reconcile: backups: leftovers: object storage: %s", e.msg);
			return n;
		}
		if (s3_list(*s3, prefix, &objs, &nobj, &e) == 0) {
			/* manifest.json first: what is left is never complete-looking */
			for (int pass = 0; pass < 2 && !bad; pass++)
				for (size_t k = 0; k < nobj && !bad; k++) {
					int manifest =
					    !strcmp(objs[k].key + strlen(prefix), "manifest.json");

					if (manifest != !pass)
						continue;
					if (!s3_key_ok(objs[k].key, prefix) ||
					    s3_delete(*s3, objs[k].key, &e) < 0)
						bad = 1;
					else
						gone++;
				}
		} else {
			bad = 1;
		}
		free(objs);
		if (gone) {
			event(r->a, b.store, "info",
			      arena_printf(r->a,
					   "Backup %s failed: the %zu object%s it left in object "
					   "storage deleted",
					   b.name, gone, gone == 1 ? "" : "s"));
			log_info("reconcile: store %s: backup %s: %zu leftover objects deleted",
				 b.store, b.name, gone);
			n++;
		}
		if (!bad) {
			/* nothing found: done; something deleted: one more look later */
			leftovers_set(r, b.id, gone ? left : 0);
			continue;
		}
		if (left > 0) {
			log_warn("reconcile: store %s: backup %s: cannot delete its leftovers yet "
				 "(%d attempts left): %s",
				 b.store, b.name, left, e.msg);
		} else {
			event(
			    r->a, b.store, "warn",
			    arena_printf(r->a,
					 "Backup %s failed and what it left under s3://%s/%s could "
					 "not be deleted: %.300s; delete it by hand",
					 b.name, config.backup_bucket, prefix, e.msg));
			log_error(
			    "reconcile: store %s: backup %s: its leftovers under %s could not "
			    "be deleted: %s",
			    b.store, b.name, prefix, e.msg);
		}
		leftovers_set(r, b.id, left);
	}
	return n;
}

/* ---- restore in place (sql/023_restores.sql) ----------------------------------------- */

/*
 *   requested   an undelete's (sql/024_undelete.sql) waits while the store
 *               is requested, provisioning or failed (it is being made
 *               again); then, as every restore:
 *               the store ready (or degraded): a 'pre-restore' backup of
 *               its current state requested (kind pre-restore; it waits
 *               while another backup of the store is live), 'backing-up';
 *   backing-up  that backup complete: the restore Job's name recorded
 *               ('restoring'), then the Secret and the Job (75-backup.yaml,
 *               backup.restore = the backup, restore_tag = r<id>) applied;
 *               that backup failed: the restore fails, nothing was changed;
 *   restoring   the Job complete: 'complete'; failed (it refuses a backup
 *               whose sizes or SHA-256 differ from its manifest's before it
 *               changes anything): 'failed' with the Job's own words; gone:
 *               applied again; over backup_timeout: 'failed'.
 *
 * The store's status is left alone: it stays ready, serving its current
 * data until the Job swaps the restored database in (one RENAME) and then
 * the files.  Each step is a store event (step 'restore') and an audit row.
 */

/* clang-format off */
#define RESTORE_LIVE "('requested', 'backing-up', 'restoring')"
static struct db_stmt st_restores = DB_STMT(
	"SELECT x.id, x.store_id, x.status, x.backup_name, x.job, coalesce(x.pre_backup_id, 0),"
	" extract(epoch FROM now() - coalesce(x.started_at, x.created_at))::bigint,"
	" s.status, s.engine, s.engine_version, s.blueprint_revision, s.name, u.email, s.plan_applied,"
	" coalesce(pb.status, ''), coalesce(pb.reason, ''), coalesce(nullif(pb.name, ''), 'b' || pb.id, ''),"
	" EXISTS (SELECT 1 FROM backups k WHERE k.id = x.backup_id AND k.status = 'complete'),"
	" x.undelete, coalesce(x.source_store, ''), s.step, s.cluster "
	"FROM restores x JOIN stores s ON s.id = x.store_id JOIN users u ON u.id = s.owner_id "
	"LEFT JOIN backups pb ON pb.id = x.pre_backup_id "
	"WHERE x.status IN " RESTORE_LIVE " ORDER BY x.id LIMIT 20", 0);
/* the pre-restore backup, unless another backup of the store is live (backups_one_live) */
static struct db_stmt st_pre = DB_STMT(
	"WITH b AS (INSERT INTO backups (store_id, kind, engine, version, revision) "
	"  SELECT s.id, 'pre-restore', s.engine, s.engine_version, s.blueprint_revision FROM stores s "
	"  WHERE s.id = $2 ON CONFLICT DO NOTHING RETURNING id) "
	"UPDATE restores SET status = 'backing-up', pre_backup_id = b.id FROM b "
	"WHERE restores.id = $1::bigint AND restores.status = 'requested' RETURNING b.id", 2);
static struct db_stmt st_restoring = DB_STMT(
	"UPDATE restores SET status = 'restoring', job = $2, started_at = now() "
	"WHERE id = $1::bigint AND status = 'backing-up'", 2);
static struct db_stmt st_restore_end = DB_STMT(
	"UPDATE restores SET status = $2, reason = $3, finished_at = now() "
	"WHERE id = $1::bigint AND status IN " RESTORE_LIVE " RETURNING id", 3);
static struct db_stmt st_restore_event = DB_STMT(
	"INSERT INTO store_events (store_id, step, level, message) VALUES ($1, 'restore', $2, $3)", 3);
/* a clone's (sql/025_clones.sql): no pre-restore backup, the Job's name recorded first */
static struct db_stmt st_clone_restoring = DB_STMT(
	"UPDATE restores SET status = 'restoring', job = $2, started_at = now() "
	"WHERE id = $1::bigint AND status = 'requested' AND source_store IS NOT NULL", 2);
/* the clone ended: its store's provisioning pass acts on it now (ready, or failed) */
static struct db_stmt st_clone_poke = DB_STMT(
	"UPDATE stores SET next_attempt_at = now() WHERE id = $1 AND status = 'provisioning'", 1);
/* the newest clone into the store, if any */
static struct db_stmt st_clone_of = DB_STMT(
	"SELECT id, status, reason, backup_name, source_store FROM restores "
	"WHERE store_id = $1 AND source_store IS NOT NULL ORDER BY id DESC LIMIT 1", 1);
/* clang-format on */

struct rs {
	const char *id, *status, *job, *pre, *pre_status, *pre_reason, *pre_name;
	long long age;
	int backup_ok; /* the backup restored is still complete */
	int undelete;  /* an undelete's: it waits while the store is made again */
	const char *source, *step, *cluster; /* a clone's source store (else ""); the store's */
	struct bk b;   /* the store, and the restore Job as apply_job renders it */
};

static void restore_event(struct arena *a, const char *store, const char *level, const char *msg)
{
	const char *p[3] = {store, level, msg};
	struct err e = ERR_INIT;

	if (!db_run(a, &st_restore_event, p, &e))
		log_warn("reconcile: store %s: restore event: %s", store, e.msg);
}

static void restore_audit(struct arena *a, const char *action, const struct rs *x,
			  const char *reason)
{
	struct view *d = view_obj(a);
	struct err e = ERR_INIT;

	view_set_str(d, "restore", x->id);
	view_set_str(d, "backup", x->b.restore);
	if (*x->source)
		view_set_str(d, "source_store", x->source);
	if (*x->pre_name)
		view_set_str(d, "pre_backup", x->pre_name);
	if (reason)
		view_set_str(d, "reason", reason);
	if (audit_record(a, 0, ACTOR, NULL, action, x->b.store, d, &e) < 0)
		log_error("reconcile: store %s: audit: %s", x->b.store, e.msg);
}

/* The restore ends: status complete or failed (why for people).  1 when this ended it. */
static int restore_end(struct reconcile *r, const struct rs *x, const char *status, const char *why)
{
	const char *p[3] = {x->id, status, why};
	struct err e = ERR_INIT;
	PGresult *res = db_run(r->a, &st_restore_end, p, &e);
	int ok = !strcmp(status, "complete");

	if (!res) {
		log_warn("reconcile: store %s: restore %s: %s", x->b.store, x->id, e.msg);
		return 0;
	}
	if (!db_rows(res))
		return 0;
	if (*x->source) {
		struct err pe = ERR_INIT;
		const char *q[1] = {x->b.store};

		restore_event(
		    r->a, x->b.store, ok ? "info" : "error",
		    ok ? arena_printf(r->a,
				      "Restore #%s complete: the store has the data of store %s's "
				      "backup %s (checked: sizes and SHA-256)",
				      x->id, x->source, x->b.restore)
		       : arena_printf(r->a, "Restore #%s of store %s's backup %s failed: %s", x->id,
				      x->source, x->b.restore, why));
		restore_event(r->a, x->source, ok ? "info" : "error",
			      ok ? arena_printf(r->a, "Backup %s cloned into store %s",
						x->b.restore, x->b.store)
				 : arena_printf(r->a,
						"The clone of backup %s into store %s failed: %s "
						"(this store was not changed)",
						x->b.restore, x->b.store, why));
		if (!db_run(r->a, &st_clone_poke, q, &pe))
			log_warn("reconcile: store %s: clone: %s", x->b.store, pe.msg);
	} else {
		restore_event(r->a, x->b.store, ok ? "info" : "error",
			      ok ? arena_printf(r->a,
						"Restore #%s complete: the store has the data of "
						"backup %s (the state before it is backup %s)",
						x->id, x->b.restore, x->pre_name)
				 : arena_printf(r->a, "Restore #%s from backup %s failed: %s",
						x->id, x->b.restore, why));
	}
	restore_audit(r->a, ok ? "restore.complete" : "restore.failed", x, ok ? NULL : why);
	log_info("reconcile: store %s: restore %s from %s %s%s%s", x->b.store, x->id, x->b.restore,
		 status, ok ? "" : ": ", ok ? "" : why);
	return 1;
}

/*
 * A clone from backup (sql/025_clones.sql): requested, it waits while the
 * new store is requested, failed or provisioning short of its readiness
 * checks (reconcile.c holds it there while the clone is live:
 * reconcile_clone_state); then the restore Job is named ('restoring') and
 * applied, with backup.from = the source store.  Restoring: as a restore
 * in place.  Its end pokes the store, whose provisioning pass goes ready
 * or fails it with the reason.
 */
static int clone_one(struct reconcile *r, struct rs *x)
{
	const char *st = x->b.store_status;
	const char *p[2] = {x->id, NULL};
	char why[1024];
	struct k8s_err ke;
	struct err e = ERR_INIT;

	if (strcmp(x->status, "requested"))
		return -1; /* restoring: restore_one follows it */
	if (!x->backup_ok)
		return restore_end(
		    r, x, "failed",
		    arena_printf(r->a,
				 "store %s's backup %s is no longer complete; nothing was "
				 "restored",
				 x->source, x->b.restore));
	if (!strcmp(st, "requested") || !strcmp(st, "failed") ||
	    (!strcmp(st, "provisioning") && strcmp(x->step, "readiness")))
		return 0; /* the new store is being made (a retry goes on) */
	if (strcmp(st, "provisioning") && strcmp(st, "ready") && strcmp(st, "degraded"))
		return restore_end(r, x, "failed",
				   arena_printf(r->a, "the store is %s; nothing was restored", st));
	x->b.job = arena_printf(r->a, "restore-backup-%s", x->b.restore_tag);
	p[1] = x->b.job;
	if (!db_run(r->a, &st_clone_restoring, p, &e)) {
		log_warn("reconcile: store %s: restore %s: %s", x->b.store, x->id, e.msg);
		return 0;
	}
	if (apply_job(r, &x->b, why, sizeof(why), &ke) < 0 && !k8s_transient_err(&ke))
		return restore_end(
		    r, x, "failed",
		    arena_printf(r->a, "the restore job could not start: %s; nothing was restored",
				 why));
	restore_event(
	    r->a, x->b.store, "info",
	    arena_printf(r->a,
			 "Restore #%s: restoring store %s's backup %s (job %s): its sizes "
			 "and SHA-256 are checked before anything is written",
			 x->id, x->source, x->b.restore, x->b.job));
	restore_audit(r->a, "restore.started", x, NULL);
	return 1;
}

int reconcile_clone_state(struct reconcile *r, const char *store, const char **why)
{
	const char *p[1] = {store};
	struct err e = ERR_INIT;
	PGresult *res = db_run(r->a, &st_clone_of, p, &e);
	const char *st;

	*why = NULL;
	if (!res) {
		*why = arena_printf(r->a, "cannot read the clone's restore: %s", e.msg);
		return 1;
	}
	if (!db_rows(res) || !strcmp((st = db_get(res, 0, 1)), "complete"))
		return 0;
	if (!strcmp(st, "failed")) {
		*why = arena_printf(r->a, "the clone of store %s's backup %s failed: %s",
				    db_get(res, 0, 4), db_get(res, 0, 3), db_get(res, 0, 2));
		return -1;
	}
	*why = arena_printf(r->a, "restoring store %s's backup %s (restore #%s: %s)",
			    db_get(res, 0, 4), db_get(res, 0, 3), db_get(res, 0, 0), st);
	return 1;
}

static int restore_one(struct reconcile *r, struct rs *x)
{
	const char *st = x->b.store_status;
	char why[1024];
	struct k8s_err ke;
	struct err e = ERR_INIT;

	if (!strcmp(st, "deleting") || !strcmp(st, "deleted"))
		return restore_end(r, x, "failed",
				   "the store was deleted before the restore ended");
	if (reconcile_use(r, x->cluster) < 0)
		return 0; /* its cluster is not served this pass, or in trouble: later */
	if (*x->source) {
		int n = clone_one(r, x);

		if (n >= 0)
			return n;
	}
	if (!strcmp(x->status, "requested")) {
		const char *p[2] = {x->id, x->b.store};
		PGresult *res;

		if (!x->backup_ok)
			return restore_end(
			    r, x, "failed",
			    arena_printf(r->a,
					 "backup %s is no longer complete; nothing was restored",
					 x->b.restore));
		if (x->undelete && (!strcmp(st, "requested") || !strcmp(st, "provisioning") ||
				    !strcmp(st, "failed")))
			return 0; /* undeleted: the store is made again first (a retry goes on) */
		if (strcmp(st, "ready") && strcmp(st, "degraded"))
			return restore_end(
			    r, x, "failed",
			    arena_printf(r->a, "the store is %s; nothing was restored", st));
		if (!(res = db_run(r->a, &st_pre, p, &e))) {
			log_warn("reconcile: store %s: restore %s: %s", x->b.store, x->id, e.msg);
			return 0;
		}
		if (!db_rows(res))
			return 0; /* another backup of the store is live: it waits */
		{
			struct bk pb = {.id = db_get(res, 0, 0),
					.store = x->b.store,
					.name = "",
					.kind = "pre-restore"};

			x->pre_name = arena_printf(r->a, "b%s", pb.id);
			audit(r->a, "backup.requested", &pb, NULL);
		}
		restore_event(
		    r->a, x->b.store, "info",
		    arena_printf(r->a,
				 "Restore #%s from backup %s: saving the current state first "
				 "(backup %s, pre-restore)",
				 x->id, x->b.restore, x->pre_name));
		restore_audit(r->a, "restore.backing_up", x, NULL);
		return 1;
	}
	if (!strcmp(x->status, "backing-up")) {
		const char *p[2] = {x->id, NULL};

		if (!strcmp(x->pre_status, "failed"))
			return restore_end(
			    r, x, "failed",
			    arena_printf(r->a,
					 "the backup of the current state (%s) failed: %s; "
					 "nothing was restored",
					 x->pre_name, x->pre_reason));
		if (strcmp(x->pre_status, "complete"))
			return 0; /* requested or running: reconcile_backups follows it */
		if (!x->backup_ok)
			return restore_end(
			    r, x, "failed",
			    arena_printf(r->a,
					 "backup %s is no longer complete; nothing was restored",
					 x->b.restore));
		x->b.job = arena_printf(r->a, "restore-backup-%s", x->b.restore_tag);
		p[1] = x->b.job;
		/* named first: a reconcile killed after this finds the Job by its name */
		if (!db_run(r->a, &st_restoring, p, &e)) {
			log_warn("reconcile: store %s: restore %s: %s", x->b.store, x->id, e.msg);
			return 0;
		}
		if (apply_job(r, &x->b, why, sizeof(why), &ke) < 0) {
			if (k8s_transient_err(&ke))
				return 0; /* the next pass finds no Job and applies it again */
			return restore_end(
			    r, x, "failed",
			    arena_printf(
				r->a, "the restore job could not start: %s; nothing was restored",
				why));
		}
		restore_event(
		    r->a, x->b.store, "info",
		    arena_printf(r->a,
				 "Restore #%s: the current state is saved as backup %s; "
				 "restoring backup %s (job %s): its sizes and SHA-256 are "
				 "checked before anything is changed",
				 x->id, x->pre_name, x->b.restore, x->b.job));
		restore_audit(r->a, "restore.started", x, NULL);
		return 1;
	}
	/* restoring */
	{
		json_t *job;
		const char *state;
		int deadline = 0;

		if (get_job(r, &x->b, &job, &ke) < 0)
			return 0;
		if (!job) {
			if (x->age > config.backup_timeout + 60)
				return restore_end(
				    r, x, "failed",
				    arena_printf(
					r->a,
					"job %s is gone and the restore did not finish within %d s",
					x->b.job, config.backup_timeout));
			if (apply_job(r, &x->b, why, sizeof(why), &ke) < 0 &&
			    !k8s_transient_err(&ke))
				return restore_end(
				    r, x, "failed",
				    arena_printf(r->a, "the restore job could not start: %s", why));
			return 0;
		}
		state = job_state(r, &x->b, job, why, sizeof(why), &deadline);
		if (!strcmp(state, "running")) {
			if (x->age > config.backup_timeout + 60)
				return restore_end(r, x, "failed",
						   arena_printf(r->a,
								"job %s did not finish within %d s",
								x->b.job, config.backup_timeout));
			return 0;
		}
		if (!restore_end(r, x, !strcmp(state, "complete") ? "complete" : "failed",
				 !strcmp(state, "complete") ? "" : why))
			return 0;
		delete_job(r, &x->b);
		return 1;
	}
}

static int restores(struct reconcile *r)
{
	struct err e = ERR_INIT;
	PGresult *res = db_run(r->a, &st_restores, NULL, &e);
	int n = 0;

	if (!res) {
		log_warn("reconcile: restores: %s", e.msg);
		return 0;
	}
	for (int i = 0; i < db_rows(res); i++) {
		struct rs x = {.id = db_get(res, i, 0),
			       .status = db_get(res, i, 2),
			       .age = db_get_ll(res, i, 6),
			       .pre_status = db_get(res, i, 14),
			       .pre_reason = db_get(res, i, 15),
			       .pre_name = db_get(res, i, 16),
			       .backup_ok = !strcmp(db_get(res, i, 17), "t"),
			       .undelete = !strcmp(db_get(res, i, 18), "t"),
			       .source = db_get(res, i, 19),
			       .step = db_get(res, i, 20),
			       .cluster = db_get(res, i, 21)};

		x.b.id = x.id;
		x.b.store = db_get(res, i, 1);
		x.b.name = db_get(res, i, 3);
		x.b.kind = "restore";
		x.b.job = db_get(res, i, 4);
		x.b.store_status = db_get(res, i, 7);
		x.b.revision = db_get(res, i, 10);
		x.b.restore = db_get(res, i, 3);
		x.b.restore_tag = arena_printf(r->a, "r%s", x.id);
		x.b.from = *x.source ? x.source : NULL;
		x.b.s.id = x.b.store;
		x.b.s.engine = db_get(res, i, 8);
		x.b.s.version = db_get(res, i, 9);
		x.b.s.name = db_get(res, i, 11);
		x.b.s.email = db_get(res, i, 12);
		x.b.s.plan = x.b.s.plan_applied = db_get(res, i, 13);
		n += restore_one(r, &x);
	}
	return n;
}

/* ---- the phase -------------------------------------------------------------------- */

int reconcile_backups(struct reconcile *r, int *changed, struct err *e)
{
	PGresult *res;
	struct s3 *s3 = NULL;
	int locked;

	*changed = 0;
	if (!reconcile_backup_enabled())
		return 0;
	if (!(res = db_run(r->a, &st_lock, NULL, e)))
		return -1;
	locked = !strcmp(db_get(res, 0, 0), "t");
	if (!locked)
		return 0; /* another reconcile has the phase */
	/* restores first: a pre-restore backup they ask for starts in this pass */
	*changed += restores(r);
	*changed += finals(r);
	if (config.backup_interval > 0) {
		char ivl[16], conc[16];
		const char *p[2] = {ivl, conc};

		snprintf(ivl, sizeof(ivl), "%d", config.backup_interval);
		snprintf(conc, sizeof(conc), "%d", config.backup_concurrency);
		if (!(res = db_run(r->a, &st_schedule, p, e)))
			goto out;
		for (int i = 0; i < db_rows(res); i++) {
			struct bk b = {.id = db_get(res, i, 0),
				       .store = db_get(res, i, 1),
				       .name = "",
				       .kind = "scheduled"};

			audit(r->a, "backup.requested", &b, NULL);
		}
	}
	if (!(res = db_run(r->a, &st_live, NULL, e)))
		goto out;
	for (int i = 0; i < db_rows(res); i++) {
		struct bk b = {.id = db_get(res, i, 0),
			       .store = db_get(res, i, 1),
			       .status = db_get(res, i, 2),
			       .job = db_get(res, i, 3),
			       .name = db_get(res, i, 4),
			       .kind = db_get(res, i, 5),
			       .age = db_get_ll(res, i, 6),
			       .store_status = db_get(res, i, 7),
			       .revision = db_get(res, i, 10),
			       .actor = db_get_ll(res, i, 14),
			       .for_upgrade = !strcmp(db_get(res, i, 16), "t")};

		b.s.id = b.store;
		b.s.engine = db_get(res, i, 8);
		b.s.version = db_get(res, i, 9);
		b.s.name = db_get(res, i, 11);
		b.s.email = db_get(res, i, 12);
		b.s.plan = b.s.plan_applied = db_get(res, i, 13);
		if (!strcmp(b.kind, "final") && !strcmp(b.store_status, "deleting") &&
		    reconcile_use(r, db_get(res, i, 15)) < 0)
			continue; /* a final backup: its store's namespace waits for it */
		else if (!strcmp(b.kind, "final") && !strcmp(b.store_status, "deleting"))
			*changed +=
			    !strcmp(b.status, "requested") ? start(r, &b) : follow(r, &b, &s3);
		else if (!strcmp(b.store_status, "deleting") || !strcmp(b.store_status, "deleted"))
			*changed += failed(r, &b, "deleted",
					   "the store was deleted before the backup completed");
		else if (reconcile_use(r, db_get(res, i, 15)) < 0)
			continue; /* its cluster is not served this pass, or in trouble: later */
		else if (!strcmp(b.status, "requested"))
			*changed += start(r, &b);
		else
			*changed += follow(r, &b, &s3);
	}
	/* a final backup waiting for a live one failed just now starts next pass */
	*changed += finals(r);
	/* again: a pre-restore backup that completed just now lets its restore start */
	*changed += restores(r);
	*changed += leftovers(r, &s3);
	*changed += prune(r, &s3);
	*changed += prune_expired(r, &s3);
out:
	s3_free(s3);
	{
		struct err ue = ERR_INIT;

		if (!db_run(r->a, &st_unlock, NULL, &ue))
			log_warn("reconcile: backups: unlock: %s", ue.msg);
	}
	return e->status ? -1 : 0;
}

/* ---- an upgrade's backup and a rollback's restore (reconcile_upgrade.c) ------------------- */

int reconcile_backup_for_upgrade(struct arena *a, const char *store, const char **name,
				 struct err *e)
{
	const char *p[1] = {store};
	PGresult *res = db_run(a, &st_for_upgrade, p, e);

	*name = NULL;
	if (!res)
		return -1;
	if (!db_rows(res))
		return 0;
	*name = arena_printf(a, "b%s", db_get(res, 0, 0));
	if (!strcmp(db_get(res, 0, 2), "t")) {
		struct bk b = {
		    .id = db_get(res, 0, 0), .store = store, .name = "", .kind = "pre-upgrade"};

		audit(a, "backup.requested", &b, NULL);
	}
	return 1;
}

int reconcile_backup_status(struct arena *a, const char *store, const char *name,
			    const char **status, const char **reason, struct err *e)
{
	const char *p[2] = {store, name};
	PGresult *res = db_run(a, &st_status, p, e);

	*status = *reason = "";
	if (!res)
		return -1;
	if (db_rows(res)) {
		*status = db_get(res, 0, 0);
		*reason = db_get(res, 0, 1);
	}
	return 0;
}

/* The restore Job restore-backup-<tag> of backup, as the restores above render it. */
static void restore_bk(struct reconcile *r, struct bk *b, const struct store *s,
		       const char *version, const char *backup, const char *tag)
{
	memset(b, 0, sizeof(*b));
	b->id = backup;
	b->store = s->id;
	b->name = backup;
	b->kind = "restore";
	b->job = arena_printf(r->a, "restore-backup-%s", tag);
	b->revision = "";
	b->restore = backup;
	b->restore_tag = tag;
	b->s = *s;
	b->s.version = version ? version : s->version;
}

int reconcile_backup_restore_apply(struct reconcile *r, const struct store *s, const char *version,
				   const char *backup, const char *tag, char *why, size_t n,
				   struct k8s_err *ke)
{
	struct bk b;
	const char *status, *reason;
	struct err e = ERR_INIT;

	memset(ke, 0, sizeof(*ke));
	if (reconcile_backup_status(r->a, s->id, backup, &status, &reason, &e) < 0) {
		ke->klass = K8S_RETRY; /* the database: the next claim asks again */
		ke->err = e;
		snprintf(why, n, "%.400s", e.msg);
		return -1;
	}
	if (strcmp(status, "complete")) {
		ke->klass = K8S_HARD;
		snprintf(why, n, "backup %s is %s, not complete", backup,
			 *status ? status : "no longer kept");
		return -1;
	}
	if (!reconcile_backup_enabled()) {
		ke->klass = K8S_HARD;
		snprintf(why, n,
			 "backup %s is in object storage, and no backup target is configured",
			 backup);
		return -1;
	}
	restore_bk(r, &b, s, version, backup, tag);
	return apply_job(r, &b, why, n, ke);
}

const char *reconcile_backup_restore_state(struct reconcile *r, const struct store *s,
					   const char *tag, char *why, size_t n, struct k8s_err *ke)
{
	struct bk b;
	json_t *job;
	int deadline = 0;

	restore_bk(r, &b, s, NULL, "", tag);
	if (get_job(r, &b, &job, ke) < 0)
		return NULL;
	if (!job)
		return "gone";
	return job_state(r, &b, job, why, n, &deadline);
}
