/* reconcile_domain.h - custom domains in reconcile: DNS verification, expiry, Ingress hosts, certificates. */
#ifndef SF_RECONCILE_DOMAIN_H
#define SF_RECONCILE_DOMAIN_H

#include "err.h"

struct reconcile;

/*
 * Once per pass, after the stores (never a pass error: the caller logs a
 * failure and the next pass tries again).  In order:
 *
 *  - the domains of deleted stores are released (their namespace, with the
 *    Ingress and Certificates in it, is gone);
 *  - pending claims past expires_at, or older than domain_claim_ttl as
 *    reconcile has it (a shortened setting applies at once), are removed
 *    (audit domain.expire, an
 *    event on the store);
 *  - pending claims due (next_check_at; domain_check_interval apart) are
 *    looked up in DNS (dnsq.h): the TXT record _storefleet-challenge.<domain>
 *    must hold the claim's token, and the domain must be a CNAME to the
 *    store's host (or domain_ingress_host), or have A/AAAA records all of
 *    which are the target's addresses or in domain_ingress_ips.  Then the
 *    claim is verified (audit domain.verify) or keeps what was found, in
 *    plain words, in check_message.  A name verified meanwhile for another
 *    store stays with it (the unique index decides).
 *
 * Claims are taken with FOR UPDATE SKIP LOCKED and next_check_at moved
 * first, so concurrent reconcilers never look the same claim up twice.
 * OUT: *changed how many rows changed.  0, or -1 with e.
 */
int reconcile_domains(struct reconcile *r, int *changed, struct err *e);

#endif
