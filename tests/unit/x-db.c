/* x-db.c - db.c, ratelimit.c, audit.c and the users table against a real PostgreSQL (t0208 runs
 * it). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "apitoken.h"
#include "audit.h"
#include "auth.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "ratelimit.h"
#include "session.h"
#include "tap.h"

/*
 * Needs a migrated database in SF_DATABASE_URL with no users yet:
 * tests/t0208-db-layer.sh provides one and runs this program (an x-*.c
 * "driven" test: built with the unit tests, run by its shell test only).
 */

static struct arena *A;

/* A second, independent connection: to act on db.c's backend from outside. */
static PGconn *side;

static const char *side_val(const char *sql)
{
	static char out[256];
	PGresult *res = PQexec(side, sql);

	snprintf(out, sizeof(out), "%s",
		 PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) ? PQgetvalue(res, 0, 0)
									  : "?");
	PQclear(res);
	return out;
}

static void test_errors(void)
{
	struct err e = ERR_INIT;
	const char *p[1] = {"x"};

	ok(db_ping(A, &e) == 0, "db_ping answers");
	ok(db_exec(A, "CREATE TEMP TABLE t (k text PRIMARY KEY)", 0, NULL, &e) != NULL,
	   "create a temp table");
	ok(db_exec(A, "INSERT INTO t VALUES ($1)", 1, p, &e) != NULL, "insert once");
	ok(db_exec(A, "INSERT INTO t VALUES ($1)", 1, p, &e) == NULL, "insert twice fails");
	is_int(e.status, 409, "unique violation -> 409");
	is_str(db_last_sqlstate(), "23505", "SQLSTATE 23505 kept");
	err_clear(&e);
	p[0] = "not a number";
	ok(db_exec(A, "SELECT $1::int", 1, p, &e) == NULL && e.status == 422,
	   "bad input syntax -> 422");
	err_clear(&e);
	ok(db_exec(A, "SELECT * FROM no_such_table", 0, NULL, &e) == NULL && e.status == 500,
	   "undefined table -> 500");
	is_str(e.msg, "database error", "a 500's message hides the SQL detail");
}

static int tx_attempts, tx_run;

/* Fails with a serialization failure on the first `fail_times` attempts. */
static int tx_flaky(void *ctx, struct err *e)
{
	int fail_times = *(int *)ctx;
	char key[16];
	const char *p[1] = {key};

	tx_attempts++;
	snprintf(key, sizeof(key), "tx%d.%d", tx_run, tx_attempts);
	if (!db_exec(A, "INSERT INTO t VALUES ($1)", 1, p, e))
		return -1;
	if (tx_attempts <= fail_times &&
	    !db_exec(A, "DO $$ BEGIN RAISE EXCEPTION 'simulated' USING ERRCODE = '40001'; END $$",
		     0, NULL, e))
		return -1;
	return 0;
}

static void test_tx(void)
{
	struct err e = ERR_INIT;
	int fail = 1;
	PGresult *res;

	tx_run = 1;
	tx_attempts = 0;
	ok(db_tx(tx_flaky, &fail, &e) == 0, "db_tx retries a serialization failure");
	is_int(tx_attempts, 2, "two attempts");
	res = db_exec(A, "SELECT string_agg(k, ',' ORDER BY k) FROM t WHERE k LIKE 'tx%'", 0, NULL,
		      &e);
	is_str(db_get(res, 0, 0), "tx1.2", "only the committed attempt's row exists");
	ok(!db_in_tx(), "no transaction left open");

	fail = 99;
	tx_run = 2;
	tx_attempts = 0;
	ok(db_tx(tx_flaky, &fail, &e) < 0, "db_tx gives up");
	is_int(tx_attempts, 3, "after 3 attempts");
	is_int(e.status, 503, "with 503 (try again)");
	ok(!db_in_tx(), "rolled back");
}

static void test_reconnect(void)
{
	static struct db_stmt st = DB_STMT("SELECT $1::int + 1", 1);
	const char *p[1] = {"41"};
	struct err e = ERR_INIT;
	char sql[128];
	PGresult *res;
	const char *pid;

	res = db_run(A, &st, p, &e);
	is_str(db_get(res, 0, 0), "42", "prepared statement runs");
	res = db_exec(A, "SELECT pg_backend_pid()", 0, NULL, &e);
	pid = db_get(res, 0, 0);
	snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%s)", pid ? pid : "0");
	is_str(side_val(sql), "t", "the backend is killed from outside");
	res = db_run(A, &st, p, &e);
	is_str(db_get(res, 0, 0), "42",
	       "the next statement resets the connection, re-prepares and answers");
	res = db_exec(A, "SELECT pg_backend_pid()", 0, NULL, &e);
	ok(db_get(res, 0, 0) && strcmp(db_get(res, 0, 0), pid), "on a new backend");
}

static void test_ratelimit(void)
{
	struct ratelimit_state st;
	struct err e = ERR_INIT;
	int got[5];

	for (int i = 0; i < 5; i++)
		got[i] = ratelimit_take(A, "test.take", "k", 3, 60, &st, &e);
	ok(got[0] == 1 && got[1] == 1 && got[2] == 1, "take: 3 of 3 taken");
	ok(got[3] == 0 && got[4] == 0, "take: the 4th and 5th are refused");
	is_int(st.count, 3, "take: refusals are not counted");
	ok(st.retry_after >= 59 && st.retry_after <= 60, "take: retry after ~60 s (%d)",
	   st.retry_after);
	ok(ratelimit_peek(A, "test.take", "other", 60, &st, &e) == 0 && st.count == 0 &&
	       st.retry_after == 0,
	   "peek: an unknown key has no window");
	ratelimit_hit(A, "test.hit", "k", 60, &st, &e);
	ratelimit_hit(A, "test.hit", "k", 60, &st, &e);
	is_int(st.count, 2, "hit counts every event");
	side_val("UPDATE rate_limits SET window_start = now() - interval '61 seconds'"
		 " WHERE bucket LIKE 'test.%' RETURNING 1");
	ok(ratelimit_peek(A, "test.hit", "k", 60, &st, &e) == 0 && st.count == 0,
	   "peek: an ended window counts 0");
	ok(ratelimit_take(A, "test.take", "k", 3, 60, &st, &e) == 1 && st.count == 1,
	   "take: a new window starts at 1");
	ok(ratelimit_clear(A, "test.take", "k", &e) == 0 &&
	       ratelimit_peek(A, "test.take", "k", 60, &st, &e) == 0 && st.count == 0,
	   "clear forgets the counter");
	ok(ratelimit_gc(A, 30, &e) == 0, "gc runs");
	is_str(side_val("SELECT count(*) FROM rate_limits WHERE bucket = 'test.hit'"), "0",
	       "gc removed the old window");
}

static void test_audit(void)
{
	struct err e = ERR_INIT;
	struct view *d = view_obj(A);

	view_set_str(d, "quote", "it's \"quoted\" </script> \\ é");
	view_set_int(d, "n", 7);
	ok(audit_record(A, 0, "ops", "10.0.0.1", "test.action", "target", d, &e) == 0,
	   "audit_record with details");
	is_str(side_val("SELECT details->>'quote' FROM audit_log WHERE action = 'test.action'"),
	       "it's \"quoted\" </script> \\ é", "details round-trip through jsonb intact");
	is_str(side_val("SELECT details->>'n' FROM audit_log WHERE action = 'test.action'"), "7",
	       "numbers stay numbers");
	is_str(side_val("SELECT coalesce(actor_id::text, 'null') || ' ' || ip FROM audit_log"
			" WHERE action = 'test.action'"),
	       "null 10.0.0.1", "actor 0 is stored as NULL, ip as given");
	ok(audit_record(A, 0, NULL, NULL, "test.bare", NULL, NULL, &e) == 0,
	   "audit_record without details");
	is_str(side_val("SELECT details::text FROM audit_log WHERE action = 'test.bare'"), "{}",
	       "no details -> {}");
}

/* Several processes register at once on an empty table: exactly one admin. */
static void test_first_admin_race(void)
{
	enum { N = 6 };
	pid_t kids[N];
	int fails = 0;

	db_close();
	for (int i = 0; i < N; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			struct arena *a = arena_new();
			struct auth_user u;
			struct err e = ERR_INIT;
			char email[64];

			snprintf(email, sizeof(email), "racer%d@example.com", i);
			_exit(auth_user_create(a, email, "$argon2id$fake", 0, &u, &e) < 0);
		}
	}
	for (int i = 0; i < N; i++) {
		int st;

		waitpid(kids[i], &st, 0);
		fails += !WIFEXITED(st) || WEXITSTATUS(st);
	}
	is_int(fails, 0, "%d concurrent registrations all succeed", N);
	is_str(side_val("SELECT count(*) FILTER (WHERE role = 'admin') || '/' || count(*)"
			" FROM users WHERE email LIKE 'racer%'"),
	       "1/6", "exactly one of them became admin");
}

static void test_sessions_tokens(void)
{
	struct err e = ERR_INIT;
	struct auth_user u;
	struct session_user su, found;
	char token[AUTH_TOKEN_LEN + 1], hex[AUTH_SHA256_HEX], sql[256];
	long long id;
	const char *exp = NULL;

	ok(auth_user_find(A, "RACER1@example.com", &u, &e) == 1, "find is case-insensitive");
	ok(session_create(A, u.id, "127.0.0.1", 1800, 43200, token, &su, &e) == 0,
	   "session created");
	auth_sha256_hex(token, hex);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM sessions WHERE token_sha256 = '\\x%s'",
		 hex);
	is_str(side_val(sql), "1", "stored under the token's SHA-256");
	ok(session_lookup(A, token, 1800, &found, &e) == 1 && found.user_id == u.id &&
	       found.session_id == su.session_id && auth_equal(found.csrf_token, su.csrf_token),
	   "lookup finds user and CSRF token");
	ok(session_lookup(A, "not a token", 1800, &found, &e) == 0, "malformed token: not found");
	ok(session_delete(A, su.session_id, &e) == 0 &&
	       session_lookup(A, token, 1800, &found, &e) == 0,
	   "deleted session is gone");

	ok(apitoken_create(A, u.id, "t", 3600, token, &id, &exp, &e) == 0 && exp,
	   "expiring token created (expires_at %s)", exp ? exp : "-");
	ok(apitoken_lookup(A, token, &found, &e) == 1 && found.token_id == id, "token lookup");
	ok(apitoken_revoke(A, u.id + 1000, id, &e) == 0, "another user cannot revoke it");
	ok(apitoken_revoke(A, u.id, id, &e) == 1, "its owner can");
	ok(apitoken_lookup(A, token, &found, &e) == 0, "revoked: not found");
	ok(apitoken_create(A, u.id, "", 0, token, &id, NULL, &e) < 0 && e.status == 422,
	   "empty token name -> 422");
	err_clear(&e);
	ok(apitoken_create(A, u.id, "tab\there", 0, token, &id, NULL, &e) < 0 && e.status == 422,
	   "control character in the name -> 422");
}

int main(void)
{
	struct err e = ERR_INIT;
	const char *url = getenv("SF_DATABASE_URL");

	if (!url || !*url || !getenv("SF_T_DB")) {
		printf("Bail out! run me through tests/t0208-db-layer.sh (it provides the database)\n");
		return 1;
	}
	/* The failures below are deliberate: keep their log lines out of the TAP stream. */
	log_init("x-db", (enum log_level)(LOG_ERROR + 1));
	if (config_load(&config, &e) < 0 || auth_init(&e) < 0) {
		printf("Bail out! %s\n", e.msg);
		return 1;
	}
	side = PQconnectdb(url);
	if (PQstatus(side) != CONNECTION_OK) {
		printf("Bail out! cannot connect: %s", PQerrorMessage(side));
		return 1;
	}
	A = arena_new();
	test_errors();
	test_tx();
	test_reconnect();
	test_ratelimit();
	test_audit();
	test_first_admin_race();
	test_sessions_tokens();
	arena_free(A);
	db_close();
	PQfinish(side);
	config_release(&config);
	return done_testing();
}
