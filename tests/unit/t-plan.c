/* t-plan.c - the plans file: quantities, the shipped files, every malformed file refused with its
 * reason. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plan.h"
#include "tap.h"

static char dir[] = "/tmp/t-plan-XXXXXX";

/* Load text as a plans file; NULL with e on error. */
static struct plans *load(const char *text, struct err *e)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "%s/plans.yaml", dir);
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	err_clear(e);
	return plans_load(path, e);
}

static void refused(const char *text, const char *why, const char *what)
{
	struct err e = ERR_INIT;
	struct plans *p = load(text, &e);

	ok(!p && strstr(e.msg, why), "%s: %s", what, e.msg);
	plans_free(p);
}

#define OK_PLAN                                                                                    \
	"  small: {title: S, storage: 5Gi, backup_retention_days: 7, stores_per_tenant: 2}\n"

int main(void)
{
	struct err e = ERR_INIT;
	struct plans *p;
	const json_t *pl;
	json_t *v, *more;
	char path[512];
	const char *root = getenv("SF_ROOT");

	is_int(plan_quantity_bytes("5Gi"), 5LL << 30, "5Gi");
	is_int(plan_quantity_bytes("500Mi"), 500LL << 20, "500Mi");
	is_int(plan_quantity_bytes("10G"), 10000000000LL, "10G");
	is_int(plan_quantity_bytes("1024"), 1024, "bytes");
	is_int(plan_quantity_bytes("5GB"), -1, "5GB is no quantity");
	is_int(plan_quantity_bytes("-5Gi"), -1, "negative");
	is_int(plan_quantity_bytes(""), -1, "empty");
	is_int(plan_quantity_bytes(NULL), -1, "NULL");
	is_int(plan_quantity_bytes("99999999999999999999Gi"), -1, "overflow");

	/* the shipped files */
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/charts/plans-%s.yaml", root ? root : ".",
			 i ? "prod" : "local");
		p = plans_load(path, &e);
		ok(p, "%s loads: %s", path, e.msg);
		if (!p)
			continue;
		is_str(plans_default(p), "small", "default small");
		is_str(plans_names(p), "small, medium, large", "three plans in order");
		ok(plans_find(p, "") == plans_find(p, "small"), "'' is the default");
		ok(!plans_find(p, "gold"), "no gold");
		pl = plans_find(p, "medium");
		ok(json_integer_value(json_object_get(pl, "storage_bytes")) >
		       json_integer_value(json_object_get(plans_find(p, "small"), "storage_bytes")),
		   "medium has more storage than small");
		more = json_pack("{s:{s:b}}", "snapshot", "volume", 1);
		v = plan_store_values(pl, "woocommerce", more);
		ok(json_object_get(v, "quota") &&
		       json_is_true(json_object_get(json_object_get(v, "snapshot"), "volume")),
		   "store values: the plan's and more merged");
		ok(json_object_size(plan_values(pl, "nope")) == 0,
		   "an engine the plan does not name: {}");
		json_decref(v);
		json_decref(more);
		plans_free(p);
	}

	if (!mkdtemp(dir))
		return 1;
	p = load("default: small\nplans:\n" OK_PLAN, &e);
	ok(p && !strcmp(plans_default(p), "small"), "a minimal file: %s", e.msg);
	plans_free(p);
	refused("- a\n- b\n", "expected a mapping with default", "a list");
	refused("default: small\nplans:\n" OK_PLAN "extra: 1\n", "extra: unknown key",
		"unknown top key");
	refused("default: small\nplans: {}\n", "at least one plan", "no plans");
	refused("default: gold\nplans:\n" OK_PLAN, "default: expected the name",
		"default not a plan");
	refused("plans:\n" OK_PLAN, "default: expected the name", "no default");
	refused("default: Small\nplans:\n  Small: {title: S, storage: 5Gi, backup_retention_days: "
		"7, stores_per_tenant: 2}\n",
		"a plan name is", "upper-case name");
	refused("default: small\nplans:\n  small: {title: S, storage: 5GB, backup_retention_days: "
		"7, stores_per_tenant: 2}\n",
		"plans.small.storage", "bad storage");
	refused("default: small\nplans:\n  small: {title: S, storage: 5Gi, backup_retention_days: "
		"-1, stores_per_tenant: 2}\n",
		"plans.small.backup_retention_days", "negative retention");
	refused(
	    "default: small\nplans:\n  small: {title: S, storage: 5Gi, backup_retention_days: 7}\n",
	    "plans.small.stores_per_tenant", "missing limit");
	refused("default: small\nplans:\n  small: {title: '', storage: 5Gi, backup_retention_days: "
		"7, stores_per_tenant: 2}\n",
		"plans.small.title", "empty title");
	refused("default: small\nplans:\n  small: {title: S, storage: 5Gi, backup_retention_days: "
		"7, stores_per_tenant: 2, cpu: 1}\n",
		"plans.small.cpu: unknown key", "unknown plan key");
	refused("default: small\nplans:\n  small: {title: S, storage: 5Gi, backup_retention_days: "
		"7, stores_per_tenant: 2, values: {shopify: {}}}\n",
		"plans.small.values.shopify", "unknown engine");
	refused("default: small\nplans:\n  small: {title: S, storage: 5Gi, backup_retention_days: "
		"7, stores_per_tenant: 2, values: {medusa: {secrets: {a: b}}}}\n",
		"may not set secrets", "secrets in a plan");
	refused("default: small\nplans:\n" OK_PLAN OK_PLAN, "duplicate", "a plan twice");
	snprintf(path, sizeof(path), "%s/plans.yaml", dir);
	unlink(path);
	err_clear(&e);
	ok(!plans_load(path, &e) && *e.msg, "a missing file: %s", e.msg);
	rmdir(dir);
	return done_testing();
}
