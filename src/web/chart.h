/* chart.h - the engines' charts as the web side reads them: versions, their order, the default. */
#ifndef SF_CHART_H
#define SF_CHART_H

#include <jansson.h>

#include "err.h"

struct blueprint;

/*
 * Each engine's chart (charts/<engine>/, config.overlay) is loaded on first
 * use and kept for the process's life; a chart that cannot be loaded is
 * logged once and tried again on the next call.  Below the store views
 * (store.c shows the default version of a store that pins none) and the
 * revision rules (revision.c checks a requested version), so neither has to
 * include the other.
 */

/* The chart of engine (borrowed), or NULL with e (500) when it cannot be loaded. */
struct blueprint *chart_get(const char *engine, struct err *e);

/* The versions a store of engine may run, oldest first (borrowed); NULL with e (500). */
const json_t *chart_versions(const char *engine, struct err *e);

/*
 * The chart's `version`: what a store without a pinned version runs.  NULL
 * when the chart cannot be loaded (the cause is logged once).
 */
const char *chart_default_version(const char *engine);

/*
 * Order two engine versions: <0 when a is older than b, 0 when the same, >0
 * when newer.  Dot-separated parts compare as numbers ("6.10" is newer than
 * "6.9"; a missing part is 0, so "6.8" is "6.8.0"); whatever follows a
 * part's digits ("0-rc1") orders before the bare number and otherwise as
 * text.  The downgrade rule of the revision requests (revision.c).
 */
int chart_version_cmp(const char *a, const char *b);

#endif
