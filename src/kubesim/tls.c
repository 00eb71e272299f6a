/* tls.c - the simulator's throwaway PKI: a CA, a server certificate and a client certificate, made
 * at start. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "kubesim.h"

/*
 * ECDSA P-256 keys: generated in milliseconds, understood by Go (kubectl),
 * libcurl (OpenSSL or GnuTLS) and Python.  Certificates live a year and
 * start an hour in the past so clock skew between tools cannot bite.
 */

static char *pem_crt(gnutls_x509_crt_t c)
{
	gnutls_datum_t d = {NULL, 0};
	char *s;

	if (gnutls_x509_crt_export2(c, GNUTLS_X509_FMT_PEM, &d) < 0)
		return NULL;
	s = strndup((char *)d.data, d.size);
	gnutls_free(d.data);
	return s;
}

static char *pem_key(gnutls_x509_privkey_t k)
{
	gnutls_datum_t d = {NULL, 0};
	char *s;

	if (gnutls_x509_privkey_export2_pkcs8(k, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN, &d) <
	    0)
		return NULL;
	s = strndup((char *)d.data, d.size);
	gnutls_free(d.data);
	return s;
}

enum role { ROLE_CA, ROLE_SERVER, ROLE_CLIENT };

static int make(gnutls_x509_crt_t *out, gnutls_x509_privkey_t *kout, enum role role, const char *cn,
		const char *org, gnutls_x509_crt_t issuer, gnutls_x509_privkey_t ikey,
		unsigned serial)
{
	gnutls_x509_crt_t c;
	gnutls_x509_privkey_t k;
	unsigned char sn[8], id[64];
	size_t idlen = sizeof(id);
	time_t now = time(NULL);
	int rc = 0;

	if (gnutls_x509_privkey_init(&k) < 0)
		return -1;
	if (gnutls_x509_privkey_generate(k, GNUTLS_PK_ECDSA,
					 GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0) < 0) {
		gnutls_x509_privkey_deinit(k);
		return -1;
	}
	if (gnutls_x509_crt_init(&c) < 0) {
		gnutls_x509_privkey_deinit(k);
		return -1;
	}
	memset(sn, 0, sizeof(sn));
	sn[0] = 0x10;
	sn[6] = (unsigned char)(serial >> 8);
	sn[7] = (unsigned char)serial;
	rc |= gnutls_x509_crt_set_version(c, 3);
	rc |= gnutls_x509_crt_set_serial(c, sn, sizeof(sn));
	rc |= gnutls_x509_crt_set_activation_time(c, now - 3600);
	rc |= gnutls_x509_crt_set_expiration_time(c, now + 365 * 86400);
	rc |= gnutls_x509_crt_set_key(c, k);
	if (org)
		rc |= gnutls_x509_crt_set_dn_by_oid(c, GNUTLS_OID_X520_ORGANIZATION_NAME, 0, org,
						    strlen(org));
	rc |= gnutls_x509_crt_set_dn_by_oid(c, GNUTLS_OID_X520_COMMON_NAME, 0, cn, strlen(cn));
	if (role == ROLE_CA) {
		rc |= gnutls_x509_crt_set_basic_constraints(c, 1, -1);
		rc |= gnutls_x509_crt_set_key_usage(c, GNUTLS_KEY_KEY_CERT_SIGN |
							   GNUTLS_KEY_CRL_SIGN |
							   GNUTLS_KEY_DIGITAL_SIGNATURE);
	} else {
		rc |= gnutls_x509_crt_set_basic_constraints(c, 0, -1);
		rc |= gnutls_x509_crt_set_key_usage(c, GNUTLS_KEY_DIGITAL_SIGNATURE |
							   GNUTLS_KEY_KEY_ENCIPHERMENT);
		rc |= gnutls_x509_crt_set_key_purpose_oid(
		    c, role == ROLE_SERVER ? GNUTLS_KP_TLS_WWW_SERVER : GNUTLS_KP_TLS_WWW_CLIENT,
		    0);
	}
	if (role == ROLE_SERVER) {
		static const unsigned char v4[4] = {127, 0, 0, 1};
		static const unsigned char v6[16] = {[15] = 1};

		rc |= gnutls_x509_crt_set_subject_alt_name(c, GNUTLS_SAN_DNSNAME, "localhost", 9,
							   GNUTLS_FSAN_APPEND);
		rc |= gnutls_x509_crt_set_subject_alt_name(c, GNUTLS_SAN_IPADDRESS, v4, 4,
							   GNUTLS_FSAN_APPEND);
		rc |= gnutls_x509_crt_set_subject_alt_name(c, GNUTLS_SAN_IPADDRESS, v6, 16,
							   GNUTLS_FSAN_APPEND);
	}
	if (gnutls_x509_crt_get_key_id(c, 0, id, &idlen) >= 0)
		rc |= gnutls_x509_crt_set_subject_key_id(c, id, idlen);
	if (issuer) {
		idlen = sizeof(id);
		if (gnutls_x509_crt_get_subject_key_id(issuer, id, &idlen, NULL) >= 0)
			rc |= gnutls_x509_crt_set_authority_key_id(c, id, idlen);
	}
	if (rc < 0 || gnutls_x509_crt_sign2(c, issuer ? issuer : c, ikey ? ikey : k,
					    GNUTLS_DIG_SHA256, 0) < 0) {
		gnutls_x509_crt_deinit(c);
		gnutls_x509_privkey_deinit(k);
		return -1;
	}
	*out = c;
	*kout = k;
	return 0;
}

int ks_tls_generate(struct ks_pki *p, struct err *e)
{
	gnutls_x509_crt_t ca = NULL, srv = NULL, cli = NULL;
	gnutls_x509_privkey_t cak = NULL, srvk = NULL, clik = NULL;
	int rc = -1;

	memset(p, 0, sizeof(*p));
	if (make(&ca, &cak, ROLE_CA, "kubesim-ca", NULL, NULL, NULL, 1) < 0 ||
	    make(&srv, &srvk, ROLE_SERVER, "kubesim", NULL, ca, cak, 2) < 0 ||
	    make(&cli, &clik, ROLE_CLIENT, "storefleet-test", "system:masters", ca, cak, 3) < 0) {
		err_set(e, 500, "kubesim: cannot generate certificates");
		goto out;
	}
	p->ca_crt = pem_crt(ca);
	p->ca_key = pem_key(cak);
	p->server_crt = pem_crt(srv);
	p->server_key = pem_key(srvk);
	p->client_crt = pem_crt(cli);
	p->client_key = pem_key(clik);
	if (!p->ca_crt || !p->ca_key || !p->server_crt || !p->server_key || !p->client_crt ||
	    !p->client_key) {
		err_set(e, 500, "kubesim: cannot export certificates");
		ks_tls_free(p);
		goto out;
	}
	rc = 0;
out:
	if (ca)
		gnutls_x509_crt_deinit(ca);
	if (srv)
		gnutls_x509_crt_deinit(srv);
	if (cli)
		gnutls_x509_crt_deinit(cli);
	if (cak)
		gnutls_x509_privkey_deinit(cak);
	if (srvk)
		gnutls_x509_privkey_deinit(srvk);
	if (clik)
		gnutls_x509_privkey_deinit(clik);
	return rc;
}

void ks_tls_free(struct ks_pki *p)
{
	free(p->ca_crt);
	free(p->ca_key);
	free(p->server_crt);
	free(p->server_key);
	free(p->client_crt);
	free(p->client_key);
	memset(p, 0, sizeof(*p));
}

int ks_tls_client_ok(void *session)
{
	gnutls_session_t s = session;
	unsigned status = 1;
	unsigned n = 0;

	if (!s || !gnutls_certificate_get_peers(s, &n) || n == 0)
		return 0;
	if (gnutls_certificate_verify_peers2(s, &status) < 0)
		return 0;
	return status == 0;
}
