/* watch.c - ?watch=true: a polling diff of the watched selection, streamed as JSON watch events. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kubesim.h"

/*
 * A watch first sends the current matching objects as ADDED (those newer
 * than the resourceVersion asked for, if any), then follows the store's
 * change log (a ring of the last 16384 changes).  A watcher that falls
 * further behind than the ring gets an ERROR event with a 410 Expired
 * Status and the stream ends, as with a real server's watch cache.  A
 * watch that asks for Tables (kubectl get -w) gets each object as a
 * one-row Table.
 */

struct ks_watch {
	const struct ks_resource *r;
	char *ns; /* NULL = all */
	struct ks_sel *sel;
	char fname[300];
	uint64_t seq; /* next change-log entry to read */
	uint64_t since;
	int64_t deadline;
	struct buf pending;
	int started;
	int table, headers_sent; /* Accept asked for meta.k8s.io Tables (kubectl get -w) */
};

void ks_watch_free(struct ks_watch *w)
{
	if (!w)
		return;
	ks_sel_free(w->sel);
	free(w->ns);
	buf_release(&w->pending);
	free(w);
}

void ks_watch_begin(struct ks_req *q, const struct ks_resource *r, const char *ns)
{
	struct ks_watch *w = calloc(1, sizeof(*w));
	struct err e = ERR_INIT;
	char ls[1024], fs[512], rv[32], to[16];

	if (!w)
		die_oom();
	ks_query(q->query, "labelSelector", ls, sizeof(ls));
	if (ks_sel_parse(ls, &w->sel, &e) < 0) {
		ks_status(q, 400, "BadRequest", e.msg, NULL);
		ks_watch_free(w);
		return;
	}
	ks_query(q->query, "fieldSelector", fs, sizeof(fs));
	if (!strncmp(fs, "metadata.name=", 14))
		snprintf(w->fname, sizeof(w->fname), "%s", fs + 14 + (fs[14] == '='));
	w->r = r;
	w->ns = ns ? strdup(ns) : NULL;
	w->table = ks_wants_table(q->accept);
	ks_query(q->query, "resourceVersion", rv, sizeof(rv));
	w->since = strtoull(rv, NULL, 10);
	w->deadline = ks_now_ms() + 1800 * 1000;
	if (ks_query(q->query, "timeoutSeconds", to, sizeof(to)) && atoi(to) > 0)
		w->deadline = ks_now_ms() + (int64_t)atoi(to) * 1000;
	buf_init(&w->pending, 0);
	q->watch = w;
	q->status = 200;
	q->resp_ctype = "application/json";
}

static void event(struct ks_watch *w, const char *type, const json_t *o)
{
	char *s;

	if (w->table) {
		json_t *t = ks_table_event(w->r, o, !w->headers_sent);

		w->headers_sent = 1;
		s = json_dumps(t, JSON_COMPACT);
		json_decref(t);
	} else {
		s = json_dumps(o, JSON_COMPACT);
	}
	buf_addf(&w->pending, "{\"type\":\"%s\",\"object\":%s}\n", type, s ? s : "{}");
	free(s);
}

static int wanted(const struct ks_watch *w, const struct ks_resource *r, const char *ns,
		  const char *name, const json_t *o)
{
	if (r != w->r || (w->ns && strcmp(w->ns, ns)) || (*w->fname && strcmp(w->fname, name)))
		return 0;
	return ks_sel_match(w->sel, json_object_get(json_object_get(o, "metadata"), "labels"));
}

static void diff(struct ks_watch *w)
{
	static const char *const types[] = {"ADDED", "MODIFIED", "DELETED"};

	if (!w->started) {
		struct ks_obj **v;
		size_t n = ks_store_select(w->r, w->ns, w->sel, &v), i;

		for (i = 0; i < n; i++)
			if ((!*w->fname || !strcmp(v[i]->name, w->fname)) &&
			    (!w->since || v[i]->rv > w->since))
				event(w, "ADDED", v[i]->o);
		free(v);
		w->seq = ks_store_seq();
		w->started = 1;
		return;
	}
	for (; w->seq < ks_store_seq(); w->seq++) {
		const struct ks_change *c = ks_store_change(w->seq);

		if (!c) {
			buf_adds(&w->pending,
				 "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\","
				 "\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
				 "\"message\":\"too old resource version\",\"reason\":\"Expired\","
				 "\"code\":410}}\n");
			w->deadline = 0;
			w->seq = ks_store_seq();
			return;
		}
		if (wanted(w, c->res, c->ns, c->name, c->o))
			event(w, types[c->type], c->o);
	}
}

long ks_watch_read(struct ks_watch *w, char *out, size_t max)
{
	int tries;

	for (tries = 0; tries < 10; tries++) {
		if (!w->pending.len) {
			if (ks_stopping || ks_now_ms() >= w->deadline)
				return -1;
			pthread_mutex_lock(&ks_lock);
			diff(w);
			pthread_mutex_unlock(&ks_lock);
		}
		if (w->pending.len) {
			size_t n = w->pending.len < max ? w->pending.len : max;

			memcpy(out, w->pending.s, n);
			memmove(w->pending.s, w->pending.s + n, w->pending.len - n);
			buf_setlen(&w->pending, w->pending.len - n);
			return (long)n;
		}
		{
			struct timespec ts = {0, 100 * 1000 * 1000};

			nanosleep(&ts, NULL);
		}
	}
	return 0;
}
