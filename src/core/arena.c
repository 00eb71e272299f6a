/* arena.c - bump allocator with a large-block list and deferred cleanups. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

#define ARENA_BLOCK 16384
#define ARENA_ALIGN 16

struct block {
	struct block *next;
	size_t size, used;
	max_align_t data[];
};

struct cleanup {
	struct cleanup *next;
	void (*fn)(void *);
	void *p;
};

struct large {
	struct large *next;
	max_align_t data[];
};

struct arena {
	struct block *first, *cur;
	struct large *large;
	struct cleanup *cleanups;
	size_t used;
};

static void *xmalloc(size_t n)
{
	void *p = malloc(n);

	if (!p)
		die_oom();
	return p;
}

static struct block *block_new(size_t size)
{
	struct block *b = xmalloc(sizeof(*b) + size);

	b->next = NULL;
	b->size = size;
	b->used = 0;
	return b;
}

struct arena *arena_new(void)
{
	struct arena *a = xmalloc(sizeof(*a));

	a->first = a->cur = block_new(ARENA_BLOCK);
	a->large = NULL;
	a->cleanups = NULL;
	a->used = 0;
	return a;
}

static void *alloc_large(struct arena *a, size_t n)
{
	struct large *l;

	if (n > SIZE_MAX - sizeof(*l))
		die_oom();
	l = xmalloc(sizeof(*l) + n);
	l->next = a->large;
	a->large = l;
	return l->data;
}

void *arena_alloc(struct arena *a, size_t n)
{
	struct block *b;
	size_t need;

	a->used += n;
#ifdef ARENA_DEBUG
	return alloc_large(a, n ? n : 1);
#endif
	if (n > ARENA_BLOCK / 4)
		return alloc_large(a, n);
	need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	b = a->cur;
	if (b->size - b->used < need) {
		if (!b->next)
			b->next = block_new(ARENA_BLOCK);
		b = a->cur = b->next;
	}
	b->used += need;
	return (char *)b->data + b->used - need;
}

void *arena_zalloc(struct arena *a, size_t n)
{
	void *p = arena_alloc(a, n);

	memset(p, 0, n);
	return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
	return s ? arena_strndup(a, s, strlen(s)) : NULL;
}

void *arena_memdup(struct arena *a, const void *p, size_t n)
{
	void *q = arena_alloc(a, n ? n : 1);

	if (n)
		memcpy(q, p, n);
	return q;
}

char *arena_vprintf(struct arena *a, const char *fmt, va_list ap)
{
	va_list cp;
	char small[256], *p;
	int n;

	va_copy(cp, ap);
	n = vsnprintf(small, sizeof(small), fmt, cp);
	va_end(cp);
	if (n < 0)
		return arena_strdup(a, "");
	p = arena_alloc(a, (size_t)n + 1);
	if ((size_t)n < sizeof(small))
		memcpy(p, small, (size_t)n + 1);
	else
		vsnprintf(p, (size_t)n + 1, fmt, ap);
	return p;
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	p = arena_vprintf(a, fmt, ap);
	va_end(ap);
	return p;
}

void arena_defer(struct arena *a, void (*fn)(void *), void *p)
{
	struct cleanup *c;

#ifdef ARENA_DEBUG
	c = xmalloc(sizeof(*c));	/* freed in run_cleanups */
#else
	c = arena_alloc(a, sizeof(*c));
#endif
	c->fn = fn;
	c->p = p;
	c->next = a->cleanups;
	a->cleanups = c;
}

static void run_cleanups(struct arena *a)
{
	/* A cleanup may itself defer more; loop until none are left. */
	while (a->cleanups) {
		struct cleanup *c = a->cleanups;

		a->cleanups = c->next;
		c->fn(c->p);
#ifdef ARENA_DEBUG
		free(c);
#endif
	}
}

void arena_reset(struct arena *a)
{
	struct large *l, *next;

	run_cleanups(a);
	for (l = a->large; l; l = next) {
		next = l->next;
		free(l);
	}
	a->large = NULL;
	/* Keep one spare block for the next request; free any others. */
	if (a->first->next) {
		struct block *b = a->first->next->next;

		while (b) {
			struct block *n = b->next;

			free(b);
			b = n;
		}
		a->first->next->next = NULL;
		a->first->next->used = 0;
	}
	a->first->used = 0;
	a->cur = a->first;
	a->used = 0;
}

void arena_free(struct arena *a)
{
	struct block *b, *next;

	if (!a)
		return;
	arena_reset(a);
	for (b = a->first; b; b = next) {
		next = b->next;
		free(b);
	}
	free(a);
}

size_t arena_used(const struct arena *a)
{
	return a->used;
}

static void json_decref_cb(void *p)
{
	json_decref(p);
}

json_t *arena_json(struct arena *a, json_t *j)
{
	if (j)
		arena_defer(a, json_decref_cb, j);
	return j;
}

char *arena_json_dumps(struct arena *a, const json_t *j, size_t flags)
{
	char *s = json_dumps(j, flags);

	if (s)
		arena_defer(a, free, s);
	return s;
}
