/* chart.c - the engines' charts, loaded once per process (chart.h). */
#include <string.h>

#include "blueprint.h"
#include "chart.h"
#include "config.h"
#include "log.h"

static struct {
	const char *engine;
	struct blueprint *bp;
	int failed; /* logged once; tried again on the next call */
} charts[] = {{"woocommerce", NULL, 0}, {"medusa", NULL, 0}};

struct blueprint *chart_get(const char *engine, struct err *e)
{
	for (size_t i = 0; i < sizeof(charts) / sizeof(charts[0]); i++) {
		struct err le = ERR_INIT;

		if (!engine || strcmp(engine, charts[i].engine))
			continue;
		if (charts[i].bp)
			return charts[i].bp;
		charts[i].bp = blueprint_load(config.charts_dir, engine, config.overlay, NULL, &le);
		if (charts[i].bp)
			return charts[i].bp;
		if (!charts[i].failed++)
			log_error("chart '%s': %s", engine, le.msg);
		err_set(e, 500, "the %s chart cannot be loaded", engine);
		return NULL;
	}
	err_set(e, 500, "no chart for engine '%s'", engine ? engine : "");
	return NULL;
}

const json_t *chart_versions(const char *engine, struct err *e)
{
	struct blueprint *bp = chart_get(engine, e);

	return bp ? blueprint_versions(bp) : NULL;
}

const char *chart_default_version(const char *engine)
{
	struct err e = ERR_INIT;
	struct blueprint *bp = chart_get(engine, &e);

	return bp ? json_string_value(json_object_get(blueprint_values(bp), "version")) : NULL;
}

/* One dot-separated part of a version at *p: its digits (leading zeros skipped) and the rest. */
struct vpart {
	const char *num, *rest;
	size_t num_len, rest_len;
};

static const char *vpart_next(const char *p, struct vpart *v)
{
	while (*p == '0' && p[1] >= '0' && p[1] <= '9')
		p++;
	v->num = p;
	while (*p >= '0' && *p <= '9')
		p++;
	v->num_len = (size_t)(p - v->num);
	v->rest = p;
	while (*p && *p != '.')
		p++;
	v->rest_len = (size_t)(p - v->rest);
	return *p == '.' ? p + 1 : p;
}

/* Is v's number 0 (a missing part's is empty)? */
static int vpart_zero(const struct vpart *v)
{
	return v->num_len == 0 || (v->num_len == 1 && *v->num == '0');
}

static int vpart_cmp(const struct vpart *a, const struct vpart *b)
{
	size_t n = a->rest_len < b->rest_len ? a->rest_len : b->rest_len;
	int c;

	/* Without leading zeros the longer number is the larger. */
	if (a->num_len != b->num_len && !(vpart_zero(a) && vpart_zero(b)))
		return a->num_len < b->num_len ? -1 : 1;
	if (a->num_len == b->num_len && (c = memcmp(a->num, b->num, a->num_len)))
		return c < 0 ? -1 : 1;
	if (!a->rest_len != !b->rest_len)
		return a->rest_len ? -1 : 1; /* "1-rc1" before "1" */
	if ((c = memcmp(a->rest, b->rest, n)))
		return c < 0 ? -1 : 1;
	return a->rest_len == b->rest_len ? 0 : a->rest_len < b->rest_len ? -1 : 1;
}

int chart_version_cmp(const char *a, const char *b)
{
	a = a ? a : "";
	b = b ? b : "";
	while (*a || *b) {
		struct vpart pa, pb;
		int c;

		a = vpart_next(a, &pa);
		b = vpart_next(b, &pb);
		if ((c = vpart_cmp(&pa, &pb)))
			return c;
	}
	return 0;
}
