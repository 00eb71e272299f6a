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
