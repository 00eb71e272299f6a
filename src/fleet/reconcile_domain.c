/* reconcile_domain.c - custom domains: verified in DNS, expired, released (sql/015_domains.sql). */
#include <arpa/nameser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "config.h"
#include "db.h"
#include "dnsq.h"
#include "lifecycle.h"
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
/* the verified and removing domains of live stores, by store (the Kubernetes side) */
static struct db_stmt st_hosted = DB_STMT(
	"SELECT d.id, d.store_id, d.domain, d.status, d.applied, d.cert_state, d.cert_message, "
	"s.status, s.cluster, s.engine FROM store_domains d JOIN stores s ON s.id = d.store_id "
	"WHERE d.status <> 'pending' AND s.status NOT IN ('deleting', 'deleted') "
	"ORDER BY d.store_id, d.domain", 0);
static struct db_stmt st_applied = DB_STMT(
	"UPDATE store_domains SET applied = true, cert_state = $2, cert_message = $3, "
	"cert_not_after = $4::timestamptz WHERE id = $1::bigint AND status = 'verified'", 4);
static struct db_stmt st_gone = DB_STMT(
	"DELETE FROM store_domains WHERE id = $1::bigint AND status = 'removing' "
	"RETURNING store_id, domain", 1);
static struct db_stmt st_cert_event = DB_STMT(
	"INSERT INTO store_events (store_id, step, level, message) "
	"SELECT $1, 'domain', $2, $3 WHERE $4 <> $5", 5);
static struct db_stmt st_due = DB_STMT(
	"UPDATE store_domains d SET next_check_at = now() + make_interval(secs => $1::integer) "
	"FROM (SELECT x.id FROM store_domains x JOIN stores s ON s.id = x.store_id "
	"      WHERE x.status = 'pending' AND x.next_check_at <= now() "
	"      AND s.status NOT IN ('deleting', 'deleted') "
	"      ORDER BY x.next_check_at LIMIT $2::integer FOR UPDATE OF x SKIP LOCKED) due "
	"WHERE d.id = due.id RETURNING d.id, d.store_id, d.domain, d.token, "
	"(SELECT c.store_domain FROM stores s JOIN clusters c ON c.name = s.cluster "
	" WHERE s.id = d.store_id)", 2);
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
 * The DNS verdict on one claim of store (placed on a cluster whose store
 * domain is store_domain, "" = the configuration's): 1 verified, 0 not yet
 * (why in msg), -1 the look-up failed (why in msg).
 */
static int check_dns(struct arena *a, const char *store, const char *store_domain,
		     const char *domain, const char *token, const char **msg)
{
	struct dnsq_answer *ans = arena_alloc(a, sizeof(*ans));
	struct dnsq_answer *tgt = arena_alloc(a, sizeof(*tgt));
	const char *target = store_cname_target(a, store, store_domain), *seen = NULL;
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

/* --- the Kubernetes side: the domains Ingress and the Certificates -------------------------- */

#define DOMAINS_INGRESS "custom-domains"
#define FIELD_MANAGER	"storefleet-domains"

/* The issuer of custom domains' certificates ("" = none: served over HTTP only). */
static const char *issuer(void)
{
	return *config.domain_issuer ? config.domain_issuer : config.tls_issuer;
}

/* A domain's Certificate name (its Secret: NAME-tls): "domain-" + the name, dots as hyphens. */
static const char *cert_name(struct arena *a, const char *domain)
{
	char *n = arena_printf(a, "domain-%s", domain);

	for (char *p = n; *p; p++)
		if (*p == '.')
			*p = '-';
	if (strlen(n) > 240) { /* a Secret name must stay within 253 with "-tls" */
		unsigned long h = 5381;

		for (const char *p = domain; *p; p++)
			h = h * 33 + (unsigned char)*p;
		n = arena_printf(a, "domain-%.200s-%08lx", n + 7, h & 0xffffffffUL);
	}
	return n;
}

/*
 * cert-manager's answer in plain words (arena strings: cert may go before they do): Ready True -> issued; an Issuing
 * failure -> failed, with why (Let's Encrypt's rate limit, the HTTP-01
 * challenge, DNS); anything else -> requested (waiting, with the reason
 * cert-manager gives when it is not just "in progress").
 */
static void cert_verdict(struct arena *a, const json_t *cert, const char *domain,
			 const char **state, const char **msg, const char **not_after)
{
	const json_t *c, *st = json_object_get(cert, "status");
	const char *rs = "", *im = "", *is = "", *ir = "";
	size_t i;

	*state = "requested";
	*msg = "";
	*not_after = NULL;
	json_array_foreach(json_object_get(st, "conditions"), i, c) {
		if (!strcmp(jstr(c, "type"), "Ready"))
			rs = jstr(c, "status");
		if (!strcmp(jstr(c, "type"), "Issuing")) {
			is = jstr(c, "status");
			ir = jstr(c, "reason");
			im = jstr(c, "message");
		}
	}
	if (!strcmp(rs, "True")) {
		*state = "issued";
		*not_after = *jstr(st, "notAfter") ? arena_strdup(a, jstr(st, "notAfter")) : NULL;
		*msg = *not_after ? arena_printf(a, "Valid until %s.", *not_after) : "";
		return;
	}
	if (!strcmp(is, "False") && !strcmp(ir, "Failed")) {
		*state = "failed";
		if (strstr(im, "rateLimited") || strstr(im, "rate limit"))
			*msg = arena_printf(a,
					    "Rate limited: Let's Encrypt has issued as many "
					    "certificates for this registered domain this week as it "
					    "allows; storefleet asks again, and it is issued once the "
					    "limit allows. (%.300s)",
					    im);
		else if (strstr(im, "error:dns") || strstr(im, "NXDOMAIN") ||
			 strstr(im, "DNS problem"))
			*msg = arena_printf(a,
					    "DNS wrong: Let's Encrypt could not find %s in DNS; check "
					    "the CNAME record. (%.300s)",
					    domain, im);
		else if (strstr(im, "acme-challenge") || strstr(im, "unauthorized") ||
			 strstr(im, "authorization error"))
			*msg = arena_printf(a,
					    "Challenge failed: Let's Encrypt could not fetch its HTTP "
					    "check from http://%s/.well-known/acme-challenge/; the "
					    "domain must point at the store (CNAME) with nothing in "
					    "between that answers for it. (%.300s)",
					    domain, im);
		else
			*msg = arena_printf(a, "The certificate could not be issued: %.400s", im);
		return;
	}
	if (!strcmp(ir, "IssuerNotFound"))
		*msg = arena_printf(a, "Waiting: %.300s (an operator must create the issuer).", im);
}

/* The store's own Ingress (the chart's), whose backend and class the domains Ingress copies. */
static json_t *store_ingress(struct reconcile *r, const char *ns, struct k8s_err *ke)
{
	struct buf path = BUF_INIT;
	json_t *list, *it, *found = NULL;
	size_t i;

	buf_addf(&path, "/apis/networking.k8s.io/v1/namespaces/%s/ingresses", ns);
	list = k8s_get(r->k, path.s, ke);
	buf_release(&path);
	if (!list)
		return NULL;
	json_array_foreach(json_object_get(list, "items"), i, it)
		if (strcmp(jstr(json_object_get(it, "metadata"), "name"), DOMAINS_INGRESS) && !found)
			found = json_incref(it);
	json_decref(list);
	return found;
}

struct hosted {
	const char *id, *domain, *status, *cert_state, *cert_message;
	int applied;
};

#define WP_HOSTS_ENV "STORE_DOMAINS"

/* The value of env name of container cname in a Deployment (NULL: not there). */
static const char *deployment_env(const json_t *dep, const char *cname, const char *name)
{
	const json_t *cs = json_object_get(
	    json_object_get(jpath(dep, "spec", "template"), "spec"), "containers"), *c, *v;
	size_t i, j;

	json_array_foreach(cs, i, c)
	{
		if (strcmp(jstr(c, "name"), cname))
			continue;
		json_array_foreach(json_object_get(c, "env"), j, v)
			if (!strcmp(jstr(v, "name"), name))
				return jstr(v, "value");
	}
	return NULL;
}

/*
 * WordPress's own idea of its address: the chart's wp-config extra
 * (40-wordpress.yaml) takes a request's Host for WP_HOME and WP_SITEURL
 * only when it is the store's host or one of STORE_DOMAINS, which this
 * keeps equal to the store's verified domains (comma-separated, "" for
 * none), applied by this field manager beside the chart's env so neither
 * apply takes the other's away.  The value changing rolls the Deployment
 * out, as any change of its pod template does.  A Deployment not made yet
 * waits for the next pass.
 */
static int wordpress_hosts(struct reconcile *r, const char *ns, const char *list, int *changed,
			   struct err *e)
{
	struct buf path = BUF_INIT;
	struct k8s_err ke;
	json_t *dep, *got;
	const char *have;
	struct k8s_apply_opts o = {FIELD_MANAGER, 0, 0};

	memset(&ke, 0, sizeof(ke));
	buf_addf(&path, "/apis/apps/v1/namespaces/%s/deployments/wordpress", ns);
	dep = k8s_get(r->k, path.s, &ke);
	buf_release(&path);
	if (!dep) {
		if (ke.st.code == 404)
			return 0;
		return err_set(e, 502, "WordPress Deployment: %s", ke.err.msg);
	}
	have = deployment_env(dep, "wordpress", WP_HOSTS_ENV);
	if (have ? !strcmp(have, list) : !*list) {
		json_decref(dep);
		return 0;
	}
	json_decref(dep);
	dep = json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:{s:{s:[{s:s,s:[{s:s,s:s}]}]}}}}", "apiVersion",
			"apps/v1", "kind", "Deployment", "metadata", "name", "wordpress",
			"namespace", ns, "spec", "template", "spec", "containers", "name",
			"wordpress", "env", "name", WP_HOSTS_ENV, "value", list);
	if (!dep)
		BUG("WordPress hosts: json_pack failed");
	got = k8s_apply(r->k, dep, &o, NULL, &ke);
	json_decref(dep);
	if (!got)
		return err_set(e, 502, "WordPress Deployment: %s", ke.err.msg);
	json_decref(got);
	log_info("reconcile: %s: WordPress answers for the store's host%s%s", ns,
		 *list ? " and " : " alone", list);
	(*changed)++;
	return 0;
}

/*
 * One store's domains onto Kubernetes: the domains Ingress (one rule and
 * one TLS entry per verified domain, the store Ingress's backend and
 * annotations, so a suspended store's paused page shows on its domains
 * too), a Certificate per verified domain, the Certificate and Secret of a
 * removed one deleted and its row dropped; cert-manager's state read back.
 */
static int host_store(struct reconcile *r, const char *store, const char *engine,
		      struct hosted *d, int n, int *changed, struct err *e)
{
	const char *ns = arena_printf(r->a, "store-%s", store);
	const char *iss = issuer();
	struct k8s_err ke;
	json_t *main_ing, *ing, *rules, *tls, *http;
	const char *hosts = ""; /* the verified domains, comma-separated */
	int live = 0;

	memset(&ke, 0, sizeof(ke));
	if (!(main_ing = store_ingress(r, ns, &ke))) {
		log_debug("reconcile: domains of store %s: no Ingress of the store to copy yet%s%s",
			  store, ke.err.msg[0] ? ": " : "", ke.err.msg);
		/* not provisioned this far: nothing was put on Kubernetes for a domain never
		 * applied, so its removal is done; the others wait for the next pass */
		for (int i = 0; i < n; i++) {
			const char *p[1] = {d[i].id};
			PGresult *res;

			if (strcmp(d[i].status, "removing") || d[i].applied)
				continue;
			if (!(res = db_run(r->a, &st_gone, p, e)))
				return -1;
			if (db_rows(res) == 1 &&
			    event(r->a, store, "info",
				  arena_printf(r->a, "Domain %s is off the store.", d[i].domain),
				  e) < 0)
				return -1;
			(*changed)++;
		}
		return 0;
	}
	http = json_object_get(json_array_get(jpath(main_ing, "spec", "rules"), 0), "http");
	rules = json_array();
	tls = json_array();
	for (int i = 0; i < n; i++) {
		if (strcmp(d[i].status, "verified"))
			continue;
		live++;
		hosts = arena_printf(r->a, "%s%s%s", hosts, *hosts ? "," : "", d[i].domain);
		json_array_append_new(rules, json_pack("{s:s,s:O}", "host", d[i].domain, "http",
						       http ? http : json_null()));
		if (*iss)
			json_array_append_new(
			    tls, json_pack("{s:[s],s:s}", "hosts", d[i].domain, "secretName",
					   arena_printf(r->a, "%s-tls", cert_name(r->a, d[i].domain))));
	}
	if (live) {
		const json_t *ann = jpath(main_ing, "metadata", "annotations");
		const json_t *icn = jpath(main_ing, "spec", "ingressClassName");
		json_t *keep = json_object();
		const char *k;
		json_t *v;

		/* the controller's routing annotations, not cert-manager's ingress-shim one */
		json_object_foreach((json_t *)ann, k, v)
			if (strncmp(k, "cert-manager.io/", 16))
				json_object_set(keep, k, v);
		ing = json_pack("{s:s,s:s,s:{s:s,s:s,s:{s:s,s:s},s:o},s:{s:s,s:o}}", "apiVersion",
				"networking.k8s.io/v1", "kind", "Ingress", "metadata", "name",
				DOMAINS_INGRESS, "namespace", ns, "labels",
				"app.kubernetes.io/managed-by", "storefleet",
				"storefleet.io/custom-domains", store, "annotations", keep, "spec",
				"ingressClassName",
				json_is_string(icn) ? json_string_value(icn) : config.ingress_class,
				"rules", rules);
		if (!ing)
			BUG("domains Ingress: json_pack failed");
		if (json_array_size(tls))
			json_object_set(json_object_get(ing, "spec"), "tls", tls);
		{
			struct k8s_apply_opts o = {FIELD_MANAGER, 0, 0};
			json_t *got = k8s_apply(r->k, ing, &o, NULL, &ke);

			json_decref(ing);
			if (!got) {
				json_decref(main_ing);
				json_decref(tls);
				return err_set(e, 502, "domains Ingress of store %s: %s", store,
					       ke.err.msg);
			}
			json_decref(got);
		}
	} else {
		struct buf path = BUF_INIT;

		json_decref(rules);
		buf_addf(&path, "/apis/networking.k8s.io/v1/namespaces/%s/ingresses/%s", ns,
			 DOMAINS_INGRESS);
		if (k8s_delete(r->k, path.s, NULL, K8S_DELETE_GONE_OK, &ke) < 0) {
			buf_release(&path);
			json_decref(main_ing);
			json_decref(tls);
			return err_set(e, 502, "domains Ingress of store %s: %s", store,
				       ke.err.msg);
		}
		buf_release(&path);
	}
	json_decref(main_ing);
	json_decref(tls);
	if (!strcmp(engine, "woocommerce") && wordpress_hosts(r, ns, hosts, changed, e) < 0)
		return -1;

	for (int i = 0; i < n; i++) {
		const char *name = cert_name(r->a, d[i].domain);
		struct buf path = BUF_INIT;
		const char *p[5];

		buf_addf(&path, "/apis/cert-manager.io/v1/namespaces/%s/certificates/%s", ns, name);
		if (!strcmp(d[i].status, "removing")) {
			struct buf sp = BUF_INIT;
			PGresult *res;

			buf_addf(&sp, "/api/v1/namespaces/%s/secrets/%s-tls", ns, name);
			if (k8s_delete(r->k, path.s, NULL, K8S_DELETE_GONE_OK, &ke) < 0 ||
			    k8s_delete(r->k, sp.s, NULL, K8S_DELETE_GONE_OK, &ke) < 0) {
				log_warn("reconcile: domain %s: cannot remove its certificate: %s",
					 d[i].domain, ke.err.msg);
				buf_release(&sp);
				buf_release(&path);
				continue;
			}
			buf_release(&sp);
			p[0] = d[i].id;
			if (!(res = db_run(r->a, &st_gone, p, e))) {
				buf_release(&path);
				return -1;
			}
			if (db_rows(res) == 1 &&
			    event(r->a, store, "info",
				  arena_printf(r->a,
					       "Domain %s is off the store: its host and certificate "
					       "are gone.",
					       d[i].domain),
				  e) < 0) {
				buf_release(&path);
				return -1;
			}
			(*changed)++;
			buf_release(&path);
			continue;
		}
		if (!*iss) {
			p[0] = d[i].id;
			p[1] = "none";
			p[2] = "No certificate issuer is configured (domain_issuer); the domain is "
			       "served over HTTP.";
			p[3] = NULL;
			if (!db_run(r->a, &st_applied, p, e)) {
				buf_release(&path);
				return -1;
			}
			buf_release(&path);
			continue;
		}
		{
			json_t *cert = json_pack(
			    "{s:s,s:s,s:{s:s,s:s,s:{s:s,s:s}},s:{s:s,s:[s],s:{s:s,s:s,s:s}}}",
			    "apiVersion", "cert-manager.io/v1", "kind", "Certificate", "metadata",
			    "name", name, "namespace", ns, "labels", "app.kubernetes.io/managed-by",
			    "storefleet", "storefleet.io/custom-domains", store, "spec", "secretName",
			    arena_printf(r->a, "%s-tls", name), "dnsNames", d[i].domain, "issuerRef",
			    "name", iss, "kind", config.domain_issuer_kind, "group",
			    "cert-manager.io");
			struct k8s_apply_opts o = {FIELD_MANAGER, 0, 0};

			if (!cert)
				BUG("Certificate: json_pack failed");
			json_t *got = k8s_apply(r->k, cert, &o, NULL, &ke);
			const char *state, *msg, *not_after;

			json_decref(cert);
			buf_release(&path);
			if (!got) {
				log_warn("reconcile: domain %s: cannot request its certificate: %s",
					 d[i].domain, ke.err.msg);
				continue;
			}
			cert_verdict(r->a, got, d[i].domain, &state, &msg, &not_after);
			json_decref(got);
			p[0] = d[i].id;
			p[1] = state;
			p[2] = msg;
			p[3] = not_after;
			if (!db_run(r->a, &st_applied, p, e))
				return -1;
			/* the store's activity hears of a change of state, once */
			p[0] = store;
			p[1] = !strcmp(state, "failed") ? "warn" : "info";
			p[2] = !strcmp(state, "issued")
				   ? arena_printf(r->a, "Certificate for %s issued.", d[i].domain)
			       : !strcmp(state, "failed")
				   ? arena_printf(r->a, "Certificate for %s: %s", d[i].domain, msg)
				   : arena_printf(r->a, "Certificate for %s requested.",
						  d[i].domain);
			p[3] = state;
			p[4] = d[i].cert_state;
			if (!db_run(r->a, &st_cert_event, p, e))
				return -1;
			if (strcmp(state, d[i].cert_state) || !d[i].applied)
				(*changed)++;
		}
	}
	return 0;
}

/* Every store with verified or removing domains, one after the other. */
static int host_domains(struct reconcile *r, int *changed, struct err *e)
{
	PGresult *res = db_run(r->a, &st_hosted, NULL, e);
	int rows, start = 0;

	if (!res)
		return -1;
	rows = db_rows(res);
	while (start < rows) {
		const char *store = db_get(res, start, 1);
		int end = start, n;
		struct hosted *d;
		struct err se = ERR_INIT;

		while (end < rows && !strcmp(db_get(res, end, 1), store))
			end++;
		n = end - start;
		d = arena_alloc(r->a, sizeof(*d) * (size_t)n);
		for (int i = 0; i < n; i++) {
			d[i].id = db_get(res, start + i, 0);
			d[i].domain = db_get(res, start + i, 2);
			d[i].status = db_get(res, start + i, 3);
			d[i].applied = db_get_bool(res, start + i, 4);
			d[i].cert_state = db_get(res, start + i, 5);
			d[i].cert_message = db_get(res, start + i, 6);
		}
		/* with the store's own cluster; one in trouble this pass is asked nothing */
		if (reconcile_use(r, db_get(res, start, 8)) < 0)
			log_debug("reconcile: custom domains of store %s: its cluster is not served "
				  "this pass", store);
		else if (host_store(r, store, db_get(res, start, 9), d, n, changed, &se) < 0)
			log_warn("reconcile: custom domains of store %s: %s", store, se.msg);
		start = end;
	}
	return 0;
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
	snprintf(ivl, sizeof(ivl), "%d", config.domain_check_interval);
	snprintf(lim, sizeof(lim), "%d", CHECKS);
	if (!(res = db_run(r->a, &st_due, p, e)))
		return -1;
	for (int i = 0; i < db_rows(res); i++) {
		struct verified v = {db_get(res, i, 0), db_get(res, i, 1), db_get(res, i, 2), NULL,
				     0};
		int verdict = check_dns(r->a, v.store, db_get(res, i, 4), v.domain,
					db_get(res, i, 3), &v.msg);
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
	return host_domains(r, changed, e);
}
