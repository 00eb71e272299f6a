/* store.c - stores for the web: ids, input rules, one view loader, guarded create, retry, delete */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include "admission.h"
#include "apitoken.h"
#include "audit.h"
#include "auth.h"
#include "chart.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "plan.h"
#include "seal.h"
#include "session.h"
#include "store.h"

/*
 * Every statement that names a store carries the ownership condition
 * ($2 = asking user, $3 = is admin), so no caller can load a foreign store
 * by forgetting a check.  Times are RFC 3339 UTC from the database clock.
 * Cursors are base64url("<created_at in microseconds>.<id>"): opaque to
 * clients, exact (no float rounding), and stable under inserts because
 * (created_at, id) is a total order.
 */

#define AT(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/*
 * Column order every store query returns (see store_row_view).  Times come
 * as seconds since the epoch (float8 text, microseconds exact at today's
 * magnitudes) and are formatted here: to_char costs about three times as
 * much per value, and the list is the hot path.  The columns of the public
 * view come first (STORE_VIEW_COLS, all a list needs: the joined lists
 * below select only those; the page's list only STORE_SUMMARY_COLS, their
 * first seven), then what the state changes and the admins' list need.
 */
/* clang-format off */
/*
 * The store domain of the store's cluster ('' = config.domain): the stores of
 * 'default' (all of them until a cluster is added) skip the lookup.
 */
#define STORE_DOMAIN_COL                                                                   \
	"CASE WHEN s.cluster = 'default' THEN '' ELSE "                                    \
	"(SELECT c.store_domain FROM clusters c WHERE c.name = s.cluster) END"
#define STORE_SUMMARY_COLS                                                                 \
	"s.id, s.name, s.engine, s.status, s.status_reason, date_part('epoch', s.created_at), " \
	STORE_DOMAIN_COL
#define STORE_VIEW_COLS                                                                    \
	STORE_SUMMARY_COLS ", date_part('epoch', s.updated_at), "                           \
	"date_part('epoch', s.ready_at), "                                                 \
	"s.orders_seen, date_part('epoch', s.last_webhook_at), "                          \
	"s.engine_version, s.current_revision, s.publishable_key, "                       \
	"s.suspended_by, date_part('epoch', s.suspended_at), "                            \
	"floor(s.suspended_seconds + coalesce(date_part('epoch', now() - s.suspended_at), 0))::bigint, " \
	"s.plan, s.plan_applied, s.cluster, "                                               \
	"(SELECT c.region FROM clusters c WHERE c.name = s.cluster)"
#define STORE_COLS                                                                         \
	STORE_VIEW_COLS ", s.owner_id, u.email, s.step, s.admin_user, s.admin_secret IS NOT NULL"
enum {
	C_ID, C_NAME, C_ENGINE, C_STATUS, C_REASON, C_CREATED, C_STORE_DOMAIN, C_UPDATED, C_READY,
	C_ORDERS_SEEN, C_LAST_WEBHOOK, C_VERSION, C_REVISION, C_PUBLISHABLE_KEY, C_SUSPENDED_BY,
	C_SUSPENDED_AT, C_SUSPENDED_SECONDS, C_PLAN, C_PLAN_APPLIED, C_CLUSTER, C_REGION,
	C_VIEW_N, /* STORE_VIEW_COLS ends here */
	C_OWNER = C_VIEW_N, C_EMAIL, C_STEP, C_ADMIN_USER, C_HAS_SECRET
};
/* clang-format on */

#define STORE_FROM    " FROM stores s JOIN users u ON u.id = s.owner_id "
#define STORE_VISIBLE " (s.owner_id = $2::bigint OR $3::boolean) "

/* Decode one UTF-8 sequence at s (n bytes left); the code point or -1 if invalid. */
static long utf8_next(const unsigned char *s, size_t n, size_t *len)
{
	long cp;
	size_t need;

	if (s[0] < 0x80) {
		*len = 1;
		return s[0];
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		need = 1;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 2;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 3;
		cp = s[0] & 0x07;
	} else {
		return -1;
	}
	if (n < need + 1)
		return -1;
	for (size_t i = 1; i <= need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF are not UTF-8. */
	if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*len = need + 1;
	return cp;
}

int store_check_name(const char *name, struct err *e)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t n, chars = 0, len;
	int blank = 1;

	if (!name || !*name)
		return err_set(e, 422, "Give the store a name.");
	n = strlen(name);
	for (size_t i = 0; i < n; i += len) {
		long cp = utf8_next(s + i, n - i, &len);

		if (cp < 0)
			return err_set(e, 422, "The name is not valid UTF-8 text.");
		/* C0, DEL and C1 controls: invisible in pages, dangerous in logs. */
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
			return err_set(e, 422, "The name must not contain control characters.");
		if (cp != ' ')
			blank = 0;
		chars++;
	}
	if (chars > STORE_NAME_MAX)
		return err_set(e, 422, "The name is longer than %d characters.", STORE_NAME_MAX);
	if (blank)
		return err_set(e, 422, "The name must not be only spaces.");
	return 0;
}

int store_check_engine(const char *engine, struct err *e)
{
	if (!engine || !*engine)
		return err_set(e, 422, "Choose an engine: woocommerce or medusa.");
	if (strcmp(engine, "woocommerce") && strcmp(engine, "medusa"))
		return err_set(e, 422, "Unknown engine; choose woocommerce or medusa.");
	return 0;
}

/* "1795321941.123456" (date_part's text) -> "2026-11-22T04:12:21Z"; NULL -> NULL. */
static const char *epoch_rfc3339(struct arena *a, const char *s)
{
	long long t, days, z, era, y;
	unsigned doe, yoe, doy, mp, m, d, sod;
	struct tm tm;
	char *out;
	time_t tt;

	if (!s)
		return NULL;
	/*
	 * The civil date of day number `days` (Howard Hinnant's days_from_civil,
	 * inverted): no gmtime_r and strftime per value, the list's ~60 a page.
	 * Years outside 1000..9999 (never a store's) take the libc path.
	 */
	t = strtoll(s, NULL, 10);
	days = t / 86400 - (t % 86400 < 0);
	sod = (unsigned)(t - days * 86400);
	z = days + 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y = (long long)yoe + era * 400 + (m <= 2);
	if (y < 1000 || y > 9999) {
		char buf[32];

		tt = (time_t)t;
		if (!gmtime_r(&tt, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
			return NULL;
		return arena_strdup(a, buf);
	}
	out = arena_alloc(a, 21);
	out[0] = (char)('0' + y / 1000);
	out[1] = (char)('0' + y / 100 % 10);
	out[2] = (char)('0' + y / 10 % 10);
	out[3] = (char)('0' + y % 10);
	out[4] = '-';
	out[5] = (char)('0' + m / 10);
	out[6] = (char)('0' + m % 10);
	out[7] = '-';
	out[8] = (char)('0' + d / 10);
	out[9] = (char)('0' + d % 10);
	out[10] = 'T';
	out[11] = (char)('0' + sod / 36000);
	out[12] = (char)('0' + sod / 3600 % 10);
	out[13] = ':';
	out[14] = (char)('0' + sod % 3600 / 600);
	out[15] = (char)('0' + sod % 3600 / 60 % 10);
	out[16] = ':';
	out[17] = (char)('0' + sod % 60 / 10);
	out[18] = (char)('0' + sod % 10);
	out[19] = 'Z';
	out[20] = '\0';
	return out;
}

/* The same text as whole microseconds, exactly (decimal digits, no floating point). */
static const char *epoch_micros(struct arena *a, const char *s)
{
	const char *dot = strchr(s, '.');
	char frac[7] = "000000";

	if (dot)
		for (int i = 0; i < 6 && dot[1 + i] >= '0' && dot[1 + i] <= '9'; i++)
			frac[i] = dot[1 + i];
	return arena_printf(a, "%.*s%s", dot ? (int)(dot - s) : (int)strlen(s), s, frac);
}

/*
 * A store's addresses as store_url and store_admin_url write them, made
 * once per list: each is pre + id + a tail (their formats stay theirs, in
 * lifecycle.c; a mark stands in for the id).  ~60 formatted strings a page
 * become one or three.
 */
#define URL_MARK '\001'
struct store_urls {
	struct arena *a;
	const char *pre, *tail;	  /* store_url: pre id tail */
	size_t pre_len;
	const char *admin_tail[2]; /* store_admin_url for [0] other engines, [1] medusa; lazily */
};

static void store_urls_init(struct arena *a, struct store_urls *u)
{
	const char *s = store_url(a, "\001"), *mark = strchr(s, URL_MARK);

	if (!mark)
		BUG("store_url: no id in '%s'", s);
	u->a = a;
	u->pre = s;
	u->pre_len = (size_t)(mark - s);
	u->tail = mark + 1;
	u->admin_tail[0] = u->admin_tail[1] = NULL;
}

/* pre + id + tail, the tail's last `drop` bytes left out, in the arena (id: never NULL). */
static const char *store_urls_make(struct store_urls *u, const char *id, const char *tail,
				   size_t drop)
{
	size_t il = strlen(id), tl = strlen(tail) - drop;
	char *out = arena_alloc(u->a, u->pre_len + il + tl + 1);

	memcpy(out, u->pre, u->pre_len);
	memcpy(out + u->pre_len, id, il);
	memcpy(out + u->pre_len + il, tail, tl);
	out[u->pre_len + il + tl] = '\0';
	return out;
}

static const char *store_urls_admin(struct store_urls *u, const char *id, const char *engine)
{
	int medusa = engine && !strcmp(engine, "medusa");

	if (!u->admin_tail[medusa]) {
		const char *s = store_admin_url(u->a, "\001", engine), *mark = strchr(s, URL_MARK);

		if (!mark || (size_t)(mark - s) != u->pre_len || strncmp(s, u->pre, u->pre_len))
			BUG("store_admin_url: '%s' does not start with store_url's '%s'", s, u->pre);
		u->admin_tail[medusa] = mark + 1;
	}
	return store_urls_make(u, id, u->admin_tail[medusa], 0);
}

/*
 * The public view of row i of a result whose STORE_VIEW_COLS start at column
 * off (strings borrowed from res).  Keys are added, not set: each is new.
 */
static struct view *store_row_view_at(struct arena *a, const PGresult *res, int i, int off,
				      struct store_urls *u)
{
	struct view *v = view_obj(a);
	const char *id = db_get(res, i, off + C_ID), *engine = db_get(res, i, off + C_ENGINE);
	const char *reason = db_get(res, i, off + C_REASON);
	const char *version = db_get(res, i, off + C_VERSION);
	const char *sd = db_get(res, i, off + C_STORE_DOMAIN), *region;

	view_add_str_ref(v, "id", id);
	view_add_str_ref(v, "name", db_get(res, i, off + C_NAME));
	view_add_str_ref(v, "engine", engine);
	view_add_str_ref(v, "status", db_get(res, i, off + C_STATUS));
	view_add_str_ref(v, "status_reason", reason && *reason ? reason : NULL);
	if (sd && *sd) {
		view_add_str_ref(v, "url", store_url_in(a, id, sd));
		view_add_str_ref(v, "admin_url", store_admin_url_in(a, id, engine, sd));
	} else {
		view_add_str_ref(v, "url", store_urls_make(u, id, u->tail, 0));
		view_add_str_ref(v, "admin_url", store_urls_admin(u, id, engine));
	}
	view_add_str_ref(v, "created_at", epoch_rfc3339(a, db_get(res, i, off + C_CREATED)));
	view_add_str_ref(v, "updated_at", epoch_rfc3339(a, db_get(res, i, off + C_UPDATED)));
	view_add_str_ref(v, "ready_at", epoch_rfc3339(a, db_get(res, i, off + C_READY)));
	/* what the store's WooCommerce webhooks reported (sql/007_webhooks.sql) */
	view_add_int(v, "orders_seen", db_get_ll(res, i, off + C_ORDERS_SEEN));
	view_add_str_ref(v, "last_webhook_at",
			 epoch_rfc3339(a, db_get(res, i, off + C_LAST_WEBHOOK)));
	/* '' = the chart's version (chart.c); revision 0 = nothing applied yet. */
	view_add_str_ref(v, "version",
			 version && *version ? version : chart_default_version(engine));
	view_add_int(v, "revision", db_get_ll(res, i, off + C_REVISION));
	/*
	 * What a storefront developer needs (not secrets): the key reconcile read
	 * from the store (null until then: sql/010_medusa_key.sql) and the URL the
	 * Store API answers under (/store/... on the store's own address).
	 */
	if (engine && !strcmp(engine, "medusa")) {
		struct view *m = view_add(v, "medusa", view_obj(a));

		view_add_str_ref(m, "publishable_key", db_get(res, i, off + C_PUBLISHABLE_KEY));
		/* the store's URL without its trailing '/' */
		if (sd && *sd) {
			const char *su = store_url_in(a, id, sd);

			view_add_str_ref(m, "store_api_url", arena_strndup(a, su, strlen(su) - 1));
		} else {
			view_add_str_ref(m, "store_api_url", store_urls_make(u, id, u->tail, 1));
		}
	}
	/* suspend and resume (sql/012_suspend.sql): who holds it, since when, in all how long */
	view_add_str_ref(v, "suspended_by", db_get(res, i, off + C_SUSPENDED_BY));
	view_add_str_ref(v, "suspended_at", epoch_rfc3339(a, db_get(res, i, off + C_SUSPENDED_AT)));
	view_add_int(v, "suspended_seconds", db_get_ll(res, i, off + C_SUSPENDED_SECONDS));
	store_plan_view(a, v, db_get(res, i, off + C_PLAN), db_get(res, i, off + C_PLAN_APPLIED));
	/* where it is placed (sql/018_clusters.sql) and that cluster's region, null if none */
	view_add_str_ref(v, "cluster", db_get(res, i, off + C_CLUSTER));
	region = db_get(res, i, off + C_REGION);
	view_add_str_ref(v, "region", region && *region ? region : NULL);
	return v;
}

/*
 * What the page's list shows of a store (templates/stores.html: id, name,
 * engine, status, created_at, url; and status_reason) from STORE_SUMMARY_COLS
 * at column off: a fifth of the full view's work per row.  A key the list
 * template starts to use must be added here (t0111 holds the table's bytes).
 */
static struct view *store_summary_view_at(struct arena *a, const PGresult *res, int i, int off,
					  struct store_urls *u)
{
	struct view *v = view_obj(a);
	const char *id = db_get(res, i, off + C_ID), *reason = db_get(res, i, off + C_REASON);
	const char *sd = db_get(res, i, off + C_STORE_DOMAIN);

	view_add_str_ref(v, "id", id);
	view_add_str_ref(v, "name", db_get(res, i, off + C_NAME));
	view_add_str_ref(v, "engine", db_get(res, i, off + C_ENGINE));
	view_add_str_ref(v, "status", db_get(res, i, off + C_STATUS));
	view_add_str_ref(v, "status_reason", reason && *reason ? reason : NULL);
	view_add_str_ref(v, "url",
			 sd && *sd ? store_url_in(a, id, sd) : store_urls_make(u, id, u->tail, 0));
	view_add_str_ref(v, "created_at", epoch_rfc3339(a, db_get(res, i, off + C_CREATED)));
	return v;
}

static struct view *store_row_view(struct arena *a, const PGresult *res, int i)
{
	struct store_urls u;

	store_urls_init(a, &u);
	return store_row_view_at(a, res, i, 0, &u);
}

static void store_row_meta(const PGresult *res, int i, struct store_meta *m)
{
	m->id = db_get(res, i, C_ID);
	m->owner_id = db_get_ll(res, i, C_OWNER);
	m->owner_email = db_get(res, i, C_EMAIL);
	m->status = db_get(res, i, C_STATUS);
	m->step = db_get(res, i, C_STEP);
	m->engine = db_get(res, i, C_ENGINE);
	m->admin_user = db_get(res, i, C_ADMIN_USER);
	m->has_secret = db_get_bool(res, i, C_HAS_SECRET);
	m->suspended_by = db_get(res, i, C_SUSPENDED_BY);
}

static void who_params(const struct store_who *who, char uid[24], const char **p)
{
	snprintf(uid, 24, "%lld", who->id);
	p[1] = uid;
	p[2] = who->is_admin ? "true" : "false";
}

/* clang-format off */
static struct db_stmt st_get = DB_STMT(
	"SELECT " STORE_COLS STORE_FROM "WHERE s.id = $1 AND" STORE_VISIBLE, 3);
/* clang-format on */

struct view *store_get(struct arena *a, const struct store_who *who, const char *id,
		       struct store_meta *meta, struct err *e)
{
	const char *p[3] = {id};
	char uid[24];
	PGresult *res;

	if (!store_id_valid(id)) {
		err_set(e, 404, STORE_NOT_FOUND);
		return NULL;
	}
	who_params(who, uid, p);
	if (!(res = db_run(a, &st_get, p, e)))
		return NULL;
	if (db_rows(res) != 1) {
		err_set(e, 404, STORE_NOT_FOUND);
		return NULL;
	}
	if (meta)
		store_row_meta(res, 0, meta);
	return store_row_view(a, res, 0);
}

/* --- create ------------------------------------------------------------- */

/* clang-format off */
static struct db_stmt st_lock_user = DB_STMT(
	"SELECT id FROM users WHERE id = $1::bigint AND disabled_at IS NULL FOR NO KEY UPDATE", 1);
/* clang-format on */

/* Any fixed key: the platform cap is counted by one creator at a time. */
/* clang-format off */
static struct db_stmt st_lock_cap = DB_STMT(
	"SELECT pg_advisory_xact_lock(hashtext('storefleet.stores_max'))", 0);
/* clang-format on */

/* clang-format off */
static struct db_stmt st_idem_purge = DB_STMT(
	"DELETE FROM idempotency_keys WHERE created_at < now() - $1::int * interval '1 second'", 1);
/* clang-format on */

/* clang-format off */
static struct db_stmt st_idem_get = DB_STMT(
	"SELECT encode(request_sha256, 'hex'), store_id FROM idempotency_keys "
	"WHERE user_id = $1::bigint AND key = $2",
	2);
/* clang-format on */

/* clang-format off */
static struct db_stmt st_idem_put = DB_STMT(
	"INSERT INTO idempotency_keys (user_id, key, request_sha256, store_id) "
	"VALUES ($1::bigint, $2, decode($3, 'hex'), $4)",
	4);
/* clang-format on */

/*
 * Counted after the locks, so against every committed create.  The rate is
 * a sliding hour over the tenant's own rows (rows are never deleted, so a
 * delete does not give a slot back); Retry-After is when the oldest create
 * that still counts leaves the hour, or when the cooldown ends.
 */
/* clang-format off */
static struct db_stmt st_guard = DB_STMT(
	"SELECT "
	"(SELECT count(*) FROM stores WHERE owner_id = $1::bigint AND status <> 'deleted'), "
	"(SELECT count(*) FROM stores WHERE status <> 'deleted'), "
	"(SELECT count(*) FROM stores WHERE owner_id = $1::bigint "
	"  AND created_at > clock_timestamp() - interval '1 hour'), "
	"(SELECT ceil(extract(epoch FROM created_at + interval '1 hour' - clock_timestamp()))::int "
	"  FROM stores WHERE owner_id = $1::bigint "
	"  AND created_at > clock_timestamp() - interval '1 hour' "
	"  ORDER BY created_at DESC OFFSET greatest($2::int - 1, 0) LIMIT 1), "
	"(SELECT ceil(extract(epoch FROM max(created_at) + $3::int * interval '1 second' "
	"  - clock_timestamp()))::int FROM stores WHERE owner_id = $1::bigint)",
	3);
/* clang-format on */

/* clang-format off */
static struct db_stmt st_insert = DB_STMT(
	"INSERT INTO stores (id, owner_id, name, engine, plan, plan_applied, cluster) "
	"VALUES ($1, $2::bigint, $3, $4, $5, $5, $6) "
	"ON CONFLICT (id) DO NOTHING RETURNING id",
	6);
/* clang-format on */

/* clang-format off */
static struct db_stmt st_event = DB_STMT(
	"INSERT INTO store_events (store_id, step, level, message) VALUES ($1, $2, $3, $4)", 4);
/* clang-format on */

struct create_ctx {
	struct arena *a;
	const struct store_who *who;
	struct store_create *c;
	char hash[crypto_hash_sha256_BYTES * 2 + 1];
	char id[STORE_ID_LEN + 1];
	const char *existing; /* the store of a replayed key */
};

static int create_tx(void *ctx, struct err *e)
{
	struct create_ctx *x = ctx;
	struct store_create *c = x->c;
	struct arena *a = x->a;
	char uid[24], lim[16], cool[16], ttl[16];
	const char *p[6];
	struct admission ad = {0};
	PGresult *res;
	struct view *d;
	long long mine, all, hour;

	/* db_tx may run this more than once. */
	x->existing = NULL;
	c->code = NULL;
	c->retry_after = 0;
	c->field = NULL;
	c->refused = NULL;
	c->cluster = NULL;

	snprintf(uid, sizeof(uid), "%lld", x->who->id);
	p[0] = uid;
	if (!(res = db_run(a, &st_lock_user, p, e)))
		return -1;
	if (db_rows(res) != 1)
		return err_set(e, 401, "the account no longer exists or is disabled");
	if (!db_run(a, &st_lock_cap, NULL, e))
		return -1;

	if (c->idem_key) {
		snprintf(ttl, sizeof(ttl), "%d", config.idempotency_ttl);
		p[0] = ttl;
		if (!db_run(a, &st_idem_purge, p, e))
			return -1;
		p[0] = uid;
		p[1] = c->idem_key;
		if (!(res = db_run(a, &st_idem_get, p, e)))
			return -1;
		if (db_rows(res) == 1) {
			if (strcmp(db_get(res, 0, 0), x->hash)) {
				c->field = "Idempotency-Key";
				return err_set(
				    e, 422,
				    "this Idempotency-Key was used with a different request");
			}
			x->existing = arena_strdup(a, db_get(res, 0, 1));
			return 0;
		}
	}

	snprintf(lim, sizeof(lim), "%d", config.creates_per_hour);
	snprintf(cool, sizeof(cool), "%d", config.create_cooldown);
	p[0] = uid;
	p[1] = lim;
	p[2] = cool;
	if (!(res = db_run(a, &st_guard, p, e)))
		return -1;
	mine = db_get_ll(res, 0, 0);
	all = db_get_ll(res, 0, 1);
	hour = db_get_ll(res, 0, 2);
	if (mine >= config.stores_per_tenant) {
		c->code = "quota_exceeded";
		return err_set(
		    e, 429, "You have %lld stores, the limit per account is %d; delete one first.",
		    mine, config.stores_per_tenant);
	}
	if (all >= config.stores_max) {
		c->code = "quota_exceeded";
		return err_set(e, 429, "The platform is full (%d stores); try again later.",
			       config.stores_max);
	}
	if (hour >= config.creates_per_hour) {
		long long wait = config.creates_per_hour > 0 ? db_get_ll(res, 0, 3) : 3600;

		c->code = "rate_limited";
		c->retry_after = wait < 1 ? 1 : (int)wait;
		return err_set(e, 429,
			       "You can create %d stores per hour; try again in %d seconds.",
			       config.creates_per_hour, c->retry_after);
	}
	if (config.create_cooldown > 0 && db_get(res, 0, 4) && db_get_ll(res, 0, 4) > 0) {
		c->code = "rate_limited";
		c->retry_after = (int)db_get_ll(res, 0, 4);
		return err_set(e, 429, "Wait %d seconds between two new stores.", c->retry_after);
	}

	if (store_plan_room(a, x->who->id, c->plan, c->plan_limit, e) < 0) {
		c->field = "plan";
		return -1;
	}
	/* last: the cluster, its row locked until the store row is in (admission.h) */
	ad.engine = c->engine;
	ad.plan = c->plan;
	ad.region = c->region;
	if (admission_place(a, &ad, e) < 0) {
		c->refused = ad.reason;
		c->field = ad.field;
		return -1;
	}
	c->cluster = ad.cluster;

	/* A clash of two random ids is ~1e-12; try again rather than fail. */
	for (int tries = 0;; tries++) {
		store_new_id(x->id);
		p[0] = x->id;
		p[1] = uid;
		p[2] = c->name;
		p[3] = c->engine;
		p[4] = c->plan;
		p[5] = c->cluster;
		if (!(res = db_run(a, &st_insert, p, e)))
			return -1;
		if (db_rows(res) == 1)
			break;
		if (tries == 8)
			return err_set(e, 500, "store: cannot find a free id");
	}
	p[0] = x->id;
	p[1] = "request";
	p[2] = "info";
	p[3] = arena_printf(a, "Store requested (%s, plan %s).",
			    strcmp(c->engine, "medusa") ? "WooCommerce" : "Medusa", c->plan);
	if (!db_run(a, &st_event, p, e))
		return -1;
	d = view_obj(a);
	view_set_str(d, "name", c->name);
	view_set_str(d, "engine", c->engine);
	view_set_str(d, "plan", c->plan);
	view_set_str(d, "cluster", c->cluster);
	if (c->region && *c->region)
		view_set_str(d, "region", c->region);
	if (c->idem_key)
		view_set_str(d, "idempotency_key", c->idem_key);
	if (audit_record(a, x->who->id, x->who->email, x->who->ip, "store.create", x->id, d, e) < 0)
		return -1;
	if (c->then && c->then(a, x->id, c->then_ctx, e) < 0)
		return -1;
	if (c->idem_key) {
		p[0] = uid;
		p[1] = c->idem_key;
		p[2] = x->hash;
		p[3] = x->id;
		if (!db_run(a, &st_idem_put, p, e))
			return -1;
	}
	return 0;
}

/* After a lost race on the key (a unique violation): the winner's store, or 422. */
static const char *idem_reread(struct create_ctx *x, struct err *e)
{
	const char *p[2];
	char uid[24];
	PGresult *res;

	snprintf(uid, sizeof(uid), "%lld", x->who->id);
	p[0] = uid;
	p[1] = x->c->idem_key;
	if (!(res = db_run(x->a, &st_idem_get, p, e)))
		return NULL;
	if (db_rows(res) != 1) {
		err_set(e, 503, "database busy, try again");
		return NULL;
	}
	if (strcmp(db_get(res, 0, 0), x->hash)) {
		x->c->field = "Idempotency-Key";
		err_set(e, 422, "this Idempotency-Key was used with a different request");
		return NULL;
	}
	return arena_strdup(x->a, db_get(res, 0, 1));
}

int store_create(struct arena *a, const struct store_who *who, struct store_create *c,
		 struct err *e)
{
	struct create_ctx x = {.a = a, .who = who, .c = c};
	struct err te = ERR_INIT;
	const char *id;
	int explicit_plan;

	c->store = NULL;
	c->replayed = 0;
	c->code = NULL;
	c->retry_after = 0;
	c->field = NULL;
	if (store_check_name(c->name, e) < 0) {
		c->field = "name";
		return -1;
	}
	if (store_check_engine(c->engine, e) < 0) {
		c->field = "engine";
		return -1;
	}
	explicit_plan = c->plan && *c->plan;
	{
		const struct plans *ps = plans_get(e);
		const json_t *plan;

		if (!ps)
			return -1;
		plan = plans_find(ps, c->plan && *c->plan ? c->plan : NULL);
		if (!plan) {
			c->field = "plan";
			return err_set(e, 422, "There is no plan '%.40s'; the plans are %s.",
				       c->plan, plans_names(ps));
		}
		c->plan = json_string_value(json_object_get(plan, "name"));
		c->plan_limit = (int)json_integer_value(json_object_get(plan, "stores_per_tenant"));
	}
	if (c->idem_key) {
		unsigned char h[crypto_hash_sha256_BYTES];
		crypto_hash_sha256_state st;
		size_t n = strlen(c->idem_key);

		if (n < 1 || n > 255) {
			c->field = "Idempotency-Key";
			return err_set(e, 422, "Idempotency-Key must be 1 to 255 characters");
		}
		/* "The same body" means the same request: name, engine (and plan), NUL-separated.
		 */
		crypto_hash_sha256_init(&st);
		crypto_hash_sha256_update(&st, (const unsigned char *)c->name, strlen(c->name) + 1);
		crypto_hash_sha256_update(&st, (const unsigned char *)c->engine, strlen(c->engine));
		if (explicit_plan) { /* a body without a plan hashes as before plans existed */
			crypto_hash_sha256_update(&st, (const unsigned char *)"", 1);
			crypto_hash_sha256_update(&st, (const unsigned char *)c->plan,
						  strlen(c->plan));
		}
		if (c->region && *c->region) { /* and without a region as before regions */
			crypto_hash_sha256_update(&st, (const unsigned char *)"\0region", 8);
			crypto_hash_sha256_update(&st, (const unsigned char *)c->region,
						  strlen(c->region));
		}
		crypto_hash_sha256_final(&st, h);
		sodium_bin2hex(x.hash, sizeof(x.hash), h, sizeof(h));
	}
	if (db_tx(create_tx, &x, &te) < 0) {
		if (te.status == 409 && c->idem_key && !strcmp(db_last_sqlstate(), "23505")) {
			if (!(id = idem_reread(&x, e)))
				return -1;
			c->replayed = 1;
		} else {
			if (x.c->refused) {
				struct view *d = view_obj(a);

				view_set_str(d, "name", c->name);
				view_set_str(d, "engine", c->engine);
				view_set_str(d, "plan", c->plan);
				if (c->region && *c->region)
					view_set_str(d, "region", c->region);
				admission_refused(a, who->id, who->email, who->ip,
						  "store.create.refused", NULL, d, c->refused,
						  te.msg);
			}
			return err_set(e, te.status ? te.status : 500, "%s", te.msg);
		}
	} else if (x.existing) {
		id = x.existing;
		c->replayed = 1;
	} else {
		id = x.id;
	}
	{
		struct store_who owner = *who;

		/* The key's store is the asker's own; load it as such. */
		owner.is_admin = 0;
		c->store = store_get(a, &owner, id, NULL, e);
	}
	return c->store ? 0 : -1;
}

/* --- list --------------------------------------------------------------- */

/* $1 owner, $2 status (NULL = not deleted), $3 cursor micros, $4 cursor id, $5 limit. */
/* clang-format off */
#define LIST_FILTER                                                                        \
	" AND (CASE WHEN $2::text IS NULL THEN s.status <> 'deleted' ELSE s.status = $2 END) " \
	" AND ($3::bigint IS NULL OR (s.created_at, s.id) < "                                \
	"      (timestamptz 'epoch' + $3::bigint * interval '1 microsecond', $4::text)) "     \
	"ORDER BY s.created_at DESC, s.id DESC LIMIT $5::int"
/* clang-format on */

/* clang-format off */
static struct db_stmt st_list_own = DB_STMT(
	"SELECT " STORE_COLS STORE_FROM "WHERE s.owner_id = $1::bigint" LIST_FILTER, 5);
/* clang-format on */

const char *store_cursor_encode(struct arena *a, const char *micros, const char *tail)
{
	char raw[64], out[128];

	snprintf(raw, sizeof(raw), "%s.%s", micros, tail);
	sodium_bin2base64(out, sizeof(out), (const unsigned char *)raw, strlen(raw),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return arena_strdup(a, out);
}

int store_cursor_decode(struct arena *a, const char *cursor, const char **micros, const char **tail,
			struct err *e)
{
	unsigned char raw[64];
	size_t n, d;
	char *s;

	if (strlen(cursor) > 80 ||
	    sodium_base642bin(raw, sizeof(raw) - 1, cursor, strlen(cursor), NULL, &n, NULL,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		return err_set(e, 422, "the cursor is not one this API gave out");
	raw[n] = '\0';
	s = arena_strndup(a, (const char *)raw, n);
	d = strspn(s, "0123456789");
	if (d == 0 || d > 18 || s[d] != '.' || strlen(s) != n)
		return err_set(e, 422, "the cursor is not one this API gave out");
	s[d] = '\0';
	*micros = s;
	*tail = s + d + 1;
	return 0;
}

/* "requested, provisioning, ...": every status name, for a message. */
static const char *status_names(struct arena *a)
{
	const char *s = store_statuses[0];

	for (int i = 1; i < STORE_STATUS_N; i++)
		s = arena_printf(a, "%s, %s", s, store_statuses[i]);
	return s;
}

/* The checks of store_list's arguments: 0, or -1 with e (422); p[2], p[3] from the cursor. */
static int list_args(struct arena *a, const char *status, int limit, const char *cursor,
		     const char **p, struct err *e)
{
	if (status && !store_status_valid(status))
		return err_set(e, 422, "status must be one of %s", status_names(a));
	if (limit < 1 || limit > STORE_LIST_MAX)
		BUG("store_list: limit %d", limit);
	if (cursor) {
		if (store_cursor_decode(a, cursor, &p[2], &p[3], e) < 0)
			return -1;
		if (!store_id_valid(p[3]))
			return err_set(e, 422, "the cursor is not one this API gave out");
	}
	return 0;
}

/*
 * Rows from..n-1 of res (STORE_COLS, or STORE_VIEW_COLS, at column off) as a
 * list's page of row_view's views, in the order order[] gives (NULL: as they
 * are); "owner" added if owners (STORE_COLS only).  list_rows: full views.
 */
typedef struct view *row_view_fn(struct arena *a, const PGresult *res, int i, int off,
				 struct store_urls *u);

static void list_rows_as(struct arena *a, const PGresult *res, int from, int off, int owners,
			 const int *order, int limit, row_view_fn *row_view, struct view **stores,
			 const char **next_cursor)
{
	int n = db_rows(res) - from, last;
	struct store_urls u;

	store_urls_init(a, &u);
	*stores = view_arr(a);
	for (int i = 0; i < n && i < limit; i++) {
		int row = from + (order ? order[i] : i);
		struct view *v = row_view(a, res, row, off, &u);

		if (owners)
			view_set_str_ref(v, "owner", db_get(res, row, off + C_EMAIL));
		view_push(*stores, v);
	}
	if (n > limit) {
		last = from + (order ? order[limit - 1] : limit - 1);
		*next_cursor = store_cursor_encode(
		    a, epoch_micros(a, db_get(res, last, off + C_CREATED)), db_get(res, last, off + C_ID));
	}
}

static void list_rows(struct arena *a, const PGresult *res, int from, int off, int owners,
		      const int *order, int limit, struct view **stores, const char **next_cursor)
{
	list_rows_as(a, res, from, off, owners, order, limit, store_row_view_at, stores,
		     next_cursor);
}

int store_list(struct arena *a, const struct store_who *who, const char *status, int limit,
	       const char *cursor, struct view **stores, const char **next_cursor, struct err *e)
{
	const char *p[5] = {NULL};
	char uid[24], lim[16];
	PGresult *res;

	*stores = NULL;
	*next_cursor = NULL;
	if (list_args(a, status, limit, cursor, p, e) < 0)
		return -1;
	snprintf(uid, sizeof(uid), "%lld", who->id);
	snprintf(lim, sizeof(lim), "%d", limit + 1); /* one more: is there a next page? */
	p[0] = uid;
	p[1] = status;
	p[4] = lim;
	if (!(res = db_run(a, &st_list_own, p, e)))
		return -1;
	list_rows(a, res, 0, 0, 0, NULL, limit, stores, next_cursor);
	return 0;
}

/*
 * The administrators' list: one statement per direction (a CASE in ORDER
 * BY would hide the (created_at, id) index from the planner), every
 * filter an optional parameter.  $1 status (NULL = not deleted), $2
 * engine, $3 owner email, $4 $5 cursor, $6 limit.
 */
/* clang-format off */
#define ADMIN_LIST(cmp, dir)                                                               \
	"SELECT " STORE_COLS STORE_FROM                                                    \
	"WHERE (CASE WHEN $1::text IS NULL THEN s.status <> 'deleted' ELSE s.status = $1 END) " \
	" AND ($2::text IS NULL OR s.engine = $2) "                                        \
	" AND ($3::text IS NULL OR lower(u.email) = lower($3)) "                           \
	" AND ($4::bigint IS NULL OR (s.created_at, s.id) " cmp                            \
	"      (timestamptz 'epoch' + $4::bigint * interval '1 microsecond', $5::text)) "     \
	"ORDER BY s.created_at " dir ", s.id " dir " LIMIT $6::int"
static struct db_stmt st_list_admin_new = DB_STMT(ADMIN_LIST("<", "DESC"), 6);
static struct db_stmt st_list_admin_old = DB_STMT(ADMIN_LIST(">", "ASC"), 6);
/* clang-format on */

int store_list_admin(struct arena *a, struct store_filter *f, int limit, const char *cursor,
		     struct view **stores, const char **next_cursor, struct err *e)
{
	const char *p[6] = {NULL};
	char lim[16];
	PGresult *res;

	*stores = NULL;
	*next_cursor = NULL;
	f->field = "status";
	if (list_args(a, f->status, limit, cursor, p + 1, e) < 0) { /* sets p[3], p[4] */
		if (cursor && e->status == 422 && strstr(e->msg, "cursor"))
			f->field = "cursor";
		return -1;
	}
	f->field = "engine";
	if (f->engine && store_check_engine(f->engine, e) < 0)
		return -1;
	f->field = "owner";
	if (f->owner && (!*f->owner || strlen(f->owner) > AUTH_EMAIL_MAX))
		return err_set(e, 422, "owner must be an email address");
	f->field = NULL;
	snprintf(lim, sizeof(lim), "%d", limit + 1); /* one more: is there a next page? */
	p[0] = f->status;
	p[1] = f->engine;
	p[2] = f->owner;
	p[5] = lim;
	if (!(res = db_run(a, f->oldest ? &st_list_admin_old : &st_list_admin_new, p, e)))
		return -1;
	list_rows(a, res, 0, 0, 1, NULL, limit, stores, next_cursor);
	return 0;
}

/*
 * The API token's lookup and the owner's page in one statement: the token
 * columns come first on every row (one row with NULL store columns when
 * the owner has no store in the page; no row when the token is not live),
 * then the columns of the view only (the owner is the token's user).  A
 * join does not promise to keep the lateral subquery's order, and an outer
 * ORDER BY cost a sort node, a quarter of the statement's time: list_order
 * checks the order of the rows (a page is at most STORE_LIST_MAX + 1) and
 * sorts them only if they came otherwise.
 */
#define TOKEN_COLS 5
/* clang-format off */
static struct db_stmt st_list_token = DB_STMT(
	"WITH who (token_id, user_id, email, is_admin, stale) AS (" APITOKEN_LOOKUP_SQL ") "
	"SELECT who.*, l.* FROM who LEFT JOIN LATERAL ("
	"SELECT " STORE_VIEW_COLS " FROM stores s "
	"WHERE s.owner_id = who.user_id" LIST_FILTER
	") l ON true", 5);

/*
 * The same behind a session cookie's lookup, whose idle and touch seconds are
 * $6 and $7, for the page: the summary columns only (store_summary_view_at).
 */
static struct db_stmt st_list_session = DB_STMT(
	"WITH who (session_id, user_id, email, is_admin, stale, csrf) AS ("
	SESSION_LOOKUP_SQL("$1", "$6", "$7") ") "
	"SELECT who.*, l.* FROM who LEFT JOIN LATERAL ("
	"SELECT " STORE_SUMMARY_COLS " FROM stores s "
	"WHERE s.owner_id = who.user_id" LIST_FILTER
	") l ON true", 7);
/* clang-format on */

/* date_part's epoch text ("1795321941.123456", "-86400.5") as whole microseconds. */
static long long epoch_us(const char *s)
{
	long long v = 0;
	int neg = *s == '-', d = 0;

	s += neg;
	for (; *s >= '0' && *s <= '9'; s++)
		v = v * 10 + (*s - '0');
	if (*s == '.')
		for (s++; d < 6 && *s >= '0' && *s <= '9'; s++, d++)
			v = v * 10 + (*s - '0');
	for (; d < 6; d++)
		v *= 10;
	return neg ? -v : v;
}

struct list_key {
	long long created;
	const char *id;
};

/* Newest first, then the greater id first: the lists' ORDER BY created_at DESC, id DESC. */
static int list_key_cmp(const struct list_key *x, const struct list_key *y)
{
	if (x->created != y->created)
		return x->created < y->created ? 1 : -1;
	return -strcmp(x->id, y->id);
}

static const struct list_key *list_keys; /* for list_order_cmp: qsort passes no context */

static int list_order_cmp(const void *x, const void *y)
{
	return list_key_cmp(&list_keys[*(const int *)x], &list_keys[*(const int *)y]);
}

/*
 * The rows of res (store columns at off) in the lists' order, as row numbers:
 * NULL when they are in it already (the usual case: the lateral subquery's
 * rows come in its order), else an arena array of them sorted.
 */
static const int *list_order(struct arena *a, const PGresult *res, int off)
{
	int n = db_rows(res), sorted = 1, *order;
	struct list_key *k;

	if (n < 2)
		return NULL;
	k = arena_alloc(a, sizeof(*k) * (size_t)n);
	for (int i = 0; i < n; i++) {
		const char *c = db_get(res, i, off + C_CREATED), *id = db_get(res, i, off + C_ID);

		k[i].created = c ? epoch_us(c) : 0;
		k[i].id = id ? id : "";
		if (i && list_key_cmp(&k[i - 1], &k[i]) > 0)
			sorted = 0;
	}
	if (sorted)
		return NULL;
	order = arena_alloc(a, sizeof(*order) * (size_t)n);
	for (int i = 0; i < n; i++)
		order[i] = i;
	list_keys = k;
	qsort(order, (size_t)n, sizeof(*order), list_order_cmp);
	list_keys = NULL;
	return order;
}

/* The page of a joined lookup's result: the store columns start at column `cols`. */
static void list_joined(struct arena *a, const PGresult *res, int cols, int limit,
			row_view_fn *row_view, struct view **stores, const char **next_cursor)
{
	/* A user without stores in this page: one row, store columns NULL. */
	if (db_rows(res) == 1 && !db_get(res, 0, cols + C_ID))
		*stores = view_arr(a);
	else
		list_rows_as(a, res, 0, cols, 0, list_order(a, res, cols), limit, row_view,
			     stores, next_cursor);
}

int store_list_token(struct arena *a, const char *token, const char *status, int limit,
		     const char *cursor, struct session_user *su, struct view **stores,
		     const char **next_cursor, struct err *e)
{
	const char *p[5] = {NULL};
	char hash[AUTH_SHA256_HEX], lim[16];
	PGresult *res;

	*stores = NULL;
	*next_cursor = NULL;
	memset(su, 0, sizeof(*su));
	if (!auth_token_syntax(token))
		return 0;
	if (list_args(a, status, limit, cursor, p, e) < 0)
		return -1;
	auth_sha256_hex(token, hash);
	snprintf(lim, sizeof(lim), "%d", limit + 1);
	p[0] = hash;
	p[1] = status;
	p[4] = lim;
	if (!(res = db_run(a, &st_list_token, p, e)))
		return -1;
	if (!apitoken_adopt(a, res, su))
		return 0;
	list_joined(a, res, TOKEN_COLS, limit, store_row_view_at, stores, next_cursor);
	return 1;
}

int store_list_session(struct arena *a, const char *token, int idle, int limit,
		       struct session_user *su, struct view **stores, struct err *e)
{
	char hash[AUTH_SHA256_HEX], idle_s[16], touch_s[16], lim[16];
	const char *p[7] = {hash, NULL, NULL, NULL, lim, idle_s, touch_s};
	const char *next = NULL;
	PGresult *res;

	*stores = NULL;
	memset(su, 0, sizeof(*su));
	if (!session_lookup_params(token, idle, hash, idle_s, touch_s))
		return 0;
	snprintf(lim, sizeof(lim), "%d", limit + 1);
	if (!(res = db_run(a, &st_list_session, p, e)))
		return -1;
	if (!session_adopt(a, res, su))
		return 0;
	list_joined(a, res, SESSION_LOOKUP_COLS, limit, store_summary_view_at, stores, &next);
	return 1;
}

/* --- retry and delete --------------------------------------------------- */

/*
 * Only a failed store the user may see; the lease columns are reconcile's
 * and stay as they are (a failed store holds no live lease).
 */
/* clang-format off */
static struct db_stmt st_retry = DB_STMT(
	"UPDATE stores s SET status = 'requested', attempts = 0, next_attempt_at = now(), "
	"status_reason = '', step = '', updated_at = now() "
	"WHERE s.id = $1 AND (s.owner_id = $2::bigint OR $3::boolean) "
	"AND s.status = 'failed' AND s.desired = 'present' RETURNING s.id",
	3);
/* clang-format on */

/* clang-format off */
static struct db_stmt st_delete = DB_STMT(
	"UPDATE stores s SET desired = 'absent', status = 'deleting', status_reason = '', "
	"delete_requested_at = now(), attempts = 0, next_attempt_at = now(), updated_at = now(), "
	/* a suspended store may be deleted: its suspension ends here (sql/012_suspend.sql) */
	"suspended_seconds = s.suspended_seconds "
	"  + coalesce(greatest(0, date_part('epoch', now() - s.suspended_at)), 0), "
	"suspended_by = NULL, suspended_at = NULL, final_backup_id = NULL, "
	/* sql/024_undelete.sql: $4 the owner opted out (confirmed), $5 backups configured */
	"final_backup = CASE WHEN $4::boolean THEN 'skipped' "
	"  WHEN $5::boolean AND s.status IN ('ready', 'degraded') THEN 'wanted' ELSE 'none' END "
	"WHERE s.id = $1 AND (s.owner_id = $2::bigint OR $3::boolean) "
	"AND s.status NOT IN ('deleting', 'deleted') RETURNING s.id, s.final_backup",
	5);
/*
 * deleting again after the final backup failed (or none can be taken: its row
 * is failed or missing): a new one, or none ($4: opted out; $5 false: backups
 * are no longer configured)
 */
static struct db_stmt st_delete_again = DB_STMT(
	"UPDATE stores s SET final_backup = CASE WHEN $4::boolean THEN 'skipped' "
	"  WHEN $5::boolean THEN 'wanted' ELSE 'none' END, "
	"final_backup_id = NULL, status_reason = '', delete_requested_at = now(), attempts = 0, "
	"next_attempt_at = now(), updated_at = now() "
	"WHERE s.id = $1 AND (s.owner_id = $2::bigint OR $3::boolean) "
	"AND s.status = 'deleting' AND s.final_backup = 'wanted' "
	"AND NOT EXISTS (SELECT 1 FROM backups b WHERE b.id = s.final_backup_id AND b.status <> 'failed') "
	/* a failed row, or none and reconcile said so (backups no longer configured) */
	"AND (s.final_backup_id IS NOT NULL OR s.status_reason LIKE 'the final backup failed%') "
	"RETURNING s.id, s.final_backup",
	5);
static struct db_stmt st_final_of = DB_STMT(
	"SELECT s.final_backup FROM stores s WHERE s.id = $1", 1);
/* clang-format on */

struct change_ctx {
	struct arena *a;
	const struct store_who *who;
	const char *id;
	int is_delete;
	const struct store_delete_opts *o; /* is_delete */
	/* OUT */
	struct store_meta m;
	int changed;
};

/* The delete's event: what becomes of the store's data (sql/024_undelete.sql). */
static const char *delete_words(struct arena *a, const char *final, int foreign, int again)
{
	const char *who = foreign ? "Delete requested by an administrator" : "Delete requested";

	if (!strcmp(final, "wanted"))
		return arena_printf(a,
				    "%s%s: a final backup is taken first; the store can be "
				    "undeleted for %d days after it is gone.",
				    who, again ? " again" : "", config.revive_window / 86400);
	if (!strcmp(final, "skipped"))
		return arena_printf(a,
				    "%s%s without a final backup (confirmed): it cannot be undone.",
				    who, again ? " again" : "");
	return arena_printf(a,
			    "%s: no final backup can be taken (backups are not configured or the "
			    "store is not ready); it cannot be undone.",
			    who);
}

static int change_tx(void *ctx, struct err *e)
{
	struct change_ctx *x = ctx;
	const char *p[5] = {x->id};
	char uid[24];
	PGresult *res;
	struct view *d;
	int foreign, again = 0;

	x->changed = 0;
	/* The UPDATE decides (it re-checks its WHERE after a concurrent commit). */
	if (!store_get(x->a, x->who, x->id, &x->m, e))
		return -1;
	if (x->is_delete && x->o->no_final_backup &&
	    (!x->o->confirm || strcmp(x->o->confirm, x->id)))
		return err_set(e, 422,
			       "Deleting without a final backup cannot be undone: confirm it with "
			       "the store's id (%s).",
			       x->id);
	who_params(x->who, uid, p);
	p[3] = x->is_delete && x->o->no_final_backup ? "true" : "false";
	p[4] = *config.backup_endpoint && *config.backup_bucket ? "true" : "false";
	if (!(res = db_run(x->a, x->is_delete ? &st_delete : &st_retry, p, e)))
		return -1;
	if (x->is_delete && db_rows(res) == 0) {
		if (!(res = db_run(x->a, &st_delete_again, p, e)))
			return -1;
		again = db_rows(res) == 1;
	}
	x->changed = db_rows(res) == 1;
	foreign = x->m.owner_id != x->who->id;
	d = view_obj(x->a);
	if (foreign) {
		view_set_bool(d, "as_admin", 1);
		view_set_str(d, "owner", x->m.owner_email);
	}
	if (!x->is_delete) {
		if (!x->changed)
			return err_set(e, 409,
				       "Only a failed store can be retried; this one is %s.",
				       x->m.status);
		p[1] = "request";
		p[2] = "info";
		p[3] = "Retry requested.";
		if (!db_run(x->a, &st_event, p, e))
			return -1;
		return audit_record(x->a, x->who->id, x->who->email, x->who->ip, "store.retry",
				    x->id, d, e);
	}
	if (!x->changed) {
		/* Asked again: nothing changes, but the request is on record. */
		view_set_str(d, "status", x->m.status);
		return audit_record(x->a, x->who->id, x->who->email, x->who->ip,
				    "store.delete_repeat", x->id, d, e);
	}
	view_set_str(d, "final_backup", db_get(res, 0, 1));
	p[1] = "delete";
	p[2] = "info";
	p[3] = delete_words(x->a, db_get(res, 0, 1), foreign, again);
	if (!db_run(x->a, &st_event, p, e))
		return -1;
	return audit_record(x->a, x->who->id, x->who->email, x->who->ip,
			    again ? "store.delete_again" : "store.delete", x->id, d, e);
}

static struct view *store_change(struct arena *a, const struct store_who *who, const char *id,
				 const struct store_delete_opts *o, struct err *e)
{
	struct change_ctx x = {.a = a, .who = who, .id = id, .is_delete = o != NULL, .o = o};
	struct view *v;

	if (!store_id_valid(id)) {
		err_set(e, 404, STORE_NOT_FOUND);
		return NULL;
	}
	if (db_tx(change_tx, &x, e) < 0)
		return NULL;
	if (!(v = store_get(a, who, id, NULL, e)))
		return NULL;
	if (o) {
		const char *p[1] = {id};
		PGresult *res = db_run(a, &st_final_of, p, e);

		if (!res)
			return NULL;
		view_set_str_ref(v, "final_backup", db_rows(res) ? db_get(res, 0, 0) : "");
	}
	return v;
}

struct view *store_retry(struct arena *a, const struct store_who *who, const char *id,
			 struct err *e)
{
	return store_change(a, who, id, NULL, e);
}

struct view *store_delete(struct arena *a, const struct store_who *who, const char *id,
			  const struct store_delete_opts *o, struct err *e)
{
	static const struct store_delete_opts dflt = {0, NULL};

	return store_change(a, who, id, o ? o : &dflt, e);
}

/* --- suspend and resume ------------------------------------------------- */

/*
 * sql/012_suspend.sql.  The UPDATEs decide, with their status condition
 * (re-checked after a concurrent commit); the row read before only words
 * a refusal.  A reconcile holding a lease on the store loses it: its save
 * is fenced on the status it claimed (lease.h).  The notify trigger wakes
 * a waiting reconcile.  $4 = who holds the suspension.
 */
/* clang-format off */
static struct db_stmt st_suspend = DB_STMT(
	"UPDATE stores s SET status = 'suspending', suspended_by = $4, suspended_at = now(), "
	"status_reason = '', attempts = 0, next_attempt_at = now(), updated_at = now() "
	"WHERE s.id = $1 AND (s.owner_id = $2::bigint OR $3::boolean) "
	"AND s.status IN ('ready', 'degraded', 'resuming') RETURNING s.id",
	4);
static struct db_stmt st_suspend_takeover = DB_STMT(
	"UPDATE stores s SET suspended_by = 'admin', updated_at = now() "
	"WHERE s.id = $1 AND (s.owner_id = $2::bigint OR $3::boolean) "
	"AND s.status IN ('suspending', 'suspended') AND s.suspended_by = 'owner' RETURNING s.id",
	3);
static struct db_stmt st_resume = DB_STMT(
	"UPDATE stores s SET status = 'resuming', "
	"suspended_seconds = s.suspended_seconds "
	"  + greatest(0, date_part('epoch', now() - s.suspended_at)), "
	/* step 'suspend': the resumed set is not applied yet (reconcile.c, st_resuming) */
	"suspended_by = NULL, suspended_at = NULL, step = 'suspend', "
	"status_reason = '', attempts = 0, next_attempt_at = now(), updated_at = now() "
	"WHERE s.id = $1 AND (s.owner_id = $2::bigint OR $3::boolean) "
	"AND s.status IN ('suspending', 'suspended') "
	"AND (s.suspended_by <> 'admin' OR $3::boolean) RETURNING s.id",
	3);
/* clang-format on */

/* Why a store in status status cannot be suspended (409). */
static const char *suspend_refusal(struct arena *a, const char *status)
{
	switch (store_status_parse(status)) {
	case STORE_REQUESTED:
	case STORE_PROVISIONING:
		return "The store is provisioning; it can be suspended once it is ready.";
	case STORE_UPGRADING:
		return "An upgrade is in progress; suspend the store once it is done.";
	case STORE_SUSPENDING:
	case STORE_SUSPENDED:
		return "The store is already suspended.";
	case STORE_FAILED:
		return "The store has failed; retry or delete it.";
	case STORE_DELETING:
		return "The store is being deleted.";
	case STORE_DELETED:
		return "The store is deleted.";
	default:
		return arena_printf(a, "The store is %s.", status);
	}
}

struct suspend_ctx {
	struct arena *a;
	const struct store_who *who;
	const char *id;
	int resume;
	int changed; /* OUT */
};

/* An administrator acting on a store that is not their own (storefleetctl: id 0) */
static int as_admin(const struct store_who *who, long long owner_id)
{
	return who->is_admin && owner_id != who->id;
}

/* The event and the audit row of one suspend or resume (in the caller's transaction). */
static int suspend_record(struct arena *a, const struct store_who *who, const struct store_meta *m,
			  const char *action, const char *by, const char *message, struct err *e)
{
	const char *p[4] = {m->id, action[6] == 's' ? "suspend" : "resume", "info", message};
	struct view *d = view_obj(a);

	if (!db_run(a, &st_event, p, e))
		return -1;
	if (m->owner_id != who->id) {
		view_set_bool(d, "as_admin", 1);
		view_set_str(d, "owner", m->owner_email);
	}
	if (by)
		view_set_str(d, "by", by);
	view_set_str(d, "status", m->status);
	return audit_record(a, who->id, who->id ? who->email : "storefleetctl", who->ip, action,
			    m->id, d, e);
}

/* One store's suspend, inside a transaction; m is the row as read in it. */
static int suspend_one(struct arena *a, const struct store_who *who, const struct store_meta *m,
		       int *changed, struct err *e)
{
	int admin = as_admin(who, m->owner_id);
	const char *by = admin ? STORE_SUSPENDED_BY_ADMIN : STORE_SUSPENDED_BY_OWNER;
	const char *p[4] = {m->id};
	char uid[24];
	PGresult *res;

	*changed = 0;
	who_params(who, uid, p);
	p[3] = by;
	if (!(res = db_run(a, &st_suspend, p, e)))
		return -1;
	if (db_rows(res) == 1) {
		*changed = 1;
		return suspend_record(a, who, m, "store.suspend", by,
				      admin
					  ? "Suspended by an administrator: the workloads "
					    "scale to zero and the store shows its paused page."
					  : "Suspended: the workloads scale to zero and the store "
					    "shows its paused page.",
				      e);
	}
	if (admin) {
		if (!(res = db_run(a, &st_suspend_takeover, p, e)))
			return -1;
		if (db_rows(res) == 1) {
			*changed = 1;
			return suspend_record(a, who, m, "store.suspend", by,
					      "An administrator took the suspension over: only an "
					      "administrator can resume the store.",
					      e);
		}
	}
	return 0;
}

static int suspend_tx(void *ctx, struct err *e)
{
	struct suspend_ctx *x = ctx;
	struct store_meta m;
	const char *p[3] = {x->id};
	char uid[24];
	PGresult *res;

	x->changed = 0;
	if (!store_get(x->a, x->who, x->id, &m, e))
		return -1;
	if (!x->resume) {
		if (suspend_one(x->a, x->who, &m, &x->changed, e) < 0)
			return -1;
		if (!x->changed)
			return err_set(e, 409, "%s", suspend_refusal(x->a, m.status));
		return 0;
	}
	who_params(x->who, uid, p);
	if (!(res = db_run(x->a, &st_resume, p, e)))
		return -1;
	if (db_rows(res) != 1) {
		if (!store_status_resumable(store_status_parse(m.status)))
			return err_set(e, 409, "The store is %s, not suspended.", m.status);
		if (m.suspended_by && !strcmp(m.suspended_by, STORE_SUSPENDED_BY_ADMIN) &&
		    !x->who->is_admin)
			return err_set(e, 403,
				       "An administrator suspended this store; only an "
				       "administrator can resume it.");
		return err_set(e, 409, "The store cannot be resumed now; reload and try again.");
	}
	x->changed = 1;
	return suspend_record(x->a, x->who, &m, "store.resume", m.suspended_by,
			      m.owner_id != x->who->id
				  ? "Resume requested by an administrator: the workloads come back."
				  : "Resume requested: the workloads come back.",
			      e);
}

static struct view *suspend_change(struct arena *a, const struct store_who *who, const char *id,
				   int resume, struct err *e)
{
	struct suspend_ctx x = {.a = a, .who = who, .id = id, .resume = resume};

	if (!store_id_valid(id)) {
		err_set(e, 404, STORE_NOT_FOUND);
		return NULL;
	}
	if (db_tx(suspend_tx, &x, e) < 0)
		return NULL;
	return store_get(a, who, id, NULL, e);
}

struct view *store_suspend(struct arena *a, const struct store_who *who, const char *id,
			   struct err *e)
{
	return suspend_change(a, who, id, 0, e);
}

struct view *store_resume(struct arena *a, const struct store_who *who, const char *id,
			  struct err *e)
{
	return suspend_change(a, who, id, 1, e);
}

/* clang-format off */
static struct db_stmt st_owner_lock = DB_STMT(
	"SELECT email FROM users WHERE id = $1::bigint FOR NO KEY UPDATE", 1);
static struct db_stmt st_owner_stores = DB_STMT(
	"SELECT " STORE_COLS STORE_FROM "WHERE s.owner_id = $1::bigint "
	"AND s.status IN ('ready', 'degraded', 'resuming', 'suspending', 'suspended') "
	"ORDER BY s.created_at, s.id FOR UPDATE OF s", 1);
/* clang-format on */

struct owner_ctx {
	struct arena *a;
	const struct store_who *who;
	long long user_id;
	int n; /* OUT */
};

static int suspend_owner_tx(void *ctx, struct err *e)
{
	struct owner_ctx *x = ctx;
	char uid[24];
	const char *p[1] = {uid};
	PGresult *res;
	struct view *d, *ids;

	x->n = 0;
	snprintf(uid, sizeof(uid), "%lld", x->user_id);
	if (!(res = db_run(x->a, &st_owner_lock, p, e)))
		return -1;
	if (db_rows(res) != 1)
		return err_set(e, 404, "There is no such user.");
	d = view_obj(x->a);
	view_set_str(d, "owner", db_get(res, 0, 0));
	if (!(res = db_run(x->a, &st_owner_stores, p, e)))
		return -1;
	ids = view_set_arr(d, "stores");
	for (int i = 0; i < db_rows(res); i++) {
		struct store_meta m;
		int changed;

		store_row_meta(res, i, &m);
		if (suspend_one(x->a, x->who, &m, &changed, e) < 0)
			return -1;
		if (changed) {
			view_push(ids, view_str(x->a, m.id));
			x->n++;
		}
	}
	view_set_int(d, "count", x->n);
	/* the target names a user by email, as user.disable does (admin.c) */
	return audit_record(x->a, x->who->id, x->who->id ? x->who->email : "storefleetctl",
			    x->who->ip, "user.suspend_stores", view_get_str(d, "owner"), d, e);
}

int store_suspend_owner(struct arena *a, const struct store_who *who, long long user_id, int *n,
			struct err *e)
{
	struct owner_ctx x = {.a = a, .who = who, .user_id = user_id};

	*n = 0;
	if (!who->is_admin)
		return err_set(e, 403, "Administrators only.");
	if (db_tx(suspend_owner_tx, &x, e) < 0)
		return -1;
	*n = x.n;
	return 0;
}

/* clang-format off */
static struct db_stmt st_paused = DB_STMT(
	"SELECT s.name FROM stores s JOIN clusters c ON c.name = s.cluster "
	"WHERE s.id = $1 AND s.status IN ('suspending', 'suspended') "
	"AND lower($2) = CASE WHEN c.store_domain = '' THEN lower($3) ELSE c.store_domain END", 3);
static struct db_stmt st_store_domains = DB_STMT(
	"SELECT DISTINCT store_domain FROM clusters WHERE store_domain <> ''", 0);
/* clang-format on */

#define STORE_DOMAINS_TTL 10 /* seconds */

int store_host_routed(struct arena *a, const char *host)
{
	/* the registered clusters' store domains, '\n'-separated, per process */
	static char kept[4096];
	static time_t kept_at;
	static int kept_ok;
	time_t now = time(NULL);
	char sid[STORE_ID_LEN + 1];
	const char *d, *p;
	size_t dl;

	if (store_host_id(host, sid))
		return 1;
	if (!store_host_any(host, sid, &d, &dl))
		return 0;
	if (!kept_ok || now - kept_at >= STORE_DOMAINS_TTL || now < kept_at) {
		struct err e = ERR_INIT;
		PGresult *res = db_run(a, &st_store_domains, NULL, &e);
		size_t len = 0;

		if (!res) {
			log_warn("store: the clusters' store domains cannot be read: %s", e.msg);
			return 0;
		}
		kept[0] = 0;
		for (int i = 0; i < db_rows(res); i++) {
			const char *s = db_get(res, i, 0);
			size_t sl = strlen(s);

			if (len + sl + 2 > sizeof(kept))
				break;
			memcpy(kept + len, s, sl);
			len += sl;
			kept[len++] = '\n';
			kept[len] = 0;
		}
		kept_at = now;
		kept_ok = 1;
	}
	for (p = kept; *p; p += strcspn(p, "\n") + 1)
		if (strcspn(p, "\n") == dl && !strncasecmp(p, d, dl))
			return 1;
	return 0;
}

int store_paused_by_host(struct arena *a, const char *host, const char **name, const char **id,
			 struct err *e)
{
	char sid[STORE_ID_LEN + 1];
	const char *d, *p[3] = {sid, NULL, config.domain};
	size_t dl;
	PGresult *res;

	*name = *id = NULL;
	if (!store_host_any(host, sid, &d, &dl))
		return err_set(e, 404, STORE_NOT_FOUND);
	p[1] = arena_strndup(a, d, dl);
	if (!(res = db_run(a, &st_paused, p, e)))
		return -1;
	if (db_rows(res) != 1)
		return err_set(e, 404, STORE_NOT_FOUND);
	*name = arena_strdup(a, db_get(res, 0, 0));
	*id = arena_strdup(a, sid);
	return 0;
}

/* --- events and steps --------------------------------------------------- */

/* clang-format off */
static struct db_stmt st_events = DB_STMT(
	"SELECT id, " AT("at") ", step, message, level FROM store_events "
	"WHERE store_id = $1 AND ($2::bigint = 0 OR id < $2::bigint) ORDER BY id DESC LIMIT $3::int",
	3);
/* clang-format on */

int store_events(struct arena *a, const char *id, long long before, int limit, int newest_first,
		 struct view **events, long long *next_before, struct err *e)
{
	char b[24], l[16];
	const char *p[3] = {id, b, l};
	PGresult *res;
	int n;

	snprintf(b, sizeof(b), "%lld", before > 0 ? before : 0);
	snprintf(l, sizeof(l), "%d", limit + 1);
	*events = NULL;
	*next_before = 0;
	if (!(res = db_run(a, &st_events, p, e)))
		return -1;
	n = db_rows(res);
	if (n > limit) {
		n = limit;
		*next_before = db_get_ll(res, n - 1, 0);
	}
	*events = view_arr(a);
	for (int k = 0; k < n; k++) {
		int i = newest_first ? k : n - 1 - k;
		struct view *v = view_push_obj(*events);

		view_set_str_ref(v, "at", db_get(res, i, 1));
		view_set_str_ref(v, "step", db_get(res, i, 2));
		view_set_str_ref(v, "message", db_get(res, i, 3));
		view_set_str_ref(v, "level", db_get(res, i, 4));
	}
	return 0;
}

/* clang-format off */
static struct db_stmt st_steps = DB_STMT(
	"SELECT step, " AT("min(at)") ", bool_or(level = 'error') FROM store_events "
	"WHERE store_id = $1 GROUP BY step",
	1);
/* clang-format on */

/*
 * stores.step is the last step reconcile completed (src/fleet/reconcile.c), so
 * the one after it is in progress (provisioning) or is where the store
 * failed; "render" comes before the first step shown, and a store that is
 * queued or just claimed (step '') has none done in this attempt, whatever
 * events an earlier attempt left.  Otherwise, without a listed step
 * (deleting, a failure before the first step), the steps with an event are
 * the ones done.  Positions below count the listed steps of
 * store_step_table (those with a label), in order.
 */
int store_steps(struct arena *a, const struct store_meta *m, struct view **steps, struct err *e)
{
	const char *p[1] = {m->id};
	const char *seen[STEP_N] = {NULL};
	int listed[STEP_N], n = 0, last = -2, step = store_step_parse(m->step);
	int status = store_status_parse(m->status), finished, failed, provisioning;
	PGresult *res;

	*steps = NULL;
	if (!(res = db_run(a, &st_steps, p, e)))
		return -1;
	for (int i = 0; i < db_rows(res); i++) {
		int k = store_step_parse(db_get(res, i, 0));

		if (k >= 0)
			seen[k] = db_get(res, i, 1);
	}
	for (int k = 0; k < STEP_N; k++)
		if (store_step_table[k].label)
			listed[n++] = k;
	failed = status == STORE_FAILED;
	provisioning = status == STORE_PROVISIONING;
	if (step == STEP_RENDER || provisioning || status == STORE_REQUESTED)
		last = -1;
	for (int i = 0; i < n && status != STORE_REQUESTED; i++)
		if (listed[i] == step)
			last = i;
	finished = status == STORE_READY || status == STORE_DEGRADED || status == STORE_UPGRADING;
	*steps = view_arr(a);
	for (int i = 0; i < n; i++) {
		const struct store_step_info *s = &store_step_table[listed[i]];
		struct view *v = view_push_obj(*steps);

		view_set_str_ref(v, "name", s->name);
		view_set_str_ref(v, "label", s->label);
		if (seen[listed[i]])
			view_set_str_ref(v, "at", seen[listed[i]]);
		if (finished || (last > -2 ? i <= last : !!seen[listed[i]]))
			view_set_bool(v, "done", 1);
		else if (i == last + 1 && last > -2 && failed)
			view_set_bool(v, "failed", 1);
		else if (i == last + 1 && provisioning)
			view_set_bool(v, "current", 1);
	}
	return 0;
}

/* --- credentials -------------------------------------------------------- */

/* clang-format off */
static struct db_stmt st_secret = DB_STMT(
	"SELECT s.owner_id, s.admin_user, encode(s.admin_secret, 'hex') FROM stores s "
	"WHERE s.id = $1 AND" STORE_VISIBLE,
	3);
/* clang-format on */

int store_reveal(struct arena *a, const struct store_who *who, const char *id, const char **user,
		 const char **password, struct err *e)
{
	const char *p[3] = {id}, *sealed;
	struct err se = ERR_INIT;
	struct buf plain = BUF_INIT;
	char uid[24];
	PGresult *res;

	*user = *password = NULL;
	if (!store_id_valid(id))
		return err_set(e, 404, STORE_NOT_FOUND);
	who_params(who, uid, p);
	if (!(res = db_run(a, &st_secret, p, e)))
		return -1;
	if (db_rows(res) != 1)
		return err_set(e, 404, STORE_NOT_FOUND);
	/* Admins see every store, but a tenant's credentials are the tenant's. */
	if (db_get_ll(res, 0, 0) != who->id)
		return err_set(e, 403, "Only the store's owner can see its credentials.");
	sealed = db_get(res, 0, 2);
	if (!sealed)
		return err_set(e, 409, "The credentials are not available yet.");
	/* The same seal reconcile wrote with (seal.h); the detail goes to the log only. */
	if (seal_open(config.secret_key, sealed, &plain, &se) < 0) {
		log_error("store %s: credentials: %s", id, se.msg);
		buf_release(&plain);
		return err_set(e, 503, "The credentials cannot be shown right now.");
	}
	*password = arena_strndup(a, plain.s, plain.len);
	sodium_memzero(plain.s, plain.len);
	buf_release(&plain);
	*user = arena_strdup(a, db_get(res, 0, 1));
	if (audit_record(a, who->id, who->email, who->ip, "store.credentials_reveal", id, NULL, e) <
	    0) {
		/* No audit row, no secret. */
		*user = *password = NULL;
		return -1;
	}
	return 0;
}
