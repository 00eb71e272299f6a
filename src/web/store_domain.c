/* store_domain.c - custom domains for the web: claims recorded, listed and removed in PostgreSQL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "admission.h"
#include "audit.h"
#include "config.h"
#include "db.h"
#include "dnsname.h"
#include "lifecycle.h"
#include "store_domain.h"

/*
 * Claims live in store_domains (sql/015_domains.sql).  A store's row is
 * locked FOR UPDATE for every change of its domains, so the per-store limit
 * holds across worker processes; the partial unique index on verified names
 * keeps a verified domain with one store whatever reconcile does at the
 * same time.
 */

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define DOMAIN_COLS                                                                                \
	"d.domain, d.display, d.status, d.token, " TS("d.created_at") ", "                         \
	"CASE WHEN d.status = 'pending' THEN " TS("d.expires_at") " END, " TS("d.verified_at")    \
	", " TS("d.checked_at") ", d.check_message, d.cert_state, d.cert_message, " TS(           \
	    "d.cert_not_after") ", d.store_id, "                                                    \
	"(SELECT c.store_domain FROM stores s JOIN clusters c ON c.name = s.cluster "              \
	" WHERE s.id = d.store_id)"
enum { D_DOMAIN, D_DISPLAY, D_STATUS, D_TOKEN, D_CREATED, D_EXPIRES, D_VERIFIED, D_CHECKED,
       D_MESSAGE, D_CERT, D_CERT_MSG, D_CERT_AFTER, D_STORE, D_STORE_DOMAIN };

/* An empty string from the row as null. */
static void set_opt(struct view *v, const char *key, const char *s)
{
	view_set_str_ref(v, key, s && *s ? s : NULL);
}

static struct view *domain_view(struct arena *a, const PGresult *res, int i)
{
	struct view *v = view_obj(a), *dns, *cert;

	view_set_str_ref(v, "domain", db_get(res, i, D_DOMAIN));
	view_set_str_ref(v, "display", db_get(res, i, D_DISPLAY));
	view_set_str_ref(v, "status", db_get(res, i, D_STATUS));
	dns = view_set_obj(v, "dns");
	view_set_str(dns, "txt_name",
		     arena_printf(a, STORE_DOMAIN_TXT_PREFIX "%s", db_get(res, i, D_DOMAIN)));
	view_set_str_ref(dns, "txt_value", db_get(res, i, D_TOKEN));
	view_set_str(dns, "cname_target",
		     store_cname_target(a, db_get(res, i, D_STORE), db_get(res, i, D_STORE_DOMAIN)));
	view_set_str_ref(v, "created_at", db_get(res, i, D_CREATED));
	view_set_str_ref(v, "expires_at", db_get(res, i, D_EXPIRES));
	view_set_str_ref(v, "verified_at", db_get(res, i, D_VERIFIED));
	view_set_str_ref(v, "checked_at", db_get(res, i, D_CHECKED));
	set_opt(v, "check_message", db_get(res, i, D_MESSAGE));
	cert = view_set_obj(v, "certificate");
	view_set_str_ref(cert, "state", db_get(res, i, D_CERT));
	set_opt(cert, "message", db_get(res, i, D_CERT_MSG));
	view_set_str_ref(cert, "not_after", db_get(res, i, D_CERT_AFTER));
	return v;
}

/* clang-format off */
static struct db_stmt st_list = DB_STMT(
	"SELECT " DOMAIN_COLS " FROM store_domains d WHERE d.store_id = $1 ORDER BY d.id", 1);
static struct db_stmt st_one = DB_STMT(
	"SELECT " DOMAIN_COLS " FROM store_domains d WHERE d.store_id = $1 AND d.domain = $2", 2);
static struct db_stmt st_lock = DB_STMT(
	"SELECT s.status, s.owner_id, u.email FROM stores s JOIN users u ON u.id = s.owner_id "
	"WHERE s.id = $1 AND (s.owner_id = $2::bigint OR $3::boolean) FOR UPDATE OF s", 3);
/* claims nobody may hold any more: pending past their time, or of a deleted store */
static struct db_stmt st_sweep = DB_STMT(
	"DELETE FROM store_domains d WHERE d.domain = $1 AND ((d.status = 'pending' AND "
	"d.expires_at <= now()) OR EXISTS (SELECT 1 FROM stores s WHERE s.id = d.store_id "
	"AND s.status = 'deleted'))", 1);
static struct db_stmt st_taken = DB_STMT(
	"SELECT d.store_id, s.owner_id FROM store_domains d JOIN stores s ON s.id = d.store_id "
	"WHERE d.domain = $1 AND (d.status <> 'pending' OR d.store_id = $2)", 2);
static struct db_stmt st_count = DB_STMT(
	"SELECT count(*) FROM store_domains WHERE store_id = $1", 1);
/* certificates asked for under a registered domain in 7 days: one per verification */
static struct db_stmt st_budget = DB_STMT(
	"SELECT count(*), " TS("(min(at) + interval '7 days')") " FROM audit_log "
	"WHERE action = 'domain.verify' AND at > now() - interval '7 days' "
	"AND (details->>'domain' = $1 OR right(details->>'domain', length($1) + 1) = '.' || $1)",
	1);
static struct db_stmt st_insert = DB_STMT(
	"INSERT INTO store_domains (store_id, domain, display, token, expires_at) "
	"VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5::integer))", 5);
static struct db_stmt st_find = DB_STMT(
	"SELECT status FROM store_domains WHERE store_id = $1 AND domain = $2 FOR UPDATE", 2);
static struct db_stmt st_delete = DB_STMT(
	"DELETE FROM store_domains WHERE store_id = $1 AND domain = $2", 2);
static struct db_stmt st_removing = DB_STMT(
	"UPDATE store_domains SET status = 'removing' WHERE store_id = $1 AND domain = $2", 2);
static struct db_stmt st_event = DB_STMT(
	"INSERT INTO store_events (store_id, step, level, message) VALUES ($1, 'domain', 'info', $2)",
	2);
/* clang-format on */

int store_domain_list(struct arena *a, const struct store_who *who, const char *id,
		      struct view **domains, struct err *e)
{
	const char *p[1] = {id};
	PGresult *res;

	if (!store_get(a, who, id, NULL, e))
		return -1;
	if (!(res = db_run(a, &st_list, p, e)))
		return -1;
	*domains = view_arr(a);
	for (int i = 0; i < db_rows(res); i++)
		view_push(*domains, domain_view(a, res, i));
	return 0;
}

/*
 * The registered domain Let's Encrypt counts certificates under, roughly:
 * the last two labels.  Without the public suffix list a name under a
 * two-label suffix (shop.example.co.uk) is counted under co.uk, a budget
 * shared more widely than Let's Encrypt's: it errs towards refusing.
 */
static const char *registered(const char *name)
{
	const char *p = name + strlen(name);
	int dots = 0;

	while (p > name) {
		p--;
		if (*p == '.' && ++dots == 2)
			return p + 1;
	}
	return name;
}

struct change {
	struct arena *a;
	const struct store_who *who;
	const char *id, *ascii, *unicode;
	int remove;
	int gone;	   /* OUT (remove): the row was deleted */
	const char *was; /* OUT (remove): its status before */
	int budget;	 /* OUT (add): refused for the certificate budget */
};

/* The store row locked, visible to who; details gets as_admin/owner for an administrator. */
static int lock_store(struct change *c, struct view *d, struct err *e)
{
	const char *p[3] = {c->id};
	char uid[24];
	PGresult *res;
	const char *status;

	snprintf(uid, sizeof(uid), "%lld", c->who->id);
	p[1] = uid;
	p[2] = c->who->is_admin ? "true" : "false";
	if (!(res = db_run(c->a, &st_lock, p, e)))
		return -1;
	if (db_rows(res) != 1)
		return err_set(e, 404, STORE_NOT_FOUND);
	status = db_get(res, 0, 0);
	if (db_get_ll(res, 0, 1) != c->who->id) {
		view_set_bool(d, "as_admin", 1);
		view_set_str(d, "owner", db_get(res, 0, 2));
	}
	if (!c->remove && (!strcmp(status, "deleting") || !strcmp(status, "deleted")))
		return err_set(e, 409, "The store is %s; it cannot take a domain.", status);
	return 0;
}

static int add_tx(void *ctx, struct err *e)
{
	struct change *c = ctx;
	struct view *d = view_obj(c->a);
	const char *p[5] = {c->ascii};
	unsigned char raw[16];
	char token[33], ttl[24];
	PGresult *res;
	long long n;

	if (lock_store(c, d, e) < 0)
		return -1;
	if (!db_run(c->a, &st_sweep, p, e))
		return -1;
	p[1] = c->id;
	if (!(res = db_run(c->a, &st_taken, p, e)))
		return -1;
	for (int i = 0; i < db_rows(res); i++) {
		if (!strcmp(db_get(res, i, 0), c->id))
			return err_set(e, 409, "This store has %s already.", c->ascii);
	}
	if (db_rows(res) > 0)
		return err_set(e, 422,
			       "%s is in use by another store; a domain verified for one store "
			       "cannot be added to another until it is removed there.",
			       c->ascii);
	p[0] = c->id;
	if (!(res = db_run(c->a, &st_count, p, e)))
		return -1;
	n = db_get_ll(res, 0, 0);
	if (n >= config.domains_per_store)
		return err_set(e, 422,
			       "This store has %lld domain%s, the limit per store is %d; remove one "
			       "first.",
			       n, n == 1 ? "" : "s", config.domains_per_store);
	if (config.domain_cert_budget > 0) {
		const char *reg = registered(c->ascii);

		p[0] = reg;
		if (!(res = db_run(c->a, &st_budget, p, e)))
			return -1;
		n = db_get_ll(res, 0, 0);
		if (n >= config.domain_cert_budget && (c->budget = 1))
			return err_set(e, 422,
				       "%s cannot get a certificate this week: Let's Encrypt issues at "
				       "most %d certificates a week for %s and the names under it, and "
				       "%lld were asked for here in the last 7 days. Add it after %s.",
				       c->ascii, config.domain_cert_budget, reg, n,
				       db_get(res, 0, 1) ? db_get(res, 0, 1) : "a week");
		p[0] = c->id;
	}
	randombytes_buf(raw, sizeof(raw));
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(token + 2 * i, 3, "%02x", raw[i]);
	snprintf(ttl, sizeof(ttl), "%d", config.domain_claim_ttl);
	p[1] = c->ascii;
	p[2] = c->unicode;
	p[3] = token;
	p[4] = ttl;
	if (!db_run(c->a, &st_insert, p, e))
		return -1;
	p[1] = arena_printf(c->a,
			    "Domain %s added; it is verified once its DNS records are in place.",
			    c->ascii);
	if (!db_run(c->a, &st_event, p, e))
		return -1;
	view_set_str(d, "domain", c->ascii);
	return audit_record(c->a, c->who->id, c->who->email, c->who->ip, "domain.add", c->id, d, e);
}

static int remove_tx(void *ctx, struct err *e)
{
	struct change *c = ctx;
	struct view *d = view_obj(c->a);
	const char *p[2] = {c->id, c->ascii};
	PGresult *res;

	if (lock_store(c, d, e) < 0)
		return -1;
	if (!(res = db_run(c->a, &st_find, p, e)))
		return -1;
	if (db_rows(res) != 1)
		return err_set(e, 404, STORE_DOMAIN_NOT_FOUND);
	c->was = arena_strdup(c->a, db_get(res, 0, 0));
	if (!strcmp(c->was, "removing"))
		return err_set(e, 409, "%s is being removed already.", c->ascii);
	c->gone = !strcmp(c->was, "pending");
	if (!db_run(c->a, c->gone ? &st_delete : &st_removing, p, e))
		return -1;
	p[1] = arena_printf(c->a,
			    c->gone ? "Domain %s removed."
				    : "Domain %s removed; its host and certificate are being taken "
				      "off the store.",
			    c->ascii);
	if (!db_run(c->a, &st_event, p, e))
		return -1;
	view_set_str(d, "domain", c->ascii);
	view_set_str(d, "status", c->was);
	return audit_record(c->a, c->who->id, c->who->email, c->who->ip, "domain.remove", c->id, d,
			    e);
}

/* Run fn in a transaction; the error keeps its status. */
static int run_tx(int (*fn)(void *, struct err *), struct change *c, struct err *e)
{
	struct err te = ERR_INIT;

	if (db_tx(fn, c, &te) < 0)
		return err_set(e, te.status ? te.status : 500, "%s", te.msg);
	return 0;
}

static struct view *load_one(struct arena *a, const char *id, const char *ascii, struct err *e)
{
	const char *p[2] = {id, ascii};
	PGresult *res = db_run(a, &st_one, p, e);

	if (!res)
		return NULL;
	if (db_rows(res) != 1) {
		err_set(e, 404, STORE_DOMAIN_NOT_FOUND);
		return NULL;
	}
	return domain_view(a, res, 0);
}

int store_domain_add(struct arena *a, const struct store_who *who, const char *id,
		     const char *domain, struct view **out, struct err *e)
{
	struct change c = {a, who, id, NULL, NULL, 0, 0, NULL, 0};

	/* a store the asker cannot see is a 404 before the input is judged */
	if (!store_get(a, who, id, NULL, e))
		return -1;
	if (dnsname_normalize(a, domain, config.domain, &c.ascii, &c.unicode, e) < 0)
		return -1;
	if (run_tx(add_tx, &c, e) < 0) {
		if (c.budget) { /* admission's refusals are audited and counted (admission.h) */
			struct view *d = view_obj(a);

			view_set_str(d, "domain", c.ascii);
			admission_refused(a, who->id, who->email, who->ip, "domain.add.refused", id, d,
					  "budget", e->msg);
		}
		return -1;
	}
	return (*out = load_one(a, id, c.ascii, e)) ? 0 : -1;
}

int store_domain_remove(struct arena *a, const struct store_who *who, const char *id,
			const char *domain, struct view **out, struct err *e)
{
	struct change c = {a, who, id, NULL, NULL, 1, 0, NULL, 0};
	struct err ne = ERR_INIT;

	*out = NULL;
	if (!store_get(a, who, id, NULL, e))
		return -1;
	/* a name that does not normalise cannot be on the store: the same 404 */
	if (dnsname_normalize(a, domain, NULL, &c.ascii, &c.unicode, &ne) < 0)
		return err_set(e, 404, STORE_DOMAIN_NOT_FOUND);
	if (run_tx(remove_tx, &c, e) < 0)
		return -1;
	if (c.gone)
		return 0;
	return (*out = load_one(a, id, c.ascii, e)) ? 0 : -1;
}

int store_domain_get(struct arena *a, const struct store_who *who, const char *id,
		     const char *domain, struct view **out, struct err *e)
{
	const char *ascii, *unicode;
	struct err ne = ERR_INIT;

	if (!store_get(a, who, id, NULL, e))
		return -1;
	if (dnsname_normalize(a, domain, NULL, &ascii, &unicode, &ne) < 0)
		return err_set(e, 404, STORE_DOMAIN_NOT_FOUND);
	return (*out = load_one(a, id, ascii, e)) ? 0 : -1;
}
