/* reconcile_metrics.h - reconcile's figures for /metrics, written where the web app reads them. */
#ifndef SF_RECONCILE_METRICS_H
#define SF_RECONCILE_METRICS_H

#include "arena.h"
#include "err.h"
#include "k8s.h"

/*
 * One finished reconcile pass, recorded by storefleet-reconcile: the
 * reconcile_runs row's UPDATE and the increments of every pass counter, in
 * one statement, so the totals can never disagree with the runs.
 */
struct reconcile_metrics {
	const char *run_id;	/* reconcile_runs.id */
	int stores_seen;
	int transitions;
	unsigned long k8s_requests;
	const char *error;	/* NULL when the pass succeeded */
	double seconds;		/* how long the pass took */
	unsigned long k8s[K8S_V_N][K8S_R_N]; /* this pass's requests, by verb and result */
};

/* 0 or -1 with e set; the result lives in a. */
int reconcile_metrics_record(struct arena *a, const struct reconcile_metrics *p, struct err *e);

#endif
