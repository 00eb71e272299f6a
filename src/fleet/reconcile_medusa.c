/* reconcile_medusa.c - a Medusa store's publishable API key read from the store
 * (reconcile_medusa.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "buf.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "reconcile_medusa.h"
#include "seal.h"
#include "storehttp.h"

#define KEYS_PER_PASS 8 /* stores tried per pass: each costs 2 requests */
#define ERROR_MAX     300
#define TOKEN_MAX     4000 /* a session token longer than this is not Medusa's */

static const char login_path[] = "/auth/user/emailpass";
static const char keys_path[] = "/admin/api-keys";

/* s is 1..max characters of [A-Za-z0-9_-] and '.' when dots (a JWT) */
static int token_chars(const char *s, size_t max, int dots)
{
	size_t n = strlen(s);

	return n && n <= max &&
	       strspn(s,
		      dots ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-."
			   : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") ==
		   n;
}

/* One request with a JSON answer; OUT: *status, *body, *len (a's).  0, or -1 + why. */
static int medusa_request(struct storehttp *http, struct arena *a, struct storehttp_req *rq,
			  const char *path, long *status, const char **body, size_t *len, char *why,
			  size_t n)
{
	struct storehttp_answer ans;
	struct err e = ERR_INIT;

	rq->read_json = 1;
	if (storehttp_request(http, a, rq, &ans, &e) < 0) {
		snprintf(why, n, "%s %s: %s", rq->method ? rq->method : "GET", path, e.msg);
		return -1;
	}
	*status = ans.status;
	*body = ans.body;
	*len = ans.len;
	return 0;
}

int medusa_login_answer(struct arena *a, long status, const char *body, size_t len,
			const char **token, char *why, size_t n)
{
	json_t *got;
	const char *t;

	*token = NULL;
	if (status == 401) {
		snprintf(why, n,
			 "POST %s: the store refused the admin's email and password (HTTP 401)",
			 login_path);
		return -1;
	}
	if (status != 200) {
		snprintf(why, n, "POST %s: HTTP %ld", login_path, status);
		return -1;
	}
	got = arena_json(a, json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL));
	t = json_string_value(json_object_get(got, "token"));
	if (!t || !token_chars(t, TOKEN_MAX, 1)) {
		snprintf(why, n, "POST %s: the answer has no session token", login_path);
		return -1;
	}
	*token = t;
	return 0;
}

int medusa_keys_answer(struct arena *a, long status, const char *body, size_t len, const char **key,
		       char *why, size_t n)
{
	json_t *got, *k;
	size_t i;

	*key = NULL;
	if (status == 401 || status == 403) {
		snprintf(why, n, "GET %s: the store refused the admin's session (HTTP %ld)",
			 keys_path, status);
		return -1;
	}
	if (status != 200) {
		snprintf(why, n, "GET %s: HTTP %ld", keys_path, status);
		return -1;
	}
	got = arena_json(a, json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL));
	if (!json_is_array(json_object_get(got, "api_keys"))) {
		snprintf(why, n, "GET %s: the answer has no api_keys list", keys_path);
		return -1;
	}
	json_array_foreach(json_object_get(got, "api_keys"), i, k) {
		const char *title = json_string_value(json_object_get(k, "title"));
		const char *type = json_string_value(json_object_get(k, "type"));
		const char *tok = json_string_value(json_object_get(k, "token"));
		const json_t *revoked = json_object_get(k, "revoked_at");

		if (!title || strcmp(title, MEDUSA_KEY_TITLE) ||
		    (type && strcmp(type, "publishable")) || (revoked && !json_is_null(revoked)))
			continue;
		if (!tok || strncmp(tok, "pk_", 3) || !token_chars(tok + 3, MEDUSA_KEY_MAX, 0)) {
			snprintf(why, n, "GET %s: the key \"%s\" is not a publishable key (pk_...)",
				 keys_path, MEDUSA_KEY_TITLE);
			return -1;
		}
		*key = tok;
		return 0;
	}
	snprintf(why, n, "GET %s: no publishable key \"%s\" that is not revoked", keys_path,
		 MEDUSA_KEY_TITLE);
	return -1;
}

int medusa_read_key(struct storehttp *http, struct arena *a, const char *host, const char *email,
		    const char *password, const char **key, char *why, size_t n)
{
	json_t *creds = json_pack("{s:s, s:s}", "email", email, "password", password);
	char *body = creds ? json_dumps(creds, JSON_COMPACT) : NULL;
	struct storehttp_req rq = {.method = "POST", .host = host, .target = login_path};
	const char *token, *got;
	char *bearer;
	long status = 0;
	size_t len = 0;
	int rc;

	*key = NULL;
	if (!body)
		die_oom(); /* two strings jansson took: only malloc can fail */
	rq.body = body;
	rc = medusa_request(http, a, &rq, login_path, &status, &got, &len, why, n);
	sodium_memzero(body, strlen(body));
	free(body);
	json_decref(creds); /* jansson's copy of the password: freed, not wiped (it cannot be) */
	if (rc < 0 || medusa_login_answer(a, status, got, len, &token, why, n) < 0)
		return -1;

	bearer = arena_printf(a, "Bearer %s", token);
	memset(&rq, 0, sizeof(rq));
	rq.host = host;
	rq.authorization = bearer;
	rq.target =
	    arena_printf(a, "%s?type=publishable&title=%s&fields=id,title,token,type,revoked_at",
			 keys_path, MEDUSA_KEY_TITLE);
	rc = medusa_request(http, a, &rq, keys_path, &status, &got, &len, why, n);
	sodium_memzero(bearer, strlen(bearer));
	if (rc < 0 || medusa_keys_answer(a, status, got, len, key, why, n) < 0)
		return -1;
	return 0;
}

/* ---- the pass's part ------------------------------------------------------------- */

/* clang-format off */
static struct db_stmt st_due = DB_STMT(
	"UPDATE stores s SET publishable_key_checked_at = now() "
	"FROM (SELECT id FROM stores "
	"      WHERE engine = 'medusa' AND status = 'ready' AND publishable_key IS NULL "
	"        AND admin_secret IS NOT NULL "
	"        AND (publishable_key_checked_at IS NULL "
	"             OR publishable_key_checked_at < now() - $1::int * interval '1 second') "
	"      ORDER BY publishable_key_checked_at NULLS FIRST, id LIMIT $2::int "
	"      FOR UPDATE SKIP LOCKED) due, clusters c "
	"WHERE s.id = due.id AND c.name = s.cluster "
	"RETURNING s.id, s.admin_user, s.admin_secret, s.publishable_key_error, "
	"  c.name, c.store_domain, c.ingress_address", 2);
static struct db_stmt st_found = DB_STMT(
	"UPDATE stores SET publishable_key = $2, publishable_key_error = '' WHERE id = $1", 2);
static struct db_stmt st_error = DB_STMT(
	"UPDATE stores SET publishable_key_error = $2 WHERE id = $1", 2);
static struct db_stmt st_event = DB_STMT(
	"INSERT INTO store_events (store_id, step, level, message) "
	"VALUES ($1, 'storefront', $2, $3)", 3);
/* clang-format on */

static void event(struct arena *a, const char *id, const char *level, const char *msg)
{
	const char *p[3] = {id, level, msg};
	struct err e = ERR_INIT;

	if (!db_run(a, &st_event, p, &e))
		log_error("reconcile: store %s: cannot record a storefront event: %s", id, e.msg);
}

/*
 * One store: its key saved, or why not in why.  reported: a failure is in
 * its activity log, so the key's arrival is written there too (a store
 * that gets its key at once has no event: its provisioning log stays the
 * steps').
 */
static void read_one(struct arena *a, struct storehttp *http, const char *id, const char *domain,
		     const char *email, const char *sealed, int reported, char *why, size_t n)
{
	struct buf pw = BUF_INIT;
	struct err e = ERR_INIT;
	const char *key = NULL, *host = arena_printf(a, "store-%s.%s", id, domain);

	*why = 0;
	if (!email || !*email || seal_open(config.secret_key, sealed, &pw, &e) < 0) {
		snprintf(why, n, "the store's admin password does not open");
	} else if (medusa_read_key(http, a, host, email, pw.s, &key, why, n) == 0) {
		const char *p[2] = {id, key};

		if (!db_run(a, &st_found, p, &e)) {
			log_error("reconcile: store %s: cannot save the publishable key: %s", id,
				  e.msg);
		} else {
			log_info(
			    "reconcile: store %s: publishable API key %.11s... read from the store",
			    id, key);
			if (reported)
				event(a, id, "info", "publishable API key read from the store");
		}
	}
	sodium_memzero(pw.s, pw.len);
	buf_release(&pw);
}

int reconcile_medusa_keys(struct arena *a, struct storehttp *http, int *checked, struct err *e)
{
	char retry[16], limit[16], why[ERROR_MAX];
	const char *p[2] = {retry, limit};
	PGresult *res;

	*checked = 0;
	if (!*config.ingress_address || !*config.secret_key)
		return 0;
	snprintf(retry, sizeof(retry), "%d", config.store_api_retry);
	snprintf(limit, sizeof(limit), "%d", KEYS_PER_PASS);
	if (!(res = db_run(a, &st_due, p, e)))
		return -1;
	for (int i = 0; i < db_rows(res); i++) {
		const char *id = db_get(res, i, 0), *before = db_get(res, i, 3);
		const char *domain = db_get(res, i, 5), *ingress = db_get(res, i, 6);

		/* through the store's cluster's ingress, with its store domain (sql/019) */
		if (!*domain)
			domain = config.domain;
		if (!*ingress && !strcmp(db_get(res, i, 4), "default"))
			ingress = config.ingress_address;
		if (!*ingress)
			continue; /* a cluster with no ingress address: nothing to reach it by */
		storehttp_set_ingress(http, ingress);
		read_one(a, http, id, domain, db_get(res, i, 1), db_get(res, i, 2), before && *before,
			 why, sizeof(why));
		storehttp_set_ingress(http, NULL);
		(*checked)++;
		if (strcmp(why, before ? before : "")) {
			const char *q[2] = {id, why};
			struct err ue = ERR_INIT;

			if (*why) {
				log_warn("reconcile: store %s: publishable key: %s (tried again in "
					 "%d s)",
					 id, why, config.store_api_retry);
				event(a, id, "warn",
				      arena_printf(
					  a, "cannot read the storefront's publishable key: %s",
					  why));
			}
			if (!db_run(a, &st_error, q, &ue))
				log_error("reconcile: store %s: %s", id, ue.msg);
		} else if (*why) {
			log_debug("reconcile: store %s: publishable key: %s (reported already)", id,
				  why);
		}
	}
	return 0;
}
