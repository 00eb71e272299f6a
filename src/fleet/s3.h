/* s3.h - a small S3 client (libcurl, AWS Signature Version 4) and the parsers of what object storage answers: what reconcile needs to check and prune backups. */
#ifndef SF_S3_H
#define SF_S3_H

#include <stddef.h>

#include "buf.h"
#include "err.h"

/*
 * Only reconcile links this (libcurl; the web app never does).  Requests are
 * signed by libcurl (CURLOPT_AWS_SIGV4, "aws:amz:<region>:s3") with the key
 * from storefleet's configuration; the key is never logged, and no error
 * message holds it.
 *
 * Everything object storage answers is untrusted: bodies are read up to a
 * cap, keys a listing names must lie under the prefix asked for (no "..",
 * no control characters), and error documents are reduced to their Code and
 * a printable Message.
 */

#define S3_KEY_MAX 512		 /* longest key handled (S3 allows 1024 bytes) */
#define S3_LIST_MAX 10000	 /* objects one s3_list returns at most */
#define S3_LIST_BODY_MAX 4194304 /* one ListObjects page (1000 keys) is far less */

struct s3_config {
	const char *endpoint;	/* http(s)://host[:port], no path */
	const char *bucket;	/* [a-z0-9.-], 3 to 63 */
	const char *region;	/* e.g. us-east-1 */
	const char *access_key; /* borrowed; never logged */
	const char *secret_key; /* borrowed; never logged */
	int path_style;		/* 1: endpoint/bucket/key; 0: bucket.host/key */
};

struct s3_object {
	char key[S3_KEY_MAX + 1];
	long long size;
};

struct s3;

/* A client for one bucket, or NULL with e set (a bad endpoint or bucket). */
struct s3 *s3_new(const struct s3_config *c, struct err *e);
void s3_free(struct s3 *s);

/*
 * GET key into out (appended), at most max bytes.  0, or -1 with e set:
 * status 404 when there is no such object, 413 when it is larger than max,
 * 502 for anything else (the server's Code and Message, or curl's reason).
 */
int s3_get(struct s3 *s, const char *key, size_t max, struct buf *out, struct err *e);

/* HEAD key: its size into *size.  0, or -1 with e set (404: no such object). */
int s3_head(struct s3 *s, const char *key, long long *size, struct err *e);

/* DELETE key (absent is no error, as S3 answers).  0, or -1 with e set. */
int s3_delete(struct s3 *s, const char *key, struct err *e);

/*
 * Every object under prefix (ListObjects, marker after marker), up to
 * S3_LIST_MAX.  OUT: *objs (malloc'd, caller frees; NULL when none), *n.
 * 0, or -1 with e set; a key outside prefix, or with ".." or control
 * characters, fails the whole listing (502).
 */
int s3_list(struct s3 *s, const char *prefix, struct s3_object **objs, size_t *n, struct err *e);

/*
 * Parse one ListObjects answer (untrusted XML): append its objects to
 * *objs / *n (growing the malloc'd array, at most max in all), and copy the
 * marker of the next page into token (NextMarker, else the page's last key;
 * empty when the listing is complete).
 * 0, or -1 with e set (malformed, a bad key, too many objects).
 */
int s3_parse_list(const char *xml, size_t len, const char *prefix, struct s3_object **objs, size_t *n,
		  size_t max, char *token, size_t tokensz, struct err *e);

/*
 * The Code and Message of an S3 error document (untrusted XML), printable
 * ASCII only, cut to the sizes given; empty strings when absent.
 */
void s3_parse_error(const char *xml, size_t len, char *code, size_t codesz, char *msg, size_t msgsz);

/* 1 when key is a key storefleet may read under prefix: no "..", no control characters. */
int s3_key_ok(const char *key, const char *prefix);

#endif
