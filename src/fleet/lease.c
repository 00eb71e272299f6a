/* lease.c - claim, fenced save and release of store rows (timing from the database clock). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "db.h"
#include "lease.h"
#include "mail.h"

/* Serialises the "fewer than N provisioning" check across reconcilers. */
#define LEASE_START_LOCK 0x73666c7374617274LL /* "sflstart" */

static struct db_stmt st_start_lock = DB_STMT("SELECT pg_advisory_xact_lock($1::bigint)", 1);

/*
 * provisioning_concurrency is the stores provisioning at once on the
 * clusters reconcile can reach: a store of a cluster the last pass found
 * unreachable neither holds a slot (its provisioning waits for the
 * cluster, not for a slot) nor is started (it stays requested, its reason
 * the cluster's trouble), so the other clusters keep provisioning at the
 * full concurrency.  When the cluster answers again its stores count again,
 * so for a while more than the limit may be in flight.
 */
#define CLUSTER_DOWN(t)                                                                        \
	"EXISTS (SELECT 1 FROM clusters c WHERE c.name = " t ".cluster AND c.reachable = false)"
static struct db_stmt st_start =
    DB_STMT("WITH room AS ("
	    "  SELECT greatest(0, $1::int - count(*))::int AS n FROM stores"
	    "  WHERE status = 'provisioning' AND NOT " CLUSTER_DOWN("stores")
	    "), picked AS ("
	    "  SELECT id FROM stores"
	    "  WHERE status = 'requested' AND desired = 'present' AND next_attempt_at <= now()"
	    "    AND NOT " LEASE_HELD("stores")
	    "    AND NOT " CLUSTER_DOWN("stores")
	    "  ORDER BY next_attempt_at, created_at, id"
	    "  LIMIT (SELECT n FROM room)"
	    "  FOR UPDATE SKIP LOCKED"
	    "), waiting AS ("
	    "  UPDATE stores s SET status_reason = c.trouble, updated_at = now() FROM clusters c"
	    "  WHERE s.status = 'requested' AND s.desired = 'present' AND c.name = s.cluster"
	    "    AND c.reachable = false AND c.trouble <> '' AND s.status_reason <> c.trouble"
	    "    AND NOT " LEASE_HELD("s")
	    "), started AS ("
	    "  UPDATE stores s SET status = 'provisioning', step = '',"
	    "    status_reason = 'provisioning started', attempts = 0, trouble_since = NULL,"
	    "    provisioning_started_at = now(), next_attempt_at = now(), updated_at = now()"
	    "  FROM picked WHERE s.id = picked.id"
	    "  RETURNING s.id"
	    "), ev AS ("
	    "  INSERT INTO store_events (store_id, step, level, message)"
	    "  SELECT id, 'provisioning', 'info', 'provisioning started' FROM started"
	    ") SELECT count(*) FROM started",
	    1);

#define LEASE_COLS                                                                                 \
	"s.id, s.lease_token, s.status, s.status_reason, s.step, s.blueprint_revision, "           \
	"s.attempts,"                                                                              \
	" s.admin_secret IS NOT NULL,"                                                             \
	" coalesce(extract(epoch FROM s.provisioning_started_at), 0)::bigint,"                     \
	" extract(epoch FROM coalesce(s.delete_requested_at, s.updated_at))::bigint,"              \
	" extract(epoch FROM now())::bigint,"                                                       \
	" coalesce(extract(epoch FROM s.trouble_since), 0)::bigint"

static struct db_stmt st_claim = DB_STMT(
    "UPDATE stores s SET lease_owner = $2, lease_token = gen_random_uuid(),"
    "  lease_expires_at = now() + make_interval(secs => $3::int), lease_holder = $4::int"
    " FROM (SELECT id FROM stores"
    "   WHERE id = ANY($1::text[]) AND status IN ('provisioning', 'ready', 'degraded', 'upgrading',"
    "       'suspending', 'suspended', 'resuming', 'deleting')"
    "     AND next_attempt_at <= now() AND NOT " LEASE_HELD("stores")
    "   ORDER BY id FOR UPDATE SKIP LOCKED) p"
    " WHERE s.id = p.id"
    " RETURNING " LEASE_COLS,
    4);

/* This process's holder number (0: none yet) and its lock, taken in this session. */
static int holder;

static struct db_stmt st_holder_held = DB_STMT(
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 21318"
    " AND objsubid = 2 AND objid = $1::bigint::oid AND pid = pg_backend_pid() AND granted",
    1);
static struct db_stmt st_holder_take =
    DB_STMT("SELECT pg_try_advisory_lock(21318, $1::int)", 1);

_Static_assert(LEASE_HOLDER_NS == 21318, "the SQL above spells the namespace out");

int lease_holder_id(void)
{
	return holder;
}

int lease_holder_ensure(struct arena *a, struct err *e)
{
	char key[16];
	const char *p[] = {key};
	PGresult *res;

	if (holder) {
		snprintf(key, sizeof(key), "%d", holder);
		if (!(res = db_run(a, &st_holder_held, p, e)))
			return -1;
		if (db_get_ll(res, 0, 0) > 0)
			return 0;
	}
	/* a fresh number: another live process may hold one (then try again) */
	for (int attempt = 0; attempt < 8; attempt++) {
		holder = 1 + (int)randombytes_uniform(0x7ffffffe);
		snprintf(key, sizeof(key), "%d", holder);
		if (!(res = db_run(a, &st_holder_take, p, e)))
			return holder = 0, -1;
		if (db_get_bool(res, 0, 0))
			return 0;
	}
	holder = 0;
	return err_set(e, 503, "lease: no free holder number after 8 tries");
}

static struct db_stmt st_renew =
    DB_STMT("UPDATE stores SET lease_expires_at = now() + make_interval(secs => $3::int)"
	    " WHERE id = $1 AND lease_token = $2::uuid AND lease_expires_at > now()",
	    3);

static struct db_stmt st_save = DB_STMT(
    "WITH u AS ("
    "  UPDATE stores SET status = $4, status_reason = coalesce($5, status_reason),"
    "    step = coalesce($6, step), blueprint_revision = coalesce($7, blueprint_revision),"
    "    admin_user = coalesce($8, admin_user), admin_secret = coalesce($9::bytea, admin_secret),"
    "    attempts = $10::int,"
    "    next_attempt_at = now() + make_interval(secs => $11::double precision),"
    "    ready_at = CASE WHEN $4 = 'ready' AND status = 'provisioning' THEN now() ELSE ready_at "
    "END,"
    "    deleted_at = CASE WHEN $4 = 'deleted' THEN now() ELSE deleted_at END,"
    "    updated_at = CASE WHEN $4 <> status OR $5 IS DISTINCT FROM status_reason"
    "      THEN now() ELSE updated_at END,"
    "    lease_owner = CASE WHEN $12 THEN NULL ELSE lease_owner END,"
    "    lease_token = CASE WHEN $12 THEN NULL ELSE lease_token END,"
    "    lease_expires_at = CASE WHEN $12 THEN NULL"
    "      ELSE now() + make_interval(secs => $13::int) END,"
    "    trouble_since = CASE WHEN $17::int > 0 THEN coalesce(trouble_since, now())"
    "      WHEN $17::int < 0 THEN NULL ELSE trouble_since END,"
    "    plan_applied = coalesce($18, plan_applied), plan = coalesce($19, plan)"
    "  WHERE id = $1 AND lease_token = $2::uuid AND lease_expires_at > now() AND status = $3"
    "  RETURNING id"
    "), ev AS ("
    "  INSERT INTO store_events (store_id, step, level, message)"
    "  SELECT u.id, e.step, e.level, e.message FROM u,"
    "    unnest($14::text[], $15::text[], $16::text[]) WITH ORDINALITY AS e(step, level, message, "
    "ord)"
    "  ORDER BY e.ord"
    ") SELECT count(*) FROM u",
    19);

static struct db_stmt st_release =
    DB_STMT("UPDATE stores SET lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL"
	    " WHERE id = $1 AND lease_token = $2::uuid",
	    2);

/* A PostgreSQL array literal of texts: {"a","b \"c\""}. */
static void text_array(struct buf *b, const char *const *v, int n)
{
	buf_addch(b, '{');
	for (int i = 0; i < n; i++) {
		if (i)
			buf_addch(b, ',');
		buf_addch(b, '"');
		for (const char *p = v[i]; *p; p++) {
			if (*p == '"' || *p == '\\')
				buf_addch(b, '\\');
			buf_addch(b, *p);
		}
		buf_addch(b, '"');
	}
	buf_addch(b, '}');
}

static char *arena_text_array(struct arena *a, const char *const *v, int n)
{
	struct buf b = BUF_INIT;
	char *s;

	text_array(&b, v, n);
	if (b.failed)
		die_oom();
	s = arena_strdup(a, b.s);
	buf_release(&b);
	return s;
}

int lease_start_requested(struct arena *a, int concurrency, int *n, struct err *e)
{
	char conc[16], key[32];
	const char *p1[] = {key}, *p2[] = {conc};
	PGresult *res;

	*n = 0;
	snprintf(conc, sizeof(conc), "%d", concurrency);
	snprintf(key, sizeof(key), "%lld", LEASE_START_LOCK);
	if (db_begin(e) < 0)
		return -1;
	if (!db_run(a, &st_start_lock, p1, e) || !(res = db_run(a, &st_start, p2, e))) {
		db_rollback();
		return -1;
	}
	if (db_commit(e) < 0)
		return -1;
	*n = (int)db_get_ll(res, 0, 0);
	return 0;
}

_Static_assert(LEASE_KEEP_STATUS == 0, "a zeroed lease_save keeps the status");

static void lease_from_row(struct arena *a, struct lease *l, const PGresult *res, int r)
{
	int status = store_status_parse(db_get(res, r, 2));

	l->id = arena_strdup(a, db_get(res, r, 0));
	l->token = arena_strdup(a, db_get(res, r, 1));
	l->status = status < 0 ? STORE_STATUS_N : (enum store_status)status;
	l->reason = arena_strdup(a, db_get(res, r, 3));
	l->step = arena_strdup(a, db_get(res, r, 4));
	l->revision = arena_strdup(a, db_get(res, r, 5));
	l->attempts = (int)db_get_ll(res, r, 6);
	l->has_secret = db_get_bool(res, r, 7);
	l->started_at = db_get_ll(res, r, 8);
	l->delete_at = db_get_ll(res, r, 9);
	l->now = db_get_ll(res, r, 10);
	l->trouble_since = db_get_ll(res, r, 11);
}

int lease_claim(struct arena *a, const char *const *ids, int n, const char *owner,
		int lease_seconds, struct lease **out, int *nout, struct err *e)
{
	char secs[16], hold[16];
	const char *p[4];
	PGresult *res;
	int rows;

	*out = NULL;
	*nout = 0;
	if (n <= 0)
		return 0;
	snprintf(secs, sizeof(secs), "%d", lease_seconds);
	if (!holder)
		BUG("lease_claim before lease_holder_ensure");
	snprintf(hold, sizeof(hold), "%d", holder);
	p[0] = arena_text_array(a, ids, n);
	p[1] = owner;
	p[2] = secs;
	p[3] = hold;
	res = db_run(a, &st_claim, p, e);
	if (!res)
		return -1;
	rows = db_rows(res);
	*out = arena_zalloc(a, sizeof(**out) * (size_t)(rows ? rows : 1));
	for (int i = 0; i < rows; i++)
		lease_from_row(a, &(*out)[i], res, i);
	*nout = rows;
	return 0;
}

int lease_renew(struct arena *a, const struct lease *l, int lease_seconds, struct err *e)
{
	char secs[16];
	const char *p[] = {l->id, l->token, secs};
	PGresult *res;

	if (!l->token)
		return 0;
	snprintf(secs, sizeof(secs), "%d", lease_seconds);
	res = db_run(a, &st_renew, p, e);
	if (!res)
		return -1;
	return atoi(PQcmdTuples(res)) == 1;
}

void lease_event(struct lease_save *w, const char *step, const char *level, const char *msg)
{
	if (w->nev >= (int)(sizeof(w->ev_step) / sizeof(w->ev_step[0])))
		BUG("lease_event: more than %d events in one save", w->nev);
	w->ev_step[w->nev] = step;
	w->ev_level[w->nev] = level;
	w->ev_msg[w->nev] = msg;
	w->nev++;
}

int lease_save(struct arena *a, struct lease *l, const struct lease_save *w, int lease_seconds,
	       struct err *e)
{
	char attempts[16], delay[32], secs[16], trouble[8];
	const char *p[19], *notify = NULL;
	enum store_status status = w->status != LEASE_KEEP_STATUS ? w->status : l->status;
	PGresult *res;
	int own_tx = 0;

	if (!l->token)
		return 0;
	snprintf(attempts, sizeof(attempts), "%d", w->attempts);
	snprintf(delay, sizeof(delay), "%.3f", w->delay > 0 ? w->delay : 0.0);
	snprintf(secs, sizeof(secs), "%d", lease_seconds);
	snprintf(trouble, sizeof(trouble), "%d", (int)w->trouble);
	p[0] = l->id;
	p[1] = l->token;
	p[2] = store_status_name(l->status);
	p[3] = store_status_name(status);
	p[4] = w->reason;
	p[5] = w->step;
	p[6] = w->revision;
	p[7] = w->admin_user;
	p[8] = w->admin_secret;
	p[9] = attempts;
	p[10] = delay;
	p[11] = w->release ? "true" : "false";
	p[12] = secs;
	p[13] = arena_text_array(a, w->ev_step, w->nev);
	p[14] = arena_text_array(a, w->ev_level, w->nev);
	p[15] = arena_text_array(a, w->ev_msg, w->nev);
	p[16] = trouble;
	p[17] = w->plan_applied;
	p[18] = w->plan;
	/*
	 * A first ready and a fall to failed tell the owner (src/domain/mail.c):
	 * the mail is queued in the transaction of the save, so it exists
	 * exactly when the new status does.
	 */
	if (status == STORE_READY &&
	    (l->status == STORE_PROVISIONING || l->status == STORE_REQUESTED))
		notify = "store_ready";
	else if (status == STORE_FAILED && l->status != STORE_FAILED)
		notify = "store_failed";
	if (notify && !db_in_tx()) {
		if (db_begin(e) < 0)
			return -1;
		own_tx = 1;
	}
	res = db_run(a, &st_save, p, e);
	if (!res)
		goto fail;
	if (db_get_ll(res, 0, 0) != 1) {
		if (own_tx)
			db_rollback();
		return 0; /* the caller releases: a status change leaves the token ours */
	}
	if (notify && mail_notify_owner(a, l->id, notify, w->reason, e) < 0)
		goto fail;
	if (own_tx && db_commit(e) < 0)
		goto fail;
	l->status = status;
	if (w->reason)
		l->reason = arena_strdup(a, w->reason);
	if (w->step)
		l->step = arena_strdup(a, w->step);
	if (w->revision)
		l->revision = arena_strdup(a, w->revision);
	if (w->admin_secret)
		l->has_secret = 1;
	l->attempts = w->attempts;
	if (w->trouble == LEASE_TROUBLE_OFF)
		l->trouble_since = 0;
	else if (w->trouble == LEASE_TROUBLE_ON && !l->trouble_since)
		l->trouble_since = l->now; /* near enough: the database wrote now() */
	if (w->release)
		l->token = NULL;
	return 1;
fail:
	if (own_tx)
		db_rollback();
	return -1;
}

int lease_release(struct arena *a, struct lease *l, struct err *e)
{
	const char *p[] = {l->id, l->token};

	if (!l->token)
		return 0;
	if (!db_run(a, &st_release, p, e))
		return -1;
	l->token = NULL;
	return 0;
}
