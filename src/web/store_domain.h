/* store_domain.h - a store's custom domains for the web: claim, list, remove (sql/015_domains.sql). */
#ifndef SF_STORE_DOMAIN_H
#define SF_STORE_DOMAIN_H

#include "arena.h"
#include "err.h"
#include "store.h"
#include "view.h"

/*
 * The web app records claims only; storefleet-reconcile verifies them in
 * DNS, puts verified domains on the store's Ingress and asks cert-manager
 * for their certificates (docs/stores.md "Custom domains").  Every function
 * takes the asker and finds the store with the ownership condition, so
 * another tenant's store answers 404 STORE_NOT_FOUND like a missing one.
 */

#define STORE_DOMAIN_NOT_FOUND "This store has no such domain."
#define STORE_DOMAIN_TXT_PREFIX "_storefleet-challenge."

/*
 * The view of one domain: {domain (the normal ASCII form), display (for
 * people, Unicode for an IDN), status (pending | verified | removing),
 * dns: {txt_name, txt_value, cname_target}, created_at, expires_at (pending
 * only, else null), verified_at, checked_at, check_message, certificate:
 * {state (none | requested | issued | failed), message, not_after}}.
 * store_domain_list gives them all, oldest first; 0 or -1 with e (404).
 */
int store_domain_list(struct arena *a, const struct store_who *who, const char *id,
		      struct view **domains, struct err *e);

/* One domain of store id by any spelling of its name: 0, or -1 with e 404 (store or domain). */
int store_domain_get(struct arena *a, const struct store_who *who, const char *id,
		     const char *domain, struct view **out, struct err *e);

/*
 * Claim domain (as typed) for store id: normalised (dnsname.h), then in one
 * transaction with the store row locked: refused 409 when the store is
 * being deleted or already has the domain, 422 when the store has
 * domains_per_store domains, or when another store holds it verified ("...
 * is in use by another store"); expired claims on it are swept first.  A
 * new random token, expires_at = now + domain_claim_ttl, an event and the
 * audit row domain.add {domain}.  OUT: *out the new domain's view.
 * Errors: 404, 409, 422 (the message says why), 503.
 */
int store_domain_add(struct arena *a, const struct store_who *who, const char *id,
		     const char *domain, struct view **out, struct err *e);

/*
 * Remove domain (any spelling of it) from store id: a pending claim goes at
 * once, a verified one becomes 'removing' until reconcile has taken its
 * host and certificate away.  An event and the audit row domain.remove
 * {domain, status}.  OUT: *out the domain's view after the change, or
 * NULL when its row is gone.  Errors: 404 store or domain, 409 already
 * being removed.
 */
int store_domain_remove(struct arena *a, const struct store_who *who, const char *id,
			const char *domain, struct view **out, struct err *e);

#endif
