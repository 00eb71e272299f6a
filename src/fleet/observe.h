/* observe.h - reconcile's view of the cluster: LIST once, then WATCH, kept in PostgreSQL. */
#ifndef SF_OBSERVE_H
#define SF_OBSERVE_H

#include <jansson.h>

#include "arena.h"
#include "err.h"
#include "k8s.h"

/*
 * What a pass judges stores by is one JSON object, store id -> {namespace,
 * pvcs[], statefulsets[], deployments[]}, each item a narrow summary shaped
 * like the object (observe.c's top comment says which fields).  It is read
 * from PostgreSQL (sql/014_observed.sql), where the host that owns a kind's
 * watch keeps it current: list once, then watch with bookmarks from the
 * list's resourceVersion, applying each change, so the next cron run
 * resumes the watch instead of listing again.  A view that is not known
 * current (no LIST or BOOKMARK within config.observe_stale seconds by the
 * database clock) is never judged: the pass lists the cluster itself.
 */

struct observe;

/* What observe_view did, for the pass's log line and the tests. */
struct observe_stats {
	int listed;    /* kinds re-listed into PostgreSQL */
	int resumed;   /* kinds whose watch was (re)opened from a kept resourceVersion */
	int events;    /* changes applied */
	int fallback;  /* 1: the shared view was not current; this pass listed for itself */
	int failed;    /* a LIST of the cluster failed this pass (ke says how): it is in trouble */
	int reached;   /* this host heard from the cluster this pass (a LIST, a watch's answer) */
	char why[200]; /* why not current ("" when it was) */
};

/*
 * Set up on k (borrowed; the pass's client of cluster, so its requests are
 * counted with the pass's).  cluster names the clusters row the view is
 * of (sql/019_observed_clusters.sql: every cluster has its own kinds'
 * rows, watches, leases and fencing tokens).  owner names this host's
 * leases; run_for is the seconds this process will keep running passes
 * (the --for window; 0 for --once), which bounds its watches'
 * timeoutSeconds.
 */
struct observe *observe_new(struct k8s *k, const char *cluster, const char *owner, double run_for);

/* Close the watches and free (NULL is fine). */
void observe_free(struct observe *o);

/*
 * The view for one pass.  With own, take or renew the leases of the
 * kinds' watches that are free and bring those kinds up to date in
 * PostgreSQL (list, resume or read the open watch); without (dry run),
 * only read.  OUT: *by NULL when every kind's shared view is current (read
 * it with observe_load); else the cluster listed for this pass alone
 * (st->fallback; arena-owned).  0, or -1 with e (and ke when the cluster
 * answered a LIST so).
 */
int observe_view(struct observe *o, struct arena *a, int own, json_t **by, struct observe_stats *st,
		 struct k8s_err *ke, struct err *e);

/*
 * The shared view of the stores ids[0..n) (at most 10,000), each in its
 * own cluster clusters[i], read from PostgreSQL.  OUT: *by, a new object
 * the caller json_decref()s.  0, or -1 with e.
 */
int observe_load(const char *const *ids, const char *const *clusters, int n, json_t **by,
		 struct err *e);

/*
 * The narrow summary of a listed or watched object of kind k (0 Namespace,
 * 1 PersistentVolumeClaim, 2 StatefulSet, 3 Deployment), as a new
 * reference: what readiness.c and reconcile read, nothing else - name,
 * deletionTimestamp, the blueprint revision, a claim's creationTimestamp,
 * a workload's generation, spec.replicas, the status counts, phase,
 * capacity, revisions while a rollout runs, and the conditions that can
 * fail a store.  Pure.
 */
json_t *observe_summary(const json_t *obj, int k);

/*
 * Narrow the text of a LIST answer s[0..n) in place before it is parsed:
 * each item's spec keeps only "replicas" and its metadata loses
 * managedFields (all observe_summary() reads of them stays).  Returns the
 * new length: n when s is not an object (left whole), 0 when it is not
 * JSON (s is then partly rewritten; nothing parses, as the whole would
 * not have).  The summaries of the narrowed items equal the originals'.
 */
size_t observe_narrow_list(char *s, size_t n);

/* One line of a watch stream, parsed (observe_parse_event). */
enum observe_ev {
	OBSERVE_EV_BAD = -1, /* not an event: the stream cannot be trusted */
	OBSERVE_EV_CHANGE,   /* ADDED or MODIFIED of a store's object: summary set */
	OBSERVE_EV_GONE,     /* DELETED, or the object lost its store label */
	OBSERVE_EV_BOOKMARK, /* rv: every event before it was sent */
	OBSERVE_EV_EXPIRED,  /* ERROR 410: watch from a newer resourceVersion (list again) */
	OBSERVE_EV_ERROR,    /* any other ERROR: message says what */
};

struct observe_event {
	enum observe_ev type;
	char ns[254], name[254], store[64], rv[32]; /* "" when absent */
	char *summary;	   /* CHANGE: the compact JSON of observe_summary (malloc'd: free it) */
	char message[256]; /* EXPIRED, ERROR */
};

/*
 * Parse one line of a watch stream of kind k ({"type":..,"object":..}).
 * Pure.  OUT: ev (ev->summary owned by the caller).  Returns ev->type.
 */
enum observe_ev observe_parse_event(const char *line, size_t n, int k, struct observe_event *ev);

#endif
