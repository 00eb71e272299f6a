/* reconcile_webhooks.c - WooCommerce webhook secrets kept sealed; webhooks WooCommerce disabled
 * re-enabled. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "buf.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "reconcile_webhooks.h"
#include "lifecycle.h"
#include "seal.h"
#include "storehttp.h"
#include "webhook.h"

/*
 * Authentication against the store: WooCommerce REST API keys with OAuth
 * 1.0a one-legged signatures (HMAC-SHA256).  WooCommerce accepts those over
 * plain HTTP and HTTPS alike, so the same code works in the local overlay
 * (http://store-<id>.<domain>) and behind TLS in prod; HTTP Basic with the
 * key needs HTTPS, and a WordPress application password needs HTTPS unless
 * WP_ENVIRONMENT_TYPE=local.  The URL signed is the store's public URL
 * (what WooCommerce rebuilds from its home URL), while the request goes to
 * config.ingress_address with the store's Host header.
 */

#define CHECKS_PER_PASS 8 /* stores checked per pass: each costs 1-4 requests */
#define ERROR_MAX	300

/* clang-format off */
static struct db_stmt st_keep = DB_STMT(
	"UPDATE stores SET webhook_secret = $2, woo_api_key = $3 "
	"WHERE id = $1 AND (webhook_secret IS NULL OR woo_api_key IS NULL)", 3);
/* clang-format on */

int reconcile_webhooks_keep(struct arena *a, const char *id, const char *engine,
			    const json_t *creds, struct err *e)
{
	const char *secret = json_string_value(json_object_get(creds, "webhook_secret"));
	const char *ck = json_string_value(json_object_get(creds, "api_consumer_key"));
	const char *cs = json_string_value(json_object_get(creds, "api_consumer_secret"));
	struct buf s1 = BUF_INIT, s2 = BUF_INIT, key = BUF_INIT;
	const char *p[3];
	int rc = -1;

	if (strcmp(engine, "woocommerce") || !secret || !ck || !cs || !*config.secret_key)
		return 0;
	buf_addf(&key, "%s %s", ck, cs);
	if (seal_box(config.secret_key, secret, &s1, e) < 0 ||
	    seal_box(config.secret_key, key.s, &s2, e) < 0)
		goto out;
	p[0] = id;
	p[1] = s1.s;
	p[2] = s2.s;
	rc = db_run(a, &st_keep, p, e) ? 0 : -1;
out:
	sodium_memzero(key.s, key.len);
	buf_release(&key);
	buf_release(&s1);
	buf_release(&s2);
	return rc;
}

/* ---- the check ------------------------------------------------------------------ */

/* clang-format off */
static struct db_stmt st_due = DB_STMT(
	"UPDATE stores s SET webhooks_checked_at = now() "
	"FROM (SELECT id FROM stores "
	"      WHERE engine = 'woocommerce' AND status = 'ready' AND woo_api_key IS NOT NULL "
	"        AND (webhooks_checked_at IS NULL "
	"             OR webhooks_checked_at < now() - $1::int * interval '1 second') "
	"      ORDER BY webhooks_checked_at NULLS FIRST, id LIMIT $2::int "
	"      FOR UPDATE SKIP LOCKED) due, clusters cl "
	"WHERE s.id = due.id AND cl.name = s.cluster "
	"RETURNING s.id, s.woo_api_key, s.webhooks_error, cl.name, cl.store_domain, "
	"  cl.ingress_address", 2);
static struct db_stmt st_event = DB_STMT(
	"INSERT INTO store_events (store_id, step, level, message) VALUES ($1, 'webhook', $2, $3)",
	3);
static struct db_stmt st_error = DB_STMT(
	"UPDATE stores SET webhooks_error = $2 WHERE id = $1", 2);
/* clang-format on */

struct check {
	struct arena *a;
	struct storehttp *http;
	const char *id, *ck, *cs;
	char host[300];
	char error[ERROR_MAX]; /* "" = fine */
};

/*
 * One signed request to the store's REST API path (no leading '/': it
 * follows the store URL).  OUT: *answer parsed JSON (c->a's) when the
 * status is 200.  0, or -1 with c->error.
 */
static int woo_request(struct check *c, const char *method, const char *path, const char *query,
		       const char *body, json_t **answer)
{
	struct buf q = BUF_INIT;
	struct err e = ERR_INIT;
	unsigned char rnd[16];
	char nonce[33];
	const char *base = arena_printf(c->a, "%s%s", store_url(c->a, c->id), path);
	struct storehttp_req rq = {.method = method, .host = c->host, .body = body, .read_json = 1};
	struct storehttp_answer ans;
	json_error_t je;
	int rc = -1;

	*answer = NULL;
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(nonce, sizeof(nonce), rnd, sizeof(rnd));
	if (webhook_oauth_query(c->a, &q, method, base, query, c->ck, c->cs, (long long)time(NULL),
				nonce, &e) < 0) {
		snprintf(c->error, sizeof(c->error), "%s", e.msg);
		goto out;
	}
	rq.target = arena_printf(c->a, "/%s?%s", path, q.s);
	if (storehttp_request(c->http, c->a, &rq, &ans, &e) < 0) {
		snprintf(c->error, sizeof(c->error), "%s /%s: %s", method, path, e.msg);
		goto out;
	}
	if (ans.status == 401 || ans.status == 403) {
		snprintf(c->error, sizeof(c->error),
			 "%s /%s: the store's REST API refused storefleet's key (HTTP %ld)", method,
			 path, ans.status);
		goto out;
	}
	if (ans.status != 200) {
		snprintf(c->error, sizeof(c->error), "%s /%s: HTTP %ld", method, path, ans.status);
		goto out;
	}
	if (!(*answer =
		  arena_json(c->a, json_loadb(ans.body, ans.len, JSON_REJECT_DUPLICATES, &je)))) {
		snprintf(c->error, sizeof(c->error), "%s /%s: the answer is not JSON: %s", method,
			 path, je.text);
		goto out;
	}
	rc = 0;
out:
	buf_release(&q);
	return rc;
}

static void event(struct check *c, const char *level, const char *msg)
{
	const char *p[3] = {c->id, level, msg};
	struct err e = ERR_INIT;

	if (!db_run(c->a, &st_event, p, &e))
		log_error("reconcile: store %s: cannot record a webhook event: %s", c->id, e.msg);
}

/* A topic as WooCommerce names them (for the event text only). */
static const char *topic_of(const json_t *h)
{
	const char *t = json_string_value(json_object_get(h, "topic"));

	if (!t || !*t || strlen(t) > WEBHOOK_TOPIC_MAX ||
	    strspn(t, "abcdefghijklmnopqrstuvwxyz0123456789._-") != strlen(t))
		return "?";
	return t;
}

/* List the disabled webhooks, re-enable storefleet's.  0, or -1 with c->error. */
static int check_store(struct check *c)
{
	json_t *list = NULL, *h, *got;
	size_t i;

	if (woo_request(c, "GET", "wp-json/wc/v3/webhooks", "per_page=100&status=disabled", NULL,
			&list) < 0)
		return -1;
	if (!json_is_array(list)) {
		snprintf(c->error, sizeof(c->error),
			 "GET /wp-json/wc/v3/webhooks: the answer is not a list");
		return -1;
	}
	json_array_foreach(list, i, h) {
		const char *name = json_string_value(json_object_get(h, "name"));
		const char *status = json_string_value(json_object_get(h, "status"));
		const json_t *id = json_object_get(h, "id");
		const char *path;

		if (!name || strncmp(name, "storefleet-", 11) || !status ||
		    strcmp(status, "disabled") || !json_is_integer(id) ||
		    json_integer_value(id) <= 0)
			continue;
		path = arena_printf(c->a, "wp-json/wc/v3/webhooks/%lld",
				    (long long)json_integer_value(id));
		if (woo_request(c, "PUT", path, NULL, "{\"status\":\"active\"}", &got) < 0)
			return -1;
		log_info("reconcile: store %s: webhook %s re-enabled", c->id, topic_of(h));
		event(c, "info",
		      arena_printf(c->a, "webhook %s re-enabled (WooCommerce had disabled it)",
				   topic_of(h)));
	}
	return 0;
}

int reconcile_webhooks_check(struct arena *a, struct storehttp *http, int *checked, struct err *e)
{
	char interval[16], limit[16];
	const char *p[2] = {interval, limit};
	struct check c = {a, http, NULL, NULL, NULL, "", ""};
	PGresult *res;
	int n;

	*checked = 0;
	if (!*config.ingress_address || !*config.secret_key)
		return 0;
	snprintf(interval, sizeof(interval), "%d", config.webhook_check_interval);
	snprintf(limit, sizeof(limit), "%d", CHECKS_PER_PASS);
	if (!(res = db_run(a, &st_due, p, e)))
		return -1;
	n = db_rows(res);
	if (!n)
		return 0;
	for (int i = 0; i < n; i++) {
		const char *before = db_get(res, i, 2);
		struct buf key = BUF_INIT;
		char *space;
		struct err se = ERR_INIT;
		const char *domain = db_get(res, i, 4), *ingress = db_get(res, i, 5);

		c.id = db_get(res, i, 0);
		c.error[0] = 0;
		/* through the store's cluster's ingress, with its store domain (sql/019) */
		if (!*ingress && !strcmp(db_get(res, i, 3), "default"))
			ingress = config.ingress_address;
		if (!*ingress)
			continue; /* a cluster with no ingress address: nothing to reach it by */
		snprintf(c.host, sizeof(c.host), "store-%s.%s", c.id,
			 *domain ? domain : config.domain);
		storehttp_set_ingress(http, ingress);
		if (seal_open(config.secret_key, db_get(res, i, 1), &key, &se) < 0 ||
		    !(space = strchr(key.s, ' '))) {
			snprintf(c.error, sizeof(c.error),
				 "the store's REST API key does not open");
		} else {
			*space = 0;
			c.ck = key.s;
			c.cs = space + 1;
			check_store(&c);
		}
		sodium_memzero(key.s, key.len);
		buf_release(&key);
		(*checked)++;
		if (strcmp(c.error, before ? before : "")) {
			const char *q[2] = {c.id, c.error};
			struct err ue = ERR_INIT;

			if (*c.error) {
				log_warn("reconcile: store %s: webhook check: %s", c.id, c.error);
				event(&c, "warn",
				      arena_printf(a, "cannot check the store's webhooks: %s",
						   c.error));
			}
			if (!db_run(a, &st_error, q, &ue))
				log_error("reconcile: store %s: %s", c.id, ue.msg);
		} else if (*c.error) {
			log_debug("reconcile: store %s: webhook check: %s (reported already)", c.id,
				  c.error);
		}
	}
	storehttp_set_ingress(http, NULL);
	return 0;
}

/* ---- pruning -------------------------------------------------------------------- */

#define PRUNE_BATCH 5000
#define PRUNE_EVERY 3600 /* seconds between looks, per process */

/* clang-format off */
static struct db_stmt st_prune = DB_STMT(
	"DELETE FROM webhook_deliveries WHERE ctid = ANY (ARRAY("
	"  SELECT ctid FROM webhook_deliveries"
	"  WHERE received_at < now() - $1::int * interval '1 day' AND topic <> 'order.created'"
	"  LIMIT $2::int))", 2);
/* clang-format on */

int reconcile_webhooks_prune(struct arena *a, int *deleted, struct err *e)
{
	char days[16], batch[16];
	const char *p[2] = {days, batch};
	PGresult *res;

	static time_t last;
	time_t now = time(NULL);

	*deleted = 0;
	/* passes come every few seconds; a 30-day horizon needs a look an hour */
	if (last && now - last < PRUNE_EVERY)
		return 0;
	snprintf(days, sizeof(days), "%d", WEBHOOK_KEEP_DAYS);
	snprintf(batch, sizeof(batch), "%d", PRUNE_BATCH);
	if (!(res = db_run(a, &st_prune, p, e)))
		return -1;
	*deleted = atoi(PQcmdTuples(res));
	/* a full batch: more are due, so look again next pass */
	last = *deleted == PRUNE_BATCH ? 0 : now;
	return 0;
}
