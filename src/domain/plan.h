/* plan.h - the named plans a store runs on (small, medium, large...): sizes, limits, retention. */
#ifndef SF_PLAN_H
#define SF_PLAN_H

#include <jansson.h>

#include "err.h"

/*
 * The operator's plans file (setting plans_file, default
 * <charts_dir>/plans-<overlay>.yaml; charts/README.md describes the format):
 *
 *   default: small
 *   plans:
 *     small:
 *       title: Small
 *       storage: 5Gi              # each data volume of the store
 *       backup_retention_days: 7  # kept for backups
 *       stores_per_tenant: 5      # stores on this plan one account may have
 *       values:                   # chart values per engine (the per-store layer)
 *         woocommerce: {quota: {...}, mariadb: {storage: 5Gi}, ...}
 *         medusa: {...}
 *
 * A plan's values are merged into the per-store values layer of the
 * blueprint (blueprint.h), so the chart checks their keys and types when it
 * renders; plans are listed in the file's order.  A store row names its
 * plan (sql/013_plans.sql); "" means the default plan.
 */
struct plans;

/*
 * Parse and check a plans file.  OUT: free with plans_free.  Errors: NULL,
 * e (500) says "path: plans.<name>.<key>: problem".
 */
struct plans *plans_load(const char *path, struct err *e);
void plans_free(struct plans *p);

/*
 * The process's plans, loaded from config.plans_file on first use and kept
 * (a file that cannot be loaded is logged once and tried again on the next
 * call).  Borrowed; NULL with e (500).
 */
const struct plans *plans_get(struct err *e);

/* The default plan's name (borrowed). */
const char *plans_default(const struct plans *p);

/* Every plan, in the file's order: a borrowed array of {name, title, storage, ...}. */
const json_t *plans_list(const struct plans *p);

/*
 * The plan called name ("" or NULL = the default), a borrowed object
 * {name, title, storage, storage_bytes, backup_retention_days,
 * stores_per_tenant, values}; NULL when there is none.
 */
const json_t *plans_find(const struct plans *p, const char *name);

/* "small, medium, large": the names, for error messages (arena-free: a static buffer per call). */
const char *plans_names(const struct plans *p);

/* The chart values the plan sets for engine (borrowed object; an empty one when none). */
const json_t *plan_values(const json_t *plan, const char *engine);

/*
 * The per-store values of a render: the plan's values for engine with more
 * (may be NULL, e.g. an upgrade's snapshot.*) merged over them (objects
 * merge, anything else replaces).  OUT: a new object, caller owns it.
 */
json_t *plan_store_values(const json_t *plan, const char *engine, const json_t *more);

/*
 * A storage quantity ("5Gi", "500Mi", "10G", "1073741824") in bytes, or -1
 * when it is not one.
 */
long long plan_quantity_bytes(const char *q);

/*
 * Any Kubernetes quantity ("1500m", "2", "0.5", "64Gi", "65776132Ki",
 * "1.5G") times 1000, rounded up: CPU in millicores, or memory in
 * thousandths of a byte (divide by 1000).  -1 when it is not a quantity
 * (exponent forms "1e3" are not taken) or it is beyond 2^62.
 */
long long plan_quantity_milli(const char *q);

#endif
