/* reconcile_webhooks.h - reconcile's part in WooCommerce webhooks: keep the secrets, re-enable disabled ones. */
#ifndef SF_RECONCILE_WEBHOOKS_H
#define SF_RECONCILE_WEBHOOKS_H

#include <jansson.h>

#include "arena.h"
#include "err.h"
#include "storehttp.h"

/*
 * The webhook secret and the REST API key are generated once with the
 * store's other credentials (they are secrets of the woocommerce chart)
 * and live in the store's Secret; the web app, which never talks to
 * Kubernetes, needs the webhook secret to check signatures, and the
 * periodic check below needs the key.  So both are sealed (seal.h, under
 * config secret_key) into stores.webhook_secret / woo_api_key.
 */

/*
 * Record the sealed copies for store id from creds (the decoded credentials:
 * webhook_secret, api_consumer_key, api_consumer_secret) unless the row
 * has them already.  Engines other than woocommerce, credentials without
 * those keys, or no secret_key: nothing to do (0).  -1 with e on a
 * database or sealing error.
 */
int reconcile_webhooks_keep(struct arena *a, const char *id, const char *engine,
			    const json_t *creds, struct err *e);

/*
 * WooCommerce disables a webhook after 5 failed deliveries in a row (our
 * endpoint down for a while is enough).  For ready WooCommerce stores whose
 * last check is older than config.webhook_check_interval (at most a few
 * per call, claimed with SKIP LOCKED so concurrent reconcilers share them),
 * ask the store's REST API through the ingress with http (storehttp.h,
 * the readiness probe's client) for its disabled webhooks, signed with
 * OAuth 1.0a using the store's key, and PUT {"status":"active"} on each
 * storefleet-* one, with the event "webhook
 * order.created re-enabled (WooCommerce had disabled it)".  A failure never
 * changes the store's status: it is logged, and reported as a warn event
 * once until it changes or the check works again.  OUT: *checked stores
 * looked at.  -1 with e only when the database fails.
 */
int reconcile_webhooks_check(struct arena *a, struct storehttp *http, int *checked, struct err *e);

/*
 * Forget deliveries older than WEBHOOK_KEEP_DAYS (30), at most a batch per
 * call and a call an hour per process (the next pass again while full
 * batches come back), so webhook_deliveries stays bounded however busy
 * the stores are without a DELETE on every pass.
 * order.created rows stay: they are what keeps an order counted once.  A
 * product delivery replayed after 30 days is recorded again, as an extra
 * line in the activity log and nothing else.  OUT: *deleted rows.
 */
#define WEBHOOK_KEEP_DAYS 30
int reconcile_webhooks_prune(struct arena *a, int *deleted, struct err *e);

#endif
