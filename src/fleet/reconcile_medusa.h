/* reconcile_medusa.h - reconcile's part in Medusa stores: the storefront's publishable API key read
 * back from the store. */
#ifndef SF_RECONCILE_MEDUSA_H
#define SF_RECONCILE_MEDUSA_H

#include <stddef.h>

#include "arena.h"
#include "err.h"
#include "storehttp.h"

/*
 * A Medusa store's setup Job (charts/medusa/image/src/scripts/setup.ts)
 * creates the publishable API key MEDUSA_KEY_TITLE on the default sales
 * channel: what a storefront sends as x-publishable-api-key with every
 * Store API request.  It is made inside the store, so storefleet learns it
 * the way a person would: signed in to the store's admin API as the store's
 * admin (the email and the password reconcile sealed into the row), through
 * the ingress like the readiness probe.  It is not a secret: the web app
 * shows it in clear (stores.publishable_key, sql/010_medusa_key.sql).
 */
#define MEDUSA_KEY_TITLE "Storefront"
#define MEDUSA_KEY_MAX	 250 /* characters after "pk_" (Medusa makes 64 hex digits) */

/*
 * Read the key from the Medusa store answering for host (the Host header;
 * the requests go to config.ingress_address through http), signed in as
 * email with password, in two requests, Medusa v2's own:
 *
 *   POST /auth/user/emailpass {"email","password"}
 *        -> 200 {"token": JWT}   (401 {"type":"unauthorized",...} when refused)
 *   GET  /admin/api-keys?type=publishable&title=Storefront&fields=...
 *        Authorization: Bearer JWT
 *        -> 200 {"api_keys":[{"id","title","token","type","revoked_at"}],"count",...}
 *
 * and take the token of the first key titled MEDUSA_KEY_TITLE that is
 * publishable and not revoked, if it reads "pk_" and 1 to MEDUSA_KEY_MAX
 * of [A-Za-z0-9_-].  OUT: *key (a's).  0, or -1 with why filled (a short
 * sentence for the log and the store's activity: "METHOD PATH: what went
 * wrong"; it never holds the password or the session token).
 */
int medusa_read_key(struct storehttp *http, struct arena *a, const char *host, const char *email,
		    const char *password, const char **key, char *why, size_t n);

/*
 * The two answers read (outside input: tests/fuzz/fuzz-medusa.c): status
 * and body of the sign-in, OUT *token (JSON kept by a) when it is 200 with
 * a "token" of 1 to 4000 characters of [A-Za-z0-9._-] (a JWT; anything else
 * cannot go into a header); status and body of the keys' list, OUT *key as
 * medusa_read_key says.  0, or -1 with why (never any part of the body).
 */
int medusa_login_answer(struct arena *a, long status, const char *body, size_t len,
			const char **token, char *why, size_t n);
int medusa_keys_answer(struct arena *a, long status, const char *body, size_t len, const char **key,
		       char *why, size_t n);

/*
 * For ready Medusa stores without a publishable_key whose last try is older
 * than config.store_api_retry (never tried: at once, so a store that just
 * became ready gets its key in the same pass; at most a few per call,
 * claimed with SKIP LOCKED so concurrent reconcilers share them), open the
 * sealed admin password and medusa_read_key.  The key is saved (and the
 * info event "publishable API key read from the store" written when a
 * failure had been reported); a failure is
 * logged and reported as a warn event once until its reason changes, and
 * tried again on a later pass.  Neither ever changes the store's status.
 * Nothing to do without ingress_address or secret_key.  OUT: *checked
 * stores looked at.  -1 with e only when the database fails.
 */
int reconcile_medusa_keys(struct arena *a, struct storehttp *http, int *checked, struct err *e);

#endif
