/* http.c - parsers for what arrives over HTTP: forms, query strings, cookies, JSON bodies. */
#include <stdint.h>
#include <string.h>

#include "http.h"

/*
 * Everything here reads bytes an outsider chose, so each parser is a
 * single bounded pass: counts and key lengths are capped before anything
 * is stored, and text is checked strictly (shortest-form UTF-8, no
 * surrogates, no NUL) so later code - SQL, templates, logs - only ever sees
 * clean strings.  Errors say what was wrong and, where it helps, which field.
 */

const char *kv_get(const struct kv *list, const char *key)
{
	for (; list; list = list->next)
		if (!strcmp(list->key, key))
			return list->val;
	return NULL;
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0 (RFC 3629 table 3-7). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0; /* continuation byte, overlong lead C0/C1, or > U+10FFFF */
	if (len > n)
		return 0;
	if (c == 0xe0)
		lo = 0xa0; /* overlong 3-byte */
	else if (c == 0xed)
		hi = 0x9f; /* UTF-16 surrogates */
	else if (c == 0xf0)
		lo = 0x90; /* overlong 4-byte */
	else if (c == 0xf4)
		hi = 0x8f; /* beyond U+10FFFF */
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

/* NULL when s[0..n) is clean text, else what is wrong with it. */
static const char *text_problem(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, len;

	while (i < n) {
		if (p[i] == 0)
			return "contains a NUL byte";
		if (p[i] < 0x20 && p[i] != '\t' && p[i] != '\n' && p[i] != '\r')
			return "contains a control character";
		len = utf8_seq(p + i, n - i);
		if (!len)
			return "is not valid UTF-8";
		i += len;
	}
	return NULL;
}

int http_valid_text(const char *s, size_t n)
{
	return text_problem(s, n) == NULL;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode s[0..n) into a new arena string; plus_space for forms. -1 on a bad escape. */
static int pct_decode(struct arena *a, const char *s, size_t n, int plus_space, char **out,
		      size_t *outlen)
{
	char *d = arena_alloc(a, n + 1);
	size_t j = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%') {
			int h, l;

			if (i + 2 >= n)
				return -1;
			h = hexval((unsigned char)s[i + 1]);
			l = hexval((unsigned char)s[i + 2]);
			if (h < 0 || l < 0)
				return -1;
			d[j++] = (char)(h << 4 | l);
			i += 2;
		} else if (s[i] == '+' && plus_space) {
			d[j++] = ' ';
		} else {
			d[j++] = s[i];
		}
	}
	d[j] = '\0';
	*out = d;
	*outlen = j;
	return 0;
}

int http_parse_form_ex(struct arena *a, const char *what, const char *s, size_t n, struct kv **out,
		       const char **field, struct err *e)
{
	struct kv *head = NULL, **tail = &head;
	size_t i = 0, count = 0;

	*out = NULL;
	if (field)
		*field = NULL;
	while (i < n) {
		size_t start = i, eq = SIZE_MAX, klen, vlen;
		char *key, *val;
		const char *why;
		struct kv *kv;

		while (i < n && s[i] != '&') {
			if (s[i] == '=' && eq == SIZE_MAX)
				eq = i;
			i++;
		}
		if (i == start) { /* "a=1&&b=2": empty pairs are skipped, as browsers do */
			i++;
			continue;
		}
		if (++count > HTTP_MAX_FIELDS)
			return err_set(e, 400, "%s: more than %d fields", what, HTTP_MAX_FIELDS);
		if (eq == SIZE_MAX)
			eq = i;
		if (eq - start > 3 * HTTP_KEY_MAX) /* cheap bound before decoding */
			return err_set(e, 400, "%s: a field name is longer than %d bytes", what,
				       HTTP_KEY_MAX);
		if (pct_decode(a, s + start, eq - start, 1, &key, &klen) < 0)
			return err_set(e, 400, "%s: malformed percent-escape in a field name",
				       what);
		if (klen > HTTP_KEY_MAX)
			return err_set(e, 400, "%s: a field name is longer than %d bytes", what,
				       HTTP_KEY_MAX);
		if ((why = text_problem(key, klen))) {
			if (field)
				*field = "(name)";
			return err_set(e, 422, "%s: a field name %s", what, why);
		}
		if (eq < i) {
			if (pct_decode(a, s + eq + 1, i - eq - 1, 1, &val, &vlen) < 0)
				return err_set(e, 400, "%s: malformed percent-escape in field '%s'",
					       what, key);
		} else {
			val = arena_strdup(a, "");
			vlen = 0;
		}
		if ((why = text_problem(val, vlen))) {
			if (field)
				*field = key;
			return err_set(e, 422, "%s: field '%s' %s", what, key, why);
		}
		i++;
		if (!klen) /* "=x": nothing to name it by */
			continue;
		kv = arena_alloc(a, sizeof(*kv));
		kv->next = NULL;
		kv->key = key;
		kv->val = val;
		kv->vlen = vlen;
		*tail = kv;
		tail = &kv->next;
	}
	*out = head;
	return 0;
}

int http_parse_form(struct arena *a, const char *s, size_t n, struct kv **out, struct err *e)
{
	return http_parse_form_ex(a, "form", s, n, out, NULL, e);
}

int http_parse_query(struct arena *a, const char *s, struct kv **out, struct err *e)
{
	return http_parse_form_ex(a, "query", s ? s : "", s ? strlen(s) : 0, out, NULL, e);
}

/* RFC 7230 tchar: what a cookie name may be made of. */
static int is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

int http_parse_cookies(struct arena *a, const char *s, struct kv **out, struct err *e)
{
	struct kv *head = NULL, **tail = &head;
	size_t count = 0;

	(void)e;
	*out = NULL;
	if (!s)
		return 0;
	while (*s && count < HTTP_MAX_FIELDS) {
		const char *name, *val, *end;
		size_t nlen, vlen;
		int bad = 0;
		struct kv *kv;

		while (*s == ' ' || *s == '\t' || *s == ';')
			s++;
		if (!*s)
			break;
		name = s;
		while (*s && *s != ';' && *s != '=')
			s++;
		nlen = (size_t)(s - name);
		while (nlen && (name[nlen - 1] == ' ' || name[nlen - 1] == '\t'))
			nlen--;
		if (*s != '=') { /* no value: skipped */
			continue;
		}
		s++;
		while (*s == ' ' || *s == '\t')
			s++;
		val = s;
		while (*s && *s != ';')
			s++;
		end = s;
		while (end > val && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		vlen = (size_t)(end - val);
		if (vlen >= 2 && val[0] == '"' && val[vlen - 1] == '"') {
			val++;
			vlen -= 2;
		}
		if (!nlen || nlen > HTTP_KEY_MAX)
			bad = 1;
		for (size_t i = 0; i < nlen && !bad; i++)
			if (!is_tchar((unsigned char)name[i]))
				bad = 1;
		/* cookie-octets, minus the lenient DQUOTE/backslash/comma browsers send anyway */
		for (size_t i = 0; i < vlen && !bad; i++)
			if ((unsigned char)val[i] <= 0x20 || (unsigned char)val[i] >= 0x7f)
				bad = 1;
		if (bad)
			continue;
		count++;
		kv = arena_alloc(a, sizeof(*kv));
		kv->next = NULL;
		kv->key = arena_strndup(a, name, nlen);
		kv->val = arena_strndup(a, val, vlen);
		kv->vlen = vlen;
		*tail = kv;
		tail = &kv->next;
	}
	*out = head;
	return 0;
}

/* --- JSON ---------------------------------------------------------------- */

struct json_frame {
	char type;	 /* '{' or '[' */
	const char *key; /* raw bytes of the current member name ('{' only) */
	size_t klen;
};

/* A member name fit for a message and a "fields" key: plain, short, clean. */
static const char *frame_field(struct arena *a, const struct json_frame *st, int depth)
{
	for (int d = depth - 1; d >= 0; d--) {
		if (st[d].type != '{' || !st[d].key)
			continue;
		if (st[d].klen > HTTP_KEY_MAX || memchr(st[d].key, '\\', st[d].klen) ||
		    text_problem(st[d].key, st[d].klen))
			return "body";
		return arena_strndup(a, st[d].key, st[d].klen);
	}
	return "body";
}

/*
 * One pass before jansson sees the body: nesting depth (so jansson never
 * recurses deeply) and raw bytes inside strings (so invalid UTF-8 or a NUL
 * is a 422 naming its member, not a generic syntax error).
 */
static int json_prescan(struct arena *a, const char *s, size_t n, const char **field, struct err *e)
{
	const unsigned char *p = (const unsigned char *)s;
	struct json_frame st[HTTP_JSON_DEPTH + 1];
	int depth = 0;
	size_t i = 0;

	while (i < n) {
		unsigned char c = p[i];

		if (c == '{' || c == '[') {
			if (depth >= HTTP_JSON_DEPTH)
				return err_set(e, 400,
					       "json: nested deeper than %d levels at byte %zu",
					       HTTP_JSON_DEPTH, i);
			st[depth].type = (char)c;
			st[depth].key = NULL;
			st[depth].klen = 0;
			depth++;
			i++;
		} else if (c == '}' || c == ']') {
			if (depth > 0)
				depth--;
			i++;
		} else if (c == '"') {
			size_t start = ++i, j;
			const char *why = NULL;

			while (i < n && p[i] != '"') {
				size_t len;

				if (p[i] == '\\') {
					i += 2;
					continue;
				}
				if (p[i] == 0 && !why)
					why = "contains a NUL byte";
				len = p[i] < 0x80 ? 1 : utf8_seq(p + i, n - i);
				if (!len) {
					if (!why)
						why = "is not valid UTF-8";
					len = 1;
				}
				i += len;
			}
			if (i > n)
				i = n;
			j = i + 1;
			while (j < n &&
			       (p[j] == ' ' || p[j] == '\t' || p[j] == '\n' || p[j] == '\r'))
				j++;
			if (j < n && p[j] == ':') {
				if (why) {
					if (field)
						*field = "(name)";
					return err_set(e, 422, "json: a member name %s", why);
				}
				if (depth > 0 && st[depth - 1].type == '{') {
					st[depth - 1].key = s + start;
					st[depth - 1].klen = i - start;
				}
			} else if (why) {
				const char *f = frame_field(a, st, depth);

				if (field)
					*field = f;
				return err_set(e, 422, "json: '%s' %s", f, why);
			}
			i++;
		} else {
			i++;
		}
	}
	return 0;
}

/* After parsing: escaped NUL / control characters (\u0000, \u0001) are still 422. */
static int json_check_strings(struct arena *a, json_t *j, const char *member, const char **field,
			      struct err *e)
{
	const char *key, *why;
	json_t *v;
	size_t i;

	switch (json_typeof(j)) {
	case JSON_OBJECT:
		json_object_foreach(j, key, v)
		{
			if ((why = text_problem(key, strlen(key)))) {
				if (field)
					*field = "(name)";
				return err_set(e, 422, "json: a member name %s", why);
			}
			if (json_check_strings(a, v, key, field, e) < 0)
				return -1;
		}
		return 0;
	case JSON_ARRAY:
		json_array_foreach(j, i,
				   v) if (json_check_strings(a, v, member, field, e) < 0) return -1;
		return 0;
	case JSON_STRING:
		why = text_problem(json_string_value(j), json_string_length(j));
		if (!why)
			return 0;
		if (!member || strlen(member) > HTTP_KEY_MAX ||
		    text_problem(member, strlen(member)))
			member = "body";
		if (field)
			*field = arena_strdup(a, member);
		return err_set(e, 422, "json: '%s' %s", member, why);
	default:
		return 0;
	}
}

static void json_decref_cb(void *p)
{
	json_decref(p);
}

json_t *http_parse_json_ex(struct arena *a, const char *s, size_t n, const char **field,
			   struct err *e)
{
	json_error_t jerr;
	json_t *j;

	if (field)
		*field = NULL;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == '\t'))
		n--;
	if (!n) {
		err_set(e, 400, "json: the body is empty (expected an object)");
		return NULL;
	}
	if (json_prescan(a, s, n, field, e) < 0)
		return NULL;
	/* NUL allowed here only so json_check_strings can name the member it is in. */
	j = json_loadb(s, n, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	if (!j) {
		err_set(e, 400, "json: %.120s at line %d column %d", jerr.text, jerr.line,
			jerr.column);
		return NULL;
	}
	arena_defer(a, json_decref_cb, j);
	if (!json_is_object(j)) {
		err_set(e, 400, "json: the body must be an object");
		return NULL;
	}
	if (json_check_strings(a, j, NULL, field, e) < 0)
		return NULL;
	return j;
}

json_t *http_parse_json(struct arena *a, const char *s, size_t n, struct err *e)
{
	return http_parse_json_ex(a, s, n, NULL, e);
}

char *http_decode_path(struct arena *a, const char *s, struct err *e)
{
	char *d;
	size_t n;

	if (!s || *s != '/') {
		err_set(e, 400, "path: must start with '/'");
		return NULL;
	}
	if (pct_decode(a, s, strlen(s), 0, &d, &n) < 0) {
		err_set(e, 400, "path: malformed percent-escape");
		return NULL;
	}
	if (memchr(d, 0, n)) {
		err_set(e, 400, "path: contains a NUL byte");
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)d[i] < 0x20 || d[i] == 0x7f) {
			err_set(e, 400, "path: contains a control character");
			return NULL;
		}
	if (text_problem(d, n)) {
		err_set(e, 400, "path: is not valid UTF-8");
		return NULL;
	}
	return d;
}
