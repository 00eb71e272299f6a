/* fuzz-blueprint.c - any bytes as a store's display name and email: still one scalar each, same objects. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blueprint.h"
#include "y2j.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct blueprint *bp;
static json_t *secrets;
static size_t baseline;

/* The WooCommerce chart once, from $SF_ROOT/charts (or ./charts), and its normal object count. */
static void setup(void)
{
	const char *root = getenv("SF_ROOT");
	char dir[4096];
	struct err e = ERR_INIT;
	struct blueprint_store s = {.id = "fz", .name = "n", .owner_email = "e"};
	json_t *set, *n;
	size_t i;

	snprintf(dir, sizeof(dir), "%s/charts", root ? root : ".");
	bp = blueprint_load(dir, "woocommerce", "prod", NULL, &e);
	if (!bp) {
		fprintf(stderr, "fuzz-blueprint: %s\n", e.msg);
		abort();
	}
	secrets = json_object();
	json_array_foreach(blueprint_secret_names(bp), i, n)
		json_object_set_new(secrets, json_string_value(n), json_string("s3cret"));
	s.secrets = secrets;
	set = blueprint_render(bp, &s, &e);
	if (!set)
		abort();
	baseline = json_array_size(set);
	json_decref(set);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct err e = ERR_INIT;
	const uint8_t *nl = memchr(data, '\n', size);
	size_t split = nl ? (size_t)(nl - data) : size;
	char *name = strndup((const char *)data, split);
	char *email = strndup((const char *)data + (nl ? split + 1 : size), nl ? size - split - 1 : 0);
	struct blueprint_store s = {.id = "fz", .name = name, .owner_email = email};
	struct buf b = BUF_INIT;
	json_t *set, *back;
	const json_t *o;
	size_t i;
	int found = 0;

	if (!bp)
		setup();
	s.secrets = secrets;
	set = blueprint_render(bp, &s, &e);
	if (!set) {
		/* only text that is not UTF-8 (or has NUL) may be refused */
		if (!e.status)
			abort();
		goto out;
	}
	if (json_array_size(set) != baseline)
		abort();
	json_array_foreach(set, i, o) {
		const json_t *d = json_object_get(o, "data");

		/* the ConfigMap that carries the store's own words (a chart may have others) */
		if (strcmp(json_string_value(json_object_get(o, "kind")), "ConfigMap") ||
		    !json_object_get(d, "title"))
			continue;
		found++;
		if (strcmp(json_string_value(json_object_get(d, "title")), name) ||
		    strcmp(json_string_value(json_object_get(d, "admin-email")), email))
			abort();
	}
	y2j_emit_docs(&b, set);
	back = y2j_load_string(b.s, b.len, "emitted", NULL, &e);
	if (b.failed || !back || !json_equal(back, set)) {
		fprintf(stderr, "round trip failed: %s\n", e.msg);
		abort();
	}
	if (found != 1) /* the name and email went somewhere: exactly one such ConfigMap */
		abort();
	json_decref(back);
	json_decref(set);
out:
	buf_release(&b);
	free(name);
	free(email);
	return 0;
}
