/* t-s3.c - the parsers of what object storage says (s3.c, backup_manifest.c), on the fuzz corpus's seeds: what each accepts, what each refuses and why. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup_manifest.h"
#include "s3.h"
#include "tap.h"

static char *slurp(const char *name, size_t *len)
{
	char path[4096];
	const char *root = getenv("SF_ROOT");
	FILE *f;
	char *data;
	long n;

	snprintf(path, sizeof(path), "%s/tests/fuzz/corpus/s3/%s", root ? root : ".", name);
	f = fopen(path, "rb");
	if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 1 || fseek(f, 0, SEEK_SET)) {
		printf("Bail out! cannot read %s\n", path);
		exit(1);
	}
	data = malloc((size_t)n + 1);
	if (!data || fread(data, 1, (size_t)n, f) != (size_t)n)
		exit(1);
	fclose(f);
	data[n] = '\0';
	*len = (size_t)n - 1; /* without the selector byte */
	return data;
}

/* list NAME WANT_RC MSG_PART: s3_parse_list on the seed */
static void list(const char *name, int want, const char *part, size_t want_n, const char *want_token)
{
	size_t len, n = 0;
	char *data = slurp(name, &len), token[256];
	struct s3_object *objs = NULL;
	struct err e = ERR_INIT;
	int rc = s3_parse_list(data + 1, len, "stores/s1/backups/", &objs, &n, 100, token, sizeof(token), &e);

	is_int(rc, want, "%s: s3_parse_list returns %d", name, want);
	if (want == 0) {
		is_int((int)n, (int)want_n, "%s: %zu objects", name, want_n);
		is_str(token, want_token, "%s: continuation token", name);
	} else {
		ok(strstr(e.msg, part) != NULL, "%s: says '%s' (%s)", name, part, e.msg);
	}
	free(objs);
	free(data);
}

static void manifest(const char *name, int want, const char *part)
{
	size_t len;
	char *data = slurp(name, &len);
	struct backup_manifest m;
	struct err e = ERR_INIT;
	int rc = backup_manifest_parse(data + 1, len, "s1", "b1", &m, &e);

	is_int(rc, want, "%s: backup_manifest_parse returns %d", name, want);
	if (want < 0)
		ok(strstr(e.msg, part) != NULL, "%s: says '%s' (%s)", name, part, e.msg);
	free(data);
}

int main(void)
{
	size_t len, n = 0;
	char *data, code[64], msg[128], token[8];
	struct s3_object *objs = NULL;
	struct backup_manifest m;
	struct err e = ERR_INIT;

	list("seed-list-ok", 0, NULL, 2, "");
	data = slurp("seed-list-ok", &len);
	ok(s3_parse_list(data + 1, len, "stores/s1/backups/", &objs, &n, 100, token, sizeof(token), &e) == 0 &&
		   n == 2 && !strcmp(objs[0].key, "stores/s1/backups/b1/database.sql.gz") && objs[0].size == 12000000 &&
		   objs[1].size == 412,
	   "seed-list-ok: keys and sizes");
	free(objs);
	objs = NULL;
	n = 0;
	ok(s3_parse_list(data + 1, len, "stores/s1/backups/", &objs, &n, 1, token, sizeof(token), &e) < 0 &&
		   strstr(e.msg, "more than 1 objects"),
	   "a listing larger than the cap is refused");
	free(objs);
	free(data);
	list("seed-list-truncated", 0, NULL, 1, "stores/s1/backups/b1/files.tar.gz");
	list("seed-list-truncated-last-key", 0, NULL, 2, "stores/s1/backups/b1/b");
	list("seed-list-truncated-no-marker", -1, "with nothing to go on from", 0, NULL);
	list("seed-list-marker-outside", -1, "with a bad NextMarker", 0, NULL);
	list("seed-list-other-store", -1, "names a key outside it", 0, NULL);
	list("seed-list-dotdot", -1, "names a key outside it", 0, NULL);
	list("seed-list-entities", -1, "names a key outside it", 0, NULL);
	list("seed-list-cdata-negative", -1, "has no size", 0, NULL);
	list("seed-list-unclosed", -1, "not a ListBucketResult", 0, NULL);
	list("seed-list-empty-self-closing", 0, NULL, 0, "");
	list("seed-list-html", -1, "not a ListBucketResult", 0, NULL);

	data = slurp("seed-error-nosuchbucket", &len);
	s3_parse_error(data + 1, len, code, sizeof(code), msg, sizeof(msg));
	is_str(code, "NoSuchBucket", "error document: Code");
	is_str(msg, "The specified bucket does not exist", "error document: Message");
	free(data);
	data = slurp("seed-error-controls", &len);
	s3_parse_error(data + 1, len, code, sizeof(code), msg, sizeof(msg));
	is_str(code, "", "error document: a Code with a NUL entity is dropped");
	is_str(msg, "line oneX-Injected: yes  &<>", "error document: CR, LF and non-ASCII left out of the Message");
	free(data);

	ok(s3_key_ok("stores/s1/backups/b1/files.tar.gz", "stores/s1/backups/"), "key_ok: a key under the prefix");
	ok(!s3_key_ok("stores/s1/backups/", "stores/s1/backups/"), "key_ok: the prefix itself is no object");
	ok(!s3_key_ok("stores/s1/backups/b1/../../s2/x", "stores/s1/backups/"), "key_ok: ..");
	ok(!s3_key_ok("stores/s1/backups//x", "stores/s1/backups/"), "key_ok: an empty segment");
	ok(!s3_key_ok("stores/s1/backups/a\nb", "stores/s1/backups/"), "key_ok: a control character");

	manifest("seed-manifest-ok", 0, NULL);
	err_clear(&e);
	data = slurp("seed-manifest-ok", &len);
	ok(backup_manifest_parse(data + 1, len, "s1", "b1", &m, &e) == 0 && m.nobjects == 2 &&
		   !strcmp(m.objects[0].name, "database.sql.gz") && m.objects[0].size == 123456 &&
		   !strcmp(m.objects[1].sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") &&
		   !strcmp(m.engine, "woocommerce") && !strcmp(m.revision, "0123456789abcdef"),
	   "seed-manifest-ok: every field");
	err_clear(&e);
	ok(backup_manifest_parse(data + 1, len, "s1", "b2", &m, &e) < 0 && strstr(e.msg, "for backup 'b1', not b2"),
	   "the manifest of another backup is refused");
	free(data);
	manifest("seed-manifest-other-store", -1, "is for store 's2', not s1");
	manifest("seed-manifest-traversal", -1, "'name' is not a valid value");
	manifest("seed-manifest-twice", -1, "names database.sql.gz twice");
	manifest("seed-manifest-negative", -1, "files.tar.gz has no valid size");
	manifest("seed-manifest-huge", -1, "files.tar.gz has no valid size");
	manifest("seed-manifest-wrong-dump", -1, "names an object a medusa backup does not have");
	manifest("seed-manifest-finished-first", -1, "not two times in order");
	manifest("seed-manifest-duplicate-key", -1, "not JSON");
	manifest("seed-manifest-nul", -1, "not JSON");
	manifest("seed-manifest-cut", -1, "not JSON");
	{
		char *big = malloc(BACKUP_MANIFEST_MAX + 2);

		memset(big, ' ', BACKUP_MANIFEST_MAX + 1);
		err_clear(&e);
		ok(backup_manifest_parse(big, BACKUP_MANIFEST_MAX + 1, "s1", "b1", &m, &e) < 0 &&
			   strstr(e.msg, "more than a manifest can be"),
		   "a manifest over 64 KiB is refused unread");
		free(big);
	}
	return done_testing();
}
