/* woo.c - a simulated WooCommerce REST API (webhooks) per store host behind the ingress, and /_sim/woo. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <microhttpd.h>
#include <sodium.h>

#include "arena.h"
#include "http.h"
#include "kubesim.h"
#include "webhook.h"

/*
 * What a WooCommerce store's setup Job leaves behind, as far as storefleet
 * can see it: the three storefleet-* webhooks it registered (status active)
 * and the REST API key it inserted.  The state of a store namespace is made
 * the first time anything asks for it, once its setup Job has completed:
 * the Job's HOOKS_URL env says where deliveries go (no HOOKS_URL: the Job
 * registered nothing), and the woocommerce-api Secret holds the webhook
 * secret and the key, exactly what the Job read through secretKeyRef.
 *
 * The REST API checks OAuth 1.0a one-legged signatures the way
 * WC_REST_Authentication does over plain HTTP (HMAC-SHA1 or -SHA256 of
 * METHOD&url&params with consumer_secret&; 15-minute timestamp window;
 * nonces remembered), and answers WooCommerce's JSON shapes and error
 * codes.  GET /wp-json/wc/v3/webhooks[?status=], GET and PUT/POST/PATCH
 * /wp-json/wc/v3/webhooks/{id}.
 *
 * Controls (the API port, like /_sim/faults):
 *   GET  /_sim/woo/{ns}/webhooks              the store's webhooks
 *   POST /_sim/woo/{ns}/webhooks/{id}         {"status":"disabled"} (what WooCommerce
 *                                             does after 5 failed deliveries)
 *   POST /_sim/woo/{ns}/deliver               {"topic":"order.created","body":{...}}:
 *        sign body with the webhook secret and POST it to the webhook's delivery
 *        URL with WooCommerce's headers; answers {"status":N,"response":"..."}.
 *
 * Everything runs under ks_lock (the ingress and the API both take it).
 */

#define WOO_HOOKS     3
#define WOO_NONCES    64
#define WOO_BODY_MAX  (64 * 1024)
#define WOO_SKEW      900 /* seconds: WooCommerce's timestamp window */
#define WOO_SETUP_JOB "wordpress-setup"
#define WOO_SECRET    "woocommerce-api"

struct woo_hook {
	long long id;
	char name[64], topic[64], status[16], url[512], created[32], modified[32];
};

struct woo_store {
	char ns[128], host[256];
	char secret[256], ck[256], cs[256];
	struct woo_hook hooks[WOO_HOOKS];
	int nhooks;
	char nonces[WOO_NONCES][64];
	int nonce_next;
};

static struct woo_store *stores;
static size_t nstores, capstores;

static const char *const topics[WOO_HOOKS] = {"order.created", "product.created",
					      "product.updated"};

/* --- reading what the setup Job left ------------------------------------------------ */

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

/* The env var name of the setup container: its value, or NULL. */
static const char *job_env(const json_t *job, const char *name)
{
	const json_t *cs = json_object_get(
	    json_object_get(json_object_get(json_object_get(job, "spec"), "template"), "spec"),
	    "containers"),
		     *c, *e;
	size_t i, k;

	json_array_foreach(cs, i, c) json_array_foreach(json_object_get(c, "env"), k, e) if (
	    !strcmp(jstr(e, "name") ?: "", name)) return jstr(e, "value");
	return NULL;
}

/* Secret key k (data base64, or stringData as a server may keep it) into out. */
static int secret_value(const json_t *sec, const char *k, char *out, size_t n)
{
	const char *b64 = jstr(json_object_get(sec, "data"), k);
	const char *plain = jstr(json_object_get(sec, "stringData"), k);
	size_t len = 0;

	if (!b64 && plain) {
		snprintf(out, n, "%s", plain);
		return *out ? 0 : -1;
	}
	if (!b64 || sodium_base642bin((unsigned char *)out, n - 1, b64, strlen(b64), NULL, &len,
				      NULL, sodium_base64_VARIANT_ORIGINAL) < 0 ||
	    !len)
		return -1;
	out[len] = 0;
	return 0;
}

/* The first host of the namespace's Ingress ("" when none). */
static void ns_host(const char *ns, char *out, size_t n)
{
	struct ks_obj **v;
	size_t k = ks_store_select(ks_resource_find("networking.k8s.io", "v1", "ingresses"), ns,
				   NULL, &v);

	*out = 0;
	if (k)
		snprintf(out, n, "%s",
			 jstr(json_array_get(json_object_get(json_object_get(v[0]->o, "spec"),
							     "rules"),
					     0),
			      "host")
			     ?: "");
	free(v);
}

/* The store of namespace ns; made once its setup Job completed.  NULL: no WooCommerce there. */
static struct woo_store *woo_store(const char *ns)
{
	struct ks_obj *job, *sec;
	struct woo_store *s;
	const char *url;
	char ts[32];

	for (size_t i = 0; i < nstores; i++)
		if (!strcmp(stores[i].ns, ns))
			return &stores[i];
	job = ks_store_get(ks_resource_find("batch", "v1", "jobs"), ns, WOO_SETUP_JOB);
	sec = ks_store_get(ks_resource_find("", "v1", "secrets"), ns, WOO_SECRET);
	if (!job || !sec || !job_complete(job->o))
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
	ns_host(ns, s->host, sizeof(s->host));
	if (secret_value(sec->o, "webhook-secret", s->secret, sizeof(s->secret)) < 0 ||
	    secret_value(sec->o, "consumer-key", s->ck, sizeof(s->ck)) < 0 ||
	    secret_value(sec->o, "consumer-secret", s->cs, sizeof(s->cs)) < 0)
		return NULL;
	url = job_env(job->o, "HOOKS_URL");
	if (!url) /* the Job registered nothing, and inserted no key */
		s->ck[0] = s->cs[0] = 0;
	ks_timestamp(ts);
	for (int i = 0; url && i < WOO_HOOKS; i++) {
		struct woo_hook *h = &s->hooks[s->nhooks++];

		h->id = i + 1;
		snprintf(h->name, sizeof(h->name), "storefleet-%s", topics[i]);
		snprintf(h->topic, sizeof(h->topic), "%s", topics[i]);
		snprintf(h->status, sizeof(h->status), "active");
		snprintf(h->url, sizeof(h->url), "%s", url);
		snprintf(h->created, sizeof(h->created), "%.19s", ts);
		snprintf(h->modified, sizeof(h->modified), "%.19s", ts);
	}
	nstores++;
	ks_log("woo: %s: %d webhooks registered by the setup job", ns, s->nhooks);
	return s;
}

static struct woo_hook *woo_hook(struct woo_store *s, long long id)
{
	for (int i = 0; i < s->nhooks; i++)
		if (s->hooks[i].id == id)
			return &s->hooks[i];
	return NULL;
}

/* WooCommerce's webhook object (v3). */
static json_t *hook_json(const struct woo_store *s, const struct woo_hook *h)
{
	char self[840], coll[800];
	const char *dot = strchr(h->topic, '.');

	snprintf(coll, sizeof(coll), "http://%s/wp-json/wc/v3/webhooks", s->host);
	snprintf(self, sizeof(self), "%s/%lld", coll, h->id);
	return json_pack("{s:I, s:s, s:s, s:s, s:s%, s:s, s:[s], s:s, s:s, s:s, s:s, s:s, "
			 "s:{s:[{s:s}], s:[{s:s}]}}",
			 "id", (json_int_t)h->id, "name", h->name, "status", h->status, "topic",
			 h->topic, "resource", h->topic, dot ? (size_t)(dot - h->topic) : 0, "event",
			 dot ? dot + 1 : "", "hooks",
			 !strcmp(h->topic, "order.created") ? "woocommerce_new_order"
							    : "woocommerce_process_product_meta",
			 "delivery_url", h->url, "date_created", h->created, "date_created_gmt",
			 h->created, "date_modified", h->modified, "date_modified_gmt", h->modified,
			 "_links", "self", "href", self, "collection", "href", coll);
}

/* {"code","message","data":{"status"}} - the WordPress REST error. */
static json_t *wp_error(const char *code, const char *msg, int status)
{
	return json_pack("{s:s, s:s, s:{s:i}}", "code", code, "message", msg, "data", "status",
			 status);
}

/* --- the ingress side ----------------------------------------------------------------- */

struct woo_conn {
	struct buf body;
	int too_big;
};

struct arg_ctx {
	struct arena *a;
	struct kv *params;
	const char *sig, *ck, *method, *ts, *nonce;
};

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	struct arg_ctx *x = cls;
	struct kv *p;

	(void)kind;
	if (!value)
		value = "";
	if (!strcmp(key, "oauth_signature")) {
		x->sig = value;
		return MHD_YES;
	}
	if (!strcmp(key, "oauth_consumer_key"))
		x->ck = value;
	else if (!strcmp(key, "oauth_signature_method"))
		x->method = value;
	else if (!strcmp(key, "oauth_timestamp"))
		x->ts = value;
	else if (!strcmp(key, "oauth_nonce"))
		x->nonce = value;
	p = arena_new_of(x->a, struct kv);
	p->key = arena_strdup(x->a, key);
	p->val = arena_strdup(x->a, value);
	p->vlen = strlen(value);
	p->next = x->params;
	x->params = p;
	return MHD_YES;
}

/* The OAuth check of WC_REST_Authentication; NULL when fine, else the 401 body. */
static json_t *woo_auth(struct MHD_Connection *c, struct woo_store *s, const char *method,
			const char *path, struct arena *a)
{
	struct arg_ctx x = {a, NULL, NULL, NULL, NULL, NULL, NULL};
	const char *proto = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Forwarded-Proto");
	char url[1024], want[WEBHOOK_SIG_LEN + 1];
	struct err e = ERR_INIT;
	long long ts;

	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_arg, &x);
	if (!x.ck && !x.sig)
		return wp_error("woocommerce_rest_cannot_view", "Sorry, you cannot list resources.",
				401);
	if (!x.ck || !*s->ck || strcmp(x.ck, s->ck))
		return wp_error("woocommerce_rest_authentication_error",
				"Consumer key is invalid.", 401);
	if (!x.sig || !x.method || !x.ts || !x.nonce)
		return wp_error("woocommerce_rest_authentication_missing_parameter",
				"Missing OAuth parameter oauth_signature", 401);
	if (strcmp(x.method, "HMAC-SHA256"))
		return wp_error("woocommerce_rest_authentication_error",
				"Invalid signature - signature method is invalid.", 401);
	snprintf(url, sizeof(url), "%s://%s%s", proto && !strcmp(proto, "https") ? "https" : "http",
		 s->host, path);
	if (webhook_oauth_signature(method, url, x.params, s->cs, want, &e) < 0 ||
	    strlen(x.sig) != strlen(want) || sodium_memcmp(x.sig, want, strlen(want)))
		return wp_error("woocommerce_rest_authentication_error",
				"Invalid signature - provided signature does not match.", 401);
	ts = strtoll(x.ts, NULL, 10);
	if (ts < (long long)time(NULL) - WOO_SKEW || ts > (long long)time(NULL) + WOO_SKEW)
		return wp_error("woocommerce_rest_authentication_error",
				"Invalid timestamp.", 401);
	for (int i = 0; i < WOO_NONCES; i++)
		if (!strcmp(s->nonces[i], x.nonce))
			return wp_error("woocommerce_rest_authentication_error",
					"Invalid nonce - nonce has already been used.", 401);
	snprintf(s->nonces[s->nonce_next], sizeof(s->nonces[0]), "%s", x.nonce);
	s->nonce_next = (s->nonce_next + 1) % WOO_NONCES;
	return NULL;
}

static int valid_status(const char *st)
{
	return st && (!strcmp(st, "active") || !strcmp(st, "paused") || !strcmp(st, "disabled"));
}

/* One request to a ready store's /wp-json/ (lock held).  OUT: status; *out the JSON body. */
static int woo_answer(struct MHD_Connection *c, struct woo_store *s, const char *method,
		      const char *url, const char *body, size_t blen, json_t **out, int *total)
{
	static const char base[] = "/wp-json/wc/v3/webhooks";
	struct arena *a = arena_new();
	const char *rest;
	json_t *err;
	int st = 200;

	*out = NULL;
	if (strncmp(url, base, sizeof(base) - 1) ||
	    (url[sizeof(base) - 1] && url[sizeof(base) - 1] != '/')) {
		*out = wp_error("rest_no_route",
				"No route was found matching the URL and request method.", 404);
		arena_free(a);
		return 404;
	}
	if ((err = woo_auth(c, s, method, url, a))) {
		*out = err;
		arena_free(a);
		return 401;
	}
	rest = url + sizeof(base) - 1;
	if (!*rest && !strcmp(method, "GET")) {
		const char *want =
		    MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "status");

		*out = json_array();
		for (int i = 0; i < s->nhooks; i++)
			if (!want || !strcmp(want, "all") || !strcmp(want, s->hooks[i].status))
				json_array_append_new(*out, hook_json(s, &s->hooks[i]));
		*total = (int)json_array_size(*out);
	} else if (*rest == '/' && rest[1] && strspn(rest + 1, "0123456789") == strlen(rest + 1) &&
		   strlen(rest + 1) < 18) {
		struct woo_hook *h = woo_hook(s, strtoll(rest + 1, NULL, 10));

		if (!h) {
			*out = wp_error("woocommerce_rest_webhook_invalid_id", "Invalid ID.", 404);
			st = 404;
		} else if (!strcmp(method, "GET")) {
			*out = hook_json(s, h);
		} else if (!strcmp(method, "PUT") || !strcmp(method, "POST") ||
			   !strcmp(method, "PATCH")) {
			json_error_t je;
			json_t *b = json_loadb(body, blen, 0, &je);
			const json_t *sv = json_object_get(b, "status");

			if (!json_is_object(b)) {
				*out = wp_error("rest_invalid_json",
						"Invalid JSON body passed.", 400);
				st = 400;
			} else if (sv && !valid_status(json_string_value(sv))) {
				*out = json_pack(
				    "{s:s, s:s, s:{s:i, s:{s:s}}}", "code", "rest_invalid_param",
				    "message", "Invalid parameter(s): status", "data", "status", 400,
				    "params", "status",
				    "status is not one of active, paused, and disabled.");
				st = 400;
			} else {
				char ts[32];

				if (sv)
					snprintf(h->status, sizeof(h->status), "%s",
						 json_string_value(sv));
				ks_timestamp(ts);
				snprintf(h->modified, sizeof(h->modified), "%.19s", ts);
				ks_log("woo: %s: webhook %lld (%s) set %s", s->ns, h->id, h->topic,
				       h->status);
				*out = hook_json(s, h);
			}
			json_decref(b);
		} else {
			*out = wp_error("rest_no_route",
					"No route was found matching the URL and request method.",
					404);
			st = 404;
		}
	} else {
		*out = wp_error("rest_no_route",
				"No route was found matching the URL and request method.", 404);
		st = 404;
	}
	arena_free(a);
	return st;
}

static enum MHD_Result send_json(struct MHD_Connection *c, int status, const json_t *o, int total)
{
	char *s = json_dumps(o, JSON_COMPACT);
	struct MHD_Response *r;
	enum MHD_Result ret;
	char n[16];

	if (!s)
		return MHD_NO;
	r = MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(s);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", "application/json; charset=UTF-8");
	if (total >= 0) {
		snprintf(n, sizeof(n), "%d", total);
		MHD_add_response_header(r, "X-WP-Total", n);
		MHD_add_response_header(r, "X-WP-TotalPages", total ? "1" : "0");
	}
	ret = MHD_queue_response(c, (unsigned)status, r);
	MHD_destroy_response(r);
	return ret;
}

int ks_woo_ingress(struct MHD_Connection *c, const char *url, const char *method,
		   const char *upload, size_t *upload_size, void **ctx)
{
	struct woo_conn *wc = *ctx;
	const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
	char h[256], ns[256] = "";
	struct woo_store *s = NULL;
	json_t *out = NULL;
	int rc, st, total = -1, ret;

	if (!wc) {
		if (!(wc = calloc(1, sizeof(*wc))))
			return MHD_NO;
		buf_init(&wc->body, WOO_BODY_MAX);
		*ctx = wc;
		return MHD_YES;
	}
	if (*upload_size) {
		buf_add(&wc->body, upload, *upload_size);
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
		if (rc == 2) /* a suspended store: no REST API behind its paused page */
			rc = 0;
	}
	if (rc > 0)
		s = woo_store(ns);
	if (rc < 0) {
		st = 404;
		out = wp_error("rest_no_route", "no store at this host", 404);
	} else if (!rc) {
		st = 503;
		out = wp_error("service_unavailable", "503 Service Temporarily Unavailable", 503);
	} else if (!s) {
		st = 404;
		out = wp_error("rest_no_route",
			       "No route was found matching the URL and request method.", 404);
	} else if (wc->body.failed) {
		st = 413;
		out = wp_error("rest_too_large", "Request entity too large.", 413);
	} else {
		st = woo_answer(c, s, method, url, wc->body.s, wc->body.len, &out, &total);
	}
	pthread_mutex_unlock(&ks_lock);
	ks_log("ingress %s %s%s -> %d", method, h, url, st);
	ret = send_json(c, st, out, st == 200 ? total : -1);
	json_decref(out);
	buf_release(&wc->body);
	free(wc);
	*ctx = NULL;
	return ret;
}

/* --- /_sim/woo ------------------------------------------------------------------------- */

static size_t sink(char *p, size_t size, size_t n, void *ctx)
{
	struct buf *b = ctx;

	buf_add(b, p, size * n);
	return size * n;
}

/*
 * Sign and POST one delivery as WooCommerce does.  Runs without ks_lock:
 * the receiver may take its time, and nothing here touches the store.
 */
static long deliver(const char *url, const char *host, const char *topic, long long hook_id,
		    const char *secret, const char *body, struct buf *resp, char *cerr, size_t n)
{
	char sig[WEBHOOK_SIG_LEN + 1], line[700], did[65];
	unsigned char rnd[32];
	struct curl_slist *hdrs = NULL;
	const char *dot = strchr(topic, '.');
	CURL *cu = curl_easy_init();
	long code = 0;
	CURLcode cc;

	if (!cu) {
		snprintf(cerr, n, "cannot set up curl");
		return 0;
	}
	webhook_sign(secret, body, strlen(body), sig);
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(did, sizeof(did), rnd, sizeof(rnd));
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	hdrs = curl_slist_append(hdrs, "Expect:");
	snprintf(line, sizeof(line), "X-WC-Webhook-Source: http://%s/", host);
	hdrs = curl_slist_append(hdrs, line);
	snprintf(line, sizeof(line), "X-WC-Webhook-Topic: %s", topic);
	hdrs = curl_slist_append(hdrs, line);
	snprintf(line, sizeof(line), "X-WC-Webhook-Resource: %.*s",
		 dot ? (int)(dot - topic) : (int)strlen(topic), topic);
	hdrs = curl_slist_append(hdrs, line);
	snprintf(line, sizeof(line), "X-WC-Webhook-Event: %s", dot ? dot + 1 : "");
	hdrs = curl_slist_append(hdrs, line);
	snprintf(line, sizeof(line), "X-WC-Webhook-Signature: %s", sig);
	hdrs = curl_slist_append(hdrs, line);
	snprintf(line, sizeof(line), "X-WC-Webhook-ID: %lld", hook_id);
	hdrs = curl_slist_append(hdrs, line);
	snprintf(line, sizeof(line), "X-WC-Webhook-Delivery-ID: %s", did);
	hdrs = curl_slist_append(hdrs, line);
	curl_easy_setopt(cu, CURLOPT_URL, url);
	curl_easy_setopt(cu, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(cu, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(cu, CURLOPT_USERAGENT, "WooCommerce/9.8.5 Hookshot (WordPress/6.8.1)");
	curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(cu, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(cu, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(cu, CURLOPT_TIMEOUT_MS, 15000L);
	curl_easy_setopt(cu, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(cu, CURLOPT_PROTOCOLS_STR, "http,https");
	if ((cc = curl_easy_perform(cu)) != CURLE_OK)
		snprintf(cerr, n, "%s", curl_easy_strerror(cc));
	else
		curl_easy_getinfo(cu, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(cu);
	return code;
}

static void sim_deliver(struct ks_req *q, struct woo_store *s)
{
	json_error_t je;
	json_t *b = json_loadb(q->body, q->body_len, 0, &je), *out;
	const char *topic = jstr(b, "topic");
	const json_t *payload = json_object_get(b, "body");
	struct woo_hook *h = NULL;
	char url[512], host[256], secret[256], cerr[256] = "", tp[64];
	char *body;
	long long id;
	struct buf resp = BUF_INIT;
	long code;

	for (int i = 0; topic && i < s->nhooks; i++)
		if (!strcmp(s->hooks[i].topic, topic))
			h = &s->hooks[i];
	if (!json_is_object(b) || !topic || !payload) {
		ks_status(q, 400, "BadRequest", "want {\"topic\":\"...\",\"body\":{...}}", NULL);
		json_decref(b);
		return;
	}
	if (!h) {
		ks_status(q, 404, "NotFound", "no webhook for this topic", NULL);
		json_decref(b);
		return;
	}
	if (strcmp(h->status, "active")) {
		ks_status(q, 409, "Conflict", "the webhook is not active: WooCommerce does not deliver",
			  NULL);
		json_decref(b);
		return;
	}
	body = json_dumps(payload, JSON_COMPACT);
	snprintf(tp, sizeof(tp), "%s", topic);
	json_decref(b);
	if (!body) {
		ks_status(q, 400, "BadRequest", "body cannot be serialised", NULL);
		return;
	}
	snprintf(url, sizeof(url), "%s", h->url);
	snprintf(host, sizeof(host), "%s", s->host);
	snprintf(secret, sizeof(secret), "%s", s->secret);
	id = h->id;
	buf_init(&resp, 64 * 1024);
	/* s and h may move while unlocked: only the copies above are used */
	pthread_mutex_unlock(&ks_lock);
	code = deliver(url, host, tp, id, secret, body, &resp, cerr, sizeof(cerr));
	pthread_mutex_lock(&ks_lock);
	sodium_memzero(secret, sizeof(secret));
	free(body);
	ks_log("woo: delivered %s to %s -> %ld%s%s", tp, url, code, *cerr ? ": " : "", cerr);
	out = json_pack("{s:i, s:s%, s:s}", "status", (int)code, "response", resp.s, resp.len,
			"error", cerr);
	ks_send_obj(q, 200, out ? out : json_null());
	json_decref(out);
	buf_release(&resp);
}

void ks_woo_sim(struct ks_req *q, const char *rest)
{
	char ns[128];
	size_t n = strcspn(rest, "/");
	const char *what = rest + n;
	struct woo_store *s;

	snprintf(ns, sizeof(ns), "%.*s", (int)(n < sizeof(ns) ? n : sizeof(ns) - 1), rest);
	if (!(s = woo_store(ns))) {
		ks_status(q, 404, "NotFound",
			  "no WooCommerce store in this namespace (setup job not complete?)", NULL);
		return;
	}
	if (!strcmp(what, "/webhooks") && !strcmp(q->method, "GET")) {
		json_t *out = json_array();

		for (int i = 0; i < s->nhooks; i++)
			json_array_append_new(out, hook_json(s, &s->hooks[i]));
		ks_send_obj(q, 200, out);
		json_decref(out);
	} else if (!strncmp(what, "/webhooks/", 10) && !strcmp(q->method, "POST")) {
		struct woo_hook *h = woo_hook(s, strtoll(what + 10, NULL, 10));
		json_error_t je;
		json_t *b = json_loadb(q->body, q->body_len, 0, &je), *out;
		const char *st = jstr(b, "status");

		if (!h) {
			ks_status(q, 404, "NotFound", "no such webhook", NULL);
		} else if (!valid_status(st)) {
			ks_status(q, 400, "BadRequest", "status: active, paused or disabled", NULL);
		} else {
			snprintf(h->status, sizeof(h->status), "%s", st);
			ks_log("woo: %s: webhook %lld (%s) set %s by /_sim", s->ns, h->id, h->topic,
			       st);
			out = hook_json(s, h);
			ks_send_obj(q, 200, out);
			json_decref(out);
		}
		json_decref(b);
	} else if (!strcmp(what, "/deliver") && !strcmp(q->method, "POST")) {
		sim_deliver(q, s);
	} else {
		ks_status(q, 404, "NotFound", "unknown /_sim/woo request", NULL);
	}
}
