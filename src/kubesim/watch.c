/* watch.c - ?watch=true: a polling diff of the watched selection, streamed as JSON watch events. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kubesim.h"

/*
 * No event log: each read takes the lock, selects the watched objects
 * again and compares their resourceVersions with the last snapshot, so
 * ADDED / MODIFIED / DELETED come out in the right order for one object
 * (intermediate states may be skipped, which watch consumers must handle
 * anyway).  Good for the handful of objects kubectl wait follows.
 */

struct snap {
	char *key;		/* ns/name */
	uint64_t rv;
	json_t *last;		/* last state sent (for DELETED) */
};

struct ks_watch {
	const struct ks_resource *r;
	char *ns;		/* NULL = all */
	struct ks_sel *sel;
	char fname[300];
	struct snap *s;
	size_t n;
	uint64_t since;
	int64_t deadline;
	struct buf pending;
	int started;
};

static void snap_free(struct ks_watch *w)
{
	size_t i;

	for (i = 0; i < w->n; i++) {
		free(w->s[i].key);
		json_decref(w->s[i].last);
	}
	free(w->s);
	w->s = NULL;
	w->n = 0;
}

void ks_watch_free(struct ks_watch *w)
{
	if (!w)
		return;
	snap_free(w);
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
	char *s = json_dumps(o, JSON_COMPACT);

	buf_addf(&w->pending, "{\"type\":\"%s\",\"object\":%s}\n", type, s ? s : "{}");
	free(s);
}

static void diff(struct ks_watch *w)
{
	struct ks_obj **v;
	size_t n, i, j;
	struct snap *ns;
	char key[600];

	n = ks_store_select(w->r, w->ns, w->sel, &v);
	ns = calloc(n + 1, sizeof(*ns));
	if (!ns)
		die_oom();
	j = 0;
	for (i = 0; i < n; i++) {
		size_t k;
		struct snap *old = NULL;

		if (*w->fname && strcmp(v[i]->name, w->fname))
			continue;
		snprintf(key, sizeof(key), "%s/%s", v[i]->ns, v[i]->name);
		for (k = 0; k < w->n; k++)
			if (w->s[k].key && !strcmp(w->s[k].key, key)) {
				old = &w->s[k];
				break;
			}
		if (!w->started) {
			if (!w->since || v[i]->rv > w->since)
				event(w, "ADDED", v[i]->o);
		} else if (!old) {
			event(w, "ADDED", v[i]->o);
		} else if (old->rv != v[i]->rv) {
			event(w, "MODIFIED", v[i]->o);
		}
		if (old) {
			free(old->key);
			old->key = NULL;
		}
		ns[j].key = strdup(key);
		ns[j].rv = v[i]->rv;
		ns[j].last = json_incref(v[i]->o);
		j++;
	}
	for (i = 0; i < w->n; i++)
		if (w->s[i].key) {
			json_t *last = json_deep_copy(w->s[i].last);
			char rv[32];

			snprintf(rv, sizeof(rv), "%llu", (unsigned long long)ks_store_rv());
			json_object_set_new(json_object_get(last, "metadata"), "resourceVersion",
					    json_string(rv));
			event(w, "DELETED", last);
			json_decref(last);
		}
	snap_free(w);
	w->s = ns;
	w->n = j;
	w->started = 1;
	free(v);
}

long ks_watch_read(struct ks_watch *w, char *out, size_t max)
{
	int tries;

	for (tries = 0; tries < 10; tries++) {
		if (!w->pending.len) {
			if (ks_now_ms() >= w->deadline)
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
