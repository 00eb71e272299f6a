/* watch.c - ?watch=1 as the API server's watch: initial state or a replay from a resourceVersion,
 * then live events in resourceVersion order, bookmarks, timeouts, slow watchers dropped. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kubesim.h"

/*
 * How it works (the API server's cacher, k8s.io/apiserver pkg/storage/cacher):
 *
 * - ks_watch_begin (under ks_lock) validates the options as
 *   ValidateListOptions does, then writes the watch's backlog into its
 *   output buffer: the synthetic ADDED events of the current state
 *   ("Get State and Start at Most Recent/Any"), or the kept changes after
 *   the resourceVersion asked for ("Start at Exact"), or an ERROR event
 *   with a 410 Expired Status when that resourceVersion is older than the
 *   change log (--watch-window).  Then it puts the watch on the dispatch
 *   list, all under the lock, so nothing is lost or sent twice between the
 *   backlog and the live events.
 * - Every logged change goes through ks_watch_dispatch (under ks_lock, in
 *   resourceVersion order): each watch filters it (kind, namespace, label
 *   and field selectors, on the old and the new state: a change that
 *   enters a selector is ADDED, one that leaves it DELETED with the old
 *   state at the new resourceVersion) and gets the serialized line, shared
 *   between watches, on its own queue.  A watch whose queue is full (more
 *   than --watch-queue events waiting: its client does not read) is
 *   dropped as the cacher drops a blocked watcher: its stream ends, and the
 *   client watches again from the last resourceVersion it saw.  A write
 *   costs the same whatever the readers do.
 * - ks_watch_read runs in the connection's thread without ks_lock: it
 *   sends the backlog, then the queue, BOOKMARKs when due (every
 *   --watch-bookmark-ms and 2 s before timeoutSeconds ends, as the cacher
 *   does), and ends the stream at timeoutSeconds.  It notices a client
 *   that went away by polling the socket, so the watch is freed within a
 *   quarter of a second even when nothing is sent.
 */

#define DEFAULT_TIMEOUT_S 1800 /* the API server's --min-request-timeout */
#define COALESCE_MS	  5    /* a woken watcher waits this long for more before sending */
#define SLICE_MS	  250

/* One serialized event line ({"type":...,"object":...}\n), shared by the watches that get it. */
struct ev {
	int refs; /* atomic */
	size_t len;
	char s[];
};

struct ks_watch {
	struct ks_watch *prev, *next; /* the dispatch list (ks_lock) */
	int listed;
	const struct ks_resource *r;
	char *ns; /* NULL = all namespaces */
	struct ks_sel *sel;
	char fname[300];
	int fneg;
	json_t *fterms;
	int table, headers_sent; /* one-row Tables (kubectl get -w); headers_sent under ks_lock */
	int bookmarks;
	int fd;
	uint64_t min_rv;			       /* a bookmark never says less than this */
	int64_t deadline, next_bookmark, end_bookmark; /* ms, monotonic; 0 = none */
	struct buf out;				       /* what to send next (the backlog first) */
	size_t out_pos;
	int ended; /* the backlog is the whole stream (an ERROR) */
	/* the queue, filled by ks_watch_dispatch */
	pthread_mutex_t m;
	pthread_cond_t cond;
	struct ev **q;
	size_t qcap, qhead, qlen;
	uint64_t last_rv; /* of the last event queued */
	int dropped;
};

static struct ks_watch *watches;
static long n_watches, n_started, n_dropped;
static uint64_t dispatched_rv; /* atomic: every change up to this one is on the queues */

static struct ev *ev_new(const char *type, const char *obj, size_t olen)
{
	static const char pre[] = "{\"type\":\"", mid[] = "\",\"object\":", post[] = "}\n";
	size_t tl = strlen(type);
	struct ev *e = malloc(sizeof(*e) + sizeof(pre) + tl + sizeof(mid) + olen + sizeof(post));
	char *p;

	if (!e)
		die_oom();
	e->refs = 1;
	p = e->s;
	memcpy(p, pre, sizeof(pre) - 1);
	p += sizeof(pre) - 1;
	memcpy(p, type, tl);
	p += tl;
	memcpy(p, mid, sizeof(mid) - 1);
	p += sizeof(mid) - 1;
	memcpy(p, obj, olen);
	p += olen;
	memcpy(p, post, sizeof(post) - 1);
	p += sizeof(post) - 1;
	*p = 0;
	e->len = (size_t)(p - e->s);
	return e;
}

static struct ev *ev_json(const char *type, const json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);
	struct ev *e;

	if (!s)
		die_oom();
	e = ev_new(type, s, strlen(s));
	free(s);
	return e;
}

static void ev_put(struct ev *e)
{
	if (e && __atomic_sub_fetch(&e->refs, 1, __ATOMIC_ACQ_REL) == 0)
		free(e);
}

static const json_t *labels_of(const json_t *o)
{
	return json_object_get(json_object_get(o, "metadata"), "labels");
}

/* Does o (an object of w's kind in namespace ns, named name) pass w's selectors? */
static int passes(const struct ks_watch *w, const char *ns, const char *name, const json_t *o)
{
	if (w->ns && strcmp(w->ns, ns))
		return 0;
	if (*w->fname && (!strcmp(name, w->fname)) == w->fneg)
		return 0;
	if (json_array_size(w->fterms) && !ks_fields_match(w->fterms, o))
		return 0;
	return ks_sel_match(w->sel, labels_of(o));
}

/* Event variants of one change, each serialized at most once per dispatch. */
enum { V_ADDED, V_MODIFIED, V_DELETED, V_LEFT, NV };
static const char *const vtype[NV] = {"ADDED", "MODIFIED", "DELETED", "DELETED"};

/* Which event c is for w (V_*), or -1 for none. */
static int variant(const struct ks_watch *w, const struct ks_change *c)
{
	int now, before;

	if (c->res != w->r)
		return -1;
	now = passes(w, c->ns, c->name, c->o);
	if (c->type == KS_ADDED)
		return now ? V_ADDED : -1;
	if (c->type == KS_DELETED)
		return now ? V_DELETED : -1;
	before = c->prev && passes(w, c->ns, c->name, c->prev);
	if (now)
		return before ? V_MODIFIED : V_ADDED;
	return before ? V_LEFT : -1;
}

/* The object of variant v: the old state at the change's resourceVersion when it left. New ref. */
static json_t *variant_obj(const struct ks_change *c, int v)
{
	json_t *o;
	char rv[32];

	if (v != V_LEFT)
		return json_incref(c->o);
	o = json_deep_copy(c->prev);
	snprintf(rv, sizeof(rv), "%llu", (unsigned long long)c->rv);
	json_object_set_new(json_object_get(o, "metadata"), "resourceVersion", json_string(rv));
	return o;
}

/* The line of change c for w: shared through cache[] unless w wants Tables (lock held). */
static struct ev *line_for(struct ks_watch *w, const struct ks_change *c, int v, struct ev **cache)
{
	json_t *o = variant_obj(c, v);
	struct ev *e;

	if (w->table) {
		json_t *t = ks_table_event(w->r, o, !w->headers_sent);

		w->headers_sent = 1;
		e = ev_json(vtype[v], t);
		json_decref(t);
	} else {
		if (!cache[v])
			cache[v] = ev_json(vtype[v], o);
		e = cache[v];
		__atomic_add_fetch(&e->refs, 1, __ATOMIC_RELAXED);
	}
	json_decref(o);
	return e;
}

static void queue_clear(struct ks_watch *w)
{
	while (w->qlen) {
		ev_put(w->q[w->qhead]);
		w->qhead = (w->qhead + 1) % w->qcap;
		w->qlen--;
	}
}

void ks_watch_dispatch(const struct ks_change *c)
{
	struct ev *cache[NV] = {NULL};
	struct ks_watch *w;
	int i;

	for (w = watches; w; w = w->next) {
		int v = variant(w, c);
		struct ev *e;

		if (v < 0 || c->rv <= w->min_rv)
			continue;
		e = line_for(w, c, v, cache);
		pthread_mutex_lock(&w->m);
		if (w->dropped) {
			ev_put(e);
		} else if (w->qlen == w->qcap) {
			/* the cacher's blocked watcher: its stream ends, the client re-watches */
			ev_put(e);
			queue_clear(w);
			w->dropped = 1;
			n_dropped++;
			pthread_cond_signal(&w->cond);
		} else {
			w->q[(w->qhead + w->qlen) % w->qcap] = e;
			if (!w->qlen++)
				pthread_cond_signal(&w->cond);
			w->last_rv = c->rv;
		}
		pthread_mutex_unlock(&w->m);
	}
	for (i = 0; i < NV; i++)
		ev_put(cache[i]);
	__atomic_store_n(&dispatched_rv, c->rv, __ATOMIC_RELEASE);
}

json_t *ks_watch_stats(void)
{
	return json_pack("{s:I,s:I,s:I}", "open", (json_int_t)n_watches, "started",
			 (json_int_t)n_started, "dropped", (json_int_t)n_dropped);
}

/* --- the backlog (lock held) ------------------------------------------------------------- */

static void out_ev(struct ks_watch *w, struct ev *e)
{
	buf_add(&w->out, e->s, e->len);
	ev_put(e);
}

static void bookmark(struct ks_watch *w, uint64_t rv, int initial_end)
{
	char obj[512];

	if (w->table)
		snprintf(obj, sizeof(obj),
			 "{\"kind\":\"Table\",\"apiVersion\":\"meta.k8s.io/v1\",\"metadata\":{"
			 "\"resourceVersion\":\"%llu\"},\"columnDefinitions\":[],\"rows\":[]}",
			 (unsigned long long)rv);
	else
		snprintf(obj, sizeof(obj),
			 "{\"kind\":\"%s\",\"apiVersion\":\"%s\",\"metadata\":{\"resourceVersion\":"
			 "\"%llu\"%s}}",
			 w->r->kind, ks_api_version(w->r), (unsigned long long)rv,
			 initial_end ? ",\"annotations\":{\"k8s.io/initial-events-end\":\"true\"}"
				     : "");
	out_ev(w, ev_new("BOOKMARK", obj, strlen(obj)));
}

/* The stream is one ERROR event carrying a Status, then ends (the cacher's errWatcher). */
static void error_event(struct ks_watch *w, json_t *status)
{
	out_ev(w, ev_json("ERROR", status));
	json_decref(status);
	w->ended = 1;
}

static void initial_state(struct ks_watch *w)
{
	struct ks_obj **v;
	size_t n = ks_store_select(w->r, w->ns, w->sel, &v), i;

	for (i = 0; i < n; i++) {
		json_t *o = v[i]->o;

		if (!passes(w, v[i]->ns, v[i]->name, o))
			continue;
		if (w->table) {
			json_t *t = ks_table_event(w->r, o, !w->headers_sent);

			w->headers_sent = 1;
			out_ev(w, ev_json("ADDED", t));
			json_decref(t);
		} else {
			out_ev(w, ev_json("ADDED", o));
		}
	}
	free(v);
}

/* The kept changes after rv, or a 410 when rv is older than what is kept. */
static void replay(struct ks_watch *w, uint64_t rv)
{
	uint64_t seq, first = ks_store_first_seq(), oldest;
	const struct ks_change *c = ks_store_change(first);

	/* watchCacheHistory.getAllEventsSinceLocked: the oldest deliverable resourceVersion */
	oldest = c ? c->rv : ks_store_rv() + 1;
	if (rv < oldest - 1) {
		char msg[128];

		snprintf(msg, sizeof(msg), "too old resource version: %llu (%llu)",
			 (unsigned long long)rv, (unsigned long long)(oldest - 1));
		error_event(w, json_pack("{s:s,s:s,s:{},s:s,s:s,s:s,s:i}", "kind", "Status",
					 "apiVersion", "v1", "metadata", "status", "Failure",
					 "message", msg, "reason", "Expired", "code", 410));
		return;
	}
	for (seq = ks_store_seq_after(rv); (c = ks_store_change(seq)); seq++) {
		struct ev *cache[NV] = {NULL};
		int v = variant(w, c), i;

		if (v >= 0)
			out_ev(w, line_for(w, c, v, cache));
		for (i = 0; i < NV; i++)
			ev_put(cache[i]);
	}
}

/* --- begin ---------------------------------------------------------------------------- */

/* 422 Invalid for ListOptions, the API server's ValidateListOptions answer. */
static void invalid_options(struct ks_req *q, json_t *causes)
{
	struct buf msg = BUF_INIT;
	size_t i, n = json_array_size(causes);
	json_t *c;

	buf_adds(&msg, "ListOptions.meta.k8s.io \"\" is invalid: ");
	if (n > 1)
		buf_addch(&msg, '[');
	json_array_foreach(causes, i, c) {
		buf_addf(&msg, "%s%s: %s", i ? ", " : "",
			 json_string_value(json_object_get(c, "field")),
			 json_string_value(json_object_get(c, "message")));
	}
	if (n > 1)
		buf_addch(&msg, ']');
	ks_status(q, 422, "Invalid", msg.s,
		  json_pack("{s:s,s:s,s:o}", "group", "meta.k8s.io", "kind", "ListOptions",
			    "causes", causes));
	buf_release(&msg);
}

static void cause(json_t *causes, const char *reason, const char *field, const char *msg)
{
	json_array_append_new(
	    causes, json_pack("{s:s,s:s,s:s}", "reason", reason, "message", msg, "field", field));
}

/*
 * validateWatchOptions (k8s.io/apimachinery pkg/apis/meta/internalversion/
 * validation), with the WatchList feature on as in 1.32 and later.
 */
static int valid_options(struct ks_req *q, int has_sie, const char *match)
{
	json_t *causes = json_array();
	char buf[300];

	if (has_sie && strcmp(match, "NotOlderThan"))
		cause(causes, "FieldValueForbidden", "resourceVersionMatch",
		      "Forbidden: sendInitialEvents requires setting resourceVersionMatch to "
		      "NotOlderThan");
	if (*match) {
		if (!has_sie)
			cause(causes, "FieldValueForbidden", "resourceVersionMatch",
			      "Forbidden: resourceVersionMatch is forbidden for watch unless "
			      "sendInitialEvents is provided");
		if (strcmp(match, "NotOlderThan")) {
			snprintf(
			    buf, sizeof(buf),
			    "Unsupported value: \"%.200s\": supported values: \"NotOlderThan\"",
			    match);
			cause(causes, "FieldValueNotSupported", "resourceVersionMatch", buf);
		}
	}
	if (json_array_size(causes)) {
		invalid_options(q, causes);
		return 0;
	}
	json_decref(causes);
	return 1;
}

/* A query value that must be a whole number: 0 and the value, or -1 with a 400 answered. */
static int number(struct ks_req *q, const char *key, const char *s, unsigned long long *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	if (*s >= '0' && *s <= '9' && !*end && !errno)
		return 0;
	if (!strcmp(key, "resourceVersion")) {
		/* APIObjectVersioner.ParseResourceVersion, made Invalid by InterpretWatchError */
		struct buf msg = BUF_INIT;
		char m[400];

		ks_group_resource(&msg, q->res);
		snprintf(m, sizeof(m),
			 "Invalid value: \"%.100s\": strconv.ParseUint: parsing \"%.100s\": "
			 "invalid syntax",
			 s, s);
		buf_addf(&msg, " \"\" is invalid: resourceVersion: %s", m);
		ks_status(q, 422, "Invalid", msg.s,
			  json_pack("{s:s,s:s,s:[{s:s,s:s,s:s}]}", "group", q->res->group, "kind",
				    q->res->plural, "causes", "reason", "FieldValueInvalid",
				    "message", m, "field", "resourceVersion"));
		buf_release(&msg);
		return -1;
	}
	{
		char m[300];

		snprintf(m, sizeof(m), "strconv.ParseInt: parsing \"%.100s\": invalid syntax", s);
		ks_status(q, 400, "BadRequest", m, NULL);
	}
	return -1;
}

void ks_watch_begin(struct ks_req *q, const struct ks_resource *r, const char *ns)
{
	struct ks_watch *w = calloc(1, sizeof(*w));
	struct err e = ERR_INIT;
	char ls[1024], fs[512], fns[256] = "", rv[64], to[32], match[64], sie[16];
	int has_rv, has_sie, initial;
	unsigned long long rvn = 0, tos = 0;
	int64_t now = ks_now_ms();
	pthread_condattr_t ca;

	if (!w)
		die_oom();
	w->fd = -1;
	w->fterms = json_array();
	buf_init(&w->out, 0);
	pthread_mutex_init(&w->m, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cond, &ca);
	pthread_condattr_destroy(&ca);
	w->r = r;

	ks_query(q->query, "labelSelector", ls, sizeof(ls));
	if (ks_sel_parse(ls, &w->sel, &e) < 0) {
		ks_status(q, 400, "BadRequest", e.msg, NULL);
		goto fail;
	}
	ks_query(q->query, "fieldSelector", fs, sizeof(fs));
	if (*fs && ks_field_sel(q, fs, w->fname, sizeof(w->fname), fns, sizeof(fns), &w->fneg,
				w->fterms) < 0)
		goto fail;
	if (*fns)
		ns = ns && strcmp(ns, fns) ? "\x01" : fns; /* another namespace: nothing */
	ks_query(q->query, "resourceVersionMatch", match, sizeof(match));
	has_sie = ks_query(q->query, "sendInitialEvents", sie, sizeof(sie));
	if (!valid_options(q, has_sie, match))
		goto fail;
	has_rv = ks_query(q->query, "resourceVersion", rv, sizeof(rv)) && *rv;
	if (has_rv && number(q, "resourceVersion", rv, &rvn) < 0)
		goto fail;
	if (ks_query(q->query, "timeoutSeconds", to, sizeof(to)) && *to &&
	    number(q, "timeoutSeconds", to, &tos) < 0)
		goto fail;

	w->ns = ns ? strdup(ns) : NULL;
	if (ns && !w->ns)
		die_oom();
	w->table = ks_wants_table(q->accept);
	w->bookmarks = ks_qbool(q, "allowWatchBookmarks");
	w->deadline =
	    now + (tos > 0 ? (int64_t)(tos > 1000000 ? 1000000 : tos) : DEFAULT_TIMEOUT_S) * 1000;
	if (w->bookmarks) {
		w->next_bookmark =
		    now + (ks_opt.watch_bookmark_ms > 0 ? ks_opt.watch_bookmark_ms : 60000);
		if (tos > 0 && w->deadline - 2000 > now)
			w->end_bookmark = w->deadline - 2000;
	}
	w->qcap = ks_opt.watch_queue > 0 ? (size_t)ks_opt.watch_queue : 1;
	w->q = calloc(w->qcap, sizeof(*w->q));
	if (!w->q)
		die_oom();

	/*
	 * sendInitialEvents=true: the state, then (with bookmarks) the
	 * initial-events-end BOOKMARK; =false: changes only.  Unset: the
	 * state for resourceVersion unset or "0", a replay for any other.
	 */
	initial =
	    has_sie ? (!strcmp(sie, "true") || !strcmp(sie, "1") || !*sie) : (!has_rv || rvn == 0);
	w->min_rv = has_rv ? rvn : 0;
	if (initial && has_sie && has_rv && rvn > ks_store_rv()) {
		/*
		 * NotOlderThan a resourceVersion not reached: the cacher waits 3 s
		 * for it (waitUntilFreshAndBlock), then sends this; kubesim's
		 * store is always current, so it answers at once.
		 */
		char msg[160];

		snprintf(msg, sizeof(msg), "Too large resource version: %llu, current: %llu", rvn,
			 (unsigned long long)ks_store_rv());
		error_event(w, json_pack("{s:s,s:s,s:{},s:s,s:s,s:s,s:{s:[{s:s,s:s}],s:i},s:i}",
					 "kind", "Status", "apiVersion", "v1", "metadata", "status",
					 "Failure", "message", msg, "reason", "Timeout", "details",
					 "causes", "reason", "ResourceVersionTooLarge", "message",
					 "Too large resource version", "retryAfterSeconds", 1,
					 "code", 504));
	} else if (initial) {
		initial_state(w);
		if (has_sie && w->bookmarks)
			bookmark(w, ks_store_rv(), 1);
	} else if (has_rv && rvn > 0) {
		replay(w, rvn);
	}
	if (!w->ended) {
		w->next = watches;
		if (watches)
			watches->prev = w;
		watches = w;
		w->listed = 1;
		n_watches++;
	}
	n_started++;
	q->watch = w;
	q->status = 200;
	q->resp_ctype = "application/json";
	return;
fail:
	ks_watch_free(w);
}

void ks_watch_set_fd(struct ks_watch *w, int fd)
{
	w->fd = fd;
}

/* --- the stream (the connection's thread) ------------------------------------------------ */

static int client_gone(const struct ks_watch *w)
{
	struct pollfd p = {.fd = w->fd, .events = POLLRDHUP};

	if (w->fd < 0)
		return 0;
	return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

static void wait_until(struct ks_watch *w, int64_t until_ms)
{
	struct timespec ts;
	int64_t now = ks_now_ms(), d = until_ms - now;

	if (d > SLICE_MS)
		d = SLICE_MS;
	if (d <= 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += d / 1000;
	ts.tv_nsec += (long)(d % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&w->cond, &w->m, &ts);
}

long ks_watch_read(struct ks_watch *w, char *out, size_t max)
{
	for (;;) {
		int64_t now, wake;
		uint64_t d;
		int woke;

		if (w->out_pos < w->out.len) {
			size_t n = w->out.len - w->out_pos;

			if (n > max)
				n = max;
			memcpy(out, w->out.s + w->out_pos, n);
			w->out_pos += n;
			if (w->out_pos == w->out.len) {
				buf_reset(&w->out);
				w->out_pos = 0;
			}
			return (long)n;
		}
		if (w->ended || ks_stopping)
			return -1;
		now = ks_now_ms();
		if (now >= w->deadline)
			return -1;
		if (client_gone(w))
			return -2;
		d = __atomic_load_n(&dispatched_rv, __ATOMIC_ACQUIRE);
		pthread_mutex_lock(&w->m);
		if (w->dropped) {
			pthread_mutex_unlock(&w->m);
			return -1;
		}
		if (w->qlen) {
			while (w->qlen) {
				struct ev *e = w->q[w->qhead];

				buf_add(&w->out, e->s, e->len);
				ev_put(e);
				w->qhead = (w->qhead + 1) % w->qcap;
				w->qlen--;
			}
			pthread_mutex_unlock(&w->m);
			continue;
		}
		if (w->bookmarks && ((w->next_bookmark && now >= w->next_bookmark) ||
				     (w->end_bookmark && now >= w->end_bookmark))) {
			/* every event up to d is queued, and the queue is empty: all sent */
			uint64_t rv = d > w->last_rv ? d : w->last_rv;

			pthread_mutex_unlock(&w->m);
			if (now >= w->end_bookmark && w->end_bookmark)
				w->end_bookmark = 0;
			if (now >= w->next_bookmark)
				w->next_bookmark =
				    now + (ks_opt.watch_bookmark_ms > 0 ? ks_opt.watch_bookmark_ms
									: 60000);
			if (rv >= w->min_rv && rv > 0)
				bookmark(w, rv, 0);
			continue;
		}
		wake = w->deadline;
		if (w->bookmarks && w->next_bookmark && w->next_bookmark < wake)
			wake = w->next_bookmark;
		if (w->bookmarks && w->end_bookmark && w->end_bookmark < wake)
			wake = w->end_bookmark;
		wait_until(w, wake);
		woke = w->qlen > 0;
		pthread_mutex_unlock(&w->m);
		if (woke) {
			/* let a burst gather: one TLS record and one send for many events */
			struct timespec ts = {0, COALESCE_MS * 1000000L};

			nanosleep(&ts, NULL);
		}
	}
}

void ks_watch_free(struct ks_watch *w)
{
	if (!w)
		return;
	if (w->listed) {
		pthread_mutex_lock(&ks_lock);
		if (w->prev)
			w->prev->next = w->next;
		else
			watches = w->next;
		if (w->next)
			w->next->prev = w->prev;
		n_watches--;
		pthread_mutex_unlock(&ks_lock);
	}
	if (w->q)
		queue_clear(w);
	free(w->q);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->m);
	ks_sel_free(w->sel);
	json_decref(w->fterms);
	free(w->ns);
	buf_release(&w->out);
	free(w);
}
