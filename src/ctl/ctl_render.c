/* ctl_render.c - storefleetctl render: what reconcile applies for a store, or the platform. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "blueprint.h"
#include "config.h"
#include "ctl.h"
#include "y2j.h"

/*
 * storefleetctl render ENGINE [--overlay local|prod] [--values FILE]
 *     [--store-id ID] [--name TEXT] [--email ADDR] [--version V]
 *     [--json] [--show-secrets]
 *
 * Without a real store the secrets are throwaway random ones, masked unless
 * --show-secrets.  A platform chart (`render platform`: storefleet's own
 * manifests) has no store, so the store options are refused there.
 * Two knobs for tests and benchmarks, not for operators:
 * SF_RENDER_FAKE_SECRETS=1 makes each secret "fake-<name>" so output is
 * byte-for-byte reproducible, and --bench N renders N times and prints the
 * CPU time per store instead of the objects.
 */

#define USAGE                                                                                      \
	"usage: storefleetctl render ENGINE [--overlay local|prod] [--values FILE] "               \
	"[--store-id ID] [--name TEXT] [--email ADDR] [--version V] [--json] [--show-secrets]\n"

static json_t *throwaway_secrets(const json_t *names)
{
	const char *fake = getenv("SF_RENDER_FAKE_SECRETS");
	json_t *s = json_object(), *n;
	size_t i;

	if (!s)
		die_oom();
	json_array_foreach(names, i, n) {
		unsigned char raw[24];
		char hex[sizeof(raw) * 2 + 1];

		if (fake && !strcmp(fake, "1")) {
			snprintf(hex, sizeof(hex), "fake-%s", json_string_value(n));
		} else {
			randombytes_buf(raw, sizeof(raw));
			sodium_bin2hex(hex, sizeof(hex), raw, sizeof(raw));
		}
		if (json_object_set_new(s, json_string_value(n), json_string(hex)) < 0)
			die_oom();
	}
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
							      : NULL;

		if (opt) {
			if (++i >= argc) {
				fprintf(stderr, "storefleetctl: render: %s needs a value\n" USAGE,
					a);
				return 2;
			}
			*opt = argv[i];
			store_opt |= opt != &overlay && opt != &values;
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
			"--store-id, --name, --email and --version do not apply\n",
			engine);
		rc = 2;
		goto out;
	}
	secrets = throwaway_secrets(blueprint_secret_names(bp));
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
	blueprint_free(bp);
	return rc;
}
