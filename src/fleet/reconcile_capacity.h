/* reconcile_capacity.h - what a cluster can hold: its nodes' allocatable and its StorageClasses. */
#ifndef SF_RECONCILE_CAPACITY_H
#define SF_RECONCILE_CAPACITY_H

#include "arena.h"
#include "err.h"

struct k8s;

/*
 * Read cluster's capacity through client and record it for the web app's
 * admission (docs/design.md "Placement and admission"): at most every
 * every seconds (config capacity_interval; 0 = each call), told by
 * cluster_capacity.observed_at, so most passes cost one SELECT and no
 * Kubernetes request.  When due, two LISTs: /api/v1/nodes, of which every
 * node that is schedulable (no spec.unschedulable) and Ready (condition
 * Ready=True) adds its status.allocatable cpu and memory; and
 * /apis/storage.k8s.io/v1/storageclasses, whose names replace the
 * cluster's rows of cluster_storage_classes.  Both written in one
 * statement (sql/018_clusters.sql).  A failed LIST writes nothing: the last
 * reading stays, with its observed_at.
 * OUT: *observed 1 when the cluster was read now, 0 when not due.
 * 0, or -1 with e (the caller logs it; never a pass error).
 */
int capacity_observe(struct k8s *client, struct arena *a, const char *cluster, int every,
		     int *observed, struct err *e);

#endif
