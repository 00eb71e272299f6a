/* hook_woocommerce.c - POST /hooks/woocommerce/{store_id}: WooCommerce webhook deliveries. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "audit.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "pages.h"
#include "seal.h"
#include "store.h"
#include "webhook.h"

/*
 * A machine endpoint: no session, no CSRF; a delivery is authentic when its
 * X-WC-Webhook-Signature is the HMAC of the raw body under the store's
 * webhook secret (sealed in stores.webhook_secret by reconcile).  The body
 * is read raw (R_RAWBODY) because the signature covers its exact bytes;
 * the route's 64 KiB limit answers 413 from Content-Length before reading.
 *
 * Answers: 404 for an unknown, deleted or non-WooCommerce store; 200 for
 * the creation ping (unsigned: WooCommerce sends none) and for every
 * authentic delivery, recorded or not - WooCommerce disables a webhook
 * after 5 failed deliveries, so a valid but uninteresting topic or a
 * replay must not look like a failure; 401 (audited) for a missing or
 * wrong signature, and for any signature on a store whose secret is not
 * recorded or cannot be opened (it cannot verify, so it refuses); 400 for an authentic delivery whose payload is
 * malformed (nothing recorded).
 */

#define DELIVERY_ID_MAX 128
#define PINGS_MAX	50 /* unsigned pings recorded per store: anyone can send one */

/* clang-format off */
static struct db_stmt st_store = DB_STMT(
	"SELECT engine, status, webhook_secret FROM stores WHERE id = $1", 1);
/* clang-format on */

/*
 * One statement: the delivery row (a replay - same store and body - or a
 * second delivery of one order conflicts and inserts nothing), and only if
 * it went in, the activity-log line and the store's counters.  Concurrent
 * duplicates wait on the unique index and then insert nothing.
 */
/* clang-format off */
static struct db_stmt st_record = DB_STMT(
	"WITH d AS ("
	"  INSERT INTO webhook_deliveries "
	"    (store_id, body_sha256, delivery_id, webhook_id, topic, resource_id) "
	"  SELECT $1, decode($2, 'hex'), $3, $4::bigint, $5, $6::bigint "
	"  WHERE $5 <> 'ping' OR (SELECT count(*) FROM webhook_deliveries "
	"                         WHERE store_id = $1 AND topic = 'ping') < $9::int "
	"  ON CONFLICT DO NOTHING RETURNING store_id), "
	"ev AS (INSERT INTO store_events (store_id, step, level, message) "
	"  SELECT store_id, 'webhook', 'info', $7 FROM d), "
	"up AS (UPDATE stores SET last_webhook_at = now(), orders_seen = orders_seen + $8::int "
	"  WHERE id IN (SELECT store_id FROM d)) "
	"SELECT count(*) FROM d",
	9);
/* clang-format on */

/* A header value kept for diagnostics: printable ASCII, bounded, else "". */
static const char *header_token(struct req *r, const char *name, size_t max)
{
	const char *v = req_header(r, name);
	size_t n = v ? strlen(v) : 0;

	if (!n || n > max)
		return "";
	for (size_t i = 0; i < n; i++)
		if (v[i] <= ' ' || v[i] > '~')
			return "";
	return v;
}

/* X-WC-Webhook-ID as a decimal string, or NULL. */
static const char *header_webhook_id(struct req *r)
{
	const char *v = header_token(r, "X-WC-Webhook-ID", 18);

	return *v && strspn(v, "0123456789") == strlen(v) ? v : NULL;
}

/* Record one delivery; *recorded = 1 when it was new.  0 or -1 with e. */
static int record(struct req *r, const char *store_id, const char *topic, const char *webhook_id,
		  long long resource_id, const char *message, int orders, int *recorded,
		  struct err *e)
{
	unsigned char sha[crypto_hash_sha256_BYTES];
	char hex[sizeof(sha) * 2 + 1], rid[24], inc[4], pings[8];
	const char *p[9];
	PGresult *res;

	crypto_hash_sha256(sha, (const unsigned char *)r->body, r->body_len);
	sodium_bin2hex(hex, sizeof(hex), sha, sizeof(sha));
	snprintf(rid, sizeof(rid), "%lld", resource_id);
	snprintf(inc, sizeof(inc), "%d", orders);
	snprintf(pings, sizeof(pings), "%d", PINGS_MAX);
	p[0] = store_id;
	p[1] = hex;
	p[2] = header_token(r, "X-WC-Webhook-Delivery-ID", DELIVERY_ID_MAX);
	p[3] = webhook_id;
	p[4] = topic;
	p[5] = resource_id > 0 ? rid : NULL;
	p[6] = message;
	p[7] = inc;
	p[8] = pings;
	if (!(res = db_run(r->a, &st_record, p, e)))
		return -1;
	*recorded = db_get_ll(res, 0, 0) > 0;
	return 0;
}

static int answer(struct req *r, int recorded, const char *what)
{
	struct view *v = view_obj(r->a);

	view_set_bool(v, "ok", 1);
	view_set_bool(v, "recorded", recorded);
	view_set_str_ref(v, "result", what);
	return resp_json(r, 200, v);
}

/*
 * Refused deliveries cost anyone nothing to send, so their log lines are
 * rationed: at most LOG_BURST a minute per worker, then one line saying
 * how many went unlogged (the audit log keeps every one).
 */
#define LOG_BURST 10

static int log_allowed(void)
{
	static time_t window;
	static int used, dropped;
	time_t now = time(NULL);

	if (now - window >= 60) {
		if (dropped)
			log_warn("hook: %d more refused webhook deliveries in the last minute "
				 "(not logged one by one; see the audit log)",
				 dropped);
		window = now;
		used = dropped = 0;
	}
	if (used < LOG_BURST) {
		used++;
		return 1;
	}
	dropped++;
	return 0;
}

/* 401, with an audit row that names the store and the address, never the body or a secret. */
static int bad_signature(struct req *r, const char *store_id, const char *why)
{
	struct view *d = view_obj(r->a);
	struct err e = ERR_INIT;

	view_set_str_ref(d, "reason", why);
	view_set_str_ref(d, "topic", header_token(r, "X-WC-Webhook-Topic", WEBHOOK_TOPIC_MAX));
	if (audit_record(r->a, 0, NULL, r->remote_addr, "webhook.bad_signature", store_id, d, &e) <
	    0)
		log_error("hook: store %s: cannot audit a bad signature: %s", store_id, e.msg);
	if (log_allowed())
		log_info("hook: store %s: webhook refused from %s: %s", store_id, r->remote_addr,
			 why);
	return req_fail(r, 401, "bad_signature", "the webhook signature is %s", why);
}

static int ping(struct req *r, const char *store_id, long long wid)
{
	struct err e = ERR_INIT;
	char n[24];
	int recorded = 0;

	snprintf(n, sizeof(n), "%lld", wid);
	if (record(r, store_id, "ping", n, 0, arena_printf(r->a, "webhook %lld connected", wid), 0,
		   &recorded, &e) < 0)
		return req_fail(r, e.status ? e.status : 503, NULL, "%s", e.msg);
	return answer(r, recorded, "ping");
}

int hook_woocommerce(struct req *r)
{
	const char *id = r->params[0], *sig = req_header(r, "X-WC-Webhook-Signature"), *topic;
	const char *engine, *sealed;
	struct buf secret = BUF_INIT;
	struct webhook_event ev;
	struct err e = ERR_INIT;
	long long wid = 0;
	PGresult *res;
	int valid, recorded = 0, status;

	if (!store_id_valid(id))
		return req_fail(r, 404, NULL, STORE_NOT_FOUND);
	if (!(res = db_run(r->a, &st_store, &id, &e)))
		return req_fail(r, e.status ? e.status : 503, "unavailable", "%s", e.msg);
	if (db_rows(res) != 1)
		return req_fail(r, 404, NULL, STORE_NOT_FOUND);
	engine = db_get(res, 0, 0);
	status = store_status_parse(db_get(res, 0, 1));
	sealed = db_get(res, 0, 2);
	if (strcmp(engine, "woocommerce") || status == STORE_DELETING || status == STORE_DELETED)
		return req_fail(r, 404, NULL, STORE_NOT_FOUND);

	if (!sig) {
		if (webhook_is_ping(r->body, r->body_len, &wid))
			return ping(r, id, wid);
		return bad_signature(r, id, "missing");
	}
	/*
	 * A store that cannot verify a signature answers as for a wrong one:
	 * 401, audited.  A 503 here would let anyone produce 5xx answers at
	 * will, and would tell which stores have webhooks registered.
	 */
	if (!sealed)
		return bad_signature(r, id, "wrong");
	if (!*config.secret_key || seal_open(config.secret_key, sealed, &secret, &e) < 0) {
		if (log_allowed())
			log_error("hook: store %s: cannot open the webhook secret: %s", id,
				  *config.secret_key ? e.msg : "secret_key is not set");
		return bad_signature(r, id, "wrong");
	}
	valid = webhook_verify(secret.s, r->body, r->body_len, sig);
	sodium_memzero(secret.s, secret.len);
	buf_release(&secret);
	if (!valid)
		return bad_signature(r, id, "wrong");

	/* some WooCommerce versions sign the ping too */
	if (webhook_is_ping(r->body, r->body_len, &wid))
		return ping(r, id, wid);
	topic = header_token(r, "X-WC-Webhook-Topic", WEBHOOK_TOPIC_MAX);
	if (!*topic)
		return req_fail(r, 400, NULL, "X-WC-Webhook-Topic is missing or malformed");
	if (webhook_summarise(r->a, topic, r->body, r->body_len, &ev, &e) < 0) {
		log_info("hook: store %s: %s delivery refused: %s", id, topic, e.msg);
		return req_fail(r, 400, NULL, "%s", e.msg);
	}
	if (ev.kind == WEBHOOK_IGNORED) {
		log_debug("hook: store %s: topic '%s' ignored", id, topic);
		return answer(r, 0, "ignored");
	}
	if (record(r, id, topic, header_webhook_id(r), ev.resource_id, ev.summary,
		   ev.kind == WEBHOOK_ORDER_CREATED, &recorded, &e) < 0)
		return req_fail(r, e.status ? e.status : 503, NULL, "%s", e.msg);
	if (!recorded)
		log_info("hook: store %s: %s delivery already recorded", id, topic);
	return answer(r, recorded, recorded ? "recorded" : "duplicate");
}
