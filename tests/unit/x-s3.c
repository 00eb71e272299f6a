/* x-s3.c - the S3 client (s3.c) against a real S3 server on loopback (s3rver; tests/t0745-s3-client.sh starts it and fills the bucket). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "buf.h"
#include "s3.h"
#include "tap.h"

/*
 * The bucket as t0745 leaves it: stores/s1/backups/b1/{manifest.json
 * ("{\"hello\": 1}\n", 13 bytes), files.tar.gz (100000 bytes)}, 1001 objects
 * under stores/s1/many/ (f0000 .. f1000, 2 bytes each) and
 * stores/s2/backups/b1/manifest.json.
 */
static const char *env(const char *name)
{
	const char *v = getenv(name);

	if (!v || !*v) {
		printf("Bail out! %s is not set (tests/t0745-s3-client.sh sets it)\n", name);
		exit(1);
	}
	return v;
}

int main(void)
{
	struct s3_config c = {env("S3_ENDPOINT"), env("S3_BUCKET"), "us-east-1", env("S3_ACCESS_KEY"),
			      env("S3_SECRET_KEY"), 1};
	struct s3 *s;
	struct buf b = BUF_INIT;
	struct err e = ERR_INIT;
	struct s3_object *objs = NULL;
	size_t n = 0, i;
	long long size = -1;
	int sorted = 1;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	s = s3_new(&c, &e);
	if (!s) {
		printf("Bail out! s3_new: %s\n", e.msg);
		return 1;
	}

	/* GET */
	ok(s3_get(s, "stores/s1/backups/b1/manifest.json", 65536, &b, &e) == 0, "GET an object (%s)", e.msg);
	is_str(b.s, "{\"hello\": 1}\n", "GET: its bytes");
	buf_reset(&b);
	err_clear(&e);
	ok(s3_get(s, "stores/s1/backups/b1/files.tar.gz", 65536, &b, &e) < 0 && e.status == 413,
	   "GET over the cap: 413 (%s)", e.msg);
	ok(b.len == 0, "GET over the cap: nothing kept");
	err_clear(&e);
	ok(s3_get(s, "stores/s1/backups/b1/nothing", 65536, &b, &e) < 0 && e.status == 404,
	   "GET of no object: 404 (%s)", e.msg);
	ok(strstr(e.msg, "NoSuchKey") != NULL, "GET of no object: the server's code in the message");

	/* HEAD */
	err_clear(&e);
	ok(s3_head(s, "stores/s1/backups/b1/files.tar.gz", &size, &e) == 0 && size == 100000,
	   "HEAD: the size (%lld; %s)", size, e.msg);
	err_clear(&e);
	ok(s3_head(s, "stores/s1/backups/b1/nothing", &size, &e) < 0 && e.status == 404, "HEAD of no object: 404 (%s)",
	   e.msg);

	/* LIST: two pages of 1000 */
	err_clear(&e);
	ok(s3_list(s, "stores/s1/many/", &objs, &n, &e) == 0, "LIST of 1001 objects (%s)", e.msg);
	is_int((int)n, 1001, "LIST: every object, over two pages");
	for (i = 0; i < n; i++) {
		char want[64];

		snprintf(want, sizeof(want), "stores/s1/many/f%04zu", i);
		if (strcmp(objs[i].key, want) || objs[i].size != 2)
			sorted = 0;
	}
	ok(sorted, "LIST: each key once, in order, with its size");
	free(objs);
	err_clear(&e);
	ok(s3_list(s, "stores/s1/backups/b1/", &objs, &n, &e) == 0 && n == 2 &&
		   !strcmp(objs[0].key, "stores/s1/backups/b1/files.tar.gz") && objs[0].size == 100000 &&
		   !strcmp(objs[1].key, "stores/s1/backups/b1/manifest.json"),
	   "LIST of one backup: its two objects, not the other store's (%s)", e.msg);
	free(objs);
	err_clear(&e);
	ok(s3_list(s, "stores/s9/", &objs, &n, &e) == 0 && n == 0 && !objs, "LIST of an empty prefix: nothing");

	/* DELETE */
	err_clear(&e);
	ok(s3_delete(s, "stores/s1/backups/b1/manifest.json", &e) == 0, "DELETE (%s)", e.msg);
	ok(s3_head(s, "stores/s1/backups/b1/manifest.json", &size, &e) < 0 && e.status == 404, "DELETE: it is gone");
	err_clear(&e);
	ok(s3_delete(s, "stores/s1/backups/b1/manifest.json", &e) == 0, "DELETE of no object is no error (%s)", e.msg);
	s3_free(s);

	/* a wrong key: refused, said, and the secret never in the message */
	c.access_key = "WRONGKEY";
	c.secret_key = "a-secret-never-shown";
	s = s3_new(&c, &e);
	err_clear(&e);
	ok(s3_head(s, "stores/s2/backups/b1/manifest.json", &size, &e) < 0 && e.status == 502 &&
		   strstr(e.msg, "403"),
	   "a wrong access key: 403 (%s)", e.msg);
	err_clear(&e);
	ok(s3_get(s, "stores/s2/backups/b1/manifest.json", 100, &b, &e) < 0 && strstr(e.msg, "InvalidAccessKeyId"),
	   "a wrong access key: the server's code in the message (%s)", e.msg);
	ok(!strstr(e.msg, "a-secret-never-shown") && !strstr(e.msg, "WRONGKEY"), "a wrong access key: no key in the message");
	s3_free(s);

	/* a missing bucket */
	c.access_key = env("S3_ACCESS_KEY");
	c.secret_key = env("S3_SECRET_KEY");
	c.bucket = "no-such-bucket";
	s = s3_new(&c, &e);
	err_clear(&e);
	ok(s3_list(s, "stores/", &objs, &n, &e) < 0 && strstr(e.msg, "NoSuchBucket"), "a missing bucket: NoSuchBucket (%s)",
	   e.msg);
	s3_free(s);

	/* nobody listening */
	c.bucket = env("S3_BUCKET");
	c.endpoint = env("S3_DOWN_ENDPOINT");
	s = s3_new(&c, &e);
	err_clear(&e);
	ok(s3_get(s, "x", 100, &b, &e) < 0 && e.status == 502 && strstr(e.msg, "connect"),
	   "object storage down: 502 saying so (%s)", e.msg);
	s3_free(s);

	/* configurations refused before any request */
	c.endpoint = "ftp://127.0.0.1:1";
	err_clear(&e);
	ok(!s3_new(&c, &e) && strstr(e.msg, "not an http(s) URL"), "an ftp endpoint is refused (%s)", e.msg);
	c.endpoint = "http://127.0.0.1:1/path";
	err_clear(&e);
	ok(!s3_new(&c, &e) && strstr(e.msg, "scheme://host[:port] alone"), "an endpoint with a path is refused");
	c.endpoint = env("S3_ENDPOINT");
	c.bucket = "Bad_Bucket";
	err_clear(&e);
	ok(!s3_new(&c, &e) && strstr(e.msg, "not a bucket name"), "a bad bucket name is refused");

	buf_release(&b);
	curl_global_cleanup();
	return done_testing();
}
