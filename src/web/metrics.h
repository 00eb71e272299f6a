/* metrics.h - Prometheus metrics: per-host HTTP counters in shared memory, the rest from PostgreSQL. */
#ifndef SF_METRICS_H
#define SF_METRICS_H

#include "arena.h"
#include "buf.h"
#include "err.h"

/*
 * Two sources, rendered in the Prometheus text format 0.0.4:
 *
 * HTTP figures (requests by route and status, latency histograms, login
 * failures) are counted by the FastCGI workers in one anonymous shared
 * mapping (MAP_SHARED | MAP_ANONYMOUS) made by the master before it forks,
 * with relaxed C11 atomics: no lock, so a worker killed mid-increment
 * leaves nothing held, and the figures survive any worker's crash and
 * respawn (they restart at zero only with the master, which Prometheus
 * treats as a counter reset).  They are this host's: sum them over pods.
 * In plain CGI mode there is no master, so the mapping is the one
 * process's own and counts only its single request.
 *
 * Everything else (stores, failures, provisioning and reconcile durations,
 * Kubernetes requests) is kept in PostgreSQL (sql/005_metrics.sql; reconcile
 * writes its part with reconcile_metrics_record) and read
 * with one query; the figures are the whole installation's, identical from
 * every pod (aggregate them with max, not sum).
 */

/* HTTP request latency buckets (seconds; +Inf is implied). */
#define METRICS_HTTP_BUCKETS 13

/*
 * Map the shared counters for nroutes routes (named by names[i], which
 * must stay valid for the process's life: the route table) plus two extra
 * slots: requests that matched no route ("unmatched") and routes outside
 * the table ("other").  Call once, before forking workers.  0 or -1 (e).
 */
int metrics_http_init(const char *const *names, int nroutes, struct err *e);

/*
 * Count one answered request.  route: the index of names[] given to
 * metrics_http_init, -1 for no route, anything else out of range for
 * "other".  Status outside 100..599 is counted as 0 ("other").  A no-op
 * before metrics_http_init.  Async-signal-safe and lock-free.
 */
void metrics_http_observe(int route, int status, double seconds);

/* Count one failed sign-in (wrong email or password). */
void metrics_login_failure(void);

/*
 * Append the HTTP families (requests, latency, login failures, rate-limit
 * hits = 429 answers, metrics database queries) to out.
 */
void metrics_http_render(struct buf *out);

/*
 * Append the database families to out.  The text of the last query is kept
 * in this process and reused while it is younger than max_age seconds
 * (0 = always query), so a busy scraper costs at most one query per worker
 * per max_age.  Errors: -1 with e set (503 when the database is down), out
 * untouched.  The query result lives in a until its reset.
 */
int metrics_db_render(struct arena *a, struct buf *out, int max_age, struct err *e);

/* Forget the cached text of metrics_db_render (tests, database errors). */
void metrics_db_forget(void);

/*
 * Prometheus number formatting: integers exactly, others with 15
 * significant digits, "+Inf"/"-Inf"/"NaN".
 */
void metrics_add_value(struct buf *out, double v);

/* Append a label value escaped as the text format wants (\\, \", \n). */
void metrics_add_label(struct buf *out, const char *s);

#endif
