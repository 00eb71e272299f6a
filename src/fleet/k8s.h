/* k8s.h - the Kubernetes API client: get, list, server-side apply, delete, pods and events. */
#ifndef SF_K8S_H
#define SF_K8S_H

#include <stddef.h>

#include <jansson.h>

#include "buf.h"
#include "err.h"
#include "kubeconfig.h"

/*
 * One struct k8s per process holds one curl easy handle, so every request
 * reuses the kept-alive TLS connection.  Connect and total timeouts are
 * always set; CA, client certificate and key go to curl as blobs.  Every
 * response body is capped (body_max) and must be JSON.
 *
 * Results are jansson values: a returned json_t * is a new reference the
 * caller json_decref()s.
 *
 * Errors: any HTTP status >= 400 is parsed into a struct k8s_status (the
 * API's Status object, or what a plain-text answer allows) and classified
 * per the API conventions (enum k8s_class).  The message in ke->err reads
 *   kubernetes: context 'c' server 'https://h:p': GET '/api/v1/...': 404 NotFound: ...
 *
 * Retries: idempotent requests (GET, LIST, SSA PATCH, DELETE) are retried
 * inside the call on 429 (honouring Retry-After), 5xx, connection resets and
 * timeouts, at most max_retries times and never past deadline_ms in total;
 * a 401 with a token file re-reads the file and retries once.  POST is
 * never retried.  Every attempt is counted in k->count.
 */

/* What the caller should do about a failed call (docs/design.md section 3). */
enum k8s_class {
	K8S_OK = 0,
	K8S_ADOPT,	/* 409 AlreadyExists: the object is there - adopt it */
	K8S_REREAD,	/* 409 Conflict, 410 Expired: re-read, then retry */
	K8S_WAIT,	/* 429: wait retry_after seconds, then retry */
	K8S_RETRY,	/* 5xx, reset, timeout, refused: retry with k8s_backoff() */
	K8S_HARD,	/* 400/401/403/404/415/422, TLS, bad answer, config: give up */
};

#define K8S_CAUSES_MAX 8

struct k8s_cause {
	char reason[64];	/* CauseType: FieldValueInvalid, FieldManagerConflict, ... */
	char message[256];
	char field[128];
};

/* The API's Status (or the nearest thing a non-Status answer allows). */
struct k8s_status {
	int code;		/* HTTP status; 0 = no answer (transport error) */
	char reason[64];	/* NotFound, AlreadyExists, Conflict, Invalid... ("" if none) */
	char message[512];
	char kind[64];		/* details.kind (plural, or Kind for Invalid) */
	char name[254];		/* details.name */
	struct k8s_cause causes[K8S_CAUSES_MAX];
	int ncauses;
	int retry_after; /* seconds (Retry-After header or details.retryAfterSeconds); -1 = none */
};

/* The outcome of one call; pass NULL if only success matters. */
struct k8s_err {
	struct err err;		/* message for people; status 502 upstream, 504 timeout... */
	struct k8s_status st;
	enum k8s_class klass;
	int curl_code;		/* CURLcode of the last attempt (0 = got an answer) */
	int attempts;		/* HTTP attempts made (1 = no retry) */
	int too_big;		/* the answer exceeded body_max */
	long waited_ms;		/* time spent sleeping between attempts */
};

/* Counters for metrics: every attempt, by verb and result. */
enum k8s_verb {
	K8S_V_GET,
	K8S_V_LIST,
	K8S_V_APPLY,
	K8S_V_DELETE,
	K8S_V_POST,
	K8S_V_OTHER,
	K8S_V_N
};
enum k8s_result { K8S_R_2XX, K8S_R_4XX, K8S_R_429, K8S_R_5XX, K8S_R_ERROR, K8S_R_N };

struct k8s_opts {
	const char *kubeconfig;	/* "" = KUBECONFIG / ~/.kube/config / in-cluster; "in-cluster" */
	const char *context;	/* "" = current-context */
	const char *sa_dir;	/* service-account directory ("" = the standard one) */
	long timeout_ms;	/* per attempt, total (connect is min(timeout, 10 s)); 0 = 10 s */
	long deadline_ms;	/* all attempts of one call; 0 = 30 s */
	size_t body_max;	/* response cap, bytes; 0 = 32 MiB */
	int max_retries;	/* 0 = 10 (client-go's maxRetries); -1 = none */
};

struct k8s {
	struct kubeconfig kc;
	void *curl;		/* CURL *, reused for keep-alive */
	char curlerr[256];	/* CURLOPT_ERRORBUFFER */
	long timeout_ms, deadline_ms;
	size_t body_max;
	int max_retries;
	long backoff_base_ms, backoff_cap_ms;	/* in-call retries (default 100 ms .. 5 s) */
	char *base;		/* URL prefix (host replaced by tls-server-name if set) */
	char *connect_to;	/* CURLOPT_CONNECT_TO entry for tls-server-name */
	void *connect_to_list;	/* struct curl_slist * holding it */
	unsigned long count[K8S_V_N][K8S_R_N];
	unsigned long retries;	/* attempts beyond the first */
	char warning[256];	/* last Warning header, for logs ("" = none) */
};

/* Load the configuration (kubeconfig.h) and set up the handle.  k is caller-owned. */
int k8s_init(struct k8s *k, const struct k8s_opts *o, struct err *e);

/* Set up from an already loaded kubeconfig (takes ownership of *kc, which is zeroed). */
int k8s_init_kc(struct k8s *k, struct kubeconfig *kc, const struct k8s_opts *o, struct err *e);

/* Options from the process configuration (config.h): kubeconfig, context, timeout... */
void k8s_opts_from_config(struct k8s_opts *o);

void k8s_release(struct k8s *k);

/* ---- paths ---- */

/*
 * The collection or object path of apiVersion/kind (from the table of kinds
 * storefleet uses), URL-escaped: ns NULL/"" for an all-namespaces list (or a
 * cluster-scoped kind), name NULL for the collection.  Appends to out.
 * Errors: unknown kind or apiVersion, a namespace missing or given where
 * the scope says otherwise.
 */
int k8s_path(struct buf *out, const char *api_version, const char *kind, const char *ns,
	     const char *name, struct err *e);

/* The object path of obj (apiVersion, kind, metadata.namespace, metadata.name). */
int k8s_object_path(struct buf *out, const json_t *obj, struct err *e);

/* Is kind (with apiVersion) in the table, and is it namespaced?  -1 unknown, 0 cluster, 1 ns. */
int k8s_kind_namespaced(const char *api_version, const char *kind);

/* ---- operations ---- */

/* GET path (already escaped, may carry a query).  OUT: the object. */
json_t *k8s_get(struct k8s *k, const char *path, struct k8s_err *ke);

/*
 * k8s_get(), the answer's text first passed through narrow (a 2xx answer
 * only: it rewrites s[0..n) in place and returns the new length) so a
 * large answer parses to what the caller reads (observe_narrow_list).
 * OUT: *code, the HTTP status (NULL: not wanted).
 */
json_t *k8s_get_narrowed(struct k8s *k, const char *path, size_t (*narrow)(char *, size_t),
			 int *code, struct k8s_err *ke);

struct k8s_list_opts {
	const char *path;		/* collection path; or NULL and: */
	const char *api_version;	/*   apiVersion + kind + ns ("" or NULL = all namespaces) */
	const char *kind;
	const char *ns;
	const char *label_selector;	/* NULL = none; escaped here */
	const char *field_selector;
	int limit;			/* page size (limit/continue); 0 = 500 */
	size_t max_items;		/* stop with an error beyond this; 0 = 1,000,000 */
};

struct k8s_list {
	json_t *items;			/* OUT: array; each item gets kind/apiVersion if missing */
	char resource_version[64];	/* the list's metadata.resourceVersion */
	int pages;
	int restarts;			/* 1 if an expired continue token restarted the list */
};

/* LIST, following continue tokens; a 410 Expired restarts the list once. */
int k8s_list(struct k8s *k, const struct k8s_list_opts *o, struct k8s_list *out,
	     struct k8s_err *ke);
void k8s_list_release(struct k8s_list *l);

struct k8s_apply_opts {
	const char *field_manager;	/* NULL = "storefleet" */
	int no_force;			/* 1 = force=false (conflicts become 409) */
	int dry_run;			/* 1 = dryRun=All */
};

/*
 * Server-side apply obj (not stolen) to its own path: PATCH
 * application/apply-patch+yaml with fieldManager and force=true.
 * *created (may be NULL) = 1 when the server answered 201.
 * OUT: the stored object.
 */
json_t *k8s_apply(struct k8s *k, const json_t *obj, const struct k8s_apply_opts *o, int *created,
		  struct k8s_err *ke);

/*
 * Apply every object of the array objs in order, stopping at the first
 * error.  *done (may be NULL) = how many were applied; *ncreated (may be
 * NULL) = how many of them were created.
 */
int k8s_apply_all(struct k8s *k, const json_t *objs, const struct k8s_apply_opts *o, size_t *done,
		  size_t *ncreated, struct k8s_err *ke);

#define K8S_DELETE_GONE_OK 1	/* a 404 means "already gone", not an error */

/*
 * DELETE path with propagationPolicy (NULL = server default; "Background",
 * "Foreground", "Orphan").  Returns 0 when accepted (200/202), 1 when the
 * object was already gone (404 with K8S_DELETE_GONE_OK), -1 on error.
 */
int k8s_delete(struct k8s *k, const char *path, const char *propagation, unsigned flags,
	       struct k8s_err *ke);

/* Pods of ns matching selector (NULL = all).  OUT: the items array. */
json_t *k8s_pods(struct k8s *k, const char *ns, const char *selector, struct k8s_err *ke);

/*
 * Events of ns (ns NULL = all namespaces), only those about the object
 * named involved (NULL = all), newest first.  OUT: the items array.
 */
json_t *k8s_events(struct k8s *k, const char *ns, const char *involved, struct k8s_err *ke);

/* ---- streams (watches) ---- */

/*
 * A new curl easy handle (CURL *) for a long-lived GET of path (a watch):
 * the client's TLS, proxy and address options, Accept and Authorization
 * headers (OUT *headers: the caller frees them with curl_slist_free_all
 * after the handle), no total timeout and no size cap - the caller bounds
 * it (timeoutSeconds) and reads it through its own CURLOPT_WRITEFUNCTION.
 * Not retried, not counted: the caller counts it with k8s_count.
 */
void *k8s_stream_new(struct k8s *k, const char *path, void **headers);

/* Count one request of verb that ended with HTTP status code (0 = no answer). */
void k8s_count(struct k8s *k, enum k8s_verb verb, int code);

/* ---- the raw request and error helpers ---- */

/*
 * One request: method, path (escaped, may carry a query), optional body and
 * its content type.  Retried as described above unless method is POST.
 * *code (may be NULL) = the final HTTP status.  OUT: the parsed JSON answer
 * of a 2xx (JSON null for an empty body).
 */
json_t *k8s_request(struct k8s *k, const char *method, const char *path, const char *body,
		    const char *content_type, int *code, struct k8s_err *ke);

/*
 * Parse an error answer (pure): status code, its body, Content-Type and
 * Retry-After header (NULL if absent) into st.  A Status body gives reason,
 * message, details and causes; anything else a reason from the code and
 * the first line of the body as message.
 */
void k8s_parse_status(struct k8s_status *st, int code, const char *body, size_t len,
		      const char *content_type, const char *retry_after);

/* Does st carry a cause with this reason (e.g. "NamespaceTerminating")?  1 / 0. */
int k8s_has_cause(const struct k8s_status *st, const char *reason);

/* Classify a status (pure); code 0 = transport failure with curl code curl_code. */
enum k8s_class k8s_classify(const struct k8s_status *st, int curl_code);

/* Parse a JSON answer (pure).  Errors name the byte offset ("truncated JSON at byte N"). */
json_t *k8s_parse_json(const char *body, size_t len, const char *content_type, struct err *e);

/*
 * Milliseconds to sleep before retry number attempt (0-based): full jitter,
 * uniform in [0, min(cap, base * 2^attempt)] (AWS "exponential backoff and
 * jitter").  k8s_backoff uses base 500 ms and cap 60 s, for callers
 * retrying whole steps.
 */
long k8s_backoff_range(int attempt, long base_ms, long cap_ms);
long k8s_backoff(int attempt);

const char *k8s_class_name(enum k8s_class c);

#endif
