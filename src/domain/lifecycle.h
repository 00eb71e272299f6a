/* lifecycle.h - a store's facts both halves agree on: statuses, steps, ids, URLs. */
#ifndef SF_LIFECYCLE_H
#define SF_LIFECYCLE_H

#include "arena.h"

/*
 * The web app writes a store's desired state and reads its progress;
 * storefleet-reconcile moves it through the state machine of
 * docs/design.md section 3.  Both name statuses and steps only through
 * this file, so the page, the API, the reconcile and the schema
 * (sql/002_stores.sql's CHECK) cannot drift apart silently: t-store checks
 * the names against the schema's list.
 *
 * The functions keep the "store_" prefix: these are the store's own
 * facts, whichever half asks.
 */

/* Statuses in lifecycle order.  Their names are the values of stores.status. */
enum store_status {
	STORE_REQUESTED,
	STORE_PROVISIONING,
	STORE_READY,
	STORE_DEGRADED,
	STORE_UPGRADING,
	STORE_SUSPENDING, /* sql/012_suspend.sql: workloads going to 0, the paused page */
	STORE_SUSPENDED,
	STORE_RESUMING, /* replicas restored; waiting for readiness */
	STORE_FAILED,
	STORE_DELETING,
	STORE_DELETED,
	STORE_STATUS_N
};

/* Names by enum store_status, NULL-terminated (option lists iterate to NULL). */
extern const char *const store_statuses[STORE_STATUS_N + 1];

/* The name of status s ("requested"...); "" for a value out of range. */
const char *store_status_name(enum store_status s);

/* The status named s, or -1 when s (NULL too) names none. */
int store_status_parse(const char *s);

/* 1 when s is one of store_statuses. */
int store_status_valid(const char *s);

/* 1 when a reconcile pass is still working on a store in this status (the page refreshes). */
int store_status_busy(const char *status);

/*
 * Suspend and resume (docs/stores.md): who holds a suspension.  An owner
 * may suspend and resume their store; an administrator may do both to any
 * store, and a suspension an administrator asked for is lifted by an
 * administrator only.  The names are the values of stores.suspended_by.
 */
#define STORE_SUSPENDED_BY_OWNER "owner"
#define STORE_SUSPENDED_BY_ADMIN "admin"

/* 1 when a store in status s may be asked to suspend (ready, degraded, resuming). */
int store_status_suspendable(int s);

/* 1 when a store in status s may be asked to resume (suspending, suspended). */
int store_status_resumable(int s);

/*
 * The provisioning steps in order.  stores.step holds the name of the last
 * step reconcile completed ("" before the first); each step writes its
 * message as an event when first completed.  The store page lists the
 * steps whose label is not NULL, ticking those up to stores.step.
 */
enum store_step {
	STEP_RENDER,
	STEP_NAMESPACE,
	STEP_ISOLATION,
	STEP_SECRETS,
	STEP_DATABASE,
	STEP_APP,
	STEP_SETUP,
	STEP_INGRESS,
	STEP_READINESS,
	STEP_READY,
	STEP_N
};

struct store_step_info {
	const char *name;    /* stores.step, store_events.step */
	const char *label;   /* on the store page; NULL: not listed there */
	const char *message; /* the event written when the step completes */
};

extern const struct store_step_info store_step_table[STEP_N];

/* The step named s, or -1 when s (NULL too) names none. */
int store_step_parse(const char *s);

#define STORE_ID_LEN 8

/* A fresh id: 8 lowercase alphanumerics, the first a letter (libsodium CSPRNG). */
void store_new_id(char id[STORE_ID_LEN + 1]);

/* 1 when id has the shape of a store id (anything else is a 404 without a query). */
int store_id_valid(const char *id);

/*
 * Derived addresses: http(s)://store-<id>.<domain>/ (https under the prod
 * overlay) and the engine's admin path.  Arena strings.
 */
const char *store_url(struct arena *a, const char *id);
const char *store_admin_url(struct arena *a, const char *id, const char *engine);

/*
 * The same under domain, a cluster's store_domain (sql/018_clusters.sql):
 * a store placed on a cluster that has one is store-<id>.<store_domain>;
 * NULL or "" = config.domain.
 */
const char *store_url_in(struct arena *a, const char *id, const char *domain);
const char *store_admin_url_in(struct arena *a, const char *id, const char *engine,
			       const char *domain);

/*
 * The host a custom domain's CNAME must name (docs/stores.md "Custom
 * domains"): the store's own host when its cluster has a store domain of
 * its own (that cluster's wildcard record reaches that cluster's ingress);
 * otherwise config.domain_ingress_host, or the store's own host under
 * config.domain when that is "".  The web app shows it, reconcile checks
 * DNS against it: one rule for both.
 */
const char *store_cname_target(struct arena *a, const char *id, const char *domain);

/*
 * 1 when host (a Host header: any case, an optional :port; NULL too) is a
 * store's, store-<id>.<domain>, with id (lower case) in id; else 0.
 */
int store_host_id(const char *host, char id[STORE_ID_LEN + 1]);

/*
 * The same shape under any domain: 1 when host is store-<id>.<something>,
 * with id (lower case) in id and *domain, *dlen the something (without the
 * port, as written: compare it without case).  A cluster with a store
 * domain of its own (sql/018_clusters.sql) serves its stores' hosts under
 * it; whether something is such a domain is the caller's to check.
 */
int store_host_any(const char *host, char id[STORE_ID_LEN + 1], const char **domain, size_t *dlen);

#endif
