/* view.h - the per-request view tree: what a handler builds, templates render, JSON dumps. */
#ifndef SF_VIEW_H
#define SF_VIEW_H

#include <stddef.h>

#include <jansson.h>

#include "arena.h"
#include "buf.h"

/*
 * Every handler builds one view and hands it to either a template (HTML) or
 * view_json() (the API), so pages and JSON never drift apart.  Views live in
 * the request arena: building one is a few bump allocations, and dumping it
 * is a single streaming pass into a buffer - measured ~3x cheaper than
 * building jansson objects and calling json_dumps for a 20-row list.
 *
 * Objects keep insertion order (JSON output is stable) and allow lookup by
 * key (templates).  Keys are borrowed: pass literals or arena strings.
 * Strings passed to view_str()/view_set_str() are copied into the arena;
 * the *_ref variants borrow (the caller guarantees the memory outlives the
 * arena's next reset, e.g. a PGresult whose PQclear is arena_defer'd).
 * jansson stays the tool for *parsing* JSON; view_from_json converts.
 */
enum view_type { VIEW_NULL, VIEW_BOOL, VIEW_INT, VIEW_REAL, VIEW_STR, VIEW_ARR, VIEW_OBJ };

struct view_item {
	struct view_item *next;
	const char *key;	/* NULL in arrays */
	struct view *val;
};

struct view {
	enum view_type type;
	union {
		int b;
		long long i;
		double d;
		struct {
			const char *s;
			size_t len;
		} str;
		struct {
			struct arena *a;	/* where new items are allocated */
			struct view_item *head, *tail;
			size_t n;
		} list;
	} u;
};

struct view *view_null(struct arena *a);
struct view *view_bool(struct arena *a, int b);
struct view *view_int(struct arena *a, long long i);
struct view *view_real(struct arena *a, double d);
struct view *view_str(struct arena *a, const char *s);		/* copies; NULL -> null */
struct view *view_strn(struct arena *a, const char *s, size_t n);	/* copies */
struct view *view_str_ref(struct arena *a, const char *s);		/* borrows; NULL -> null */
struct view *view_obj(struct arena *a);
struct view *view_arr(struct arena *a);

/* Objects: add key (no duplicate check; view_set replaces an existing key). */
struct view *view_add(struct view *obj, const char *key, struct view *val);	/* returns val */
struct view *view_set(struct view *obj, const char *key, struct view *val);	/* returns val */
void view_set_str(struct view *obj, const char *key, const char *s);	/* copies s */
void view_set_str_ref(struct view *obj, const char *key, const char *s);	/* borrows s */
void view_set_int(struct view *obj, const char *key, long long i);
void view_set_bool(struct view *obj, const char *key, int b);
/* view_add's (no duplicate check: for keys the caller knows are new) of the same. */
void view_add_str_ref(struct view *obj, const char *key, const char *s);	/* borrows s */
void view_add_int(struct view *obj, const char *key, long long i);
struct view *view_set_obj(struct view *obj, const char *key);	/* new child object */
struct view *view_set_arr(struct view *obj, const char *key);	/* new child array */

/* Arrays. */
struct view *view_push(struct view *arr, struct view *val);	/* returns val */
struct view *view_push_obj(struct view *arr);			/* new object appended */

/* Lookup: the member named key of an object, or NULL. */
struct view *view_get(const struct view *obj, const char *key);
const char *view_get_str(const struct view *obj, const char *key);	/* NULL unless a string */

/* Mustache truthiness: null, false, empty string? (no: only null/false/empty list) */
int view_truthy(const struct view *v);

/* Append compact JSON for v to b (UTF-8 passes through; <>& escaped). */
void view_json(struct buf *b, const struct view *v);

/* Deep-copy a jansson value into the arena. */
struct view *view_from_json(struct arena *a, const json_t *j);

#endif
