/* arena.h - per-request memory pool with deferred cleanups (nginx's pool, simplified). */
#ifndef SF_ARENA_H
#define SF_ARENA_H

#include <stdarg.h>
#include <stddef.h>

#include <jansson.h>

#include "err.h"

/*
 * Bump allocation from blocks; requests larger than a quarter block get their
 * own malloc on a list.  arena_defer() registers cleanups (PQclear,
 * json_decref, free...) that arena_reset() runs in reverse order before it
 * rewinds, so one call after each request frees everything the request made.
 *
 * Built with -DARENA_DEBUG (the sanitizer build), every allocation is its own
 * malloc and is freed on reset, so ASan sees overflows and use-after-reset.
 *
 * Allocation never returns NULL: out of memory aborts (die_oom), because a
 * worker that cannot allocate a few bytes cannot answer usefully either.
 */
struct arena;

struct arena *arena_new(void);			/* OUT: free with arena_free */
void arena_free(struct arena *a);		/* runs cleanups, frees all */
void arena_reset(struct arena *a);		/* runs cleanups, rewinds to empty */

void *arena_alloc(struct arena *a, size_t n);	/* 16-byte aligned, uninitialised */
void *arena_zalloc(struct arena *a, size_t n);	/* zeroed */
#define arena_new_of(a, type) ((type *)arena_zalloc((a), sizeof(type)))

char *arena_strdup(struct arena *a, const char *s);		/* NULL -> NULL */
char *arena_strndup(struct arena *a, const char *s, size_t n);	/* NUL-terminated copy */
void *arena_memdup(struct arena *a, const void *p, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...) SF_PRINTF(2, 3);
char *arena_vprintf(struct arena *a, const char *fmt, va_list ap);

/* Run fn(p) at the next reset/free (last registered runs first). */
void arena_defer(struct arena *a, void (*fn)(void *), void *p);

/*
 * JSON owned by the arena: arena_json takes the reference j (a new one:
 * json_pack, json_loads, a parser's OUT) and defers its json_decref, so the
 * caller never decrefs it.  Returns j; NULL stays NULL (nothing deferred),
 * so a failed constructor passes through: `x = arena_json(a, f(...)); if (!x) ...`.
 */
json_t *arena_json(struct arena *a, json_t *j);

/* json_dumps(j, flags) as an arena string (NULL when jansson fails). */
char *arena_json_dumps(struct arena *a, const json_t *j, size_t flags);

/* Bytes handed out since the last reset (for limits and tests). */
size_t arena_used(const struct arena *a);

#endif
