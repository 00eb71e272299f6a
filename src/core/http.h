/* http.h - parsers for what arrives over HTTP: forms, query strings, cookies, JSON bodies. */
#ifndef SF_HTTP_H
#define SF_HTTP_H

#include <stddef.h>

#include <jansson.h>

#include "arena.h"
#include "err.h"

/*
 * Limits on what outsiders send: more pairs than HTTP_MAX_FIELDS (form or
 * query) is a 400, as is a key longer than HTTP_KEY_MAX bytes; a JSON body
 * nested deeper than HTTP_JSON_DEPTH is a 400 checked before jansson
 * recurses.  Cookies beyond HTTP_MAX_FIELDS are ignored (lenient).
 */
#define HTTP_MAX_FIELDS 256
#define HTTP_KEY_MAX 128
#define HTTP_JSON_DEPTH 32

/* One name=value pair; lists keep input order.  Strings are arena copies. */
struct kv {
	struct kv *next;
	const char *key;
	const char *val;	/* NUL-terminated; vlen excludes the NUL */
	size_t vlen;
};

/* First value for key, or NULL. */
const char *kv_get(const struct kv *list, const char *key);

/*
 * application/x-www-form-urlencoded (also query strings): '+' is space,
 * %XX decoded.  Malformed escapes, NUL bytes and invalid UTF-8 in keys or
 * values are errors (400 / 422) naming the field; more than max_fields
 * pairs is a 400.  OUT: *out is an arena list (NULL when s is empty).
 */
int http_parse_form(struct arena *a, const char *s, size_t n, struct kv **out, struct err *e);
int http_parse_query(struct arena *a, const char *s, struct kv **out, struct err *e);

/*
 * The same, also naming the offending field: on a 422 *field is set to the
 * field's name (an arena string, "(name)" when the name itself is bad), so
 * the dispatcher can answer {"fields":{name: message}}.  field may be NULL.
 * what labels messages ("form", "query").
 */
int http_parse_form_ex(struct arena *a, const char *what, const char *s, size_t n,
		       struct kv **out, const char **field, struct err *e);

/* Cookie header "a=b; c=d" (RFC 6265 lenient: bad pairs skipped). */
int http_parse_cookies(struct arena *a, const char *s, struct kv **out, struct err *e);

/*
 * A JSON request body: must be one object, at most max_depth deep, valid
 * UTF-8, no NUL in strings.  OUT: new reference whose decref is deferred on
 * the arena.  Errors: 400 with what was wrong and where (line:column).
 */
json_t *http_parse_json(struct arena *a, const char *s, size_t n, struct err *e);

/*
 * The same, with the 422 cases told apart: invalid UTF-8, NUL or other C0
 * controls (except \t \n \r) inside a string are 422 and *field names the
 * member they were in ("body" when unknown).  Syntax errors stay 400.
 */
json_t *http_parse_json_ex(struct arena *a, const char *s, size_t n, const char **field,
			   struct err *e);

/* 1 when s[0..n) is valid UTF-8 without NUL or other C0 controls except \t \n \r. */
int http_valid_text(const char *s, size_t n);

/* Percent-decode a URL path in place-copy; NUL (%00) or bad escapes -> NULL. */
char *http_decode_path(struct arena *a, const char *s, struct err *e);

#endif
