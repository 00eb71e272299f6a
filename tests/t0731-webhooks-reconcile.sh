#!/bin/bash
# t0731 - webhooks end to end: the setup Job registers them, deliveries land in the activity
# log, reconcile re-enables a webhook WooCommerce disabled (kubesim plays WooCommerce).
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-stores.sh"
. "$SF_ROOT/tests/lib-reconcile.sh"

rc_stack
export SF_COOKIE_SECURE=false
app_start "$T" 2 || bail "cannot start storefleet.fcgi"
nginx_start "$T" || bail "cannot start nginx"
# where WooCommerce delivers: storefleet's public origin (the setup Job's HOOKS_URL)
export SF_PUBLIC_ORIGIN=$BASE SF_WEBHOOK_CHECK_INTERVAL=1
rc_user tenant@example.com >/dev/null
rc_store wooshop7 woocommerce
rc_store medshop7 medusa
NS=store-wooshop7

ok "both stores become ready" rc_until 90 "(SELECT count(*) FROM stores WHERE status = 'ready') = 2"
is "$(rc_sql "SELECT webhook_secret IS NOT NULL AND woo_api_key IS NOT NULL FROM stores WHERE id = 'wooshop7'")" t \
	"the webhook secret and REST API key are sealed in PostgreSQL"
is "$(rc_sql "SELECT webhook_secret IS NULL AND woo_api_key IS NULL FROM stores WHERE id = 'medshop7'")" t \
	"a Medusa store has none"
ws=$(kubectl get secret woocommerce-api -n $NS -o json |
	python3 -c 'import base64,json,sys; s=json.load(sys.stdin)
print(base64.b64decode(s["data"]["webhook-secret"]).decode() if "data" in s else s["stringData"]["webhook-secret"])')
like "$ws" '^[A-Za-z0-9]{32}$' "the webhook secret lives in the store's Secret"
is "$(kubectl get job wordpress-setup -n $NS -o jsonpath='{.spec.template.spec.containers[0].env[?(@.name=="HOOKS_URL")].value}')" \
	"$BASE/hooks/woocommerce/wooshop7" "the setup Job delivers to storefleet's public origin"
is "$(kubectl get job wordpress-setup -n $NS -o jsonpath='{.spec.template.spec.containers[0].env[?(@.name=="WEBHOOK_SECRET")].valueFrom.secretKeyRef.name}')" \
	woocommerce-api "the Job reads the secret by secretKeyRef"

# --- the webhooks the setup Job registered ----------------------------------------------------
sim GET /_sim/woo/$NS/webhooks
hooks() { printf '%s' "$SIM_BODY" | python3 -c 'import json,sys; print(" ".join(h["name"]+"="+h["status"] for h in json.load(sys.stdin)))'; }
is "$(hooks)" "storefleet-order.created=active storefleet-product.created=active storefleet-product.updated=active" \
	"three webhooks, active"
is "$(printf '%s' "$SIM_BODY" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["delivery_url"])')" \
	"$BASE/hooks/woocommerce/wooshop7" "delivery URL"

# --- WooCommerce's REST API answers only a signed request ------------------------------------
host=store-wooshop7.127.0.0.1.nip.io
code=$(curl -s -o "$T/rest.json" -w '%{http_code}' -H "Host: $host" "$KUBESIM_INGRESS/wp-json/wc/v3/webhooks")
is "$code|$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["code"])' "$T/rest.json")" \
	"401|woocommerce_rest_cannot_view" "unsigned REST request -> 401"
code=$(curl -s -o "$T/rest.json" -w '%{http_code}' -H "Host: $host" \
	"$KUBESIM_INGRESS/wp-json/wc/v3/webhooks?oauth_consumer_key=nope&oauth_signature=x")
is "$code" 401 "a wrong key -> 401"

# --- a delivery from the store lands in the activity log --------------------------------------
sim POST /_sim/woo/$NS/deliver '{"topic":"order.created","body":{"id":501,"number":"501","status":"processing","line_items":[{"quantity":3},{"quantity":1}]}}'
is "$(printf '%s' "$SIM_BODY" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')" 200 \
	"the signed delivery is accepted"
is "$(rc_sql "SELECT message FROM store_events WHERE store_id = 'wooshop7' AND step = 'webhook' ORDER BY id DESC LIMIT 1")" \
	"order #501 created, 4 items" "activity log: order #501 created, 4 items"
is "$(rc_sql "SELECT orders_seen FROM stores WHERE id = 'wooshop7'")" 1 "orders_seen 1"
sim POST /_sim/woo/$NS/deliver '{"topic":"product.updated","body":{"id":45,"name":"Sample T-shirt"}}'
is "$(rc_sql "SELECT message FROM store_events WHERE store_id = 'wooshop7' AND step = 'webhook' ORDER BY id DESC LIMIT 1")" \
	'product #45 "Sample T-shirt" updated' "activity log: product updated"

# --- WooCommerce disables one; reconcile turns it back on --------------------------------------
sim POST /_sim/woo/$NS/webhooks/1 '{"status":"disabled"}'
sim POST /_sim/woo/$NS/deliver '{"topic":"order.created","body":{"id":502,"line_items":[]}}'
like "$SIM_BODY" '"code":409' "a disabled webhook delivers nothing"
reenabled="SELECT count(*) FROM store_events WHERE store_id = 'wooshop7' AND message = 'webhook order.created re-enabled (WooCommerce had disabled it)'"
ok "a reconcile pass re-enables it" rc_until 30 "($reenabled) = 1"
sim GET /_sim/woo/$NS/webhooks
is "$(hooks)" "storefleet-order.created=active storefleet-product.created=active storefleet-product.updated=active" \
	"all three active again"
sim POST /_sim/woo/$NS/deliver '{"topic":"order.created","body":{"id":503,"line_items":[{"quantity":1}]}}'
is "$(rc_sql "SELECT orders_seen FROM stores WHERE id = 'wooshop7'")" 2 "and orders arrive again"
is "$(rc_status wooshop7)" ready "the store stayed ready"

# --- a failing check is reported once and never changes the status -----------------------------
rc_sql "UPDATE stores SET woo_api_key = decode('$(seal_hex "$RC_KEY" "wrongkey wrongsecret")', 'hex') WHERE id = 'wooshop7'" >/dev/null
sim POST /_sim/woo/$NS/webhooks/2 '{"status":"disabled"}'
failed="SELECT count(*) FROM store_events WHERE store_id = 'wooshop7' AND level = 'warn' AND message LIKE 'cannot check the store''s webhooks:%refused storefleet''s key (HTTP 401)'"
ok "the refused key is reported" rc_until 30 "($failed) = 1"
passes=$(rc_sql "SELECT count(*) FROM reconcile_runs")
rc_until 20 "(SELECT count(*) FROM reconcile_runs) >= $passes + 3 AND (SELECT webhooks_checked_at > now() - interval '2 seconds' FROM stores WHERE id = 'wooshop7')"
is "$(rc_sql "$failed")" 1 "the same failure is not reported again"
is "$(rc_status wooshop7)" ready "the store is still ready"

# --- deliveries older than 30 days are forgotten, orders are not -----------------------------------
rc_sql "UPDATE webhook_deliveries SET received_at = now() - interval '31 days' WHERE store_id = 'wooshop7'"
old=$(rc_sql "SELECT count(*) FROM webhook_deliveries WHERE topic <> 'order.created'")
like "$old" '^[1-9]' "$old old non-order deliveries to forget"
ok "a pass forgets them" rc_until 20 "(SELECT count(*) FROM webhook_deliveries WHERE topic <> 'order.created') = 0"
is "$(rc_sql "SELECT count(*) FROM webhook_deliveries WHERE topic = 'order.created'")" 2 \
	"the two orders stay, so they are still counted once"
like "$(cat "$T/reconcile.log")" "$old webhook deliveries older than 30 days forgotten" "reconcile says so"

done_testing
