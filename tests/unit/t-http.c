/* t-http.c - the HTTP input parsers: good input, every error path, hostile bytes. */
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "tap.h"

static struct arena *a;

/* Parse a form; returns the status (0 ok) and leaves the list in *out. */
static int form(const char *s, size_t n, struct kv **out, const char **field, struct err *e)
{
	err_clear(e);
	if (http_parse_form_ex(a, "form", s, n, out, field, e) < 0)
		return e->status;
	return 0;
}

static int count(const struct kv *kv)
{
	int n = 0;

	for (; kv; kv = kv->next)
		n++;
	return n;
}

static void test_form(void)
{
	struct err e = ERR_INIT;
	const char *field;
	struct kv *kv;
	char *big;
	size_t n;

	is_int(form("a=1&b=two+words&c=%41%42%43&a=2", 31, &kv, &field, &e), 0, "form: good input");
	is_int(count(kv), 4, "form: four pairs in order");
	is_str(kv_get(kv, "a"), "1", "form: first value wins in kv_get");
	is_str(kv_get(kv, "b"), "two words", "form: + is a space");
	is_str(kv_get(kv, "c"), "ABC", "form: %%XX decoded");
	is_str(kv->next->next->next->val, "2", "form: repeated keys kept in order");
	ok(kv_get(kv, "zz") == NULL, "form: missing key is NULL");

	is_int(form("", 0, &kv, &field, &e), 0, "form: empty body");
	ok(kv == NULL, "form: empty body gives an empty list");
	is_int(form("&&a&b=&&", 8, &kv, &field, &e), 0, "form: empty pairs skipped");
	is_int(count(kv), 2, "form: bare key and empty value kept");
	is_str(kv_get(kv, "a"), "", "form: bare key has empty value");
	is_int(form("=x&y=1", 6, &kv, &field, &e), 0, "form: nameless pair is dropped");
	is_int(count(kv), 1, "form: only the named pair stays");
	is_int(form("k=a%3Db%26c", 11, &kv, &field, &e), 0, "form: encoded = and &");
	is_str(kv_get(kv, "k"), "a=b&c", "form: encoded = and & are data");
	is_int(form("k=%C3%A9t%C3%A9", 15, &kv, &field, &e), 0, "form: UTF-8 value");
	is_str(kv_get(kv, "k"), "\xc3\xa9t\xc3\xa9", "form: UTF-8 decoded");
	is_int(form("t=a%0D%0Ab%09c", 14, &kv, &field, &e), 0,
	       "form: CR LF TAB allowed (textarea)");

	/* malformed escapes: 400 */
	is_int(form("a=%4", 4, &kv, &field, &e), 400, "form: truncated escape is 400");
	ok(strstr(e.msg, "field 'a'") != NULL, "form: message names the field (%s)", e.msg);
	is_int(form("a=%", 3, &kv, &field, &e), 400, "form: lone %% is 400");
	is_int(form("a=%zz", 5, &kv, &field, &e), 400, "form: non-hex escape is 400");
	is_int(form("%zz=1", 5, &kv, &field, &e), 400, "form: bad escape in a name is 400");

	/* NUL, invalid UTF-8, controls: 422 naming the field */
	is_int(form("name=a%00b", 10, &kv, &field, &e), 422, "form: %%00 is 422");
	is_str(field, "name", "form: 422 names the field");
	ok(strstr(e.msg, "NUL") != NULL, "form: message says NUL (%s)", e.msg);
	is_int(form("name=a\0b", 8, &kv, &field, &e), 422, "form: raw NUL byte is 422");
	is_int(form("n=%C0%AF", 8, &kv, &field, &e), 422, "form: overlong 2-byte UTF-8 is 422");
	ok(strstr(e.msg, "UTF-8") != NULL, "form: message says UTF-8 (%s)", e.msg);
	is_int(form("n=%E0%80%AF", 11, &kv, &field, &e), 422, "form: overlong 3-byte UTF-8 is 422");
	is_int(form("n=%F0%80%80%AF", 14, &kv, &field, &e), 422, "form: overlong 4-byte is 422");
	is_int(form("n=%ED%A0%80", 11, &kv, &field, &e), 422, "form: UTF-16 surrogate is 422");
	is_int(form("n=%F4%90%80%80", 14, &kv, &field, &e), 422, "form: beyond U+10FFFF is 422");
	is_int(form("n=%FF", 5, &kv, &field, &e), 422, "form: 0xFF is 422");
	is_int(form("n=%C3", 5, &kv, &field, &e), 422, "form: truncated sequence is 422");
	is_int(form("n=%80", 5, &kv, &field, &e), 422, "form: lone continuation is 422");
	is_int(form("n=%1B%5B2J", 10, &kv, &field, &e), 422, "form: ESC (terminal control) is 422");
	is_int(form("%FF=1", 5, &kv, &field, &e), 422, "form: invalid name is 422");
	is_str(field, "(name)", "form: a bad name is reported as (name)");
	is_int(form("n=%F0%9F%98%80", 14, &kv, &field, &e), 0, "form: 4-byte emoji is fine");

	/* limits */
	n = HTTP_MAX_FIELDS * 4 + 16;
	big = malloc(n);
	big[0] = '\0';
	for (int i = 0; i < HTTP_MAX_FIELDS; i++)
		strcat(big, "a=1&");
	is_int(form(big, strlen(big), &kv, &field, &e), 0, "form: exactly HTTP_MAX_FIELDS pairs");
	is_int(count(kv), HTTP_MAX_FIELDS, "form: all kept");
	strcat(big, "a=1");
	is_int(form(big, strlen(big), &kv, &field, &e), 400, "form: one pair more is 400");
	ok(strstr(e.msg, "more than") != NULL, "form: says too many (%s)", e.msg);
	free(big);
	big = malloc(HTTP_KEY_MAX + 8);
	memset(big, 'k', HTTP_KEY_MAX + 1);
	strcpy(big + HTTP_KEY_MAX + 1, "=1");
	is_int(form(big, strlen(big), &kv, &field, &e), 400, "form: overlong name is 400");
	big[HTTP_KEY_MAX] = '=';
	big[HTTP_KEY_MAX + 1] = '\0';
	is_int(form(big, strlen(big), &kv, &field, &e), 0,
	       "form: name of HTTP_KEY_MAX bytes is fine");
	free(big);
	/* a million '&': no pairs, no allocation per separator */
	big = malloc(1000001);
	memset(big, '&', 1000000);
	big[1000000] = '\0';
	is_int(form(big, 1000000, &kv, &field, &e), 0, "form: a million separators");
	ok(kv == NULL, "form: ... and no pairs");
	free(big);

	ok(http_parse_form(a, "x=1", 3, &kv, &e) == 0 && kv && !strcmp(kv->val, "1"),
	   "http_parse_form wrapper");
}

static void test_query(void)
{
	struct err e = ERR_INIT;
	struct kv *kv;

	ok(http_parse_query(a, "status=ready&limit=20", &kv, &e) == 0, "query: good");
	is_str(kv_get(kv, "limit"), "20", "query: value");
	ok(http_parse_query(a, "", &kv, &e) == 0 && kv == NULL, "query: empty");
	ok(http_parse_query(a, NULL, &kv, &e) == 0 && kv == NULL, "query: NULL is empty");
	err_clear(&e);
	ok(http_parse_query(a, "next=%2", &kv, &e) < 0 && e.status == 400, "query: bad escape 400");
	ok(strncmp(e.msg, "query:", 6) == 0, "query: message says query (%s)", e.msg);
	err_clear(&e);
	ok(http_parse_query(a, "q=%00", &kv, &e) < 0 && e.status == 422, "query: %%00 is 422");
}

static void test_cookies(void)
{
	struct err e = ERR_INIT;
	struct kv *kv;
	char *big;

	ok(http_parse_cookies(a, "sf_session=abc123; theme=dark", &kv, &e) == 0, "cookies: good");
	is_str(kv_get(kv, "sf_session"), "abc123", "cookies: first");
	is_str(kv_get(kv, "theme"), "dark", "cookies: second");
	ok(http_parse_cookies(a, "  a = 1 ;;; b=\"quoted\";c=", &kv, &e) == 0, "cookies: messy");
	is_str(kv_get(kv, "a"), "1", "cookies: spaces trimmed");
	is_str(kv_get(kv, "b"), "quoted", "cookies: DQUOTEs stripped");
	is_str(kv_get(kv, "c"), "", "cookies: empty value");
	ok(http_parse_cookies(a, "novalue; bad name=1; x\x01y=2; ok=yes; v=caf\xc3\xa9; w=a\x7f",
			      &kv, &e) == 0,
	   "cookies: bad pairs are not an error");
	is_int(count(kv), 1, "cookies: only the good pair kept");
	is_str(kv_get(kv, "ok"), "yes", "cookies: good pair survives bad neighbours");
	ok(http_parse_cookies(a, NULL, &kv, &e) == 0 && !kv, "cookies: no header");
	ok(http_parse_cookies(a, "", &kv, &e) == 0 && !kv, "cookies: empty header");
	ok(http_parse_cookies(a, "=1; ==; ;=", &kv, &e) == 0 && !kv, "cookies: nameless ignored");

	big = malloc(10 * 1000 + 1);
	big[0] = '\0';
	for (int i = 0; i < 1000; i++)
		strcat(big, "k=v; ");
	ok(http_parse_cookies(a, big, &kv, &e) == 0, "cookies: 1000 pairs");
	is_int(count(kv), HTTP_MAX_FIELDS, "cookies: capped at HTTP_MAX_FIELDS");
	free(big);
}

/* Parse JSON; returns the status (0 ok). */
static int js_n(const char *s, size_t n, json_t **out, const char **field, struct err *e)
{
	err_clear(e);
	*out = http_parse_json_ex(a, s, n, field, e);
	return *out ? 0 : e->status;
}

static int js(const char *s, json_t **out, const char **field, struct err *e)
{
	return js_n(s, strlen(s), out, field, e);
}

static void test_json(void)
{
	struct err e = ERR_INIT;
	const char *field;
	json_t *j;
	char deep[200];

	is_int(js("{\"name\":\"shop\",\"engine\":\"medusa\"}", &j, &field, &e), 0, "json: good");
	is_str(json_string_value(json_object_get(j, "name")), "shop", "json: member");
	is_int(js(" {\"a\":[1,2,{\"b\":null}],\"t\":\"caf\xc3\xa9 \\u00e9\"} \n", &j, &field, &e),
	       0, "json: nested, UTF-8 and escapes");
	is_int(js("{\"emoji\":\"\\ud83d\\ude00\"}", &j, &field, &e), 0,
	       "json: surrogate pair escape");
	is_int(js("{\"t\":\"line\\nnext\\ttab\"}", &j, &field, &e), 0, "json: \\n and \\t fine");

	is_int(js("", &j, &field, &e), 400, "json: empty body 400");
	ok(strstr(e.msg, "empty") != NULL, "json: says empty (%s)", e.msg);
	is_int(js("  \n ", &j, &field, &e), 400, "json: whitespace only 400");
	is_int(js("[1,2]", &j, &field, &e), 400, "json: array is 400");
	ok(strstr(e.msg, "object") != NULL, "json: says object (%s)", e.msg);
	is_int(js("\"str\"", &j, &field, &e), 400, "json: string is 400");
	is_int(js("{\"a\":1", &j, &field, &e), 400, "json: truncated 400");
	ok(strstr(e.msg, "line 1") != NULL, "json: message has the position (%s)", e.msg);
	is_int(js("{\"a\":1,}", &j, &field, &e), 400, "json: trailing comma 400");
	is_int(js("{a:1}", &j, &field, &e), 400, "json: bare key 400");
	is_int(js("{\"a\":1}{}", &j, &field, &e), 400, "json: two values 400");
	is_int(js("{\"a\":1,\"a\":2}", &j, &field, &e), 400, "json: duplicate key 400");
	is_int(js("{\"a\":\"\\ud800\"}", &j, &field, &e), 400, "json: lone surrogate escape 400");
	is_int(js("{\"a\":\"x\x01y\"}", &j, &field, &e), 400, "json: raw control char 400");
	is_int(js("{\"n\":123456789012345678901234567890}", &j, &field, &e), 400,
	       "json: integer overflow 400");

	/* 422: bad text inside a string, naming its member */
	is_int(js("{\"name\":\"a\xff\"}", &j, &field, &e), 422, "json: invalid UTF-8 is 422");
	is_str(field, "name", "json: 422 names the member");
	is_int(js("{\"name\":\"\xc0\xaf\"}", &j, &field, &e), 422, "json: overlong UTF-8 is 422");
	is_int(js("{\"name\":\"\xed\xa0\x80\"}", &j, &field, &e), 422,
	       "json: raw surrogate is 422");
	is_int(js("{\"o\":{\"inner\":[\"ok\",\"\xfe\"]}}", &j, &field, &e), 422,
	       "json: nested bad string 422");
	is_str(field, "inner", "json: innermost member named");
	is_int(js("{\"a\":{\"b\":1},\"list\":[{\"x\":1},\"\xff\"]}", &j, &field, &e), 422,
	       "json: array after nested object");
	is_str(field, "list", "json: the array's member named, not a sibling's");
	is_int(js("{\"\xff\":1}", &j, &field, &e), 422, "json: invalid member name 422");
	is_str(field, "(name)", "json: bad name reported as (name)");
	is_int(js("{\"name\":\"a\\u0000b\"}", &j, &field, &e), 422, "json: \\u0000 is 422");
	is_str(field, "name", "json: \\u0000 names the member");
	ok(strstr(e.msg, "NUL") != NULL, "json: says NUL (%s)", e.msg);
	is_int(js("{\"name\":\"a\\u001bb\"}", &j, &field, &e), 422, "json: escaped ESC is 422");
	is_int(js_n("{\"name\":\"a\0b\"}", 13, &j, &field, &e), 422, "json: raw NUL in string 422");
	is_int(js("{\"a\\u0000\":1}", &j, &field, &e), 400, "json: NUL in a name is 400 (jansson)");
	/* found by fuzz-json: an escaped control character in a member name was let through */
	is_int(js("{\"a\\u001bb\":1}", &j, &field, &e), 422, "json: escaped ESC in a name is 422");
	is_str(field, "(name)", "json: ... reported as (name)");

	/* depth */
	memset(deep, 0, sizeof(deep));
	for (int i = 0; i < HTTP_JSON_DEPTH; i++)
		deep[i] = i == 0 ? '{' : '[';
	{
		char doc[256];

		snprintf(doc, sizeof(doc), "{\"a\":%s", deep + 1);
		/* {"a": then 31 '[' : depth 32 */
		strcat(doc, "1");
		for (int i = 1; i < HTTP_JSON_DEPTH; i++)
			strcat(doc, "]");
		strcat(doc, "}");
		is_int(js(doc, &j, &field, &e), 0, "json: depth HTTP_JSON_DEPTH is fine");
		snprintf(doc, sizeof(doc), "{\"a\":[%s", deep + 1);
		is_int(js(doc, &j, &field, &e), 400, "json: one level deeper is 400");
		ok(strstr(e.msg, "deeper") != NULL, "json: says too deep (%s)", e.msg);
	}
	{
		size_t n = 1000000;
		char *bomb = malloc(n + 1);

		memset(bomb, '[', n);
		bomb[n] = '\0';
		is_int(js(bomb, &j, &field, &e), 400, "json: a million '[' is a quick 400");
		free(bomb);
	}
	is_int(js("{\"s\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"}", &j, &field, &e), 0,
	       "json: brackets inside strings do not count as depth");
	is_int(js("{\"s\":\"\\\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"}", &j, &field, &e), 0,
	       "json: escaped quote does not end the string");

	err_clear(&e);
	ok(http_parse_json(a, "{}", 2, &e) != NULL, "http_parse_json wrapper");
	arena_reset(a); /* deferred json_decref runs here (ASan would see a leak otherwise) */
}

static void test_text_and_path(void)
{
	struct err e = ERR_INIT;
	char *p;

	ok(http_valid_text("plain text\twith\r\nlines", 22), "valid_text: ASCII with whitespace");
	ok(http_valid_text("\xe2\x82\xac", 3), "valid_text: euro sign");
	ok(!http_valid_text("a\0b", 3), "valid_text: NUL rejected");
	ok(!http_valid_text("\x7f\x01", 2), "valid_text: C0 control rejected");
	ok(!http_valid_text("\xe2\x82", 2), "valid_text: truncated rejected");
	ok(http_valid_text("", 0), "valid_text: empty is fine");

	p = http_decode_path(a, "/stores/42", &e);
	is_str(p, "/stores/42", "path: plain");
	p = http_decode_path(a, "/a%20b/caf%C3%A9+x", &e);
	is_str(p, "/a b/caf\xc3\xa9+x", "path: %%XX decoded, + kept");
	err_clear(&e);
	ok(http_decode_path(a, "/a%00b", &e) == NULL && e.status == 400, "path: %%00 is 400");
	err_clear(&e);
	ok(http_decode_path(a, "/a%g0", &e) == NULL && e.status == 400, "path: bad escape 400");
	err_clear(&e);
	ok(http_decode_path(a, "/a%", &e) == NULL, "path: trailing %% is 400");
	err_clear(&e);
	ok(http_decode_path(a, "/%C0%AF", &e) == NULL, "path: overlong UTF-8 is 400");
	err_clear(&e);
	ok(http_decode_path(a, "/x%0D%0ASet-Cookie:%20a=b", &e) == NULL,
	   "path: CR LF (header/log injection) is 400");
	err_clear(&e);
	ok(http_decode_path(a, "relative", &e) == NULL, "path: must start with /");
}

int main(void)
{
	a = arena_new();
	test_form();
	arena_reset(a);
	test_query();
	test_cookies();
	arena_reset(a);
	test_json();
	test_text_and_path();
	arena_free(a);
	return done_testing();
}
