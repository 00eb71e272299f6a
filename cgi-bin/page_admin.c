/* page_admin.c - GET /admin/stores: every tenant's stores for administrators, by status. */
#include <string.h>
#include <time.h>

#include "pages.h"
#include "web_stores.h"

/* "4 min", "3 h", "12 d" since an RFC 3339 UTC time (the database's clock made it). */
static const char *age_of(struct arena *a, const char *at)
{
	struct tm tm = {0};
	long long s;

	if (!at || !strptime(at, "%Y-%m-%dT%H:%M:%SZ", &tm))
		return "?";
	s = (long long)(time(NULL) - timegm(&tm));
	if (s < 60)
		return "just now";
	if (s < 3600)
		return arena_printf(a, "%lld min", s / 60);
	if (s < 86400 * 2)
		return arena_printf(a, "%lld h", s / 3600);
	return arena_printf(a, "%lld d", s / 86400);
}

int page_admin_stores(struct req *r)
{
	struct store_who who = web_stores_who(r);
	const char *status = req_query_get(r, "status"), *cursor = req_query_get(r, "cursor");
	struct view *v = page_view(r, "All stores"), *list, *opts;
	const char *next;
	struct err e = ERR_INIT;

	if (status && !*status)
		status = NULL;
	if (store_list(r->a, &who, 1, status, STORE_LIST_MAX, cursor && *cursor ? cursor : NULL,
		       &list, &next, &e) < 0)
		return web_stores_fail(r, &e, "status", NULL, 0);
	view_set_bool(view_set_obj(v, "nav"), "admin", 1);
	for (struct view_item *it = list->u.list.head; it; it = it->next)
		view_set_str_ref(it->val, "age", age_of(r->a, view_get_str(it->val, "created_at")));
	view_add(v, "stores", list);
	view_set_bool(v, "has_stores", list->u.list.n > 0);
	opts = view_set_arr(v, "statuses");
	for (int i = 0; store_statuses[i]; i++) {
		struct view *o = view_push_obj(opts);

		view_set_str_ref(o, "value", store_statuses[i]);
		if (status && !strcmp(status, store_statuses[i]))
			view_set_bool(o, "selected", 1);
	}
	if (status)
		view_set_str(v, "status", status);
	if (next)
		view_set_str_ref(v, "next_url",
				 arena_printf(r->a, "/admin/stores?%s%s%scursor=%s",
					      status ? "status=" : "", status ? status : "",
					      status ? "&" : "", next));
	return resp_html(r, 200, "admin_stores", v);
}
