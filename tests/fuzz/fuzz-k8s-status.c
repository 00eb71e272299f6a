/* fuzz-k8s-status.c - Kubernetes API answers: Status bodies, JSON parsing, pod reasons. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "k8s.h"

/*
 * The first byte picks the HTTP status and content type, so one corpus
 * exercises Status parsing (JSON and plain text), the JSON answer parser
 * (truncated, HTML, garbage) and the pod summariser on whatever parses.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int codes[] = {400, 401, 403, 404, 409, 410, 422, 429, 500, 503};
	static const char *const types[] = {"application/json", "text/plain", "text/html", NULL};
	struct k8s_status st;
	struct k8s_pod_problem p[4];
	struct err e = ERR_INIT;
	const char *body;
	char *copy;
	json_t *j;
	int sel;

	if (size < 1)
		return 0;
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

		if (k8s_pod_problems(items, p, 4) < 0)
			abort();
		json_decref(j);
	}
	free(copy);
	return 0;
}
