/* fuzz-list-page.c - LIST answers narrowed before parsing, as reconcile's re-list reads them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "observe.h"

/*
 * The first byte picks the kind (0-3); the rest is the answer.  Narrowing
 * never grows the text; when the whole parses, the narrowed text parses
 * too, to the same number of items, each with the same summary.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* json_equal(), with two absent values equal */
static int same(const json_t *a, const json_t *b)
{
	return (!a && !b) || json_equal(a, b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *whole, *narrow, *wi, *ni;
	char *s;
	size_t n;
	int k;

	if (size < 1)
		return 0;
	k = data[0] % 4;
	s = malloc(size);
	if (!s)
		abort();
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	n = observe_narrow_list(s, size - 1);
	if (n > size - 1)
		abort();
	whole = json_loadb((const char *)data + 1, size - 1, JSON_ALLOW_NUL, NULL);
	narrow = json_loadb(s, n, JSON_ALLOW_NUL, NULL);
	if (json_is_object(whole)) {
		if (!json_is_object(narrow))
			abort();
		wi = json_object_get(whole, "items");
		ni = json_object_get(narrow, "items");
		if (json_array_size(wi) != json_array_size(ni) || !wi != !ni)
			abort();
		for (size_t i = 0; i < json_array_size(wi); i++) {
			const json_t *a = json_array_get(wi, i), *b = json_array_get(ni, i);
			json_t *sa, *sb;

			if (!json_is_object(a)) {
				if (!same(a, b))
					abort();
				continue;
			}
			sa = observe_summary(a, k);
			sb = observe_summary(b, k);
			if (!same(sa, sb) ||
			    !same(json_object_get(a, "status"), json_object_get(b, "status")) ||
			    !same(json_object_get(a, "metadata"), json_object_get(b, "metadata")) !=
				!!json_object_get(json_object_get(a, "metadata"), "managedFields"))
				abort();
			json_decref(sa);
			json_decref(sb);
		}
	}
	json_decref(whole);
	json_decref(narrow);
	free(s);
	return 0;
}
