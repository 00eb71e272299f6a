#!/bin/bash
# t0501 - guardrails inside the creating transaction: limit, cap, rate, cooldown, races, Idempotency-Key.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-stores.sh"

export SF_STORES_PER_TENANT=5 SF_STORES_MAX=30 SF_CREATES_PER_HOUR=1000 SF_CREATE_COOLDOWN=0
export SF_TEST_WORKERS=4
sf_stack
user_token admin@example.com >/dev/null || bail "no admin"
a=$(user_token a@example.com) || bail "no token"
b=$(user_token b@example.com) || bail "no token"
user_token c@example.com >/dev/null || bail "no token"

# One create per call; prints the status.  Used in parallel below.
create() {	# create TOKEN NAME [KEY]
	local key=()

	[ -z "${3:-}" ] || key=(-H "Idempotency-Key: $3")
	curl -s -o /dev/null -w '%{http_code}\n' -H "Authorization: Bearer $1" \
		-H 'Content-Type: application/json' "${key[@]}" \
		--data-binary "{\"name\":\"$2\",\"engine\":\"woocommerce\"}" "$BASE/api/v1/stores"
}
export -f create
export BASE

# --- per-tenant limit under 20 parallel creates ----------------------------------
seq 1 20 | xargs -P 20 -I{} bash -c "create $a race{}" >"$T/race.txt"
is "$(grep -c '^201$' "$T/race.txt")" 5 "20 parallel creates with limit 5: exactly 5 created"
is "$(grep -c '^429$' "$T/race.txt")" 15 "the other 15 are 429"
is "$(q "select count(*) from stores s join users u on u.id = s.owner_id where u.email = 'a@example.com'")" 5 \
	"5 rows in the database"
is "$(q "select count(*) from audit_log where action = 'store.create'")|$(q "select count(*) from store_events")" \
	"5|5" "one audit row and one event per store, none for the refused"
api_json POST /api/v1/stores "$a" '{"name":"six","engine":"medusa"}'
is "$STATUS|$(json_get 'j["error"]["code"]')" "429|quota_exceeded" "the 6th -> 429 quota_exceeded"
like "$(json_get 'j["error"]["message"]')" 'limit per account is 5' "the message names the limit"
q "update stores set status = 'deleted', desired = 'absent' where id = (select min(id) from stores)" >/dev/null
api_json POST /api/v1/stores "$a" '{"name":"six","engine":"medusa"}'
is "$STATUS" 201 "a deleted store frees its slot"
api_json POST /api/v1/stores "$a" '{"name":"seven","engine":"medusa"}'
is "$STATUS" 429 "back at 5 stores not deleted: refused again"

# --- platform cap: 5 (a) + 24 (c) = 29 -------------------------------------------
seed_stores c@example.com 24 >/dev/null
api_json POST /api/v1/stores "$b" '{"name":"b one","engine":"medusa"}'
is "$STATUS" 201 "b's first store is the 30th"
api_json POST /api/v1/stores "$b" '{"name":"b two","engine":"medusa"}'
is "$STATUS|$(json_get 'j["error"]["code"]')" "429|quota_exceeded" "the 31st on the platform -> 429 quota_exceeded"
like "$(json_get 'j["error"]["message"]')" 'platform is full' "the message says the platform is full"
is "$(header Retry-After)" "" "no Retry-After for a quota"

# --- rate and cooldown: restart the workers with tighter settings ------------------
kill -TERM "$APP_PID" && wait "$APP_PID" 2>/dev/null
export SF_CREATES_PER_HOUR=2 SF_CREATE_COOLDOWN=30 SF_STORES_MAX=1000
app_start "$T" 2 || bail "cannot restart the app"
d=$(user_token d@example.com) || bail "no token"
api_json POST /api/v1/stores "$d" '{"name":"d1","engine":"medusa"}'
is "$STATUS" 201 "d creates a store"
api_json POST /api/v1/stores "$d" '{"name":"d2","engine":"medusa"}'
is "$STATUS|$(json_get 'j["error"]["code"]')" "429|rate_limited" "a second create within the cooldown -> 429 rate_limited"
ra=$(header Retry-After)
ok "Retry-After ($ra) is within the 30 s cooldown" test "$ra" -ge 1 -a "$ra" -le 30
q "update stores set created_at = created_at - interval '40 seconds' where owner_id = (select id from users where email = 'd@example.com')" >/dev/null
api_json POST /api/v1/stores "$d" '{"name":"d2","engine":"medusa"}'
is "$STATUS" 201 "after the cooldown the second create of the hour works"
q "update stores set created_at = created_at - interval '40 seconds' where owner_id = (select id from users where email = 'd@example.com')" >/dev/null
api_json POST /api/v1/stores "$d" '{"name":"d3","engine":"medusa"}'
is "$STATUS|$(json_get 'j["error"]["code"]')" "429|rate_limited" "a third create in the hour -> 429 rate_limited"
ra=$(header Retry-After)
ok "Retry-After ($ra) waits for the oldest create to leave the hour" test "$ra" -ge 3400 -a "$ra" -le 3560
like "$(json_get 'j["error"]["message"]')" '2 stores per hour' "the message names the rate"
jar=$T/d.jar
browser_login d@example.com "$jar" >/dev/null
page "$jar" GET /stores
page "$jar" POST /stores --data-urlencode "csrf_token=$(page_csrf)" --data-urlencode name=d3 --data-urlencode engine=medusa
is "$STATUS" 429 "the form gets 429 too"
like "$(header Retry-After)" '^[0-9]+$' "with Retry-After"
like "$BODY" 'flash-error' "and the reason on the page"

# --- Idempotency-Key -----------------------------------------------------------
e=$(user_token e@example.com) || bail "no token"
seq 1 50 | xargs -P 50 -I{} bash -c "create $e same-name key-1" >"$T/idem.txt"
is "$(q "select count(*) from stores s join users u on u.id = s.owner_id where u.email = 'e@example.com'")" 1 \
	"50 concurrent creates with one key -> exactly 1 store"
is "$(grep -c '^201$' "$T/idem.txt")|$(grep -c '^200$' "$T/idem.txt")" "1|49" "one 201, 49 replays with 200"
id1=$(q "select s.id from stores s join users u on u.id = s.owner_id where u.email = 'e@example.com'")
api_json POST /api/v1/stores "$e" '{"engine":"woocommerce","name":"same-name"}' -H 'Idempotency-Key: key-1'
is "$STATUS|$(json_get 'j["store"]["id"]')" "200|$id1" "same key, same body (members reordered) -> 200, the same store"
api_json POST /api/v1/stores "$e" '{"name":"other","engine":"woocommerce"}' -H 'Idempotency-Key: key-1'
is "$STATUS|$(json_get 'j["error"]["code"]')|$(json_get '",".join(j["error"]["fields"].keys())')" \
	"422|invalid|Idempotency-Key" "same key, different body -> 422"
api_json POST /api/v1/stores "$a" '{"name":"same-name","engine":"woocommerce"}' -H 'Idempotency-Key: key-1'
is "$STATUS|$(json_get 'j["error"]["code"]')" "429|quota_exceeded" "keys are per user: a's key-1 is a new request"
api_json POST /api/v1/stores "$e" '{"name":"x","engine":"woocommerce"}' -H "Idempotency-Key: $(printf 'k%.0s' $(seq 256))"
is "$STATUS" 422 "a 256-character key -> 422"
q "update idempotency_keys set created_at = now() - interval '25 hours'; update stores set created_at = created_at - interval '2 hours'" >/dev/null
api_json POST /api/v1/stores "$e" '{"name":"same-name","engine":"woocommerce"}' -H 'Idempotency-Key: key-1'
is "$STATUS" 201 "after 24 h the key is forgotten: a new store"
unlike "$(json_get 'j["store"]["id"]')" "^$id1\$" "with a new id"
is "$(q "select count(*) from idempotency_keys where created_at < now() - interval '24 hours'")" 0 \
	"expired keys were purged"
done_testing
