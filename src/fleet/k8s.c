/* k8s.c - the Kubernetes API client: one kept-alive curl handle, Status errors, bounded retries. */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "config.h"
#include "k8s.h"
#include "log.h"

/*
 * How a call runs: k8s_request() loops over attempts.  Each attempt sets
 * the method, URL, headers (the bearer token is re-read from its file when
 * the file changed) and a timeout of min(timeout, what is left of the
 * deadline), then performs on the one reused handle.  The write callback
 * appends to a capped buffer and aborts the transfer past body_max, so a
 * huge answer costs at most body_max bytes.  A 2xx answer must be JSON; any
 * status >= 400 becomes a k8s_status, is classified, and decides whether
 * to sleep (Retry-After or full-jitter backoff) and go again.
 */

#define DEFAULT_TIMEOUT_MS 10000L
#define DEFAULT_DEADLINE_MS 30000L
#define DEFAULT_BODY_MAX ((size_t)32 << 20)
#define DEFAULT_RETRIES 10
#define RETRY_AFTER_MAX 60	/* seconds; the API server's APF uses at most 32 */
#define ERR_BODY_MAX 65536	/* bytes of an error answer worth reading */

struct xfer {
	struct buf body;
	int too_big;
	char content_type[128];
	char retry_after[64];
	char warning[256];
};

const char *k8s_class_name(enum k8s_class c)
{
	switch (c) {
	case K8S_OK:
		return "ok";
	case K8S_ADOPT:
		return "adopt";
	case K8S_REREAD:
		return "reread";
	case K8S_WAIT:
		return "wait";
	case K8S_RETRY:
		return "retry";
	case K8S_HARD:
		return "hard";
	}
	return "?";
}

/* ---- time, sleep, jitter ------------------------------------------------- */

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (ms > 0 && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static uint64_t rng_state;

/* Jitter only needs to spread clients apart, not to be unpredictable. */
static uint64_t rng_next(void)
{
	if (!rng_state) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		rng_state = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^
			    ((uint64_t)getpid() << 40) ^ 0x9e3779b97f4a7c15ULL;
	}
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

long k8s_backoff_range(int attempt, long base_ms, long cap_ms)
{
	long ceil = base_ms;

	if (attempt < 0)
		attempt = 0;
	for (int i = 0; i < attempt && ceil < cap_ms; i++)
		ceil *= 2;
	if (ceil > cap_ms)
		ceil = cap_ms;
	if (ceil <= 0)
		return 0;
	return (long)(rng_next() % ((uint64_t)ceil + 1));
}

long k8s_backoff(int attempt)
{
	return k8s_backoff_range(attempt, 500, 60000);
}

/* ---- parsing answers (pure) ---------------------------------------------- */

static void copy_str(char *dst, size_t n, const char *s)
{
	size_t i = 0;

	if (!s)
		s = "";
	/* these strings end up in logs and store events: no control characters */
	for (; *s && i + 1 < n; s++)
		dst[i++] = (unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s;
	dst[i] = '\0';
}

static int is_json_type(const char *ct)
{
	return !strncasecmp(ct, "application/json", 16) &&
	       (ct[16] == '\0' || ct[16] == ';' || ct[16] == ' ');
}

json_t *k8s_parse_json(const char *body, size_t len, const char *content_type, struct err *e)
{
	json_error_t je;
	json_t *j;

	if (content_type && *content_type && !is_json_type(content_type))
		return err_set(e, 502,
			       "expected JSON, got content type '%.60s' (not an API server, "
			       "or a proxy answering?)",
			       content_type),
		       NULL;
	if (len == 0)
		return json_null();
	j = json_loadb(body, len, JSON_ALLOW_NUL, &je);
	if (!j) {
		if (strstr(je.text, "premature end of input") ||
		    strstr(je.text, "near end of file"))
			err_set(e, 502, "truncated JSON answer (%zu bytes): %s", len, je.text);
		else
			err_set(e, 502, "invalid JSON answer at byte %d: %s", je.position, je.text);
		return NULL;
	}
	return j;
}

static const char *reason_for_code(int code)
{
	switch (code) {
	case 400:
		return "BadRequest";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "NotFound";
	case 405:
		return "MethodNotAllowed";
	case 406:
		return "NotAcceptable";
	case 409:
		return "Conflict";
	case 410:
		return "Expired";
	case 413:
		return "RequestEntityTooLarge";
	case 415:
		return "UnsupportedMediaType";
	case 422:
		return "Invalid";
	case 429:
		return "TooManyRequests";
	case 500:
		return "InternalError";
	case 503:
		return "ServiceUnavailable";
	case 504:
		return "Timeout";
	}
	return "";
}

/* Retry-After: delta-seconds or an HTTP-date (RFC 9110 10.2.3). */
static int parse_retry_after(const char *v)
{
	char *end;
	long s;

	while (*v == ' ')
		v++;
	if (!*v)
		return -1;
	s = strtol(v, &end, 10);
	if (end != v && (*end == '\0' || *end == ' ' || *end == '\r')) {
		if (s < 0)
			return -1;
	} else {
		time_t t = curl_getdate(v, NULL);

		if (t < 0)
			return -1;
		s = (long)(t - time(NULL));
		if (s < 0)
			s = 0;
	}
	return s > RETRY_AFTER_MAX ? RETRY_AFTER_MAX : (int)s;
}

void k8s_parse_status(struct k8s_status *st, int code, const char *body, size_t len,
		      const char *content_type, const char *retry_after)
{
	json_t *j = NULL, *d, *c;
	size_t i;

	memset(st, 0, sizeof(*st));
	st->code = code;
	st->retry_after = retry_after ? parse_retry_after(retry_after) : -1;
	if (len && len <= ERR_BODY_MAX &&
	    (!content_type || !*content_type || is_json_type(content_type)))
		j = json_loadb(body, len, JSON_ALLOW_NUL, NULL);
	if (json_is_object(j) && (json_object_get(j, "kind") || json_object_get(j, "message"))) {
		json_int_t jc = json_integer_value(json_object_get(j, "code"));

		/* the HTTP status is authoritative; a Status' code only fills a gap */
		if (!code && jc > 0 && jc < 600)
			st->code = (int)jc;
		copy_str(st->reason, sizeof(st->reason),
			 json_string_value(json_object_get(j, "reason")));
		copy_str(st->message, sizeof(st->message),
			 json_string_value(json_object_get(j, "message")));
		d = json_object_get(j, "details");
		copy_str(st->kind, sizeof(st->kind), json_string_value(json_object_get(d, "kind")));
		copy_str(st->name, sizeof(st->name), json_string_value(json_object_get(d, "name")));
		json_array_foreach(json_object_get(d, "causes"), i, c) {
			struct k8s_cause *ca;

			if (st->ncauses >= K8S_CAUSES_MAX)
				break;
			ca = &st->causes[st->ncauses++];
			copy_str(ca->reason, sizeof(ca->reason),
				 json_string_value(json_object_get(c, "reason")));
			copy_str(ca->message, sizeof(ca->message),
				 json_string_value(json_object_get(c, "message")));
			copy_str(ca->field, sizeof(ca->field),
				 json_string_value(json_object_get(c, "field")));
		}
		if (st->retry_after < 0) {
			json_int_t ra = json_integer_value(json_object_get(d, "retryAfterSeconds"));

			if (ra > 0)
				st->retry_after = ra > RETRY_AFTER_MAX ? RETRY_AFTER_MAX : (int)ra;
		}
	} else if (len) {
		/* plain text (404 page not found, APF's 429) or a proxy's HTML page */
		size_t n = 0;
		char line[200];

		while (n < len && n + 1 < sizeof(line) && body[n] != '\n')
			n++;
		memcpy(line, body, n);
		line[n] = '\0';
		if (content_type && !strncasecmp(content_type, "text/html", 9)) {
			/* a proxy's error page: its <title> says more than its first line */
			const char *t = memmem(body, len < 4096 ? len : 4096, "<title>", 7), *te;

			if (t && (te = memmem(t, len - (size_t)(t - body), "</title>", 8)) &&
			    te - t - 7 < (long)sizeof(line)) {
				memcpy(line, t + 7, (size_t)(te - t - 7));
				line[te - t - 7] = '\0';
			}
			snprintf(st->message, sizeof(st->message), "(%.40s answer) %s",
				 content_type, line);
		} else
			copy_str(st->message, sizeof(st->message), line);
		copy_str(st->message, sizeof(st->message), st->message);
	}
	json_decref(j);
	if (!st->reason[0] && st->code != 500)
		copy_str(st->reason, sizeof(st->reason), reason_for_code(st->code));
}

int k8s_has_cause(const struct k8s_status *st, const char *reason)
{
	for (int i = 0; i < st->ncauses && i < K8S_CAUSES_MAX; i++)
		if (!strcmp(st->causes[i].reason, reason))
			return 1;
	return 0;
}

enum k8s_class k8s_classify(const struct k8s_status *st, int curl_code)
{
	int code = st ? st->code : 0;

	if (!code) {
		switch (curl_code) {
		case CURLE_OK:
			return K8S_OK;
		case CURLE_SSL_CONNECT_ERROR:
		case CURLE_PEER_FAILED_VERIFICATION:
		case CURLE_SSL_CERTPROBLEM:
		case CURLE_SSL_CIPHER:
		case CURLE_SSL_CACERT_BADFILE:
		case CURLE_SSL_ENGINE_NOTFOUND:
		case CURLE_SSL_ENGINE_SETFAILED:
		case CURLE_USE_SSL_FAILED:
		case CURLE_SSL_ISSUER_ERROR:
		case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		case CURLE_SSL_INVALIDCERTSTATUS:
		case CURLE_SSL_CRL_BADFILE:
		case CURLE_SSL_CLIENTCERT:
		case CURLE_UNSUPPORTED_PROTOCOL:
		case CURLE_URL_MALFORMAT:
		case CURLE_WRITE_ERROR:
		case CURLE_FILESIZE_EXCEEDED:
		case CURLE_OUT_OF_MEMORY:
		case CURLE_BAD_FUNCTION_ARGUMENT:
			return K8S_HARD;
		default:
			/* refused, reset, timed out, nothing received: the server may come back */
			return K8S_RETRY;
		}
	}
	if (code < 400)
		return K8S_OK;
	if (code == 409)
		return !strcmp(st->reason, "AlreadyExists") ? K8S_ADOPT : K8S_REREAD;
	if (code == 410)
		return K8S_REREAD;
	if (code == 429)
		return K8S_WAIT;
	if (code == 408)
		return K8S_RETRY;
	if (code >= 500) {
		/* SSA's schema errors are 500 without a reason, and permanent */
		if (code == 501 || strstr(st->message, "failed to create typed patch object"))
			return K8S_HARD;
		return K8S_RETRY;
	}
	return K8S_HARD;
}

/* ---- transport ------------------------------------------------------------ */

static size_t on_body(char *p, size_t sz, size_t n, void *arg)
{
	struct xfer *x = arg;

	n *= sz;
	buf_add(&x->body, p, n);
	if (x->body.failed) {
		/* returning less than n aborts the transfer: memory stays bounded */
		x->too_big = 1;
		return 0;
	}
	return n;
}

static void header_value(char *dst, size_t dn, const char *p, size_t n)
{
	while (n && (*p == ' ' || *p == '\t'))
		p++, n--;
	while (n && (p[n - 1] == '\r' || p[n - 1] == '\n' || p[n - 1] == ' '))
		n--;
	if (n >= dn)
		n = dn - 1;
	memcpy(dst, p, n);
	dst[n] = '\0';
	copy_str(dst, dn, dst);
}

static size_t on_header(char *p, size_t sz, size_t n, void *arg)
{
	struct xfer *x = arg;

	n *= sz;
	if (n >= 5 && !memcmp(p, "HTTP/", 5)) {
		/* a new response (after 100 Continue or a proxy's CONNECT): forget the last */
		x->content_type[0] = x->retry_after[0] = '\0';
	} else if (n > 13 && !strncasecmp(p, "Content-Type:", 13)) {
		header_value(x->content_type, sizeof(x->content_type), p + 13, n - 13);
	} else if (n > 12 && !strncasecmp(p, "Retry-After:", 12)) {
		header_value(x->retry_after, sizeof(x->retry_after), p + 12, n - 12);
	} else if (n > 8 && !strncasecmp(p, "Warning:", 8)) {
		header_value(x->warning, sizeof(x->warning), p + 8, n - 8);
	}
	return n;
}

/* Split the server URL: scheme://host[:port][/prefix] (host keeps IPv6 brackets). */
static int split_server(const char *url, char *scheme, size_t sn, char *host, size_t hn,
			char *port, size_t pn, const char **prefix)
{
	const char *p = strstr(url, "://"), *a, *end, *colon;

	if (!p || (size_t)(p - url) >= sn)
		return -1;
	memcpy(scheme, url, (size_t)(p - url));
	scheme[p - url] = '\0';
	a = p + 3;
	end = a + strcspn(a, "/");
	*prefix = end;
	if (*a == '[') {
		const char *rb = memchr(a, ']', (size_t)(end - a));

		if (!rb)
			return -1;
		colon = rb[1] == ':' ? rb + 1 : NULL;
		if ((size_t)(rb + 1 - a) >= hn)
			return -1;
		memcpy(host, a, (size_t)(rb + 1 - a));
		host[rb + 1 - a] = '\0';
	} else {
		colon = memchr(a, ':', (size_t)(end - a));
		if ((size_t)((colon ? colon : end) - a) >= hn)
			return -1;
		memcpy(host, a, (size_t)((colon ? colon : end) - a));
		host[(colon ? colon : end) - a] = '\0';
	}
	if (colon) {
		if ((size_t)(end - colon - 1) >= pn)
			return -1;
		memcpy(port, colon + 1, (size_t)(end - colon - 1));
		port[end - colon - 1] = '\0';
	} else {
		snprintf(port, pn, "%s", strcmp(scheme, "https") ? "80" : "443");
	}
	return host[0] ? 0 : -1;
}

void k8s_opts_from_config(struct k8s_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->kubeconfig = config.kubeconfig;
	o->context = config.kube_context;
	o->sa_dir = config.kube_sa_dir;
	o->timeout_ms = (long)config.kube_timeout * 1000;
	o->body_max = (size_t)config.kube_body_max;
}

int k8s_init(struct k8s *k, const struct k8s_opts *o, struct err *e)
{
	struct kubeconfig kc;

	memset(k, 0, sizeof(*k));
	if (kubeconfig_load(&kc, o ? o->kubeconfig : NULL, o ? o->context : NULL,
			    o ? o->sa_dir : NULL, e) < 0)
		return -1;
	return k8s_init_kc(k, &kc, o, e);
}

int k8s_init_kc(struct k8s *k, struct kubeconfig *kc, const struct k8s_opts *o, struct err *e)
{
	static int global_done;
	char scheme[16], host[300], port[16];
	const char *prefix;
	CURL *c;

	memset(k, 0, sizeof(*k));
	k->kc = *kc;
	memset(kc, 0, sizeof(*kc));
	k->timeout_ms = o && o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
	k->deadline_ms = o && o->deadline_ms > 0 ? o->deadline_ms : DEFAULT_DEADLINE_MS;
	k->body_max = o && o->body_max ? o->body_max : DEFAULT_BODY_MAX;
	k->max_retries = !o || !o->max_retries ? DEFAULT_RETRIES
			 : o->max_retries < 0  ? 0
					       : o->max_retries;
	k->backoff_base_ms = 100;
	k->backoff_cap_ms = 5000;

	if (split_server(k->kc.server, scheme, sizeof(scheme), host, sizeof(host), port,
			 sizeof(port), &prefix) < 0) {
		err_set(e, 500, "kubernetes: context '%s': cannot parse server '%s'", k->kc.context,
			k->kc.server);
		k8s_release(k);
		return -1;
	}
	if (*k->kc.tls_server_name) {
		/* verify (and send SNI) as tls-server-name while connecting to the real host */
		if (asprintf(&k->base, "%s://%s:%s%s", scheme, k->kc.tls_server_name, port,
			     prefix) < 0 ||
		    asprintf(&k->connect_to, "%s:%s:%s:%s", k->kc.tls_server_name, port, host,
			     port) < 0)
			die_oom();
	} else if (!(k->base = strdup(k->kc.server))) {
		die_oom();
	}

	if (!global_done) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		global_done = 1;
	}
	c = k->curl = curl_easy_init();
	if (!c)
		die_oom();
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, k->curlerr);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "storefleet/1 (libcurl)");
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			 k->timeout_ms < 10000 ? k->timeout_ms : 10000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, k->timeout_ms);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)k->body_max);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	if (k->kc.insecure) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	} else {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	}
	if (k->kc.ca) {
		struct curl_blob b = {k->kc.ca, k->kc.ca_len, CURL_BLOB_COPY};

		curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &b);
	}
	if (k->kc.cert) {
		struct curl_blob cb = {k->kc.cert, k->kc.cert_len, CURL_BLOB_COPY};
		struct curl_blob kb = {k->kc.key, k->kc.key_len, CURL_BLOB_COPY};

		curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(c, CURLOPT_SSLCERT_BLOB, &cb);
		curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
		curl_easy_setopt(c, CURLOPT_SSLKEY_BLOB, &kb);
	}
	if (*k->kc.proxy_url)
		curl_easy_setopt(c, CURLOPT_PROXY, k->kc.proxy_url);
	if (k->connect_to) {
		struct curl_slist *l = curl_slist_append(NULL, k->connect_to);

		if (!l)
			die_oom();
		/* kept until release: curl reads the list at every perform */
		k->connect_to_list = l;
		curl_easy_setopt(c, CURLOPT_CONNECT_TO, l);
	}
	return 0;
}

void k8s_release(struct k8s *k)
{
	if (k->curl)
		curl_easy_cleanup(k->curl);
	curl_slist_free_all(k->connect_to_list);
	free(k->base);
	free(k->connect_to);
	kubeconfig_release(&k->kc);
	memset(k, 0, sizeof(*k));
}

static enum k8s_result result_of(int code)
{
	if (!code)
		return K8S_R_ERROR;
	if (code == 429)
		return K8S_R_429;
	if (code >= 500)
		return K8S_R_5XX;
	if (code >= 400)
		return K8S_R_4XX;
	return K8S_R_2XX;
}

void k8s_count(struct k8s *k, enum k8s_verb verb, int code)
{
	k->count[verb][result_of(code)]++;
}

void *k8s_stream_new(struct k8s *k, const char *path, void **headers)
{
	struct curl_slist *h = NULL;
	struct buf url = BUF_INIT;
	struct err te = ERR_INIT;
	char *auth = NULL;
	CURL *c;

	if (!k->curl)
		BUG("kubernetes: stream on a client that is not initialised");
	c = curl_easy_duphandle(k->curl);
	if (!c)
		die_oom();
	buf_adds(&url, k->base);
	buf_adds(&url, path);
	if (url.failed)
		die_oom();
	curl_easy_setopt(c, CURLOPT_URL, url.s);
	buf_release(&url);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 0L);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)0);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, NULL);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, NULL);
	curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
	if (kubeconfig_refresh_token(&k->kc, 0, &te) < 0)
		log_warn("kubernetes: context '%s': %s", k->kc.context, te.msg);
	h = curl_slist_append(h, "Accept: application/json");
	if (*k->kc.token) {
		if (asprintf(&auth, "Authorization: Bearer %s", k->kc.token) < 0)
			die_oom();
		h = curl_slist_append(h, auth);
		memset(auth, 0, strlen(auth));
		free(auth);
	}
	if (!h)
		die_oom();
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	*headers = h;
	return c;
}

/* The message for a failed attempt: context, server, request, what happened. */
static void describe(struct k8s *k, struct k8s_err *ke, const char *method, const char *path,
		     const char *what)
{
	char att[40] = "";

	if (ke->attempts > 1)
		snprintf(att, sizeof(att), " (%d attempts)", ke->attempts);
	err_reset(&ke->err, ke->err.status ? ke->err.status : 502,
		  "kubernetes: context '%s' server '%s': %s '%.80s': %s%s", k->kc.context,
		  k->kc.server, method, path, what, att);
}

static int tls_error(int cc)
{
	return k8s_classify(&(struct k8s_status){0}, cc) == K8S_HARD && cc != CURLE_WRITE_ERROR &&
	       cc != CURLE_FILESIZE_EXCEEDED && cc != CURLE_UNSUPPORTED_PROTOCOL &&
	       cc != CURLE_URL_MALFORMAT && cc != CURLE_OUT_OF_MEMORY &&
	       cc != CURLE_BAD_FUNCTION_ARGUMENT;
}

static json_t *request(struct k8s *k, enum k8s_verb verb, const char *method, const char *path,
		       const char *body, const char *content_type, int *code_out,
		       struct k8s_err *ke_in, size_t (*narrow)(char *, size_t))
{
	struct k8s_err local;
	struct k8s_err *ke = ke_in ? ke_in : &local;
	CURL *c = k->curl;
	int idempotent = strcmp(method, "POST") != 0, reread_done = 0;
	long start = now_ms();
	struct buf url = BUF_INIT;
	struct xfer x;
	json_t *out = NULL;

	if (!c)
		BUG("kubernetes: request on a client that is not initialised");
	memset(ke, 0, sizeof(*ke));
	ke->st.retry_after = -1;
	buf_init(&x.body, k->body_max);
	buf_adds(&url, k->base);
	buf_adds(&url, path);
	if (url.failed)
		die_oom();
	curl_easy_setopt(c, CURLOPT_URL, url.s);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
	/*
	 * curl silently resends a request whose reused connection died before
	 * any answer; for a POST that could create twice, so it gets a new one.
	 */
	curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, idempotent ? 0L : 1L);
	if (!strcmp(method, "GET") || !strcmp(method, "DELETE")) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, strcmp(method, "GET") ? method : NULL);
	} else {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)(body ? strlen(body) : 0));
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, strcmp(method, "POST") ? method : NULL);
	}

	for (;;) {
		struct curl_slist *h = NULL;
		struct err te = ERR_INIT;
		char *auth = NULL, what[700];
		long left = k->deadline_ms - (now_ms() - start), code = 0, delay;
		CURLcode cc;

		if (left <= 0) {
			describe(k, ke, method, path, "deadline exceeded");
			break;
		}
		if (kubeconfig_refresh_token(&k->kc, 0, &te) < 0)
			/* keep the old token: the file may be mid-rotation */
			log_warn("kubernetes: context '%s': %s", k->kc.context, te.msg);
		h = curl_slist_append(h, "Accept: application/json");
		h = curl_slist_append(h, "Expect:");
		if (body) {
			char ct[128];

			snprintf(ct, sizeof(ct), "Content-Type: %s",
				 content_type ? content_type : "application/json");
			h = curl_slist_append(h, ct);
		}
		if (*k->kc.token) {
			if (asprintf(&auth, "Authorization: Bearer %s", k->kc.token) < 0)
				die_oom();
			h = curl_slist_append(h, auth);
		}
		if (!h)
			die_oom();
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
				 left < k->timeout_ms ? left : k->timeout_ms);
		buf_reset(&x.body);
		x.too_big = 0;
		x.content_type[0] = x.retry_after[0] = x.warning[0] = '\0';
		k->curlerr[0] = '\0';

		cc = curl_easy_perform(c);
		ke->attempts++;
		if (ke->attempts > 1)
			k->retries++;
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);	/* h is freed next */
		curl_slist_free_all(h);
		if (auth) {
			memset(auth, 0, strlen(auth));
			free(auth);
		}
		if (cc == CURLE_OK)
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		if (x.warning[0])
			memcpy(k->warning, x.warning, sizeof(k->warning));
		k->count[verb][result_of(cc == CURLE_OK ? (int)code : 0)]++;
		ke->curl_code = cc;
		if (code_out)
			*code_out = (int)code;

		if (cc == CURLE_OK && code < 400) {
			struct err pe = ERR_INIT;

			if (narrow && x.body.len) {
				x.body.len = narrow(x.body.s, x.body.len);
				x.body.s[x.body.len] = '\0';
			}
			out = k8s_parse_json(x.body.s, x.body.len, x.content_type, &pe);
			if (out) {
				/* forget what earlier attempts went through */
				memset(&ke->st, 0, sizeof(ke->st));
				ke->st.code = (int)code;
				ke->st.retry_after = -1;
				ke->klass = K8S_OK;
				err_clear(&ke->err);
				break;
			}
			ke->st.code = (int)code;
			ke->klass = K8S_HARD;
			describe(k, ke, method, path, pe.msg);
			break;
		}
		if (cc != CURLE_OK) {
			memset(&ke->st, 0, sizeof(ke->st));
			ke->st.retry_after = -1;
			ke->too_big = x.too_big || cc == CURLE_FILESIZE_EXCEEDED;
			ke->klass = ke->too_big ? K8S_HARD : k8s_classify(&ke->st, cc);
			if (ke->too_big) {
				snprintf(what, sizeof(what),
					 "answer larger than %zu bytes (body_max)", k->body_max);
			} else if (cc == CURLE_OPERATION_TIMEDOUT) {
				ke->err.status = 504;
				snprintf(what, sizeof(what), "timed out: %s", k->curlerr);
			} else if (tls_error(cc)) {
				snprintf(what, sizeof(what), "TLS: %s",
					 k->curlerr[0] ? k->curlerr : curl_easy_strerror(cc));
			} else {
				snprintf(what, sizeof(what), "%s",
					 k->curlerr[0] ? k->curlerr : curl_easy_strerror(cc));
			}
		} else {
			k8s_parse_status(&ke->st, (int)code, x.body.s, x.body.len, x.content_type,
					 x.retry_after[0] ? x.retry_after : NULL);
			ke->klass = k8s_classify(&ke->st, 0);
			ke->err.status = (int)code;
			snprintf(what, sizeof(what), "%d %s: %s", (int)code,
				 ke->st.reason[0] ? ke->st.reason : "(no reason)",
				 ke->st.message[0] ? ke->st.message : "(no message)");
		}
		describe(k, ke, method, path, what);

		if (code == 401 && *k->kc.token_file && !reread_done) {
			/* a rotated service-account token: read the file again, retry once */
			reread_done = 1;
			kubeconfig_refresh_token(&k->kc, 1, NULL);
			err_clear(&ke->err);
			continue;
		}
		if (!idempotent || (ke->klass != K8S_RETRY && ke->klass != K8S_WAIT) ||
		    ke->attempts > k->max_retries)
			break;
		delay = ke->st.retry_after >= 0
			    ? ke->st.retry_after * 1000L
			    : k8s_backoff_range(ke->attempts - 1, k->backoff_base_ms,
						k->backoff_cap_ms);
		if (now_ms() + delay >= start + k->deadline_ms)
			break;
		sleep_ms(delay);
		ke->waited_ms += delay;
		err_clear(&ke->err);
	}
	buf_release(&x.body);
	buf_release(&url);
	return out;
}

static enum k8s_verb verb_of(const char *method)
{
	if (!strcmp(method, "GET"))
		return K8S_V_GET;
	if (!strcmp(method, "PATCH"))
		return K8S_V_APPLY;
	if (!strcmp(method, "DELETE"))
		return K8S_V_DELETE;
	if (!strcmp(method, "POST"))
		return K8S_V_POST;
	return K8S_V_OTHER;
}

json_t *k8s_request(struct k8s *k, const char *method, const char *path, const char *body,
		    const char *content_type, int *code, struct k8s_err *ke)
{
	return request(k, verb_of(method), method, path, body, content_type, code, ke, NULL);
}

json_t *k8s_get_narrowed(struct k8s *k, const char *path, size_t (*narrow)(char *, size_t),
			 int *code, struct k8s_err *ke)
{
	return request(k, K8S_V_GET, "GET", path, NULL, NULL, code, ke, narrow);
}

json_t *k8s_get(struct k8s *k, const char *path, struct k8s_err *ke)
{
	return request(k, K8S_V_GET, "GET", path, NULL, NULL, NULL, ke, NULL);
}

/* ---- list ----------------------------------------------------------------- */

static void add_query(struct buf *b, const char *key, const char *val)
{
	buf_addch(b, strchr(b->s, '?') ? '&' : '?');
	buf_adds(b, key);
	buf_addch(b, '=');
	buf_add_urlenc(b, val, strlen(val));
}

/* Real servers omit kind/apiVersion on items of typed lists; fill them in from the list. */
static void fill_kind(json_t *item, const char *list_kind, const char *api_version)
{
	size_t n;

	if (!json_is_object(item))
		return;
	if (!json_object_get(item, "kind") && list_kind && (n = strlen(list_kind)) > 4 &&
	    !strcmp(list_kind + n - 4, "List"))
		json_object_set_new(item, "kind", json_stringn(list_kind, n - 4));
	if (!json_object_get(item, "apiVersion") && api_version)
		json_object_set_new(item, "apiVersion", json_string(api_version));
}

void k8s_list_release(struct k8s_list *l)
{
	json_decref(l->items);
	memset(l, 0, sizeof(*l));
}

int k8s_list(struct k8s *k, const struct k8s_list_opts *o, struct k8s_list *out,
	     struct k8s_err *ke_in)
{
	struct k8s_err local;
	struct k8s_err *ke = ke_in ? ke_in : &local;
	struct buf base = BUF_INIT, url = BUF_INIT;
	char *cont = NULL;
	size_t max_items = o->max_items ? o->max_items : 1000000;
	int ret = -1, attempts = 0;

	memset(out, 0, sizeof(*out));
	memset(ke, 0, sizeof(*ke));
	if (o->path) {
		buf_adds(&base, o->path);
	} else if (k8s_path(&base, o->api_version, o->kind, o->ns, NULL, &ke->err) < 0) {
		ke->klass = K8S_HARD;
		goto out;
	}
	if (o->label_selector && *o->label_selector)
		add_query(&base, "labelSelector", o->label_selector);
	if (o->field_selector && *o->field_selector)
		add_query(&base, "fieldSelector", o->field_selector);
	buf_addf(&base, "%climit=%d", strchr(base.s, '?') ? '&' : '?',
		 o->limit > 0 ? o->limit : 500);
	out->items = json_array();

	for (;;) {
		json_t *page, *items, *md, *it;
		const char *next, *lk, *av;
		size_t i;

		buf_reset(&url);
		buf_add(&url, base.s, base.len);
		if (cont)
			add_query(&url, "continue", cont);
		if (url.failed)
			die_oom();
		page = request(k, K8S_V_LIST, "GET", url.s, NULL, NULL, NULL, ke, NULL);
		attempts += ke->attempts;
		if (!page) {
			if (ke->st.code == 410 && cont && !out->restarts) {
				/* the continue token expired: start over, once (api-concepts) */
				out->restarts++;
				free(cont);
				cont = NULL;
				json_array_clear(out->items);
				out->pages = 0;
				continue;
			}
			goto out;
		}
		out->pages++;
		items = json_object_get(page, "items");
		md = json_object_get(page, "metadata");
		if (!json_is_object(page) ||
		    (!json_is_array(items) && !json_is_null(items) && items)) {
			json_decref(page);
			ke->klass = K8S_HARD;
			describe(k, ke, "GET", url.s, "answer is not a list (no items array)");
			goto out;
		}
		if (out->pages == 1)
			copy_str(out->resource_version, sizeof(out->resource_version),
				 json_string_value(json_object_get(md, "resourceVersion")));
		lk = json_string_value(json_object_get(page, "kind"));
		av = json_string_value(json_object_get(page, "apiVersion"));
		json_array_foreach(items, i, it) {
			fill_kind(it, lk, av);
			json_array_append(out->items, it);
		}
		next = json_string_value(json_object_get(md, "continue"));
		free(cont);
		cont = next && *next ? strdup(next) : NULL;
		json_decref(page);
		if (json_array_size(out->items) > max_items) {
			ke->klass = K8S_HARD;
			ke->err.status = 502;
			describe(k, ke, "GET", base.s, "more items than the limit (max_items)");
			goto out;
		}
		if (!cont)
			break;
	}
	ret = 0;
out:
	ke->attempts = attempts;
	free(cont);
	buf_release(&base);
	buf_release(&url);
	if (ret < 0) {
		json_decref(out->items);
		out->items = NULL;
	}
	return ret;
}

/* ---- apply and delete ------------------------------------------------------ */

json_t *k8s_apply(struct k8s *k, const json_t *obj, const struct k8s_apply_opts *o, int *created,
		  struct k8s_err *ke_in)
{
	struct k8s_err local;
	struct k8s_err *ke = ke_in ? ke_in : &local;
	struct buf path = BUF_INIT;
	const char *fm = o && o->field_manager ? o->field_manager : "storefleet";
	char *body;
	json_t *res = NULL;
	int code = 0;

	if (created)
		*created = 0;
	memset(ke, 0, sizeof(*ke));
	if (k8s_object_path(&path, obj, &ke->err) < 0) {
		ke->klass = K8S_HARD;
		buf_release(&path);
		return NULL;
	}
	add_query(&path, "fieldManager", fm);
	buf_adds(&path, o && o->no_force ? "&force=false" : "&force=true");
	if (o && o->dry_run)
		buf_adds(&path, "&dryRun=All");
	/* JSON is YAML: the apply-patch+yaml content type takes it as is */
	body = json_dumps(obj, JSON_COMPACT);
	if (!body || path.failed)
		die_oom();
	res = request(k, K8S_V_APPLY, "PATCH", path.s, body, "application/apply-patch+yaml", &code,
		      ke, NULL);
	if (res && created)
		*created = code == 201;
	free(body);
	buf_release(&path);
	return res;
}

int k8s_apply_all(struct k8s *k, const json_t *objs, const struct k8s_apply_opts *o, size_t *done,
		  size_t *ncreated, struct k8s_err *ke)
{
	size_t i;
	json_t *obj;

	if (done)
		*done = 0;
	if (ncreated)
		*ncreated = 0;
	if (!json_is_array(objs)) {
		if (ke) {
			memset(ke, 0, sizeof(*ke));
			ke->klass = K8S_HARD;
		}
		return err_set(ke ? &ke->err : NULL, 400,
			       "kubernetes: apply: not an array of objects");
	}
	json_array_foreach(objs, i, obj) {
		int created = 0;
		json_t *r = k8s_apply(k, obj, o, &created, ke);

		if (!r)
			return -1;
		json_decref(r);
		if (done)
			(*done)++;
		if (ncreated && created)
			(*ncreated)++;
	}
	return 0;
}

int k8s_delete(struct k8s *k, const char *path, const char *propagation, unsigned flags,
	       struct k8s_err *ke_in)
{
	struct k8s_err local;
	struct k8s_err *ke = ke_in ? ke_in : &local;
	struct buf p = BUF_INIT;
	json_t *r;

	buf_adds(&p, path);
	if (propagation && *propagation)
		add_query(&p, "propagationPolicy", propagation);
	if (p.failed)
		die_oom();
	r = request(k, K8S_V_DELETE, "DELETE", p.s, NULL, NULL, NULL, ke, NULL);
	buf_release(&p);
	if (r) {
		json_decref(r);
		return 0;
	}
	if (ke->st.code == 404 && (flags & K8S_DELETE_GONE_OK)) {
		err_clear(&ke->err);
		ke->klass = K8S_OK;
		return 1;
	}
	return -1;
}

/* ---- pods and events -------------------------------------------------------- */

json_t *k8s_pods(struct k8s *k, const char *ns, const char *selector, struct k8s_err *ke)
{
	struct k8s_list_opts o = {.api_version = "v1", .kind = "Pod", .ns = ns,
				  .label_selector = selector};
	struct k8s_list l;

	if (k8s_list(k, &o, &l, ke) < 0)
		return NULL;
	return l.items;
}

static const char *event_time(const json_t *ev)
{
	const char *t = json_string_value(json_object_get(ev, "lastTimestamp"));

	if (!t || !*t)
		t = json_string_value(json_object_get(ev, "eventTime"));
	if (!t || !*t)
		t = json_string_value(json_object_get(json_object_get(ev, "metadata"),
						      "creationTimestamp"));
	return t ? t : "";
}

static int newest_first(const void *a, const void *b)
{
	/* RFC 3339 UTC timestamps sort as strings (eventTime's microseconds sort after) */
	return strcmp(event_time(*(json_t *const *)b), event_time(*(json_t *const *)a));
}

json_t *k8s_events(struct k8s *k, const char *ns, const char *involved, struct k8s_err *ke)
{
	struct k8s_list_opts o = {.api_version = "v1", .kind = "Event", .ns = ns};
	struct k8s_list l;
	char *fs = NULL;
	json_t **v, *out;
	size_t n;

	if (involved && *involved && asprintf(&fs, "involvedObject.name=%s", involved) < 0)
		die_oom();
	o.field_selector = fs;
	if (k8s_list(k, &o, &l, ke) < 0) {
		if (!fs || !ke || ke->st.code != 400) {
			free(fs);
			return NULL;
		}
		/* a server without the involvedObject field selector: filter here */
		o.field_selector = NULL;
		if (k8s_list(k, &o, &l, ke) < 0) {
			free(fs);
			return NULL;
		}
		for (size_t i = json_array_size(l.items); i-- > 0;) {
			const char *who = json_string_value(json_object_get(
				json_object_get(json_array_get(l.items, i), "involvedObject"), "name"));

			if (!who || strcmp(who, involved))
				json_array_remove(l.items, i);
		}
	}
	free(fs);
	n = json_array_size(l.items);
	v = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		die_oom();
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(l.items, i));
	qsort(v, n, sizeof(*v), newest_first);
	out = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(out, v[i]);
	free(v);
	k8s_list_release(&l);
	return out;
}
