/* config_file.c - the optional YAML settings file (SF_CONFIG): a mapping of setting -> scalar. */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "y2j.h"

/* Settings files are tiny; a large one is a mistake, not a configuration. */
#define CONFIG_FILE_MAX (1 << 20)

int config_load_file(struct config *c, const char *path, struct err *e)
{
	struct y2j_marks *marks = y2j_marks_new();
	struct y2j_opts o = {.max_size = CONFIG_FILE_MAX, .max_depth = 8, .marks = marks};
	const char *key;
	json_t *doc, *v;
	int rc = 0;

	doc = y2j_load_file1(path, &o, e);
	if (!doc) {
		y2j_marks_free(marks);
		return -1; /* "path:line:col: problem" says it all */
	}
	if (json_is_null(doc))
		goto out; /* an empty file sets nothing */
	if (!json_is_object(doc)) {
		struct y2j_pos p;

		y2j_marks_find(marks, NULL, NULL, 0, NULL, &p);
		rc = err_set(e, 500, "config: %s:%u: expected a mapping of setting: value", path,
			     p.line);
		goto out;
	}
	json_object_foreach(doc, key, v) {
		struct y2j_pos p;
		char from[300], num[32];
		const char *s;

		y2j_marks_find(marks, doc, key, 0, &p, NULL);
		snprintf(from, sizeof(from), "%s:%u", path, p.line);
		switch (json_typeof(v)) {
		case JSON_STRING:
			s = json_string_value(v);
			break;
		case JSON_INTEGER:
			snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
			s = num;
			break;
		case JSON_TRUE:
			s = "true";
			break;
		case JSON_FALSE:
			s = "false";
			break;
		case JSON_NULL:
			s = "";
			break;
		default:
			rc = err_set(e, 500, "config: %s: '%s' must be a single value", from, key);
			goto out;
		}
		if (config_set(c, key, s, from, e) < 0) {
			rc = -1;
			goto out;
		}
	}
out:
	json_decref(doc);
	y2j_marks_free(marks);
	return rc;
}
