/* t-store.c - store ids, the input rules for names and engines, statuses (no database). */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "store.h"
#include "tap.h"

static int name_ok(const char *s)
{
	struct err e = ERR_INIT;

	return store_check_name(s, &e) == 0;
}

/*
 * The newest CHECK (status IN (...)) of the sql/ migrations (they apply in
 * file order) as "a,b,c", into out; "" when there is none.
 */
/* Does needle occur in [from, to)? */
static int strstr_before(const char *from, const char *to, const char *needle)
{
	const char *hit = strstr(from, needle);

	return hit && hit < to;
}

static void schema_statuses(char *out, size_t size)
{
	const char *root = getenv("SF_ROOT");
	char pattern[4200], text[65536];
	glob_t g;

	*out = '\0';
	snprintf(pattern, sizeof(pattern), "%s/sql/*.sql", root ? root : ".");
	if (glob(pattern, 0, NULL, &g) != 0)
		return;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		FILE *f = fopen(g.gl_pathv[i], "r");
		size_t n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
		const char *p = text;

		if (f)
			fclose(f);
		text[n] = '\0';
		while ((p = strstr(p, "CHECK (status IN"))) {
			const char *end, *stmt = p;

			/* Only the stores table's: its statement names it (other tables have statuses too). */
			while (stmt > text && stmt[-1] != ';')
				stmt--;
			if (!strstr_before(stmt, p, "TABLE stores ")) {
				p += 16;
				continue;
			}
			p = strchr(p + 16, '(');
			end = p ? strchr(p, ')') : NULL;
			if (!end)
				break;
			*out = '\0';
			for (const char *q = p; (q = strchr(q, '\'')) && q < end;) {
				const char *close = strchr(q + 1, '\'');

				if (!close)
					break;
				snprintf(out + strlen(out), size - strlen(out), "%s%.*s",
					 *out ? "," : "", (int)(close - q - 1), q + 1);
				q = close + 1;
			}
			p = end;
		}
	}
	globfree(&g);
}

int main(void)
{
	char id[STORE_ID_LEN + 1], prev[STORE_ID_LEN + 1] = "";
	int good = 1, differ = 0, digits = 0;
	char long64[64 * 2 + 1] = "", long65[65 * 2 + 1] = "";
	struct err e = ERR_INIT;

	if (sodium_init() < 0)
		BUG("sodium_init");
	for (int i = 0; i < 2000; i++) {
		store_new_id(id);
		good &= store_id_valid(id);
		differ += strcmp(id, prev) != 0;
		digits += strpbrk(id + 1, "0123456789") != NULL;
		memcpy(prev, id, sizeof(id));
	}
	ok(good, "2000 new ids all have the id shape");
	ok(differ == 2000, "and no two in a row are equal");
	ok(digits > 1000, "digits appear after the first letter");

	ok(store_id_valid("abcdefgh"), "abcdefgh is an id");
	ok(store_id_valid("a1234567"), "a1234567 is an id");
	ok(!store_id_valid("1abcdefg"), "a leading digit is not");
	ok(!store_id_valid("abcdefg"), "7 characters are not");
	ok(!store_id_valid("abcdefghi"), "9 characters are not");
	ok(!store_id_valid("Abcdefgh"), "upper case is not");
	ok(!store_id_valid("abc-efgh"), "a dash is not");
	ok(!store_id_valid(""), "empty is not");
	ok(!store_id_valid(NULL), "NULL is not");

	for (int i = 0; i < 64; i++)
		strcat(long64, "\xc3\xa9");
	memcpy(long65, long64, sizeof(long64));
	strcat(long65, "\xc3\xa9");
	ok(name_ok("My shop"), "a plain name");
	ok(name_ok("\xe2\x98\x95 Caf\xc3\xa9"), "UTF-8 text");
	ok(name_ok(long64), "64 two-byte characters (128 bytes)");
	ok(!name_ok(long65), "65 characters");
	ok(!name_ok(""), "empty");
	ok(!name_ok(NULL), "missing");
	ok(!name_ok("   "), "only spaces");
	ok(!name_ok("a\tb"), "a tab");
	ok(!name_ok("a\x7f"), "DEL");
	ok(!name_ok("a\xc2\x85"), "a C1 control (U+0085)");
	ok(!name_ok("a\xff"), "a byte that is never UTF-8");
	ok(!name_ok("a\xc0\xafz"), "an overlong encoding");
	ok(!name_ok("a\xed\xa0\x80"), "a surrogate");
	ok(!name_ok("a\xe2\x98"), "a truncated sequence");
	ok(store_check_engine("medusa", &e) == 0 && store_check_engine("woocommerce", &e) == 0,
	   "both engines");
	ok(store_check_engine("Medusa", &e) < 0 && e.status == 422, "engines are lower case (422)");
	ok(store_status_valid("degraded") && !store_status_valid("ready "), "status names");
	ok(store_status_busy("deleting") && !store_status_busy("failed"), "busy statuses");
	{
		char schema[512], names[512] = "";

		for (int i = 0; store_statuses[i]; i++)
			snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
				 i ? "," : "", store_statuses[i]);
		schema_statuses(schema, sizeof(schema));
		is_str(names, schema, "lifecycle.h's statuses are the schema's, in its order");
		is_int(store_status_parse(store_status_name(STORE_UPGRADING)), STORE_UPGRADING,
		       "a status name parses back to its enum");
		is_str(store_status_name(STORE_STATUS_N), "", "no name past the last status");
		ok(store_status_parse(NULL) < 0 && store_status_parse("Ready") < 0,
		   "NULL and other spellings name no status");
	}
	return done_testing();
}
