/* page.h - what every HTML page shares: the layout's view and the error page. */
#ifndef SF_PAGE_H
#define SF_PAGE_H

struct req;
struct view;

/*
 * A new view object with what the layout partial reads: title, user
 * {email, is_admin} when signed in, csrf_token, simulated_cluster.  Page
 * handlers add their own keys.  Lives in the request arena.
 */
struct view *page_view(struct req *r, const char *title);

/*
 * The HTML error page for status (templates/error.html in the layout):
 * the view of page_view, with csrf_token only for a signed-in user (the
 * layout's logout form), plus status, message, code and, for a 422,
 * fields.  Leaves r->status 0 when the template is missing or fails (the
 * cause logged), so resp_finish sends its built-in page instead.
 */
void page_error(struct req *r, int status);

#endif
