#!/bin/bash
# t0571-suspend-rules.sh - who may suspend and resume (owner, admin, another tenant), CSRF, the paused page by Host, admin "suspend every store of a user", storefleetctl, audit rows, /metrics, store limit and provisioning concurrency.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-stores.sh"
. "$SF_ROOT/tests/lib-admin.sh"
. "$SF_ROOT/tests/lib-reconcile.sh"

CTL=$SF_BUILD/bin/storefleetctl
export SF_STORES_PER_TENANT=3 SF_CREATE_COOLDOWN=0 SF_CREATES_PER_HOUR=100 SF_METRICS_CACHE=0
sf_stack
admin=$(user_token admin@example.com) || bail "no admin"
tina=$(user_token tina@example.com) || bail "no token"
otto=$(user_token otto@example.com) || bail "no token"
TINA_ID=$(uid_of tina@example.com)

# tina's stores, straight into the table: a (ready), b (ready), c (provisioning)
mk() { q "INSERT INTO stores (id, owner_id, name, engine, status, step) VALUES ('$1', $TINA_ID, '$2', 'woocommerce', '$3', '$4')" >/dev/null; }
mk shopaaaa 'Tina <A>' ready ready
mk shopbbbb 'Tina B' ready ready
mk shopcccc 'Tina C' provisioning database
st() { q "SELECT status || ':' || coalesce(suspended_by, '-') FROM stores WHERE id = '$1'"; }

# --- the API: owner, another tenant, admin -----------------------------------------------
api POST /api/v1/stores/shopaaaa/suspend "$otto"
is "$STATUS|$(json_get 'j["error"]["code"]')" "404|not_found" "another tenant's store: 404 on suspend"
api POST /api/v1/stores/shopaaaa/resume "$otto"
is "$STATUS" 404 "... and on resume"
api POST /api/v1/stores/nosuchst/suspend "$tina"
is "$STATUS" 404 "a store that does not exist: 404"
is "$(st shopaaaa)" "ready:-" "nothing changed"

api POST /api/v1/stores/shopaaaa/suspend "$tina"
is "$STATUS|$(json_get 'j["store"]["status"]')|$(json_get 'j["store"]["suspended_by"]')" \
	"202|suspending|owner" "the owner suspends: 202, suspending, held by the owner"
api POST /api/v1/stores/shopaaaa/suspend "$tina"
is "$STATUS|$(json_get 'j["error"]["message"]')" "409|The store is already suspended." "again: 409 already suspended"
api POST /api/v1/stores/shopcccc/suspend "$tina"
is "$STATUS" 409 "a provisioning store cannot be suspended (409)"
like "$(json_get 'j["error"]["message"]')" 'provisioning; it can be suspended once it is ready' "... saying why"
api POST /api/v1/stores/shopbbbb/resume "$tina"
is "$STATUS|$(json_get 'j["error"]["message"]')" "409|The store is ready, not suspended." "resume of a running store: 409"

# the owner resumes their own suspension
api POST /api/v1/stores/shopaaaa/resume "$tina"
is "$STATUS|$(json_get 'j["store"]["status"]')|$(json_get 'j["store"]["suspended_by"]')" \
	"202|resuming|None" "the owner resumes their own suspension"
# a resuming store may be suspended again; the admin does it, so the admin holds it
api POST /api/v1/stores/shopaaaa/suspend "$admin"
is "$STATUS|$(json_get 'j["store"]["suspended_by"]')" "202|admin" "an admin suspends a tenant's (resuming) store: held by the admin"
api POST /api/v1/stores/shopaaaa/resume "$tina"
is "$STATUS" 403 "the owner cannot lift an admin's suspension (403)"
like "$(json_get 'j["error"]["message"]')" 'only an administrator can resume it' "... saying who can"
is "$(st shopaaaa)" "suspending:admin" "still suspended by the admin"

# an admin takes an owner's suspension over
api POST /api/v1/stores/shopbbbb/suspend "$tina"
is "$(st shopbbbb)" "suspending:owner" "tina suspends b"
api POST /api/v1/stores/shopbbbb/suspend "$admin"
is "$STATUS|$(st shopbbbb)" "202|suspending:admin" "the admin takes the suspension over"
api POST /api/v1/stores/shopbbbb/resume "$tina"
is "$STATUS" 403 "... so the owner can no longer resume it"
api POST /api/v1/stores/shopbbbb/resume "$admin"
is "$STATUS|$(st shopbbbb)" "202|resuming:-" "the admin resumes it"

# audit rows, with who held it and for whom
is "$(q "SELECT string_agg(action || ':' || coalesce(details->>'by', '-') || ':' || coalesce(details->>'as_admin', 'f'), ',' ORDER BY id) FROM audit_log WHERE target = 'shopbbbb'")" \
	"store.suspend:owner:f,store.suspend:admin:true,store.resume:admin:true" \
	"audit: owner's suspend, the admin's takeover and resume (as_admin)"
is "$(q "SELECT count(*) FROM store_events WHERE store_id = 'shopbbbb' AND step IN ('suspend', 'resume')")" 3 \
	"one event per request on the store's activity log"

# --- the store page: buttons, CSRF, the admin's hold --------------------------------------
q "UPDATE stores SET status = 'ready', suspended_by = NULL, suspended_at = NULL WHERE id = 'shopbbbb'" >/dev/null
jar=$T/tina.jar
browser_login tina@example.com "$jar" >/dev/null
page "$jar" GET /stores/shopbbbb
like "$BODY" 'action="/stores/shopbbbb/suspend"' "a ready store's page offers Suspend"
unlike "$BODY" 'action="/stores/shopbbbb/resume"' "... not Resume"
csrf=$(page_csrf)
page "$jar" POST /stores/shopbbbb/suspend --data-urlencode x=1 -H "Origin: $BASE"
is "$STATUS" 403 "the form without its CSRF token: 403"
is "$(st shopbbbb)" "ready:-" "... and nothing changed"
page "$jar" POST /stores/shopbbbb/suspend --data-urlencode "csrf_token=$csrf" -H "Origin: $BASE"
is "$STATUS|$(header Location)" "303|/stores/shopbbbb?suspended=1" "with it: 303 back to the page"
page "$jar" GET /stores/shopbbbb?suspended=1
like "$BODY" 'its paused page while its data stays' "the page says what happens"
like "$BODY" 'action="/stores/shopbbbb/resume"' "a suspended store's page offers Resume"
like "$BODY" 'Suspended since' "... and shows since when"
page "$jar" GET /stores/shopaaaa
unlike "$BODY" 'action="/stores/shopaaaa/resume"' "an admin's suspension: no Resume for the owner"
like "$BODY" 'An administrator suspended this store' "... the page says why"
page "$jar" POST /stores/shopaaaa/resume --data-urlencode "csrf_token=$csrf" -H "Origin: $BASE"
is "$STATUS" 403 "the owner's form POST is refused too (403)"
like "$BODY" 'only an administrator can resume it' "... on the store page, with the reason"

# --- the paused page by Host, on the platform's nginx ------------------------------------
paused() {
	STATUS=$(curl -s -o "$T/body" -D "$T/headers" -w '%{http_code}' -H "Host: $1" "$BASE${2:-/}")
	BODY=$(cat "$T/body")
}
paused store-shopaaaa.127.0.0.1.nip.io /cart?x=1
is "$STATUS" 503 "a suspended store's host on the platform: 503"
is "$(header Retry-After)" 3600 "... Retry-After"
like "$BODY" 'Tina &lt;A&gt;' "... its name, escaped"
unlike "$BODY" 'tina@example.com|csrf_token|Sign in' "... nothing of its tenant, no platform chrome"
paused STORE-SHOPAAAA.127.0.0.1.NIP.IO:80 /
is "$STATUS" 503 "host names have no case; a port is fine"
paused store-shopcccc.127.0.0.1.nip.io /
is "$STATUS" 404 "a store that is not suspended: 404"
paused store-zzzzzzzz.127.0.0.1.nip.io /
is "$STATUS" 404 "a store that does not exist: the same 404"
STATUS=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Host: store-shopaaaa.127.0.0.1.nip.io" --data x=1 "$BASE/checkout")
is "$STATUS" 503 "a POST to a suspended store's host: the paused page, no CSRF needed"

# --- limit and concurrency -----------------------------------------------------------------
api_json POST /api/v1/stores "$tina" '{"name":"fourth","engine":"medusa"}'
is "$STATUS|$(json_get 'j["error"]["code"]')" "429|quota_exceeded" "suspended stores count against the store limit (3 of 3)"
api DELETE /api/v1/stores/shopbbbb "$tina"
is "$STATUS|$(st shopbbbb)" "202|deleting:-" "a suspended store may be deleted; its suspension ends"
is "$(q "SELECT suspended_seconds >= 0 AND suspended_at IS NULL FROM stores WHERE id = 'shopbbbb'")" t "... its time is kept"
q "UPDATE stores SET status = 'deleted', deleted_at = now() WHERE id = 'shopbbbb'" >/dev/null
api_json POST /api/v1/stores "$tina" '{"name":"fourth","engine":"medusa"}'
is "$STATUS" 201 "once it is deleted, its place is free"

kubesim_start "$T/kubesim" || bail "cannot start kubesim"
export SF_PROVISIONING_CONCURRENCY=1 SF_INGRESS_ADDRESS=
# the provisioning store c holds the only slot: the new store waits
new=$(q "SELECT id FROM stores WHERE name = 'fourth'")
rc_once --no-lock
is "$(rc_status "$new")" requested "with the one slot taken by a provisioning store, a new store waits"
q "UPDATE stores SET status = 'suspended', suspended_by = 'owner', suspended_at = now(), step = 'suspend' WHERE id = 'shopcccc'" >/dev/null
rc_once --no-lock
is "$(rc_status "$new")" provisioning "suspended (and suspending) stores take no slot: it starts"

# --- admin: every store of a user, from the users page -------------------------------------
q "UPDATE stores SET status = 'ready', suspended_by = NULL, suspended_at = NULL, step = 'ready' WHERE owner_id = $TINA_ID AND status NOT IN ('deleting', 'deleted')" >/dev/null
q "UPDATE stores SET status = 'suspended', suspended_by = 'owner', suspended_at = now() WHERE id = 'shopcccc'" >/dev/null
ajar=$T/admin.jar
browser_login admin@example.com "$ajar" >/dev/null
page "$ajar" GET /admin/users
like "$BODY" "action=\"/admin/users/$TINA_ID/suspend-stores\"" "the users page offers to suspend a user's stores"
like "$BODY" 'name="suspend_stores"' "... and disabling offers it too"
acsrf=$(page_csrf)
page "$ajar" POST "/admin/users/$TINA_ID/disable" --data-urlencode "csrf_token=$acsrf" \
	--data-urlencode suspend_stores=yes -H "Origin: $BASE"
is "$STATUS|$(header Location)" "303|/admin/users?done=disable-suspend" "disable with 'and suspend their stores': 303"
is "$(q "SELECT disabled_at IS NOT NULL FROM users WHERE id = $TINA_ID")" t "the account is disabled"
is "$(q "SELECT string_agg(id || '=' || status || ':' || coalesce(suspended_by, '-'), ' ' ORDER BY id) FROM stores WHERE owner_id = $TINA_ID AND status NOT IN ('deleting', 'deleted')")" \
	"$(q "SELECT string_agg(id || CASE WHEN id = 'shopcccc' THEN '=suspended' ELSE '=suspending' END || ':admin', ' ' ORDER BY id) FROM stores WHERE owner_id = $TINA_ID AND status NOT IN ('deleting', 'deleted')")" \
	"every store of the user is suspended by an admin (an owner's suspension taken over)"
is "$(q "SELECT details->>'count' FROM audit_log WHERE action = 'user.suspend_stores' ORDER BY id DESC LIMIT 1")" 3 \
	"audit: user.suspend_stores with the count"
is "$(q "SELECT count(*) FROM audit_log WHERE action = 'store.suspend' AND details->>'by' = 'admin' AND details->>'owner' = 'tina@example.com' AND at > now() - interval '1 minute'")" 5 \
	"... and one store.suspend per store (3, after the 2 earlier ones)"
page "$ajar" POST "/admin/users/$TINA_ID/suspend-stores" --data-urlencode x=1 -H "Origin: $BASE"
is "$STATUS" 403 "the suspend-stores form without CSRF: 403"
api GET /api/v1/auth/me "$tina"
is "$STATUS" 401 "the disabled user's token is refused"

# --- storefleetctl ------------------------------------------------------------------------
out=$("$CTL" store resume shopaaaa 2>&1)
is "$?|$out" "0|shopaaaa: resume requested (resuming)" "storefleetctl store resume ID"
out=$("$CTL" store resume shopaaaa 2>&1)
is "$?|$out" "1|storefleetctl: store resume: The store is resuming, not suspended." "... again: refused with the reason"
out=$("$CTL" store suspend shopaaaa 2>&1)
is "$?|$(st shopaaaa)" "0|suspending:admin" "storefleetctl store suspend ID: held as an admin"
q "UPDATE users SET disabled_at = NULL WHERE id = $TINA_ID" >/dev/null
"$CTL" store resume shopaaaa >/dev/null
out=$("$CTL" user suspend-stores tina@example.com 2>&1)
is "$?|$out" "0|tina@example.com: 1 store suspended" "storefleetctl user suspend-stores EMAIL"
out=$("$CTL" user suspend-stores nobody@example.com 2>&1)
is "$?" 1 "... an unknown user: exit 1"
is "$(q "SELECT actor_email || ':' || (actor_id IS NULL) FROM audit_log WHERE action = 'user.suspend_stores' ORDER BY id DESC LIMIT 1")" \
	"storefleetctl:true" "audit: the operator as actor"

# --- /metrics: the count and the time, which never goes down --------------------------------
q "UPDATE stores SET suspended_at = now() - interval '100 seconds' WHERE id = 'shopcccc'" >/dev/null
NOCOOKIES=1 http GET /metrics
like "$BODY" 'storefleet_stores\{status="suspended",engine="woocommerce"\} 1' "/metrics: suspended stores by engine"
like "$BODY" 'storefleet_stores\{status="suspending",engine="' "... suspending too"
secs=$(printf '%s\n' "$BODY" | awk '$1 == "storefleet_store_suspended_seconds_total" { print int($2) }')
ok "the seconds suspended include the current suspension ($secs >= 100)" test "${secs:-0}" -ge 100
api POST /api/v1/stores/shopcccc/resume "$admin"
is "$STATUS" 202 "the admin resumes it"
NOCOOKIES=1 http GET /metrics
secs2=$(printf '%s\n' "$BODY" | awk '$1 == "storefleet_store_suspended_seconds_total" { print int($2) }')
ok "... and the counter does not go down ($secs2 >= $secs)" test "${secs2:-0}" -ge "$secs"
api GET /api/v1/stores/shopcccc "$admin"
ok "the store keeps its time suspended ($(json_get 'j["store"]["suspended_seconds"]') s)" \
	test "$(json_get 'j["store"]["suspended_seconds"]')" -ge 100
done_testing
