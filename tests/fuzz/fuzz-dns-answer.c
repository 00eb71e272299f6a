/* fuzz-dns-answer.c - the DNS answer parser (dnsq_parse) on any bytes: a well-formed result or a 502. */
#include <arpa/nameser.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dnsq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dnsq_answer ans;
	struct err e = ERR_INIT;

	if (dnsq_parse(data, size, "shop.example.com.", &ans, &e) < 0) {
		if (e.status != 502 || strncmp(e.msg, "dns: ", 5))
			abort();
		return 0;
	}
	if (ans.n < 0 || ans.n > DNSQ_MAX_RR)
		abort();
	for (int i = 0; i < ans.n; i++) {
		const struct dnsq_rr *rr = &ans.rr[i];
		size_t n = strnlen(rr->data, sizeof(rr->data));

		if (n == sizeof(rr->data))
			abort(); /* always terminated */
		if (rr->type != ns_t_txt && rr->type != ns_t_cname && rr->type != ns_t_a &&
		    rr->type != ns_t_aaaa)
			abort();
		for (size_t k = 0; k < n; k++)
			if ((unsigned char)rr->data[k] < 0x20 || (unsigned char)rr->data[k] >= 0x7f)
				abort(); /* printable ASCII only: it goes into pages and logs */
	}
	return 0;
}
