/* t-y2j.c - YAML reader: typing rules, limits, errors, positions; emitter round trip. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "tap.h"
#include "y2j.h"

/* The single document of src, or NULL with the error in e. */
static json_t *load1(const char *src, struct err *e)
{
	err_clear(e);
	return y2j_load_string1(src, strlen(src), "t.yaml", NULL, e);
}

/* The value of key "v" in "v: <scalar>" as compact JSON, or "ERR: msg". */
static char *typed(const char *scalar_text)
{
	static char out[512];
	struct err e = ERR_INIT;
	char src[256];
	json_t *d;
	char *j;

	snprintf(src, sizeof(src), "v: %s\n", scalar_text);
	d = load1(src, &e);
	if (!d) {
		snprintf(out, sizeof(out), "ERR: %s", e.msg);
		return out;
	}
	j = json_dumps(json_object_get(d, "v"), JSON_ENCODE_ANY | JSON_COMPACT);
	snprintf(out, sizeof(out), "%s", j ? j : "(null)");
	free(j);
	json_decref(d);
	return out;
}

static void test_scalars(void)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
	    /* null */
	    {"", "null"},
	    {"~", "null"},
	    {"null", "null"},
	    {"Null", "null"},
	    {"NULL", "null"},
	    {"nULL", "\"nULL\""},
	    /* YAML 1.1 booleans, as Kubernetes reads them */
	    {"yes", "true"},
	    {"Yes", "true"},
	    {"YES", "true"},
	    {"on", "true"},
	    {"ON", "true"},
	    {"true", "true"},
	    {"True", "true"},
	    {"y", "true"},
	    {"Y", "true"},
	    {"no", "false"},
	    {"No", "false"},
	    {"off", "false"},
	    {"Off", "false"},
	    {"false", "false"},
	    {"FALSE", "false"},
	    {"n", "false"},
	    {"yES", "\"yES\""},
	    {"tRUE", "\"tRUE\""},
	    /* quoted is always a string */
	    {"\"no\"", "\"no\""},
	    {"'on'", "\"on\""},
	    {"\"123\"", "\"123\""},
	    {"''", "\"\""},
	    {"\"~\"", "\"~\""},
	    /* integers */
	    {"0", "0"},
	    {"-0", "0"},
	    {"42", "42"},
	    {"+42", "42"},
	    {"-17", "-17"},
	    {"0x1F", "31"},
	    {"0X1f", "31"},
	    {"-0x10", "-16"},
	    {"0o14", "12"},
	    {"0O14", "12"},
	    {"014", "12"},
	    {"0644", "420"},
	    {"0b101", "5"},
	    {"1_000", "1000"},
	    {"9223372036854775807", "9223372036854775807"},
	    {"-9223372036854775808", "-9223372036854775808"},
	    /* floats */
	    {"1e3", "1000.0"},
	    {"1.5", "1.5"},
	    {"-.5", "-0.5"},
	    {"1.", "1.0"},
	    {"6.02E+23", "6.02e23"},
	    /* not numbers */
	    {"0x", "\"0x\""},
	    {"1.2.3", "\"1.2.3\""},
	    {"1e", "\"1e\""},
	    {"0xZZ", "\"0xZZ\""},
	    {"12abc", "\"12abc\""},
	    {"nan", "\"nan\""},
	    {"inf", "\"inf\""},
	    {"2001-12-14", "\"2001-12-14\""},
	    {"1:20", "\"1:20\""},
	    {"1Gi", "\"1Gi\""},
	    {"500m", "\"500m\""},
	    {"v1.2", "\"v1.2\""},
	    /* tags */
	    {"!!str 123", "\"123\""},
	    {"!!str yes", "\"yes\""},
	    {"!!int \"12\"", "12"},
	    {"!!float 1", "1.0"},
	    {"!!bool \"on\"", "true"},
	    {"!!null ''", "null"},
	    {"! 12", "\"12\""},
	    /* block scalars are strings */
	    {"|\n  no\n", "\"no\\n\""},
	    {">-\n  1e3\n", "\"1e3\""},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		is_str(typed(cases[i].in), cases[i].want, "scalar %zu: %s", i, cases[i].want);
}

static void test_scalar_errors(void)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
	    {".inf", "ERR: t.yaml:1:4: '.inf': JSON has no infinity"},
	    {"-.Inf", "ERR: t.yaml:1:4: '-.Inf': JSON has no infinity"},
	    {".NaN", "ERR: t.yaml:1:4: '.NaN': JSON has no NaN"},
	    {"09", "ERR: t.yaml:1:4: '09': a leading 0 means octal but it has 8 or 9; quote it or "
		   "drop the 0"},
	    {"9223372036854775808", "ERR: t.yaml:1:4: '9223372036854775808': integer out of range"},
	    {"1e999", "ERR: t.yaml:1:4: '1e999': number out of range"},
	    {"!!int abc", "ERR: t.yaml:1:4: 'abc' is not a valid !!int"},
	    {"!!bool 1", "ERR: t.yaml:1:4: '1' is not a valid !!bool"},
	    {"!!binary aGVsbG8=", "ERR: t.yaml:1:4: unsupported tag '!!binary'"},
	    {"!local x", "ERR: t.yaml:1:4: unsupported tag '!local'"},
	    {"!!set {a: null}", "ERR: t.yaml:1:4: unsupported tag '!!set'"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		is_str(typed(cases[i].in), cases[i].want, "error for '%s'", cases[i].in);
}

static void test_keys(void)
{
	struct err e = ERR_INIT;
	json_t *d = load1("yes: 1\n0x10: 2\n~: 3\n1.5: 4\n\"no\": 5\nplain: 6\n", &e);
	char *j;

	ok(d != NULL, "non-string keys load");
	j = d ? json_dumps(d, JSON_COMPACT) : NULL;
	is_str(j, "{\"true\":1,\"16\":2,\"null\":3,\"1.5\":4,\"no\":5,\"plain\":6}",
	       "keys become text the way sigs.k8s.io/yaml writes them");
	free(j);
	json_decref(d);

	ok(!load1("a: 1\nb: 2\na: 3\n", &e), "duplicate key rejected");
	is_str(e.msg, "t.yaml:3:1: duplicate key 'a'", "duplicate key error names line and column");
	ok(!load1("m:\n  yes: 1\n  true: 2\n", &e), "duplicate after key conversion rejected");
	is_str(e.msg, "t.yaml:3:3: duplicate key 'true'", "converted duplicate position");
	ok(!load1("? [a, b]\n: 1\n", &e), "sequence key rejected");
	is_str(e.msg, "t.yaml:1:3: a mapping key must be a scalar", "complex key error");
	ok(!load1("base: {a: 1}\nx:\n  <<: {b: 2}\n", &e), "merge key rejected");
	is_str(e.msg, "t.yaml:3:3: merge keys (<<) are not supported", "merge key error");
}

static void test_structure_errors(void)
{
	struct err e = ERR_INIT;
	char deep[400];
	size_t n = 0;

	ok(!load1("a: &x 1\nb: *x\n", &e), "alias refused");
	is_str(e.msg, "t.yaml:2:4: aliases are not supported", "alias error position");
	{
		json_t *d = load1("a: &x 1\n", &e);

		ok(d != NULL, "anchor without alias accepted");
		json_decref(d);
	}

	ok(!load1("a: [1, 2\n", &e), "syntax error");
	ok(!strncmp(e.msg, "t.yaml:2:1: ", 12), "syntax error has file:line:col (%s)", e.msg);

	ok(!load1("a: 1\n b: 2\n", &e), "bad indentation is an error");
	ok(!strncmp(e.msg, "t.yaml:2:3: ", 12), "indentation error position (%s)", e.msg);

	ok(!load1("a: 1\n---\nb: 2\n", &e), "single-document loader refuses two documents");
	is_str(e.msg, "t.yaml:2:1: more than one YAML document", "second document position");

	for (int i = 0; i < 64; i++)
		deep[n++] = '[';
	for (int i = 0; i < 64; i++)
		deep[n++] = ']';
	deep[n] = '\0';
	json_decref(load1(deep, &e));
	ok(e.status == 0, "64 levels are fine");
	memmove(deep + 1, deep, n + 1);
	deep[0] = '[';
	strcat(deep, "]");
	ok(!load1(deep, &e), "65 levels refused");
	is_str(e.msg, "t.yaml:1:65: nested deeper than 64 levels", "depth error");

	{
		struct y2j_opts o = {.max_size = 10};

		err_clear(&e);
		ok(!y2j_load_string("a: 12345678\n", 12, "big.yaml", &o, &e), "size limit");
		is_str(e.msg, "big.yaml: 12 bytes is more than the 10 allowed", "size error");
	}
	ok(!load1("a: \"\\ud800\"\n", &e), "lone surrogate escape is an error");
	{
		json_t *d = load1("a: \"x\\0y\"\n", &e);

		ok(d && json_string_length(json_object_get(d, "a")) == 3,
		   "NUL kept inside a value");
		json_decref(d);
	}
	ok(!load1("\"k\\0x\": 1\n", &e), "NUL in a key refused");
}

static void test_documents(void)
{
	struct err e = ERR_INIT;
	const char *src = "# comment only\n---\na: 1\n---\n---\n- x\n...\n";
	json_t *docs = y2j_load_string(src, strlen(src), "m.yaml", NULL, &e);
	char *j = docs ? json_dumps(docs, JSON_COMPACT) : NULL;

	is_str(j, "[{\"a\":1},null,[\"x\"]]", "multi-document stream, empty one is null");
	free(j);
	json_decref(docs);

	docs = y2j_load_string("", 0, "empty.yaml", NULL, &e);
	ok(docs && json_is_array(docs) && json_array_size(docs) == 0, "empty stream: no documents");
	json_decref(docs);
	docs = y2j_load_string1("# nothing\n", 10, "empty.yaml", NULL, &e);
	ok(docs && json_is_null(docs), "single-document loader: empty stream is null");
	json_decref(docs);
}

static void test_marks(void)
{
	struct y2j_marks *m = y2j_marks_new();
	struct y2j_opts o = {.marks = m};
	struct err e = ERR_INIT;
	const char *src = "a: 1\nlist:\n  - x\n  - k: |\n      text\n---\nb: 2\n";
	json_t *docs = y2j_load_string(src, strlen(src), "pos.yaml", &o, &e);
	struct y2j_pos kp, vp;
	json_t *d0, *list;

	ok(docs != NULL, "marked load");
	d0 = json_array_get(docs, 0);
	list = json_object_get(d0, "list");
	ok(y2j_marks_find(m, d0, "a", 0, &kp, &vp) == 0, "mark for key a");
	ok(kp.line == 1 && kp.col == 1 && vp.line == 1 && vp.col == 4, "a at 1:1, value 1:4");
	is_str(kp.file, "pos.yaml", "mark file name");
	ok(y2j_marks_find(m, list, NULL, 1, NULL, &vp) == 0 && vp.line == 4 && vp.col == 5,
	   "second list item at 4:5");
	ok(y2j_marks_find(m, json_array_get(list, 1), "k", 0, &kp, &vp) == 0 && kp.line == 4 &&
	       kp.col == 5 && vp.line == 4 && vp.col == 8,
	   "block scalar value starts at its indicator");
	ok(y2j_marks_find(m, docs, NULL, 1, NULL, &vp) == 0 && vp.line == 7,
	   "document 2 at line 7");
	ok(y2j_marks_find(m, d0, "nope", 0, &kp, NULL) == -1 && kp.line == 0, "unknown node");
	json_decref(docs);
	y2j_marks_free(m);
}

/* emit then read back: the same JSON */
static void roundtrip(const char *json_text, const char *want_yaml)
{
	json_error_t je;
	json_t *v = json_loads(json_text, JSON_DECODE_ANY, &je), *back;
	struct buf b = BUF_INIT;
	struct err e = ERR_INIT;

	y2j_emit(&b, v);
	ok(!b.failed, "emit %s", json_text);
	if (want_yaml)
		is_str(b.s, want_yaml, "emitted form of %s", json_text);
	back = y2j_load_string1(b.s, b.len, "emitted", NULL, &e);
	if (!ok(back && json_equal(v, back), "round trip %s", json_text))
		diag("yaml was:\n%s\nerror: %s", b.s, e.msg);
	json_decref(back);
	json_decref(v);
	buf_release(&b);
}

static void test_emit(void)
{
	roundtrip(
	    "{\"a\":\"no\",\"b\":\"1e3\",\"c\":\"0o14\",\"d\":\"\",\"e\":\"a: b\",\"f\":\"~\"}",
	    "a: \"no\"\nb: \"1e3\"\nc: \"0o14\"\nd: \"\"\ne: \"a: b\"\nf: \"~\"\n");
	roundtrip(
	    "{\"k\":{\"list\":[1,2.5,true,null,\"x\",[],{}],\"e\":{}}}",
	    "k:\n  list:\n  - 1\n  - 2.5\n  - true\n  - null\n  - x\n  - []\n  - {}\n  e: {}\n");
	roundtrip("[{\"name\":\"a\",\"image\":\"wordpress:6.5\"},[1,[2]]]",
		  "- name: a\n  image: wordpress:6.5\n- - 1\n  - - 2\n");
	roundtrip("{\"s\":\"line1\\nline2\\n\",\"t\":\"x\\ny\"}",
		  "s: |\n  line1\n  line2\nt: |-\n  x\n  y\n");
	roundtrip("{\"q\":\"say \\\"hi\\\" \\\\ \\t \\u0001 \\u2028 \\u00e9\"}", NULL);
	roundtrip("{\"n\":\"a\\n\\n\",\"m\":\" lead\\n\",\"o\":\"a\\n  \\nb\"}", NULL);
	roundtrip("{\"--- \":\"---\",\"# c\":\"#x\",\"{\":\"[\",\"y\":\"Y\",\"1\":\"2001-01-01\"}",
		  NULL);
	roundtrip("{\"r\":1000.0,\"i\":-5,\"big\":1e300}", NULL);
	roundtrip("\"top\"", "top\n");
	{
		char k[300], j[400];

		memset(k, 'k', 200);
		k[200] = '\0';
		snprintf(j, sizeof(j), "{\"%s\":[1]}", k);
		roundtrip(j, NULL);
	}
}

static void test_files(void)
{
	char path[] = "/tmp/t-y2j-file-XXXXXX";
	int fd = mkstemp(path);
	struct y2j_opts small = {.max_size = 15};
	struct err e = ERR_INIT;
	json_t *v;
	FILE *f = fdopen(fd, "w");

	fputs("a: 1\n---\nb: [x]\n", f);
	fclose(f);
	v = y2j_load_file(path, NULL, &e);
	ok(v && json_array_size(v) == 2, "file with two documents");
	json_decref(v);
	err_clear(&e);
	ok(!y2j_load_file1(path, NULL, &e), "single-document file loader refuses two");
	ok(strstr(e.msg, ":2:1: more than one YAML document") && !strncmp(e.msg, path, strlen(path)),
	   "error starts with the path (%s)", e.msg);
	err_clear(&e);
	ok(!y2j_load_file(path, &small, &e) && e.status == 413, "file over max_size refused");
	ok(strstr(e.msg, "more than the 15 bytes allowed") != NULL, "%s", e.msg);
	unlink(path);
	err_clear(&e);
	ok(!y2j_load_file(path, NULL, &e), "missing file");
	ok(strstr(e.msg, "cannot open") != NULL, "%s", e.msg);
}

static void test_config_file(void)
{
	char path[] = "/tmp/t-y2j-XXXXXX";
	int fd = mkstemp(path);
	struct config c;
	struct err e = ERR_INIT;
	FILE *f;

	ok(fd >= 0, "temp file");
	memset(&c, 0, sizeof(c));
	f = fdopen(fd, "w");
	fputs("# settings\ndomain: shops.example.com\nworkers: 0x4\nregistration_open: no\n"
	      "tls_issuer: ~\n",
	      f);
	fclose(f);
	ok(config_load_file(&c, path, &e) == 0, "config file loads (%s)", e.msg);
	is_str(c.domain, "shops.example.com", "string setting");
	is_int(c.workers, 4, "integer setting from 0x4");
	is_int(c.registration_open, 0, "boolean setting from 'no'");
	is_str(c.tls_issuer, "", "null setting is empty");

	f = fopen(path, "w");
	fputs("domain: x\n\nwrokers: 3\n", f);
	fclose(f);
	err_clear(&e);
	ok(config_load_file(&c, path, &e) < 0, "unknown setting refused");
	ok(strstr(e.msg, ":3: unknown setting 'wrokers'") != NULL, "unknown key names line 3 (%s)",
	   e.msg);

	f = fopen(path, "w");
	fputs("domain: [a, b]\n", f);
	fclose(f);
	err_clear(&e);
	ok(config_load_file(&c, path, &e) < 0, "non-scalar setting refused");
	ok(strstr(e.msg, ":1: 'domain' must be a single value") != NULL, "%s", e.msg);

	f = fopen(path, "w");
	fputs("domain: x\ndomain: y\n", f);
	fclose(f);
	err_clear(&e);
	ok(config_load_file(&c, path, &e) < 0, "duplicate setting refused");
	ok(strstr(e.msg, ":2:1: duplicate key 'domain'") != NULL, "%s", e.msg);

	f = fopen(path, "w");
	fputs("- a\n", f);
	fclose(f);
	err_clear(&e);
	ok(config_load_file(&c, path, &e) < 0, "a list is not a settings file");
	unlink(path);
	free(c.domain);
	free(c.tls_issuer);
}

int main(void)
{
	test_scalars();
	test_scalar_errors();
	test_keys();
	test_structure_errors();
	test_documents();
	test_marks();
	test_emit();
	test_files();
	test_config_file();
	return done_testing();
}
