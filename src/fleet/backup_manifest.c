/* backup_manifest.c - manifest.json of a store's backup, parsed as untrusted input (backup_manifest.h). */
#include <string.h>

#include <jansson.h>

#include "backup_manifest.h"

const char *backup_dump_name(const char *engine)
{
	if (!strcmp(engine, "woocommerce"))
		return "database.sql.gz";
	if (!strcmp(engine, "medusa"))
		return "database.dump";
	return NULL;
}

/* s made of the characters of set only, 1..max-1 long (or empty when may_be_empty) */
static int shaped(const char *s, const char *set, size_t max, int may_be_empty)
{
	size_t n = strlen(s);

	return (n || may_be_empty) && n < max && strspn(s, set) == n;
}

static int timestamp_ok(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
	size_t i;

	if (strlen(s) != sizeof(shape) - 1)
		return 0;
	for (i = 0; shape[i]; i++)
		if (shape[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != shape[i])
			return 0;
	return 1;
}

#define LOWER_DIGITS_DASH "abcdefghijklmnopqrstuvwxyz0123456789-"
#define TOKEN "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"

/* copy the string member key of o into out[outsz] if it has the shape; -1 with e set otherwise */
static int str_field(json_t *o, const char *key, const char *set, char *out, size_t outsz, int may_be_empty,
		     struct err *e)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v))
		return err_set(e, 422, "manifest.json: '%s' is missing or not a string", key);
	if (!shaped(json_string_value(v), set, outsz, may_be_empty) ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return err_set(e, 422, "manifest.json: '%s' is not a valid value", key);
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

int backup_manifest_parse(const char *text, size_t len, const char *store_id, const char *backup_id,
			  struct backup_manifest *m, struct err *e)
{
	json_t *root, *objs, *o;
	json_error_t je;
	const char *dump;
	size_t i;
	int rc = -1;

	memset(m, 0, sizeof(*m));
	if (len > BACKUP_MANIFEST_MAX)
		return err_set(e, 422, "manifest.json: %zu bytes, more than a manifest can be", len);
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return err_set(e, 422, "manifest.json: not JSON (line %d: %.100s)", je.line, je.text);
	if (!json_is_object(root)) {
		err_set(e, 422, "manifest.json: not an object");
		goto out;
	}
	if (!json_is_integer(json_object_get(root, "format")) || json_integer_value(json_object_get(root, "format")) != 1) {
		err_set(e, 422, "manifest.json: format is not 1");
		goto out;
	}
	m->format = 1;
	if (str_field(root, "store", LOWER_DIGITS_DASH, m->store, sizeof(m->store), 0, e) < 0 ||
	    str_field(root, "backup", LOWER_DIGITS_DASH, m->backup, sizeof(m->backup), 0, e) < 0 ||
	    str_field(root, "engine", LOWER_DIGITS_DASH, m->engine, sizeof(m->engine), 0, e) < 0 ||
	    str_field(root, "version", TOKEN, m->version, sizeof(m->version), 0, e) < 0 ||
	    str_field(root, "revision", TOKEN, m->revision, sizeof(m->revision), 1, e) < 0 ||
	    str_field(root, "started", TOKEN ":", m->started, sizeof(m->started), 0, e) < 0 ||
	    str_field(root, "finished", TOKEN ":", m->finished, sizeof(m->finished), 0, e) < 0)
		goto out;
	if (strcmp(m->store, store_id)) {
		err_set(e, 422, "manifest.json is for store '%s', not %.40s", m->store, store_id);
		goto out;
	}
	if (strcmp(m->backup, backup_id)) {
		err_set(e, 422, "manifest.json is for backup '%s', not %.63s", m->backup, backup_id);
		goto out;
	}
	if (!(dump = backup_dump_name(m->engine))) {
		err_set(e, 422, "manifest.json: unknown engine '%s'", m->engine);
		goto out;
	}
	if (!timestamp_ok(m->started) || !timestamp_ok(m->finished) || strcmp(m->started, m->finished) > 0) {
		err_set(e, 422, "manifest.json: started and finished are not two times in order");
		goto out;
	}
	objs = json_object_get(root, "objects");
	if (!json_is_array(objs) || json_array_size(objs) != BACKUP_OBJECTS_MAX) {
		err_set(e, 422, "manifest.json: objects is not a list of the %d objects a backup has", BACKUP_OBJECTS_MAX);
		goto out;
	}
	json_array_foreach(objs, i, o) {
		struct backup_object *b = &m->objects[i];
		json_t *size = json_object_get(o, "size");
		int j;

		if (!json_is_object(o) ||
		    str_field(o, "name", TOKEN, b->name, sizeof(b->name), 0, e) < 0 ||
		    str_field(o, "sha256", "0123456789abcdef", b->sha256, sizeof(b->sha256), 0, e) < 0) {
			if (!json_is_object(o))
				err_set(e, 422, "manifest.json: an object is not an object");
			goto out;
		}
		if (strlen(b->sha256) != 64) {
			err_set(e, 422, "manifest.json: %s has no SHA-256", b->name);
			goto out;
		}
		if (strcmp(b->name, dump) && strcmp(b->name, "files.tar.gz")) {
			err_set(e, 422, "manifest.json names an object a %s backup does not have", m->engine);
			goto out;
		}
		for (j = 0; j < (int)i; j++)
			if (!strcmp(m->objects[j].name, b->name)) {
				err_set(e, 422, "manifest.json names %s twice", b->name);
				goto out;
			}
		if (!json_is_integer(size) || json_integer_value(size) < 0 ||
		    json_integer_value(size) > BACKUP_SIZE_MAX) {
			err_set(e, 422, "manifest.json: %s has no valid size", b->name);
			goto out;
		}
		b->size = (long long)json_integer_value(size);
		m->nobjects++;
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}
