/* buf.h - growable byte buffer, always NUL-terminated, with a sticky error. */
#ifndef SF_BUF_H
#define SF_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include "err.h"

/*
 * Modelled on git's strbuf.  `s` is never NULL: an empty buffer points at a
 * shared static "" until the first append, and after any append s[len] is
 * '\0'.  Appends never fail loudly: if the buffer would grow past `max`
 * (0 = unlimited) or malloc fails, `failed` is set, later appends are
 * ignored, and the caller checks once at the end (SQLite's StrAccum idea).
 */
struct buf {
	char *s;
	size_t len;
	size_t cap;
	size_t max;	/* 0 = no limit */
	int failed;	/* sticky: an append was dropped */
};

extern char buf_empty[];
#define BUF_INIT {buf_empty, 0, 0, 0, 0}

void buf_init(struct buf *b, size_t max);	/* empty buffer, optional cap */
void buf_release(struct buf *b);		/* free memory, back to BUF_INIT */
void buf_reset(struct buf *b);			/* len = 0, keep memory and failed = 0 */
char *buf_detach(struct buf *b, size_t *len);	/* OUT: malloc'd string, caller frees */

int buf_grow_slow(struct buf *b, size_t extra);	/* buf_grow's path when it must grow */

/* Room for extra more bytes (and the NUL); -1 = failed.  Inline: appends call it per piece. */
static inline int buf_grow(struct buf *b, size_t extra)
{
	if (!b->failed && extra < b->cap - b->len && (!b->max || extra <= b->max - b->len))
		return 0;
	return buf_grow_slow(b, extra);
}

static inline void buf_add(struct buf *b, const void *p, size_t n)
{
	if (buf_grow(b, n) < 0)
		return;
	memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static inline void buf_addch(struct buf *b, int c)
{
	if (buf_grow(b, 1) < 0)
		return;
	b->s[b->len++] = (char)c;
	b->s[b->len] = '\0';
}

void buf_adds(struct buf *b, const char *s);
void buf_add_int(struct buf *b, long long v);	/* decimal, as printf's %lld */
void buf_addf(struct buf *b, const char *fmt, ...) SF_PRINTF(2, 3);
void buf_vaddf(struct buf *b, const char *fmt, va_list ap);
void buf_setlen(struct buf *b, size_t len);	/* truncate (len <= b->len) */

/* Escaped appends. */
void buf_add_html(struct buf *b, const char *s, size_t n);	/* & < > " ' */
void buf_add_json_str(struct buf *b, const char *s, size_t n);	/* "..." with escapes */
void buf_add_urlenc(struct buf *b, const char *s, size_t n);	/* RFC 3986 unreserved kept */

#endif
