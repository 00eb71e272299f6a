/* bench-k8s.c - Kubernetes client round trips per second (GET, SSA apply, LIST of 1,000) against kubesim. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "k8s.h"

/*
 * Usage: bench-k8s KUBECONFIG [N]
 * Seeds namespace bench-k8s with 1,000 ConfigMaps through /_sim/bulk, then
 * times N GETs, N no-op applies, N/2 changing applies and N/20 paged LISTs
 * of all 1,000 (limit 500) on one kept-alive client.  Prints a table.
 */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void row(const char *name, double *lat, int n, int fails)
{
	double total = 0;

	for (int i = 0; i < n; i++)
		total += lat[i];
	qsort(lat, (size_t)n, sizeof(*lat), cmp_d);
	printf("| %-28s | %6d | %8.0f | %8.2f | %8.2f | %5d |\n", name, n, n / total,
	       lat[n / 2] * 1000, lat[(int)(n * 0.99)] * 1000, fails);
}

static json_t *cm(int i, const char *val)
{
	char name[32];

	snprintf(name, sizeof(name), "cm-%04d", i);
	return json_pack("{s:s,s:s,s:{s:s,s:s,s:{s:s}},s:{s:s}}", "apiVersion", "v1", "kind",
			 "ConfigMap", "metadata", "name", name, "namespace", "bench-k8s", "labels",
			 "storefleet.io/store", "bench", "data", "v", val);
}

int main(int argc, char **argv)
{
	struct k8s k;
	struct k8s_opts o = {0};
	struct k8s_err ke;
	struct err e = ERR_INIT;
	int n = argc > 2 ? atoi(argv[2]) : 2000, fails, code = 0;
	double *lat, t;
	json_t *items, *bulk, *obj, *r;
	char *body;

	if (argc < 2 || n < 20) {
		fprintf(stderr, "usage: bench-k8s KUBECONFIG [N >= 20]\n");
		return 2;
	}
	o.kubeconfig = argv[1];
	if (k8s_init(&k, &o, &e) < 0) {
		fprintf(stderr, "bench-k8s: %s\n", e.msg);
		return 1;
	}
	lat = calloc((size_t)n, sizeof(*lat));
	items = json_array();
	json_array_append_new(items, json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind",
					       "Namespace", "metadata", "name", "bench-k8s"));
	for (int i = 0; i < 1000; i++)
		json_array_append_new(items, cm(i, "seed"));
	bulk = json_pack("{s:o,s:b}", "items", items, "ready", 1);
	body = json_dumps(bulk, JSON_COMPACT);
	r = k8s_request(&k, "POST", "/_sim/bulk", body, "application/json", &code, &ke);
	free(body);
	json_decref(bulk);
	json_decref(r);
	if (code < 200 || code >= 300) {
		fprintf(stderr, "bench-k8s: seeding failed: %s\n", ke.err.msg);
		return 1;
	}

	printf("| %-28s | %6s | %8s | %8s | %8s | %5s |\n", "kubernetes client (kubesim)", "n",
	       "req/s", "p50 ms", "p99 ms", "fails");
	printf(
	    "|------------------------------|--------|----------|----------|----------|-------|\n");

	fails = 0;
	for (int i = 0; i < n; i++) {
		t = now_s();
		r = k8s_get(&k, "/api/v1/namespaces/bench-k8s/configmaps/cm-0001", &ke);
		lat[i] = now_s() - t;
		fails += !r;
		json_decref(r);
	}
	row("GET configmap", lat, n, fails);

	fails = 0;
	obj = cm(2, "seed");
	for (int i = 0; i < n; i++) {
		t = now_s();
		r = k8s_apply(&k, obj, NULL, NULL, &ke);
		lat[i] = now_s() - t;
		fails += !r;
		json_decref(r);
	}
	json_decref(obj);
	row("SSA apply (no-op)", lat, n, fails);

	fails = 0;
	for (int i = 0; i < n / 2; i++) {
		char val[32];

		snprintf(val, sizeof(val), "v%d", i);
		obj = cm(3, val);
		t = now_s();
		r = k8s_apply(&k, obj, NULL, NULL, &ke);
		lat[i] = now_s() - t;
		fails += !r;
		json_decref(r);
		json_decref(obj);
	}
	row("SSA apply (changing)", lat, n / 2, fails);

	fails = 0;
	for (int i = 0; i < n / 20; i++) {
		struct k8s_list l;
		struct k8s_list_opts lo = {.api_version = "v1",
					   .kind = "ConfigMap",
					   .ns = "bench-k8s",
					   .label_selector = "storefleet.io/store=bench"};

		t = now_s();
		if (k8s_list(&k, &lo, &l, &ke) < 0 || json_array_size(l.items) != 1000)
			fails++;
		lat[i] = now_s() - t;
		if (l.items)
			k8s_list_release(&l);
	}
	row("LIST 1,000 by label, 2 pages", lat, n / 20, fails);
	if (fails)
		fprintf(stderr, "bench-k8s: last error: %s\n", ke.err.msg);
	free(lat);
	k8s_release(&k);
	return 0;
}
