/* t-admin.c - the admin filters' parsers: ISO 8601 times for the audit log, page limits. */
#include <stdio.h>

#include "admin.h"
#include "tap.h"

#define US 1000000LL

/* 2026-03-10T00:00:00Z */
#define D0 1773100800LL

static void time_ok(const char *s, long long lo, long long hi)
{
	struct err e = ERR_INIT;
	long long l = -1, h = -1;

	if (!ok(admin_parse_time(s, &l, &h, &e) == 0, "'%s' parses", s)) {
		diag("%s", e.msg);
		return;
	}
	is_int(l, lo, "'%s': first instant", s);
	is_int(h, hi, "'%s': first instant after it", s);
}

static void time_bad(const char *s)
{
	struct err e = ERR_INIT;
	long long l, h;

	ok(admin_parse_time(s, &l, &h, &e) < 0 && e.status == 422, "'%s' is a 422", s ? s : "NULL");
}

int main(void)
{
	struct err e = ERR_INIT;
	int n;

	time_ok("2026-03-10", D0 * US, (D0 + 86400) * US);
	time_ok("2026-03-10T10:30", (D0 + 37800) * US, (D0 + 37860) * US);
	time_ok("2026-03-10 10:30", (D0 + 37800) * US, (D0 + 37860) * US);
	time_ok("2026-03-10t10:30:15z", (D0 + 37815) * US, (D0 + 37816) * US);
	time_ok("2026-03-10T10:30:15.25Z", (D0 + 37815) * US + 250000, (D0 + 37815) * US + 260000);
	time_ok("2026-03-10T10:30:15.123456Z", (D0 + 37815) * US + 123456,
		(D0 + 37815) * US + 123457);
	time_ok("2026-03-10T12:30+02:00", (D0 + 37800) * US, (D0 + 37860) * US);
	time_ok("2026-03-10T08:00-0230", (D0 + 37800) * US, (D0 + 37860) * US);
	time_ok("2024-02-29", 1709164800LL * US, 1709251200LL * US);
	time_ok("1970-01-01T00:00:00Z", 0, US);

	time_bad(NULL);
	time_bad("");
	time_bad("yesterday");
	time_bad("2026-3-10");
	time_bad("2026-02-29"); /* not a leap year */
	time_bad("2026-04-31");
	time_bad("2026-13-01");
	time_bad("2026-00-10");
	time_bad("2026-03-10T24:00");
	time_bad("2026-03-10T10:60");
	time_bad("2026-03-10T10:30:60");
	time_bad("2026-03-10T10");
	time_bad("2026-03-10T10:30:15.");
	time_bad("2026-03-10T10:30:15.1234567");
	time_bad("2026-03-10T10:30+15:00");
	time_bad("2026-03-10T10:30+02:60");
	time_bad("2026-03-10Z");
	time_bad("2026-03-10T10:30Z ");
	time_bad("1899-12-31");
	time_bad("2026-03-10T10:30:15Zjunk");
	time_bad("2026-03-10T10:30:15.5555555555555555555555555555555555555Z");

	ok(admin_parse_limit(NULL, 50, 200, &n, &e) == 0 && n == 50, "no limit: the default");
	ok(admin_parse_limit("", 50, 200, &n, &e) == 0 && n == 50, "an empty limit: the default");
	ok(admin_parse_limit("200", 50, 200, &n, &e) == 0 && n == 200, "limit at the maximum");
	ok(admin_parse_limit("1", 50, 200, &n, &e) == 0 && n == 1, "limit 1");
	{
		const char *bad[] = {"0", "201", "-1", "x", "1e2", " 5", "99999999999", NULL};

		for (int i = 0; bad[i]; i++) {
			struct err e2 = ERR_INIT;

			ok(admin_parse_limit(bad[i], 50, 200, &n, &e2) < 0 && e2.status == 422,
			   "limit '%s' is a 422", bad[i]);
		}
	}
	return done_testing();
}
