/* store_undelete.c - deleted stores for the web: the list, and undelete within the revive window
 * (sql/024_undelete.sql). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admission.h"
#include "audit.h"
#include "config.h"
#include "db.h"
#include "plan.h"
#include "store_undelete.h"

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* clang-format off */
/* $1 asker, $2 all (admin list), $3 revive window (s) */
static struct db_stmt st_deleted = DB_STMT(
	"SELECT s.id, s.name, s.engine, u.email, coalesce(" TS("s.deleted_at") ", ''),"
	" coalesce(" TS("(s.deleted_at + make_interval(secs => $3::integer))") ", ''),"
	" s.final_backup, coalesce(nullif(b.name, ''), ''), coalesce(b.status, ''),"
	" coalesce(s.deleted_at > now() - make_interval(secs => $3::integer), false) "
	"FROM stores s JOIN users u ON u.id = s.owner_id "
	"LEFT JOIN backups b ON b.id = s.final_backup_id "
	"WHERE s.status = 'deleted' AND ($2::boolean OR s.owner_id = $1::bigint) "
	"AND s.deleted_at > now() - make_interval(secs => $3::integer) "
	"ORDER BY s.deleted_at DESC NULLS LAST, s.id LIMIT 100", 3);
/* $1 store, $2 asker, $3 admin, $4 revive window (s) */
static struct db_stmt st_lock = DB_STMT(
	"SELECT s.status, s.final_backup, coalesce(b.id::text, ''), coalesce(nullif(b.name, ''), ''),"
	" coalesce(b.status, ''),"
	" coalesce(s.deleted_at > now() - make_interval(secs => $4::integer), false),"
	" s.engine, s.plan, s.cluster, s.owner_id,"
	" (SELECT c.region FROM clusters c WHERE c.name = s.cluster) "
	"FROM stores s LEFT JOIN backups b ON b.id = s.final_backup_id "
	"WHERE s.id = $1 AND (s.owner_id = $2::bigint OR $3::boolean) FOR UPDATE OF s", 4);
static struct db_stmt st_lock_user = DB_STMT(
	"SELECT id FROM users WHERE id = $1::bigint AND disabled_at IS NULL FOR NO KEY UPDATE", 1);
/* the platform cap is counted by one creator at a time (store.c's lock) */
static struct db_stmt st_lock_cap = DB_STMT(
	"SELECT pg_advisory_xact_lock(hashtext('storefleet.stores_max'))", 0);
static struct db_stmt st_count = DB_STMT(
	"SELECT (SELECT count(*) FROM stores WHERE owner_id = $1::bigint AND status <> 'deleted'), "
	"(SELECT count(*) FROM stores WHERE status <> 'deleted')", 1);
static struct db_stmt st_revive = DB_STMT(
	"UPDATE stores SET status = 'requested', desired = 'present', final_backup = '', "
	"final_backup_id = NULL, delete_requested_at = NULL, deleted_at = NULL, status_reason = '', "
	"step = '', "
	"attempts = 0, next_attempt_at = now(), updated_at = now() "
	"WHERE id = $1 AND status = 'deleted' RETURNING id", 1);
static struct db_stmt st_restore = DB_STMT(
	"INSERT INTO restores (store_id, backup_id, backup_name, actor_id, actor, undelete) "
	"VALUES ($1, $2::bigint, $3, nullif($4::bigint, 0), $5, true) RETURNING id", 5);
static struct db_stmt st_event = DB_STMT(
	"INSERT INTO store_events (store_id, step, level, message) VALUES ($1, $2, 'info', $3)", 3);
/* clang-format on */

/* Why a deleted store cannot be undeleted (status for e), or NULL. */
static const char *why_not(struct arena *a, const char *final, const char *bstatus, int within,
			   int *status)
{
	*status = 409;
	if (strcmp(final, "wanted"))
		return !strcmp(final, "skipped")
			   ? "The store was deleted without a final backup, as its owner asked; "
			     "it cannot be undeleted."
			   : "The store was deleted without a final backup (none could be taken); "
			     "it cannot be undeleted.";
	if (!within) {
		*status = 410;
		return arena_printf(a,
				    "The store was deleted more than %d days ago (the revive "
				    "window); its backups are pruned and it cannot be undeleted.",
				    config.revive_window / 86400);
	}
	if (strcmp(bstatus, "complete"))
		return "The store's final backup is not complete; it cannot be undeleted.";
	return NULL;
}

int store_deleted_list(struct arena *a, const struct store_who *who, int all, struct view **list,
		       struct err *e)
{
	char uid[24], win[16];
	const char *p[3] = {uid, all && who->is_admin ? "true" : "false", win};
	PGresult *res;

	snprintf(uid, sizeof(uid), "%lld", who->id);
	snprintf(win, sizeof(win), "%d", config.revive_window);
	if (!(res = db_run(a, &st_deleted, p, e)))
		return -1;
	*list = view_arr(a);
	for (int i = 0; i < db_rows(res); i++) {
		struct view *v = view_push_obj(*list);
		const char *at = db_get(res, i, 4), *until = db_get(res, i, 5);
		const char *bname = db_get(res, i, 7), *bstatus = db_get(res, i, 8);
		int status;
		const char *why = why_not(a, db_get(res, i, 6), bstatus,
					  !strcmp(db_get(res, i, 9), "t"), &status);

		view_set_str_ref(v, "id", db_get(res, i, 0));
		view_set_str_ref(v, "name", db_get(res, i, 1));
		view_set_str_ref(v, "engine", db_get(res, i, 2));
		view_set_str_ref(v, "owner", db_get(res, i, 3));
		view_set(v, "deleted_at", view_str_ref(a, *at ? at : NULL));
		view_set(v, "revivable_until", view_str_ref(a, *until ? until : NULL));
		view_set(v, "final_backup", view_str_ref(a, *bname ? bname : NULL));
		view_set(v, "final_backup_status", view_str_ref(a, *bstatus ? bstatus : NULL));
		view_set_bool(v, "revivable", why == NULL);
		view_set(v, "why_not", view_str_ref(a, why));
	}
	return 0;
}

struct undelete {
	struct arena *a;
	const struct store_who *who;
	const char *id;
	const char *restore, *backup; /* OUT */
};

static int undelete_tx(void *ctx, struct err *e)
{
	struct undelete *x = ctx;
	struct arena *a = x->a;
	char uid[24], win[16], actor[24];
	const char *p[5] = {x->id, uid, x->who->is_admin ? "true" : "false", win};
	const char *why, *engine, *plan, *cluster, *owner;
	const struct plans *ps;
	const json_t *pl;
	struct admission ad = {0};
	struct view *d;
	PGresult *res;
	int status;

	snprintf(uid, sizeof(uid), "%lld", x->who->id);
	snprintf(win, sizeof(win), "%d", config.revive_window);
	if (!(res = db_run(a, &st_lock, p, e)))
		return -1;
	if (!db_rows(res))
		return err_set(e, 404, STORE_NOT_FOUND);
	if (strcmp(db_get(res, 0, 0), "deleted"))
		return err_set(e, 409, "The store is %s; only a deleted store can be undeleted.",
			       db_get(res, 0, 0));
	if ((why = why_not(a, db_get(res, 0, 1), db_get(res, 0, 4), !strcmp(db_get(res, 0, 5), "t"),
			   &status)))
		return err_set(e, status, "%s", why);
	x->backup = arena_strdup(a, db_get(res, 0, 3));
	p[1] = arena_strdup(a, db_get(res, 0, 2)); /* the backup's number */
	engine = arena_strdup(a, db_get(res, 0, 6));
	plan = arena_strdup(a, db_get(res, 0, 7));
	cluster = arena_strdup(a, db_get(res, 0, 8));
	owner = arena_strdup(a, db_get(res, 0, 9));
	if (!db_get(res, 0, 10))
		return err_set(e, 409,
			       "The store's cluster %s is gone; it cannot be undeleted there.",
			       cluster);
	ad.region = arena_strdup(a, db_get(res, 0, 10));

	/* the owner's limits, as a create counts them (store.c create_tx) */
	{
		const char *q[1] = {owner};

		if (!(res = db_run(a, &st_lock_user, q, e)))
			return -1;
		if (db_rows(res) != 1)
			return err_set(e, 409, "The store's owner is disabled or gone.");
		if (!db_run(a, &st_lock_cap, NULL, e) || !(res = db_run(a, &st_count, q, e)))
			return -1;
		if (db_get_ll(res, 0, 0) >= config.stores_per_tenant)
			return err_set(e, 429,
				       "You have %lld stores, the limit per account is %d; delete "
				       "one first.",
				       db_get_ll(res, 0, 0), config.stores_per_tenant);
		if (db_get_ll(res, 0, 1) >= config.stores_max)
			return err_set(e, 429, "The platform is full (%d stores); try again later.",
				       config.stores_max);
	}
	if (!(ps = plans_get(e)))
		return -1;
	if (!(pl = plans_find(ps, *plan ? plan : NULL)))
		return err_set(e, 409, "The store's plan '%.40s' is gone; it cannot be undeleted.",
			       plan);
	if (store_plan_room(
		a, strtoll(owner, NULL, 10), json_string_value(json_object_get(pl, "name")),
		(int)json_integer_value(json_object_get(pl, "stores_per_tenant")), e) < 0)
		return -1;
	ad.engine = engine;
	ad.plan = json_string_value(json_object_get(pl, "name"));
	ad.only = cluster;
	if (admission_place(a, &ad, e) < 0)
		return -1;

	p[0] = x->id;
	if (!(res = db_run(a, &st_revive, p, e)))
		return -1;
	if (db_rows(res) != 1)
		return err_set(e, 409, "The store is no longer deleted.");
	snprintf(actor, sizeof(actor), "%lld", x->who->id);
	p[2] = x->backup;
	p[3] = actor;
	p[4] = x->who->email;
	if (!(res = db_run(a, &st_restore, p, e)))
		return -1;
	x->restore = arena_strdup(a, db_get(res, 0, 0));
	p[1] = "request";
	p[2] = arena_printf(a,
			    "Undelete requested by %s: the store is made again with its id and "
			    "host, then its final backup %s is restored (restore #%s).",
			    x->who->email, x->backup, x->restore);
	if (!db_run(a, &st_event, p, e))
		return -1;
	d = view_obj(a);
	view_set_str(d, "backup", x->backup);
	view_set_str(d, "restore", x->restore);
	return audit_record(a, x->who->id, x->who->email, x->who->ip, "store.undelete", x->id, d,
			    e);
}

int store_undelete(struct arena *a, const struct store_who *who, const char *id, struct view **out,
		   struct err *e)
{
	struct undelete x = {a, who, id, NULL, NULL};
	struct view *s, *rs;

	if (!store_id_valid(id))
		return err_set(e, 404, STORE_NOT_FOUND);
	if (!*config.backup_endpoint || !*config.backup_bucket) {
		if (!store_get(a, who, id, NULL, e))
			return -1;
		return err_set(e, 409,
			       "Backups are not configured on this storefleet "
			       "(backup_endpoint, backup_bucket).");
	}
	if (db_tx(undelete_tx, &x, e) < 0)
		return -1;
	if (!(s = store_get(a, who, id, NULL, e)))
		return -1;
	*out = view_obj(a);
	view_add(*out, "store", s);
	rs = view_set_obj(*out, "restore");
	view_set_int(rs, "number", strtoll(x.restore, NULL, 10));
	view_set_str(rs, "backup", x.backup);
	view_set_str(rs, "status", "requested");
	return 0;
}
