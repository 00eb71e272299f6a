/* fuzz-store-host.c - the Host header test of a suspended store's paused page (store_host_id) on
 * any bytes, checked against a simpler oracle. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "lifecycle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Accepted: exactly "store-" + a valid id (any case) + "." + the domain
 * (any case), then nothing or ":" and anything; the id comes back lower
 * case.  Refused: everything else, with id empty.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char domain[] = "127.0.0.1.nip.io";
	char *h = malloc(size + 1), id[STORE_ID_LEN + 1], low[STORE_ID_LEN + 1];
	size_t n, dl;
	int want;

	if (!h)
		return 0;
	memcpy(h, data, size);
	h[size] = '\0'; /* headers arrive NUL-terminated; a NUL inside ends them */
	config.domain = domain;
	dl = strlen(config.domain);
	n = strcspn(h, ":");
	want = n == 15 + dl && !strncasecmp(h, "store-", 6) && h[14] == '.' &&
	       !strncasecmp(h + 15, config.domain, dl);
	if (want) {
		for (int i = 0; i < STORE_ID_LEN; i++)
			low[i] =
			    (char)(h[6 + i] >= 'A' && h[6 + i] <= 'Z' ? h[6 + i] + 32 : h[6 + i]);
		low[STORE_ID_LEN] = 0;
		want = store_id_valid(low);
	}
	if (store_host_id(h, id) != want)
		abort();
	if (want ? strcmp(id, low) : id[0] != '\0')
		abort();
	free(h);
	return 0;
}
