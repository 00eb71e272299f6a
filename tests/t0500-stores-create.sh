#!/bin/bash
# t0500 - create a store from the form and from the API (row, event, audit in one go), and bad input.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-stores.sh"

export SF_CREATE_COOLDOWN=0 SF_CREATES_PER_HOUR=1000 SF_STORES_PER_TENANT=100
sf_stack
admin=$(user_token admin@example.com) || bail "no admin"
tok=$(user_token alice@example.com) || bail "no tenant token"

# --- the form ---------------------------------------------------------------
jar=$T/alice.jar
is "$(browser_login alice@example.com "$jar")" 303 "alice signs in through the form"
page "$jar" GET /stores
is "$STATUS" 200 "GET /stores"
like "$BODY" '<form class="form" method="post" action="/stores">' "the page has the create form"
like "$BODY" '<option value="medusa">Medusa</option>' "the engine select offers medusa"
like "$BODY" 'No stores yet' "an empty list says so"
csrf=$(page_csrf)
like "$csrf" '^[A-Za-z0-9_-]{43}$' "the form carries the session's CSRF token"

page "$jar" POST /stores --data-urlencode "csrf_token=$csrf" --data-urlencode "name=Café Ünïcode ☕" \
	--data-urlencode engine=woocommerce
is "$STATUS" 303 "POST /stores -> 303"
loc=$(header Location)
like "$loc" '^/stores/[a-z][a-z0-9]{7}$' "-> /stores/{id}"
id=${loc#/stores/}
is "$(q "select name || '|' || engine || '|' || status || '|' || desired from stores where id = '$id'")" \
	"Café Ünïcode ☕|woocommerce|requested|present" "the row: name, engine, status requested, desired present"
is "$(q "select count(*) from store_events where store_id = '$id' and step = 'request'")" 1 "its first event"
is "$(q "select actor_email || '|' || (details->>'engine') || '|' || ip from audit_log where action = 'store.create' and target = '$id'")" \
	"alice@example.com|woocommerce|127.0.0.1" "its audit row (actor, details, address)"

page "$jar" GET "$loc"
is "$STATUS" 200 "GET /stores/{id}"
like "$BODY" 'badge badge-requested' "status badge"
like "$BODY" '<meta http-equiv="refresh" content="3">' "a requested store refreshes itself without JS"
like "$BODY" "data-poll=\"/api/v1/stores/$id\"" "and app.js may poll the JSON"
like "$BODY" "http://store-$id\\.127\\.0\\.0\\.1\\.nip\\.io/wp-admin/" "the admin URL of a WooCommerce store"
like "$BODY" 'Caf&eacute;|Café' "the name is shown"
like "$BODY" '<ol class="steps">' "provisioning steps"
like "$BODY" 'name="confirm" type="checkbox" value="yes" required' "delete needs a ticked box (no JS needed)"
like "$BODY" 'data-confirm=' "and asks with JS"
unlike "$BODY" "/stores/$id/retry" "no retry for a store that did not fail"
page "$jar" GET /stores
like "$BODY" "<a href=\"/stores/$id\">" "the list links the store"

# --- the API ----------------------------------------------------------------
api_json POST /api/v1/stores "$tok" '{"name":"shop two","engine":"medusa"}'
is "$STATUS" 201 "POST /api/v1/stores -> 201"
sid=$(json_get 'j["store"]["id"]')
like "$sid" '^[a-z][a-z0-9]{7}$' "a store id"
is "$(header Location)" "/api/v1/stores/$sid" "Location of the new store"
is "$(json_get 'sorted(j["store"].keys())')" \
	'["admin_url", "backup_retention_days", "cluster", "created_at", "engine", "id", "last_webhook_at", "medusa", "name", "orders_seen", "plan", "plan_pending", "plan_storage", "plan_title", "ready_at", "region", "revision", "status", "status_reason", "suspended_at", "suspended_by", "suspended_seconds", "updated_at", "url", "version"]' \
	"the store object has exactly the documented keys (a Medusa store: with medusa)"
is "$(json_get 'j["store"]["medusa"]')" "{\"publishable_key\": null, \"store_api_url\": \"http://store-$sid.127.0.0.1.nip.io\"}" \
	"medusa: the Store API URL, no publishable key until reconcile read it"
like "$(json_get 'j["store"]["version"]')|$(json_get 'j["store"]["revision"]')" '^[0-9]+\.[0-9]+\.[0-9]+\|0$' \
	"a new store runs the chart's version, no revision applied yet"
is "$(json_get 'j["store"]["status"]')" requested "status requested"
is "$(json_get 'j["store"]["admin_url"]')" "http://store-$sid.127.0.0.1.nip.io/app" "Medusa admin URL"
like "$(json_get 'j["store"]["created_at"]')" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$' "RFC 3339 UTC"
is "$(json_get 'j["store"]["ready_at"]')" None "ready_at null until ready"
is "$(q "select count(*) from store_events where store_id = '$sid'")|$(q "select count(*) from audit_log where action = 'store.create' and target = '$sid'")" \
	"1|1" "API create: one event, one audit row"
api GET "/api/v1/stores/$sid" "$tok"
is "$STATUS" 200 "GET /api/v1/stores/{id}"
is "$(json_get 'j["store"]["name"]')" "shop two" "the same store"
api GET "/api/v1/stores/$sid/events" "$tok"
is "$(json_get 'j["events"][0]["step"] + "|" + j["events"][0]["level"]')" "request|info" "events: the request event"
api GET /api/v1/stores "$tok"
is "$(json_get 'len(j["stores"])')" 2 "the list has both stores"
is "$(json_get 'j["stores"][0]["id"]')" "$sid" "newest first"
is "$(json_get 'j["next_cursor"]')" None "next_cursor null at the end"

# --- bad input --------------------------------------------------------------
bad() {	# bad BODY FIELD NAME
	api_json POST /api/v1/stores "$tok" "$1"
	is "$STATUS|$(json_get 'j["error"]["code"]')|$(json_get '",".join(j["error"]["fields"].keys())')" \
		"422|invalid|$2" "422 fields.$2: $3"
}
n0=$(q "select count(*) from stores")
bad '{"name":"","engine":"medusa"}' name "empty name"
bad '{"engine":"medusa"}' name "missing name"
bad "{\"name\":\"$(printf 'x%.0s' $(seq 65))\",\"engine\":\"medusa\"}" name "65 characters"
bad "{\"name\":\"$(printf 'é%.0s' $(seq 65))\",\"engine\":\"medusa\"}" name "65 two-byte characters"
bad '{"name":"a\u0001b","engine":"medusa"}' name "a control character"
bad '{"name":"a\nb","engine":"medusa"}' name "a newline"
bad '{"name":"a\u0085b","engine":"medusa"}' name "a C1 control"
bad '{"name":"   ","engine":"medusa"}' name "only spaces"
bad '{"name":5,"engine":"medusa"}' name "not a string"
bad '{"name":"ok","engine":"magento"}' engine "unknown engine"
bad '{"name":"ok"}' engine "missing engine"
api POST /api/v1/stores "$tok" -H 'Content-Type: application/json' --data-binary $'{"name":"a\xff","engine":"medusa"}'
is "$STATUS|$(json_get '",".join(j["error"]["fields"].keys())')" "422|name" "invalid UTF-8 bytes -> 422 fields.name"
api_json POST /api/v1/stores "$tok" "{\"name\":\"$(printf 'é%.0s' $(seq 64))\",\"engine\":\"medusa\"}"
is "$STATUS" 201 "64 characters (128 bytes) are fine"
n0=$((n0 + 1))
is "$(q "select count(*) from stores")" "$n0" "no store was created by bad input"

page "$jar" GET /stores
csrf=$(page_csrf)
page "$jar" POST /stores --data-urlencode "csrf_token=$csrf" --data-urlencode "name=" --data-urlencode engine=medusa
is "$STATUS" 422 "form: empty name -> 422"
like "$BODY" 'aria-invalid="true" aria-describedby="name-error"' "the name field is marked"
like "$BODY" '<option value="medusa" selected>' "the chosen engine is kept"
page "$jar" POST /stores --data-urlencode "csrf_token=$csrf" --data-urlencode "name=keep me" --data-urlencode engine=nope
is "$STATUS" 422 "form: unknown engine -> 422"
like "$BODY" 'value="keep me"' "the typed name is kept"
like "$BODY" 'id="engine-error"' "the engine field is marked"
page "$jar" POST /stores --data-urlencode "name=x" --data-urlencode engine=medusa
is "$STATUS" 403 "form without CSRF token -> 403"

for p in /api/v1/stores/zzzzzzzz /api/v1/stores/NOTANID /api/v1/stores/a /api/v1/stores/0abcdefg "/api/v1/stores/abcdefgh/events"; do
	api GET "$p" "$tok"
	is "$STATUS|$(json_get 'j["error"]["code"]')" "404|not_found" "GET $p -> 404 not_found"
done
api DELETE /api/v1/stores/zzzzzzzz "$tok"
is "$STATUS" 404 "DELETE of a missing store -> 404"
page "$jar" GET /stores/Bad-Id
is "$STATUS" 404 "HTML: malformed id -> 404"
api GET /api/v1/stores "$tok" -G --data-urlencode status=bogus
is "$STATUS|$(json_get '",".join(j["error"]["fields"].keys())')" "422|status" "unknown status filter -> 422"
api GET /api/v1/stores "$tok" -G --data-urlencode cursor=garbage
is "$STATUS|$(json_get '",".join(j["error"]["fields"].keys())')" "422|cursor" "bad cursor -> 422"
api GET "/api/v1/stores?limit=0" "$tok"
is "$STATUS" 422 "limit=0 -> 422"
NOCOOKIES=1 http GET /api/v1/stores
is "$STATUS|$(json_get 'j["error"]["code"]')" "401|unauthorized" "no token -> 401"
# GET /api/v1/stores loads its page with the token lookup (the route's token_join): the same answers.
NOCOOKIES=1 http GET "/api/v1/stores?limit=0&cursor=x"
is "$STATUS" 401 "no token and bad arguments -> 401 first"
api GET "/api/v1/stores?limit=0" "not-a-token"
is "$STATUS" 401 "a malformed token -> 401"
api GET /api/v1/stores "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
is "$STATUS" 401 "an unknown token -> 401"
NOCOOKIES=1 http GET /api/v1/stores -H "Authorization: Basic $tok"
is "$STATUS" 401 "another scheme -> 401 (the cookie is not consulted either)"
api GET "/api/v1/stores" "$admin"
is "$STATUS|$(json_get 'j["stores"]')|$(json_get 'j["next_cursor"]')" "200|[]|None" \
	"a token whose owner has no stores -> an empty page"
page "$jar" GET /api/v1/stores
is "$STATUS|$(json_get 'len(j["stores"])')" "200|3" "a session cookie (app.js) lists the stores too"
is "$(q "select count(*) from api_tokens where last_used_at is not null and token_sha256 = sha256('$admin')")" 1 \
	"the token's last use is recorded"
api GET /api/v1/audit "$tok"
is "$STATUS" 403 "the audit log is for admins"
api GET /api/v1/audit "$admin"
is "$STATUS" 200 "admin reads the audit log"
like "$(json_get '[e["action"] for e in j["entries"]]')" 'store.create' "with the store.create rows"
q "update api_tokens set revoked_at = now() where token_sha256 = sha256('$admin')" >/dev/null
api GET "/api/v1/stores" "$admin"
is "$STATUS" 401 "a revoked token -> 401"
done_testing
