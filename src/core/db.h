/* db.h - the process's PostgreSQL connection: parameterized statements, transactions, errors. */
#ifndef SF_DB_H
#define SF_DB_H

#include <libpq-fe.h>

#include "arena.h"
#include "err.h"

/*
 * One PGconn per process, opened lazily from config.database_url by the
 * first statement (so a FastCGI master that forks workers never shares a
 * socket: a connection made by another pid is abandoned, not used).
 *
 * Statements are `static struct db_stmt` beside the code that runs them;
 * they are prepared on first use on each connection and executed with
 * PQexecPrepared, text parameters only.  Results are PQclear'd by the
 * arena's next reset.
 *
 * Errors map SQLSTATE to HTTP statuses: 23505/23503 -> 409, 23514/22xxx ->
 * 422, 40001/40P01/55P03 -> 503 (db_tx retries those), connection loss ->
 * 503.  A lost connection is reset once per statement (and the statement
 * retried when no transaction is open); if that fails the caller gets 503
 * at once (a missing unix socket fails in microseconds), and a later
 * statement tries again, so the process recovers by itself when the
 * database returns.
 */
struct db_stmt {
	const char *sql;
	int nparams;
	/* db.c only: */
	unsigned id;  /* prepared name "sf<id>", 0 until first use */
	unsigned gen; /* connection generation it was prepared on */
};

#define DB_STMT(sql, n)                                                                            \
	{                                                                                          \
		(sql), (n), 0, 0                                                                   \
	}

/* Open the connection now (storefleetctl); 0 or -1 with e (503) set. */
int db_connect(struct err *e);

/* Close the connection (process exit; safe when not connected). */
void db_close(void);

/*
 * Run a prepared statement with st->nparams text parameters (NULL = SQL
 * NULL).  OUT: a result with PGRES_TUPLES_OK or PGRES_COMMAND_OK whose
 * PQclear is deferred on a; NULL with e set on any error.
 */
PGresult *db_run(struct arena *a, struct db_stmt *st, const char *const *params, struct err *e);

/*
 * Send a prepared statement without waiting for its result (the connection
 * works on it while the caller does something else); db_wait collects it.
 * At most one send is outstanding, and no other statement (db_run,
 * db_exec, db_begin...) may be issued on the connection until db_wait: that
 * is a BUG (it would read the send's result as its own).  The parameters
 * are copied out before db_send returns.  0, or -1 with e set (nothing is
 * outstanding then).  A lost connection is not retried (unlike db_run):
 * the caller sees 503 from db_send or db_wait, and the next statement
 * reconnects.
 */
int db_send(struct db_stmt *st, const char *const *params, struct err *e);

/*
 * The result of the outstanding db_send, checked like db_run's (NULL with
 * e set on any error; PQclear deferred on a).  Always leaves nothing
 * outstanding.
 */
PGresult *db_wait(struct arena *a, struct err *e);

/* 1 while a db_send awaits its db_wait. */
int db_sent(void);

/* Like db_run for a one-off statement (not prepared). */
PGresult *db_exec(struct arena *a, const char *sql, int nparams, const char *const *params,
		  struct err *e);

/*
 * Run a script of several statements (simple query protocol; migrations
 * only - never with outside input).  0 or -1 with e set.
 */
int db_script(const char *sql, struct err *e);

/* Transactions: BEGIN / COMMIT / ROLLBACK on the process connection. */
int db_begin(struct err *e);
int db_commit(struct err *e);
/* best effort (collects an outstanding db_send first); no-op outside a transaction */
void db_rollback(void);
int db_in_tx(void);

/*
 * Run fn(ctx, e) inside BEGIN ... COMMIT, retrying the whole function up to
 * 3 times on serialization failures and deadlocks.  fn returns 0 to commit
 * or -1 (with e set) to roll back.  fn must be safe to run more than once.
 */
int db_tx(int (*fn)(void *ctx, struct err *e), void *ctx, struct err *e);

/* The SQLSTATE of the last failed statement ("" when none / not a server error). */
const char *db_last_sqlstate(void);

/* 0 when the database answers `SELECT 1`, else -1 with e (503). */
int db_ping(struct arena *a, struct err *e);

/* Result access: value or NULL for SQL NULL / out of range. */
const char *db_get(const PGresult *res, int row, int col);
long long db_get_ll(const PGresult *res, int row, int col); /* 0 for NULL */
int db_get_bool(const PGresult *res, int row, int col);	    /* 't' -> 1 */
int db_rows(const PGresult *res);

/* Map a SQLSTATE to the HTTP status the web layer answers with. */
int db_status_for_sqlstate(const char *sqlstate);

#endif
