/* observe.c - reconcile's view of the cluster: LIST once, then WATCH, kept in PostgreSQL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "blueprint.h"
#include "buf.h"
#include "config.h"
#include "db.h"
#include "lease.h"
#include "log.h"
#include "observe.h"

/*
 * How it works, and why it is safe.
 *
 * Every object storefleet makes carries app.kubernetes.io/managed-by=
 * storefleet and storefleet.io/store=<id>.  Four kinds tell a store's
 * health (Namespace, PersistentVolumeClaim, StatefulSet, Deployment).  For
 * each, one host at a time owns the watch: it holds the lease of the
 * kind's observed_kinds row (sql/014_observed.sql; holder, a database
 * clock expiry, the advisory-lock holder of lease.h so a dead host frees
 * it at once, and a token that grows at every change of hands).  The
 * owner lists the kind once into observed_objects (one narrow summary row
 * per object), then watches it with allowWatchBookmarks from the list's
 * resourceVersion, applying the changes it reads at the start of each
 * pass.  The next cron run takes the lease again and resumes the watch
 * from the resourceVersion kept in the row: no LIST, only what changed.
 * Every other host (and the owner itself) reads the rows; a pass never
 * reads the cluster for what the view holds.
 *
 * Writes are fenced: each write of a kind's objects is one transaction
 * that first updates the kind's row on (kind, holder, token, unexpired).
 * That row lock orders it against a takeover (which bumps the token), so a
 * host that lost the lease - expired while it was stopped, say - writes
 * nothing: its transaction finds no row and rolls back, and it drops its
 * watch.  A takeover starts from the last committed resourceVersion, which
 * always matches the committed objects (they are written in the same
 * transaction), so no change is lost or applied twice.
 *
 * Currency.  The view of a kind is known current only as of a LIST (its
 * start) or a BOOKMARK: the server sends one only once every earlier event
 * was sent.  Events alone prove nothing (a replay can be old).  Bookmarks
 * come every minute from the API server (--watch-bookmark-ms in kubesim)
 * and 2 s before a watch's timeoutSeconds, which a resume uses: it opens a
 * short watch (timeoutSeconds 3) and so knows it caught up within a
 * second.  A bookmark read now was sent after the previous read of the
 * socket, so it is dated then (not now): a host that slept between passes
 * never claims more than it saw.  The date goes to current_at by the
 * database clock (now() minus the age measured on the monotonic clock).
 * A pass judges only from a view whose every kind has
 * 0 <= now() - current_at <= observe_stale: a watch that broke, ended,
 * answered 410 Gone, stalled or missed its bookmarks, a database clock
 * that jumped either way, a host that crashed mid-write - each leaves a
 * kind not current, and then the pass lists the cluster itself (and the
 * owner re-lists into the table).  So "ready" is never said from a view
 * older than observe_stale, and never from a half-written one (writes are
 * transactions; readers see the last commit).
 *
 * A re-list's pages overlap with PostgreSQL: page k's write is sent
 * (db_send) and the LIST of page k+1 is fetched, parsed and summarised
 * while the server writes it; write k is collected (db_wait; an error
 * stops the list as before) before write k+1 is sent, and the closing
 * fence that records the kind's resourceVersion runs only after the last
 * page's write is collected.  All of it is still one transaction on one
 * connection (fence, clear, pages, fence with the resourceVersion,
 * COMMIT), so a kill -9 at any point - a write out or not - rolls all of
 * it back: PostgreSQL keeps the previous view and resourceVersion, the
 * dead host's lease frees at once (its advisory lock), and the next run
 * lists the kind again.  Nothing else is sent while a write is out (the
 * LIST and the watches' reads between pages use only the cluster; leases
 * are renewed outside a re-list).
 *
 * Memory: LIST pages of LIST_PAGE objects are narrowed and summarised; at
 * most two are held (the one being written, the one being read), and a
 * pass holds summaries only (a few hundred bytes per object), never the
 * objects' JSON.  A page's text is cut to what a
 * summary reads before it is parsed (observe_narrow_list: no pod
 * templates), which made a re-list's CPU a third of what it was.
 */

#define MANAGED_SELECTOR "app.kubernetes.io/managed-by=storefleet"
#define STORE_LABEL	 "storefleet.io/store"
#define LIST_PAGE	 500
#define CATCHUP_TIMEOUT	 3	    /* s: the server bookmarks 2 s before the end */
#define SETTLE		 0.1	    /* s of quiet after a replay that starts from a current view */
#define WATCH_TIMEOUT	 300	    /* s: longest watch of a long run */
#define LINE_MAX_BYTES	 (16 << 20) /* one event */

static const struct obs_kind {
	const char *api_version, *kind, *key;
} kinds[] = {
    {"v1", "Namespace", "namespace"},
    {"v1", "PersistentVolumeClaim", "pvcs"},
    {"apps/v1", "StatefulSet", "statefulsets"},
    {"apps/v1", "Deployment", "deployments"},
};
#define NKINDS ((int)(sizeof(kinds) / sizeof(kinds[0])))

struct watch {
	struct observe *o;
	int k;
	void *c;	  /* CURL *, NULL when no watch is open */
	void *headers;	  /* struct curl_slist * */
	long code;	  /* HTTP status, 0 before the answer */
	struct buf in;	  /* bytes not yet split into lines */
	int catchup;	  /* a short watch opened to learn that the view caught up */
	int fresh;	  /* ... from a kept view still current: the replay's end will do */
	int answered;	  /* the response's headers are in */
	double last_byte; /* monotonic: the last byte of the answer came */
	int ended, gone, broken;
	char rv[32];	  /* the last resourceVersion read (event or bookmark) */
	double current_t; /* monotonic time the view is known current as of (0 = not) */
	json_t *pending;  /* "ns/name" -> [ns, name, store, summary] or [ns, name] (gone) */
	int bookmarked;	  /* a bookmark since the last write */
	char pending_rv[32];
	/* the lease of the kind's row */
	int owned;
	char token[24];
	double taken;	  /* monotonic: when the lease was last taken or renewed */
};

struct observe {
	struct k8s *k;
	char cluster[64]; /* the clusters row this view is of (sql/019_observed_clusters.sql) */
	char tag[72];	  /* "" for 'default' (the logs as before), else "cluster NAME: " */
	char owner[300];
	double end;		/* monotonic: when the run ends */
	void *m;		/* CURLM * */
	double last_read, mark; /* monotonic: the previous read of the sockets */
	struct watch w[NKINDS];
};

static double mono(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static const char *jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* ---- summaries --------------------------------------------------------------- */

/* Is condition c of a kind-k object worth keeping (readiness.c, reconcile's namespace words)? */
static int keep_condition(int k, const json_t *c)
{
	const char *type = jstr(c, "type");

	if (k == 3) /* Deployments: only the two failures readiness looks for */
		return !strcmp(type, "ReplicaFailure") ||
		       (!strcmp(type, "Progressing") && strcmp(jstr(c, "status"), "True"));
	return k != 2;
}

json_t *observe_summary(const json_t *obj, int k)
{
	static const char *const status_keys[] = {
	    "phase",	       "observedGeneration", "replicas",
	    "readyReplicas",   "updatedReplicas",    "availableReplicas",
	    "currentRevision", "updateRevision",     "capacity",
	};
	const json_t *md = json_object_get(obj, "metadata"), *spec = json_object_get(obj, "spec"),
		     *st = json_object_get(obj, "status"), *v, *c;
	json_t *out = json_object(), *m = json_object(), *s2 = json_object(), *conds = json_array();
	size_t i;

	json_object_set_new(m, "name", json_string(jstr(md, "name")));
	if (k == 1 && (v = json_object_get(md, "creationTimestamp"))) /* a claim's age */
		json_object_set(m, "creationTimestamp", (json_t *)v);
	if ((v = json_object_get(md, "deletionTimestamp")))
		json_object_set(m, "deletionTimestamp", (json_t *)v);
	if (k >= 2 && (v = json_object_get(md, "generation")))
		json_object_set(m, "generation", (json_t *)v);
	v = json_object_get(json_object_get(md, "annotations"), BLUEPRINT_REVISION_ANNOTATION);
	if (v)
		json_object_set_new(m, "annotations",
				    json_pack("{s:O}", BLUEPRINT_REVISION_ANNOTATION, v));
	json_object_set_new(out, "metadata", m);
	if ((v = json_object_get(spec, "replicas")))
		json_object_set_new(out, "spec", json_pack("{s:O}", "replicas", v));
	for (size_t x = 0; x < sizeof(status_keys) / sizeof(status_keys[0]); x++)
		if ((v = json_object_get(st, status_keys[x])))
			json_object_set(s2, status_keys[x], (json_t *)v);
	/* a rollout in progress is all readiness asks of the revisions */
	if (!strcmp(jstr(st, "currentRevision"), jstr(st, "updateRevision"))) {
		json_object_del(s2, "currentRevision");
		json_object_del(s2, "updateRevision");
	}
	json_array_foreach(json_object_get(st, "conditions"), i, c) {
		static const char *const ck[] = {"type", "status", "reason", "message"};
		json_t *c2;

		if (!keep_condition(k, c))
			continue;
		c2 = json_object();
		for (size_t x = 0; x < 4; x++)
			if ((v = json_object_get(c, ck[x])))
				json_object_set(c2, ck[x], (json_t *)v);
		json_array_append_new(conds, c2);
	}
	if (json_array_size(conds))
		json_object_set(s2, "conditions", conds);
	json_decref(conds);
	if (json_object_size(s2))
		json_object_set(out, "status", s2);
	json_decref(s2);
	return out;
}

/* File summary (reference stolen) of kind k under store in by. */
static void view_add(json_t *by, int k, const char *store, json_t *summary)
{
	json_t *o = json_object_get(by, store), *arr;

	if (!o) {
		o = json_object();
		json_object_set_new(by, store, o);
	}
	if (k == 0) {
		json_object_set_new(o, kinds[k].key, summary);
		return;
	}
	arr = json_object_get(o, kinds[k].key);
	if (!arr) {
		arr = json_array();
		json_object_set_new(o, kinds[k].key, arr);
	}
	json_array_append_new(arr, summary);
}

/* ---- LIST ---------------------------------------------------------------------- */

/*
 * Narrowing a LIST page before it is parsed.  A page of 500 Deployments
 * is ~2 MB of JSON, most of it each object's spec (the pod template),
 * and jansson builds a node for every value: parsing was most of a
 * re-list's CPU.  The summary reads of spec only spec.replicas, so every
 * other member of each item's spec (and metadata.managedFields) is cut
 * out of the text in place, by a scanner that only finds where values
 * end; what it keeps is copied verbatim and jansson still parses (and
 * validates) it.  An answer not shaped like a list is left whole.
 */
enum nrule { N_LIST, N_ITEMS, N_ITEM, N_SPEC, N_META, N_KEEP, N_DROP };

static size_t nws(const char *s, size_t n, size_t i)
{
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	return i;
}

/* The end of the string opening at s[i], or 0. */
static size_t nstr_end(const char *s, size_t n, size_t i)
{
	for (i++; i < n; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == '"')
			return i + 1;
	}
	return 0;
}

/* The end of the value at s[i] (containers by depth, strings skipped whole), or 0. */
static size_t nvalue_end(const char *s, size_t n, size_t i)
{
	int depth = 0;

	if (i >= n)
		return 0;
	if (s[i] == '"')
		return nstr_end(s, n, i);
	if (s[i] != '{' && s[i] != '[') {
		size_t j = i;

		while (j < n && s[j] != ',' && s[j] != '}' && s[j] != ']' && s[j] != ' ' &&
		       s[j] != '\t' && s[j] != '\n' && s[j] != '\r' && s[j] != '"' && s[j] != '{' &&
		       s[j] != '[')
			j++;
		return j > i ? j : 0;
	}
	for (; i < n; i++) {
		if (s[i] == '"') {
			size_t e = nstr_end(s, n, i);

			if (!e)
				return 0;
			i = e - 1;
		} else if (s[i] == '{' || s[i] == '[') {
			depth++;
		} else if ((s[i] == '}' || s[i] == ']') && --depth == 0) {
			return i + 1;
		}
	}
	return 0;
}

static int nkey_is(const char *s, size_t k0, size_t k1, const char *name)
{
	size_t l = strlen(name);

	return k1 - k0 == l + 2 && !memcmp(s + k0 + 1, name, l);
}

/* What becomes of member s[k0..k1) (its quoted key) of a value under rule r. */
static enum nrule nchild(enum nrule r, const char *s, size_t k0, size_t k1)
{
	switch (r) {
	case N_LIST:
		return nkey_is(s, k0, k1, "items") ? N_ITEMS : N_KEEP;
	case N_ITEM:
		return nkey_is(s, k0, k1, "spec")	  ? N_SPEC
		       : nkey_is(s, k0, k1, "metadata") ? N_META
							: N_KEEP;
	case N_SPEC:
		return nkey_is(s, k0, k1, "replicas") ? N_KEEP : N_DROP;
	case N_META:
		return nkey_is(s, k0, k1, "managedFields") ? N_DROP : N_KEEP;
	default:
		return N_KEEP;
	}
}

/*
 * Copy the value at s[*i] under rule r to s[*o] (never ahead of *i: only
 * whitespace and dropped members are left out), moving both on.  0, or
 * -1 when the text is not JSON shaped as expected.
 */
static int nvalue(char *s, size_t n, size_t *i, size_t *o, enum nrule r, int depth)
{
	char close = r == N_ITEMS ? ']' : '}';
	int seen = 0, kept = 0;
	size_t e;

	if (r == N_KEEP || depth > 4 || s[*i] != (r == N_ITEMS ? '[' : '{')) {
		if (!(e = nvalue_end(s, n, *i)))
			return -1;
		memmove(s + *o, s + *i, e - *i);
		*o += e - *i;
		*i = e;
		return 0;
	}
	s[(*o)++] = s[(*i)++];
	for (;; seen++) {
		size_t k0, k1;
		enum nrule c;

		*i = nws(s, n, *i);
		if (*i >= n)
			return -1;
		if (s[*i] == close)
			break;
		if (seen) {
			if (s[*i] != ',')
				return -1;
			*i = nws(s, n, *i + 1);
			if (*i >= n)
				return -1;
		}
		if (r == N_ITEMS) {
			if (kept++)
				s[(*o)++] = ',';
			if (nvalue(s, n, i, o, N_ITEM, depth + 1) < 0)
				return -1;
			continue;
		}
		if (s[*i] != '"' || !(k1 = nstr_end(s, n, *i)))
			return -1;
		k0 = *i;
		*i = nws(s, n, k1);
		if (*i >= n || s[*i] != ':')
			return -1;
		*i = nws(s, n, *i + 1);
		if (*i >= n)
			return -1;
		c = nchild(r, s, k0, k1);
		if (c == N_DROP) {
			if (!(e = nvalue_end(s, n, *i)))
				return -1;
			*i = e;
			continue;
		}
		if (kept++)
			s[(*o)++] = ',';
		memmove(s + *o, s + k0, k1 - k0);
		*o += k1 - k0;
		s[(*o)++] = ':';
		if (nvalue(s, n, i, o, c, depth + 1) < 0)
			return -1;
	}
	s[(*o)++] = s[(*i)++];
	return 0;
}

size_t observe_narrow_list(char *s, size_t n)
{
	size_t i = nws(s, n, 0), o = 0;

	if (i >= n || s[i] != '{')
		return n; /* not a list: left whole, for the parser to judge */
	if (nvalue(s, n, &i, &o, N_LIST, 0) < 0 || nws(s, n, i) != n)
		return 0; /* not JSON (and partly rewritten): nothing, which does not parse */
	return o;
}

/* Called with each page's items; -1 stops the list. */
typedef int (*page_fn)(void *ctx, const json_t *items, const char *rv, struct err *e);

/*
 * One cluster-wide LIST of kind k, paged by hand so each page is handed
 * over and freed before the next is read.  OUT: rv, the list's
 * resourceVersion.  0, or -1 with e (and ke).
 */
static int list_kind(struct observe *o, int k, page_fn fn, void *ctx, char *rv, size_t rvn,
		     struct k8s_err *ke, struct err *e)
{
	struct buf base = BUF_INIT, url = BUF_INIT;
	char *cont = NULL;
	int rc = -1, code = 0;
	long deadline;

	*rv = 0;
	if (k8s_path(&base, kinds[k].api_version, kinds[k].kind, NULL, NULL, e) < 0)
		goto out;
	buf_adds(&base, "?labelSelector=");
	buf_add_urlenc(&base, MANAGED_SELECTOR, strlen(MANAGED_SELECTOR));
	buf_addf(&base, "&limit=%d", LIST_PAGE);
	for (;;) {
		json_t *page, *items;
		const char *next;
		int listed;

		buf_reset(&url);
		buf_add(&url, base.s, base.len);
		if (cont) {
			buf_adds(&url, "&continue=");
			buf_add_urlenc(&url, cont, strlen(cont));
		}
		if (url.failed)
			die_oom();
		/*
		 * Retried within one request timeout, not the client's whole
		 * deadline: a pass waits no longer than that for a cluster that
		 * does not answer (the other clusters' stores go on), and the
		 * next pass lists again.
		 */
		deadline = o->k->deadline_ms;
		if (o->k->timeout_ms < deadline)
			o->k->deadline_ms = o->k->timeout_ms;
		page = k8s_get_narrowed(o->k, url.s, observe_narrow_list, &code, ke);
		o->k->deadline_ms = deadline;
		if (!page) {
			/* an expired continue token (410) too: the next try starts over */
			err_set(e, 502, "observe: %s%s", o->tag, ke->err.msg);
			goto out;
		}
		items = json_object_get(page, "items");
		listed = !items || json_is_array(items) || json_is_null(items);
		if (!*rv)
			snprintf(rv, rvn, "%s",
				 jstr(json_object_get(page, "metadata"), "resourceVersion"));
		if (listed && fn(ctx, items, rv, e) < 0) {
			json_decref(page);
			goto out;
		}
		free(cont);
		cont = NULL;
		next = jstr(json_object_get(page, "metadata"), "continue");
		if (listed && *next && !(cont = strdup(next)))
			die_oom();
		json_decref(page);
		if (!listed) {
			err_set(e, 502, "observe: %s%s list: the answer is not a list", o->tag,
				kinds[k].kind);
			goto out;
		}
		if (!cont)
			break;
	}
	rc = 0;
out:
	free(cont);
	buf_release(&base);
	buf_release(&url);
	return rc;
}

struct direct {
	json_t *by;
	int k;
};

static int direct_page(void *ctx, const json_t *items, const char *rv, struct err *e)
{
	struct direct *d = ctx;
	const json_t *it;
	size_t i;

	(void)rv;
	(void)e;
	json_array_foreach(items, i, it) {
		const char *id =
		    jstr(json_object_get(json_object_get(it, "metadata"), "labels"), STORE_LABEL);

		if (*id)
			view_add(d->by, d->k, id, observe_summary(it, d->k));
	}
	return 0;
}

/* The view straight from the cluster (the fallback): every kind listed now. */
static int list_direct(struct observe *o, json_t *by, struct k8s_err *ke, struct err *e)
{
	char rv[32];

	for (int k = 0; k < NKINDS; k++) {
		struct direct d = {by, k};

		if (list_kind(o, k, direct_page, &d, rv, sizeof(rv), ke, e) < 0)
			return -1;
	}
	return 0;
}

/* ---- PostgreSQL ------------------------------------------------------------------- */

/* Take or renew the watch lease of kind $1 for $2 (holder number $3, token $4 if held). */
/* clang-format off */
static struct db_stmt st_take = DB_STMT(
    "UPDATE observed_kinds SET holder = $2, lease_holder = $3::int,"
    "  token = CASE WHEN holder = $2 AND token = $4::bigint THEN token ELSE token + 1 END,"
    "  held_until = now() + make_interval(secs => $5::int)"
    " WHERE cluster = $6 AND kind = $1::smallint AND ((holder = $2 AND token = $4::bigint)"
    "   OR NOT (held_until IS NOT NULL AND held_until > now()"
    "     AND " LEASE_HOLDER_ALIVE("observed_kinds") "))"
    " RETURNING token, resource_version,"
    "  coalesce(extract(epoch FROM now() - current_at)::float8, -1)",
    6);
/* clang-format on */

/* The fence of every write: lock the kind's row while the lease is this host's. */
static struct db_stmt st_fence = DB_STMT(
    "UPDATE observed_kinds SET resource_version = CASE WHEN $3 = '' THEN resource_version"
    "   ELSE $3 END,"
    "  current_at = CASE WHEN $4::float8 >= 0 THEN now() - make_interval(secs => $4::float8)"
    "   ELSE current_at END"
    " WHERE cluster = $6 AND kind = $1::smallint AND holder = $5 AND token = $2::bigint"
    "  AND held_until > now()"
    " RETURNING 1",
    6);

static struct db_stmt st_upsert =
    DB_STMT("INSERT INTO observed_objects (cluster, kind, namespace, name, store_id, summary)"
	    " SELECT $3, $1::smallint, x->>0, x->>1, x->>2, x->>3"
	    " FROM json_array_elements($2::json) x"
	    " ON CONFLICT (cluster, kind, namespace, name) DO UPDATE SET store_id = excluded.store_id,"
	    "  summary = excluded.summary",
	    3);

/*
 * The watch's writes also mark the stores they change in observed_changes
 * (sql/016_observed_changes.sql), in the same transaction, so a pass
 * judges again exactly the stores whose rows changed: an object added, its
 * summary changed (an event that changes nothing a pass reads marks
 * nothing), relabelled (the old store too) or deleted.  Marks are written
 * in store id order (no deadlock between two kinds' writers) with a fresh
 * sequence value that a pass compares for equality only (reconcile.c).
 */
/* clang-format off */
static struct db_stmt st_watch_upsert = DB_STMT(
    "WITH x AS (SELECT x->>0 AS ns, x->>1 AS name, x->>2 AS store_id, x->>3 AS summary"
    "   FROM json_array_elements($2::json) x),"
    " moved AS (SELECT o.store_id FROM observed_objects o JOIN x"
    "   ON o.cluster = $3 AND o.kind = $1::smallint AND o.namespace = x.ns AND o.name = x.name"
    "   WHERE o.store_id <> x.store_id),"
    " up AS (INSERT INTO observed_objects (cluster, kind, namespace, name, store_id, summary)"
    "   SELECT $3, $1::smallint, ns, name, store_id, summary FROM x"
    "   ON CONFLICT (cluster, kind, namespace, name) DO UPDATE SET store_id = excluded.store_id,"
    "    summary = excluded.summary"
    "   WHERE (observed_objects.store_id, observed_objects.summary)"
    "    IS DISTINCT FROM (excluded.store_id, excluded.summary)"
    "   RETURNING store_id)"
    " INSERT INTO observed_changes (store_id)"
    "  SELECT DISTINCT store_id FROM (SELECT store_id FROM up UNION ALL SELECT store_id FROM moved) m"
    "  ORDER BY store_id"
    " ON CONFLICT (store_id) DO UPDATE SET change = excluded.change",
    3);

static struct db_stmt st_remove = DB_STMT(
    "WITH gone AS (DELETE FROM observed_objects o USING json_array_elements($2::json) x"
    "   WHERE o.cluster = $3 AND o.kind = $1::smallint AND o.namespace = x->>0"
    "    AND o.name = x->>1"
    "   RETURNING o.store_id)"
    " INSERT INTO observed_changes (store_id) SELECT DISTINCT store_id FROM gone ORDER BY store_id"
    " ON CONFLICT (store_id) DO UPDATE SET change = excluded.change",
    3);

/* A re-list's first write: the kind's rows go, and its listed count grows (every store judged). */
static struct db_stmt st_clear = DB_STMT(
    "WITH gone AS (DELETE FROM observed_objects WHERE cluster = $2 AND kind = $1::smallint)"
    " UPDATE observed_kinds SET listed = listed + 1 WHERE cluster = $2 AND kind = $1::smallint",
    2);
/* clang-format on */

static struct db_stmt st_currency =
    DB_STMT("SELECT kind, coalesce(extract(epoch FROM now() - current_at)::float8, -1e9),"
	    " current_at IS NOT NULL FROM observed_kinds WHERE cluster = $1 ORDER BY kind",
	    1);

/* each store's objects in its own cluster ($1 ids, $2 their clusters) */
static struct db_stmt st_load =
    DB_STMT("SELECT o.store_id, o.kind, o.summary FROM observed_objects o"
	    " JOIN unnest($1::text[], $2::text[]) AS x (id, cluster)"
	    "  ON o.store_id = x.id AND o.cluster = x.cluster"
	    " ORDER BY o.kind, o.namespace, o.name",
	    2);

static void kstr(char *out, size_t n, int k)
{
	snprintf(out, n, "%d", k);
}

/* Fence inside the open transaction: 1 held, 0 lost, -1 error. */
static int fence(struct arena *a, struct watch *w, const char *rv, double age, struct err *e)
{
	char ks[8], as[32];
	const char *p[6] = {ks, w->token, rv, as, w->o->owner, w->o->cluster};
	PGresult *res;

	kstr(ks, sizeof(ks), w->k);
	snprintf(as, sizeof(as), "%.3f", age);
	if (!(res = db_run(a, &st_fence, p, e)))
		return -1;
	return db_rows(res) == 1;
}

/*
 * Run stmt with kind and a JSON array (reference stolen); with a NULL
 * arena, only send it (db_send: the caller collects it with db_wait).
 */
static int run_array(struct arena *a, struct db_stmt *stmt, const char *cluster, int k, json_t *arr,
		     struct err *e)
{
	char ks[8], *s = json_dumps(arr, JSON_COMPACT);
	const char *p[3] = {ks, s, cluster};
	int rc;

	json_decref(arr);
	if (!s)
		die_oom();
	kstr(ks, sizeof(ks), k);
	if (a)
		rc = db_run(a, stmt, p, e) ? 0 : -1;
	else
		rc = db_send(stmt, p, e);
	free(s);
	return rc;
}

static void drop_watch(struct watch *w);

/* The lease is gone: stop everything this host did for the kind. */
static void lost(struct watch *w)
{
	if (w->owned)
		log_info("observe: %s%s: the watch lease went to another host", w->o->tag, kinds[w->k].kind);
	drop_watch(w);
	json_object_clear(w->pending);
	w->bookmarked = 0;
	w->pending_rv[0] = 0;
	w->owned = 0;
	w->current_t = 0;
	w->rv[0] = 0;
}

/* Write what the watch brought (and the bookmark's date) under the fence.  0 or -1. */
static int flush(struct arena *a, struct watch *w, struct err *e)
{
	json_t *up = json_array(), *gone = json_array(), *v;
	const char *key;
	int held;

	if (!json_object_size(w->pending) && !w->bookmarked && !*w->pending_rv) {
		json_decref(up);
		json_decref(gone);
		return 0;
	}
	json_object_foreach(w->pending, key, v)
		json_array_append(json_array_size(v) == 4 ? up : gone, v);
	if (db_begin(e) < 0)
		goto fail;
	held = fence(a, w, w->pending_rv,
		     w->bookmarked && w->current_t ? mono() - w->current_t : -1, e);
	if (held <= 0) {
		db_rollback();
		if (held == 0)
			lost(w);
		goto fail;
	}
	if ((json_array_size(up) && run_array(a, &st_watch_upsert, w->o->cluster, w->k, json_incref(up), e) < 0) ||
	    (json_array_size(gone) && run_array(a, &st_remove, w->o->cluster, w->k, json_incref(gone), e) < 0) ||
	    db_commit(e) < 0) {
		db_rollback();
		goto fail;
	}
	json_object_clear(w->pending);
	w->bookmarked = 0;
	w->pending_rv[0] = 0;
	json_decref(up);
	json_decref(gone);
	return 0;
fail:
	json_decref(up);
	json_decref(gone);
	return -1;
}

struct relist {
	struct observe *o;
	struct arena *a;
	int k;
	int sent; /* a page's write is out (db_send) and not yet collected */
};

/* Collect the outstanding page write, if any.  0 or -1 with e. */
static int relist_collect(struct relist *rl, struct err *e)
{
	if (!rl->sent)
		return 0;
	rl->sent = 0;
	return db_wait(rl->a, e) ? 0 : -1;
}

static void pump(struct observe *o, double wait);

static int relist_page(void *ctx, const json_t *items, const char *rv, struct err *e)
{
	struct relist *rl = ctx;
	json_t *arr = json_array();
	const json_t *it;
	size_t i;

	(void)rv;
	json_array_foreach(items, i, it) {
		const json_t *md = json_object_get(it, "metadata");
		const char *id = jstr(json_object_get(md, "labels"), STORE_LABEL);
		json_t *sum;
		char *s;

		if (!*id)
			continue;
		sum = observe_summary(it, rl->k);
		s = json_dumps(sum, JSON_COMPACT);
		json_decref(sum);
		if (!s)
			die_oom();
		json_array_append_new(
		    arr, json_pack("[s,s,s,s]", jstr(md, "namespace"), jstr(md, "name"), id, s));
		free(s);
	}
	/*
	 * This page was fetched, parsed and summarised while PostgreSQL wrote
	 * the previous one: collect that write now (an error stops the list,
	 * as it did when each write was waited for at once), then send this
	 * page's and go on to fetch the next.  So a page's write is confirmed
	 * before the next one is sent, at most two pages are held, and the
	 * connection carries nothing else while a write is out (pump and the
	 * LIST use only the cluster; relist collects the last write before
	 * its closing fence).
	 */
	if (relist_collect(rl, e) < 0) {
		json_decref(arr);
		return -1;
	}
	if (run_array(NULL, &st_upsert, rl->o->cluster, rl->k, arr, e) < 0)
		return -1;
	rl->sent = 1;
	/*
	 * Read the watches of the kinds listed before this one: their
	 * bookmarks are dated at the previous read, so a re-list of every
	 * kind that takes longer than observe_stale leaves them current
	 * (unread, the first bookmark would be dated before the re-list).
	 */
	pump(rl->o, 0);
	return 0;
}

static void open_watch(struct observe *o, struct watch *w, const char *rv, int catchup);

/*
 * List kind k into observed_objects in one fenced transaction (readers see
 * the old view, then the new one whole), then watch on from the list's
 * resourceVersion.  0, 1 when the lease turned out lost (nothing done), or
 * -1 with e (and ke).
 */
static int relist(struct observe *o, struct arena *a, struct watch *w, struct k8s_err *ke,
		  struct err *e)
{
	struct relist rl = {o, a, w->k, 0};
	char ks[8], rv[32];
	double t0 = mono();
	const char *p[2] = {ks, o->cluster};
	int held;

	drop_watch(w);
	json_object_clear(w->pending);
	w->bookmarked = 0;
	w->pending_rv[0] = 0;
	w->gone = w->broken = 0;
	kstr(ks, sizeof(ks), w->k);
	if (db_begin(e) < 0)
		return -1;
	held = fence(a, w, "", -1, e);
	if (held <= 0) {
		db_rollback();
		if (held < 0)
			return -1;
		lost(w);
		return 1;
	}
	if (!db_run(a, &st_clear, p, e) ||
	    list_kind(o, w->k, relist_page, &rl, rv, sizeof(rv), ke, e) < 0 ||
	    relist_collect(&rl, e) < 0 || fence(a, w, rv, mono() - t0, e) != 1 ||
	    db_commit(e) < 0) {
		db_rollback(); /* collects a write still out (a failed LIST) first */
		w->current_t = 0;
		return -1;
	}
	snprintf(w->rv, sizeof(w->rv), "%s", rv);
	w->current_t = t0;
	log_info("observe: %s%s listed at resourceVersion %s in %.3f s", o->tag, kinds[w->k].kind, rv,
		 mono() - t0);
	if (o->end > mono())
		open_watch(o, w, rv, 0);
	return 0;
}

/* Is every kind's shared view current by the database clock?  1, 0 (why), -1 (e). */
static int view_current(struct observe *o, struct arena *a, char *why, size_t n, struct err *e)
{
	const char *p[1] = {o->cluster};
	PGresult *res = db_run(a, &st_currency, p, e);

	if (!res)
		return -1;
	if (db_rows(res) != NKINDS)
		return snprintf(why, n, "observed_kinds has %d rows", db_rows(res)), 0;
	for (int i = 0; i < NKINDS; i++) {
		double age = strtod(db_get(res, i, 1), NULL);
		int k = (int)db_get_ll(res, i, 0);

		if (k < 0 || k >= NKINDS)
			return snprintf(why, n, "unknown kind %d", k), 0;
		if (!db_get_bool(res, i, 2)) {
			snprintf(why, n, "the %s view was never listed", kinds[k].kind);
			return 0;
		}
		if (age < 0) {
			snprintf(why, n, "the %s view is dated %.0f s in the future (a clock jump)",
				 kinds[k].kind, -age);
			return 0;
		}
		if (age > config.observe_stale) {
			snprintf(why, n,
				 "the %s view was last known current %.0f s ago (more than %d s)",
				 kinds[k].kind, age, config.observe_stale);
			return 0;
		}
	}
	return 1;
}

int observe_load(const char *const *ids, const char *const *clusters, int n, json_t **by,
		 struct err *e)
{
	struct arena *a = arena_new();
	struct buf arr = BUF_INIT, carr = BUF_INIT;
	const char *p[2];
	PGresult *res;
	int rc = -1;

	*by = json_object();
	buf_addch(&arr, '{');
	buf_addch(&carr, '{');
	for (int i = 0; i < n; i++) {
		/*
		 * store ids are [a-z][a-z0-9]{7} (sql/002), cluster names
		 * [a-z0-9-] (sql/018): nothing to quote in an array literal
		 */
		if (i) {
			buf_addch(&arr, ',');
			buf_addch(&carr, ',');
		}
		buf_adds(&arr, ids[i]);
		buf_adds(&carr, clusters[i]);
	}
	buf_addch(&arr, '}');
	buf_addch(&carr, '}');
	if (arr.failed || carr.failed)
		die_oom();
	p[0] = arr.s;
	p[1] = carr.s;
	if (!(res = db_run(a, &st_load, p, e)))
		goto out;
	for (int i = 0, rows = db_rows(res); i < rows; i++) {
		int k = (int)db_get_ll(res, i, 1);
		json_t *sum = json_loads(db_get(res, i, 2), 0, NULL);

		if (!sum || k < 0 || k >= NKINDS) {
			json_decref(sum);
			err_set(e, 500, "observe: an unreadable summary of kind %d", k);
			goto out;
		}
		view_add(*by, k, db_get(res, i, 0), sum);
	}
	rc = 0;
out:
	if (rc < 0) {
		json_decref(*by);
		*by = NULL;
	}
	buf_release(&arr);
	buf_release(&carr);
	arena_free(a);
	return rc;
}

/* ---- WATCH ------------------------------------------------------------------------ */

static void copy(char *dst, size_t n, const char *s)
{
	snprintf(dst, n, "%s", s);
}

enum observe_ev observe_parse_event(const char *line, size_t n, int k, struct observe_event *ev)
{
	json_t *j = json_loadb(line, n, 0, NULL), *obj;
	const json_t *md;
	const char *type;

	memset(ev, 0, sizeof(*ev));
	ev->type = OBSERVE_EV_BAD;
	obj = json_object_get(j, "object");
	if (!json_is_object(obj) || k < 0 || k >= NKINDS)
		goto out;
	type = jstr(j, "type");
	md = json_object_get(obj, "metadata");
	copy(ev->rv, sizeof(ev->rv), jstr(md, "resourceVersion"));
	if (!strcmp(type, "ERROR")) {
		ev->type = json_integer_value(json_object_get(obj, "code")) == 410
			       ? OBSERVE_EV_EXPIRED
			       : OBSERVE_EV_ERROR;
		copy(ev->message, sizeof(ev->message), jstr(obj, "message"));
	} else if (!strcmp(type, "BOOKMARK")) {
		if (*ev->rv)
			ev->type = OBSERVE_EV_BOOKMARK;
	} else if (!strcmp(type, "ADDED") || !strcmp(type, "MODIFIED") ||
		   !strcmp(type, "DELETED")) {
		copy(ev->ns, sizeof(ev->ns), jstr(md, "namespace"));
		copy(ev->name, sizeof(ev->name), jstr(md, "name"));
		copy(ev->store, sizeof(ev->store),
		     jstr(json_object_get(md, "labels"), STORE_LABEL));
		if (!*ev->name)
			goto out;
		ev->type = OBSERVE_EV_GONE;
		if (strcmp(type, "DELETED") && *ev->store) {
			json_t *sum = observe_summary(obj, k);

			ev->summary = json_dumps(sum, JSON_COMPACT);
			json_decref(sum);
			if (!ev->summary)
				die_oom();
			ev->type = OBSERVE_EV_CHANGE;
		}
	}
out:
	json_decref(j);
	return ev->type;
}

static void on_line(struct watch *w, const char *s, size_t n)
{
	struct observe_event ev;
	char key[600];

	switch (observe_parse_event(s, n, w->k, &ev)) {
	case OBSERVE_EV_EXPIRED:
		w->gone = 1;
		log_info("observe: %s%s watch: %s", w->o->tag, kinds[w->k].kind, ev.message);
		return;
	case OBSERVE_EV_ERROR:
		w->broken = 1;
		log_info("observe: %s%s watch: %s", w->o->tag, kinds[w->k].kind, ev.message);
		return;
	case OBSERVE_EV_BAD:
		w->broken = 1;
		return;
	case OBSERVE_EV_BOOKMARK:
		/* proof as of the previous read; a LIST that started later proved more */
		if (w->o->mark > w->current_t)
			w->current_t = w->o->mark;
		w->bookmarked = 1;
		w->catchup = 0;
		break;
	case OBSERVE_EV_CHANGE:
	case OBSERVE_EV_GONE:
		snprintf(key, sizeof(key), "%s/%s", ev.ns, ev.name);
		json_object_set_new(
		    w->pending, key,
		    ev.summary ? json_pack("[s,s,s,s]", ev.ns, ev.name, ev.store, ev.summary)
			       : json_pack("[s,s]", ev.ns, ev.name));
		free(ev.summary);
		break;
	}
	if (*ev.rv) {
		copy(w->rv, sizeof(w->rv), ev.rv);
		copy(w->pending_rv, sizeof(w->pending_rv), ev.rv);
	}
}

static size_t on_header(char *p, size_t sz, size_t n, void *arg)
{
	struct watch *w = arg;

	w->last_byte = mono();
	if (n * sz <= 2 && (p[0] == '\r' || p[0] == '\n')) {
		w->answered = 1;
		if (!w->code) {
			curl_easy_getinfo(w->c, CURLINFO_RESPONSE_CODE, &w->code);
			k8s_count(w->o->k, K8S_V_LIST, (int)w->code);
		}
	}
	return sz * n;
}

static size_t on_data(char *p, size_t sz, size_t n, void *arg)
{
	struct watch *w = arg;
	size_t len = sz * n, start = 0;

	w->last_byte = mono();
	if (!w->code) {
		curl_easy_getinfo(w->c, CURLINFO_RESPONSE_CODE, &w->code);
		k8s_count(w->o->k, K8S_V_LIST, (int)w->code);
	}
	buf_add(&w->in, p, len);
	if (w->in.failed)
		die_oom();
	if (w->code != 200) {
		if (w->in.len > 65536)
			return 0;
		return len;
	}
	for (size_t i = 0; i < w->in.len; i++) {
		if (w->in.s[i] != '\n')
			continue;
		if (i > start)
			on_line(w, w->in.s + start, i - start);
		start = i + 1;
	}
	if (start) {
		memmove(w->in.s, w->in.s + start, w->in.len - start);
		w->in.len -= start;
		w->in.s[w->in.len] = 0;
	}
	if (w->in.len > LINE_MAX_BYTES)
		return 0; /* curl ends the transfer: broken */
	return len;
}

static void drop_watch(struct watch *w)
{
	if (!w->c)
		return;
	curl_multi_remove_handle(w->o->m, w->c);
	curl_easy_cleanup(w->c);
	curl_slist_free_all(w->headers);
	w->c = w->headers = NULL;
	buf_reset(&w->in);
}

/* Open kind w's watch from rv: catchup = a short one, to learn the view caught up. */
static void open_watch(struct observe *o, struct watch *w, const char *rv, int catchup)
{
	struct buf path = BUF_INIT;
	struct err e = ERR_INIT;
	double left = o->end - mono();
	int secs = catchup ? CATCHUP_TIMEOUT : left > WATCH_TIMEOUT ? WATCH_TIMEOUT : (int)left;

	drop_watch(w);
	if (secs < CATCHUP_TIMEOUT)
		secs = CATCHUP_TIMEOUT;
	if (k8s_path(&path, kinds[w->k].api_version, kinds[w->k].kind, NULL, NULL, &e) < 0) {
		log_error("observe: %s%s", o->tag, e.msg);
		buf_release(&path);
		return;
	}
	buf_adds(&path, "?labelSelector=");
	buf_add_urlenc(&path, MANAGED_SELECTOR, strlen(MANAGED_SELECTOR));
	buf_adds(&path, "&watch=1&allowWatchBookmarks=true&resourceVersion=");
	buf_add_urlenc(&path, rv, strlen(rv));
	buf_addf(&path, "&timeoutSeconds=%d", secs);
	if (path.failed)
		die_oom();
	w->c = k8s_stream_new(o->k, path.s, &w->headers);
	buf_release(&path);
	curl_easy_setopt(w->c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(w->c, CURLOPT_WRITEDATA, w);
	curl_easy_setopt(w->c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(w->c, CURLOPT_HEADERDATA, w);
	curl_easy_setopt(w->c, CURLOPT_PRIVATE, w);
	curl_multi_add_handle(o->m, w->c);
	w->code = 0;
	w->ended = w->gone = w->broken = 0;
	w->catchup = catchup;
	w->fresh = catchup && w->current_t && mono() - w->current_t <= config.observe_stale;
	w->answered = 0;
	w->last_byte = mono();
	snprintf(w->rv, sizeof(w->rv), "%s", rv);
	log_debug("observe: %s%s watch from resourceVersion %s (%d s)", o->tag, kinds[w->k].kind, rv, secs);
}

/*
 * Any catch-up watch still waiting?  For its bookmark; or, when the kept
 * view it resumes is still current (fresh), only for its replay: the
 * server writes the changes since the kept resourceVersion right after
 * the headers, so the answer's first SETTLE seconds of quiet end it
 * (the view stays current by its kept date; the bookmark renews that).
 */
static int settled(const struct watch *w)
{
	return w->fresh && w->answered && mono() - w->last_byte >= SETTLE;
}

static int catching_up(const struct observe *o)
{
	for (int k = 0; k < NKINDS; k++) {
		const struct watch *w = &o->w[k];

		if (w->c && w->catchup && !w->ended && !w->gone && !w->broken && !settled(w))
			return 1;
	}
	return 0;
}

/*
 * Read what the open watches have, for up to wait seconds while a
 * catch-up watch waits for its bookmark (0: only what is there now).
 */
static void pump(struct observe *o, double wait)
{
	double until = mono() + wait;

	for (int rounds = 0;; rounds++) {
		int running = 0, nfds = 0, left;
		CURLMsg *msg;
		double now = mono();

		o->mark = o->last_read; /* what is read now was sent after the last read */
		o->last_read = now;
		curl_multi_perform(o->m, &running);
		while ((msg = curl_multi_info_read(o->m, &left))) {
			struct watch *w = NULL;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&w);
			if (!w)
				continue;
			if (!w->code) {
				curl_easy_getinfo(w->c, CURLINFO_RESPONSE_CODE, &w->code);
				k8s_count(o->k, K8S_V_LIST, (int)w->code);
			}
			w->ended = 1;
			if (msg->data.result != CURLE_OK || w->code != 200) {
				struct k8s_status st;

				k8s_parse_status(&st, (int)w->code, w->in.s ? w->in.s : "",
						 w->in.len, "application/json", NULL);
				if (w->code == 410)
					w->gone = 1;
				else
					w->broken = 1;
				log_info("observe: %s%s watch ended: %s%s%s", o->tag, kinds[w->k].kind,
					 msg->data.result != CURLE_OK
					     ? curl_easy_strerror(msg->data.result)
					     : st.reason,
					 *st.message ? ": " : "", st.message);
			}
		}
		if ((wait > 0 && (!catching_up(o) || mono() >= until)) || rounds > 1000)
			break;
		left = wait > 0 ? (int)((until - mono()) * 1000) : 0;
		if (left > 100)
			left = 100;
		if (left < 0)
			left = 0;
		curl_multi_poll(o->m, NULL, 0, left, &nfds);
		if (wait <= 0 && !nfds)
			break; /* nothing more to read now */
	}
}

/* ---- the pass's view --------------------------------------------------------------- */

struct observe *observe_new(struct k8s *k, const char *cluster, const char *owner, double run_for)
{
	struct observe *o = calloc(1, sizeof(*o));

	if (!o)
		die_oom();
	o->k = k;
	snprintf(o->cluster, sizeof(o->cluster), "%s", cluster);
	if (strcmp(cluster, "default"))
		snprintf(o->tag, sizeof(o->tag), "cluster %s: ", cluster);
	snprintf(o->owner, sizeof(o->owner), "%s", owner);
	o->end = mono() + run_for;
	o->last_read = o->mark = mono();
	o->m = curl_multi_init();
	if (!o->m)
		die_oom();
	for (int i = 0; i < NKINDS; i++) {
		o->w[i].o = o;
		o->w[i].k = i;
		o->w[i].pending = json_object();
	}
	return o;
}

void observe_free(struct observe *o)
{
	if (!o)
		return;
	for (int i = 0; i < NKINDS; i++) {
		drop_watch(&o->w[i]);
		buf_release(&o->w[i].in);
		json_decref(o->w[i].pending);
	}
	curl_multi_cleanup(o->m);
	free(o);
}

/* Take or renew kind w's lease.  OUT: stored, the kept resourceVersion.  0 or -1. */
static int take(struct observe *o, struct arena *a, struct watch *w, char *stored, size_t n,
		struct err *e)
{
	char ks[8], hs[16], secs[16];
	const char *p[6] = {ks, o->owner, hs, w->owned ? w->token : "-1", secs, o->cluster};
	PGresult *res;

	kstr(ks, sizeof(ks), w->k);
	snprintf(hs, sizeof(hs), "%d", lease_holder_id());
	snprintf(secs, sizeof(secs), "%d", config.lease_seconds);
	if (!(res = db_run(a, &st_take, p, e)))
		return -1;
	if (db_rows(res) != 1) {
		if (w->owned)
			lost(w);
		return 0;
	}
	if (!w->owned || strcmp(w->token, db_get(res, 0, 0))) {
		/* newly ours: whatever this process had of the kind is not to be trusted */
		drop_watch(w);
		json_object_clear(w->pending);
		w->current_t = 0;
		w->rv[0] = 0;
		log_info("observe: %s%s: this host owns the watch (token %s)", o->tag, kinds[w->k].kind,
			 db_get(res, 0, 0));
	}
	w->owned = 1;
	w->taken = mono();
	snprintf(w->token, sizeof(w->token), "%s", db_get(res, 0, 0));
	snprintf(stored, n, "%s", db_get(res, 0, 1));
	if (!w->current_t) {
		/* the kept view's own date: a resume from it needs no new proof until it ages */
		double age = strtod(db_get(res, 0, 2), NULL);

		if (age >= 0 && age <= config.observe_stale && *stored)
			w->current_t = mono() - age;
	}
	return 0;
}

/*
 * Re-list kind w unless a LIST already failed this pass (the cluster is in
 * trouble: one failure is enough to say so, and each costs the client's
 * whole deadline).  The first failure is kept in *fke / *fe.
 */
static void relist_once(struct observe *o, struct arena *a, struct watch *w,
			struct observe_stats *st, struct k8s_err *fke, struct err *fe)
{
	struct k8s_err ke;
	struct err e = ERR_INIT;
	int rc;

	if (fe->status)
		return;
	memset(&ke, 0, sizeof(ke));
	rc = relist(o, a, w, &ke, &e);
	if (rc < 0) {
		log_warn("%s", e.msg);
		*fke = ke;
		*fe = e;
		if (!fe->status)
			fe->status = 502;
	} else if (rc == 0) {
		st->listed++;
	}
}

/*
 * Bring the kinds this host owns up to date in PostgreSQL.  Database
 * errors are logged (the view's currency tells the pass what it can
 * trust); a failed LIST is kept in fke / fe.
 */
static void sync_owned(struct observe *o, struct arena *a, struct observe_stats *st,
		       struct k8s_err *fke, struct err *fe)
{
	char stored[NKINDS][32];
	int relisted[NKINDS] = {0};
	struct err e = ERR_INIT;

	if (lease_holder_ensure(a, &e) < 0) {
		log_warn("observe: %s%s", o->tag, e.msg);
		return;
	}
	for (int k = 0; k < NKINDS; k++) {
		struct watch *w = &o->w[k];

		err_clear(&e);
		stored[k][0] = 0;
		if (take(o, a, w, stored[k], sizeof(stored[k]), &e) < 0) {
			log_warn("observe: %s%s lease: %s", o->tag, kinds[k].kind, e.msg);
			continue;
		}
		if (!w->owned || w->c)
			continue;
		if (!*w->rv && !*stored[k]) {
			relist_once(o, a, w, st, fke, fe);
			relisted[k] = w->owned && *w->rv;
		} else if (w->current_t && mono() - w->current_t < config.observe_stale && *w->rv &&
			   o->end > mono()) {
			open_watch(o, w, w->rv, 0); /* the last one ended: on from where it was */
			st->resumed++;
		} else {
			open_watch(o, w, *w->rv ? w->rv : stored[k], 1);
			st->resumed++;
		}
	}
	/*
	 * A kind listed early in a long re-list is dated at its LIST's start:
	 * with no bookmark read since (a --once run opens no watch after a
	 * LIST; a --for run's comes within the server's bookmark period), it
	 * would be stale by the pass and listed again, and again.  A catch-up
	 * watch from its resourceVersion proves it current (its bookmark)
	 * within about a second, and applies what changed since.
	 */
	for (int k = 0; k < NKINDS; k++) {
		struct watch *w = &o->w[k];

		if (relisted[k] && w->owned && *w->rv &&
		    (!w->current_t || mono() - w->current_t > config.observe_stale / 2.0)) {
			open_watch(o, w, w->rv, 1);
			w->fresh = 0; /* the bookmark, not the replay's end: the date is the point */
		}
	}
	pump(o, 0);
	pump(o, CATCHUP_TIMEOUT + 1);
	for (int k = 0; k < NKINDS; k++) {
		struct watch *w = &o->w[k];
		int stale;

		if (!w->owned)
			continue;
		err_clear(&e);
		/*
		 * The re-lists of the kinds after this one may have outlasted its
		 * lease: renew it (same token, so nobody wrote in between) before
		 * its fenced writes; lost, it writes nothing.
		 */
		if (mono() - w->taken > config.lease_seconds / 2.0 &&
		    take(o, a, w, stored[k], sizeof(stored[k]), &e) < 0) {
			log_warn("observe: %s%s lease: %s", o->tag, kinds[k].kind, e.msg);
			continue;
		}
		if (!w->owned)
			continue;
		st->events += (int)json_object_size(w->pending);
		if (w->gone) {
			/* 410: the kept resourceVersion is older than the server's window */
			log_info("observe: %s%s: resourceVersion %s expired: re-listing", o->tag,
				 kinds[k].kind, w->rv);
			relist_once(o, a, w, st, fke, fe);
			continue;
		}
		if (flush(a, w, &e) < 0) {
			log_warn("observe: %s%s: %s", o->tag, kinds[k].kind, e.msg);
			continue;
		}
		if (!w->owned)
			continue;
		/* a resume that neither bookmarked nor settled proves nothing */
		if (w->broken || (w->catchup && !settled(w)))
			w->current_t = 0;
		if (w->ended || w->broken)
			drop_watch(w); /* reopened from w->rv at the next pass */
		stale = !w->current_t || mono() - w->current_t > config.observe_stale;
		if (stale) {
			log_info("observe: %s%s: the watch did not advance within %d s: re-listing", o->tag,
				 kinds[k].kind, config.observe_stale);
			relist_once(o, a, w, st, fke, fe);
		}
	}
}

int observe_view(struct observe *o, struct arena *a, int own, json_t **by, struct observe_stats *st,
		 struct k8s_err *ke, struct err *e)
{
	json_t *view;
	struct err fe = ERR_INIT;
	int cur;

	memset(st, 0, sizeof(*st));
	memset(ke, 0, sizeof(*ke));
	*by = NULL;
	if (own)
		sync_owned(o, a, st, ke, &fe);
	st->failed = fe.status != 0;
	for (int k = 0; k < NKINDS && !st->failed; k++)
		if (o->w[k].owned && (o->w[k].code == 200 || st->listed))
			st->reached = 1;
	cur = view_current(o, a, st->why, sizeof(st->why), e);
	if (cur < 0)
		return -1;
	if (cur)
		return 0;
	st->fallback = 1;
	if (fe.status) {
		/* this pass's LIST failed already: the cluster is in trouble, no second try */
		*e = fe;
		return -1;
	}
	log_info("observe: %snot judging from the shared view: %s; listing the cluster for this pass", o->tag,
		 st->why);
	*by = view = arena_json(a, json_object());
	if (list_direct(o, view, ke, e) < 0) {
		st->failed = 1;
		return -1;
	}
	st->reached = 1;
	return 0;
}
