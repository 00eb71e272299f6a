/* dnsname.h - a custom domain as the owner typed it, made into the one name DNS and TLS use. */
#ifndef SF_DNSNAME_H
#define SF_DNSNAME_H

#include "arena.h"
#include "err.h"

/*
 * A store's custom domain (docs/stores.md "Custom domains") is stored and
 * compared in one form only: lower-case ASCII, the IDNA A-labels
 * ("xn--...") of a name typed in Unicode, no trailing dot.  The web app
 * (claims), storefleetctl and reconcile (DNS, Ingress, Certificate) all go
 * through dnsname_normalize, so "Shop.Example.COM.", "shop.example.com"
 * and, for an IDN, its Unicode and its punycode spelling are one claim.
 */

#define DNSNAME_MAX	 253 /* octets of the ASCII name, without the trailing dot */
#define DNSNAME_LABEL_MAX 63
#define DNSNAME_INPUT_MAX 1024 /* bytes of input looked at; longer is refused */

/*
 * Normalise in (UTF-8, as typed) into *ascii (the A-label form) and
 * *unicode (the same name for people, U-labels; equal to *ascii when the
 * name is plain ASCII), both arena strings.  platform is the platform's own
 * store domain (config.domain): it and every name under it are refused, as
 * are IP addresses, wildcards, a single label, labels over 63 octets, names
 * over 253, characters outside letters, digits and hyphens, and names that
 * are not valid IDNA2008 (UTS #46 non-transitional).  0, or -1 with e =
 * 422 and a sentence for the owner naming what is wrong.
 */
int dnsname_normalize(struct arena *a, const char *in, const char *platform, const char **ascii,
		      const char **unicode, struct err *e);

/* 1 when name (normalised) is platform or under it (".platform"), any case; else 0. */
int dnsname_under(const char *name, const char *platform);

#endif
