/* fuzz-k8s-status.c - Kubernetes API answers (Status, JSON, pod reasons) and kubeconfig documents. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "k8s.h"
#include "readiness.h"

/*
 * The first byte picks the HTTP status and content type, so one corpus
 * exercises Status parsing (JSON and plain text), the JSON answer parser
 * (truncated, HTML, garbage) and the pod problems (readiness.c) on whatever parses.
 * A first byte 'K' makes the rest a kubeconfig file instead (through a
 * memfd, since the loader reads paths); 'T' loads it from memory, as a
 * cluster's sealed kubeconfig is, and what loads must flatten and load again.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void kubeconfig_case(const uint8_t *data, size_t size)
{
	struct kubeconfig kc;
	struct err e = ERR_INIT;
	char path[64];
	const char *p = path;
	int fd = memfd_create("kubeconfig", 0);

	if (fd < 0)
		return;
	if (write(fd, data, size) == (ssize_t)size) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if (kubeconfig_load_files(&kc, &p, 1, NULL, &e) == 0) {
			if (!kc.server || !*kc.server || (kc.cert && !kc.key))
				abort();
			kubeconfig_release(&kc);
		} else if (!e.msg[0]) {
			abort();	/* every failure says why */
		}
	}
	close(fd);
}

static void kubeconfig_text_case(const uint8_t *data, size_t size)
{
	struct kubeconfig kc, back;
	struct err e = ERR_INIT;
	char *flat;

	if (kubeconfig_load_text(&kc, (const char *)data, size, "fuzz", NULL, &e) < 0) {
		if (!e.msg[0])
			abort();
		return;
	}
	flat = kubeconfig_flatten(&kc);
	if (kubeconfig_load_text(&back, flat, strlen(flat), "flat", NULL, &e) < 0 ||
	    strcmp(back.server, kc.server) || strcmp(back.token, kc.token) || back.ca_len != kc.ca_len)
		abort(); /* the sealed form must hold what was checked */
	kubeconfig_release(&back);
	kubeconfig_release(&kc);
	free(flat);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int codes[] = {400, 401, 403, 404, 409, 410, 422, 429, 500, 503};
	static const char *const types[] = {"application/json", "text/plain", "text/html", NULL};
	struct k8s_status st;
	struct pod_problem p[4];
	struct err e = ERR_INIT;
	const char *body;
	char *copy;
	json_t *j;
	int sel;

	if (size < 1)
		return 0;
	if (data[0] == 'K') {
		kubeconfig_case(data + 1, size - 1);
		return 0;
	}
	if (data[0] == 'T') {
		kubeconfig_text_case(data + 1, size - 1);
		return 0;
	}
	sel = data[0];
	body = (const char *)data + 1;
	size--;
	/* Retry-After values come from headers: NUL-terminated strings */
	copy = malloc(size + 1);
	if (!copy)
		return 0;
	memcpy(copy, body, size);
	copy[size] = '\0';

	k8s_parse_status(&st, codes[sel % 10], body, size, types[(sel >> 4) & 3],
			 sel & 0x40 ? copy : NULL);
	if (st.ncauses < 0 || st.ncauses > K8S_CAUSES_MAX || strlen(st.message) >= sizeof(st.message))
		abort();
	(void)k8s_classify(&st, 0);

	j = k8s_parse_json(body, size, types[(sel >> 4) & 3], &e);
	if (j) {
		json_t *items = json_is_object(j) ? json_object_get(j, "items") : j;

		if (readiness_pod_problems(items, p, 4) < 0)
			abort();
		json_decref(j);
	}
	free(copy);
	return 0;
}
