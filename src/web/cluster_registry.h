/* cluster_registry.h - the clusters stores are placed on, as operators list, add, drain and remove
 * them. */
#ifndef SF_CLUSTER_REGISTRY_H
#define SF_CLUSTER_REGISTRY_H

#include "admin.h"
#include "arena.h"
#include "err.h"
#include "view.h"

/*
 * The rows of sql/018_clusters.sql as storefleetctl (cluster add, list,
 * drain, undrain, remove) and the admin Clusters page (list, drain,
 * undrain) see them.  Nothing here talks to Kubernetes: storefleetctl
 * checks a kubeconfig against its server (src/fleet/cluster.h) before
 * cluster_registry_add stores it, sealed; the web app only reads what
 * reconcile last wrote (reachable, trouble, cluster_capacity,
 * cluster_storage_classes).  A view never holds the kubeconfig, only
 * whether there is one.  Every change writes one audit row: cluster.add,
 * cluster.drain, cluster.undrain, cluster.remove (target: the name).
 */

#define CLUSTER_REGISTRY_DEFAULT "default"

/* A cluster to register.  Strings "" = not given; limits -1 = no limit. */
struct cluster_new {
	const char *name;
	const char *sealed;  /* seal_box() text of the flattened kubeconfig, or NULL */
	const char *context; /* the context the sealed kubeconfig names */
	int in_cluster;	     /* the pod's service account instead */
	const char *server;  /* for the audit row and the message: the API server URL */
	const char *region, *store_domain, *overlay;
	const char *ingress_address; /* "http(s)://host[:port]" reconcile's probe uses, or "" */
	long long max_stores, max_cpu_millis, max_memory_bytes;
};

/*
 * The checks that need no Kubernetes and no database: name, region and
 * overlay are DNS labels (1-32 of a-z 0-9 -; overlay local or prod),
 * store_domain a DNS name (dnsname.h, stored in its A-label form: *domain,
 * an arena string), 'default' is taken.  storefleetctl runs them before it
 * contacts the cluster, so a typo is refused at once.  0, or -1 with e =
 * 422 and *field the option at fault.
 */
int cluster_registry_validate(struct arena *a, const struct cluster_new *n, const char **domain,
			      const char **field, struct err *e);

/*
 * "8", "0.5", "8000m", "250m" as millicores; "16Gi", "512Mi", "10G",
 * "1073741824" as bytes.  0, or -1 with e = 422 saying what is accepted.
 */
int cluster_parse_cpu(const char *s, long long *millis, struct err *e);
int cluster_parse_memory(const char *s, long long *bytes, struct err *e);

/* For people: millicores as "8" / "0.5" / "250m"; bytes as "16Gi" / "1536Mi" / "1000". */
const char *cluster_format_cpu(struct arena *a, long long millis);
const char *cluster_format_memory(struct arena *a, long long bytes);

/*
 * Insert the cluster (after cluster_registry_validate) and its audit row
 * in one transaction.  Errors: 409 the name is taken, 422, 503.
 */
int cluster_registry_add(struct arena *a, const struct admin_actor *who,
			 const struct cluster_new *n, struct err *e);

/*
 * Every cluster, 'default' first, then by name.  OUT: *list of {name,
 * region, store_domain ("" = the configuration's), domain (the one store
 * hosts use), overlay ("" = the configuration's), state (active |
 * draining), connection ("configuration" | "in-cluster" | "kubeconfig"),
 * context, created_at, limits {stores, cpu_millis, memory_bytes} (each
 * null = no limit), stores (placed and not deleted), capacity {nodes,
 * cpu_millis, memory_bytes, observed_at} or null (never observed),
 * storage_classes [names], reachable (true | false | null = never
 * checked), checked_at, trouble}.
 */
int cluster_registry_list(struct arena *a, struct view **list, struct err *e);

/* One cluster's view as in the list, or NULL with e = 404. */
struct view *cluster_registry_get(struct arena *a, const char *name, struct err *e);

/*
 * Drain (drain = 1: no new store is placed there; its stores stay and are
 * served) or undrain (0).  Asking for the state it is in changes and
 * records nothing (*changed = 0).  OUT: *cluster, the view after.  Errors:
 * 404, 503.
 */
int cluster_registry_drain(struct arena *a, const struct admin_actor *who, const char *name,
			   int drain, struct view **cluster, int *changed, struct err *e);

/*
 * Remove a cluster that holds no store that is not deleted.  The deleted
 * stores that lived there are re-pointed at 'default' (their rows are
 * history; stores.cluster must name a cluster), counted in the audit row.
 * Errors: 409 'default', or stores still there (the message says how many
 * and what to do), 404, 503.
 */
int cluster_registry_remove(struct arena *a, const struct admin_actor *who, const char *name,
			    struct err *e);

#endif
