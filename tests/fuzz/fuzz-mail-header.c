/* fuzz-mail-header.c - any bytes as a subject, display name or address: never a header of its own.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mail.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The output of mail_header_text must be one header value: printable ASCII,
 * with CR LF only as folding (CRLF followed by a space), so no input can
 * end the header or start another one (header injection).
 */
static void check(const struct buf *b)
{
	for (size_t i = 0; i < b->len; i++) {
		unsigned char c = (unsigned char)b->s[i];

		if (c == '\r') {
			if (i + 2 >= b->len || b->s[i + 1] != '\n' || b->s[i + 2] != ' ')
				abort();
			i += 2;
			continue;
		}
		if (c < 0x20 || c > 0x7e)
			abort();
	}
	/* folded lines stay short: 78 characters is RFC 5322's advice, 998 its limit */
	for (const char *l = b->s, *n; *l; l = n + 2) {
		n = strstr(l, "\r\n");
		if (!n)
			n = l + strlen(l);
		if (n - l > 998)
			abort();
		if (!*n)
			break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	struct buf b = BUF_INIT;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	mail_header_text(&b, s, 0);
	check(&b);
	buf_reset(&b);
	mail_header_text(&b, s, 1);
	check(&b);
	if (b.len < 2 || (b.s[0] == '"' && b.s[b.len - 1] != '"'))
		abort(); /* a phrase is a whole quoted string or encoded words */
	/* an accepted address has nothing that could end it or a header */
	if (mail_addr_ok(s) && strpbrk(s, "\r\n <>,;\"()"))
		abort();
	buf_release(&b);
	free(s);
	return 0;
}
