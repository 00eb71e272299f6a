/* reconcile_domain.c - custom domains: verified in DNS, expired, released (sql/015_domains.sql). */
#include <arpa/nameser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "config.h"
#include "db.h"
#include "dnsq.h"
#include "log.h"
#include "reconcile_domain.h"
#include "reconcile_int.h"

#define ACTOR	   "storefleet-reconcile"
#define TXT_PREFIX "_storefleet-challenge."
#define CHECKS	   20 /* claims looked up per pass at most */

/* clang-format off */
static struct db_stmt st_release = DB_STMT(
	"DELETE FROM store_domains d USING stores s WHERE s.id = d.store_id AND s.status = 'deleted' "
	"RETURNING d.store_id, d.domain", 0);
/* the claim's own end, or domain_claim_ttl as reconcile has it now if that is sooner */
static struct db_stmt st_expire = DB_STMT(
	"DELETE FROM store_domains WHERE status = 'pending' AND least(expires_at, created_at + "
	"make_interval(secs => $1::integer)) <= now() RETURNING store_id, domain", 1);
static struct db_stmt st_removed = DB_STMT(
	"DELETE FROM store_domains WHERE status = 'removing' RETURNING store_id, domain", 0);
static struct db_stmt st_due = DB_STMT(
	"UPDATE store_domains d SET next_check_at = now() + make_interval(secs => $1::integer) "
	"FROM (SELECT x.id FROM store_domains x JOIN stores s ON s.id = x.store_id "
	"      WHERE x.status = 'pending' AND x.next_check_at <= now() "
	"      AND s.status NOT IN ('deleting', 'deleted') "
	"      ORDER BY x.next_check_at LIMIT $2::integer FOR UPDATE OF x SKIP LOCKED) due "
	"WHERE d.id = due.id RETURNING d.id, d.store_id, d.domain, d.token", 2);
static struct db_stmt st_checked = DB_STMT(
	"UPDATE store_domains SET checked_at = now(), check_message = $2 "
	"WHERE id = $1::bigint AND status = 'pending'", 2);
static struct db_stmt st_verify = DB_STMT(
	"UPDATE store_domains SET status = 'verified', verified_at = now(), checked_at = now(), "
	"check_message = $2 WHERE id = $1::bigint AND status = 'pending' "
	"AND NOT EXISTS (SELECT 1 FROM store_domains o WHERE o.domain = store_domains.domain "
	"AND o.status <> 'pending')", 2);
static struct db_stmt st_event = DB_STMT(
	"INSERT INTO store_events (store_id, step, level, message) VALUES ($1, 'domain', $2, $3)",
	3);
static struct db_stmt st_count = DB_STMT(
	"INSERT INTO metric_counters AS m (name, l1, l2, value) VALUES ('domain_checks', $1, '', 1) "
	"ON CONFLICT (name, l1, l2) DO UPDATE SET value = m.value + 1", 1);
/* clang-format on */

static void count(struct arena *a, const char *result)
{
	const char *p[1] = {result};
	struct err e = ERR_INIT;

	if (!db_run(a, &st_count, p, &e))
		log_warn("reconcile: domains: cannot count a check: %s", e.msg);
}

static int event(struct arena *a, const char *store, const char *level, const char *msg,
		 struct err *e)
{
	const char *p[3] = {store, level, msg};

	return db_run(a, &st_event, p, e) ? 0 : -1;
}

/* The host a domain's CNAME must name. */
static const char *cname_target(struct arena *a, const char *store)
{
	const char *h = config.domain_ingress_host;

	return *h ? arena_printf(a, "%s", h) : arena_printf(a, "store-%s.%s", store, config.domain);
}

/* Is addr one of the comma-separated config.domain_ingress_ips? */
static int ingress_ip(const char *addr)
{
	const char *p = config.domain_ingress_ips;

	while (*p) {
		size_t n = strcspn(p, ",");
		const char *s = p;

		while (n > 0 && *s == ' ')
			s++, n--;
		while (n > 0 && s[n - 1] == ' ')
			n--;
		if (n == strlen(addr) && !strncmp(s, addr, n))
			return 1;
		p += strcspn(p, ",");
		if (*p)
			p++;
	}
	return 0;
}

/*
 * The DNS verdict on one claim: 1 verified, 0 not yet (why in msg), -1 the
 * look-up failed (why in msg).
 */
static int check_dns(struct arena *a, const char *store, const char *domain, const char *token,
		     const char **msg)
{
	struct dnsq_answer *ans = arena_alloc(a, sizeof(*ans));
	struct dnsq_answer *tgt = arena_alloc(a, sizeof(*tgt));
	const char *target = cname_target(a, store), *seen = NULL;
	const char *txt = arena_printf(a, TXT_PREFIX "%s", domain);
	struct err e = ERR_INIT;
	int found = 0, addrs = 0;

	if (dnsq_query(config.domain_resolver, txt, ns_t_txt, 3, ans, &e) < 0) {
		*msg = arena_printf(a, "The DNS look-up of %s failed (%s); it is tried again.", txt,
				    e.msg + strlen("dns: "));
		return -1;
	}
	for (int i = 0; i < ans->n; i++) {
		if (ans->rr[i].type != ns_t_txt)
			continue;
		if (!strcmp(ans->rr[i].data, token))
			found = 1;
		else if (!seen)
			seen = ans->rr[i].data;
	}
	if (!found) {
		*msg = seen ? arena_printf(a,
					   "The TXT record %s says '%.40s', not this store's token "
					   "%s.",
					   txt, seen, token)
			    : arena_printf(a, "There is no TXT record %s with the token %s yet.",
					   txt, token);
		return 0;
	}
	if (dnsq_query(config.domain_resolver, domain, ns_t_cname, 3, ans, &e) < 0) {
		*msg = arena_printf(a, "The DNS look-up of %s failed (%s); it is tried again.",
				    domain, e.msg + strlen("dns: "));
		return -1;
	}
	for (int i = 0; i < ans->n; i++) {
		if (ans->rr[i].type != ns_t_cname)
			continue;
		if (!strcmp(ans->rr[i].data, target)) {
			*msg = arena_printf(a, "Verified: the TXT record is in place and %s is a "
					       "CNAME to %s.",
					    domain, target);
			return 1;
		}
		*msg = arena_printf(a, "%s is a CNAME to %s; it must point to %s.", domain,
				    ans->rr[i].data, target);
		return 0;
	}
	/* no CNAME: A/AAAA records, each the target's or one of domain_ingress_ips */
	for (int t = 0; t < 2; t++) {
		int type = t ? ns_t_aaaa : ns_t_a;

		if (dnsq_query(config.domain_resolver, domain, type, 3, ans, &e) < 0 ||
		    dnsq_query(config.domain_resolver, target, type, 3, tgt, &e) < 0) {
			*msg = arena_printf(a, "The DNS look-up of %s failed (%s); it is tried "
					       "again.",
					    domain, e.msg + strlen("dns: "));
			return -1;
		}
		for (int i = 0; i < ans->n; i++) {
			int ok = 0;

			if (ans->rr[i].type != type)
				continue;
			addrs++;
			for (int j = 0; j < tgt->n && !ok; j++)
				ok = tgt->rr[j].type == type && !strcmp(tgt->rr[j].data,
									ans->rr[i].data);
			if (!ok && !ingress_ip(ans->rr[i].data)) {
				*msg = arena_printf(a,
						    "%s has the address %s, which is not the "
						    "platform's; make it a CNAME to %s.",
						    domain, ans->rr[i].data, target);
				return 0;
			}
		}
	}
	if (!addrs) {
		*msg = arena_printf(a, "%s has no CNAME yet; make it a CNAME to %s.", domain, target);
		return 0;
	}
	*msg = arena_printf(a, "Verified: the TXT record is in place and the addresses of %s are "
			       "the platform's.",
			    domain);
	return 1;
}

struct verified {
	const char *id, *store, *domain, *msg;
	int taken; /* OUT */
};

static int verify_tx(void *ctx, struct err *e)
{
	struct verified *v = ctx;
	struct arena *a = arena_new();
	const char *p[2] = {v->id, v->msg};
	struct view *d = view_obj(a);
	PGresult *res;
	int rc = -1;

	if (!(res = db_run(a, &st_verify, p, e)))
		goto out;
	if (atoi(PQcmdTuples(res)) != 1) {
		v->taken = 1; /* verified for another store meanwhile, or removed */
		p[1] = arena_printf(a, "%s is verified for another store; this claim cannot be.",
				    v->domain);
		rc = db_run(a, &st_checked, p, e) ? 0 : -1;
		goto out;
	}
	if (event(a, v->store, "info",
		  arena_printf(a, "Domain %s verified in DNS.", v->domain), e) < 0)
		goto out;
	view_set_str(d, "domain", v->domain);
	rc = audit_record(a, 0, ACTOR, NULL, "domain.verify", v->store, d, e);
out:
	arena_free(a);
	return rc;
}

/* Release, expire, then look the due claims up. */
int reconcile_domains(struct reconcile *r, int *changed, struct err *e)
{
	char ivl[24], lim[24];
	const char *p[2] = {ivl, lim};
	PGresult *res;

	*changed = 0;
	if (!(res = db_run(r->a, &st_release, NULL, e)))
		return -1;
	for (int i = 0; i < db_rows(res); i++)
		log_info("reconcile: domain %s of deleted store %s released", db_get(res, i, 1),
			 db_get(res, i, 0));
	*changed += db_rows(res);
	snprintf(ivl, sizeof(ivl), "%d", config.domain_claim_ttl);
	if (!(res = db_run(r->a, &st_expire, p, e)))
		return -1;
	for (int i = 0; i < db_rows(res); i++) {
		const char *store = db_get(res, i, 0), *domain = db_get(res, i, 1);
		struct view *d = view_obj(r->a);

		view_set_str(d, "domain", domain);
		if (event(r->a, store, "warn",
			  arena_printf(r->a,
				       "Domain %s expired: its DNS records were not found in time; "
				       "add it again to start over.",
				       domain),
			  e) < 0 ||
		    audit_record(r->a, 0, ACTOR, NULL, "domain.expire", store, d, e) < 0)
			return -1;
		count(r->a, "expired");
		(*changed)++;
	}
	if (!(res = db_run(r->a, &st_removed, NULL, e)))
		return -1;
	for (int i = 0; i < db_rows(res); i++) {
		if (event(r->a, db_get(res, i, 0), "info",
			  arena_printf(r->a, "Domain %s is off the store.", db_get(res, i, 1)),
			  e) < 0)
			return -1;
		(*changed)++;
	}
	snprintf(ivl, sizeof(ivl), "%d", config.domain_check_interval);
	snprintf(lim, sizeof(lim), "%d", CHECKS);
	if (!(res = db_run(r->a, &st_due, p, e)))
		return -1;
	for (int i = 0; i < db_rows(res); i++) {
		struct verified v = {db_get(res, i, 0), db_get(res, i, 1), db_get(res, i, 2), NULL,
				     0};
		int verdict = check_dns(r->a, v.store, v.domain, db_get(res, i, 3), &v.msg);
		struct err te = ERR_INIT;

		if (verdict == 1) {
			if (db_tx(verify_tx, &v, &te) < 0) {
				log_warn("reconcile: domain %s: %s", v.domain, te.msg);
				continue;
			}
			count(r->a, v.taken ? "taken" : "verified");
			if (!v.taken) {
				log_info("reconcile: domain %s of store %s verified", v.domain,
					 v.store);
				(*changed)++;
			}
		} else {
			const char *q[2] = {v.id, v.msg};

			if (!db_run(r->a, &st_checked, q, &te))
				log_warn("reconcile: domain %s: %s", v.domain, te.msg);
			count(r->a, verdict < 0 ? "error" : "not_yet");
		}
	}
	return 0;
}
