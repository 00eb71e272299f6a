/* store_backup.c - a store's backups for the web: "Back up now" and the list (sql/021_backups.sql).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "config.h"
#include "db.h"
#include "store_backup.h"

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define BACKUP_COLS                                                                                \
	"b.id, b.name, b.kind, b.status, b.reason, b.engine, b.version, b.revision, b.job,"        \
	" b.prefix, b.dump_size, b.dump_sha256, b.files_size, b.files_sha256, " TS(                \
	    "b.created_at") ", " TS("b.started_at") ", " TS("b.finished_at") ","                   \
									     " extract(epoch "     \
									     "FROM now() - "       \
									     "coalesce(b."         \
									     "finished_at, "       \
									     "b.created_at))::"    \
									     "bigint, b.engine"

/* clang-format off */
static struct db_stmt st_list = DB_STMT(
	"SELECT " BACKUP_COLS " FROM backups b WHERE b.store_id = $1 ORDER BY b.id DESC LIMIT 100", 1);
static struct db_stmt st_one = DB_STMT(
	"SELECT " BACKUP_COLS " FROM backups b WHERE b.id = $1::bigint", 1);
static struct db_stmt st_lock = DB_STMT(
	"SELECT s.status, s.engine, s.engine_version, s.blueprint_revision FROM stores s "
	"WHERE s.id = $1 FOR UPDATE OF s", 1);
static struct db_stmt st_live = DB_STMT(
	"SELECT coalesce(nullif(name, ''), '#' || id), status, kind FROM backups "
	"WHERE store_id = $1 AND status IN ('requested', 'running')", 1);
static struct db_stmt st_insert = DB_STMT(
	"INSERT INTO backups (store_id, kind, engine, version, revision, actor_id) "
	"VALUES ($1, 'manual', $2, $3, $4, nullif($5::bigint, 0)) RETURNING id", 5);
static struct db_stmt st_event = DB_STMT(
	"INSERT INTO store_events (store_id, step, level, message) VALUES ($1, 'backup', 'info', $2)", 2);
/* restores (sql/023_restores.sql) */
#define RESTORE_LIVE "('requested', 'backing-up', 'restoring')"
static struct db_stmt st_restore_live = DB_STMT(
	"SELECT id, backup_name, status FROM restores WHERE store_id = $1 AND status IN " RESTORE_LIVE, 1);
static struct db_stmt st_backup_of = DB_STMT(
	"SELECT id, name, status, kind FROM backups WHERE store_id = $1 AND id = $2::bigint", 2);
static struct db_stmt st_restore_insert = DB_STMT(
	"INSERT INTO restores (store_id, backup_id, backup_name, actor_id, actor) "
	"VALUES ($1, $2::bigint, $3, nullif($4::bigint, 0), $5) RETURNING id", 5);
static struct db_stmt st_restore_event = DB_STMT(
	"INSERT INTO store_events (store_id, step, level, message) VALUES ($1, 'restore', 'info', $2)", 2);
#define RESTORE_COLS                                                                               \
	"r.id, r.backup_name, r.status, r.reason, coalesce('b' || r.pre_backup_id, ''), "          \
	TS("r.created_at") ", " TS("r.finished_at") ", r.actor, coalesce(r.source_store, '')"
static struct db_stmt st_restore_one = DB_STMT(
	"SELECT " RESTORE_COLS " FROM restores r WHERE r.id = $1::bigint", 1);
static struct db_stmt st_restore_list = DB_STMT(
	"SELECT " RESTORE_COLS " FROM restores r WHERE r.store_id = $1 ORDER BY r.id DESC LIMIT 20", 1);
/* clang-format on */

enum {
	B_ID,
	B_NAME,
	B_KIND,
	B_STATUS,
	B_REASON,
	B_ENGINE,
	B_VERSION,
	B_REVISION,
	B_JOB,
	B_PREFIX,
	B_DSIZE,
	B_DSHA,
	B_FSIZE,
	B_FSHA,
	B_CREATED,
	B_STARTED,
	B_FINISHED,
	B_AGE,
	B_ENGINE2
};

static const char *dump_name(const char *engine)
{
	return !strcmp(engine, "medusa") ? "database.dump" : "database.sql.gz";
}

static struct view *backup_view(struct arena *a, const PGresult *res, int i)
{
	struct view *v = view_obj(a), *objs;
	const char *name = db_get(res, i, B_NAME);
	int complete = !strcmp(db_get(res, i, B_STATUS), "complete");

	view_set(v, "id", view_str_ref(a, *name ? name : NULL));
	view_set_int(v, "number", db_get_ll(res, i, B_ID));
	view_set_str_ref(v, "kind", db_get(res, i, B_KIND));
	view_set_str_ref(v, "status", db_get(res, i, B_STATUS));
	view_set_str_ref(v, "reason", db_get(res, i, B_REASON));
	view_set_str_ref(v, "engine", db_get(res, i, B_ENGINE));
	view_set_str_ref(v, "version", db_get(res, i, B_VERSION));
	view_set_str_ref(v, "revision", db_get(res, i, B_REVISION));
	view_set_str_ref(v, "job", db_get(res, i, B_JOB));
	view_set_str_ref(v, "prefix", db_get(res, i, B_PREFIX));
	if (complete)
		view_set_int(v, "size", db_get_ll(res, i, B_DSIZE) + db_get_ll(res, i, B_FSIZE));
	else
		view_set(v, "size", view_null(a));
	objs = view_set_arr(v, "objects");
	if (complete) {
		struct view *o = view_push_obj(objs);

		view_set_str_ref(o, "name", dump_name(db_get(res, i, B_ENGINE2)));
		view_set_int(o, "size", db_get_ll(res, i, B_DSIZE));
		view_set_str_ref(o, "sha256", db_get(res, i, B_DSHA));
		o = view_push_obj(objs);
		view_set_str_ref(o, "name", "files.tar.gz");
		view_set_int(o, "size", db_get_ll(res, i, B_FSIZE));
		view_set_str_ref(o, "sha256", db_get(res, i, B_FSHA));
	}
	view_set_bool(v, "restorable", complete);
	view_set_str_ref(v, "created_at", db_get(res, i, B_CREATED));
	view_set_str_ref(v, "started_at", db_get(res, i, B_STARTED));
	view_set_str_ref(v, "finished_at", db_get(res, i, B_FINISHED));
	view_set_int(v, "age_seconds", db_get_ll(res, i, B_AGE));
	return v;
}

int store_backup_list(struct arena *a, const struct store_who *who, const char *id,
		      struct view **list, struct err *e)
{
	const char *p[1] = {id};
	PGresult *res;

	if (!store_get(a, who, id, NULL, e))
		return -1;
	if (!(res = db_run(a, &st_list, p, e)))
		return -1;
	*list = view_arr(a);
	for (int i = 0; i < db_rows(res); i++)
		view_push(*list, backup_view(a, res, i));
	return 0;
}

struct request {
	struct arena *a;
	const struct store_who *who;
	const char *id;
	const char *number; /* OUT */
};

static int request_tx(void *ctx, struct err *e)
{
	struct request *c = ctx;
	const char *p[5] = {c->id};
	char actor[24];
	const char *st;
	struct view *d = view_obj(c->a);
	PGresult *res;

	if (!(res = db_run(c->a, &st_lock, p, e)))
		return -1;
	if (!db_rows(res))
		return err_set(e, 404, STORE_NOT_FOUND);
	st = db_get(res, 0, 0);
	if (!strcmp(st, "upgrading"))
		return err_set(e, 409,
			       "The store is being upgraded; back it up once the upgrade is done.");
	if (strcmp(st, "ready") && strcmp(st, "degraded"))
		return err_set(e, 409, "The store is %s; only a ready store can be backed up.", st);
	p[1] = db_get(res, 0, 1);
	p[2] = db_get(res, 0, 2);
	p[3] = db_get(res, 0, 3);
	snprintf(actor, sizeof(actor), "%lld", c->who->id);
	p[4] = actor;
	{
		const char *q[1] = {c->id};
		PGresult *live = db_run(c->a, &st_live, q, e);

		if (!live)
			return -1;
		if (db_rows(live))
			return err_set(e, 409, "Backup %s (%s) is already %s; wait until it ends.",
				       db_get(live, 0, 0), db_get(live, 0, 2), db_get(live, 0, 1));
		if (!(live = db_run(c->a, &st_restore_live, q, e)))
			return -1;
		if (db_rows(live))
			return err_set(
			    e, 409,
			    "The store is being restored from backup %s (%s); back it up "
			    "once the restore is done.",
			    db_get(live, 0, 1), db_get(live, 0, 2));
	}
	if (!(res = db_run(c->a, &st_insert, p, e)))
		return -1;
	c->number = arena_strdup(c->a, db_get(res, 0, 0));
	view_set_str(d, "backup", c->number);
	view_set_str(d, "kind", "manual");
	p[1] = "Backup requested (Back up now).";
	if (!db_run(c->a, &st_event, p, e))
		return -1;
	return audit_record(c->a, c->who->id, c->who->email, c->who->ip, "backup.requested", c->id,
			    d, e);
}

int store_backup_request(struct arena *a, const struct store_who *who, const char *id,
			 struct view **out, struct err *e)
{
	struct request c = {a, who, id, NULL};
	struct err te = ERR_INIT;
	const char *p[1];
	PGresult *res;

	if (!store_get(a, who, id, NULL, e))
		return -1;
	if (!*config.backup_endpoint || !*config.backup_bucket)
		return err_set(e, 409,
			       "Backups are not configured on this storefleet "
			       "(backup_endpoint, backup_bucket).");
	if (db_tx(request_tx, &c, &te) < 0) {
		/* backups_one_live: a concurrent request won */
		if (te.status == 409 || strstr(te.msg, "backups_one_live"))
			return err_set(e, 409, "%s",
				       te.status == 409
					   ? te.msg
					   : "A backup of this store is already requested.");
		return err_set(e, te.status ? te.status : 500, "%s", te.msg);
	}
	p[0] = c.number;
	if (!(res = db_run(a, &st_one, p, e)))
		return -1;
	*out = backup_view(a, res, 0);
	return 0;
}

/* ---- restore in place ---------------------------------------------------------------- */

static struct view *restore_view(struct arena *a, const PGresult *res, int i)
{
	struct view *v = view_obj(a);
	const char *pre = db_get(res, i, 4), *fin = db_get(res, i, 6);

	view_set_int(v, "number", db_get_ll(res, i, 0));
	view_set_str_ref(v, "backup", db_get(res, i, 1));
	view_set_str_ref(v, "status", db_get(res, i, 2));
	view_set_str_ref(v, "reason", db_get(res, i, 3));
	view_set(v, "pre_backup", view_str_ref(a, *pre ? pre : NULL));
	view_set_str_ref(v, "created_at", db_get(res, i, 5));
	view_set(v, "finished_at", view_str_ref(a, fin && *fin ? fin : NULL));
	view_set_str_ref(v, "actor", db_get(res, i, 7));
	/* a clone from backup: the store whose backup this is (sql/025_clones.sql) */
	view_set(v, "source_store", view_str_ref(a, *db_get(res, i, 8) ? db_get(res, i, 8) : NULL));
	view_set_bool(v, "live",
		      !strcmp(db_get(res, i, 2), "requested") ||
			  !strcmp(db_get(res, i, 2), "backing-up") ||
			  !strcmp(db_get(res, i, 2), "restoring"));
	return v;
}

const char *store_restore_busy(struct arena *a, const char *id, const char *verb, struct err *e)
{
	const char *p[1] = {id};
	PGresult *res = db_run(a, &st_restore_live, p, e);

	if (!res || !db_rows(res))
		return NULL;
	return arena_printf(a,
			    "The store is being restored from backup %s (%s); it can be %s once "
			    "the restore is done.",
			    db_get(res, 0, 1), db_get(res, 0, 2), verb);
}

int store_restore_list(struct arena *a, const struct store_who *who, const char *id,
		       struct view **list, struct err *e)
{
	const char *p[1] = {id};
	PGresult *res;

	if (!store_get(a, who, id, NULL, e))
		return -1;
	if (!(res = db_run(a, &st_restore_list, p, e)))
		return -1;
	*list = view_arr(a);
	for (int i = 0; i < db_rows(res); i++)
		view_push(*list, restore_view(a, res, i));
	return 0;
}

struct restore_req {
	struct arena *a;
	const struct store_who *who;
	const char *id, *number; /* number: the backup's, digits */
	const char *restore;	 /* OUT */
};

static int restore_tx(void *ctx, struct err *e)
{
	struct restore_req *c = ctx;
	const char *p[5] = {c->id, c->number};
	char actor[24];
	const char *st, *name;
	struct view *d = view_obj(c->a);
	PGresult *res, *bk;

	if (!(res = db_run(c->a, &st_lock, p, e)))
		return -1;
	if (!db_rows(res))
		return err_set(e, 404, STORE_NOT_FOUND);
	st = db_get(res, 0, 0);
	if (!(bk = db_run(c->a, &st_backup_of, p, e)))
		return -1;
	if (!db_rows(bk))
		return err_set(e, 404, "There is no such backup of this store.");
	name = db_get(bk, 0, 1);
	if (strcmp(db_get(bk, 0, 2), "complete"))
		return err_set(e, 409, "Backup %s is %s; only a complete backup can be restored.",
			       *name ? name : arena_printf(c->a, "#%s", c->number),
			       db_get(bk, 0, 2));
	if (!strcmp(st, "upgrading"))
		return err_set(e, 409,
			       "The store is being upgraded; restore it once the upgrade is done.");
	if (strcmp(st, "ready") && strcmp(st, "degraded"))
		return err_set(e, 409, "The store is %s; only a ready store can be restored.", st);
	{
		const char *q[1] = {c->id};
		PGresult *live;

		if (!(live = db_run(c->a, &st_restore_live, q, e)))
			return -1;
		if (db_rows(live))
			return err_set(e, 409,
				       "A restore of this store from backup %s is already %s; wait "
				       "until it ends.",
				       db_get(live, 0, 1), db_get(live, 0, 2));
		if (!(live = db_run(c->a, &st_live, q, e)))
			return -1;
		if (db_rows(live))
			return err_set(e, 409, "Backup %s (%s) is %s; restore once it ends.",
				       db_get(live, 0, 0), db_get(live, 0, 2), db_get(live, 0, 1));
	}
	snprintf(actor, sizeof(actor), "%lld", c->who->id);
	p[1] = c->number;
	p[2] = name;
	p[3] = actor;
	p[4] = c->who->email;
	if (!(res = db_run(c->a, &st_restore_insert, p, e)))
		return -1;
	c->restore = arena_strdup(c->a, db_get(res, 0, 0));
	view_set_str(d, "restore", c->restore);
	view_set_str(d, "backup", name);
	p[1] =
	    arena_printf(c->a,
			 "Restore from backup %s requested by %s: a backup of the current state is "
			 "taken first.",
			 name, c->who->email);
	if (!db_run(c->a, &st_restore_event, p, e))
		return -1;
	return audit_record(c->a, c->who->id, c->who->email, c->who->ip, "restore.requested", c->id,
			    d, e);
}

int store_restore_request(struct arena *a, const struct store_who *who, const char *id,
			  const char *bid, struct view **out, struct err *e)
{
	struct restore_req c = {a, who, id, NULL, NULL};
	struct err te = ERR_INIT;
	const char *p[1], *n = bid;
	PGresult *res;

	if (!store_get(a, who, id, NULL, e))
		return -1;
	if (*n == 'b')
		n++;
	/* b<digits>, at most 18 of them: anything else names no backup */
	if (!*n || strlen(n) > 18 || strspn(n, "0123456789") != strlen(n))
		return err_set(e, 404, "There is no such backup of this store.");
	c.number = n;
	if (!*config.backup_endpoint || !*config.backup_bucket)
		return err_set(e, 409,
			       "Backups are not configured on this storefleet "
			       "(backup_endpoint, backup_bucket).");
	if (db_tx(restore_tx, &c, &te) < 0) {
		/* restores_one_live: a concurrent request won */
		if (te.status == 409 || te.status == 404 || strstr(te.msg, "restores_one_live"))
			return err_set(e, te.status == 404 ? 404 : 409, "%s",
				       te.status ? te.msg
						 : "A restore of this store is already requested.");
		return err_set(e, te.status ? te.status : 500, "%s", te.msg);
	}
	p[0] = c.restore;
	if (!(res = db_run(a, &st_restore_one, p, e)))
		return -1;
	*out = restore_view(a, res, 0);
	return 0;
}

/* ---- clone from backup (sql/025_clones.sql) ------------------------------------------ */

/* clang-format off */
/* $1 source store, $2 backup number */
static struct db_stmt st_clone_backup = DB_STMT(
	"SELECT b.id, b.name, b.status, b.reason, b.engine, s.plan, s.name FROM backups b "
	"JOIN stores s ON s.id = b.store_id WHERE b.store_id = $1 AND b.id = $2::bigint", 2);
static struct db_stmt st_clone_lock = DB_STMT(
	"SELECT status FROM backups WHERE store_id = $1 AND id = $2::bigint FOR SHARE", 2);
/* $1 new store, $2 backup number, $3 b<n>, $4 actor id, $5 actor, $6 source store */
static struct db_stmt st_clone_insert = DB_STMT(
	"INSERT INTO restores (store_id, backup_id, backup_name, actor_id, actor, source_store) "
	"VALUES ($1, $2::bigint, $3, nullif($4::bigint, 0), $5, $6) RETURNING id", 6);
static struct db_stmt st_clone_event = DB_STMT(
	"INSERT INTO store_events (store_id, step, level, message) VALUES ($1, $2, 'info', $3)", 3);
/* clang-format on */

struct clone {
	const struct store_who *who; /* who asks (the audit rows' actor) */
	const char *source, *number, *name, *source_name;
	const char *restore; /* OUT */
};

/* In the create's transaction (store_create's then): the restore row, events and audit rows. */
static int clone_then(struct arena *a, const char *id, void *ctx, struct err *e)
{
	struct clone *x = ctx;
	const char *p[6] = {x->source, x->number};
	char actor[24];
	struct view *d;
	PGresult *res;

	/* the backup stays complete until this commits (pruning deletes only complete rows) */
	if (!(res = db_run(a, &st_clone_lock, p, e)))
		return -1;
	if (!db_rows(res) || strcmp(db_get(res, 0, 0), "complete"))
		return err_set(e, 409, "Backup %s is no longer complete; it cannot be cloned.",
			       x->name);
	snprintf(actor, sizeof(actor), "%lld", x->who->id);
	p[0] = id;
	p[1] = x->number;
	p[2] = x->name;
	p[3] = actor;
	p[4] = x->who->email;
	p[5] = x->source;
	if (!(res = db_run(a, &st_clone_insert, p, e)))
		return -1;
	x->restore = arena_strdup(a, db_get(res, 0, 0));
	p[1] = "restore";
	p[2] = arena_printf(a,
			    "Clone of store %s from its backup %s requested by %s (restore #%s): "
			    "the backup's sizes and SHA-256 are checked and it is restored before "
			    "the store is ready.",
			    x->source, x->name, x->who->email, x->restore);
	if (!db_run(a, &st_clone_event, p, e))
		return -1;
	p[0] = x->source;
	p[1] = "backup";
	p[2] = arena_printf(a, "Backup %s is being cloned into a new store %s by %s.", x->name, id,
			    x->who->email);
	if (!db_run(a, &st_clone_event, p, e))
		return -1;
	d = view_obj(a);
	view_set_str(d, "backup", x->name);
	view_set_str(d, "store", id);
	view_set_str(d, "restore", x->restore);
	if (audit_record(a, x->who->id, x->who->email, x->who->ip, "store.clone", x->source, d, e) <
	    0)
		return -1;
	d = view_obj(a);
	view_set_str(d, "restore", x->restore);
	view_set_str(d, "backup", x->name);
	view_set_str(d, "source_store", x->source);
	return audit_record(a, x->who->id, x->who->email, x->who->ip, "restore.requested", id, d,
			    e);
}

int store_clone(struct arena *a, const struct store_who *who, const char *id, const char *bid,
		struct store_create *c, struct view **out, struct err *e)
{
	struct clone x = {who, id, NULL, NULL, NULL, NULL};
	struct store_meta m;
	struct store_who owner;
	const char *p[2], *n = bid, *plan;
	PGresult *res;
	struct view *rs;

	if (!store_get(a, who, id, &m, e))
		return -1;
	if (*n == 'b')
		n++;
	if (!*n || strlen(n) > 18 || strspn(n, "0123456789") != strlen(n))
		return err_set(e, 404, "There is no such backup of this store.");
	if (!*config.backup_endpoint || !*config.backup_bucket)
		return err_set(e, 409,
			       "Backups are not configured on this storefleet "
			       "(backup_endpoint, backup_bucket).");
	p[0] = id;
	p[1] = n;
	if (!(res = db_run(a, &st_clone_backup, p, e)))
		return -1;
	if (!db_rows(res))
		return err_set(e, 404, "There is no such backup of this store.");
	x.number = arena_strdup(a, db_get(res, 0, 0));
	x.name = *db_get(res, 0, 1) ? arena_strdup(a, db_get(res, 0, 1))
				    : arena_printf(a, "#%s", x.number);
	if (strcmp(db_get(res, 0, 2), "complete"))
		return err_set(e, 409,
			       "Backup %s is %s%s%.300s%s; only a complete backup can be cloned.",
			       x.name, db_get(res, 0, 2), *db_get(res, 0, 3) ? " (" : "",
			       db_get(res, 0, 3), *db_get(res, 0, 3) ? ")" : "");
	c->engine = arena_strdup(a, db_get(res, 0, 4));
	plan = db_get(res, 0, 5);
	c->plan = *plan ? arena_strdup(a, plan) : NULL;
	c->region = NULL;
	c->idem_key = NULL;
	c->then = clone_then;
	c->then_ctx = &x;
	/* the new store is the source's owner's, within that tenant's limits */
	owner.id = m.owner_id;
	owner.email = who->id == m.owner_id ? who->email : m.owner_email;
	owner.is_admin = 0;
	owner.ip = who->ip;
	if (store_create(a, &owner, c, e) < 0)
		return -1;
	*out = view_obj(a);
	view_add(*out, "store", c->store);
	rs = view_set_obj(*out, "restore");
	view_set_int(rs, "number", strtoll(x.restore, NULL, 10));
	view_set_str(rs, "backup", x.name);
	view_set_str(rs, "source_store", id);
	view_set_str(rs, "status", "requested");
	return 0;
}
