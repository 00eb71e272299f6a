/* fuzz-webhook.c - libFuzzer target: any bytes as a WooCommerce webhook delivery (topic byte + body). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "webhook.h"

/*
 * data[0] picks the topic (order.created, product.created, product.updated,
 * a ping, another topic), the rest is the body.  Invariants: a summary is
 * clean one-line text of bounded length; a refusal is a 400 with a
 * message; a body signed with a secret verifies, and the body itself taken
 * as a signature never does; a ping id is positive.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const topics[] = {"order.created", "product.created", "product.updated", NULL,
				     "coupon.created"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct arena *a;
	struct webhook_event ev;
	struct err e = ERR_INIT;
	char sig[WEBHOOK_SIG_LEN + 1], *body;
	const char *topic;
	long long id = 0;
	size_t n;

	if (!size)
		return 0;
	if (!a)
		a = arena_new();
	topic = topics[data[0] % 5];
	n = size - 1;
	body = arena_strndup(a, (const char *)data + 1, n); /* NUL-terminated like r->body */
	memcpy(body, data + 1, n);

	if (webhook_is_ping(body, n, &id) && id <= 0)
		abort();
	if (webhook_summarise(a, topic, body, n, &ev, &e) == 0) {
		if (ev.kind != WEBHOOK_IGNORED) {
			size_t len = ev.summary ? strlen(ev.summary) : 0;

			if (!len || len > 64 + 4 * WEBHOOK_NAME_MAX + 8 || ev.resource_id <= 0 ||
			    !http_valid_text(ev.summary, len) || strpbrk(ev.summary, "\t\r\n"))
				abort();
		}
	} else if (e.status != 400 || !e.msg[0] || ev.kind != WEBHOOK_IGNORED || ev.summary) {
		abort();
	}

	webhook_sign("fuzz-secret", body, n, sig);
	if (!webhook_verify("fuzz-secret", body, n, sig) ||
	    webhook_verify("fuzz-secret!", body, n, sig) ||
	    (n != WEBHOOK_SIG_LEN && webhook_verify("fuzz-secret", body, n, body)))
		abort();
	arena_reset(a);
	return 0;
}
