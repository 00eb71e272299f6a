/* fuzz-store-name.c - the store name rule on any bytes, checked against a second, simpler oracle.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	struct err e = ERR_INIT;
	size_t chars = 0;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0'; /* names arrive NUL-terminated; a NUL inside ends them */
	if (store_check_name(s, &e) < 0) {
		if (e.status != 422 || !e.msg[0])
			abort(); /* a refusal is a 422 that says why */
		free(s);
		return 0;
	}
	/* Accepted: valid UTF-8 text, no controls at all, 1..64 characters. */
	if (!http_valid_text(s, strlen(s)) || strpbrk(s, "\t\n\r\x7f"))
		abort();
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			abort(); /* C1 control */
		chars += (*p & 0xc0) != 0x80;
	}
	if (chars < 1 || chars > STORE_NAME_MAX || strspn(s, " ") == strlen(s))
		abort();
	free(s);
	return 0;
}
