#!/bin/bash
# t0325-medusa-key.sh - a Medusa store's publishable key and Store API URL: read by reconcile from the store (kubesim plays Medusa), shown on the owner's page and in the API, never to another tenant; a refused sign-in costs no readiness and is retried.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-stores.sh"
. "$SF_ROOT/tests/lib-reconcile.sh"

export SF_SECRET_KEY=$RC_KEY SF_CREATE_COOLDOWN=0 SF_CREATES_PER_HOUR=100
kubesim_start "$T/kubesim" --pod-ready-ms 50 --job-complete-ms 50 --pvc-bind-ms 20 \
	--ns-delete-ms 50 --observed-lag-ms 10 || bail "cannot start kubesim"
export SF_INGRESS_ADDRESS=$KUBESIM_INGRESS SF_FAILURE_GRACE=1 SF_RECONCILE_INTERVAL=1
export SF_STORE_API_RETRY=1 SF_PROVISIONING_CONCURRENCY=10
sf_stack
user_token root@example.com >/dev/null || bail "no admin" # the first account is an admin
tok=$(user_token owner@example.com) || bail "no token"
other=$(user_token other@example.com) || bail "no token for the other tenant"

new_store() {
	api_json POST /api/v1/stores "$tok" "{\"name\":\"$1\",\"engine\":\"$2\"}"
	[ "$STATUS" = 201 ] || bail "POST /api/v1/stores: $STATUS $BODY"
	json_get 'j["store"]["id"]'
}
mid=$(new_store "Medusa shop" medusa)
wid=$(new_store "Woo shop" woocommerce)
bad=$(new_store "Medusa shop, password changed" medusa)
url="http://store-$mid.127.0.0.1.nip.io"

# --- before the store is ready: the URL already, no key yet ------------------------------------
api GET "/api/v1/stores/$mid" "$tok"
is "$(json_get 'j["store"]["medusa"]')" "{\"publishable_key\": null, \"store_api_url\": \"$url\"}" \
	"a requested Medusa store: medusa.store_api_url, publishable_key null"
api GET "/api/v1/stores/$wid" "$tok"
is "$(json_get '"medusa" in j["store"]')" False "a WooCommerce store has no medusa object"

# The owner of $bad changed the admin password in Medusa's admin before storefleet signed in.
sim POST "/_sim/medusa/store-$bad/admin-password" '{"password":"changed-in-the-admin"}'
like "$SIM_BODY" '"pending"' "kubesim: store-$bad's admin password will not be the Secret's"

# --- reconcile to ready: the key comes in the pass that makes the store ready ------------------
ok "the three stores become ready" rc_until 60 "(SELECT count(*) FROM stores WHERE status = 'ready') = 3"
is "$(rc_sql "SELECT publishable_key IS NOT NULL FROM stores WHERE id = '$mid'")" t \
	"the key was read in the pass that made the store ready"
sim GET "/_sim/medusa/store-$mid"
key=$(printf '%s' "$SIM_BODY" | python3 -c 'import json,sys; print(json.load(sys.stdin)["publishable_key"])')
like "$key" '^pk_[0-9a-f]{64}$' "kubesim's store made its key as Medusa does (pk_ + 64 hex)"
is "$(rc_sql "SELECT publishable_key FROM stores WHERE id = '$mid'")" "$key" \
	"stores.publishable_key is the store's own key"
is "$(printf '%s' "$SIM_BODY" | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["logins"], j["refused"])')" \
	"1 0" "one sign-in as the store's admin, none refused"
is "$(rc_sql "SELECT publishable_key FROM stores WHERE id = '$wid'")" "" "a WooCommerce store has none"

# --- the API ----------------------------------------------------------------------------------
api GET "/api/v1/stores/$mid" "$tok"
is "$(json_get 'j["store"]["medusa"]["publishable_key"]')|$(json_get 'j["store"]["medusa"]["store_api_url"]')" \
	"$key|$url" "GET /api/v1/stores/{id}: medusa.publishable_key and store_api_url"
api GET "/api/v1/stores?limit=10" "$tok"
is "$(json_get '[s["medusa"]["publishable_key"] for s in j["stores"] if s["id"] == "'"$mid"'"][0]')" "$key" \
	"the list's store objects carry it too"
api GET "/api/v1/stores/$mid/events" "$tok"
is "$(json_get '",".join(e["step"] for e in j["events"])')" \
	"request,provisioning,render,namespace,isolation,secrets,database,app,setup,ingress,readiness,ready" \
	"its activity log holds the provisioning steps only (a key read at once is no news)"
api GET "/api/v1/stores/$mid" "$other"
is "$STATUS" 404 "another tenant's GET of the store: 404"
unlike "$BODY" "$key" "... and no key in the answer"
api GET "/api/v1/stores?limit=100" "$other"
unlike "$BODY" "$key" "the other tenant's list does not carry it"

# --- the page ---------------------------------------------------------------------------------
jar=$T/jar
browser_login owner@example.com "$jar" >/dev/null
page "$jar" GET "/stores/$mid"
is "$STATUS" 200 "the owner's store page"
like "$BODY" "<code class=\"select-all\" id=\"publishable-key\">$key</code>" "it shows the publishable key in <code>"
like "$BODY" "<code class=\"select-all\" id=\"store-api-url\">$url</code>" "and the Store API URL"
like "$BODY" 'x-publishable-api-key' "and says what they are for"
like "$BODY" 'They are not secrets' "... and that they are not secrets"
page "$jar" GET "/stores/$wid"
unlike "$BODY" 'storefront-api' "a WooCommerce store's page has no Storefront API card"
ojar=$T/ojar
browser_login other@example.com "$ojar" >/dev/null
page "$ojar" GET "/stores/$mid"
is "$STATUS" 404 "another tenant's page of the store: 404"
unlike "$BODY" "$key" "... without the key"

# --- a refused sign-in: no key, no store failure, reported once, retried -----------------------
is "$(rc_status "$bad")|$(rc_sql "SELECT coalesce(status_reason, '') FROM stores WHERE id = '$bad'")" \
	"ready|" "a store whose admin refuses storefleet's password is ready all the same, with no reason"
is "$(rc_sql "SELECT publishable_key IS NULL FROM stores WHERE id = '$bad'")" t "it has no key"
refused="SELECT count(*) FROM store_events WHERE store_id = '$bad' AND step = 'storefront' AND level = 'warn' AND message = 'cannot read the storefront''s publishable key: POST /auth/user/emailpass: the store refused the admin''s email and password (HTTP 401)'"
is "$(rc_sql "$refused")" 1 "the refusal is in its activity log, with the reason"
api GET "/api/v1/stores/$bad" "$tok"
is "$(json_get 'j["store"]["medusa"]["publishable_key"]')" None "the API shows no key"
# secret_value NS NAME KEY: a key of a Secret, whether kept as data or stringData
secret_value() {
	kubectl get secret "$2" -n "$1" -o json | python3 -c 'import base64,json,sys; s=json.load(sys.stdin)
print(base64.b64decode(s["data"][sys.argv[1]]).decode() if "data" in s else s["stringData"][sys.argv[1]])' "$3"
}
sim_refused() {
	sim GET "/_sim/medusa/store-$bad"
	printf '%s' "$SIM_BODY" | python3 -c 'import json,sys; print(json.load(sys.stdin)["refused"])'
}
tried_again() {
	rc_once --no-lock
	[ "$(sim_refused)" -ge 3 ]
}
ok "later passes sign in again (store_api_retry 1 s)" wait_for 30 tried_again
is "$(rc_sql "$refused")" 1 "the same reason is not reported again"
is "$(grep -c "store $bad: publishable key: POST /auth/user/emailpass: the store refused" "$T/reconcile.log")" 1 \
	"nor logged again"
is "$(rc_status "$bad")" ready "the store stays ready"

# the owner sets the Secret's password back (or storefleet's is right again): the next try reads it
pw=$(secret_value "store-$bad" medusa admin-password)
like "$pw" '^.{12,}$' "the admin password the Secret holds"
sim POST "/_sim/medusa/store-$bad/admin-password" "{\"password\":\"$pw\"}"
ok "a later pass reads the key" rc_until 30 "(SELECT publishable_key IS NOT NULL FROM stores WHERE id = '$bad')"
sim GET "/_sim/medusa/store-$bad"
is "$(rc_sql "SELECT publishable_key || '|' || publishable_key_error FROM stores WHERE id = '$bad'")" \
	"$(printf '%s' "$SIM_BODY" | python3 -c 'import json,sys; print(json.load(sys.stdin)["publishable_key"])')|" \
	"it is the store's key, and the error is cleared"
is "$(rc_sql "SELECT level || ' ' || message FROM store_events WHERE store_id = '$bad' AND step = 'storefront' ORDER BY id")" \
	"warn cannot read the storefront's publishable key: POST /auth/user/emailpass: the store refused the admin's email and password (HTTP 401)
info publishable API key read from the store" "its activity log: the refusal, then the key read"

# --- missing again (an upgrade or a restore lost it): read again --------------------------------
rc_sql "UPDATE stores SET publishable_key = NULL WHERE id = '$mid'" >/dev/null
ok "a missing key is read again" rc_until 30 "(SELECT publishable_key = '$key' FROM stores WHERE id = '$mid')"

# --- secrets never logged ------------------------------------------------------------------------
mpw=$(secret_value "store-$mid" medusa admin-password)
ok "reconcile's log holds no admin password" \
	bash -c '! grep -qF -e "$1" -e "$2" -e changed-in-the-admin "$3"' _ "$mpw" "$pw" "$T/reconcile.log"
ok "nor any session token" bash -c '! grep -q "eyJ" "$1"' _ "$T/reconcile.log"
like "$(cat "$T/reconcile.log")" "store $mid: publishable API key ${key:0:11}\.\.\. read from the store" \
	"the log says the key was read (its first characters only)"

done_testing
