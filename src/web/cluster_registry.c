/* cluster_registry.c - the clusters table for storefleetctl and the admin Clusters page. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "cluster_registry.h"
#include "config.h"
#include "db.h"
#include "dnsname.h"
#include "plan.h"

#define AT(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* One lock for every registry change, so a remove and a placement count agree. */
#define CLUSTER_CHANGE_LOCK "hashtext('storefleet.cluster_change')"

/* --- checks and quantities ------------------------------------------------- */

/* ^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$, the tables' CHECK. */
static int is_label(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > 32 || s[0] == '-' || s[n - 1] == '-')
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

int cluster_registry_validate(struct arena *a, const struct cluster_new *n, const char **domain,
			      const char **field, struct err *e)
{
	const char *uni;

	*domain = "";
	*field = "name";
	if (!n->name || !is_label(n->name))
		return err_set(e, 422,
			       "a cluster name is 1 to 32 of a-z, 0-9 and '-', starting and ending "
			       "with a letter or digit");
	if (!strcmp(n->name, CLUSTER_REGISTRY_DEFAULT))
		return err_set(e, 422,
			       "'default' is the configuration's own cluster; choose another name");
	*field = "region";
	if (n->region && *n->region && !is_label(n->region))
		return err_set(e, 422,
			       "a region is 1 to 32 of a-z, 0-9 and '-' (for example eu-west)");
	*field = "overlay";
	if (n->overlay && *n->overlay && strcmp(n->overlay, "local") && strcmp(n->overlay, "prod"))
		return err_set(e, 422, "overlay must be local or prod");
	*field = "store-domain";
	if (n->store_domain && *n->store_domain) {
		struct err de = ERR_INIT;

		if (dnsname_normalize(a, n->store_domain, NULL, domain, &uni, &de) < 0)
			return err_set(e, 422, "store domain: %s", de.msg);
		if (strlen(*domain) > 200)
			return err_set(e, 422, "a store domain is at most 200 characters");
	}
	*field = "ingress-address";
	if (n->ingress_address && *n->ingress_address) {
		const char *s = n->ingress_address, *host = NULL;

		if (!strncmp(s, "http://", 7))
			host = s + 7;
		else if (!strncmp(s, "https://", 8))
			host = s + 8;
		/* sql/019's CHECK: ^https?://[^\s/]+$ */
		if (!host || !*host || strlen(s) > 200 ||
		    strcspn(host, " \t\r\n\v\f/") != strlen(host))
			return err_set(
			    e, 422,
			    "an ingress address is http:// or https:// and a host[:port] "
			    "with no path (for example http://10.0.0.5:80)");
	}
	*field = "max-stores";
	if (n->max_stores < -1 || n->max_stores > 2147483647LL)
		return err_set(e, 422, "max-stores must be a whole number from 0");
	*field = NULL;
	return 0;
}

int cluster_parse_cpu(const char *s, long long *millis, struct err *e)
{
	size_t n = s ? strlen(s) : 0, whole = s ? strspn(s, "0123456789") : 0, frac = 0;
	long long v;

	if (n && whole && whole <= 9 && s[whole] == 'm' && whole + 1 == n) {
		*millis = strtoll(s, NULL, 10);
		return 0;
	}
	if (n && whole && whole <= 9 && s[whole] == '.')
		frac = strspn(s + whole + 1, "0123456789");
	if (!n || !whole || whole > 9 ||
	    (whole < n && (s[whole] != '.' || !frac || frac > 3 || whole + 1 + frac != n)))
		return err_set(e, 422,
			       "CPU is a number of cores (8, 0.5; at most three decimals) or of "
			       "millicores (8000m)");
	v = strtoll(s, NULL, 10) * 1000;
	for (size_t i = 0, m = 100; i < frac; i++, m /= 10)
		v += (long long)(s[whole + 1 + i] - '0') * (long long)m;
	*millis = v;
	return 0;
}

int cluster_parse_memory(const char *s, long long *bytes, struct err *e)
{
	long long b = s && *s && strlen(s) <= 24 ? plan_quantity_bytes(s) : -1;

	if (b < 0)
		return err_set(e, 422, "memory is a quantity such as 16Gi, 512Mi, 10G or bytes");
	*bytes = b;
	return 0;
}

const char *cluster_format_cpu(struct arena *a, long long millis)
{
	if (millis % 1000 == 0)
		return arena_printf(a, "%lld", millis / 1000);
	if (millis % 100 == 0)
		return arena_printf(a, "%lld.%lld", millis / 1000, millis % 1000 / 100);
	return arena_printf(a, "%lldm", millis);
}

const char *cluster_format_memory(struct arena *a, long long bytes)
{
	static const char *const units[] = {"Ki", "Mi", "Gi", "Ti", "Pi"};
	int u = -1;

	while (u < 4 && bytes && bytes % 1024 == 0) {
		bytes /= 1024;
		u++;
	}
	return u < 0 ? arena_printf(a, "%lld", bytes) : arena_printf(a, "%lld%s", bytes, units[u]);
}

/* --- reading ------------------------------------------------------------------ */

/* clang-format off */
static struct db_stmt st_list = DB_STMT(
	"SELECT c.name, c.region, c.store_domain, c.overlay, c.state, c.in_cluster, c.context, "
	" c.kubeconfig IS NOT NULL, " AT("c.created_at") ", c.max_stores, c.max_cpu_millis, "
	" c.max_memory_bytes, "
	" (SELECT count(*) FROM stores s WHERE s.cluster = c.name AND s.status <> 'deleted'), "
	" cc.nodes, cc.cpu_millis, cc.memory_bytes, " AT("cc.observed_at") ", "
	" c.reachable, " AT("c.checked_at") ", c.trouble, "
	" (SELECT string_agg(k.name, ' ' ORDER BY k.name) FROM cluster_storage_classes k "
	"  WHERE k.cluster = c.name) "
	"FROM clusters c LEFT JOIN cluster_capacity cc ON cc.cluster = c.name "
	"WHERE $1::text IS NULL OR c.name = $1 "
	"ORDER BY c.name <> 'default', c.name",
	1);
/* clang-format on */

static void set_opt_int(struct arena *a, struct view *v, const char *key, const PGresult *res,
			int row, int col)
{
	if (PQgetisnull(res, row, col))
		view_set(v, key, view_null(a));
	else
		view_set_int(v, key, db_get_ll(res, row, col));
}

static struct view *row_view(struct arena *a, const PGresult *res, int i)
{
	struct view *v = view_obj(a), *lim, *cap, *classes;
	const char *sd = db_get(res, i, 2), *sc = db_get(res, i, 20);

	view_set_str_ref(v, "name", db_get(res, i, 0));
	view_set_str_ref(v, "region", db_get(res, i, 1));
	view_set_str_ref(v, "store_domain", sd);
	view_set_str_ref(v, "domain", *sd ? sd : config.domain);
	view_set_str_ref(v, "overlay", db_get(res, i, 3));
	view_set_str_ref(v, "state", db_get(res, i, 4));
	view_set_str_ref(v, "connection",
			 db_get_bool(res, i, 5)	  ? "in-cluster"
			 : db_get_bool(res, i, 7) ? "kubeconfig"
						  : "configuration");
	view_set_str_ref(v, "context", db_get(res, i, 6));
	view_set_str_ref(v, "created_at", db_get(res, i, 8));
	lim = view_set_obj(v, "limits");
	set_opt_int(a, lim, "stores", res, i, 9);
	set_opt_int(a, lim, "cpu_millis", res, i, 10);
	set_opt_int(a, lim, "memory_bytes", res, i, 11);
	view_set_int(v, "stores", db_get_ll(res, i, 12));
	if (PQgetisnull(res, i, 13)) {
		view_set(v, "capacity", view_null(a));
	} else {
		cap = view_set_obj(v, "capacity");
		view_set_int(cap, "nodes", db_get_ll(res, i, 13));
		view_set_int(cap, "cpu_millis", db_get_ll(res, i, 14));
		view_set_int(cap, "memory_bytes", db_get_ll(res, i, 15));
		view_set_str_ref(cap, "observed_at", db_get(res, i, 16));
	}
	classes = view_set_arr(v, "storage_classes");
	if (!PQgetisnull(res, i, 20)) {
		const char *p = sc;

		while (*p) {
			size_t k = strcspn(p, " ");

			view_push(classes, view_strn(a, p, k));
			p += k + (p[k] == ' ');
		}
	}
	if (PQgetisnull(res, i, 17))
		view_set(v, "reachable", view_null(a));
	else
		view_set_bool(v, "reachable", db_get_bool(res, i, 17));
	view_set_str_ref(v, "checked_at", PQgetisnull(res, i, 18) ? NULL : db_get(res, i, 18));
	view_set_str_ref(v, "trouble", db_get(res, i, 19));
	return v;
}

int cluster_registry_list(struct arena *a, struct view **list, struct err *e)
{
	const char *p[1] = {NULL};
	PGresult *res;

	*list = NULL;
	if (!(res = db_run(a, &st_list, p, e)))
		return -1;
	*list = view_arr(a);
	for (int i = 0; i < db_rows(res); i++)
		view_push(*list, row_view(a, res, i));
	return 0;
}

struct view *cluster_registry_get(struct arena *a, const char *name, struct err *e)
{
	const char *p[1] = {name};
	PGresult *res;

	if (!name || !*name || strlen(name) > 63)
		return err_set(e, 404, "there is no such cluster"), NULL;
	if (!(res = db_run(a, &st_list, p, e)))
		return NULL;
	if (db_rows(res) != 1)
		return err_set(e, 404, "there is no cluster '%s'", name), NULL;
	return row_view(a, res, 0);
}

/* --- changes ------------------------------------------------------------------ */

static struct db_stmt st_lock = DB_STMT("SELECT pg_advisory_xact_lock(" CLUSTER_CHANGE_LOCK ")", 0);
static struct db_stmt st_insert = DB_STMT(
    "INSERT INTO clusters (name, kubeconfig, context, in_cluster, region, store_domain, overlay, "
    "max_stores, max_cpu_millis, max_memory_bytes, ingress_address) "
    "VALUES ($1, $2::bytea, $3, $4::boolean, $5, $6, $7, $8::int, $9::bigint, $10::bigint, $11)",
    11);
static struct db_stmt st_state =
    DB_STMT("SELECT state FROM clusters WHERE name = $1 FOR UPDATE", 1);
static struct db_stmt st_set_state = DB_STMT("UPDATE clusters SET state = $2 WHERE name = $1", 2);
static struct db_stmt st_live_stores =
    DB_STMT("SELECT count(*) FROM stores WHERE cluster = $1 AND status <> 'deleted'", 1);
static struct db_stmt st_repoint =
    DB_STMT("UPDATE stores SET cluster = 'default' WHERE cluster = $1 AND status = 'deleted'", 1);
static struct db_stmt st_delete = DB_STMT("DELETE FROM clusters WHERE name = $1", 1);

struct change {
	struct arena *a;
	const struct admin_actor *who;
	const char *name;
	const struct cluster_new *n;
	const char *domain; /* add: the normalised store domain */
	int drain;	    /* drain: 1 / 0 */
	int changed;	    /* OUT */
};

static int audit(struct change *x, const char *action, struct view *d, struct err *e)
{
	return audit_record(x->a, x->who->id, x->who->id ? x->who->email : "storefleetctl",
			    x->who->ip, action, x->name, d, e);
}

static const char *opt_ll(struct arena *a, long long v)
{
	return v < 0 ? NULL : arena_printf(a, "%lld", v);
}

static void set_limit(struct arena *a, struct view *d, const char *key, long long v)
{
	if (v < 0)
		view_set(d, key, view_null(a));
	else
		view_set_int(d, key, v);
}

static int add_tx(void *ctx, struct err *e)
{
	struct change *x = ctx;
	const struct cluster_new *n = x->n;
	const char *p[11] = {n->name,
			     n->in_cluster ? NULL : n->sealed,
			     n->in_cluster || !n->context ? "" : n->context,
			     n->in_cluster ? "true" : "false",
			     n->region ? n->region : "",
			     x->domain,
			     n->overlay ? n->overlay : "",
			     opt_ll(x->a, n->max_stores),
			     opt_ll(x->a, n->max_cpu_millis),
			     opt_ll(x->a, n->max_memory_bytes),
			     n->ingress_address ? n->ingress_address : ""};
	struct view *d = view_obj(x->a), *lim;

	if (!db_run(x->a, &st_lock, NULL, e))
		return -1;
	if (!db_run(x->a, &st_insert, p, e)) {
		if (e->status == 409)
			err_set(e, 409, "a cluster named '%s' already exists", n->name);
		return -1;
	}
	view_set_str_ref(d, "connection", n->in_cluster ? "in-cluster" : "kubeconfig");
	view_set_str_ref(d, "server", n->server ? n->server : "");
	view_set_str_ref(d, "context", p[2]);
	view_set_str_ref(d, "region", p[4]);
	view_set_str_ref(d, "store_domain", p[5]);
	view_set_str_ref(d, "ingress_address", p[10]);
	view_set_str_ref(d, "overlay", p[6]);
	lim = view_set_obj(d, "limits");
	set_limit(x->a, lim, "stores", n->max_stores);
	set_limit(x->a, lim, "cpu_millis", n->max_cpu_millis);
	set_limit(x->a, lim, "memory_bytes", n->max_memory_bytes);
	return audit(x, "cluster.add", d, e);
}

int cluster_registry_add(struct arena *a, const struct admin_actor *who,
			 const struct cluster_new *n, struct err *e)
{
	struct change x = {a, who, n->name, n, "", 0, 0};
	const char *field;

	if (cluster_registry_validate(a, n, &x.domain, &field, e) < 0)
		return -1;
	if (!n->in_cluster && (!n->sealed || !*n->sealed))
		return err_set(e, 422, "a cluster needs a kubeconfig or in-cluster");
	return db_tx(add_tx, &x, e);
}

static int drain_tx(void *ctx, struct err *e)
{
	struct change *x = ctx;
	const char *p[2] = {x->name, x->drain ? "draining" : "active"};
	PGresult *res;

	x->changed = 0;
	if (!db_run(x->a, &st_lock, NULL, e) || !(res = db_run(x->a, &st_state, p, e)))
		return -1;
	if (db_rows(res) != 1)
		return err_set(e, 404, "there is no cluster '%s'", x->name);
	if (!strcmp(db_get(res, 0, 0), p[1]))
		return 0;
	if (!db_run(x->a, &st_set_state, p, e))
		return -1;
	x->changed = 1;
	return audit(x, x->drain ? "cluster.drain" : "cluster.undrain", NULL, e);
}

int cluster_registry_drain(struct arena *a, const struct admin_actor *who, const char *name,
			   int drain, struct view **cluster, int *changed, struct err *e)
{
	struct change x = {a, who, name, NULL, "", drain, 0};

	*cluster = NULL;
	*changed = 0;
	if (!name || !*name || strlen(name) > 63)
		return err_set(e, 404, "there is no such cluster");
	if (db_tx(drain_tx, &x, e) < 0)
		return -1;
	*changed = x.changed;
	*cluster = cluster_registry_get(a, name, e);
	return *cluster ? 0 : -1;
}

static int remove_tx(void *ctx, struct err *e)
{
	struct change *x = ctx;
	const char *p[1] = {x->name};
	struct view *d;
	PGresult *res;
	long long live;

	/* FOR UPDATE waits for a placement inserting a store there (its key share) */
	if (!db_run(x->a, &st_lock, NULL, e) || !(res = db_run(x->a, &st_state, p, e)))
		return -1;
	if (db_rows(res) != 1)
		return err_set(e, 404, "there is no cluster '%s'", x->name);
	if (!(res = db_run(x->a, &st_live_stores, p, e)))
		return -1;
	live = db_get_ll(res, 0, 0);
	if (live > 0)
		return err_set(
		    e, 409,
		    "cluster '%s' still holds %lld store%s that %s not deleted: drain it "
		    "(no new stores go there), delete or move them, then remove it",
		    x->name, live, live == 1 ? "" : "s", live == 1 ? "is" : "are");
	if (!(res = db_run(x->a, &st_repoint, p, e)))
		return -1;
	d = view_obj(x->a);
	view_set_int(d, "deleted_stores", atoll(PQcmdTuples(res)));
	if (!db_run(x->a, &st_delete, p, e))
		return -1;
	return audit(x, "cluster.remove", d, e);
}

int cluster_registry_remove(struct arena *a, const struct admin_actor *who, const char *name,
			    struct err *e)
{
	struct change x = {a, who, name, NULL, "", 0, 0};

	if (!name || !*name || strlen(name) > 63)
		return err_set(e, 404, "there is no such cluster");
	if (!strcmp(name, CLUSTER_REGISTRY_DEFAULT))
		return err_set(e, 409,
			       "'default' is the configuration's own cluster and cannot be removed "
			       "(drain it to stop placing stores there)");
	return db_tx(remove_tx, &x, e);
}
