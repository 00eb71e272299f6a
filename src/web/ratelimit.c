/* ratelimit.c - fixed-window counters: one upsert per event, windows on the database clock. */
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "ratelimit.h"

/* clang-format off */
#define RL_WINDOW "($3::int * interval '1 second')"
#define RL_LEFT(ws) "greatest(1, ceil(extract(epoch FROM " ws " + " RL_WINDOW " - now())))::int"

static struct db_stmt st_peek = DB_STMT(
	"SELECT count, " RL_LEFT("window_start") " FROM rate_limits "
	"WHERE bucket = $1 AND key = $2 AND window_start > now() - " RL_WINDOW,
	3);

static struct db_stmt st_hit = DB_STMT(
	"INSERT INTO rate_limits AS r (bucket, key, window_start, count) "
	"VALUES ($1, $2, now(), 1) "
	"ON CONFLICT (bucket, key) DO UPDATE SET "
	"window_start = CASE WHEN r.window_start <= now() - " RL_WINDOW
	" THEN now() ELSE r.window_start END, "
	"count = CASE WHEN r.window_start <= now() - " RL_WINDOW " THEN 1 ELSE r.count + 1 END "
	"RETURNING count, " RL_LEFT("r.window_start"),
	3);

static struct db_stmt st_take = DB_STMT(
	"INSERT INTO rate_limits AS r (bucket, key, window_start, count) "
	"VALUES ($1, $2, now(), 1) "
	"ON CONFLICT (bucket, key) DO UPDATE SET "
	"window_start = CASE WHEN r.window_start <= now() - " RL_WINDOW
	" THEN now() ELSE r.window_start END, "
	"count = CASE WHEN r.window_start <= now() - " RL_WINDOW " THEN 1 ELSE r.count + 1 END "
	"WHERE r.window_start <= now() - " RL_WINDOW " OR r.count < $4::int "
	"RETURNING count, " RL_LEFT("r.window_start"),
	4);

static struct db_stmt st_clear = DB_STMT("DELETE FROM rate_limits WHERE bucket = $1 AND key = $2", 2);

static struct db_stmt st_gc = DB_STMT(
	"DELETE FROM rate_limits WHERE window_start < now() - ($1::int * interval '1 second')", 1);
/* clang-format on */

static void rl_fill(PGresult *res, struct ratelimit_state *out)
{
	if (!out)
		return;
	out->count = db_rows(res) ? (int)db_get_ll(res, 0, 0) : 0;
	out->retry_after = db_rows(res) ? (int)db_get_ll(res, 0, 1) : 0;
}

/* Run a (bucket, key, window) statement that answers one counter row into out. */
static int rl_counter(struct arena *a, struct db_stmt *st, const char *bucket, const char *key,
		      int window, struct ratelimit_state *out, struct err *e)
{
	char w[16];
	const char *p[3] = {bucket, key, w};
	PGresult *res;

	snprintf(w, sizeof(w), "%d", window);
	res = db_run(a, st, p, e);
	if (!res)
		return -1;
	rl_fill(res, out);
	return 0;
}

int ratelimit_peek(struct arena *a, const char *bucket, const char *key, int window,
		   struct ratelimit_state *out, struct err *e)
{
	return rl_counter(a, &st_peek, bucket, key, window, out, e);
}

int ratelimit_hit(struct arena *a, const char *bucket, const char *key, int window,
		  struct ratelimit_state *out, struct err *e)
{
	return rl_counter(a, &st_hit, bucket, key, window, out, e);
}

int ratelimit_take(struct arena *a, const char *bucket, const char *key, int limit, int window,
		   struct ratelimit_state *out, struct err *e)
{
	char w[16], l[16];
	const char *p[4] = {bucket, key, w, l};
	PGresult *res;

	snprintf(w, sizeof(w), "%d", window);
	snprintf(l, sizeof(l), "%d", limit);
	res = db_run(a, &st_take, p, e);
	if (!res)
		return -1;
	if (db_rows(res)) {
		rl_fill(res, out);
		return 1;
	}
	if (ratelimit_peek(a, bucket, key, window, out, e) < 0)
		return -1;
	return 0;
}

int ratelimit_clear(struct arena *a, const char *bucket, const char *key, struct err *e)
{
	const char *p[2] = {bucket, key};

	return db_run(a, &st_clear, p, e) ? 0 : -1;
}

int ratelimit_gc(struct arena *a, int max_age, struct err *e)
{
	char s[16];
	const char *p[1] = {s};

	snprintf(s, sizeof(s), "%d", max_age);
	return db_run(a, &st_gc, p, e) ? 0 : -1;
}
