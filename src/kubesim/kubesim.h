/* kubesim.h - internal interfaces of the Kubernetes API simulator (one process, one global lock).
 */
#ifndef KUBESIM_H
#define KUBESIM_H

/*
 * kubesim answers the Kubernetes REST API over HTTPS for the kinds
 * storefleet uses.  libmicrohttpd runs one thread per connection; every
 * touch of the object store happens under ks_lock (a single mutex), and a
 * controller thread takes the same lock on each tick to move workloads
 * along (pods appear, become ready, Jobs complete, namespaces purge).
 *
 * Objects are jansson trees owned by the store.  They are never changed in
 * place once stored: writers build a new tree and hand it to
 * ks_store_update(), which keeps the label index right.  Equal subtrees of
 * stored trees are one shared node (store.c): ks_store_add/update may swap
 * any inner node of the tree it is given for an equal one, so a pointer
 * borrowed from inside that tree before the call is not used after it
 * (read the stored object through x->o).
 */

#include <pthread.h>
#include <stdint.h>

#include <jansson.h>

#include "buf.h"
#include "err.h"

/* --- generated schema (schema_gen.c) ---------------------------------- */

enum { KS_SCALAR = 0, KS_OBJECT = 1, KS_ARRAY = 2, KS_MAP = 3 };
enum { KS_LIST_ATOMIC = 0, KS_LIST_MAP = 1, KS_LIST_SET = 2 };

struct ks_type {
	const char *name;     /* OpenAPI definition */
	int first, nfields;   /* slice of ks_fields */
	int open;	      /* no declared properties: anything goes */
	const char *required; /* comma-separated required fields (OpenAPI "required") */
};

struct ks_field {
	const char *name;
	int kind;	  /* KS_SCALAR..KS_MAP */
	int type;	  /* ks_types index of the object/item/value type, -1 = scalar */
	int list;	  /* KS_LIST_* for arrays */
	const char *keys; /* list-map keys, comma-separated */
	int scalar;	  /* KS_ANY..KS_QUANTITY: the scalar, item or map-value type */
	const char *pkey; /* strategic merge patch: the merge key of a list ("" = none) */
	int pstrat;	  /* strategic merge patch: KS_PATCH_* bits */
};

enum { KS_PATCH_MERGE = 1, KS_PATCH_RETAIN_KEYS = 2, KS_PATCH_REPLACE = 4 };

enum { KS_ANY, KS_STRING, KS_INTEGER, KS_BOOLEAN, KS_NUMBER, KS_INT_OR_STRING, KS_QUANTITY };

struct ks_resource {
	const char *group; /* "" = core */
	const char *version;
	const char *plural;
	const char *kind;
	int namespaced;
	int type;		/* ks_types index of the kind */
	const char *verbs;	/* space-separated RBAC verbs */
	const char *shortnames; /* space-separated, may be "" */
	int has_status;
};

extern const struct ks_type ks_types[];
extern const int ks_ntypes;
extern const struct ks_field ks_fields[];
extern const struct ks_resource ks_resources[];
extern const int ks_nresources;

/* Field `name` of type t, or NULL. */
const struct ks_field *ks_schema_field(int t, const char *name);
/* The resource for plural under group/version, or NULL. */
const struct ks_resource *ks_resource_find(const char *group, const char *version,
					   const char *plural);
const struct ks_resource *ks_resource_by_kind(const char *kind);
/* "apps/v1" or "v1" into a static buffer of the resource. */
const char *ks_api_version(const struct ks_resource *r);
/* "deployments.apps" or "namespaces": the group-resource of messages. */
void ks_group_resource(struct buf *b, const struct ks_resource *r);

/* --- protobuf (proto_gen.c, proto.c) -------------------------------------- */

/* One field of a Go API type: its protobuf number, and what the schema does not say. */
struct ks_proto_field {
	const char *type;  /* OpenAPI definition, as ks_types */
	const char *name;  /* JSON name ("" for an embedded struct) */
	int num;	   /* protobuf field number */
	const char *flags; /* p pointer, t metav1.Time, b bytes, f FieldsV1, i embedded */
	const char *inl;   /* the embedded struct's definition (flag i) */
};

extern const struct ks_proto_field ks_proto_fields[]; /* sorted by type */
extern const int ks_nproto_fields;

/*
 * Decode an application/vnd.kubernetes.protobuf body for resource r into a
 * new JSON object.  Returns NULL with why filled (the body is malformed,
 * or holds a field kubesim has no number for).
 */
json_t *ks_proto_decode(const struct ks_resource *r, const void *body, size_t len, char *why,
			size_t wn);

/* --- options and global state (main.c) ---------------------------------- */

struct ks_opts {
	int pod_ready_ms, job_complete_ms, pvc_bind_ms, ns_delete_ms, observed_lag_ms;
	int cert_ready_ms; /* a Certificate is issued this long after it (or its spec) changed */
	int continue_ttl_ms;   /* a list's continue token expires after this (410 Expired) */
	int watch_window;      /* changes kept for watches from a resourceVersion (older: 410) */
	int watch_queue;       /* events a watcher may have waiting before it is dropped */
	int watch_bookmark_ms; /* period of BOOKMARK events (allowWatchBookmarks) */
	const char *job_runner; /* --job-runner: runs backup Jobs' containers (controllers.c) */
	unsigned seed;
	int quiet;
	char token[128];
};

extern struct ks_opts ks_opt;
extern pthread_mutex_t ks_lock;
extern volatile int ks_stopping; /* set at shutdown: watches end their streams */

/* Milliseconds on a monotonic clock. */
int64_t ks_now_ms(void);
/* RFC 3339 UTC time of now into out (at least 32 bytes). */
void ks_timestamp(char *out);
/* Next pseudo-random number (xorshift; deterministic under --seed). */
uint64_t ks_rand(void);
/* A random RFC 4122 v4 UUID into out (37 bytes). */
void ks_uuid(char *out);
/* A random lowercase alphanumeric suffix of n chars (kube's generateName alphabet). */
void ks_suffix(char *out, int n);
void ks_log(const char *fmt, ...) SF_PRINTF(1, 2);

/* --- store (store.c) ---------------------------------------------------- */

struct ks_obj {
	const struct ks_resource *res;
	char *ns; /* "" for cluster-scoped */
	char *name;
	json_t *o; /* the stored object, owned */
	uint64_t rv;
	int64_t born_ms;  /* when the controllers first saw it */
	int64_t gen_ms;	  /* when generation last changed */
	int64_t phase_ms; /* controller timers (kind-specific) */
	int64_t retry_ms; /* a refused pod create is not retried before this */
	char *why;	  /* and the refusal, while it lasts (malloc'd or NULL) */
	int ready_seed;	  /* created ready by /_sim/bulk */
	int watched;	  /* on the controller list */
	size_t all_pos;	  /* position in the per-resource vector */
};

struct ks_sel;

void ks_store_init(void);
uint64_t ks_store_rv(void);	 /* the current (latest) resourceVersion */
uint64_t ks_store_next_rv(void); /* bump and return */
size_t ks_store_count(void);
/* Distinct JSON nodes the stored objects share (equal subtrees are stored once). */
size_t ks_store_shared(void);
struct ks_obj *ks_store_get(const struct ks_resource *r, const char *ns, const char *name);
/*
 * Store a new object (takes the reference to o): sets metadata.resourceVersion.
 * The caller has filled uid, creationTimestamp and the rest.
 */
struct ks_obj *ks_store_add(const struct ks_resource *r, json_t *o);
/* Replace the object's tree (takes the reference); bumps resourceVersion. */
void ks_store_update(struct ks_obj *x, json_t *o);
/* Remove and free. */
void ks_store_del(struct ks_obj *x);

/*
 * The change log (what watches stream): the last ks_opt.watch_window
 * changes, one per resourceVersion, in order.  Logging a change hands it
 * to the live watches (ks_watch_dispatch).
 */
enum { KS_ADDED, KS_MODIFIED, KS_DELETED };
struct ks_change {
	int type;
	const struct ks_resource *res;
	char *ns, *name;
	uint64_t rv;
	json_t *o;    /* the state after the change (the last state for DELETED) */
	json_t *prev; /* MODIFIED: the state before (for selectors a change enters or leaves) */
};

uint64_t ks_store_seq(void);	   /* sequence number the next change will get */
uint64_t ks_store_first_seq(void); /* the oldest change still kept */
/* Change number seq, or NULL if it is not written yet or was overwritten. */
const struct ks_change *ks_store_change(uint64_t seq);
/* The first kept change with a resourceVersion above rv (ks_store_seq() if none). */
uint64_t ks_store_seq_after(uint64_t rv);

/*
 * Parse a label selector.  OUT: *out (free with ks_sel_free); NULL for an
 * empty selector.  Returns -1 and fills e (400) on a syntax error.
 */
int ks_sel_parse(const char *s, struct ks_sel **out, struct err *e);
void ks_sel_free(struct ks_sel *s);
int ks_sel_match(const struct ks_sel *s, const json_t *labels);
/* Match a selector given as a LabelSelector object (matchLabels/matchExpressions). */
int ks_labelselector_match(const json_t *sel, const json_t *labels);

/*
 * Objects of r (or of every resource when r is NULL) in ns (NULL = all)
 * matching sel, in key order (etcd's "<namespace>/<name>", byte by byte;
 * across resources, then by resource).  OUT: *v malloc'd array of
 * borrowed pointers (valid while the lock is held), caller frees.
 */
size_t ks_store_select(const struct ks_resource *r, const char *ns, const struct ks_sel *sel,
		       struct ks_obj ***v);
/*
 * One page of a LIST of r: its objects in ns (NULL = all) in key order,
 * those after the key (after_ns, after_name) when after_name is not NULL
 * (a continue token's last key: the object need not exist any more),
 * matching sel and keep(x, arg) (keep NULL = all), at most limit of them
 * (0 = no limit).  Costs about the objects looked at, not the kind's
 * size.  OUT: *v malloc'd array of borrowed pointers (valid while the
 * lock is held; caller frees); *more whether a further matching object
 * follows; then, when sel is NULL, *rest the objects of r in ns from that
 * one on, kept or not (remainingItemCount of a list without selectors),
 * else 0.
 */
size_t ks_store_page(const struct ks_resource *r, const char *ns, const struct ks_sel *sel,
		     const char *after_ns, const char *after_name, size_t limit,
		     int (*keep)(const struct ks_obj *x, void *arg), void *arg, struct ks_obj ***v,
		     int *more, size_t *rest);

/* --- API handling (api.c) ----------------------------------------------- */

struct ks_req {
	const char *method;
	const char *path;
	const char *query;	       /* raw, may be NULL */
	const char *ctype;	       /* Content-Type, may be NULL */
	const char *ua;		       /* User-Agent, may be NULL */
	const char *accept;	       /* Accept, may be NULL */
	const struct ks_resource *res; /* the resource the path names, once routed */
	const char *body;
	size_t body_len;
	struct ks_watch *watch; /* set by a watch request: stream events */
	/* response */
	int status;
	const char *resp_ctype;
	struct buf out;
	char warning[512]; /* Warning header value or "" */
	char retry_after[16];
};

/*
 * Parse a fieldSelector fs: a metadata.name term into name (neg: "!="), a
 * metadata.namespace term into fns, the others as [field, value, negated]
 * into terms.  Returns -1 with a 400 answered in q for an unknown field or
 * a malformed term.
 */
int ks_field_sel(struct ks_req *q, const char *fs, char *name, size_t nn, char *fns, size_t nf,
		 int *neg, json_t *terms);
/* Does o satisfy every term ks_field_sel put in terms? */
int ks_fields_match(const json_t *terms, const json_t *o);
/* Is the query parameter key set to true ("true", "1" or empty)? */
int ks_qbool(const struct ks_req *q, const char *key);

/* Answer one authenticated request (caller holds ks_lock). */
void ks_api_handle(struct ks_req *q);
/* Query parameter value (decoded) into out; returns 1 if present. */
int ks_query(const char *query, const char *key, char *out, size_t n);

/* Append a v1 Status Failure body and set q->status. causes may be NULL (stolen). */
void ks_status(struct ks_req *q, int code, const char *reason, const char *msg, json_t *details);
json_t *ks_details(const struct ks_resource *r, const char *name, int kind_is_kind);
void ks_send_obj(struct ks_req *q, int code, const json_t *o);

/* --- Table answers (table.c) ------------------------------------------- */

/* Does the Accept header ask for a meta.k8s.io Table (kubectl get)? */
int ks_wants_table(const char *accept);
/* Answer a Table of v[0..n) (or of the single object one) in q. */
void ks_table(struct ks_req *q, const struct ks_resource *r, struct ks_obj **v, size_t n,
	      const json_t *one, const char *list_rv, const char *cont);

/*
 * One watch event's object as a Table of one row (kubectl get -w asks for
 * Tables): the first event of a stream carries the column definitions,
 * later ones do not (the API server's watch with NoHeaders).  New ref.
 */
json_t *ks_table_event(const struct ks_resource *r, const json_t *o, int with_columns);

/* --- watch (watch.c) ---------------------------------------------------- */

struct ks_watch;

/*
 * Start a watch for q (lock held): sets q->watch, or answers an error
 * (422 for options the API server refuses).  ns NULL = all namespaces.
 */
void ks_watch_begin(struct ks_req *q, const struct ks_resource *r, const char *ns);
/* The connection's socket, polled for the client going away (-1 = unknown). */
void ks_watch_set_fd(struct ks_watch *w, int fd);
/*
 * Next bytes of the event stream, written to out (at most max); called
 * from the connection's thread without the lock.  Blocks until there is
 * something to send.  Returns the bytes written, -1 at the end of the
 * stream (timeoutSeconds, a dropped slow watcher, an ERROR sent, shutdown),
 * -2 when the client has gone.
 */
long ks_watch_read(struct ks_watch *w, char *out, size_t max);
/* Unregister and free (takes the lock itself). */
void ks_watch_free(struct ks_watch *w);
/* Hand a logged change to every live watch it concerns (lock held). */
void ks_watch_dispatch(const struct ks_change *c);
/* Watch figures for /_sim/stats (lock held): new object. */
json_t *ks_watch_stats(void);

/* --- validation (validate.c) -------------------------------------------- */

/*
 * Check o (a full object of resource r) like the API server's strategy
 * validation.  OUT: *causes gets a new array of {reason, message, field}
 * (empty when valid); the caller owns it.
 */
json_t *ks_validate(const struct ks_resource *r, const json_t *o);
/*
 * Unknown fields of o against r's schema: appends ".spec.x"-style paths
 * to the array unknown (one per field), and duplicate list-map keys as
 * messages ".path: duplicate entries for key [name=\"x\"]" to dups, and
 * values of the wrong JSON type as ".spec.replicas: expected integer, got
 * string" to types.
 */
void ks_schema_check(const struct ks_resource *r, const json_t *o, json_t *unknown, json_t *dups,
		     json_t *types);
/*
 * The fields an update of old into o may not change (immutable.c): new
 * causes array, empty when none.  May normalize o as the API server does
 * (a Service's clusterIPs follow a changed clusterIP).
 */
json_t *ks_validate_update(const struct ks_resource *r, const json_t *old, json_t *o);
/* A LabelSelector as Go's json.Marshal of *metav1.LabelSelector writes it ("null" if absent). */
void ks_selector_json(struct buf *b, const json_t *sel);
/* Format a 422 Invalid message into b from causes. */
void ks_invalid_message(struct buf *b, const struct ks_resource *r, const char *name,
			const json_t *causes);

/* --- server-side apply (ssa.c) ------------------------------------------ */

/* The fieldsV1 set an object's content describes (for managedFields). OUT: new ref. */
json_t *ks_ssa_fieldset(const struct ks_resource *r, const json_t *o);
/*
 * Apply patch (already checked) from manager onto live (NULL = create).
 * OUT: *result the new object (new ref).  Returns 0, or 409 with the
 * Status built into q.
 */
int ks_ssa_apply(struct ks_req *q, const struct ks_resource *r, const json_t *live,
		 const json_t *patch, const char *manager, int force, json_t **result);
/*
 * Merge patch into dst the way server-side apply and strategic merge do:
 * objects recursively, list-maps by key ("$patch":"delete" items drop),
 * null deletes, other lists replace, "$" directive keys ignored.
 */
void ks_ssa_merge(const struct ks_resource *r, json_t *dst, const json_t *patch);
/*
 * Apply a strategic merge patch to dst (smp.c): merge keys and strategies
 * from r's schema, the $patch, $retainKeys, $setElementOrder and
 * $deleteFromPrimitiveList directives.
 */
void ks_smp_apply(const struct ks_resource *r, json_t *dst, const json_t *patch);
/* Record an Update operation by manager over the fields that changed. */
void ks_ssa_update_managed(const struct ks_resource *r, const json_t *old, json_t *o,
			   const char *manager, const char *op);

/* --- controllers (controllers.c) ---------------------------------------- */

void ks_ctl_watch(struct ks_obj *x);  /* put on the controller list */
void ks_ctl_forget(struct ks_obj *x); /* before ks_store_del */
int ks_ctl_start(void);
void ks_ctl_stop(void);
/* Emit an Event about obj (lock held). */
void ks_event(const json_t *obj, const char *type, const char *reason, const char *msg);
/* Object deletion with its dependents (lock held). */
void ks_delete_cascade(struct ks_obj *x);
/* Namespaces: start termination (lock held). */
void ks_ns_terminate(struct ks_obj *x);
/* Defaults and status a newly created object gets (lock held). */
void ks_ctl_on_create(const struct ks_resource *r, json_t *o, int ready);
/*
 * Where the ingress sends host (lock held): -1 no Ingress has it; 0 its
 * store is not ready, or runs no replica (no endpoints: 503); 1 ready
 * (ns_out: its namespace); 2 the rule's backend is an ExternalName
 * Service: ext_out is its externalName, *ext_port the Service's port.
 */
int ks_ingress_ready(const char *host, char *ns_out, size_t n, char *ext_out, size_t next,
		     int *ext_port);

/* --- cluster DNS for ExternalName backends, and the proxy to them (dns.c) --- */

/* --dns NAME=127.x.x.x:PORT: one record (0, or -1 with e). */
int ks_dns_add(const char *spec, struct err *e);

/* One proxied answer: status, the headers passed on, the body (inside raw). */
struct ks_proxied {
	int status;
	char ctype[128], retry_after[32];
	const char *body;
	size_t len;
	char *raw; /* malloc'd: ks_proxied_release */
};

/*
 * Forward method url with Host host to what name resolves to (no lock
 * needed).  0 with *out, or -1 with e (502 no record or no HTTP answer,
 * 504 timeout); release *out either way.
 */
int ks_dns_proxy(const char *name, int port, const char *method, const char *url, const char *host,
		 struct ks_proxied *out, struct err *e);
void ks_proxied_release(struct ks_proxied *p);

/* --- WooCommerce behind the ingress (woo.c) ------------------------------- */

struct MHD_Connection;
/*
 * The ingress's /wp-json/ requests (an MHD access handler's arguments and
 * result, MHD_YES/MHD_NO; takes ks_lock itself).
 */
int ks_woo_ingress(struct MHD_Connection *c, const char *url, const char *method,
		   const char *upload, size_t *upload_size, void **ctx);
/* /_sim/woo/<rest> on the API port (lock held; released during a delivery). */
void ks_woo_sim(struct ks_req *q, const char *rest);

/* --- Medusa behind the ingress (medusa.c) --------------------------------- */

/* The ingress's /auth/ and /admin/ requests (as ks_woo_ingress; takes ks_lock itself). */
int ks_medusa_ingress(struct MHD_Connection *c, const char *url, const char *method,
		      const char *upload, size_t *upload_size, void **ctx);
/* /_sim/medusa/<rest> on the API port (lock held). */
void ks_medusa_sim(struct ks_req *q, const char *rest);

/* --- cert-manager (certmanager.c) ---------------------------------------- */

/* One controller step for a Certificate (lock held): 1 = look again, 0 = done. */
int ks_cert_step(struct ks_obj *x, int64_t now);
/* The same for an Issuer or ClusterIssuer: Ready at once. */
int ks_issuer_step(struct ks_obj *x, int64_t now);

/* --- faults (faults.c) -------------------------------------------------- */

enum ks_fault_type {
	KF_IMAGE_PULL,
	KF_CRASH_LOOP,
	KF_JOB_FAIL,
	KF_PVC_PENDING,
	KF_NS_STUCK,
	KF_QUOTA,
	KF_HTTP_ERROR,
	KF_LATENCY,
	KF_RESET,
	KF_STALL,
	KF_CERT_RATE_LIMIT, /* cert-manager: Let's Encrypt's rate limit (certmanager.c) */
	KF_CERT_CHALLENGE,  /* cert-manager: the HTTP-01 challenge fails */
	KF_CERT_DNS,	    /* cert-manager: the domain does not resolve */
	KF_NTYPES
};

/* Add a fault from its JSON spec. Returns the id, or -1 with e filled (400). */
int ks_fault_add(const json_t *spec, struct err *e);
int ks_fault_add_str(const char *spec, struct err *e);
void ks_fault_clear(void);
int ks_fault_del(int id);
/* Is a workload fault of type t active for namespace ns (does not consume). */
int ks_fault_active(enum ks_fault_type t, const char *ns);
/* The same for one pod's workload fault, honouring a fault's image/name match. */
int ks_fault_active_pod(enum ks_fault_type t, const char *ns, const json_t *pod);
/*
 * Transport faults for one request: sleep (latency/stall, outside the
 * lock), then decide.  Returns 0 to go on, 1 to drop the connection, or
 * an HTTP status (429/500/503) with retry_after (seconds, 0 = none).
 */
int ks_fault_request(const char *method, const char *ns, int *retry_after);

/* --- quantities (quantity.c) ------------------------------------------- */

__extension__ typedef __int128 ks_int128;

enum { KS_QTY_DECIMAL_SI, KS_QTY_BINARY_SI, KS_QTY_DECIMAL_EXPONENT };

/* A resource.Quantity: v nano-units, printed in format fmt. */
struct ks_qty {
	ks_int128 v;
	int fmt;
};

/*
 * Parse s as ParseQuantity does.  Returns 0, or -1 with *why the API
 * server's message (a static string).
 */
int ks_qty_parse(const char *s, struct ks_qty *q, const char **why);
/* A JSON string or number as a quantity: 0, or -1 (q is zero). */
int ks_qty_of(const json_t *v, struct ks_qty *q);
/* Append q's canonical text ("5Gi", "500m", "0") to b. */
void ks_qty_format(const struct ks_qty *q, struct buf *b);
/* The same into out (n bytes); returns out. */
const char *ks_qty_str(const struct ks_qty *q, char *out, size_t n);
/* a += b; a takes b's format when a is zero (Quantity.Add). */
void ks_qty_add(struct ks_qty *a, const struct ks_qty *b);
int ks_qty_cmp(const struct ks_qty *a, const struct ks_qty *b);
/*
 * Rewrite every quantity of o (per r's schema) in its canonical text, as
 * the API server stores them ("1.5Gi" -> "1536Mi", 2 -> "2").  Returns 0,
 * or -1 with *why the parse error of the first bad one.
 */
int ks_qty_canonicalize(const struct ks_resource *r, json_t *o, const char **why);

/* --- admission: StorageClasses (storage.c) ------------------------------- */

/* DefaultStorageClass: a new claim without spec.storageClassName gets the default class. */
void ks_pvc_default_class(json_t *pvc);
/*
 * PersistentVolumeClaimResize: 0 when the update of claim name (old -> o)
 * does not grow it or its class allows expansion; else -1 with the 403
 * message in msg.
 */
int ks_pvc_resize_admit(const char *name, const json_t *o, const json_t *old, struct buf *msg);

/* --- admission: LimitRange defaults and ResourceQuota (quota.c) --------- */

/*
 * Mutating admission of a pod about to be created in ns: requests
 * default to limits, then the namespace's LimitRange container defaults
 * (and the kubernetes.io/limit-ranger annotation).
 */
void ks_pod_defaults(const char *ns, json_t *pod);
/*
 * ResourceQuota admission of a create (old NULL) or update of obj, a
 * resource r in ns.  Returns 0, or -1 with the whole Forbidden message in
 * msg (pods "web-" is forbidden: exceeded quota: ...).  name is the
 * name the message shows (generateName for a generated one).
 */
int ks_quota_admit(const struct ks_resource *r, const char *ns, const char *name, const json_t *obj,
		   const json_t *old, struct buf *msg);
/* Something in ns changed: its quotas' status.used is recomputed at the next sync. */
void ks_quota_touch(const char *ns);
/* Bring status.hard/used of the quotas of touched namespaces up to date (lock held). */
void ks_quota_sync(void);

/* --- stats (api.c) ------------------------------------------------------- */

void ks_stats_count(const char *verb, const char *resource);
void ks_stats_created(const char *kind);

/* --- TLS material (tls.c) ----------------------------------------------- */

struct ks_pki {
	char *ca_crt, *ca_key, *server_crt, *server_key, *client_crt, *client_key; /* PEM */
};

int ks_tls_generate(struct ks_pki *p, struct err *e);
void ks_tls_free(struct ks_pki *p);
/* Does the TLS session carry a client certificate the CA signed? */
int ks_tls_client_ok(void *gnutls_session);

#endif
