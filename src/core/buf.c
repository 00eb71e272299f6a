/* buf.c - growable NUL-terminated buffer with a sticky error flag. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

char buf_empty[1];

void buf_init(struct buf *b, size_t max)
{
	b->s = buf_empty;
	b->len = b->cap = 0;
	b->max = max;
	b->failed = 0;
}

void buf_release(struct buf *b)
{
	if (b->cap)
		free(b->s);
	buf_init(b, b->max);
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	b->failed = 0;
	if (b->cap)
		b->s[0] = '\0';
}

char *buf_detach(struct buf *b, size_t *len)
{
	char *s;

	if (len)
		*len = b->len;
	if (!b->cap) {
		s = strdup("");
		if (!s)
			die_oom();
	} else {
		s = b->s;
	}
	buf_init(b, b->max);
	return s;
}

int buf_grow_slow(struct buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (b->failed)
		return -1;
	if (extra > (size_t)-1 / 2 - b->len - 1)
		goto fail;
	need = b->len + extra + 1;
	if (b->max && need > b->max + 1)
		goto fail;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	p = realloc(b->cap ? b->s : NULL, cap);
	if (!p)
		goto fail;
	if (!b->cap)
		p[0] = '\0';
	b->s = p;
	b->cap = cap;
	return 0;
fail:
	b->failed = 1;
	return -1;
}

void buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void buf_add_int(struct buf *b, long long v)
{
	char d[24], *p = d + sizeof(d);
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

	do
		*--p = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		*--p = '-';
	buf_add(b, p, (size_t)(d + sizeof(d) - p));
}

void buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	if (buf_grow(b, 64) < 0)
		return;
	va_copy(cp, ap);
	n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, cp);
	va_end(cp);
	if (n < 0) {
		b->failed = 1;
		return;
	}
	if ((size_t)n >= b->cap - b->len) {
		if (buf_grow(b, (size_t)n) < 0) {
			b->s[b->len] = '\0';
			return;
		}
		vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	}
	b->len += (size_t)n;
}

void buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(b, fmt, ap);
	va_end(ap);
}

void buf_setlen(struct buf *b, size_t len)
{
	if (len > b->len)
		BUG("buf_setlen %zu > %zu", len, b->len);
	b->len = len;
	if (b->cap)
		b->s[len] = '\0';
}

/*
 * Word-at-a-time scanning (the bit tricks of "Bit Twiddling Hacks"): W_ZERO(v)
 * is non-zero exactly when one of v's 8 bytes is zero, so W_ZERO(w ^ c * W_ONES)
 * says whether w holds the byte c.  The escapers below skip clean runs so.
 */
#define W_ONES	 0x0101010101010101ULL
#define W_HIGHS	 0x8080808080808080ULL
#define W_ZERO(v) (((v) - W_ONES) & ~(v) & W_HIGHS)

void buf_add_html(struct buf *b, const char *s, size_t n)
{
	size_t i, start = 0;
	const char *rep;

	for (i = 0; i < n; i++) {
		/* 8 bytes a step while none of them is one of the five */
		while (i + 8 <= n) {
			uint64_t w;

			memcpy(&w, s + i, 8);
			if (W_ZERO(w ^ ('&' * W_ONES)) || W_ZERO(w ^ ('<' * W_ONES)) ||
			    W_ZERO(w ^ ('>' * W_ONES)) || W_ZERO(w ^ ('"' * W_ONES)) ||
			    W_ZERO(w ^ ('\'' * W_ONES)))
				break;
			i += 8;
		}
		if (i >= n)
			break;
		switch (s[i]) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default: continue;
		}
		buf_add(b, s + start, i - start);
		buf_adds(b, rep);
		start = i + 1;
	}
	buf_add(b, s + start, n - start);
}

/* 1 for the bytes buf_add_json_str escapes: controls, '"', '\\', and '<' '>' '&' (HTML-safe JSON). */
static const unsigned char json_esc[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    ['"'] = 1, ['\\'] = 1, ['<'] = 1, ['>'] = 1, ['&'] = 1,
};

/* Does the 8-byte word w hold a byte json_esc marks (bytes under 0x20: the has-less-than test)? */
static int json_word_dirty(uint64_t w)
{
	return ((w - 0x20 * W_ONES) & ~w & W_HIGHS) || W_ZERO(w ^ ('"' * W_ONES)) ||
	       W_ZERO(w ^ ('\\' * W_ONES)) || W_ZERO(w ^ ('<' * W_ONES)) ||
	       W_ZERO(w ^ ('>' * W_ONES)) || W_ZERO(w ^ ('&' * W_ONES));
}

void buf_add_json_str(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0, start = 0;

	if (buf_grow(b, n + 2) < 0) /* the usual case, nothing to escape, in one piece */
		return;
	b->s[b->len++] = '"';
	for (;;) {
		uint64_t w;
		unsigned char c;
		char esc[7];

		while (i + 8 <= n && (memcpy(&w, s + i, 8), !json_word_dirty(w)))
			i += 8;
		if (i >= n)
			break;
		c = (unsigned char)s[i];
		if (!json_esc[c]) {
			i++;
			continue;
		}
		buf_add(b, s + start, i - start);
		start = ++i;
		switch (c) {
		case '"': buf_add(b, "\\\"", 2); continue;
		case '\\': buf_add(b, "\\\\", 2); continue;
		case '\n': buf_add(b, "\\n", 2); continue;
		case '\r': buf_add(b, "\\r", 2); continue;
		case '\t': buf_add(b, "\\t", 2); continue;
		}
		esc[0] = '\\';
		esc[1] = 'u';
		esc[2] = '0';
		esc[3] = '0';
		esc[4] = hex[c >> 4];
		esc[5] = hex[c & 15];
		buf_add(b, esc, 6);
	}
	buf_add(b, s + start, n - start);
	buf_addch(b, '"');
}

void buf_add_urlenc(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~') {
			buf_addch(b, c);
		} else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};
			buf_add(b, e, 3);
		}
	}
}
