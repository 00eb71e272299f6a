/* ctl_render.c - storefleetctl render: what reconcile applies for a store, or the platform. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "blueprint.h"
#include "config.h"
#include "ctl.h"
#include "plan.h"
#include "y2j.h"

/*
 * storefleetctl render ENGINE [--overlay local|prod] [--values FILE]
 *     [--plan NAME] [--plans FILE] [--store-id ID] [--name TEXT]
 *     [--email ADDR] [--version V] [--json] [--show-secrets]
 *
 * The same arguments print the same bytes on every run.  render never sees
 * a store's real secrets (reconcile makes them once per store and keeps
 * them in the cluster), so each one is the placeholder "preview-<name>",
 * masked unless --show-secrets; the blueprint revision does not depend on
 * secrets, so it is the one reconcile annotates the store's objects with.
 * A platform chart (`render platform`: storefleet's own manifests) has no
 * store, so the store options are refused there.  A store renders with
 * its plan's values (plan.h; --plan, default the plans file's default) from
 * --plans, else the plans_file setting for the configured overlay, else
 * <charts_dir>/plans-<overlay>.yaml.  A knob for benchmarks,
 * not for operators: --bench N renders N times and prints the CPU time per
 * store instead of the objects.
 */

#define USAGE                                                                                      \
	"usage: storefleetctl render ENGINE [--overlay local|prod] [--values FILE] "               \
	"[--plan NAME] [--plans FILE] [--store-id ID] [--name TEXT] [--email ADDR] [--version V] " \
	"[--json] [--show-secrets]\n"

/*
 * Every secret as "preview-<name>" (new reference): plainly not a
 * credential, and derived from nothing secret.  A byte of the name that a
 * secret may not hold (outside A-Z a-z 0-9 . _ ~ -) becomes '-'.
 */
static json_t *preview_secrets(const json_t *names)
{
	static const char ok[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~-";
	json_t *s = json_object(), *n;
	struct buf v = BUF_INIT;
	size_t i;

	if (!s)
		die_oom();
	json_array_foreach(names, i, n) {
		buf_reset(&v);
		buf_adds(&v, "preview-");
		for (const char *c = json_string_value(n); *c; c++)
			buf_addch(&v, strchr(ok, *c) ? *c : '-');
		if (v.failed || json_object_set_new(s, json_string_value(n), json_string(v.s)) < 0)
			die_oom();
	}
	buf_release(&v);
	return s;
}

static double cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Render n times; print microseconds of CPU per store on stdout. */
static int bench(const struct blueprint *bp, const struct blueprint_store *s, long n)
{
	struct err e = ERR_INIT;
	double t0 = cpu_seconds(), t;

	for (long i = 0; i < n; i++) {
		json_t *set = blueprint_render(bp, s, &e);

		if (!set) {
			fprintf(stderr, "storefleetctl: render: %s\n", e.msg);
			return 1;
		}
		json_decref(set);
	}
	t = cpu_seconds() - t0;
	printf("%s %ld %.1f\n", blueprint_engine(bp), n, t / (double)n * 1e6);
	return 0;
}

int ctl_render(int argc, char **argv)
{
	const char *engine = NULL, *overlay = config.overlay, *values = NULL;
	const char *plan_name = NULL, *plans_file = NULL;
	struct plans *plans = NULL;
	json_t *store_values = NULL;
	struct blueprint_store s = {
	    .id = "example", .name = "Example store", .owner_email = "owner@example.com"};
	int as_json = 0, show = 0, rc = 1, store_opt = 0;
	long bench_n = 0;
	struct err e = ERR_INIT;
	struct blueprint *bp = NULL;
	json_t *secrets = NULL, *set = NULL;
	struct buf out = BUF_INIT;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **opt = !strcmp(a, "--overlay")    ? &overlay
				   : !strcmp(a, "--values")   ? &values
				   : !strcmp(a, "--store-id") ? &s.id
				   : !strcmp(a, "--name")     ? &s.name
				   : !strcmp(a, "--email")    ? &s.owner_email
				   : !strcmp(a, "--version")  ? &s.version
				   : !strcmp(a, "--plan")     ? &plan_name
				   : !strcmp(a, "--plans")    ? &plans_file
							      : NULL;

		if (opt) {
			if (++i >= argc) {
				fprintf(stderr, "storefleetctl: render: %s needs a value\n" USAGE,
					a);
				return 2;
			}
			*opt = argv[i];
			store_opt |= opt != &overlay && opt != &values && opt != &plans_file;
		} else if (!strcmp(a, "--json")) {
			as_json = 1;
		} else if (!strcmp(a, "--show-secrets")) {
			show = 1;
		} else if (!strcmp(a, "--bench") && i + 1 < argc) {
			bench_n = strtol(argv[++i], NULL, 10);
		} else if (a[0] == '-' || engine) {
			fprintf(stderr, "storefleetctl: render: unexpected '%s'\n" USAGE, a);
			return 2;
		} else {
			engine = a;
		}
	}
	if (!engine) {
		fputs(USAGE, stderr);
		return 2;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "storefleetctl: render: libsodium cannot start\n");
		return 1;
	}
	bp = blueprint_load(config.charts_dir, engine, overlay, values, &e);
	if (!bp || blueprint_configure(bp, &config, &e) < 0)
		goto fail;
	if (blueprint_is_platform(bp) && store_opt) {
		fprintf(stderr,
			"storefleetctl: render: '%s' is the platform, not a store: "
			"--store-id, --name, --email, --version and --plan do not apply\n",
			engine);
		rc = 2;
		goto out;
	}
	if (!blueprint_is_platform(bp)) {
		char path[4096];
		const json_t *plan;

		if (!plans_file && !strcmp(overlay, config.overlay))
			plans_file = config.plans_file;
		if (!plans_file) {
			snprintf(path, sizeof(path), "%s/plans-%s.yaml", config.charts_dir,
				 overlay);
			plans_file = path;
		}
		if (!(plans = plans_load(plans_file, &e)))
			goto fail;
		if (!(plan = plans_find(plans, plan_name))) {
			fprintf(stderr, "storefleetctl: render: no plan '%s' (the plans are %s)\n",
				plan_name, plans_names(plans));
			rc = 2;
			goto out;
		}
		store_values = plan_store_values(plan, engine, NULL);
		s.values = store_values;
	}
	secrets = preview_secrets(blueprint_secret_names(bp));
	s.secrets = secrets;
	if (bench_n > 0) {
		rc = bench(bp, blueprint_is_platform(bp) ? NULL : &s, bench_n);
		goto out;
	}
	set = blueprint_render(bp, blueprint_is_platform(bp) ? NULL : &s, &e);
	if (!set)
		goto fail;
	if (!show)
		blueprint_mask_secrets(set);
	if (as_json) {
		json_t *list =
		    json_pack("{s:s, s:s, s:O}", "apiVersion", "v1", "kind", "List", "items", set);
		char *j = list ? json_dumps(list, JSON_INDENT(2)) : NULL;

		if (!j)
			die_oom();
		buf_adds(&out, j);
		buf_addch(&out, '\n');
		free(j);
		json_decref(list);
	} else {
		y2j_emit_docs(&out, set);
	}
	if (out.failed) {
		fprintf(stderr, "storefleetctl: render: cannot format the output\n");
		goto out;
	}
	/* All or nothing: the whole text is ready before the first byte goes out. */
	if (fwrite(out.s, 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
		fprintf(stderr, "storefleetctl: render: cannot write the output\n");
		goto out;
	}
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "storefleetctl: render: %s\n", e.msg);
out:
	buf_release(&out);
	json_decref(set);
	json_decref(secrets);
	json_decref(store_values);
	plans_free(plans);
	blueprint_free(bp);
	return rc;
}
