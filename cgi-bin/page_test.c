/* page_test.c - debug routes for the transport tests, only in the program's test build. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "pages.h"

/*
 * These exist so tests can exercise the transport without depending on a
 * feature: a slow request to drain on SIGTERM, and echoes that show what
 * the central body parsing produced.  The Makefile links this file only
 * into build/tests/storefleet-test.fcgi, whose route.c (compiled with
 * SF_TEST_ROUTES) looks up page_test_routes after the program's own table;
 * storefleet.fcgi has neither the table nor the handlers.
 */

/* GET /_test/sleep?ms=N (N <= 10000): answers after N ms. */
static int page_test_sleep(struct req *r)
{
	const char *v = req_query_get(r, "ms");
	long ms = v ? strtol(v, NULL, 10) : 0;
	struct timespec ts;
	struct view *out;

	if (ms < 0 || ms > 10000)
		return req_invalid(r, "ms", "ms must be between 0 and 10000");
	log_info("test_sleep: sleeping %ld ms", ms);
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	out = view_obj(r->a);
	view_set_int(out, "slept_ms", ms);
	return resp_json(r, 200, out);
}

/* POST /_test/echo (R_JSONBODY): the parsed body back. */
static int page_test_echo(struct req *r)
{
	struct view *out = view_obj(r->a);

	view_set(out, "body", view_from_json(r->a, r->json));
	view_set_str(out, "remote_addr", r->remote_addr);
	view_set_str(out, "x_real_ip", req_header(r, "X-Real-IP"));
	view_set_str(out, "x_forwarded_for", req_header(r, "X-Forwarded-For"));
	return resp_json(r, 200, out);
}

/* POST /_test/form (R_FORM): the parsed fields back, as JSON. */
static int page_test_form(struct req *r)
{
	struct view *out = view_obj(r->a), *f = view_set_obj(out, "fields");

	for (struct kv *kv = r->form; kv; kv = kv->next)
		view_set(f, kv->key, view_strn(r->a, kv->val, kv->vlen));
	return resp_json(r, 200, out);
}

/* GET /_test/whoami (R_AUTH): who the dispatcher let in. */
static int page_test_whoami(struct req *r)
{
	struct view *out = view_obj(r->a);

	view_set_str(out, "email", r->user->email);
	return resp_json(r, 200, out);
}

/* GET /_test/late-fail: a body is built, then something fails; the client must see a clean 500. */
static int page_test_late_fail(struct req *r)
{
	struct view *out = view_obj(r->a);

	view_set_str(out, "half", "built");
	resp_json(r, 200, out);
	return req_fail(r, 500, NULL, "test: failure after the body was built");
}

/* GET /_test/big?kib=N: a response of N KiB (over the response cap it must become a 500). */
static int page_test_big(struct req *r)
{
	const char *v = req_query_get(r, "kib");
	long kib = v ? strtol(v, NULL, 10) : 0;
	char chunk[1024];

	if (kib < 0 || kib > 65536)
		return req_invalid(r, "kib", "kib must be between 0 and 65536");
	memset(chunk, 'x', sizeof(chunk));
	buf_reset(&r->out);
	for (long i = 0; i < kib; i++)
		buf_add(&r->out, chunk, sizeof(chunk));
	r->ctype = "text/plain";
	r->status = 200;
	return 200;
}

/* GET /_test/params/{a}/x/{b}: the captured segments back. */
static int page_test_params(struct req *r)
{
	struct view *out = view_obj(r->a), *p = view_set_arr(out, "params");

	for (int i = 0; i < r->nparams; i++)
		view_push(p, view_str(r->a, r->params[i]));
	return resp_json(r, 200, out);
}

/* POST /_test/raw (R_RAWBODY): how many bytes arrived, NULs included. */
static int page_test_raw(struct req *r)
{
	struct view *out = view_obj(r->a);

	view_set_int(out, "body_len", (long long)r->body_len);
	view_set_bool(out, "nul_terminated", r->body && r->body[r->body_len] == '\0');
	return resp_json(r, 200, out);
}

/* clang-format off */
const struct route page_test_routes[] = {
	{"GET", "/_test/sleep", R_JSON | R_NODB, page_test_sleep, "test_sleep", NULL, NULL},
	{"POST", "/_test/echo", R_JSON | R_NODB | R_JSONBODY, page_test_echo, "test_echo", NULL, NULL},
	{"POST", "/_test/form", R_JSON | R_NODB | R_FORM, page_test_form, "test_form", NULL, NULL},
	{"POST", "/_test/form.html", R_HTML | R_NODB | R_FORM, page_test_form, "test_form_html", NULL, NULL},
	{"GET", "/_test/whoami", R_JSON | R_AUTH, page_test_whoami, "test_whoami", NULL, NULL},
	{"GET", "/_test/whoami.html", R_HTML | R_AUTH, page_test_whoami, "test_whoami_html", NULL, NULL},
	{"POST", "/_test/whoami.html", R_HTML | R_AUTH, page_test_whoami, "test_whoami_post", NULL, NULL},
	{"GET", "/_test/late-fail", R_JSON | R_NODB, page_test_late_fail, "test_late_fail", NULL, NULL},
	{"GET", "/_test/big", R_HTML | R_NODB, page_test_big, "test_big", NULL, NULL},
	{"GET", "/_test/params/{a}/x/{b}", R_JSON | R_NODB, page_test_params, "test_params", NULL, NULL},
	{"DELETE", "/_test/params/{a}/x/{b}", R_JSON | R_NODB, page_test_params, "test_params_delete", NULL, NULL},
	{"POST", "/_test/raw", R_JSON | R_NODB | R_RAWBODY, page_test_raw, "test_raw", NULL, NULL},
	{NULL, NULL, 0, NULL, NULL, NULL, NULL}
};
/* clang-format on */
