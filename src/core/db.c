/* db.c - one libpq connection per process, prepared statements, SQLSTATE -> HTTP status. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "db.h"
#include "log.h"

static PGconn *db_conn;
static pid_t db_pid;	/* the process that opened db_conn */
static int db_forked;	/* set in a child by fork (pthread_atfork): db_conn is the parent's */
static unsigned db_gen; /* bumped on every (re)connect: prepared statements are per connection */
static unsigned db_next_id;
static int db_tx_open;
static int db_pending; /* a db_send awaits its db_wait */
static char db_state[6];

static void db_clear(void *p)
{
	PQclear(p);
}

const char *db_last_sqlstate(void)
{
	return db_state;
}

int db_status_for_sqlstate(const char *s)
{
	if (!s || !*s)
		return 500;
	if (!strcmp(s, "23505") || !strcmp(s, "23503"))
		return 409;
	if (!strcmp(s, "23514") || !strcmp(s, "23502") || !strncmp(s, "22", 2))
		return 422;
	if (!strcmp(s, "40001") || !strcmp(s, "40P01") || !strcmp(s, "55P03"))
		return 503;
	/* connection exceptions, shutdown, too many connections, statement timeout */
	if (!strncmp(s, "08", 2) || !strncmp(s, "57P", 3) || !strncmp(s, "53", 2) ||
	    !strcmp(s, "57014"))
		return 503;
	return 500;
}

/* First line of libpq's message, without the trailing newline. */
static const char *db_msg(const char *m, char *out, size_t n)
{
	size_t len;

	if (!m || !*m)
		m = "unknown error";
	len = strcspn(m, "\n");
	if (len >= n)
		len = n - 1;
	memcpy(out, m, len);
	out[len] = 0;
	return out;
}

static void db_atfork_child(void)
{
	db_forked = 1;
}

/* Server notices ("already exists, skipping") are not for the user's terminal. */
static void db_notice(void *arg, const char *msg)
{
	char m[200];

	(void)arg;
	log_debug("db: %s", db_msg(msg, m, sizeof(m)));
}

static int db_open(struct err *e)
{
	const char *keys[] = {"dbname", "connect_timeout", "application_name", NULL};
	const char *vals[] = {config.database_url, "2", "storefleet", NULL};
	char m[200];

	static int atfork;

	if (db_conn && !db_forked)
		return 0;
	/*
	 * Inherited across fork: the socket belongs to the parent; never speak on
	 * it.  A fork is noticed by a flag its handler sets, not by comparing
	 * getpid() on every statement (a system call each).
	 */
	if (!atfork++)
		pthread_atfork(NULL, NULL, db_atfork_child);
	db_conn = NULL;
	db_tx_open = 0;
	db_pending = 0;
	db_forked = 0;
	db_conn = PQconnectdbParams(keys, vals, 1);
	db_pid = getpid();
	db_gen++;
	if (!db_conn)
		die_oom();
	if (PQstatus(db_conn) != CONNECTION_OK) {
		log_warn("db: cannot connect: %s", db_msg(PQerrorMessage(db_conn), m, sizeof(m)));
		return err_set(e, 503, "database unavailable");
	}
	PQsetNoticeProcessor(db_conn, db_notice, NULL);
	return 0;
}

int db_connect(struct err *e)
{
	return db_open(e);
}

void db_close(void)
{
	if (db_conn && db_pid == getpid())
		PQfinish(db_conn);
	db_conn = NULL;
	db_tx_open = 0;
	db_pending = 0;
}

/* The connection, reset once if it is broken. */
static int db_ready(struct err *e)
{
	char m[200];

	if (db_pending)
		BUG("db: a statement while a send is outstanding");
	if (!db_conn || db_forked)
		return db_open(e);
	if (PQstatus(db_conn) == CONNECTION_OK)
		return 0;
	PQreset(db_conn);
	db_gen++;
	db_tx_open = 0;
	if (PQstatus(db_conn) != CONNECTION_OK) {
		log_warn("db: reconnect failed: %s", db_msg(PQerrorMessage(db_conn), m, sizeof(m)));
		return err_set(e, 503, "database unavailable");
	}
	PQsetNoticeProcessor(db_conn, db_notice, NULL);
	log_info("db: reconnected");
	return 0;
}

/* Check a result; NULL + e for errors (the result is cleared then). */
static PGresult *db_check(struct arena *a, PGresult *res, const char *what, struct err *e)
{
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	const char *state;
	char m[200];
	int status;

	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
		db_state[0] = 0;
		if (a)
			arena_defer(a, db_clear, res);
		return res;
	}
	state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	snprintf(db_state, sizeof(db_state), "%s", state ? state : "");
	if (PQstatus(db_conn) != CONNECTION_OK) {
		status = 503;
		if (!state)
			snprintf(db_state, sizeof(db_state), "08006");
	} else {
		status = db_status_for_sqlstate(db_state);
	}
	/* The primary message only: DETAIL lines can quote row values (an email, a key). */
	if (res && PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY))
		db_msg(PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY), m, sizeof(m));
	else
		db_msg(res ? PQresultErrorMessage(res) : PQerrorMessage(db_conn), m, sizeof(m));
	PQclear(res);
	if (status == 503)
		log_warn("db: %s: %s (%s)", what, m, db_state);
	else if (status == 500)
		log_error("db: %s: %s (%s)", what, m, db_state);
	if (status == 503)
		return err_set(e, 503, "database unavailable"), NULL;
	if (status == 409)
		return err_set(e, 409, "conflict: %s", m), NULL;
	if (status == 422)
		return err_set(e, 422, "invalid value: %s", m), NULL;
	return err_set(e, 500, "database error"), NULL;
}

/* A failure that left the connection broken, outside a transaction: worth one reset + retry. */
static int db_lost(PGresult *res)
{
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;

	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		return 0;
	return PQstatus(db_conn) != CONNECTION_OK && !db_tx_open;
}

/* Prepare st on this connection if it is not yet: NULL, or the failed PQprepare's result. */
static PGresult *db_prepare(struct db_stmt *st, char *name, size_t n)
{
	if (!st->id)
		st->id = ++db_next_id;
	snprintf(name, n, "sf%u", st->id);
	if (st->gen != db_gen) {
		PGresult *p = PQprepare(db_conn, name, st->sql, st->nparams, NULL);

		if (!p || PQresultStatus(p) != PGRES_COMMAND_OK)
			return p ? p : PQmakeEmptyPGresult(db_conn, PGRES_FATAL_ERROR);
		PQclear(p);
		st->gen = db_gen;
	}
	return NULL;
}

static PGresult *db_run_once(struct db_stmt *st, const char *const *params)
{
	char name[16];
	PGresult *p = db_prepare(st, name, sizeof(name));

	if (p)
		return p;
	return PQexecPrepared(db_conn, name, st->nparams, params, NULL, NULL, 0);
}

int db_send(struct db_stmt *st, const char *const *params, struct err *e)
{
	char name[16];
	PGresult *p;

	if (db_ready(e) < 0)
		return -1;
	if ((p = db_prepare(st, name, sizeof(name))))
		return db_check(NULL, p, "statement", e), -1;
	/* blocking mode: returns once the whole message is written to the socket */
	if (!PQsendQueryPrepared(db_conn, name, st->nparams, params, NULL, NULL, 0))
		return db_check(NULL, NULL, "send", e), -1;
	db_pending = 1;
	return 0;
}

PGresult *db_wait(struct arena *a, struct err *e)
{
	PGresult *res = NULL, *r;

	if (!db_pending)
		BUG("db: wait without a send");
	/* one statement: its result, then NULL (anything else is discarded) */
	while ((r = PQgetResult(db_conn))) {
		if (!res)
			res = r;
		else
			PQclear(r);
	}
	db_pending = 0;
	return db_check(a, res, "statement", e);
}

int db_sent(void)
{
	return db_pending;
}

PGresult *db_run(struct arena *a, struct db_stmt *st, const char *const *params, struct err *e)
{
	PGresult *res;

	if (db_ready(e) < 0)
		return NULL;
	res = db_run_once(st, params);
	if (db_lost(res)) {
		PQclear(res);
		if (db_ready(e) < 0)
			return NULL;
		res = db_run_once(st, params);
	}
	return db_check(a, res, "statement", e);
}

PGresult *db_exec(struct arena *a, const char *sql, int nparams, const char *const *params,
		  struct err *e)
{
	PGresult *res;

	if (db_ready(e) < 0)
		return NULL;
	res = PQexecParams(db_conn, sql, nparams, NULL, params, NULL, NULL, 0);
	if (db_lost(res)) {
		PQclear(res);
		if (db_ready(e) < 0)
			return NULL;
		res = PQexecParams(db_conn, sql, nparams, NULL, params, NULL, NULL, 0);
	}
	return db_check(a, res, "statement", e);
}

/*
 * The simple query protocol is the only way to run a file of several
 * statements (PQexecParams takes one); callers pass migration files from
 * sql/, never anything from outside.
 */
int db_script(const char *sql, struct err *e)
{
	PGresult *res;

	if (db_ready(e) < 0)
		return -1;
	res = db_check(NULL, PQexec(db_conn, sql), "script", e);
	if (!res)
		return -1;
	PQclear(res);
	return 0;
}

/* BEGIN / COMMIT / ROLLBACK only: literal, parameterless statements. */
static int db_simple(const char *sql, struct err *e)
{
	PGresult *res;

	if (db_ready(e) < 0)
		return -1;
	res = db_check(NULL, PQexecParams(db_conn, sql, 0, NULL, NULL, NULL, NULL, 0), sql, e);
	if (!res)
		return -1;
	PQclear(res);
	return 0;
}

int db_begin(struct err *e)
{
	if (db_tx_open)
		BUG("db: nested transaction");
	if (db_simple("BEGIN", e) < 0)
		return -1;
	db_tx_open = 1;
	return 0;
}

int db_commit(struct err *e)
{
	int rc;

	if (!db_tx_open)
		BUG("db: commit outside a transaction");
	rc = db_simple("COMMIT", e);
	db_tx_open = 0;
	return rc;
}

void db_rollback(void)
{
	struct err ignore = ERR_INIT;
	char state[6];

	if (!db_tx_open)
		return;
	/* Keep the SQLSTATE that made us roll back (db_tx looks at it). */
	memcpy(state, db_state, sizeof(state));
	if (db_pending)
		PQclear(db_wait(NULL, &ignore)); /* whatever it did is rolled back too */
	if (db_conn && PQstatus(db_conn) == CONNECTION_OK)
		db_simple("ROLLBACK", &ignore);
	memcpy(db_state, state, sizeof(state));
	db_tx_open = 0;
}

int db_in_tx(void)
{
	return db_tx_open;
}

static int db_retryable(void)
{
	return !strcmp(db_state, "40001") || !strcmp(db_state, "40P01");
}

int db_tx(int (*fn)(void *ctx, struct err *e), void *ctx, struct err *e)
{
	for (int attempt = 0;; attempt++) {
		struct err inner = ERR_INIT;

		db_state[0] = 0;
		if (db_begin(&inner) == 0 && fn(ctx, &inner) == 0 && db_commit(&inner) == 0)
			return 0;
		db_rollback();
		if (!db_retryable() || attempt == 2) {
			if (db_retryable())
				return err_set(e, 503, "database busy, try again");
			return err_set(e, inner.status ? inner.status : 500, "%s", inner.msg);
		}
	}
}

int db_ping(struct arena *a, struct err *e)
{
	static struct db_stmt ping = DB_STMT("SELECT 1", 0);

	return db_run(a, &ping, NULL, e) ? 0 : -1;
}

int db_rows(const PGresult *res)
{
	return res ? PQntuples(res) : 0;
}

const char *db_get(const PGresult *res, int row, int col)
{
	if (!res || row < 0 || row >= PQntuples(res) || col < 0 || col >= PQnfields(res) ||
	    PQgetisnull(res, row, col))
		return NULL;
	return PQgetvalue(res, row, col);
}

long long db_get_ll(const PGresult *res, int row, int col)
{
	const char *v = db_get(res, row, col);

	return v ? strtoll(v, NULL, 10) : 0;
}

int db_get_bool(const PGresult *res, int row, int col)
{
	const char *v = db_get(res, row, col);

	return v && v[0] == 't';
}
