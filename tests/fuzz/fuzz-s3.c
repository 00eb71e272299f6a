/* fuzz-s3.c - what object storage says, untrusted: ListObjectsV2 answers, S3 error documents and a backup's manifest.json. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backup_manifest.h"
#include "s3.h"

/*
 * The first byte picks the parser: 'L' a listing under the prefix
 * "stores/s1/backups/", 'E' an error document, 'M' the manifest of backup
 * b1 of store s1.  Whatever parses must hold what callers rely on: keys
 * under the prefix without "..", sizes >= 0, printable error texts, the
 * manifest's two known objects with 64-hex SHA-256s.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char prefix[] = "stores/s1/backups/";

static void listing(const char *body, size_t len)
{
	struct s3_object *objs = NULL;
	size_t n = 0, i;
	char token[256];
	struct err e = ERR_INIT;

	if (s3_parse_list(body, len, prefix, &objs, &n, 64, token, sizeof(token), &e) == 0) {
		for (i = 0; i < n; i++)
			if (!s3_key_ok(objs[i].key, prefix) || objs[i].size < 0 || strstr(objs[i].key, "/../"))
				abort();
		if (strlen(token) >= sizeof(token))
			abort();
	} else if (!e.msg[0]) {
		abort(); /* every failure says why */
	}
	free(objs);
}

static void error_doc(const char *body, size_t len)
{
	char code[16], msg[40];
	const char *p;

	s3_parse_error(body, len, code, sizeof(code), msg, sizeof(msg));
	for (p = code; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			abort();
	for (p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			abort();
}

static void manifest(const char *body, size_t len)
{
	struct backup_manifest m;
	struct err e = ERR_INIT;
	int i;

	if (backup_manifest_parse(body, len, "s1", "b1", &m, &e) == 0) {
		if (m.nobjects != BACKUP_OBJECTS_MAX || strcmp(m.store, "s1") || strcmp(m.backup, "b1"))
			abort();
		for (i = 0; i < m.nobjects; i++)
			if (strlen(m.objects[i].sha256) != 64 || m.objects[i].size < 0 ||
			    (strcmp(m.objects[i].name, "files.tar.gz") &&
			     strcmp(m.objects[i].name, backup_dump_name(m.engine))))
				abort();
	} else if (!e.msg[0]) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy;

	if (size < 1)
		return 0;
	/* a copy of exactly the bytes, so reading past them is caught */
	copy = malloc(size - 1 ? size - 1 : 1);
	if (!copy)
		return 0;
	memcpy(copy, data + 1, size - 1);
	switch (data[0]) {
	case 'L':
		listing(copy, size - 1);
		break;
	case 'E':
		error_doc(copy, size - 1);
		break;
	case 'M':
		manifest(copy, size - 1);
		break;
	default:
		break;
	}
	free(copy);
	return 0;
}
