/* webhook.c - WooCommerce webhooks: HMAC signatures, the creation ping, summaries, OAuth 1.0a. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "webhook.h"

/* HMAC-SHA256 with a key of any length (libsodium hashes keys longer than a block). */
static void hmac_sha256(const void *key, size_t klen, const void *msg, size_t n,
			unsigned char mac[crypto_auth_hmacsha256_BYTES])
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, key, klen);
	crypto_auth_hmacsha256_update(&st, msg, n);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_memzero(&st, sizeof(st));
}

void webhook_sign(const char *secret, const void *body, size_t n, char out[WEBHOOK_SIG_LEN + 1])
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];

	hmac_sha256(secret, strlen(secret), body, n, mac);
	sodium_bin2base64(out, WEBHOOK_SIG_LEN + 1, mac, sizeof(mac),
			  sodium_base64_VARIANT_ORIGINAL);
}

int webhook_verify(const char *secret, const void *body, size_t n, const char *sig)
{
	unsigned char want[crypto_auth_hmacsha256_BYTES], got[crypto_auth_hmacsha256_BYTES + 1];
	size_t len = 0, slen;
	const char *end;
	int same;

	if (!secret || !*secret || !sig)
		return 0;
	sig += strspn(sig, " \t");
	slen = strlen(sig);
	while (slen && (sig[slen - 1] == ' ' || sig[slen - 1] == '\t'))
		slen--;
	if (slen != WEBHOOK_SIG_LEN)
		return 0;
	if (sodium_base642bin(got, sizeof(got), sig, slen, NULL, &len, &end,
			      sodium_base64_VARIANT_ORIGINAL) < 0 ||
	    len != sizeof(want) || end != sig + slen)
		return 0;
	hmac_sha256(secret, strlen(secret), body, n, want);
	same = sodium_memcmp(got, want, sizeof(want)) == 0;
	sodium_memzero(want, sizeof(want));
	return same;
}

int webhook_is_ping(const char *body, size_t n, long long *id)
{
	static const char pre[] = "webhook_id=";
	size_t k = sizeof(pre) - 1, digits;
	long long v = 0;

	if (!body || n <= k || n > k + 18 || memcmp(body, pre, k))
		return 0;
	digits = n - k;
	for (size_t i = k; i < n; i++) {
		if (body[i] < '0' || body[i] > '9')
			return 0;
		v = v * 10 + (body[i] - '0');
	}
	if (!digits || v <= 0)
		return 0;
	*id = v;
	return 1;
}

/* --- summaries ------------------------------------------------------------------------ */

/* A positive integer member (jansson keeps integers as json_int_t: huge ones failed to parse). */
static int positive_id(const json_t *o, const char *key, long long *out, struct err *e)
{
	const json_t *v = json_object_get(o, key);

	if (!v)
		return err_set(e, 400, "webhook payload: '%s' is missing", key);
	if (!json_is_integer(v) || json_integer_value(v) <= 0)
		return err_set(e, 400, "webhook payload: '%s' must be a positive integer", key);
	*out = (long long)json_integer_value(v);
	return 0;
}

/*
 * The order number to show: WooCommerce sends "number" as a string (the id
 * unless a plugin numbers orders); anything odd falls back to the id.
 */
static const char *order_number(struct arena *a, const json_t *order, long long id)
{
	const char *num = json_string_value(json_object_get(order, "number"));
	size_t n = num ? strlen(num) : 0;

	if (n && n <= 32 &&
	    strspn(num, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_/") == n)
		return arena_strdup(a, num);
	return arena_printf(a, "%lld", id);
}

/* Sum of line_items[].quantity (WooCommerce: integers, >= 0); capped so no sum overflows. */
static int item_count(const json_t *order, long long *count, struct err *e)
{
	const json_t *items = json_object_get(order, "line_items"), *it;
	size_t i;

	*count = 0;
	if (!items || json_is_null(items))
		return 0;
	if (!json_is_array(items))
		return err_set(e, 400, "webhook payload: 'line_items' must be an array");
	json_array_foreach(items, i, it) {
		const json_t *q = json_object_get(it, "quantity");

		if (!json_is_object(it))
			return err_set(e, 400, "webhook payload: line_items[%zu] must be an object",
				       i);
		if (!q)
			continue;
		if (!json_is_integer(q) || json_integer_value(q) < 0 ||
		    json_integer_value(q) > 1000000000)
			return err_set(e, 400,
				       "webhook payload: line_items[%zu].quantity must be an integer "
				       "from 0 to 1000000000",
				       i);
		*count += (long long)json_integer_value(q);
	}
	return 0;
}

/* The name without control characters, at most WEBHOOK_NAME_MAX characters (valid UTF-8 in). */
static const char *clean_name(struct arena *a, const char *s)
{
	struct buf b = BUF_INIT;
	size_t chars = 0;
	const char *out;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p & 0xc0) != 0x80 && chars++ == WEBHOOK_NAME_MAX) {
			buf_adds(&b, "\xe2\x80\xa6"); /* U+2026 */
			break;
		}
		if (*p < 0x20 || *p == 0x7f)
			continue;
		/* C1 controls are U+0080-U+009F: 0xC2 0x80-0x9F */
		if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			p++;
			continue;
		}
		buf_addch(&b, *p);
	}
	out = arena_strndup(a, b.s, b.len);
	buf_release(&b);
	return out;
}

int webhook_summarise(struct arena *a, const char *topic, const char *body, size_t n,
		      struct webhook_event *ev, struct err *e)
{
	const char *event = NULL, *name;
	json_t *j;
	long long id = 0, items = 0;

	memset(ev, 0, sizeof(*ev));
	if (!topic)
		return 0;
	if (!strcmp(topic, "order.created"))
		ev->kind = WEBHOOK_ORDER_CREATED;
	else if (!strcmp(topic, "product.created"))
		event = "created";
	else if (!strcmp(topic, "product.updated"))
		event = "updated";
	else
		return 0;
	if (event)
		ev->kind = WEBHOOK_PRODUCT;

	if (!(j = http_parse_json(a, body, n, e))) {
		char msg[sizeof(e->msg)];

		/* always 400: the body is wrong whatever part of it is */
		memcpy(msg, e->msg, sizeof(msg));
		ev->kind = WEBHOOK_IGNORED;
		return err_reset(e, 400, "webhook payload: %s", msg);
	}
	if (positive_id(j, "id", &id, e) < 0)
		goto bad;
	if (ev->kind == WEBHOOK_ORDER_CREATED) {
		if (item_count(j, &items, e) < 0)
			goto bad;
		ev->summary = arena_printf(a, "order #%s created, %lld item%s",
					   order_number(a, j, id), items, items == 1 ? "" : "s");
	} else {
		const json_t *nm = json_object_get(j, "name");

		if (nm && !json_is_string(nm) && !json_is_null(nm)) {
			err_set(e, 400, "webhook payload: 'name' must be a string");
			goto bad;
		}
		name = clean_name(a, json_string_value(nm) ? json_string_value(nm) : "");
		ev->summary = arena_printf(a, "product #%lld \"%s\" %s", id, name, event);
	}
	ev->resource_id = id;
	return 0;
bad:
	ev->kind = WEBHOOK_IGNORED;
	return -1;
}

/* --- OAuth 1.0a, as WooCommerce checks it ---------------------------------------------- */

static int kv_cmp(const void *x, const void *y)
{
	const struct kv *const *p = x, *const *q = y;

	return strcmp((*p)->key, (*q)->key);
}

int webhook_oauth_signature(const char *method, const char *base_url, const struct kv *params,
			    const char *consumer_secret, char out[WEBHOOK_SIG_LEN + 1],
			    struct err *e)
{
	const struct kv *sorted[HTTP_MAX_FIELDS + 4];
	struct buf msg = BUF_INIT, key = BUF_INIT, joined = BUF_INIT;
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	size_t n = 0;

	for (const struct kv *p = params; p; p = p->next) {
		if (n == sizeof(sorted) / sizeof(sorted[0]))
			return err_set(e, 400, "oauth: too many parameters");
		sorted[n++] = p;
	}
	qsort(sorted, n, sizeof(sorted[0]), kv_cmp);
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_adds(&joined, "%26");
		buf_add_urlenc(&joined, sorted[i]->key, strlen(sorted[i]->key));
		buf_adds(&joined, "%3D");
		buf_add_urlenc(&joined, sorted[i]->val, sorted[i]->vlen);
	}
	buf_adds(&msg, method);
	buf_addch(&msg, '&');
	buf_add_urlenc(&msg, base_url, strlen(base_url));
	buf_addch(&msg, '&');
	buf_add(&msg, joined.s, joined.len);
	buf_adds(&key, consumer_secret);
	buf_addch(&key, '&');
	if (msg.failed || key.failed || joined.failed) {
		buf_release(&msg);
		buf_release(&key);
		buf_release(&joined);
		return err_set(e, 500, "oauth: out of memory");
	}
	hmac_sha256(key.s, key.len, msg.s, msg.len, mac);
	sodium_bin2base64(out, WEBHOOK_SIG_LEN + 1, mac, sizeof(mac),
			  sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(key.s, key.len);
	buf_release(&msg);
	buf_release(&key);
	buf_release(&joined);
	return 0;
}

int webhook_oauth_query(struct arena *a, struct buf *out, const char *method, const char *base_url,
			const char *extra, const char *consumer_key, const char *consumer_secret,
			long long now, const char *nonce, struct err *e)
{
	struct kv *params = NULL, *p;
	char ts[24], sig[WEBHOOK_SIG_LEN + 1];
	const char *names[] = {"oauth_consumer_key", "oauth_nonce", "oauth_signature_method",
			       "oauth_timestamp"};
	const char *vals[] = {consumer_key, nonce, "HMAC-SHA256", ts};

	snprintf(ts, sizeof(ts), "%lld", now);
	if (extra && *extra && http_parse_query(a, extra, &params, e) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		p = arena_new_of(a, struct kv);
		p->key = names[i];
		p->val = arena_strdup(a, vals[i]);
		p->vlen = strlen(vals[i]);
		p->next = params;
		params = p;
	}
	if (webhook_oauth_signature(method, base_url, params, consumer_secret, sig, e) < 0)
		return -1;
	if (extra && *extra) {
		buf_adds(out, extra);
		buf_addch(out, '&');
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		buf_addf(out, "%s=", names[i]);
		buf_add_urlenc(out, vals[i], strlen(vals[i]));
		buf_addch(out, '&');
	}
	buf_adds(out, "oauth_signature=");
	buf_add_urlenc(out, sig, strlen(sig));
	return out->failed ? err_set(e, 500, "oauth: out of memory") : 0;
}
