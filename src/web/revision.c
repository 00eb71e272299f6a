/* revision.c - upgrade and rollback requests and a store's revision history (see revision.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "blueprint.h"
#include "chart.h"
#include "db.h"
#include "revision.h"
#include "store_backup.h"
#include "store.h"

/*
 * The rules are written once, as functions of the store row and its
 * revisions loaded together (at most REVISION_KEEP + 2 rows: the trigger
 * prunes, sparing the running and the pending one).  A request evaluates
 * them under the store row's lock; the history evaluates the same
 * functions without the lock to tell the page which rollbacks would be
 * accepted and why the others would not, so the page and the answer to the
 * request cannot disagree.
 */

#define AT(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

const char *revision_phase_label(const char *result)
{
	static const char *const labels[][2] = {
	    {"pending", "Waiting for the reconciler to start"},
	    {"snapshotting", "Backing up the database before the upgrade"},
	    {"applying", "Applying the new manifests"},
	    {"verifying", "Waiting for the store to become ready"},
	    {"ready", "Done"},
	    {"failed", "Failed"},
	    {"rolled_back", "Rolled back"},
	};

	for (size_t i = 0; result && i < sizeof(labels) / sizeof(labels[0]); i++)
		if (!strcmp(result, labels[i][0]))
			return labels[i][1];
	return result ? result : "";
}

/* --- the store row and its revisions ------------------------------------ */

/* clang-format off */
#define STATE_SQL                                                                          \
	"SELECT s.status, s.engine, s.engine_version, s.current_revision, "                \
	"coalesce(s.pending_revision, 0), s.owner_id, u.email "                            \
	"FROM stores s JOIN users u ON u.id = s.owner_id "                                 \
	"WHERE s.id = $1 AND (s.owner_id = $2::bigint OR $3::boolean)"
static struct db_stmt st_state = DB_STMT(STATE_SQL, 3);
static struct db_stmt st_state_lock = DB_STMT(STATE_SQL " FOR UPDATE OF s", 3);

static struct db_stmt st_revs = DB_STMT(
	"SELECT revision, kind, engine_version, blueprint_revision, actor, source_revision, "
	"snapshot, snapshot_status, result, reason, " AT("created_at") ", " AT("finished_at")
	", restore_snapshot, restore_status"
	" FROM store_revisions WHERE store_id = $1 ORDER BY revision DESC LIMIT 100", 1);
/* clang-format on */

struct rev {
	int n, source; /* source 0 = none */
	const char *kind, *version, *bprev, *actor, *snapshot, *snap_status, *result, *reason,
	    *created, *finished, *restore, *restore_status;
};

struct state {
	const char *id, *status, *engine, *engine_version, *owner_email;
	int current, pending;
	long long owner_id;
	struct rev *revs; /* newest first */
	int nrevs;
};

static int load_state(struct arena *a, const struct store_who *who, const char *id, int lock,
		      struct state *s, struct err *e)
{
	const char *p[3] = {id};
	char uid[24];
	PGresult *res;

	memset(s, 0, sizeof(*s));
	if (!store_id_valid(id))
		return err_set(e, 404, STORE_NOT_FOUND);
	snprintf(uid, sizeof(uid), "%lld", who->id);
	p[1] = uid;
	p[2] = who->is_admin ? "true" : "false";
	if (!(res = db_run(a, lock ? &st_state_lock : &st_state, p, e)))
		return -1;
	if (db_rows(res) != 1)
		return err_set(e, 404, STORE_NOT_FOUND);
	s->id = id;
	s->status = db_get(res, 0, 0);
	s->engine = db_get(res, 0, 1);
	s->engine_version = db_get(res, 0, 2);
	s->current = (int)db_get_ll(res, 0, 3);
	s->pending = (int)db_get_ll(res, 0, 4);
	s->owner_id = db_get_ll(res, 0, 5);
	s->owner_email = db_get(res, 0, 6);

	if (!(res = db_run(a, &st_revs, p, e)))
		return -1;
	s->nrevs = db_rows(res);
	s->revs = arena_alloc(a, sizeof(*s->revs) * (size_t)(s->nrevs ? s->nrevs : 1));
	for (int i = 0; i < s->nrevs; i++) {
		struct rev *r = &s->revs[i];

		r->n = (int)db_get_ll(res, i, 0);
		r->kind = db_get(res, i, 1);
		r->version = db_get(res, i, 2);
		r->bprev = db_get(res, i, 3);
		r->actor = db_get(res, i, 4);
		r->source = (int)db_get_ll(res, i, 5);
		r->snapshot = db_get(res, i, 6);
		r->snap_status = db_get(res, i, 7);
		r->result = db_get(res, i, 8);
		r->reason = db_get(res, i, 9);
		r->created = db_get(res, i, 10);
		r->finished = db_get(res, i, 11);
		r->restore = db_get(res, i, 12);
		r->restore_status = db_get(res, i, 13);
	}
	return 0;
}

static const struct rev *find_rev(const struct state *s, long long n)
{
	for (int i = 0; i < s->nrevs; i++)
		if (s->revs[i].n == n)
			return &s->revs[i];
	return NULL;
}

/* What the store runs: the running revision's version, else its pinned one, else the chart's. */
static const char *running_version(const struct state *s)
{
	const struct rev *cur = s->current ? find_rev(s, s->current) : NULL;

	if (cur)
		return cur->version;
	if (s->engine_version && *s->engine_version)
		return s->engine_version;
	return chart_default_version(s->engine);
}

/*
 * Why the store cannot take an upgrade or rollback request now (what: "upgraded"
 * or "rolled back"), or NULL when it can.  Always a 409.
 */
static const char *state_refusal(struct arena *a, const struct state *s, const char *what)
{
	switch (store_status_parse(s->status)) {
	case STORE_READY:
	case STORE_DEGRADED:
		return NULL;
	case STORE_UPGRADING: {
		const struct rev *p = find_rev(s, s->pending);

		if (p && !strcmp(p->kind, "rollback"))
			return arena_printf(a, "A rollback to revision %d is already in progress.",
					    p->source);
		if (p)
			return arena_printf(a, "An upgrade to %s is already in progress.",
					    p->version);
		return "An upgrade is already in progress.";
	}
	case STORE_REQUESTED:
	case STORE_PROVISIONING:
		return arena_printf(a, "The store is provisioning; it can be %s once it is ready.",
				    what);
	case STORE_SUSPENDING:
	case STORE_SUSPENDED:
		return arena_printf(a, "The store is suspended; resume it before it can be %s.",
				    what);
	case STORE_RESUMING:
		return arena_printf(a, "The store is resuming; it can be %s once it is ready.",
				    what);
	case STORE_FAILED:
		return arena_printf(a, "The store has failed; retry it before it can be %s.", what);
	case STORE_DELETING:
		return "The store is being deleted.";
	case STORE_DELETED:
		return "The store is deleted.";
	default:
		return arena_printf(a, "The store is %s.", s->status);
	}
}

/*
 * Why revision k cannot be rolled back to (from the revisions alone), with
 * the status to answer (422: k is not a revision to go back to; 409: its
 * data cannot be restored), or NULL with *snapshot the snapshot to restore.
 */
static const char *rollback_refusal(struct arena *a, const struct state *s, long long k,
				    int *status, const char **snapshot)
{
	const struct rev *r = find_rev(s, k), *next;

	*status = 422;
	*snapshot = NULL;
	if (!r) {
		int oldest = s->nrevs ? s->revs[s->nrevs - 1].n : 0;

		if (k >= 1 && oldest && k < oldest)
			return arena_printf(a,
					    "Revision %lld is no longer kept (the history holds "
					    "the last %d).",
					    k, REVISION_KEEP);
		return arena_printf(a, "This store has no revision %lld.", k);
	}
	if (k == s->current)
		return arena_printf(a, "Revision %lld is the one running now.", k);
	if (!strcmp(r->result, "failed") || !strcmp(r->result, "rolled_back"))
		return arena_printf(a, "Revision %lld never went live (it %s).", k,
				    !strcmp(r->result, "failed") ? "failed" : "was rolled back");
	if (strcmp(r->result, "ready"))
		return arena_printf(a, "Revision %lld is still in progress.", k);
	if (k > s->current)
		return arena_printf(a, "Revision %lld is newer than the running revision %d.", k,
				    s->current);
	*status = 409;
	next = find_rev(s, k + 1);
	if (!next)
		return arena_printf(a,
				    "No snapshot of revision %lld's data: revision %lld, taken "
				    "before, is no longer kept.",
				    k, k + 1);
	if (!strcmp(next->snap_status, "failed"))
		return arena_printf(a,
				    "No snapshot of revision %lld's data: the snapshot before "
				    "revision %lld failed.",
				    k, k + 1);
	if (!strcmp(next->snap_status, "pending"))
		return arena_printf(a,
				    "No snapshot of revision %lld's data: the snapshot before "
				    "revision %lld did not complete.",
				    k, k + 1);
	if (strcmp(next->snap_status, "complete") || !*next->snapshot)
		return arena_printf(a,
				    "No snapshot of revision %lld's data: revision %lld was "
				    "applied without one.",
				    k, k + 1);
	*snapshot = next->snapshot;
	return NULL;
}

/* --- requests ----------------------------------------------------------- */

/* The engine's name in a sentence. */
static const char *engine_label(const char *engine)
{
	return strcmp(engine, "medusa") ? "WooCommerce" : "Medusa";
}

/* clang-format off */
static struct db_stmt st_insert_upgrade = DB_STMT(
	"INSERT INTO store_revisions (store_id, revision, kind, engine_version, \"values\", "
	"actor_id, actor) VALUES ($1, $2::int, 'upgrade', $3, "
	"jsonb_set(coalesce((SELECT c.\"values\" FROM store_revisions c "
	"  WHERE c.store_id = $1 AND c.revision = $4::int), '{}'::jsonb) - 'secrets', "
	"  '{version}', to_jsonb($3::text)), $5::bigint, $6)",
	6);

static struct db_stmt st_insert_rollback = DB_STMT(
	"INSERT INTO store_revisions (store_id, revision, kind, engine_version, \"values\", "
	"actor_id, actor, source_revision, restore_snapshot) "
	"SELECT $1, $2::int, 'rollback', k.engine_version, k.\"values\" - 'secrets', $3::bigint, "
	"$4, k.revision, $5 FROM store_revisions k WHERE k.store_id = $1 AND k.revision = $6::int",
	6);

static struct db_stmt st_mark = DB_STMT(
	"UPDATE stores SET status = 'upgrading', pending_revision = $2::int, status_reason = '', "
	"attempts = 0, next_attempt_at = now(), updated_at = now() WHERE id = $1",
	2);

/* The stores_notify trigger only fires for requested/deleting: wake reconcile here. */
static struct db_stmt st_notify = DB_STMT("SELECT pg_notify('storefleet_stores', $1)", 1);

static struct db_stmt st_event = DB_STMT(
	"INSERT INTO store_events (store_id, step, level, message) VALUES ($1, $2, 'info', $3)", 3);
/* clang-format on */

struct req_ctx {
	struct arena *a;
	const struct store_who *who;
	const char *id;
	int rollback;
	struct revision_req *q;
};

/* The new revision is pending: the store points at it, reconcile is woken, it is on record. */
static int request_finish(struct req_ctx *x, const struct state *s, const char *step,
			  const char *message, const char *action, struct view *d, struct err *e)
{
	char n[16];
	const char *p[3] = {x->id, n};

	snprintf(n, sizeof(n), "%d", x->q->created);
	if (!db_run(x->a, &st_mark, p, e) || !db_run(x->a, &st_notify, p, e))
		return -1;
	p[1] = step;
	p[2] = message;
	if (!db_run(x->a, &st_event, p, e))
		return -1;
	view_set_int(d, "revision", x->q->created);
	if (x->who->id && s->owner_id != x->who->id) {
		view_set_bool(d, "as_admin", 1);
		view_set_str(d, "owner", s->owner_email);
	}
	return audit_record(x->a, x->who->id, x->who->email, x->who->ip, action, x->id, d, e);
}

static int request_tx(void *ctx, struct err *e)
{
	struct req_ctx *x = ctx;
	struct revision_req *q = x->q;
	struct arena *a = x->a;
	char n[16], cur[16], uid[24], k[24];
	const char *p[6], *why, *from, *snapshot = NULL;
	struct state s;
	struct view *d;
	int status;

	/* db_tx may run this more than once. */
	q->field = NULL;
	q->created = 0;
	if (load_state(a, x->who, x->id, 1, &s, e) < 0)
		return -1;
	q->created = (s.nrevs ? s.revs[0].n : 0) + 1;
	snprintf(n, sizeof(n), "%d", q->created);
	snprintf(uid, sizeof(uid), "%lld", x->who->id);
	from = running_version(&s);
	d = view_obj(a);

	if (!x->rollback) {
		const json_t *versions = chart_versions(s.engine, e);

		if (!versions)
			return -1;
		q->field = "version";
		if (!q->version || !*q->version)
			return err_set(e, 422, "Choose the version to upgrade to.");
		if (!blueprint_version_known(chart_get(s.engine, e), q->version))
			return err_set(e, 422, "%s does not offer version '%.64s'.",
				       engine_label(s.engine), q->version);
		q->field = NULL;
		if ((why = state_refusal(a, &s, "upgraded")))
			return err_set(e, 409, "%s", why);
		/* a restore in place runs (store_backup.c) */
		if ((why = store_restore_busy(a, x->id, "upgraded", e)))
			return err_set(e, 409, "%s", why);
		if (e->status)
			return -1;
		if (from && !strcmp(from, q->version)) {
			q->field = "version";
			return err_set(e, 422, "The store already runs %s.", q->version);
		}
		/*
		 * Neither engine's data goes back to an older version: WordPress,
		 * WooCommerce and Medusa migrate their databases forwards only.  A
		 * rollback (revision_rollback) goes back with the data's snapshot.
		 */
		if (from && chart_version_cmp(q->version, from) < 0) {
			q->field = "version";
			return err_set(
			    e, 422,
			    "%s is older than %s, which the store runs: %s cannot be "
			    "downgraded. Roll back to a revision that ran %s instead (that "
			    "restores its data).",
			    q->version, from, engine_label(s.engine), q->version);
		}
		snprintf(cur, sizeof(cur), "%d", s.current);
		p[0] = x->id;
		p[1] = n;
		p[2] = q->version;
		p[3] = cur;
		p[4] = x->who->id ? uid : NULL;
		p[5] = x->who->email;
		if (!db_run(a, &st_insert_upgrade, p, e))
			return -1;
		view_set_str(d, "from", from);
		view_set_str(d, "to", q->version);
		return request_finish(
		    x, &s, "upgrade",
		    arena_printf(a, "Upgrade to %s requested by %s.", q->version, x->who->email),
		    "store.upgrade", d, e);
	}

	if ((why = rollback_refusal(a, &s, q->revision, &status, &snapshot))) {
		if (status == 422)
			q->field = "revision";
		return err_set(e, status, "%s", why);
	}
	if ((why = state_refusal(a, &s, "rolled back")))
		return err_set(e, 409, "%s", why);
	if ((why = store_restore_busy(a, x->id, "rolled back", e)))
		return err_set(e, 409, "%s", why);
	if (e->status)
		return -1;
	snprintf(k, sizeof(k), "%lld", q->revision);
	p[0] = x->id;
	p[1] = n;
	p[2] = x->who->id ? uid : NULL;
	p[3] = x->who->email;
	p[4] = snapshot;
	p[5] = k;
	if (!db_run(a, &st_insert_rollback, p, e))
		return -1;
	view_set_int(d, "to_revision", q->revision);
	view_set_str(d, "version", find_rev(&s, q->revision)->version);
	view_set_str(d, "restore_snapshot", snapshot);
	return request_finish(x, &s, "rollback",
			      arena_printf(a, "Rollback to revision %lld (%s) requested by %s.",
					   q->revision, find_rev(&s, q->revision)->version,
					   x->who->email),
			      "store.rollback", d, e);
}

static int request(struct arena *a, const struct store_who *who, const char *id, int rollback,
		   struct revision_req *q, struct err *e)
{
	struct req_ctx x = {a, who, id, rollback, q};

	q->store = NULL;
	if (!store_id_valid(id))
		return err_set(e, 404, STORE_NOT_FOUND);
	if (db_tx(request_tx, &x, e) < 0)
		return -1;
	if (!(q->store = store_get(a, who, id, NULL, e)))
		return -1;
	return 0;
}

int revision_upgrade(struct arena *a, const struct store_who *who, const char *id,
		     struct revision_req *q, struct err *e)
{
	return request(a, who, id, 0, q, e);
}

int revision_rollback(struct arena *a, const struct store_who *who, const char *id,
		      struct revision_req *q, struct err *e)
{
	return request(a, who, id, 1, q, e);
}

/* --- history ------------------------------------------------------------ */

static void set_str_or_null(struct view *v, const char *key, const char *s)
{
	view_set_str_ref(v, key, s && *s ? s : NULL);
}

int revision_history(struct arena *a, const struct store_who *who, const char *id,
		     struct revision_history *h, struct err *e)
{
	const char *state_why_not;
	struct state s;

	memset(h, 0, sizeof(*h));
	if (load_state(a, who, id, 0, &s, e) < 0)
		return -1;
	h->current = s.current;
	h->pending = s.pending;
	h->status = s.status;
	h->version = running_version(&s);
	h->revisions = view_arr(a);
	h->upgrades = view_arr(a);
	state_why_not = state_refusal(a, &s, "rolled back");
	for (int i = 0; i < s.nrevs; i++) {
		const struct rev *r = &s.revs[i];
		struct view *v = view_push_obj(h->revisions);
		const char *why, *snap;
		int status;

		view_set_int(v, "revision", r->n);
		view_set_str_ref(v, "kind", r->kind);
		view_set_str_ref(v, "engine_version", r->version);
		set_str_or_null(v, "blueprint_revision", r->bprev);
		view_set_str_ref(v, "actor", r->actor);
		if (r->source)
			view_set_int(v, "source_revision", r->source);
		else
			view_add(v, "source_revision", view_null(a));
		set_str_or_null(v, "snapshot", r->snapshot);
		view_set_str_ref(v, "snapshot_status", r->snap_status);
		view_set_str_ref(v, "result", r->result);
		set_str_or_null(v, "reason", r->reason);
		/* a rollback's restore of restore_snapshot (sql/004) */
		set_str_or_null(v, "restore_snapshot", r->restore);
		view_set_str_ref(v, "restore_status", r->restore_status);
		view_set_str_ref(v, "created_at", r->created);
		view_set_str_ref(v, "finished_at", r->finished);
		/* The same order of checks as a request, so the page says what it would answer. */
		why = rollback_refusal(a, &s, r->n, &status, &snap);
		if (!why)
			why = state_why_not;
		view_set_bool(v, "can_rollback", !why);
		view_set_str_ref(v, "rollback_unavailable", why);
		if (r->n == s.pending) {
			h->pending_view = v;
			view_set_str_ref(v, "phase", revision_phase_label(r->result));
		}
		if (r->n == s.current)
			view_set_bool(v, "running", 1);
	}
	if (!state_refusal(a, &s, "upgraded")) {
		struct err ve = ERR_INIT;
		const json_t *versions = chart_versions(s.engine, &ve);
		size_t i;
		json_t *it;

		json_array_foreach(versions, i, it) {
			const char *ver = json_string_value(it);

			/* newer ones only: an upgrade to an older version is refused */
			if (ver && (!h->version || chart_version_cmp(ver, h->version) > 0))
				view_set_str_ref(view_push_obj(h->upgrades), "value", ver);
		}
	}
	return 0;
}
