/* cluster.h - a registered cluster's Kubernetes connection (sql/018_clusters.sql). */
#ifndef SF_CLUSTER_H
#define SF_CLUSTER_H

#include "arena.h"
#include "err.h"
#include "k8s.h"
#include "kubeconfig.h"

/* The cluster that is the configuration's own (kubeconfig, kube_context, in-cluster). */
#define CLUSTER_DEFAULT "default"

/*
 * The connection settings of cluster name, loaded into kc (kubeconfig.h;
 * the caller kubeconfig_release()s it, or hands it to k8s_init_kc):
 *   'default'     the configuration's kubeconfig, kube_context and
 *                 kube_sa_dir, exactly as k8s_opts_from_config() + k8s_init()
 *                 load them (the database is not read);
 *   in_cluster    the pod's service account (config.kube_sa_dir);
 *   otherwise     clusters.kubeconfig opened with config.secret_key
 *                 (seal.h) and its clusters.context.
 * a: for the query's result.  Errors (e, status): 404 no such cluster,
 * 500 the sealed kubeconfig does not open (secret_key changed?) or no
 * longer loads, 503 database.  Messages never hold the kubeconfig.
 */
int cluster_kubeconfig(struct arena *a, const char *name, struct kubeconfig *kc, struct err *e);

/*
 * A client for cluster name: cluster_kubeconfig() then k8s_init_kc() with
 * o (NULL = k8s_opts_from_config(), the configuration's timeouts and cap).
 * k is caller-owned (k8s_release).  0, or -1 with e set.
 */
int cluster_k8s_init(struct arena *a, const char *name, struct k8s *k, const struct k8s_opts *o,
		     struct err *e);

/*
 * Does the client reach its cluster and authenticate?  One real request
 * (GET /api/v1/namespaces?limit=1: authenticated, and what reconcile needs
 * anyway), not retried.  0, or -1 with e saying what happened in plain
 * words: unreachable, TLS failure, 401 (credentials refused), 403 (no
 * permission to list namespaces), or another answer.
 */
int cluster_check(struct k8s *k, struct err *e);

#endif
