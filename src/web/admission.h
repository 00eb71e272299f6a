/* admission.h - where a new store goes, and a create refused at once when it cannot fit. */
#ifndef SF_ADMISSION_H
#define SF_ADMISSION_H

#include "arena.h"
#include "err.h"
#include "view.h"

/*
 * Placement and admission (docs/design.md "Placement and admission").  The
 * web app never talks to Kubernetes: reconcile records each cluster's
 * schedulable allocatable and StorageClasses (cluster_capacity,
 * cluster_storage_classes; reconcile_capacity.h) and this decides from
 * those rows and the operator's limits (clusters.max_*).
 *
 * Candidates: the clusters in the asked region (every cluster when none)
 * that are not draining.  For each, a store of (engine, plan) needs the
 * plan's ResourceQuota requests (requests_cpu, requests_memory: the plan's
 * values for the engine, else the chart's, in the plans file and chart of
 * the cluster's overlay), and every StorageClass the chart's values name
 * (keys *storage_class that are not "") among the cluster's.  Free =
 * min(observed allocatable, max_cpu_millis / max_memory_bytes) minus the
 * quota requests of every store on the cluster that is not deleted (the
 * larger of its plan and its applied plan), and max_stores minus those
 * stores.  A cluster never observed is bounded by max_* alone and its
 * StorageClasses are not checked (an installation whose reconcile has not
 * run yet keeps creating).  The cluster with the most free CPU (then
 * memory, then name) that fits gets the store.
 *
 * When none fits:
 *   422 region         the region names no cluster (the message lists them)
 *   422 storage_class  "cluster eu-1's overlay needs StorageClass local-path,
 *                      which the cluster does not have" (no candidate would
 *                      fit otherwise... the first such cluster by name)
 *   422 capacity       the store is bigger than a candidate could ever hold
 *                      (its whole allocatable or max_*), on every candidate
 *   503 capacity       it would fit once others leave: "no cluster in
 *                      eu-west has 2 CPU free for ...; the largest has 0.5"
 *                      (also: every cluster of the region is draining)
 * A cluster that only fits later (503) wins over one that never can
 * (422); a missing StorageClass is reported only when no candidate fits
 * for a reason that can pass.
 */
struct admission {
	const char *engine, *plan; /* IN: checked; plan "" = the default */
	const char *region;	   /* IN: "" or NULL = any */
	const char *only;	   /* IN: NULL, or the one cluster that may take it (an
				    * undelete: a store keeps its cluster) */
	const char *cluster;	   /* OUT: the chosen cluster (arena) */
	const char *reason;	   /* OUT on refusal: capacity | storage_class | region */
	const char *field;	   /* OUT on refusal: the input at fault ("region") or NULL */
};

/*
 * Choose the cluster, in the caller's transaction: every candidate's
 * clusters row is locked (FOR NO KEY UPDATE) before its stores are counted,
 * so two creates never both take a cluster's last room and a drain waits
 * for the create that read its cluster as active.  0, or -1 with e (422,
 * 503: the refusal, with ad->reason; 500: the plans or a chart).
 */
int admission_place(struct arena *a, struct admission *ad, struct err *e);

/*
 * After a refusal (outside the refused transaction): an audit row
 * (action, target, details + {reason, message}) and one more
 * storefleet_admission_refusals_total{reason}.  Failures are logged only.
 */
void admission_refused(struct arena *a, long long actor, const char *email, const char *ip,
		       const char *action, const char *target, struct view *details,
		       const char *reason, const char *message);

/*
 * The regions of the clusters that take new stores, sorted, pushed to arr
 * as {value, label, selected} (the create form's choice).  Read from
 * PostgreSQL at most every 10 seconds per process, so the stores page
 * stays one round trip.  Returns how many, or -1 with e.
 */
int admission_regions(struct arena *a, struct view *arr, const char *selected, struct err *e);

#endif
