/* plan.c - the plans file: parsed once, checked, and looked up by name (plan.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "plan.h"
#include "y2j.h"

/* Plans files are small; a large one is a mistake. */
#define PLANS_FILE_MAX (1 << 20)
#define PLAN_NAME_MAX  32

struct plans {
	json_t *list;	 /* [{name, title, storage, storage_bytes, ...}] in file order */
	json_t *by_name; /* name -> the same objects */
	char *def;
};

static const char *const engines[] = {"woocommerce", "medusa"};

long long plan_quantity_bytes(const char *q)
{
	static const struct {
		const char *suffix;
		long long mul;
	} units[] = {{"Ki", 1LL << 10},	  {"Mi", 1LL << 20},	  {"Gi", 1LL << 30},
		     {"Ti", 1LL << 40},	  {"k", 1000LL},	  {"M", 1000000LL},
		     {"G", 1000000000LL}, {"T", 1000000000000LL}, {"", 1}};
	char *end;
	long long n;

	if (!q || *q < '0' || *q > '9')
		return -1;
	errno = 0;
	n = strtoll(q, &end, 10);
	if (errno)
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcmp(end, units[i].suffix)) {
			if (n > (1LL << 62) / units[i].mul)
				return -1;
			return n * units[i].mul;
		}
	return -1;
}

long long plan_quantity_milli(const char *q)
{
	static const struct {
		const char *suffix;
		long double mul;
	} units[] = {{"m", 1.0L},	  {"", 1e3L},		{"k", 1e6L},
		     {"M", 1e9L},	  {"G", 1e12L},		{"T", 1e15L},
		     {"Ki", 1024e3L},	  {"Mi", 1048576e3L},	{"Gi", 1073741824e3L},
		     {"Ti", 1099511627776e3L}};
	long double n = 0, frac = 0.1L, v;
	const char *s = q;

	if (!q || !((*s >= '0' && *s <= '9') || *s == '.'))
		return -1;
	for (; *s >= '0' && *s <= '9'; s++)
		n = n * 10 + (*s - '0');
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++, frac /= 10)
			n += (*s - '0') * frac;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcmp(s, units[i].suffix)) {
			v = n * units[i].mul;
			if (v > (long double)(1LL << 62))
				return -1;
			return (long long)ceill(v - 1e-6L);
		}
	return -1;
}

/* A plan name: [a-z0-9]([a-z0-9-]*[a-z0-9])?, at most PLAN_NAME_MAX characters. */
static int name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > PLAN_NAME_MAX || s[0] == '-' || s[n - 1] == '-')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}

static int check_int(const json_t *o, const char *key, long long lo, long long hi, const char *path,
		     const char *plan, struct err *e)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return err_set(e, 500, "%s: plans.%s.%s: expected a whole number in %lld..%lld",
			       path, plan, key, lo, hi);
	return 0;
}

/* One plan checked and turned into its lookup object (new reference), or NULL with e. */
static json_t *plan_make(const char *path, const char *name, const json_t *src, struct err *e)
{
	const json_t *title = json_object_get(src, "title"), *storage, *values, *v;
	const char *key;
	long long bytes;
	json_t *out;

	if (!name_ok(name)) {
		err_set(e, 500, "%s: plans.%s: a plan name is 1 to %d of a-z, 0-9 and '-'", path,
			name, PLAN_NAME_MAX);
		return NULL;
	}
	if (!json_is_object(src)) {
		err_set(e, 500, "%s: plans.%s: expected a mapping", path, name);
		return NULL;
	}
	json_object_foreach((json_t *)src, key, v) {
		if (strcmp(key, "title") && strcmp(key, "storage") &&
		    strcmp(key, "backup_retention_days") && strcmp(key, "stores_per_tenant") &&
		    strcmp(key, "values")) {
			err_set(e, 500, "%s: plans.%s.%s: unknown key", path, name, key);
			return NULL;
		}
	}
	if (!json_is_string(title) || !*json_string_value(title)) {
		err_set(e, 500, "%s: plans.%s.title: expected a non-empty string", path, name);
		return NULL;
	}
	storage = json_object_get(src, "storage");
	bytes = plan_quantity_bytes(json_string_value(storage));
	if (!json_is_string(storage) || bytes <= 0) {
		err_set(e, 500, "%s: plans.%s.storage: expected a storage quantity such as 10Gi",
			path, name);
		return NULL;
	}
	if (check_int(src, "backup_retention_days", 0, 3650, path, name, e) < 0 ||
	    check_int(src, "stores_per_tenant", 0, 1000000, path, name, e) < 0)
		return NULL;
	values = json_object_get(src, "values");
	if (values && !json_is_object(values)) {
		err_set(e, 500, "%s: plans.%s.values: expected a mapping of engine: values", path,
			name);
		return NULL;
	}
	json_object_foreach((json_t *)values, key, v) {
		int known = 0;

		for (size_t i = 0; i < sizeof(engines) / sizeof(engines[0]); i++)
			known |= !strcmp(key, engines[i]);
		if (!known || !json_is_object(v)) {
			err_set(e, 500,
				"%s: plans.%s.values.%s: expected an engine's mapping of values",
				path, name, key);
			return NULL;
		}
		if (json_object_get(v, "secrets") || json_object_get(v, "store") ||
		    json_object_get(v, "version") || json_object_get(v, "platform") ||
		    json_object_get(v, "snapshot")) {
			err_set(
			    e, 500,
			    "%s: plans.%s.values.%s: a plan may not set secrets, store, version, "
			    "platform or snapshot",
			    path, name, key);
			return NULL;
		}
	}
	out = json_pack("{s:s,s:O,s:O,s:I,s:O,s:O,s:o}", "name", name, "title", title, "storage",
			storage, "storage_bytes", (json_int_t)bytes, "backup_retention_days",
			json_object_get(src, "backup_retention_days"), "stores_per_tenant",
			json_object_get(src, "stores_per_tenant"), "values",
			values ? json_deep_copy(values) : json_object());
	if (!out)
		die_oom();
	return out;
}

struct plans *plans_load(const char *path, struct err *e)
{
	struct y2j_opts o = {.max_size = PLANS_FILE_MAX, .max_depth = 16};
	json_t *doc = y2j_load_file1(path, &o, e), *plist, *v;
	struct plans *p;
	const char *key, *def;

	if (!doc)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		die_oom();
	p->list = json_array();
	p->by_name = json_object();
	if (!json_is_object(doc)) {
		err_set(e, 500, "%s: expected a mapping with default: and plans:", path);
		goto fail;
	}
	json_object_foreach(doc, key, v) {
		if (strcmp(key, "default") && strcmp(key, "plans")) {
			err_set(e, 500, "%s: %s: unknown key (expected default and plans)", path,
				key);
			goto fail;
		}
	}
	plist = json_object_get(doc, "plans");
	if (!json_is_object(plist) || !json_object_size(plist)) {
		err_set(e, 500, "%s: plans: expected a mapping of at least one plan", path);
		goto fail;
	}
	/* jansson keeps insertion order: the file's order */
	json_object_foreach(plist, key, v) {
		json_t *one = plan_make(path, key, v, e);

		if (!one)
			goto fail;
		json_array_append_new(p->list, one);
		json_object_set(p->by_name, key, one);
	}
	def = json_string_value(json_object_get(doc, "default"));
	if (!def || !json_object_get(p->by_name, def)) {
		err_set(e, 500, "%s: default: expected the name of one of the plans", path);
		goto fail;
	}
	p->def = strdup(def);
	if (!p->def)
		die_oom();
	json_decref(doc);
	return p;
fail:
	json_decref(doc);
	plans_free(p);
	return NULL;
}

void plans_free(struct plans *p)
{
	if (!p)
		return;
	json_decref(p->list);
	json_decref(p->by_name);
	free(p->def);
	free(p);
}

const struct plans *plans_get(struct err *e)
{
	static struct plans *loaded;
	static int failed;
	struct err le = ERR_INIT;

	if (loaded)
		return loaded;
	loaded = plans_load(config.plans_file, &le);
	if (loaded)
		return loaded;
	if (!failed++)
		log_error("plans: %s", le.msg);
	err_set(e, 500, "the plans cannot be loaded");
	return NULL;
}

const char *plans_default(const struct plans *p)
{
	return p->def;
}

const json_t *plans_list(const struct plans *p)
{
	return p->list;
}

const json_t *plans_find(const struct plans *p, const char *name)
{
	return json_object_get(p->by_name, name && *name ? name : p->def);
}

const char *plans_names(const struct plans *p)
{
	static char buf[512];
	size_t i, n = 0;
	const json_t *v;

	buf[0] = 0;
	json_array_foreach(p->list, i, v) {
		if (n < sizeof(buf))
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", i ? ", " : "",
					      json_string_value(json_object_get(v, "name")));
	}
	return buf;
}

const json_t *plan_values(const json_t *plan, const char *engine)
{
	static json_t *empty;
	const json_t *v = json_object_get(json_object_get(plan, "values"), engine);

	if (v)
		return v;
	if (!empty)
		empty = json_object();
	return empty;
}

/* Merge src into dst: objects recursively, anything else replaces. */
static void merge(json_t *dst, const json_t *src)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)src, key, v) {
		json_t *have = json_object_get(dst, key);

		if (json_is_object(have) && json_is_object(v))
			merge(have, v);
		else
			json_object_set_new(dst, key, json_deep_copy(v));
	}
}

json_t *plan_store_values(const json_t *plan, const char *engine, const json_t *more)
{
	json_t *out = json_deep_copy(plan_values(plan, engine));

	if (!out)
		die_oom();
	if (more)
		merge(out, more);
	return out;
}
