/* storehttp.c - HTTP to a store through the ingress (storehttp.h). */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "buf.h"
#include "config.h"
#include "storehttp.h"

struct storehttp {
	CURL *curl;	   /* NULL until the first request */
	char ingress[256]; /* storehttp_set_ingress ("" = config.ingress_address) */
	int has_ingress;
};

void storehttp_set_ingress(struct storehttp *h, const char *ingress)
{
	h->has_ingress = ingress != NULL;
	snprintf(h->ingress, sizeof(h->ingress), "%s", ingress ? ingress : "");
}

struct storehttp *storehttp_new(void)
{
	struct storehttp *h = calloc(1, sizeof(*h));

	if (!h)
		die_oom();
	return h;
}

void storehttp_free(struct storehttp *h)
{
	if (!h)
		return;
	if (h->curl)
		curl_easy_cleanup(h->curl);
	free(h);
}

struct sink {
	struct buf *kept; /* NULL: count and drop */
	size_t got;
	int over; /* more than STOREHTTP_BODY_MAX arrived */
};

static size_t sink(char *p, size_t size, size_t n, void *ctx)
{
	struct sink *k = ctx;

	k->got += size * n;
	if (k->got > STOREHTTP_BODY_MAX) {
		k->over = 1;
		return 0;
	}
	if (k->kept) {
		buf_add(k->kept, p, size * n);
		if (k->kept->failed)
			die_oom(); /* under the cap: only malloc can fail */
	}
	return size * n;
}

int storehttp_request(struct storehttp *h, struct arena *a, const struct storehttp_req *rq,
		      struct storehttp_answer *ans, struct err *e)
{
	struct buf kept = BUF_INIT;
	struct sink k = {rq->read_json ? &kept : NULL, 0, 0};
	struct curl_slist *hdrs = NULL;
	char *auth = NULL;
	CURLcode cc;
	int rc = -1;

	memset(ans, 0, sizeof(*ans));
	ans->body = "";
	if (!h->curl && !(h->curl = curl_easy_init()))
		return err_set(e, 502, "cannot set up the HTTP client");
	hdrs = curl_slist_append(hdrs, arena_printf(a, "Host: %.280s", rq->host));
	if (rq->read_json)
		hdrs = curl_slist_append(hdrs, "Accept: application/json");
	if (rq->body)
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	if (rq->authorization) {
		auth = arena_printf(a, "Authorization: %.4000s", rq->authorization);
		hdrs = curl_slist_append(hdrs, auth);
	}
	curl_easy_reset(h->curl);
	curl_easy_setopt(h->curl, CURLOPT_URL,
			 arena_printf(a, "%s%s",
				      rq->ingress	  ? rq->ingress
				      : h->has_ingress ? h->ingress
						       : config.ingress_address,
				      rq->target));
	if (rq->method)
		curl_easy_setopt(h->curl, CURLOPT_CUSTOMREQUEST, rq->method);
	if (rq->body)
		curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, rq->body);
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &k);
	curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)STOREHTTP_CONNECT_MS);
	curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, (long)STOREHTTP_TIMEOUT_MS);
	curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	cc = curl_easy_perform(h->curl);
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &ans->status);
	if (k.over && rq->read_json)
		err_set(e, 502, "the answer is too large");
	else if (cc != CURLE_OK && !k.over)
		err_set(e, 502, "%s", curl_easy_strerror(cc));
	else
		rc = 0;
	if (rc == 0 && rq->read_json) {
		ans->body = arena_strndup(a, kept.s, kept.len);
		ans->len = kept.len;
	}
	curl_slist_free_all(hdrs);
	if (auth) /* a session's credential: not left in the arena */
		explicit_bzero(auth, strlen(auth));
	buf_release(&kept);
	return rc;
}
