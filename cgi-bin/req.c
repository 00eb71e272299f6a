/* req.c - the thin request/response layer over FastCGI (or one plain CGI request). */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <fcgiapp.h>

#include "app.h"
#include "fcgi_conns.h"
#include "log.h"
#include "req.h"
#include "tpl.h"

/*
 * This is the only file that talks to libfcgi about a request: everything
 * else sees struct req.  Responses are built completely in r->out and sent
 * once by resp_finish with Status and Content-Length, so a failure late in
 * a handler still turns into a clean error response, never half a page.
 */

#define RESP_MAX     (8u << 20) /* largest response body we build */
#define HEADERS_MAX  16384	/* extra response header bytes */
#define PATH_MAX_LEN 4096	/* longest request path accepted */

/* --- input ----------------------------------------------------------------- */

static const char *io_param(const struct req *r, const char *name)
{
	FCGX_Request *fr = r->io;

	return fr ? FCGX_GetParam(name, fr->envp) : getenv(name);
}

/* Read up to n bytes of body; fewer means end of input. */
static size_t io_read(struct req *r, char *p, size_t n)
{
	FCGX_Request *fr = r->io;
	size_t got = 0;

	if (!fr)
		return fread(p, 1, n, stdin);
	while (got < n) {
		int k = FCGX_GetStr(p + got, (int)(n - got > 65536 ? 65536 : n - got), fr->in);

		if (k <= 0)
			break;
		got += (size_t)k;
	}
	return got;
}

/* Plain CGI's output (FastCGI answers go out through fcgi_conns_reply, in resp_finish). */
static int cgi_write(const char *p, size_t n)
{
	return fwrite(p, 1, n, stdout) == n ? 0 : -1;
}

static void buf_release_cb(void *p)
{
	buf_release(p);
}

/*
 * The response body's buffer outlives the request: the next one starts
 * with its memory (a list grows it to 16 KiB through eight reallocs
 * otherwise).  One request at a time per process; a buffer grown past
 * OUT_KEEP by a large answer is freed instead.
 */
#define OUT_KEEP (256u << 10)
static struct buf out_kept = BUF_INIT;

static void out_keep_cb(void *p)
{
	struct buf *b = p;

	if (b->cap > OUT_KEEP)
		buf_release(b);
	out_kept = *b;
	buf_reset(&out_kept);
}

void req_init(struct req *r, struct arena *a, struct app *app, void *io)
{
	const char *uri, *q, *v;
	char *raw;

	memset(r, 0, sizeof(*r));
	r->a = a;
	r->app = app;
	r->io = io;
	buf_init(&r->headers, HEADERS_MAX);
	r->out = out_kept;
	out_kept = (struct buf)BUF_INIT; /* r->out owns that memory now */
	r->out.max = RESP_MAX;
	buf_reset(&r->out);
	arena_defer(a, buf_release_cb, &r->headers);
	arena_defer(a, out_keep_cb, &r->out);

	/* Copies: libfcgi's strings die at FCGX_Finish_r, before the arena is reset. */
	v = io_param(r, "REQUEST_METHOD");
	r->method = arena_strdup(a, v && *v ? v : "GET");
	if (strlen(r->method) > 16 ||
	    strspn(r->method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(r->method)) {
		/* It ends up in messages and logs: only a token of capitals is a method. */
		err_set(&r->err, 400, "method: not a valid HTTP method");
		r->method = "INVALID";
	}

	uri = io_param(r, "REQUEST_URI");
	if (!uri || !*uri)
		uri = io_param(r, "PATH_INFO");
	if (!uri || !*uri)
		uri = "/";
	q = strchr(uri, '?');
	raw = arena_strndup(a, uri, q ? (size_t)(q - uri) : strlen(uri));
	v = io_param(r, "QUERY_STRING");
	r->query = arena_strdup(a, v ? v : q ? q + 1 : "");
	if (strlen(raw) > PATH_MAX_LEN) {
		err_set(&r->err, 400, "path: longer than %d bytes", PATH_MAX_LEN);
		raw[PATH_MAX_LEN] = '\0';
		r->path = raw;
	} else if (!(r->path = http_decode_path(a, raw, &r->err))) {
		r->path = raw; /* for the log and the HTML/JSON choice only */
	}

	v = io_param(r, "REMOTE_ADDR");
	r->remote_addr = arena_strdup(a, v ? v : "");

	v = io_param(r, "CONTENT_TYPE");
	if (v) {
		size_t n = strcspn(v, ";");
		char *ct;

		while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
			n--;
		while (n && (*v == ' ' || *v == '\t'))
			v++, n--;
		ct = arena_strndup(a, v, n);
		for (char *p = ct; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		/* Quoted in 415 messages: keep it printable text. */
		r->content_type =
		    http_valid_text(ct, n) && !strpbrk(ct, "\r\n\t") ? ct : "(invalid)";
	} else {
		r->content_type = "";
	}
	http_parse_cookies(a, io_param(r, "HTTP_COOKIE"), &r->cookies, NULL);
}

const char *req_param(struct req *r, const char *name)
{
	return io_param(r, name);
}

const char *req_header(struct req *r, const char *name)
{
	char env[128];
	size_t i, j = 0;

	if (!strcasecmp(name, "Content-Type"))
		return io_param(r, "CONTENT_TYPE");
	if (!strcasecmp(name, "Content-Length"))
		return io_param(r, "CONTENT_LENGTH");
	if (strlen(name) + 6 > sizeof(env))
		return NULL;
	memcpy(env, "HTTP_", 5);
	j = 5;
	for (i = 0; name[i]; i++)
		env[j++] = name[i] == '-' ? '_' : (char)toupper((unsigned char)name[i]);
	env[j] = '\0';
	return io_param(r, env);
}

const char *req_form(struct req *r, const char *name)
{
	return kv_get(r->form, name);
}

const char *req_query_get(struct req *r, const char *name)
{
	return kv_get(r->qs, name);
}

const char *req_cookie(struct req *r, const char *name)
{
	return kv_get(r->cookies, name);
}

int req_is_https(struct req *r)
{
	const char *v = io_param(r, "HTTPS");

	if (v && !strcasecmp(v, "on"))
		return 1;
	v = io_param(r, "REQUEST_SCHEME");
	return v && !strcasecmp(v, "https");
}

int req_wants_json(const struct req *r)
{
	if (r->route)
		return !!(r->route->flags & R_JSON);
	return r->path && (!strncmp(r->path, "/api/", 5) || !strcmp(r->path, "/api"));
}

int req_read_body(struct req *r, size_t limit)
{
	const char *cl = io_param(r, "CONTENT_LENGTH");
	size_t want = limit + 1, got, len = 0;
	int have_len = 0;
	char *p;

	if (cl && *cl) {
		for (const char *c = cl; *c; c++) {
			if (*c < '0' || *c > '9' || len > (SIZE_MAX - 9) / 10)
				return req_fail(r, 400, NULL,
						"Content-Length: '%.32s' is not a number", cl);
			len = len * 10 + (size_t)(*c - '0');
		}
		/* Refused before reading: a client cannot make us buffer more than the limit. */
		if (len > limit)
			return req_fail(
			    r, 413, NULL,
			    "the request body (%zu bytes) is larger than the limit of %zu bytes",
			    len, limit);
		want = len;
		have_len = 1;
	}
	p = arena_alloc(r->a, want + 1);
	got = io_read(r, p, want);
	if (!have_len && got > limit)
		return req_fail(r, 413, NULL,
				"the request body is larger than the limit of %zu bytes", limit);
	if (have_len && got < len)
		return req_fail(r, 400, NULL, "the request body ended after %zu of %zu bytes", got,
				len);
	p[got] = '\0';
	r->body = p;
	r->body_len = got;
	return 0;
}

/* --- output ---------------------------------------------------------------- */

/* Header values: CR, LF and other controls dropped, so nothing can split a header. */
static void add_header_value(struct buf *b, const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x20 || *s == '\t')
			buf_addch(b, *s);
}

void resp_header(struct req *r, const char *name, const char *fmt, ...)
{
	va_list ap;
	char *val;

	for (const char *p = name; *p; p++)
		if (*p <= 0x20 || *p == ':' || *p >= 0x7f)
			BUG("resp_header: bad header name '%s'", name);
	va_start(ap, fmt);
	val = arena_vprintf(r->a, fmt, ap);
	va_end(ap);
	buf_adds(&r->headers, name);
	buf_add(&r->headers, ": ", 2);
	add_header_value(&r->headers, val);
	buf_add(&r->headers, "\r\n", 2);
}

int resp_html(struct req *r, int status, const char *tpl, struct view *v)
{
	struct err e = ERR_INIT;

	buf_reset(&r->out);
	if (!r->app || !r->app->tpl) {
		r->status = 0;
		return req_fail(r, 500, NULL, "template '%s': no templates loaded", tpl);
	}
	if (tpl_render(r->app->tpl, tpl, v, &r->out, &e) < 0) {
		buf_reset(&r->out);
		r->status = 0;
		return req_fail(r, 500, NULL, "template '%s': %s", tpl, e.msg);
	}
	r->ctype = "text/html; charset=utf-8";
	r->status = status;
	return status;
}

int resp_json(struct req *r, int status, struct view *v)
{
	buf_reset(&r->out);
	view_json(&r->out, v);
	buf_addch(&r->out, '\n');
	r->ctype = "application/json";
	r->status = status;
	return status;
}

int resp_text(struct req *r, int status, const char *ctype, const char *s, size_t n)
{
	buf_reset(&r->out);
	buf_add(&r->out, s, n);
	r->ctype = ctype;
	r->status = status;
	return status;
}

int resp_redirect(struct req *r, const char *location)
{
	/* Only local paths: a "next" parameter must never send anyone to another site. */
	if (!location || location[0] != '/' || location[1] == '/' || location[1] == '\\')
		location = "/";
	resp_header(r, "Location", "%s", location);
	buf_reset(&r->out);
	r->ctype = NULL;
	r->status = 303;
	return 303;
}

int req_fail(struct req *r, int status, const char *code, const char *fmt, ...)
{
	char msg[sizeof(r->err.msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	err_reset(&r->err, status, "%s", msg);
	r->err_code = code;
	return status;
}

int req_fail_err(struct req *r, const struct err *e)
{
	return req_fail(r, e->status ? e->status : 500, e->status == 503 ? "unavailable" : NULL,
			"%s", e->msg);
}

int req_invalid(struct req *r, const char *field, const char *fmt, ...)
{
	char msg[sizeof(r->err.msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!r->err_fields)
		r->err_fields = view_obj(r->a);
	view_set(r->err_fields, arena_strdup(r->a, field), view_str(r->a, msg));
	if (r->err.status != 422) /* the first field's message speaks for the whole */
		err_reset(&r->err, 422, "%s", msg);
	r->err_code = "invalid";
	return 422;
}

/* --- the one place a response is sent -------------------------------------- */

const char *resp_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 202:
		return "Accepted";
	case 204:
		return "No Content";
	case 301:
		return "Moved Permanently";
	case 302:
		return "Found";
	case 303:
		return "See Other";
	case 304:
		return "Not Modified";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 410:
		return "Gone";
	case 413:
		return "Content Too Large";
	case 414:
		return "URI Too Long";
	case 415:
		return "Unsupported Media Type";
	case 422:
		return "Unprocessable Content";
	case 429:
		return "Too Many Requests";
	case 500:
		return "Internal Server Error";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	}
	return status < 400 ? "OK" : status < 500 ? "Bad Request" : "Internal Server Error";
}

/* The machine codes of docs/api.md. */
static const char *default_code(int status)
{
	switch (status) {
	case 400:
		return "bad_request";
	case 401:
		return "unauthorized";
	case 403:
		return "forbidden";
	case 404:
		return "not_found";
	case 405:
		return "method_not_allowed";
	case 409:
		return "conflict";
	case 410:
		return "gone";
	case 413:
		return "too_large";
	case 415:
		return "unsupported_media_type";
	case 422:
		return "invalid";
	case 429:
		return "rate_limited";
	case 503:
		return "unavailable";
	}
	return status < 500 ? "bad_request" : "internal";
}

const char *req_error_code(const struct req *r, int status)
{
	return r->err_code ? r->err_code : default_code(status);
}

/*
 * What a person is told: 4xx messages are written for them, 5xx details stay
 * in the log, except admission's 503 (code "capacity", admission.h): its
 * reason is written for people and is the whole point of the answer.
 */
const char *req_error_message(const struct req *r, int status)
{
	if (status == 503 && r->err_code && !strcmp(r->err_code, "capacity") && r->err.msg[0])
		return r->err.msg;
	if (status == 503)
		return "The service is temporarily unavailable. Please try again in a moment.";
	if (status >= 500)
		return "Something went wrong on our side. Please try again.";
	if (r->err.msg[0])
		return r->err.msg;
	switch (status) {
	case 401:
		return "Please sign in.";
	case 403:
		return "You are not allowed to do that.";
	case 404:
		return "There is nothing here.";
	}
	return resp_reason(status);
}

static void error_html_builtin(struct req *r, int status, const char *title, const char *msg)
{
	buf_reset(&r->out);
	buf_adds(&r->out,
		 "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>");
	buf_add_html(&r->out, title, strlen(title));
	buf_adds(&r->out, "</title></head><body><h1>");
	buf_addf(&r->out, "%d ", status);
	buf_add_html(&r->out, title, strlen(title));
	buf_adds(&r->out, "</h1><p>");
	buf_add_html(&r->out, msg, strlen(msg));
	buf_adds(&r->out, "</p><p><a href=\"/\">Back to the start page</a></p></body></html>\n");
}

/* The JSON error object, or the built-in error page (page.c renders the templated one first). */
static void render_error(struct req *r, int status)
{
	const char *code = req_error_code(r, status), *msg = req_error_message(r, status);

	buf_reset(&r->out);
	if (req_wants_json(r)) {
		struct view *v = view_obj(r->a), *e = view_set_obj(v, "error");

		view_set_str(e, "code", code);
		view_set_str(e, "message", msg);
		if (r->err_fields && status == 422)
			view_set(e, "fields", r->err_fields);
		view_json(&r->out, v);
		buf_addch(&r->out, '\n');
		r->ctype = "application/json";
	} else {
		error_html_builtin(r, status, resp_reason(status), msg);
		r->ctype = "text/html; charset=utf-8";
	}
	r->status = status;
}

/* 1 when the handler already set header `name`. */
static int has_header(const struct req *r, const char *name)
{
	size_t n = strlen(name);
	const char *p = r->headers.s;

	while (*p) {
		if (!strncasecmp(p, name, n) && p[n] == ':')
			return 1;
		p = strstr(p, "\r\n");
		if (!p)
			break;
		p += 2;
	}
	return 0;
}

int resp_settle(struct req *r, int status)
{
	if (status < 100 || status > 599) {
		log_error("%s %s: handler returned status %d", r->method, r->path, status);
		err_reset(&r->err, 500, "handler returned status %d", status);
		status = 500;
	}
	if (r->out.failed || r->headers.failed) {
		log_error("%s %s: response larger than its limit", r->method, r->path);
		err_reset(&r->err, 500, "response too large");
		buf_reset(&r->headers);
		r->status = 0;
		status = 500;
	}
	if (r->status != status) {
		/* No body for this status (or a late failure after one): the error path. */
		r->status = 0;
		buf_reset(&r->out);
		r->ctype = NULL;
	}
	return status;
}

void resp_finish(struct req *r, int status)
{
	static struct buf head = BUF_INIT; /* reused: one response at a time per process */
	int head_only = !strcmp(r->method, "HEAD"), with_body;

	status = resp_settle(r, status);
	if (r->status != status && status >= 400)
		render_error(r, status);
	if (status >= 500)
		log_error("%s %s: %d: %s", r->method, r->path, status,
			  r->err.msg[0] ? r->err.msg : "(no detail)");

	buf_reset(&head);
	buf_addf(&head, "Status: %d %s\r\n", status, resp_reason(status));
	if (status != 204 && status != 304) {
		if (r->ctype)
			buf_addf(&head, "Content-Type: %s\r\n", r->ctype);
		buf_addf(&head, "Content-Length: %zu\r\n", r->out.len);
	}
	if (!has_header(r, "Cache-Control"))
		buf_adds(&head, "Cache-Control: no-store\r\n");
	buf_add(&head, r->headers.s, r->headers.len);
	buf_add(&head, "\r\n", 2);
	if (head.failed)
		die_oom();
	with_body = !head_only && status != 204 && status != 304;
	if (r->io) {
		/* FastCGI: head and body in one write (fcgi_conns_reply) */
		struct iovec iov[2] = {{head.s, head.len}, {r->out.s, with_body ? r->out.len : 0}};

		if (fcgi_conns_reply(r->io, iov, 2) < 0)
			log_debug("%s %s: nginx went away before the response was sent", r->method,
				  r->path);
	} else if (cgi_write(head.s, head.len) < 0 ||
		   (with_body && cgi_write(r->out.s, r->out.len) < 0)) {
		log_debug("%s %s: client went away before the response was sent", r->method,
			  r->path);
	}
	if (!r->io)
		fflush(stdout);
	r->status = status;
}
