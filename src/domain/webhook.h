/* webhook.h - WooCommerce webhooks: signatures, the creation ping, payload summaries, OAuth 1.0a. */
#ifndef SF_WEBHOOK_H
#define SF_WEBHOOK_H

#include <stddef.h>

#include "arena.h"
#include "buf.h"
#include "err.h"
#include "http.h"

/*
 * WooCommerce POSTs each delivery with X-WC-Webhook-Topic ("order.created"),
 * -Resource, -Event, -ID, -Delivery-ID, -Source and -Signature: the base64
 * (standard alphabet, padded) of HMAC-SHA256 over the raw body bytes, keyed
 * with the webhook's secret.  When a webhook is created it first POSTs a
 * "ping" whose form body is webhook_id=<N> and which carries no signature;
 * WooCommerce refuses to save the webhook unless the ping gets a 200.
 *
 * Everything here is pure (no database, no I/O) and takes outside input:
 * bodies are parsed with http_parse_json (depth, UTF-8 and size checked
 * before jansson recurses) and every value read is type-checked.
 */

#define WEBHOOK_SIG_LEN	  44  /* base64 of 32 bytes, padded */
#define WEBHOOK_TOPIC_MAX 64  /* longer X-WC-Webhook-Topic values are refused */
#define WEBHOOK_NAME_MAX  80  /* characters of a product name kept in a summary */

/* Kinds of delivery the platform records. */
enum webhook_kind {
	WEBHOOK_IGNORED,       /* a topic storefleet does not record (answered 200) */
	WEBHOOK_ORDER_CREATED, /* counts in orders_seen */
	WEBHOOK_PRODUCT,       /* product.created / product.updated */
};

/*
 * OUT: out = base64(HMAC-SHA256(secret, body[0..n))), NUL-terminated.
 * secret is the webhook secret as WooCommerce stores it (its bytes are the key).
 */
void webhook_sign(const char *secret, const void *body, size_t n, char out[WEBHOOK_SIG_LEN + 1]);

/*
 * 1 when sig (the X-WC-Webhook-Signature value, surrounding spaces ignored)
 * is the signature of body under secret, else 0 (NULL or malformed sig,
 * NULL or empty secret).  The comparison is constant-time (sodium_memcmp)
 * over the decoded MAC, so timing tells an attacker nothing about how much
 * of a forged signature was right.
 */
int webhook_verify(const char *secret, const void *body, size_t n, const char *sig);

/*
 * 1 when body[0..n) is WooCommerce's creation ping, "webhook_id=<N>" with N
 * a positive decimal of at most 18 digits (OUT: *id), else 0.
 */
int webhook_is_ping(const char *body, size_t n, long long *id);

/* What a recorded delivery says. */
struct webhook_event {
	enum webhook_kind kind;
	long long resource_id; /* the order's or product's id; 0 when ignored */
	const char *summary;   /* arena string for the activity log; NULL when ignored */
};

/*
 * Summarise a delivery of topic (the X-WC-Webhook-Topic header) for the
 * store's activity log:
 *   order.created    -> order #123 created, 2 items   (items = sum of quantities;
 *                       #number when WooCommerce sent a plain order number)
 *   product.created  -> product #45 "Name" created
 *   product.updated  -> product #45 "Name" updated
 * Other topics are WEBHOOK_IGNORED without looking at the body (0).  A
 * body that is not a JSON object within the limits, or whose id, number,
 * line_items, quantity or name has the wrong type or range, is -1 with e =
 * 400 and a message naming what was wrong.  Names lose control
 * characters and are cut to WEBHOOK_NAME_MAX characters.
 */
int webhook_summarise(struct arena *a, const char *topic, const char *body, size_t n,
		      struct webhook_event *ev, struct err *e);

/*
 * OAuth 1.0a one-legged signature as WooCommerce's REST API checks it
 * (WC_REST_Authentication::check_oauth_signature): the string to sign is
 * METHOD & urlenc(base_url) & the sorted params, each key and value
 * percent-encoded once (RFC 3986) and joined with %3D and %26 - WooCommerce
 * does not encode the joined list a second time as RFC 5849 would.  The
 * key is consumer_secret + "&"; HMAC-SHA256.  params must not hold
 * oauth_signature.  OUT: out = base64 signature.  -1 with e when a
 * parameter list is too long (more than HTTP_MAX_FIELDS).
 */
int webhook_oauth_signature(const char *method, const char *base_url, const struct kv *params,
			    const char *consumer_secret, char out[WEBHOOK_SIG_LEN + 1],
			    struct err *e);

/*
 * The query string of a signed request: extra (already "k=v&k2=v2" with
 * unreserved-only values, may be "" or NULL) plus oauth_consumer_key,
 * oauth_nonce, oauth_signature_method=HMAC-SHA256, oauth_timestamp and
 * oauth_signature, appended to out.  now = unix seconds (WooCommerce
 * refuses timestamps more than 15 minutes off); nonce = unique per request
 * (WooCommerce remembers nonces for 15 minutes).  0 or -1 with e.
 */
int webhook_oauth_query(struct arena *a, struct buf *out, const char *method, const char *base_url,
			const char *extra, const char *consumer_key, const char *consumer_secret,
			long long now, const char *nonce, struct err *e);

#endif
