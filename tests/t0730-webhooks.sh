#!/bin/bash
# t0730 - POST /hooks/woocommerce/{id} through nginx: ping, signed deliveries, replays, bad input.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-stores.sh"
. "$SF_ROOT/tests/lib-webhooks.sh"

KEY=$(printf '%064x' 42)
SECRET='wh-Secret-0123456789abcdefXYZ'
export SF_SECRET_KEY=$KEY SF_LOG_LEVEL=debug
sf_stack
a=$(user_token a@example.com) || bail "no token"
seed_stores a@example.com 4 ready >/dev/null
woo=$(q "select id from stores where engine = 'woocommerce' order by id limit 1")
other=$(q "select id from stores where engine = 'woocommerce' and id <> '$woo' order by id limit 1")
medusa=$(q "select id from stores where engine = 'medusa' order by id limit 1")
q "update stores set webhook_secret = decode('$(seal_hex "$KEY" "$SECRET")', 'hex') where id in ('$woo', '$other')" >/dev/null
q "update stores set status = 'deleted', desired = 'absent' where id = '$other'" >/dev/null

events() { q "select count(*) from store_events where store_id = '$woo' and step = 'webhook'"; }
orders() { q "select orders_seen from stores where id = '$woo'"; }

# --- the creation ping: unsigned, form-encoded, answered 200 ---------------------------------
NOCOOKIES=1 http POST "/hooks/woocommerce/$woo" -H 'Content-Type: application/x-www-form-urlencoded' \
	-H 'User-Agent: WooCommerce/9.8.5 Hookshot (WordPress/6.8.1)' --data-binary 'webhook_id=7'
is "$STATUS|$(json_get 'j["result"]')|$(json_get 'j["recorded"]')" "200|ping|True" "ping -> 200"
is "$(q "select message from store_events where store_id = '$woo' and step = 'webhook'")" \
	"webhook 7 connected" "ping: event 'webhook 7 connected'"
NOCOOKIES=1 http POST "/hooks/woocommerce/$woo" --data-binary 'webhook_id=7'
is "$STATUS|$(json_get 'j["recorded"]')|$(events)" "200|False|1" "the same ping again: 200, recorded once"

# --- a valid order.created ----------------------------------------------------------------------
printf '%s' '{"id":123,"parent_id":0,"number":"123","status":"processing","currency":"EUR","total":"39.98","line_items":[{"id":1,"name":"Sample T-shirt","product_id":45,"quantity":2,"total":"39.98","meta_data":[]}],"meta_data":[]}' >"$T/order.json"
DELIVERY=d-1 wc_deliver "$woo" order.created "$T/order.json" "$SECRET"
is "$STATUS|$(json_get 'j["result"]')" "200|recorded" "signed order.created -> 200 recorded"
is "$(q "select message from store_events where store_id = '$woo' and step = 'webhook' order by id desc limit 1")" \
	"order #123 created, 2 items" "the activity log says 'order #123 created, 2 items'"
is "$(orders)|$(q "select last_webhook_at > now() - interval '1 minute' from stores where id = '$woo'")" "1|t" \
	"orders_seen 1, last_webhook_at now"

# --- replays: recorded once ---------------------------------------------------------------------
DELIVERY=d-1 wc_deliver "$woo" order.created "$T/order.json" "$SECRET"
is "$STATUS|$(json_get 'j["result"]')|$(events)|$(orders)" "200|duplicate|2|1" \
	"the same delivery again: 200, nothing recorded twice"
DELIVERY=d-forged wc_deliver "$woo" order.created "$T/order.json" "$SECRET"
is "$STATUS|$(json_get 'j["recorded"]')|$(events)|$(orders)" "200|False|2|1" \
	"the same body with another Delivery-ID (the header is not signed): still once"
printf '%s' '{"id":123,"number":"123","status":"on-hold","line_items":[{"quantity":2}]}' >"$T/order-b.json"
wc_deliver "$woo" order.created "$T/order-b.json" "$SECRET"
is "$STATUS|$(events)|$(orders)" "200|2|1" "order 123 announced again with another body: counted once"

printf '%s' '{"id":124,"number":"124","line_items":[{"quantity":1},{"quantity":4}]}' >"$T/order2.json"
sig=$(wc_sign "$SECRET" "$T/order2.json") pids=()
for i in 1 2 3 4 5 6 7 8; do
	curl -s -o "$T/c$i.out" -w '%{http_code}\n' -H 'X-WC-Webhook-Topic: order.created' \
		-H 'X-WC-Webhook-Delivery-ID: same' -H "X-WC-Webhook-Signature: $sig" \
		--data-binary @"$T/order2.json" "$BASE/hooks/woocommerce/$woo" >"$T/c$i.code" &
	pids+=($!)
done
wait "${pids[@]}"
is "$(cat "$T"/c?.code | sort | uniq -c | tr -s ' ')" " 8 200" "8 concurrent copies: every one 200"
is "$(grep -l '"recorded":true' "$T"/c?.out | wc -l)" 1 "exactly one answered recorded"
is "$(events)|$(orders)" "3|2" "8 concurrent copies of one delivery: recorded once"
is "$(q "select count(*) from webhook_deliveries where store_id = '$woo' and resource_id = 124")" 1 \
	"one delivery row"

# --- products and other topics --------------------------------------------------------------------
printf '%s' '{"id":45,"name":"Sample T-shirt","sku":"SF-SAMPLE-1","price":"19.99"}' >"$T/product.json"
wc_deliver "$woo" product.created "$T/product.json" "$SECRET"
is "$STATUS|$(q "select message from store_events where store_id = '$woo' order by id desc limit 1")" \
	'200|product #45 "Sample T-shirt" created' "product.created -> event"
printf '%s' '{"id":45,"name":"<b>Bold</b> shirt","price":"24.99"}' >"$T/product2.json"
wc_deliver "$woo" product.updated "$T/product2.json" "$SECRET"
is "$STATUS|$(q "select message from store_events where store_id = '$woo' order by id desc limit 1")" \
	'200|product #45 "<b>Bold</b> shirt" updated' "product.updated -> event"
printf '%s' '{"id":9,"code":"SAVE10"}' >"$T/coupon.json"
before=$(events)
wc_deliver "$woo" coupon.created "$T/coupon.json" "$SECRET"
is "$STATUS|$(json_get 'j["result"]')|$(events)" "200|ignored|$before" \
	"a valid but unrecorded topic: 200 ignored (WooCommerce disables webhooks that fail)"
ok "the ignored topic is logged at debug level" grep -q "topic 'coupon.created' ignored" "$T/app.log"

# --- the store page and JSON ---------------------------------------------------------------------
api GET "/api/v1/stores/$woo" "$a"
is "$(json_get 'j["store"]["orders_seen"]')" 2 "store JSON: orders_seen"
like "$(json_get 'j["store"]["last_webhook_at"]')" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' \
	"store JSON: last_webhook_at in RFC 3339 UTC"
jar=$T/jar
is "$(browser_login a@example.com "$jar")" 303 "owner signs in"
page "$jar" GET "/stores/$woo"
like "$BODY" '<dd id="orders-seen">2</dd>' "store page: orders seen"
like "$BODY" '<dd id="last-webhook"><time [^>]*datetime="[0-9T:Z-]+"' "store page: last event time"
like "$BODY" '&lt;b&gt;Bold&lt;/b&gt; shirt' "store page: a product name from WooCommerce is escaped"
page "$jar" GET "/stores/$medusa"
unlike "$BODY" 'orders-seen' "a Medusa store's page has no webhook block"

# --- bad signatures: 401, audited, nothing recorded ---------------------------------------------
before=$(events)
printf '%s' '{"id":999,"line_items":[{"quantity":1}]}' >"$T/forged.json"
wc_deliver "$woo" order.created "$T/forged.json" "not-the-secret"
is "$STATUS|$(json_get 'j["error"]["code"]')" "401|bad_signature" "wrong secret -> 401 {error}"
wc_deliver "$woo" order.created "$T/forged.json" ""
is "$STATUS" 401 "no signature -> 401"
wc_deliver "$woo" order.created "$T/forged.json" "" -H 'X-WC-Webhook-Signature: AAAA'
is "$STATUS" 401 "a malformed signature header -> 401"
cp "$T/order.json" "$T/tampered.json"
sig=$(wc_sign "$SECRET" "$T/order.json")
sed -i 's/"quantity":2/"quantity":20/' "$T/tampered.json"
NOCOOKIES=1 http POST "/hooks/woocommerce/$woo" -H 'X-WC-Webhook-Topic: order.created' \
	-H "X-WC-Webhook-Signature: $sig" --data-binary @"$T/tampered.json"
is "$STATUS" 401 "a tampered body under a captured signature -> 401"
is "$(events)|$(orders)" "$before|2" "nothing recorded for any of them"
is "$(q "select count(*) from audit_log where action = 'webhook.bad_signature' and target = '$woo' and ip = '127.0.0.1' and actor_id is null")" \
	4 "each audited: webhook.bad_signature, the store, the address"
is "$(q "select string_agg(details->>'reason', ',' order by id) from audit_log where action = 'webhook.bad_signature'")" \
	"wrong,missing,wrong,wrong" "the audit says why"
nok "the audit rows hold neither body nor secret" \
	grep -q . <(q "select 1 from audit_log where details::text like '%999%' or details::text like '%$SECRET%'")
nok "the log holds neither body nor secret" grep -Eq "$SECRET|\"id\":999" "$T/app.log"

# --- a store that cannot verify (no secret recorded: every store when SF_PUBLIC_ORIGIN is unset)
# answers as for a wrong signature: 401, audited, never a 5xx; the log is rationed ----------------
seed_stores a@example.com 1 ready >/dev/null
nosecret=$(q "select id from stores where engine = 'woocommerce' and webhook_secret is null and status = 'ready' limit 1")
[ -n "$nosecret" ] || bail "no WooCommerce store without a webhook secret"
codes=""
for i in $(seq 1 30); do
	wc_deliver "$nosecret" order.created "$T/forged.json" "made-up-$i"
	codes="$codes $STATUS"
done
is "$(echo $codes | tr ' ' '\n' | sort | uniq -c | sed 's/^ *//')" "30 401" \
	"30 forged deliveries to a store without a secret: 30 times 401, not 503"
is "$(json_get 'j["error"]["code"]')" bad_signature "... with the code of a wrong signature"
is "$(q "select count(*) from audit_log where action = 'webhook.bad_signature' and target = '$nosecret'")" 30 \
	"... each one audited"
refused=$(grep -c "hook: store $nosecret: webhook refused" "$T/app.log")
ok "... while the log holds at most 10 lines a minute per worker ($refused for 30, 2 workers)" \
	test "$refused" -ge 1 -a "$refused" -le 20
unlike "$(cat "$T/app.log")" "store $nosecret: a signed delivery, but" "... and no warning per request"

# --- hostile JSON, correctly signed: 400, nothing recorded --------------------------------------
before=$(events)
python3 -c 'import sys; sys.stdout.write("{\"id\":1,\"x\":" + "["*5000 + "]"*5000 + "}")' >"$T/h1"
printf '%s' '{"id":123456789012345678901234567890,"line_items":[]}' >"$T/h2"
printf '%s' '{"id":1e400,"line_items":[]}' >"$T/h3"
printf '%s' '{"id":"125","line_items":[{"quantity":1}]}' >"$T/h4"
printf '%s' '{"id":125,"line_items":[{"quantity":"lots"}]}' >"$T/h5"
printf '{"id":125,"number":"\xff\xfe","line_items":[]}' >"$T/h6"
printf '%s' '[{"id":125}]' >"$T/h7"
printf '%s' '{"id":125,"line_items":[' >"$T/h8"
for h in 1 2 3 4 5 6 7 8; do
	wc_deliver "$woo" order.created "$T/h$h" "$SECRET"
	is "$STATUS|$(json_get 'j["error"]["code"]')" "400|bad_request" "hostile payload h$h -> 400"
	like "$(json_get 'j["error"]["message"]')" '^webhook payload: ' "  with a clear message"
done
printf '%s' '{"id":46,"name":["x"]}' >"$T/h9"
wc_deliver "$woo" product.updated "$T/h9" "$SECRET"
is "$STATUS" 400 "product with a list for a name -> 400"
is "$(events)|$(orders)|$(q "select count(*) from webhook_deliveries where resource_id in (1, 46, 125)")" \
	"$before|2|0" "nothing recorded for hostile payloads"

# --- unknown, deleted, other-engine stores: 404 --------------------------------------------------
wc_deliver zzzzzzzz order.created "$T/order.json" "$SECRET"
is "$STATUS|$(json_get 'j["error"]["code"]')" "404|not_found" "unknown store -> 404"
wc_deliver "$other" order.created "$T/order.json" "$SECRET"
is "$STATUS" 404 "deleted store -> 404 (even correctly signed)"
NOCOOKIES=1 http POST "/hooks/woocommerce/$other" --data-binary 'webhook_id=1'
is "$STATUS" 404 "deleted store: the ping too"
wc_deliver "$medusa" order.created "$T/order.json" "$SECRET"
is "$STATUS" 404 "a Medusa store has no WooCommerce hooks -> 404"
wc_deliver 'Not-An-Id' order.created "$T/order.json" "$SECRET"
is "$STATUS" 404 "a malformed id -> 404"
NOCOOKIES=1 http GET "/hooks/woocommerce/$woo"
is "$STATUS" 405 "GET -> 405"

# --- 10 MB bodies: 413 before the body is read ----------------------------------------------------
head -c 10485760 /dev/zero >"$T/10mb"
t0=$(date +%s%N)
res=$(curl -s -o "$T/big.out" -w '%{http_code} %{size_upload}' -H 'Expect: 100-continue' \
	-H 'Content-Type: application/json' -H 'X-WC-Webhook-Signature: x' \
	--data-binary @"$T/10mb" "$BASE/hooks/woocommerce/$woo")
t1=$(date +%s%N)
diag "through nginx: status and bytes sent: $res, $(((t1 - t0) / 1000000)) ms"
is "${res% *}" 413 "10 MB through nginx -> 413"
ok "the 10 MB were not sent: nginx answered from Content-Length (sent ${res#* })" \
	test "${res#* }" -lt 1048576
res=$(fcgi_oversized "$T/fcgi.sock" "/hooks/woocommerce/$woo" 10485760)
diag "straight to the FastCGI socket: status and body bytes the socket took: $res"
is "${res% *}" 413 "10 MB straight to the app -> 413"
ok "the app answered before taking the body (took ${res#* } of 10485760 bytes)" \
	test "${res#* }" -lt 4194304
http GET /healthz
is "$STATUS" 200 "the app still serves"

done_testing
