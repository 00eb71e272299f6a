/* storehttp.h - HTTP to a store through its ingress: one client, timeouts, caps and errors. */
#ifndef SF_STOREHTTP_H
#define SF_STOREHTTP_H

#include <stddef.h>

#include "arena.h"
#include "err.h"

/*
 * Reconcile talks to a store's own HTTP in two ways, both through
 * config.ingress_address with the store's Host header, the way a browser
 * reaches it: the readiness probe (GET of the engine's paths: only the
 * status counts), WooCommerce's REST API (signed JSON requests:
 * reconcile_webhooks.c) and Medusa's admin API (a bearer token:
 * reconcile_medusa.c).  Both go through here, so both get the same
 * connect and total timeouts, the same cap on what a store may send back
 * and the same words for what went wrong.  One curl handle per client,
 * made on first use and reused (keep-alive); the fleet is the only layer
 * that links libcurl.
 */
#define STOREHTTP_CONNECT_MS 2000
#define STOREHTTP_TIMEOUT_MS 5000
#define STOREHTTP_BODY_MAX   (256 * 1024) /* bytes of an answer read, kept or not */

struct storehttp;

/* A client (never NULL: out of memory aborts); free with storehttp_free. */
struct storehttp *storehttp_new(void);
void storehttp_free(struct storehttp *h); /* NULL is fine */

/*
 * The ingress address requests go to when they name none (rq->ingress
 * NULL): a store's cluster's (copied; NULL = config.ingress_address again).
 */
void storehttp_set_ingress(struct storehttp *h, const char *ingress);

struct storehttp_req {
	const char *method;	   /* NULL = GET */
	const char *host;	   /* the store's host name: the Host header */
	const char *target;	   /* path and query from '/', appended to the ingress address */
	const char *ingress;	   /* the store's cluster's ingress address; NULL = config's */
	const char *body;	   /* JSON to send (Content-Type: application/json), or NULL */
	const char *authorization; /* the Authorization header's value, or NULL (never logged) */
	int read_json; /* 1: a JSON answer is wanted (Accept) and kept; 0: only the status */
};

struct storehttp_answer {
	long status;	  /* the HTTP status */
	const char *body; /* read_json: the answer (arena, NUL-terminated); else "" */
	size_t len;
};

/*
 * One request.  0 when an answer arrived, whatever its status (an answer
 * longer than STOREHTTP_BODY_MAX counts when only its status is wanted);
 * -1 with e (502) when none did, e->msg saying why in a few words (curl's
 * text, "the answer is too large"), for the caller to put after what it
 * was doing.
 */
int storehttp_request(struct storehttp *h, struct arena *a, const struct storehttp_req *rq,
		      struct storehttp_answer *ans, struct err *e);

#endif
