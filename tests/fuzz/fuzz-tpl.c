/* fuzz-tpl.c - libFuzzer: any bytes compiled as a template, rendered against a fixed view */
#include <stdint.h>
#include <stddef.h>

#include "arena.h"
#include "buf.h"
#include "tpl.h"
#include "view.h"

/*
 * The input is compiled twice: as the page "t" and as the partial "self",
 * so {{> self}} recurses into the input itself and exercises the depth cap.
 * The partial "p" is fixed.  A low step cap and a 1 MiB output cap keep
 * exponential inputs (nested loops, doubled recursion) fast; tpl_check runs
 * too, so unknown partials reach its error path.
 */
static struct view *fixed_view(struct arena *a)
{
	struct view *v = view_obj(a), *l, *o, *deep;

	view_set_str(v, "name", "<Ann & \"Bob\">");
	view_set_str(v, "body_html", "<b>bold</b>");
	view_set_str(v, "empty", "");
	view_set_int(v, "n", 42);
	view_set(v, "r", view_real(a, 1.21));
	view_set_bool(v, "t", 1);
	view_set_bool(v, "f", 0);
	view_set(v, "nil", view_null(a));
	view_set_arr(v, "none");
	l = view_set_arr(v, "list");
	for (int i = 0; i < 3; i++) {
		o = view_push_obj(l);
		view_set_int(o, "i", i);
		view_set_str(o, "name", i == 1 ? "x'y" : "row");
	}
	l = view_set_arr(v, "nums");
	view_push(l, view_int(a, 1));
	view_push(l, view_str(a, "two"));
	view_push(l, view_arr(a));
	deep = view_set_obj(v, "a");
	view_set_str(view_set_obj(deep, "b"), "c", "abc");
	view_set_bool(deep, "is_admin", 1);
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char partial[] = "[{{name}}{{#list}}{{i}}{{/list}}]\n";
	struct tpl_set *ts = tpl_set_new();
	struct arena *a = arena_new();
	struct err e = ERR_INIT;
	struct buf out;

	buf_init(&out, 1 << 20);
	tpl_set_max_steps(ts, 200000);
	if (tpl_add(ts, "p", "p.html", partial, sizeof(partial) - 1, &e) == 0 &&
	    tpl_add(ts, "self", "self.html", (const char *)data, size, &e) == 0 &&
	    tpl_add(ts, "t", "t.html", (const char *)data, size, &e) == 0) {
		(void)tpl_check(ts, &e);
		err_clear(&e);
		if (tpl_render(ts, "t", fixed_view(a), &out, &e) < 0 && out.len)
			BUG("a failed render left %zu bytes", out.len);
	} else if (!e.status || !e.msg[0]) {
		BUG("compile failed without an error message");
	}
	buf_release(&out);
	arena_free(a);
	tpl_set_free(ts);
	return 0;
}
