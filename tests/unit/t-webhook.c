/* t-webhook.c - WooCommerce webhook signatures, the ping, summaries and OAuth against known vectors. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "tap.h"
#include "webhook.h"

/*
 * The expected values were computed outside this code:
 *   printf '%s' BODY | openssl dgst -sha256 -hmac s3cret -binary | base64
 * RFC 4231 test case 2 (key "Jefe"), and for OAuth a few lines of Python
 * doing what WC_REST_Authentication::check_oauth_signature does
 * (hmac.new(cs + "&", METHOD & quote(url) & "%26".join(k%3Dv)).
 */
static const char order_body[] = "{\"id\":123,\"line_items\":[{\"quantity\":1},{\"quantity\":1}]}";
#define ORDER_SIG "GuDddZB/peUjoFl25MgU/LAVMju73wwBRq+ARu9+9JE="

static void signatures(void)
{
	char sig[WEBHOOK_SIG_LEN + 1], bad[WEBHOOK_SIG_LEN + 1], body[sizeof(order_body)];
	static const char jefe[] = "what do ya want for nothing?";

	webhook_sign("s3cret", order_body, strlen(order_body), sig);
	is_str(sig, ORDER_SIG, "sign: the openssl vector");
	webhook_sign("Jefe", jefe, strlen(jefe), sig);
	is_str(sig, "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=", "sign: RFC 4231 case 2");

	ok(webhook_verify("s3cret", order_body, strlen(order_body), ORDER_SIG), "verify: good");
	ok(webhook_verify("s3cret", order_body, strlen(order_body), " " ORDER_SIG "\t"),
	   "verify: surrounding blanks ignored");
	ok(!webhook_verify("s3cret!", order_body, strlen(order_body), ORDER_SIG),
	   "verify: another secret fails");
	ok(!webhook_verify("", order_body, strlen(order_body), ORDER_SIG),
	   "verify: empty secret fails");
	ok(!webhook_verify(NULL, order_body, strlen(order_body), ORDER_SIG),
	   "verify: no secret fails");
	ok(!webhook_verify("s3cret", order_body, strlen(order_body), NULL),
	   "verify: no signature fails");
	ok(!webhook_verify("s3cret", order_body, strlen(order_body), ""),
	   "verify: empty signature fails");
	memcpy(body, order_body, sizeof(body));
	body[7] = '4'; /* id 124 */
	ok(!webhook_verify("s3cret", body, strlen(body), ORDER_SIG), "verify: tampered body fails");
	ok(!webhook_verify("s3cret", order_body, strlen(order_body) - 1, ORDER_SIG),
	   "verify: truncated body fails");
	for (int i = 0; i < WEBHOOK_SIG_LEN - 1; i += 7) {
		memcpy(bad, ORDER_SIG, sizeof(bad));
		bad[i] = bad[i] == 'A' ? 'B' : 'A';
		ok(!webhook_verify("s3cret", order_body, strlen(order_body), bad),
		   "verify: signature with byte %d changed fails", i);
	}
	ok(!webhook_verify("s3cret", order_body, strlen(order_body),
			   "GuDddZB/peUjoFl25MgU/LAVMju73wwBRq+ARu9+9JE"),
	   "verify: unpadded signature fails");
	ok(!webhook_verify("s3cret", order_body, strlen(order_body),
			   "GuDddZB_peUjoFl25MgU_LAVMju73wwBRq-ARu9-9JE="),
	   "verify: URL-safe alphabet fails (WooCommerce uses the standard one)");
	ok(!webhook_verify("s3cret", order_body, strlen(order_body), ORDER_SIG ORDER_SIG),
	   "verify: a signature twice fails");
	webhook_sign("s3cret", "", 0, sig);
	ok(webhook_verify("s3cret", "", 0, sig), "verify: an empty body signs and verifies");
}

static void pings(void)
{
	long long id = 0;

	ok(webhook_is_ping("webhook_id=7", 12, &id) && id == 7, "ping: webhook_id=7");
	ok(webhook_is_ping("webhook_id=123456789012345678", 29, &id) && id == 123456789012345678LL,
	   "ping: 18 digits");
	ok(!webhook_is_ping("webhook_id=1234567890123456789", 30, &id), "ping: 19 digits refused");
	ok(!webhook_is_ping("webhook_id=", 11, &id), "ping: no id");
	ok(!webhook_is_ping("webhook_id=0", 12, &id), "ping: zero");
	ok(!webhook_is_ping("webhook_id=-1", 13, &id), "ping: negative");
	ok(!webhook_is_ping("webhook_id=1&x=2", 16, &id), "ping: more fields");
	ok(!webhook_is_ping("webhook_id=1\n", 13, &id), "ping: trailing newline");
	ok(!webhook_is_ping("{\"webhook_id\":1}", 16, &id), "ping: JSON is not a ping");
	ok(!webhook_is_ping(NULL, 0, &id), "ping: no body");
}

static const char *summary(struct arena *a, const char *topic, const char *body, int *status)
{
	struct webhook_event ev;
	struct err e = ERR_INIT;

	*status = 0;
	if (webhook_summarise(a, topic, body, strlen(body), &ev, &e) < 0) {
		*status = e.status;
		ok(ev.kind == WEBHOOK_IGNORED && !ev.summary && e.msg[0],
		   "  %s: refused with a message (%s)", topic, e.msg);
		return NULL;
	}
	return ev.summary ? ev.summary : "(ignored)";
}

static void summaries(void)
{
	struct arena *a = arena_new();
	struct webhook_event ev;
	struct err e = ERR_INIT;
	char deep[200];
	int st;

	is_str(summary(a, "order.created", order_body, &st), "order #123 created, 2 items",
	       "order: two items");
	is_str(summary(a, "order.created",
		       "{\"id\":9,\"number\":\"9\",\"line_items\":[{\"quantity\":3,\"name\":\"x\"},"
		       "{\"quantity\":2}],\"meta_data\":[{\"key\":\"a\",\"value\":{\"b\":[1,2]}}]}",
		       &st),
	       "order #9 created, 5 items", "order: quantities summed");
	is_str(summary(a, "order.created", "{\"id\":1,\"line_items\":[{\"quantity\":1}]}", &st),
	       "order #1 created, 1 item", "order: one item, singular");
	is_str(summary(a, "order.created", "{\"id\":2}", &st), "order #2 created, 0 items",
	       "order: no line_items");
	is_str(summary(a, "order.created", "{\"id\":5,\"number\":\"WC-0005\",\"line_items\":[]}",
		       &st),
	       "order #WC-0005 created, 0 items", "order: the order number when plain");
	is_str(summary(a, "order.created",
		       "{\"id\":5,\"number\":\"<script>\",\"line_items\":[]}", &st),
	       "order #5 created, 0 items", "order: an odd number falls back to the id");
	is_str(summary(a, "product.created", "{\"id\":45,\"name\":\"Name\"}", &st),
	       "product #45 \"Name\" created", "product.created");
	is_str(summary(a, "product.updated", "{\"id\":45,\"name\":\"T\\u00e9 \\\"bio\\\"\"}", &st),
	       "product #45 \"T\xc3\xa9 \"bio\"\" updated", "product.updated keeps UTF-8");
	is_str(summary(a, "product.updated", "{\"id\":45,\"name\":\"a\\tb\"}", &st),
	       "product #45 \"ab\" updated", "product: control characters dropped");
	is_str(summary(a, "product.updated", "{\"id\":45}", &st), "product #45 \"\" updated",
	       "product: no name");
	{
		char body[400], want[400];

		snprintf(body, sizeof(body), "{\"id\":1,\"name\":\"%0100d\"}", 0);
		snprintf(want, sizeof(want), "product #1 \"%080d\xe2\x80\xa6\" created", 0);
		is_str(summary(a, "product.created", body, &st), want,
		       "product: a long name is cut to %d characters", WEBHOOK_NAME_MAX);
	}

	is_str(summary(a, "coupon.created", "not even json", &st), "(ignored)",
	       "other topics are ignored without parsing");
	is_str(summary(a, "product.deleted", "{", &st), "(ignored)", "product.deleted ignored");
	ok(webhook_summarise(a, NULL, "", 0, &ev, &e) == 0 && ev.kind == WEBHOOK_IGNORED,
	   "no topic: ignored");

	/* hostile payloads: 400, nothing summarised */
	static const char *const bad[] = {
	    "",
	    "[]",
	    "{\"id\":\"123\"}",
	    "{\"id\":0}",
	    "{\"id\":-5}",
	    "{\"id\":1.5}",
	    "{\"id\":123456789012345678901234567890}",
	    "{\"id\":1e400}",
	    "{\"line_items\":[]}",
	    "{\"id\":1,\"line_items\":{}}",
	    "{\"id\":1,\"line_items\":[3]}",
	    "{\"id\":1,\"line_items\":[{\"quantity\":\"2\"}]}",
	    "{\"id\":1,\"line_items\":[{\"quantity\":-1}]}",
	    "{\"id\":1,\"line_items\":[{\"quantity\":1e3}]}",
	    "{\"id\":1,\"line_items\":[{\"quantity\":99999999999}]}",
	    "{\"id\":1,\"name\":\"\xff\xfe\"}",
	    "{\"id\":1,\"name\":\"\xc0\xaf\"}",
	    "{\"id\":1,\"name\":\"a\\u0000b\"}",
	    "{\"id\":1} trailing",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *got = summary(a, "order.created", bad[i], &st);

		ok(!got && st == 400, "order.created refuses bad payload %zu with 400", i);
	}
	ok(!summary(a, "product.updated", "{\"id\":1,\"name\":7}", &st) && st == 400,
	   "product: a number as name is 400");
	ok(!summary(a, "product.updated", "{\"id\":1,\"name\":[\"x\"]}", &st) && st == 400,
	   "product: a list as name is 400");
	memset(deep, '[', sizeof(deep) - 1);
	deep[0] = '{';
	memcpy(deep + 1, "\"a\":", 4);
	deep[sizeof(deep) - 1] = 0;
	ok(!summary(a, "order.created", deep, &st) && st == 400, "deep nesting is 400");
	arena_free(a);
}

static void oauth(void)
{
	struct arena *a = arena_new();
	struct buf q = BUF_INIT;
	struct err e = ERR_INIT;
	static const char url[] = "http://store-abc12345.127.0.0.1.nip.io/wp-json/wc/v3/webhooks";

	ok(webhook_oauth_query(a, &q, "GET", url, "status=disabled&per_page=100", "ck_abc",
			       "cs_xyz", 1795321941, "n0nce", &e) == 0,
	   "oauth: query built");
	is_str(q.s,
	       "status=disabled&per_page=100&oauth_consumer_key=ck_abc&oauth_nonce=n0nce&"
	       "oauth_signature_method=HMAC-SHA256&oauth_timestamp=1795321941&oauth_signature="
	       "9Pn3XqHP0mKD%2B61sKhUdCvzcnyI%2BFpOvOMlMP4tmE10%3D",
	       "oauth: the signature WooCommerce computes (independent vector)");

	/* the server side: verify what the client sent by recomputing from the parsed query */
	{
		struct kv *params = NULL, **pp = &params, *p;
		char sig[WEBHOOK_SIG_LEN + 1];
		const char *got = NULL;

		ok(http_parse_query(a, q.s, &params, &e) == 0, "oauth: query parses");
		while ((p = *pp)) {
			if (!strcmp(p->key, "oauth_signature")) {
				got = p->val;
				*pp = p->next;
			} else {
				pp = &p->next;
			}
		}
		ok(webhook_oauth_signature("GET", url, params, "cs_xyz", sig, &e) == 0 && got &&
		       !strcmp(sig, got),
		   "oauth: recomputed from the parsed query");
		ok(webhook_oauth_signature("PUT", url, params, "cs_xyz", sig, &e) == 0 &&
		       strcmp(sig, got),
		   "oauth: another method signs differently");
		ok(webhook_oauth_signature("GET", url, params, "cs_xyZ", sig, &e) == 0 &&
		       strcmp(sig, got),
		   "oauth: another secret signs differently");
	}
	buf_release(&q);
	arena_free(a);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	signatures();
	pings();
	summaries();
	oauth();
	return done_testing();
}
