/* certmanager.c - a simulated cert-manager: Certificates get their TLS Secret and Ready, or a reason why not. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sodium.h>

#include "kubesim.h"

/*
 * What cert-manager's controllers do for a Certificate, reduced to what a
 * client can observe (tests/t0475-kubesim-certmanager.sh):
 *
 *  - the issuer it names (spec.issuerRef: Issuer in its namespace by
 *    default, or ClusterIssuer) must exist, else it waits, saying so;
 *  - --cert-ready-ms after the Certificate (or its spec) last changed, the
 *    issuer "signs": a Secret spec.secretName of type kubernetes.io/tls with
 *    a real self-signed ECDSA certificate for spec.dnsNames (90 days) and
 *    its key, annotated like cert-manager's; then status.conditions Ready
 *    True with notBefore/notAfter/renewalTime/revision;
 *  - faults (faults.c), per namespace: cert_rate_limit, cert_challenge and
 *    cert_dns keep it from being issued with cert-manager's own words for
 *    an ACME order that failed (Let's Encrypt's 429 rateLimited, an HTTP-01
 *    challenge answered 404, NXDOMAIN), Issuing False / Ready False, until
 *    the fault goes.
 */

static void rfc3339(time_t t, char *out, size_t n)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* A self-signed certificate and key for names, PEM, malloc'd; 0 or -1. */
static int sign(const json_t *names, time_t from, time_t to, char **crt, char **key)
{
	gnutls_x509_crt_t c = NULL;
	gnutls_x509_privkey_t k = NULL;
	gnutls_datum_t out = {NULL, 0};
	unsigned char serial[8];
	const json_t *n;
	size_t i;
	int rc = -1;

	*crt = *key = NULL;
	for (i = 0; i < sizeof(serial); i++)
		serial[i] = (unsigned char)ks_rand();
	serial[0] &= 0x7f;
	if (gnutls_x509_privkey_init(&k) < 0 ||
	    gnutls_x509_privkey_generate(k, GNUTLS_PK_ECDSA,
					 GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0) < 0 ||
	    gnutls_x509_crt_init(&c) < 0 || gnutls_x509_crt_set_version(c, 3) < 0 ||
	    gnutls_x509_crt_set_serial(c, serial, sizeof(serial)) < 0 ||
	    gnutls_x509_crt_set_activation_time(c, from) < 0 ||
	    gnutls_x509_crt_set_expiration_time(c, to) < 0 || gnutls_x509_crt_set_key(c, k) < 0)
		goto out;
	json_array_foreach(names, i, n) {
		const char *s = json_string_value(n);

		if (s && gnutls_x509_crt_set_subject_alt_name(c, GNUTLS_SAN_DNSNAME, s,
							      (unsigned)strlen(s),
							      GNUTLS_FSAN_APPEND) < 0)
			goto out;
	}
	if (gnutls_x509_crt_sign2(c, c, k, GNUTLS_DIG_SHA256, 0) < 0 ||
	    gnutls_x509_crt_export2(c, GNUTLS_X509_FMT_PEM, &out) < 0)
		goto out;
	*crt = strndup((const char *)out.data, out.size);
	gnutls_free(out.data);
	out.data = NULL;
	if (gnutls_x509_privkey_export2(k, GNUTLS_X509_FMT_PEM, &out) < 0)
		goto out;
	*key = strndup((const char *)out.data, out.size);
	rc = *crt && *key ? 0 : -1;
out:
	gnutls_free(out.data);
	if (c)
		gnutls_x509_crt_deinit(c);
	if (k)
		gnutls_x509_privkey_deinit(k);
	if (rc < 0) {
		free(*crt);
		free(*key);
		*crt = *key = NULL;
	}
	return rc;
}

static json_t *b64(const char *s)
{
	size_t n = sodium_base64_encoded_len(strlen(s), sodium_base64_VARIANT_ORIGINAL);
	char *out = malloc(n);
	json_t *j;

	if (!out)
		die_oom();
	sodium_bin2base64(out, n, (const unsigned char *)s, strlen(s),
			  sodium_base64_VARIANT_ORIGINAL);
	j = json_string(out);
	free(out);
	return j;
}

/* status.conditions[type == t], or NULL. */
static const json_t *condition(const json_t *status, const char *t)
{
	const json_t *c;
	size_t i;

	json_array_foreach(json_object_get(status, "conditions"), i, c) {
		const char *ct = json_string_value(json_object_get(c, "type"));

		if (ct && !strcmp(ct, t))
			return c;
	}
	return NULL;
}

static json_t *cond(const json_t *old_status, const char *type, const char *status,
		    const char *reason, const char *msg, json_int_t gen)
{
	const json_t *o = condition(old_status, type);
	char ts[40];

	ks_timestamp(ts);
	if (o && !strcmp(json_string_value(json_object_get(o, "status")) ?: "", status))
		snprintf(ts, sizeof(ts), "%s",
			 json_string_value(json_object_get(o, "lastTransitionTime")) ?: ts);
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:I}", "type", type, "status", status, "reason",
			 reason, "message", msg, "lastTransitionTime", ts, "observedGeneration",
			 gen);
}

/* Replace status when it says something else (the times of unchanged conditions kept). */
static void put_status(struct ks_obj *x, json_t *st)
{
	const json_t *old = json_object_get(x->o, "status");
	json_t *o;

	if (json_equal(old, st)) {
		json_decref(st);
		return;
	}
	o = json_deep_copy(x->o);
	json_object_set_new(o, "status", st);
	ks_store_update(x, o);
}

/* The registered domain of a name, roughly: its last two labels. */
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

/* Failed to issue: cert-manager's conditions and counters after a failed order. */
static void failed(struct ks_obj *x, const char *msg, json_int_t gen)
{
	const json_t *old = json_object_get(x->o, "status");
	json_t *st = json_object();
	char ts[40];
	const json_t *prev = json_object_get(old, "lastFailureTime");
	json_int_t attempts = json_integer_value(json_object_get(old, "failedIssuanceAttempts"));

	ks_timestamp(ts);
	json_object_set_new(
	    st, "conditions",
	    json_pack("[o,o]",
		      cond(old, "Ready", "False", "DoesNotExist",
			   "Issuing certificate as Secret does not exist", gen),
		      cond(old, "Issuing", "False", "Failed",
			   msg, gen)));
	json_object_set_new(st, "failedIssuanceAttempts", json_integer(attempts ? attempts : 1));
	json_object_set_new(st, "lastFailureTime",
			    prev ? json_incref((json_t *)prev) : json_string(ts));
	put_status(x, st);
}

int ks_cert_step(struct ks_obj *x, int64_t now)
{
	const json_t *md = json_object_get(x->o, "metadata");
	const json_t *spec = json_object_get(x->o, "spec");
	const json_t *old = json_object_get(x->o, "status");
	const json_t *ref = json_object_get(spec, "issuerRef");
	const char *ikind = json_string_value(json_object_get(ref, "kind"));
	const char *iname = json_string_value(json_object_get(ref, "name"));
	const char *secret = json_string_value(json_object_get(spec, "secretName"));
	const json_t *names = json_object_get(spec, "dnsNames");
	const char *first = json_string_value(json_array_get(names, 0));
	json_int_t gen = json_integer_value(json_object_get(md, "generation"));
	const json_t *ready = condition(old, "Ready");
	const struct ks_resource *sr = ks_resource_find("", "v1", "secrets");
	const char *order = json_string_value(json_object_get(md, "name"));
	struct ks_obj *iss, *sx;
	char msg[1024], t0[40], t1[40], t2[40];
	char *crt, *key;
	time_t from, to;
	json_t *sec, *st;

	if (!gen)
		gen = 1;
	if (!ikind || !*ikind)
		ikind = "Issuer";
	if (ready && !strcmp(json_string_value(json_object_get(ready, "status")) ?: "", "True") &&
	    json_integer_value(json_object_get(ready, "observedGeneration")) == gen &&
	    secret && ks_store_get(sr, x->ns, secret))
		return 0; /* issued for this spec */
	if (!iname || !secret || !first)
		return 0; /* the schema requires them; nothing to do without */
	if (now - (x->gen_ms > x->born_ms ? x->gen_ms : x->born_ms) < ks_opt.cert_ready_ms)
		return 1;
	iss = strcmp(ikind, "ClusterIssuer")
		  ? ks_store_get(ks_resource_find("cert-manager.io", "v1", "issuers"), x->ns, iname)
		  : ks_store_get(ks_resource_find("cert-manager.io", "v1", "clusterissuers"), "",
				 iname);
	if (!iss) {
		snprintf(msg, sizeof(msg),
			 "Referenced \"%s\" not found: %s.cert-manager.io \"%s\" not found", ikind,
			 strcmp(ikind, "ClusterIssuer") ? "issuers" : "clusterissuers", iname);
		st = json_pack("{s:[o,o]}", "conditions",
			       cond(old, "Ready", "False", "DoesNotExist",
				    "Issuing certificate as Secret does not exist", gen),
			       cond(old, "Issuing", "True", "IssuerNotFound", msg, gen));
		put_status(x, st);
		return 1;
	}
	if (ks_fault_active(KF_CERT_RATE_LIMIT, x->ns)) {
		char when[40];

		rfc3339(time(NULL) + 7 * 86400, when, sizeof(when));
		snprintf(msg, sizeof(msg),
			 "The certificate request has failed to complete and will be retried: "
			 "Failed to wait for order resource \"%s-1-3214650372\" to become ready: "
			 "order is in \"errored\" state: Failed to create Order: 429 "
			 "urn:ietf:params:acme:error:rateLimited: Error creating new order :: too "
			 "many certificates (50) already issued for \"%s\" in the last 168h0m0s, "
			 "retry after %s: see https://letsencrypt.org/docs/rate-limits/",
			 order, registered(first), when);
		failed(x, msg, gen);
		return 1;
	}
	if (ks_fault_active(KF_CERT_CHALLENGE, x->ns)) {
		snprintf(msg, sizeof(msg),
			 "The certificate request has failed to complete and will be retried: "
			 "Failed to wait for order resource \"%s-1-3214650372\" to become ready: "
			 "order is in \"invalid\" state: acme: authorization error for %s: 403 "
			 "urn:ietf:params:acme:error:unauthorized: Invalid response from "
			 "http://%s/.well-known/acme-challenge/"
			 "Kx3d9Qm2Zp7vXr4sT1uY8wNc6bHj0aLf5gEi: 404",
			 order, first, first);
		failed(x, msg, gen);
		return 1;
	}
	if (ks_fault_active(KF_CERT_DNS, x->ns)) {
		snprintf(msg, sizeof(msg),
			 "The certificate request has failed to complete and will be retried: "
			 "Failed to wait for order resource \"%s-1-3214650372\" to become ready: "
			 "order is in \"invalid\" state: acme: authorization error for %s: 400 "
			 "urn:ietf:params:acme:error:dns: DNS problem: NXDOMAIN looking up A for %s "
			 "- check that a DNS record exists for this domain",
			 order, first, first);
		failed(x, msg, gen);
		return 1;
	}
	/* the issuer signs: the Secret, then Ready */
	from = time(NULL);
	to = from + 90 * 86400;
	if (sign(names, from, to, &crt, &key) < 0) {
		ks_log("certificate %s/%s: cannot make a certificate", x->ns, order);
		return 1;
	}
	sec = json_pack("{s:s,s:s,s:{s:s,s:s,s:{s:s,s:s,s:s,s:s}},s:s,s:{s:o,s:o}}", "apiVersion",
			"v1", "kind", "Secret", "metadata", "name", secret, "namespace", x->ns,
			"annotations", "cert-manager.io/certificate-name", order,
			"cert-manager.io/issuer-name", iname, "cert-manager.io/issuer-kind", ikind,
			"cert-manager.io/common-name", first, "type", "kubernetes.io/tls", "data",
			"tls.crt", b64(crt), "tls.key", b64(key));
	free(crt);
	free(key);
	if ((sx = ks_store_get(sr, x->ns, secret))) {
		json_t *o = json_deep_copy(sx->o);

		json_object_set(o, "data", json_object_get(sec, "data"));
		json_object_set(o, "type", json_object_get(sec, "type"));
		json_object_set(json_object_get(o, "metadata"), "annotations",
				json_object_get(json_object_get(sec, "metadata"), "annotations"));
		json_decref(sec);
		ks_store_update(sx, o);
	} else {
		char uid[40], ts[40];

		ks_uuid(uid);
		ks_timestamp(ts);
		json_object_set_new(json_object_get(sec, "metadata"), "uid", json_string(uid));
		json_object_set_new(json_object_get(sec, "metadata"), "creationTimestamp",
				    json_string(ts));
		ks_store_add(sr, sec);
	}
	rfc3339(from, t0, sizeof(t0));
	rfc3339(to, t1, sizeof(t1));
	rfc3339(to - 30 * 86400, t2, sizeof(t2));
	st = json_pack("{s:[o],s:s,s:s,s:s,s:I}", "conditions",
		       cond(old, "Ready", "True", "Ready",
			    "Certificate is up to date and has not expired", gen),
		       "notBefore", t0, "notAfter", t1, "renewalTime", t2, "revision",
		       json_integer_value(json_object_get(old, "revision")) + 1);
	put_status(x, st);
	ks_log("certificate %s/%s issued for %s", x->ns, order, first);
	return 0;
}

/* An Issuer or ClusterIssuer is Ready at once (an ACME one "registers its account"). */
int ks_issuer_step(struct ks_obj *x, int64_t now)
{
	const json_t *spec = json_object_get(x->o, "spec");
	const json_t *old = json_object_get(x->o, "status");
	json_int_t gen = json_integer_value(json_object_get(json_object_get(x->o, "metadata"),
							    "generation"));
	int acme = json_object_get(spec, "acme") != NULL;

	(void)now;
	put_status(x, json_pack("{s:[o]}", "conditions",
				cond(old, "Ready", "True",
				     acme ? "ACMEAccountRegistered" : "IsReady",
				     acme ? "The ACME account was registered with the ACME server"
					  : "Issuer is ready",
				     gen ? gen : 1)));
	return 0;
}
