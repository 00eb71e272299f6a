/* t-core.c - arena, buf and view: the allocation and output primitives. */
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "buf.h"
#include "view.h"
#include "tap.h"

static int cleaned;

static void count_cleanup(void *p)
{
	cleaned += *(int *)p;
}

int main(void)
{
	struct arena *a = arena_new();
	struct buf b = BUF_INIT;
	int one = 1, ten = 10;
	char *big;

	/* arena */
	is_str(arena_printf(a, "%s-%d", "x", 42), "x-42", "arena_printf formats");
	big = arena_alloc(a, 100000);
	memset(big, 'z', 100000);
	ok(big[99999] == 'z', "large allocation usable");
	arena_defer(a, count_cleanup, &one);
	arena_defer(a, count_cleanup, &ten);
	arena_reset(a);
	is_int(cleaned, 11, "reset runs every deferred cleanup");
	is_int(arena_used(a), 0, "reset rewinds");
	for (int i = 0; i < 10000; i++)
		arena_alloc(a, 100);
	is_int(arena_used(a), 1000000, "many small allocations counted");
	arena_reset(a);

	/* buf */
	ok(b.s && b.s[0] == '\0', "empty buf is a valid empty string");
	buf_addf(&b, "%d %s", 7, "seven");
	is_str(b.s, "7 seven", "buf_addf");
	buf_reset(&b);
	buf_add_html(&b, "<a href=\"x\">&'", 14);
	is_str(b.s, "&lt;a href=&quot;x&quot;&gt;&amp;&#39;", "html escaping covers & < > \" '");
	buf_reset(&b);
	{ static const char js[] = "a\"\\\n\x01</script>"; buf_add_json_str(&b, js, sizeof(js) - 1); }
	is_str(b.s, "\"a\\\"\\\\\\n\\u0001\\u003c/script\\u003e\"", "json string escaping");
	buf_release(&b);
	{
		struct buf c;

		buf_init(&c, 10);
		buf_adds(&c, "0123456789");
		ok(!c.failed, "exactly max fits");
		buf_addch(&c, 'x');
		ok(c.failed && c.len == 10, "past max: sticky failure, content kept");
		buf_release(&c);
	}

	/* view */
	{
		struct view *o = view_obj(a), *arr;

		view_set_str(o, "name", "<b>");
		view_set_int(o, "n", 3);
		arr = view_set_arr(o, "list");
		view_push(arr, view_bool(a, 1));
		view_push(arr, view_null(a));
		view_set_int(o, "n", 4);
		view_json(&b, o);
		is_str(b.s, "{\"name\":\"\\u003cb\\u003e\",\"n\":4,\"list\":[true,null]}",
		       "view_json keeps order, replaces on set");
		is_str(view_get_str(o, "name"), "<b>", "view_get_str");
		ok(!view_truthy(view_arr(a)), "empty list is falsy");
		buf_release(&b);
	}
	{
		json_error_t je;
		json_t *j = json_loads("{\"a\":[1,2.5,\"x\",false],\"b\":{}}", 0, &je);

		view_json(&b, view_from_json(a, j));
		is_str(b.s, "{\"a\":[1,2.5,\"x\",false],\"b\":{}}", "json -> view -> json round trip");
		json_decref(j);
		buf_release(&b);
	}
	arena_free(a);
	return done_testing();
}
