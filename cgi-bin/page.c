/* page.c - the layout's view every HTML page starts from, and the HTML error page. */
#include "app.h"
#include "config.h"
#include "log.h"
#include "page.h"
#include "req.h"
#include "tpl.h"
#include "web_auth.h"

/*
 * Above the request layer (req.c) and authentication (web_auth.c): the
 * layout needs the signed-in user's CSRF token, which req.c knows nothing
 * about.  route_dispatch calls page_error for an HTML route whose handler
 * left an error status without a body; JSON errors and the built-in page
 * stay in req.c, which needs no template.
 */

/* title and user {email, is_admin} when signed in. */
static struct view *layout(struct req *r, const char *title)
{
	struct view *v = view_obj(r->a);

	view_set_str(v, "title", title);
	if (r->user) {
		struct view *u = view_set_obj(v, "user");

		view_set_str(u, "email", r->user->email);
		view_set_bool(u, "is_admin", r->user->is_admin);
	}
	return v;
}

struct view *page_view(struct req *r, const char *title)
{
	struct view *v = layout(r, title);

	view_set_str(v, "csrf_token", web_csrf_token(r));
	view_set_bool(v, "simulated_cluster", config.simulated_cluster);
	return v;
}

void page_error(struct req *r, int status)
{
	struct view *v = layout(r, resp_reason(status));
	struct err te = ERR_INIT;

	/* Only for a signed-in user: the layout's logout form needs the token. */
	if (r->user)
		view_set_str(v, "csrf_token", web_csrf_token(r));
	view_set_bool(v, "simulated_cluster", config.simulated_cluster);
	view_set_int(v, "status", status);
	view_set_str(v, "message", req_error_message(r, status));
	view_set_str(v, "code", req_error_code(r, status));
	if (r->err_fields && status == 422)
		view_set(v, "fields", r->err_fields);
	if (!r->app || !r->app->tpl || !tpl_exists(r->app->tpl, "error"))
		return;
	buf_reset(&r->out);
	if (tpl_render(r->app->tpl, "error", v, &r->out, &te) == 0 && !r->out.failed) {
		r->ctype = "text/html; charset=utf-8";
		r->status = status;
		return;
	}
	log_error("error page: %s", te.msg);
	buf_reset(&r->out);
}
