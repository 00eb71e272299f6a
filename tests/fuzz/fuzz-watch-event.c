/* fuzz-watch-event.c - lines of a Kubernetes watch stream, as reconcile's observer reads them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "observe.h"

/*
 * The first byte picks the kind (0-3); the rest is split into lines as
 * the stream is.  Every line parses to an event or to "bad", a change
 * carries a summary that is JSON again, and the fields stay terminated.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p, *end, *nl;
	int k;

	if (size < 1)
		return 0;
	k = data[0] % 4;
	p = (const char *)data + 1;
	end = (const char *)data + size;
	for (; p < end; p = nl + 1) {
		struct observe_event ev;
		enum observe_ev t;

		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		t = observe_parse_event(p, (size_t)(nl - p), k, &ev);
		if (t != ev.type || strlen(ev.ns) >= sizeof(ev.ns) || strlen(ev.rv) >= sizeof(ev.rv))
			abort();
		if ((t == OBSERVE_EV_CHANGE) != (ev.summary != NULL))
			abort();
		if (t == OBSERVE_EV_CHANGE && (!*ev.name || !*ev.store))
			abort();
		if (t == OBSERVE_EV_BOOKMARK && !*ev.rv)
			abort();
		if (ev.summary) {
			json_t *j = json_loads(ev.summary, 0, NULL);

			if (!json_is_object(j))
				abort();
			json_decref(j);
			free(ev.summary);
		}
		if (nl == end)
			break;
	}
	return 0;
}
