/* s3.c - a small S3 client and the parsers of object storage's answers (s3.h). */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "s3.h"

#define S3_CONNECT_MS 10000L
#define S3_TIMEOUT_MS 60000L
#define S3_ERROR_BODY_MAX 65536
/* SHA-256 of no bytes: what every request here sends as its payload's hash */
#define S3_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct s3 {
	CURL *curl;
	char *base;   /* scheme://host[:port][/bucket] */
	char *sigv4;  /* aws:amz:<region>:s3 */
	char *access; /* the key: freed with explicit_bzero */
	char *secret;
};

static int is_unreserved(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '.' || c == '_' || c == '~';
}

/* Percent-encode s, keeping '/' when keep_slash (a key's path) */
static void add_enc(struct buf *b, const char *s, int keep_slash)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (is_unreserved(c) || (keep_slash && c == '/'))
			buf_addch(b, c);
		else
			buf_addf(b, "%%%02X", c);
	}
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s ? s : "");

	if (!d)
		die_oom();
	return d;
}

static int bucket_ok(const char *b)
{
	size_t n = strlen(b);

	if (n < 3 || n > 63)
		return 0;
	for (; *b; b++)
		if (!((*b >= 'a' && *b <= 'z') || (*b >= '0' && *b <= '9') || *b == '.' || *b == '-'))
			return 0;
	return 1;
}

struct s3 *s3_new(const struct s3_config *c, struct err *e)
{
	struct s3 *s;
	struct buf b = BUF_INIT;
	const char *ep = c->endpoint ? c->endpoint : "", *host;
	size_t scheme;

	if (!strncmp(ep, "https://", 8))
		scheme = 8;
	else if (!strncmp(ep, "http://", 7))
		scheme = 7;
	else
		return err_set(e, 500, "object storage: endpoint '%.200s' is not an http(s) URL", ep), NULL;
	host = ep + scheme;
	if (!*host || strpbrk(host, "/?#@ \t\r\n"))
		return err_set(e, 500, "object storage: endpoint '%.200s' must be scheme://host[:port] alone", ep),
		       NULL;
	if (!c->bucket || !bucket_ok(c->bucket))
		return err_set(e, 500, "object storage: bucket '%.80s' is not a bucket name", c->bucket ? c->bucket : ""),
		       NULL;
	if (!c->region || !*c->region || strpbrk(c->region, ":/ \r\n"))
		return err_set(e, 500, "object storage: bad region '%.80s'", c->region ? c->region : ""), NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		die_oom();
	if (c->path_style)
		buf_addf(&b, "%s/%s", ep, c->bucket);
	else
		buf_addf(&b, "%.*s%s.%s", (int)scheme, ep, c->bucket, host);
	if (b.failed)
		die_oom();
	s->base = buf_detach(&b, NULL);
	buf_addf(&b, "aws:amz:%s:s3", c->region);
	s->sigv4 = buf_detach(&b, NULL);
	s->access = xstrdup(c->access_key);
	s->secret = xstrdup(c->secret_key);
	return s;
}

void s3_free(struct s3 *s)
{
	if (!s)
		return;
	if (s->curl)
		curl_easy_cleanup(s->curl);
	explicit_bzero(s->access, strlen(s->access));
	explicit_bzero(s->secret, strlen(s->secret));
	free(s->access);
	free(s->secret);
	free(s->base);
	free(s->sigv4);
	free(s);
}

struct sink {
	CURL *curl;
	struct buf *kept;
	size_t max; /* of a 2xx answer's body; an error document's is S3_ERROR_BODY_MAX */
	int over;
};

static size_t sink(char *p, size_t size, size_t n, void *ctx)
{
	struct sink *k = ctx;
	long status = 0;

	curl_easy_getinfo(k->curl, CURLINFO_RESPONSE_CODE, &status);
	if (k->kept->len + size * n > (status >= 200 && status < 300 ? k->max : S3_ERROR_BODY_MAX)) {
		k->over = 1;
		return 0;
	}
	buf_add(k->kept, p, size * n);
	if (k->kept->failed)
		die_oom(); /* under the cap: only malloc can fail */
	return size * n;
}

/*
 * One request.  OUT: *status (0 when none came), body into out (at most
 * max: over it, 413), *length (HEAD: Content-Length, -1 unknown).  A non-2xx
 * answer is -1 with e set from its error document.
 */
static int request(struct s3 *s, const char *method, const char *key, const char *query, size_t max,
		   struct buf *out, long long *length, struct err *e)
{
	struct buf url = BUF_INIT, body = BUF_INIT;
	struct sink k = {NULL, &body, max, 0};
	struct curl_slist *hdrs = NULL;
	long status = 0;
	curl_off_t clen = -1;
	CURLcode cc;
	int rc = -1, head = !strcmp(method, "HEAD");

	if (!s->curl && !(s->curl = curl_easy_init()))
		return err_set(e, 502, "object storage: cannot set up the HTTP client");
	k.curl = s->curl;
	buf_adds(&url, s->base);
	buf_addch(&url, '/');
	add_enc(&url, key, 1);
	if (query && *query)
		buf_addf(&url, "?%s", query);
	if (url.failed)
		die_oom();
	hdrs = curl_slist_append(hdrs, "x-amz-content-sha256: " S3_EMPTY_SHA256);
	curl_easy_reset(s->curl);
	curl_easy_setopt(s->curl, CURLOPT_URL, url.s);
	if (head)
		curl_easy_setopt(s->curl, CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "GET"))
		curl_easy_setopt(s->curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(s->curl, CURLOPT_AWS_SIGV4, s->sigv4);
	curl_easy_setopt(s->curl, CURLOPT_USERNAME, s->access);
	curl_easy_setopt(s->curl, CURLOPT_PASSWORD, s->secret);
	curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, &k);
	curl_easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT_MS, S3_CONNECT_MS);
	curl_easy_setopt(s->curl, CURLOPT_TIMEOUT_MS, S3_TIMEOUT_MS);
	curl_easy_setopt(s->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(s->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	cc = curl_easy_perform(s->curl);
	curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(s->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &clen);
	if (k.over && status >= 200 && status < 300) {
		err_set(e, 413, "object storage: %.200s is larger than %zu bytes", key, max);
	} else if (cc != CURLE_OK && !k.over) {
		err_set(e, 502, "object storage: %s %.200s: %s", method, key, curl_easy_strerror(cc));
	} else if (status < 200 || status >= 300) {
		char code[64], msg[160];

		s3_parse_error(body.s, body.len, code, sizeof(code), msg, sizeof(msg));
		err_set(e, status == 404 ? 404 : 502, "object storage: %s %.200s: %ld%s%s%s%s", method, key, status,
			*code ? " " : "", code, *msg ? ": " : "", msg);
	} else {
		if (out)
			buf_add(out, body.s, body.len);
		if (length)
			*length = (long long)clen;
		rc = 0;
	}
	curl_slist_free_all(hdrs);
	buf_release(&url);
	buf_release(&body);
	return rc;
}

int s3_get(struct s3 *s, const char *key, size_t max, struct buf *out, struct err *e)
{
	return request(s, "GET", key, NULL, max, out, NULL, e);
}

int s3_head(struct s3 *s, const char *key, long long *size, struct err *e)
{
	long long n = -1;

	if (request(s, "HEAD", key, NULL, S3_ERROR_BODY_MAX, NULL, &n, e) < 0)
		return -1;
	if (n < 0)
		return err_set(e, 502, "object storage: HEAD %.200s: no Content-Length", key);
	*size = n;
	return 0;
}

int s3_delete(struct s3 *s, const char *key, struct err *e)
{
	struct err e2 = ERR_INIT;

	if (request(s, "DELETE", key, NULL, S3_ERROR_BODY_MAX, NULL, NULL, &e2) < 0 && e2.status != 404) {
		*e = e2;
		return -1;
	}
	return 0;
}

int s3_list(struct s3 *s, const char *prefix, struct s3_object **objs, size_t *n, struct err *e)
{
	char token[1024] = "";
	struct buf q = BUF_INIT, page = BUF_INIT;
	int rc = 0, pages = 0;

	*objs = NULL;
	*n = 0;
	do {
		buf_reset(&q);
		buf_reset(&page);
		/* ListObjects (version 1): paged by marker, which every S3-compatible
		 * server has (s3rver cannot make version 2's continuation tokens under
		 * Node.js 20's OpenSSL); the parameters in SigV4's canonical order */
		if (*token) {
			buf_adds(&q, "marker=");
			add_enc(&q, token, 0);
			buf_addch(&q, '&');
		}
		buf_adds(&q, "prefix=");
		add_enc(&q, prefix, 0);
		if (q.failed)
			die_oom();
		if (request(s, "GET", "", q.s, S3_LIST_BODY_MAX, &page, NULL, e) < 0 ||
		    s3_parse_list(page.s, page.len, prefix, objs, n, S3_LIST_MAX, token, sizeof(token), e) < 0) {
			rc = -1;
			break;
		}
		if (++pages > S3_LIST_MAX) {
			rc = err_set(e, 502, "object storage: the listing of %.200s does not end", prefix);
			break;
		}
	} while (*token);
	if (rc < 0) {
		free(*objs);
		*objs = NULL;
		*n = 0;
	}
	buf_release(&q);
	buf_release(&page);
	return rc;
}

/* --- parsing what object storage says -------------------------------------------------------- */

/*
 * The content of the first <tag>...</tag> in [p, end): its start, and its end
 * in *vend; NULL when there is none.  Attributes on the opening tag are
 * allowed; a self-closing <tag/> is empty content.
 */
static const char *xml_find(const char *p, const char *end, const char *tag, const char **vend)
{
	size_t tl = strlen(tag);

	while (p < end) {
		const char *lt = memchr(p, '<', (size_t)(end - p)), *gt, *close;

		if (!lt || (size_t)(end - lt) < tl + 2)
			return NULL;
		if (!memcmp(lt + 1, tag, tl) && (lt[1 + tl] == '>' || lt[1 + tl] == ' ' || lt[1 + tl] == '/')) {
			gt = memchr(lt, '>', (size_t)(end - lt));
			if (!gt)
				return NULL;
			if (gt[-1] == '/') {
				*vend = gt + 1;
				return gt + 1;
			}
			for (close = gt + 1; close < end; close++) {
				close = memchr(close, '<', (size_t)(end - close));
				if (!close)
					return NULL;
				if ((size_t)(end - close) >= tl + 3 && close[1] == '/' && !memcmp(close + 2, tag, tl) &&
				    close[2 + tl] == '>') {
					*vend = close;
					return gt + 1;
				}
			}
			return NULL;
		}
		p = lt + 1;
	}
	return NULL;
}

static void put_utf8(struct buf *b, unsigned long c)
{
	if (c < 0x80) {
		buf_addch(b, (int)c);
	} else if (c < 0x800) {
		buf_addch(b, (int)(0xC0 | (c >> 6)));
		buf_addch(b, (int)(0x80 | (c & 0x3F)));
	} else if (c < 0x10000) {
		buf_addch(b, (int)(0xE0 | (c >> 12)));
		buf_addch(b, (int)(0x80 | ((c >> 6) & 0x3F)));
		buf_addch(b, (int)(0x80 | (c & 0x3F)));
	} else {
		buf_addch(b, (int)(0xF0 | (c >> 18)));
		buf_addch(b, (int)(0x80 | ((c >> 12) & 0x3F)));
		buf_addch(b, (int)(0x80 | ((c >> 6) & 0x3F)));
		buf_addch(b, (int)(0x80 | (c & 0x3F)));
	}
}

/* XML text [p, q) with its entities decoded into out (NUL-terminated, < outsz); -1 when malformed or too long */
static int xml_text(const char *p, const char *q, char *out, size_t outsz)
{
	struct buf b = BUF_INIT;
	int rc = -1;

	buf_init(&b, outsz - 1);
	while (p < q) {
		if (*p == '<') {
			if ((size_t)(q - p) >= 9 && !memcmp(p, "<![CDATA[", 9)) {
				const char *s = p + 9, *t;

				for (t = s; t + 2 < q && memcmp(t, "]]>", 3); t++)
					;
				if (t + 2 >= q)
					goto out;
				buf_add(&b, s, (size_t)(t - s));
				p = t + 3;
				continue;
			}
			goto out; /* markup inside text */
		}
		if (*p != '&') {
			buf_addch(&b, (unsigned char)*p++);
			continue;
		}
		{
			const char *semi = memchr(p, ';', (size_t)(q - p));
			size_t n;

			if (!semi || semi - p > 12)
				goto out;
			n = (size_t)(semi - p - 1);
			if (n == 3 && !memcmp(p + 1, "amp", 3))
				buf_addch(&b, '&');
			else if (n == 2 && !memcmp(p + 1, "lt", 2))
				buf_addch(&b, '<');
			else if (n == 2 && !memcmp(p + 1, "gt", 2))
				buf_addch(&b, '>');
			else if (n == 4 && !memcmp(p + 1, "quot", 4))
				buf_addch(&b, '"');
			else if (n == 4 && !memcmp(p + 1, "apos", 4))
				buf_addch(&b, '\'');
			else if (n >= 2 && p[1] == '#') {
				unsigned long c = 0;
				const char *d = p + 2;
				int hex = (*d == 'x' || *d == 'X');

				if (hex)
					d++;
				if (d == semi)
					goto out;
				for (; d < semi; d++) {
					int v;

					if (*d >= '0' && *d <= '9')
						v = *d - '0';
					else if (hex && *d >= 'a' && *d <= 'f')
						v = *d - 'a' + 10;
					else if (hex && *d >= 'A' && *d <= 'F')
						v = *d - 'A' + 10;
					else
						goto out;
					c = c * (hex ? 16 : 10) + (unsigned long)v;
					if (c > 0x10FFFF)
						goto out;
				}
				if (c == 0 || (c >= 0xD800 && c <= 0xDFFF))
					goto out;
				put_utf8(&b, c);
			} else {
				goto out;
			}
			p = semi + 1;
		}
	}
	if (!b.failed) {
		memcpy(out, b.s, b.len + 1);
		rc = 0;
	}
out:
	buf_release(&b);
	if (rc < 0 && outsz)
		*out = '\0';
	return rc;
}

int s3_key_ok(const char *key, const char *prefix)
{
	const char *p;
	size_t pl = strlen(prefix);

	if (strncmp(key, prefix, pl) || !key[pl] || strlen(key) > S3_KEY_MAX)
		return 0;
	for (p = key; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '\\')
			return 0;
	for (p = key; *p; p++) {
		/* a ".." path segment, or an empty one ("//"), or a leading '/' */
		if ((p == key || p[-1] == '/') &&
		    ((p[0] == '.' && p[1] == '.' && (p[2] == '/' || !p[2])) || p[0] == '/'))
			return 0;
	}
	return 1;
}

int s3_parse_list(const char *xml, size_t len, const char *prefix, struct s3_object **objs, size_t *n,
		  size_t max, char *token, size_t tokensz, struct err *e)
{
	const char *end = xml + len, *p, *ce, *v, *ve, *root;
	char text[64];
	size_t first = *n;

	*token = '\0';
	root = xml_find(xml, end, "ListBucketResult", &ve);
	if (!root)
		return err_set(e, 502, "object storage: the listing is not a ListBucketResult");
	end = ve;
	for (p = root; (v = xml_find(p, end, "Contents", &ce)) != NULL; p = ce) {
		struct s3_object o;
		const char *kv, *kve, *sv, *sve;
		char *stop;

		kv = xml_find(v, ce, "Key", &kve);
		sv = xml_find(v, ce, "Size", &sve);
		if (!kv || !sv)
			return err_set(e, 502, "object storage: a listed object has no Key or Size");
		if (xml_text(kv, kve, o.key, sizeof(o.key)) < 0)
			return err_set(e, 502, "object storage: a listed key is malformed or too long");
		if (!s3_key_ok(o.key, prefix))
			return err_set(e, 502, "object storage: the listing of '%.100s' names a key outside it", prefix);
		if (xml_text(sv, sve, text, sizeof(text)) < 0 || !*text || strspn(text, "0123456789") != strlen(text) ||
		    strlen(text) > 15)
			return err_set(e, 502, "object storage: '%.100s' has no size", o.key);
		o.size = strtoll(text, &stop, 10);
		if (*n >= max)
			return err_set(e, 502, "object storage: more than %zu objects under '%.100s'", max, prefix);
		if ((*n & (*n - 1)) == 0) { /* 0, 1, 2, 4, ...: double */
			struct s3_object *grown = realloc(*objs, (*n ? *n * 2 : 1) * sizeof(**objs));

			if (!grown)
				die_oom();
			*objs = grown;
		}
		(*objs)[(*n)++] = o;
	}
	v = xml_find(root, end, "IsTruncated", &ve);
	if (v && xml_text(v, ve, text, sizeof(text)) == 0 && !strcmp(text, "true")) {
		/* the next page starts after NextMarker, or after this page's last key */
		v = xml_find(root, end, "NextMarker", &ve);
		if (v) {
			if (xml_text(v, ve, token, tokensz) < 0 || !s3_key_ok(token, prefix))
				return err_set(e, 502, "object storage: a truncated listing with a bad NextMarker");
		} else if (*n > first && strlen((*objs)[*n - 1].key) < tokensz) {
			memcpy(token, (*objs)[*n - 1].key, strlen((*objs)[*n - 1].key) + 1);
		} else {
			*token = '\0';
			return err_set(e, 502, "object storage: a truncated listing with nothing to go on from");
		}
	}
	return 0;
}

/* Only printable ASCII of s, in place */
static void printable(char *s)
{
	char *d = s;

	for (; *s; s++)
		if ((unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f)
			*d++ = *s;
	*d = '\0';
}

void s3_parse_error(const char *xml, size_t len, char *code, size_t codesz, char *msg, size_t msgsz)
{
	const char *end = xml + len, *v, *ve, *root;
	char tmp[1024];

	*code = *msg = '\0';
	root = xml_find(xml, end, "Error", &ve);
	if (!root)
		return;
	end = ve;
	if ((v = xml_find(root, end, "Code", &ve)) && xml_text(v, ve, tmp, sizeof(tmp)) == 0) {
		printable(tmp);
		snprintf(code, codesz, "%s", tmp);
	}
	if ((v = xml_find(root, end, "Message", &ve)) && xml_text(v, ve, tmp, sizeof(tmp)) == 0) {
		printable(tmp);
		snprintf(msg, msgsz, "%s", tmp);
	}
}
