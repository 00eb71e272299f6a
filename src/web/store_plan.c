/* store_plan.c - a store's plan for the web: its view, the per-plan limit, and a change. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "db.h"
#include "plan.h"
#include "store.h"

/*
 * The web app only writes stores.plan (sql/013_plans.sql); reconcile
 * applies it (reconcile_plan.c) and either makes plan_applied follow or
 * puts plan back with the reason in the store's activity.  So a change is
 * taken only while the two are equal and the store is ready: one change at
 * a time, never during provisioning, an upgrade or a delete.
 */

void store_plan_view(struct arena *a, struct view *v, const char *plan, const char *applied)
{
	struct err e = ERR_INIT;
	const struct plans *ps = plans_get(&e);
	const json_t *p = ps ? plans_find(ps, applied) : NULL;

	/*
	 * Added, not set (the keys are new), and borrowed: the plans live as long
	 * as the process, plan and applied as long as the caller's result.
	 * '' = the default plan (stores made before plans); a plan gone from the file by name.
	 */
	view_add_str_ref(v, "plan",
			 p	     ? json_string_value(json_object_get(p, "name"))
			 : *applied ? applied
			 : ps	     ? plans_default(ps)
				     : "");
	view_add_str_ref(v, "plan_title",
			 p ? json_string_value(json_object_get(p, "title")) : applied);
	view_add_str_ref(v, "plan_storage",
			 p ? json_string_value(json_object_get(p, "storage")) : NULL);
	if (p)
		view_add_int(v, "backup_retention_days",
			     json_integer_value(json_object_get(p, "backup_retention_days")));
	else
		view_add(v, "backup_retention_days", view_null(a));
	if (strcmp(plan, applied))
		view_add_str_ref(v, "plan_pending", plan);
	else
		view_add(v, "plan_pending", view_null(a));
}

/* $1 owner, $2 plan, $3 the default plan (rows saying '' are on it). */
/* clang-format off */
static struct db_stmt st_room = DB_STMT(
	"SELECT count(*) FROM stores WHERE owner_id = $1::bigint AND status <> 'deleted' "
	"AND (CASE WHEN plan = '' THEN $3 ELSE plan END) = $2",
	3);
/* clang-format on */

int store_plan_room(struct arena *a, long long owner, const char *plan, int limit, struct err *e)
{
	const struct plans *ps = plans_get(e);
	const char *p[3];
	char uid[24];
	PGresult *res;
	long long n;

	if (!ps)
		return -1;
	snprintf(uid, sizeof(uid), "%lld", owner);
	p[0] = uid;
	p[1] = plan;
	p[2] = plans_default(ps);
	if (!(res = db_run(a, &st_room, p, e)))
		return -1;
	n = db_get_ll(res, 0, 0);
	if (n >= limit)
		return err_set(
		    e, 422,
		    "You have %lld store%s on plan %s, the limit per account is %d; choose "
		    "another plan or delete one first.",
		    n, n == 1 ? "" : "s", plan, limit);
	return 0;
}

/* clang-format off */
static struct db_stmt st_lock = DB_STMT(
	"SELECT s.status, s.plan, s.plan_applied, s.owner_id, u.email "
	"FROM stores s JOIN users u ON u.id = s.owner_id "
	"WHERE s.id = $1 AND (s.owner_id = $2::bigint OR $3::boolean) FOR UPDATE OF s", 3);
static struct db_stmt st_lock_owner = DB_STMT(
	"SELECT id FROM users WHERE id = $1::bigint FOR NO KEY UPDATE", 1);
static struct db_stmt st_set = DB_STMT(
	"UPDATE stores SET plan = $2, plan_changed_at = now(), next_attempt_at = now(), "
	"updated_at = now() WHERE id = $1", 2);
static struct db_stmt st_event = DB_STMT(
	"INSERT INTO store_events (store_id, step, level, message) VALUES ($1, 'plan', 'info', $2)",
	2);
/* clang-format on */

struct change {
	struct arena *a;
	const struct store_who *who;
	const char *id, *plan;
};

static int change_tx(void *ctx, struct err *e)
{
	struct change *c = ctx;
	const struct plans *ps = plans_get(e);
	const json_t *to, *from;
	const char *p[3] = {c->id}, *status, *plan, *applied, *from_name;
	char uid[24], owner[24];
	PGresult *res;
	struct view *d;
	long long have, want;

	if (!ps)
		return -1;
	snprintf(uid, sizeof(uid), "%lld", c->who->id);
	p[1] = uid;
	p[2] = c->who->is_admin ? "true" : "false";
	if (!(res = db_run(c->a, &st_lock, p, e)))
		return -1;
	if (db_rows(res) != 1)
		return err_set(e, 404, STORE_NOT_FOUND);
	status = db_get(res, 0, 0);
	plan = db_get(res, 0, 1);
	applied = db_get(res, 0, 2);
	snprintf(owner, sizeof(owner), "%s", db_get(res, 0, 3));
	d = view_obj(c->a);
	if (strtoll(owner, NULL, 10) != c->who->id) {
		view_set_bool(d, "as_admin", 1);
		view_set_str(d, "owner", db_get(res, 0, 4));
	}
	if (!(to = plans_find(ps, c->plan && *c->plan ? c->plan : "-"))) /* "-" is no plan */
		return err_set(e, 422, "There is no plan '%.40s'; the plans are %s.",
			       c->plan ? c->plan : "", plans_names(ps));
	if (strcmp(plan, applied))
		return err_set(
		    e, 409, "The change to plan %s is still being applied; wait until it is done.",
		    plan);
	if (strcmp(status, "ready"))
		return err_set(e, 409, "Only a ready store can change its plan; this one is %s.",
			       status);
	from = plans_find(ps, applied);
	from_name = from ? json_string_value(json_object_get(from, "name")) : applied;
	if (from == to)
		return err_set(e, 422, "The store is on plan %s already.", from_name);
	have = from ? json_integer_value(json_object_get(from, "storage_bytes")) : 0;
	want = json_integer_value(json_object_get(to, "storage_bytes"));
	if (want < have)
		return err_set(e, 422,
			       "storage cannot shrink: plan %s has %s of storage, the store has %s "
			       "(plan %s), and a volume cannot be made smaller.",
			       json_string_value(json_object_get(to, "name")),
			       json_string_value(json_object_get(to, "storage")),
			       json_string_value(json_object_get(from, "storage")), from_name);
	p[0] = owner;
	if (!db_run(c->a, &st_lock_owner, p, e))
		return -1;
	if (store_plan_room(
		c->a, strtoll(owner, NULL, 10), json_string_value(json_object_get(to, "name")),
		(int)json_integer_value(json_object_get(to, "stores_per_tenant")), e) < 0)
		return -1;
	p[0] = c->id;
	p[1] = json_string_value(json_object_get(to, "name"));
	if (!db_run(c->a, &st_set, p, e))
		return -1;
	p[1] = arena_printf(c->a, "Plan change requested: %s to %s.", from_name,
			    json_string_value(json_object_get(to, "name")));
	if (!db_run(c->a, &st_event, p, e))
		return -1;
	view_set_str(d, "from", from_name);
	view_set_str(d, "to", json_string_value(json_object_get(to, "name")));
	return audit_record(c->a, c->who->id, c->who->email, c->who->ip, "store.plan_change", c->id,
			    d, e);
}

struct view *store_plan_change(struct arena *a, const struct store_who *who, const char *id,
			       const char *plan, struct err *e)
{
	struct change c = {a, who, id, plan};
	struct err te = ERR_INIT;

	if (!store_get(a, who, id, NULL, e))
		return NULL;
	if (db_tx(change_tx, &c, &te) < 0) {
		err_set(e, te.status ? te.status : 500, "%s", te.msg);
		return NULL;
	}
	return store_get(a, who, id, NULL, e);
}
