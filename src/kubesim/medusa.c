/* medusa.c - a simulated Medusa admin API (sign-in, publishable API keys) per store host behind the
 * ingress, and /_sim/medusa. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>
#include <sodium.h>

#include "buf.h"
#include "kubesim.h"

/*
 * What a Medusa store's setup Job leaves behind, as far as storefleet can
 * see it: the owner's admin user, who signs in with the emailpass provider,
 * and the publishable API key "Storefront".  The state of a store namespace
 * is made the first time anything asks for it, once its setup Job
 * (medusa-setup) has completed: the admin's email is the store-info
 * ConfigMap's admin-email and the password the medusa Secret's
 * admin-password, exactly what the Job read (configMapKeyRef, secretKeyRef);
 * the key's token is made as Medusa makes it ("pk_" and 32 random bytes in
 * hex).
 *
 * The two requests storefleet makes, with Medusa v2's shapes and statuses
 * (packages/medusa/src/api/auth/[actor_type]/[auth_provider]/route.ts,
 * api/admin/api-keys; the error handler's bodies):
 *
 *   POST /auth/user/emailpass {"email","password"}
 *        200 {"token"}; 401 {"type":"unauthorized","message":"Invalid email or password"}
 *   GET  /admin/api-keys[?type=&title=]   Authorization: Bearer <token>
 *        200 {"api_keys":[...],"count","offset","limit"}; 401 {"message":"Unauthorized"}
 *
 * Controls (the API port, like /_sim/woo):
 *   GET  /_sim/medusa/{ns}                   {"admin_email","publishable_key","logins","refused"}
 *   POST /_sim/medusa/{ns}/admin-password    {"password":"..."}: the owner changed it in
 *                                            the admin (what the next sign-in must give);
 *                                            202 before the setup Job completed: the store
 *                                            starts with it
 *
 * Everything runs under ks_lock (the ingress and the API both take it).
 */

#define MED_BODY_MAX  (64 * 1024)
#define MED_SESSIONS  16
#define MED_SETUP_JOB "medusa-setup"
#define MED_SECRET    "medusa"
#define MED_CONFIGMAP "store-info"
#define MED_KEY_TITLE "Storefront"

struct med_store {
	char ns[128];
	char email[256], password[256];
	char key_id[40], key[72], created[32];
	char sessions[MED_SESSIONS][160];
	int next_session;
	long logins, refused;
};

static struct med_store *stores;
static size_t nstores, capstores;

/*
 * Passwords set through /_sim/medusa before the namespace's store existed
 * (a test that wants the very first sign-in refused): taken when it is made.
 */
#define MED_EARLY 16
static struct {
	char ns[128], password[256];
} early[MED_EARLY];

static const char *jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static int job_complete(const json_t *job)
{
	const json_t *c;
	size_t i;

	json_array_foreach(json_object_get(json_object_get(job, "status"), "conditions"), i, c)
		if (!strcmp(jstr(c, "type") ?: "", "Complete") &&
		    !strcmp(jstr(c, "status") ?: "", "True"))
			return 1;
	return 0;
}

/* Key k of a Secret (data base64, or stringData) or ConfigMap (data) into out.  0 or -1. */
static int object_value(const json_t *o, const char *k, int base64, char *out, size_t n)
{
	const char *v = jstr(json_object_get(o, "data"), k);
	const char *plain = jstr(json_object_get(o, "stringData"), k);
	size_t len = 0;

	if (!base64 && v) {
		snprintf(out, n, "%s", v);
		return *out ? 0 : -1;
	}
	if (!v && plain) {
		snprintf(out, n, "%s", plain);
		return *out ? 0 : -1;
	}
	if (!v ||
	    sodium_base642bin((unsigned char *)out, n - 1, v, strlen(v), NULL, &len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) < 0 ||
	    !len)
		return -1;
	out[len] = 0;
	return 0;
}

static void random_hex(char *out, size_t bytes)
{
	unsigned char rnd[64];

	randombytes_buf(rnd, bytes);
	sodium_bin2hex(out, bytes * 2 + 1, rnd, bytes);
}

/* The store of namespace ns; made once its setup Job completed.  NULL: no Medusa there. */
static struct med_store *med_store(const char *ns)
{
	struct ks_obj *job, *sec, *cm;
	struct med_store *s;
	char hex[27];

	for (size_t i = 0; i < nstores; i++)
		if (!strcmp(stores[i].ns, ns))
			return &stores[i];
	job = ks_store_get(ks_resource_find("batch", "v1", "jobs"), ns, MED_SETUP_JOB);
	sec = ks_store_get(ks_resource_find("", "v1", "secrets"), ns, MED_SECRET);
	cm = ks_store_get(ks_resource_find("", "v1", "configmaps"), ns, MED_CONFIGMAP);
	if (!job || !sec || !cm || !job_complete(job->o))
		return NULL;
	if (nstores == capstores) {
		capstores = capstores ? 2 * capstores : 16;
		stores = realloc(stores, capstores * sizeof(*stores));
		if (!stores)
			die_oom();
	}
	s = &stores[nstores];
	memset(s, 0, sizeof(*s));
	snprintf(s->ns, sizeof(s->ns), "%s", ns);
	if (object_value(cm->o, "admin-email", 0, s->email, sizeof(s->email)) < 0 ||
	    object_value(sec->o, "admin-password", 1, s->password, sizeof(s->password)) < 0)
		return NULL;
	for (int i = 0; i < MED_EARLY; i++)
		if (!strcmp(early[i].ns, ns)) {
			snprintf(s->password, sizeof(s->password), "%s", early[i].password);
			early[i].ns[0] = 0;
		}
	memcpy(s->key, "pk_", 3);
	random_hex(s->key + 3, 32);
	random_hex(hex, 13);
	snprintf(s->key_id, sizeof(s->key_id), "apk_01%.24s", hex);
	for (char *p = s->key_id + 6; *p; p++)
		*p = (char)(*p >= 'a' ? *p - 'a' + 'A' : *p); /* a ULID's alphabet, near enough */
	ks_timestamp(s->created);
	nstores++;
	ks_log("medusa: %s: admin %s and the publishable key made by the setup job", ns, s->email);
	return s;
}

/* Medusa's error body. */
static json_t *med_error(const char *type, const char *msg)
{
	return type ? json_pack("{s:s, s:s}", "type", type, "message", msg)
		    : json_pack("{s:s}", "message", msg);
}

/* POST /auth/user/emailpass (lock held). */
static int med_login(struct med_store *s, const char *body, size_t blen, json_t **out)
{
	json_t *b = json_loadb(body, blen, 0, NULL);
	const char *email = jstr(b, "email"), *pw = jstr(b, "password");
	char tok[160], p1[33], p2[65];
	int st;

	if (!email) {
		s->refused++;
		*out = med_error("unauthorized", "Email should be a string");
		st = 401;
	} else if (!pw || strcmp(email, s->email) || strlen(pw) != strlen(s->password) ||
		   sodium_memcmp(pw, s->password, strlen(pw))) {
		s->refused++;
		*out = med_error("unauthorized", "Invalid email or password");
		st = 401;
	} else {
		random_hex(p1, 16);
		random_hex(p2, 32);
		snprintf(tok, sizeof(tok), "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.%s.%s", p1, p2);
		snprintf(s->sessions[s->next_session], sizeof(s->sessions[0]), "%s", tok);
		s->next_session = (s->next_session + 1) % MED_SESSIONS;
		s->logins++;
		*out = json_pack("{s:s}", "token", tok);
		st = 200;
	}
	json_decref(b);
	return st;
}

static int med_session(const struct med_store *s, const char *auth)
{
	if (!auth || strncmp(auth, "Bearer ", 7) || !auth[7])
		return 0;
	for (int i = 0; i < MED_SESSIONS; i++)
		if (*s->sessions[i] && !strcmp(s->sessions[i], auth + 7))
			return 1;
	return 0;
}

/* GET /admin/api-keys (lock held, session checked). */
static int med_api_keys(struct MHD_Connection *c, const struct med_store *s, json_t **out)
{
	const char *type = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "type");
	const char *title = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "title");
	char redacted[16];
	json_t *keys = json_array();

	snprintf(redacted, sizeof(redacted), "%.6s***%.3s", s->key, s->key + strlen(s->key) - 3);
	if ((!type || !strcmp(type, "publishable")) && (!title || !strcmp(title, MED_KEY_TITLE)))
		json_array_append_new(
		    keys, json_pack("{s:s, s:s, s:s, s:s, s:s, s:n, s:s, s:s, s:s, s:n, s:n}", "id",
				    s->key_id, "title", MED_KEY_TITLE, "token", s->key, "redacted",
				    redacted, "type", "publishable", "last_used_at", "created_at",
				    s->created, "updated_at", s->created, "created_by", "",
				    "revoked_at", "revoked_by"));
	*out = json_pack("{s:o, s:I, s:i, s:i}", "api_keys", keys, "count",
			 (json_int_t)json_array_size(keys), "offset", 0, "limit", 20);
	return 200;
}

struct med_conn {
	struct buf body;
};

static enum MHD_Result send_json(struct MHD_Connection *c, int status, const json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (!s)
		return MHD_NO;
	r = MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(s);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", "application/json; charset=utf-8");
	ret = MHD_queue_response(c, (unsigned)status, r);
	MHD_destroy_response(r);
	return ret;
}

int ks_medusa_ingress(struct MHD_Connection *c, const char *url, const char *method,
		      const char *upload, size_t *upload_size, void **ctx)
{
	struct med_conn *mc = *ctx;
	const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
	const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	char h[256], ns[256] = "";
	struct med_store *s = NULL;
	json_t *out = NULL;
	int rc, st, ret;

	if (!mc) {
		if (!(mc = calloc(1, sizeof(*mc))))
			return MHD_NO;
		buf_init(&mc->body, MED_BODY_MAX);
		*ctx = mc;
		return MHD_YES;
	}
	if (*upload_size) {
		buf_add(&mc->body, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	snprintf(h, sizeof(h), "%s", host ? host : "");
	h[strcspn(h, ":")] = 0;
	pthread_mutex_lock(&ks_lock);
	{
		char ext[256];
		int port;

		rc = ks_ingress_ready(h, ns, sizeof(ns), ext, sizeof(ext), &port);
		if (rc == 2) /* a suspended store: no API behind its paused page */
			rc = 0;
	}
	if (rc > 0)
		s = med_store(ns);
	if (rc < 0) {
		st = 404;
		out = med_error(NULL, "no store at this host");
	} else if (!rc) {
		st = 503;
		out = med_error(NULL, "503 Service Temporarily Unavailable");
	} else if (!s) {
		st = 404;
		out = med_error("not_found", "no Medusa store at this host");
	} else if (mc->body.failed) {
		st = 413;
		out = med_error("invalid_data", "request entity too large");
	} else if (!strcmp(url, "/auth/user/emailpass") && !strcmp(method, "POST")) {
		st = med_login(s, mc->body.s, mc->body.len, &out);
	} else if (!strncmp(url, "/admin/", 7) && !med_session(s, auth)) {
		st = 401;
		out = med_error(NULL, "Unauthorized");
	} else if (!strcmp(url, "/admin/api-keys") && !strcmp(method, "GET")) {
		st = med_api_keys(c, s, &out);
	} else {
		st = 404;
		out = med_error("not_found", "Route not found");
	}
	pthread_mutex_unlock(&ks_lock);
	ks_log("ingress %s %s%s -> %d", method, h, url, st);
	ret = send_json(c, st, out);
	json_decref(out);
	if (mc->body.s)
		sodium_memzero(mc->body.s, mc->body.len);
	buf_release(&mc->body);
	free(mc);
	*ctx = NULL;
	return ret;
}

/* --- /_sim/medusa ---------------------------------------------------------------------- */

/* POST /_sim/medusa/{ns}/admin-password before the store exists: kept for when it is made. */
static void early_password(struct ks_req *q, const char *ns)
{
	json_t *b = json_loadb(q->body, q->body_len, 0, NULL), *out;
	const char *pw = jstr(b, "password");
	int i;

	for (i = 0; i < MED_EARLY && early[i].ns[0] && strcmp(early[i].ns, ns); i++)
		;
	if (!pw || !*pw || strlen(pw) >= sizeof(early[0].password)) {
		ks_status(q, 400, "BadRequest", "want {\"password\":\"...\"}", NULL);
	} else if (i == MED_EARLY) {
		ks_status(q, 429, "TooManyRequests", "too many early passwords pending", NULL);
	} else {
		snprintf(early[i].ns, sizeof(early[i].ns), "%s", ns);
		snprintf(early[i].password, sizeof(early[i].password), "%s", pw);
		out = json_pack("{s:s}", "status", "pending");
		ks_send_obj(q, 202, out);
		json_decref(out);
	}
	json_decref(b);
}

void ks_medusa_sim(struct ks_req *q, const char *rest)
{
	char ns[128];
	size_t n = strcspn(rest, "/");
	const char *what = rest + n;
	struct med_store *s;

	snprintf(ns, sizeof(ns), "%.*s", (int)(n < sizeof(ns) ? n : sizeof(ns) - 1), rest);
	if (!(s = med_store(ns)) && !strcmp(what, "/admin-password") &&
	    !strcmp(q->method, "POST")) {
		early_password(q, ns);
		return;
	}
	if (!s) {
		ks_status(q, 404, "NotFound",
			  "no Medusa store in this namespace (setup job not complete?)", NULL);
		return;
	}
	if (!*what && !strcmp(q->method, "GET")) {
		json_t *out = json_pack("{s:s, s:s, s:I, s:I}", "admin_email", s->email,
					"publishable_key", s->key, "logins", (json_int_t)s->logins,
					"refused", (json_int_t)s->refused);

		ks_send_obj(q, 200, out);
		json_decref(out);
	} else if (!strcmp(what, "/admin-password") && !strcmp(q->method, "POST")) {
		json_t *b = json_loadb(q->body, q->body_len, 0, NULL);
		const char *pw = jstr(b, "password");

		if (!pw || !*pw || strlen(pw) >= sizeof(s->password)) {
			ks_status(q, 400, "BadRequest", "want {\"password\":\"...\"}", NULL);
		} else {
			json_t *out;

			snprintf(s->password, sizeof(s->password), "%s", pw);
			ks_log("medusa: %s: the admin's password changed by /_sim", s->ns);
			out = json_pack("{s:s}", "status", "changed");
			ks_send_obj(q, 200, out);
			json_decref(out);
		}
		json_decref(b);
	} else {
		ks_status(q, 404, "NotFound", "unknown /_sim/medusa request", NULL);
	}
}
