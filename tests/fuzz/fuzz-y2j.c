/* fuzz-y2j.c - the YAML reader on any bytes; what loads must survive emit + reload unchanged. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "y2j.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct y2j_marks *m = y2j_marks_new();
	struct y2j_opts o = {.max_size = 1 << 20, .marks = m};
	struct err e = ERR_INIT;
	struct buf b = BUF_INIT;
	json_t *docs, *back;

	docs = y2j_load_string((const char *)data, size, "fuzz", &o, &e);
	if (!docs) {
		if (!e.status)
			abort(); /* a failure must say why */
		y2j_marks_free(m);
		return 0;
	}
	y2j_emit_docs(&b, docs);
	if (b.failed)
		abort();
	err_clear(&e);
	back = y2j_load_string(b.s, b.len, "emitted", NULL, &e);
	if (!back || !json_equal(docs, back)) {
		fprintf(stderr, "round trip failed: %s\n--- emitted:\n%s\n", e.msg, b.s);
		abort();
	}
	json_decref(back);
	json_decref(docs);
	buf_release(&b);
	y2j_marks_free(m);
	return 0;
}
