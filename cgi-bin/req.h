/* req.h - one HTTP request and its response, as page and API handlers see them. */
#ifndef SF_REQ_H
#define SF_REQ_H

#include <stddef.h>

#include <jansson.h>

#include "arena.h"
#include "buf.h"
#include "err.h"
#include "http.h"
#include "view.h"

struct app;
struct req;
struct session_user;

/*
 * Route flags, checked once in route_dispatch() before a handler runs
 * (cgit's cmd.c idea).  Exactly one of R_HTML / R_JSON says how errors and
 * redirects look.
 */
enum route_flag {
	R_HTML = 1 << 0,     /* server-rendered page: errors are HTML pages */
	R_JSON = 1 << 1,     /* API: errors are the JSON error object */
	R_AUTH = 1 << 2,     /* signed-in user required (HTML: 303 /login, JSON: 401) */
	R_ADMIN = 1 << 3,    /* role admin required (403 forbidden, audited) */
	R_CSRF = 1 << 4,     /* state-changing form: csrf_token + Origin/Sec-Fetch-Site */
	R_FORM = 1 << 5,     /* body must be x-www-form-urlencoded (415), parsed into r->form */
	R_JSONBODY = 1 << 6, /* body must be application/json (415), an object, in r->json */
	R_RAWBODY = 1 << 7,  /* body kept raw in r->body, not parsed (webhooks) */
	R_NODB = 1 << 8,     /* no database, no authentication (healthz) */
};

struct route {
	const char *method;  /* "GET", "POST", "DELETE"; GET routes also answer HEAD */
	const char *pattern; /* "/stores/{id}/retry": {name} matches one non-empty segment */
	unsigned flags;
	int (*handler)(struct req *r);
	const char *name; /* label for metrics and logs, e.g. "store_show" */
	/*
	 * NULL, or this route's lookup of a Bearer token, which also loads the
	 * handler's data in the same statement (one round trip on a hot path).
	 * The authentication step of route_dispatch calls it instead of the
	 * plain lookup; it answers as apitoken_lookup does (1 with *su filled,
	 * 0 no live token, -1 with e) and leaves what it loaded in r->preload.
	 * When it cannot load (arguments the handler will refuse), it does the
	 * plain lookup and leaves r->preload NULL: the handler then queries and
	 * refuses as usual, after the route flags have been checked.
	 */
	int (*token_join)(struct req *r, const char *token, struct session_user *su, struct err *e);
	/* The same for a session cookie (as session_lookup answers), or NULL. */
	int (*session_join)(struct req *r, const char *token, struct session_user *su,
			    struct err *e);
};

/* The signed-in user, loaded by web_authenticate(). */
struct principal {
	long long id;
	const char *email;
	int is_admin;
	int via_token;		/* authenticated by API token, not session cookie */
	long long session_id;	/* 0 for tokens */
	const char *csrf_token; /* the session's CSRF token (HTML forms) */
};

#define REQ_MAX_PARAMS 4

struct req {
	struct arena *a; /* everything below lives until arena_reset */
	struct app *app; /* process-wide state */
	const struct route *route;

	/* request */
	const char *method;		    /* "GET", ... */
	const char *path;		    /* percent-decoded path, no query */
	const char *query;		    /* raw query string ("" if none) */
	const char *params[REQ_MAX_PARAMS]; /* {name} captures, in order */
	int nparams;
	const char *remote_addr;  /* nginx's X-Real-IP / REMOTE_ADDR only */
	const char *content_type; /* media type, lowercased, no parameters ("" if none) */
	char *body;		  /* raw body, NUL-terminated (may contain NULs) */
	size_t body_len;
	struct kv *form;	/* R_FORM: parsed body */
	struct kv *qs;		/* parsed query string */
	struct kv *cookies;	/* parsed Cookie header */
	json_t *json;		/* R_JSONBODY: parsed body (decref deferred) */
	struct principal *user; /* NULL when anonymous */
	struct view *preload;	/* what the route's token_join or session_join loaded, or NULL */

	/* response */
	int status; /* 0 until a resp_* call sets it */
	const char *ctype;
	struct buf headers;	 /* extra header lines, each ending CRLF */
	struct buf out;		 /* the body, sent with Content-Length at the end */
	struct err err;		 /* what went wrong, when the handler returns >= 400 */
	const char *err_code;	 /* machine code for the JSON error ("invalid") */
	struct view *err_fields; /* 422: {"field":"message"} */

	void *io; /* FastCGI request or NULL in CGI mode (req.c only) */
};

/* Request accessors (NULL when absent). Header names as in HTTP, any case. */
const char *req_header(struct req *r, const char *name);
const char *req_param(struct req *r, const char *name); /* CGI/FastCGI env param */
const char *req_form(struct req *r, const char *name);
const char *req_query_get(struct req *r, const char *name);
const char *req_cookie(struct req *r, const char *name);
int req_is_https(struct req *r);

/* Response: headers first (any order), then exactly one body producer. */
void resp_header(struct req *r, const char *name, const char *fmt, ...) SF_PRINTF(3, 4);
int resp_html(struct req *r, int status, const char *tpl, struct view *v); /* returns status */
int resp_json(struct req *r, int status, struct view *v);		   /* returns status */
int resp_text(struct req *r, int status, const char *ctype, const char *s, size_t n);
int resp_redirect(struct req *r, const char *location); /* 303 */

/*
 * Errors: record and return the status; route_dispatch renders an HTML
 * error page (page.c) and resp_finish {"error":{"code","message"[,"fields"]}}
 * once the handler returns, unless the handler already produced a body.
 * code may be NULL (the default for the status is used: 400 bad_request,
 * 404 not_found...).
 */
int req_fail(struct req *r, int status, const char *code, const char *fmt, ...) SF_PRINTF(4, 5);
int req_invalid(struct req *r, const char *field, const char *fmt, ...) SF_PRINTF(3, 4); /* 422 */

/*
 * A library error as the answer: e->status (500 when unset), the code
 * "unavailable" for a 503 (the database is down), e->msg as the message.
 */
int req_fail_err(struct req *r, const struct err *e);

/* 1 when errors for this request are JSON (an R_JSON route, or an unknown /api/ path). */
int req_wants_json(const struct req *r);

/*
 * What the error answer for status says: the machine code (r->err_code, or
 * the status's default of docs/api.md) and the message a person may read
 * (r->err's for a 4xx; for a 5xx a fixed sentence, the detail stays in the
 * log).  resp_reason: the status's reason phrase ("Not Found").
 */
const char *req_error_code(const struct req *r, int status);
const char *req_error_message(const struct req *r, int status);
const char *resp_reason(int status);

/*
 * The request cycle (main.c): req_init reads the request line, headers and
 * cookies from io (a FCGX_Request *, or NULL for plain CGI: environment,
 * stdin, stdout) into r; a bad request line is recorded in r->err for
 * route_dispatch to answer.  resp_settle decides the status to send for
 * what a handler returned: a status out of range or a response that could
 * not be built becomes a 500, and when no body for the status was built
 * the body is dropped (r->status 0) for an error answer to take its place.
 * resp_finish settles, adds the JSON error or the built-in error page if
 * no error body is there yet, and sends the response exactly once.
 * Afterwards r->status is the status sent.
 */
void req_init(struct req *r, struct arena *a, struct app *app, void *io);
int resp_settle(struct req *r, int status);
void resp_finish(struct req *r, int status);

/*
 * Read the request body (at most limit bytes; more is a 413 without reading
 * the rest) into r->body / r->body_len.  Returns 0 or the status, r->err set.
 */
int req_read_body(struct req *r, size_t limit);

/*
 * The route table and its dispatcher (route.c): route_dispatch checks the
 * route's flags, runs its handler, renders the HTML error page for a
 * status the handler left without a body, and returns the status to send.
 */
extern const struct route routes[];
int route_dispatch(struct req *r);

#endif
