#!/bin/bash
# t0711 - /admin/users and /api/v1/admin/users: list, role changes, disable (sessions and tokens refused
# at once, login refused like a wrong password), enable, self and last-admin rules, audit rows, 403s.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-stores.sh"
. "$SF_ROOT/tests/lib-admin.sh"

CTL=$SF_BUILD/bin/storefleetctl
PW="correct horse battery"
sf_stack
admin=$(user_token admin@example.com) || bail "no admin"
tina=$(user_token tina@example.com) || bail "no token"
"$CTL" user add carl@example.com >/dev/null || bail "user add"
seed_stores tina@example.com 4 ready >/dev/null
q "update stores set status = 'deleted', desired = 'absent', deleted_at = now() where id = (select id from stores order by id limit 1)" >/dev/null
ADMIN_ID=$(uid_of admin@example.com) TINA_ID=$(uid_of tina@example.com) CARL_ID=$(uid_of carl@example.com)

# --- the list ---------------------------------------------------------------------------
api GET /api/v1/admin/users "$admin"
is "$STATUS|$(json_get 'len(j["users"])')|$(json_get 'j["next_cursor"]')" "200|3|None" "GET /api/v1/admin/users: 3 users, one page"
is "$(json_get 'sorted(j["users"][0].keys())')" \
	'["created_at", "disabled", "disabled_at", "email", "id", "last_login_at", "role", "store_count"]' \
	"a user: id, email, role, created, last login, disabled, store count"
is "$(json_get '" ".join(u["email"] + ":" + u["role"] for u in j["users"])')" \
	"admin@example.com:admin tina@example.com:tenant carl@example.com:tenant" "oldest account first, with roles"
is "$(json_get '[u["store_count"] for u in j["users"]]')" "[0, 3, 0]" "store counts leave deleted stores out"
is "$(json_get 'j["users"][1]["last_login_at"]')" \
	"$(q "select to_char(max(at) at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') from audit_log where action = 'user.login' and actor_id = $TINA_ID")" \
	"last login: the newest user.login row"
is "$(json_get 'j["users"][2]["last_login_at"]')|$(json_get 'j["users"][2]["disabled"]')|$(json_get 'j["users"][2]["disabled_at"]')" \
	"None|False|None" "never signed in: null; not disabled"
# Pages: 12 more accounts (straight into the table: hashing 12 passwords would only cost time).
q "insert into users (email, password_hash) select 'u' || g || '@example.com', 'x' from generate_series(1, 12) g" >/dev/null
walk_ids /api/v1/admin/users "$admin" users --data-urlencode limit=4
is "$WALK_IDS" "$(q_ids "select id from users order by id")" "pages of 4 visit all 15 users once, in id order"
is "$WALK_PAGES" 4 "in 4 pages"
for bad in limit=0 limit=201 limit=x cursor=zzz; do
	api GET "/api/v1/admin/users?$bad" "$admin"
	is "$STATUS|$(json_get 'list(j["error"]["fields"])')" "422|[\"${bad%%=*}\"]" "?$bad -> 422 on ${bad%%=*}"
done

# --- disable: the session and the token stop at once; login fails like a wrong password ----
tjar=$T/tina.jar ajar=$T/admin.jar
is "$(browser_login tina@example.com "$tjar")" 303 "tina signs in (browser)"
page "$tjar" GET /stores
is "$STATUS" 200 "tina's session works"
api GET /api/v1/auth/me "$tina"
is "$STATUS" 200 "tina's token works"
is "$(browser_login admin@example.com "$ajar")" 303 "the admin signs in (browser)"
page "$ajar" GET /admin/users
is "$STATUS" 200 "GET /admin/users"
like "$BODY" "action=\"/admin/users/$TINA_ID/disable\"" "a Disable form for tina"
unlike "$BODY" "action=\"/admin/users/$ADMIN_ID/(disable|role)\"" "no Disable or role form for oneself"
like "$BODY" 'aria-current="page">Users</a>' "the admin sub-navigation marks Users"
sessions_before=$(q "select count(*) from sessions where user_id = $TINA_ID")
page "$ajar" POST "/admin/users/$TINA_ID/disable" --data-urlencode "csrf_token=$(page_csrf)"
is "$STATUS|$(header Location)" "303|/admin/users?done=disable" "the Disable form -> 303 back to the list"
page "$tjar" GET /stores
is "$STATUS|$(header Location)" "303|/login?next=%2Fstores" "tina's very next page request goes to the login page"
page "$tjar" GET /api/v1/auth/me
is "$STATUS" 401 "her session cookie on the API -> 401"
api GET /api/v1/auth/me "$tina"
is "$STATUS|$(json_get 'j["error"]["code"]')" "401|unauthorized" "her API token -> 401"
api GET /api/v1/stores "$tina"
is "$STATUS" 401 "her token on GET /api/v1/stores (the one-round-trip lookup) -> 401"
is "$sessions_before|$(q "select count(*) from sessions where user_id = $TINA_ID")" "1|0" "her sessions were deleted"
is "$(q "select count(*) from api_tokens where user_id = $TINA_ID and revoked_at is null")" 1 "her token is kept (refused while disabled)"
is "$(q "select actor_email || '|' || target || '|' || ip || '|' || (details->>'sessions') from audit_log where action = 'user.disable'")" \
	"admin@example.com|tina@example.com|127.0.0.1|1" "audited: who, whom, from where, sessions ended"
page "$ajar" GET "/admin/users?done=disable"
like "$BODY" 'Account disabled' "the list says so"
like "$BODY" "action=\"/admin/users/$TINA_ID/enable\"" "and offers Enable"
# Login: the same answer as a wrong password, so it tells nobody which accounts exist.
login() { NOCOOKIES=1 http POST /api/v1/auth/login -H 'Content-Type: application/json' --data-binary "{\"email\":\"$1\",\"password\":\"$2\"}"; }
login tina@example.com "$PW"
disabled_answer="$STATUS $BODY"
login carl@example.com "not the password"
is "$disabled_answer" "$STATUS $BODY" "disabled + right password: the same answer as a wrong password"
login nobody@example.com "$PW"
is "$disabled_answer" "$STATUS $BODY" "and as an unknown email"
like "$disabled_answer" '^401 ' "401"
is "$(browser_login tina@example.com "$T/again.jar")" 401 "the login form refuses her too"

# --- enable -----------------------------------------------------------------------------------
api_json PATCH "/api/v1/admin/users/$TINA_ID" "$admin" '{"disabled":false}'
is "$STATUS|$(json_get 'j["user"]["disabled"]')|$(json_get 'j["user"]["disabled_at"]')" "200|False|None" \
	"PATCH {\"disabled\":false} -> 200, enabled"
login tina@example.com "$PW"
is "$STATUS" 200 "she can sign in again"
api GET /api/v1/auth/me "$tina"
is "$STATUS" 200 "and her kept token works again"
is "$(q "select count(*) from audit_log where action = 'user.enable' and target = 'tina@example.com' and actor_email = 'admin@example.com'")" 1 \
	"enable audited"
audits=$(q "select count(*) from audit_log")
api_json PATCH "/api/v1/admin/users/$TINA_ID" "$admin" '{"disabled":false}'
is "$STATUS|$(q "select count(*) from audit_log")" "200|$audits" "enabling an enabled user: 200, nothing recorded"
api_json PATCH "/api/v1/admin/users/$TINA_ID" "$admin" '{"disabled":true}'
is "$STATUS|$(json_get 'j["user"]["disabled"]')" "200|True" "PATCH {\"disabled\":true} disables"
api GET /api/v1/auth/me "$tina"
is "$STATUS" 401 "and her token is refused at once"
page "$ajar" GET /admin/users
page "$ajar" POST "/admin/users/$TINA_ID/enable" --data-urlencode "csrf_token=$(page_csrf)"
is "$STATUS|$(header Location)" "303|/admin/users?done=enable" "the Enable form -> 303"
api GET /api/v1/auth/me "$tina"
is "$STATUS" 200 "her token works again"

# --- roles ----------------------------------------------------------------------------------
api_json PATCH "/api/v1/admin/users/$TINA_ID" "$admin" '{"role":"admin"}'
is "$STATUS|$(json_get 'j["user"]["role"]')" "200|admin" "PATCH {\"role\":\"admin\"} -> 200"
api GET /api/v1/auth/me "$tina"
is "$(json_get 'j["role"]')" admin "/api/v1/auth/me shows the new role at once"
api GET /api/v1/admin/users "$tina"
is "$STATUS" 200 "and the admin API opens to her"
page "$ajar" GET /admin/users
page "$ajar" POST "/admin/users/$TINA_ID/role" --data-urlencode "csrf_token=$(page_csrf)" --data-urlencode role=tenant
is "$STATUS|$(header Location)" "303|/admin/users?done=role" "the role form (tenant) -> 303"
api GET /api/v1/auth/me "$tina"
is "$(json_get 'j["role"]')" tenant "me: tenant again"
api GET /api/v1/admin/users "$tina"
is "$STATUS" 403 "and the admin API is closed again"
is "$(q "select string_agg(details->>'from' || '>' || (details->>'to'), ',' order by id) from audit_log where action = 'user.role' and target = 'tina@example.com'")" \
	"tenant>admin,admin>tenant" "both role changes audited with from and to"
page "$ajar" GET /admin/users
page "$ajar" POST "/admin/users/$TINA_ID/role" --data-urlencode "csrf_token=$(page_csrf)" --data-urlencode role=root
is "$STATUS" 422 "the role form with role=root -> 422"
page "$ajar" POST "/admin/users/$TINA_ID/role" --data-urlencode role=admin
is "$STATUS" 403 "the role form without a CSRF token -> 403"
is "$(q "select role from users where id = $TINA_ID")" tenant "and nothing changed"

# --- oneself, the last admin ----------------------------------------------------------------
api_json PATCH "/api/v1/admin/users/$ADMIN_ID" "$admin" '{"role":"tenant"}'
is "$STATUS|$(json_get 'j["error"]["code"]')" "409|conflict" "demoting oneself -> 409"
like "$(json_get 'j["error"]["message"]')" "cannot demote your own account" "with the reason"
api_json PATCH "/api/v1/admin/users/$ADMIN_ID" "$admin" '{"disabled":true}'
is "$STATUS" 409 "disabling oneself -> 409"
like "$(json_get 'j["error"]["message"]')" "cannot disable your own account" "with the reason"
page "$ajar" GET /admin/users
page "$ajar" POST "/admin/users/$ADMIN_ID/disable" --data-urlencode "csrf_token=$(page_csrf)"
is "$STATUS" 409 "the Disable form on oneself -> 409"
like "$BODY" 'cannot disable your own account' "the page says why"
out=$("$CTL" user role admin@example.com tenant 2>&1)
is "$?" 1 "storefleetctl cannot demote the last admin"
like "$out" 'admin@example.com is the last administrator' "and says why"
out=$("$CTL" user disable admin@example.com 2>&1)
is "$?|$(q "select role || (disabled_at is null) from users where id = $ADMIN_ID")" "1|admintrue" \
	"nor disable them; still an enabled admin"
# Two admins demoting each other at the same moment: one wins, one admin remains.
api_json PATCH "/api/v1/admin/users/$CARL_ID" "$admin" '{"role":"admin"}'
carl=$("$CTL" token create carl@example.com)
curl -s -o /dev/null -w '%{http_code}\n' -X PATCH -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
	--data-binary '{"role":"tenant"}' "$BASE/api/v1/admin/users/$CARL_ID" >"$T/race1" &
p1=$!
curl -s -o /dev/null -w '%{http_code}\n' -X PATCH -H "Authorization: Bearer $carl" -H 'Content-Type: application/json' \
	--data-binary '{"role":"tenant"}' "$BASE/api/v1/admin/users/$ADMIN_ID" >"$T/race2" &
p2=$!
wait $p1 $p2
is "$(cat "$T/race1" "$T/race2" | sort | tr '\n' ' ')" "200 403 " "crossed demotions: one 200, the other refused (its actor is no longer an admin)"
is "$(q "select count(*) from users where role = 'admin' and disabled_at is null")" 1 "exactly one admin remains"
api_json PATCH "/api/v1/admin/users/$CARL_ID" "$admin" '{"role":"tenant"}' >/dev/null
api_json PATCH "/api/v1/admin/users/$ADMIN_ID" "$carl" '{"role":"tenant"}' >/dev/null
q "update users set role = 'admin' where id = $ADMIN_ID" >/dev/null
out=$("$CTL" user disable carl@example.com)
is "$?|$out" "0|carl@example.com: disabled" "storefleetctl user disable"
api GET /api/v1/auth/me "$carl"
is "$STATUS" 401 "refuses the user's token at once"
is "$(q "select actor_email || '|' || target from audit_log where action = 'user.disable' order by id desc limit 1")" \
	"storefleetctl|carl@example.com" "audited with the operator as actor"
out=$("$CTL" user enable carl@example.com)
is "$?|$out" "0|carl@example.com: enabled" "storefleetctl user enable"
api GET /api/v1/auth/me "$carl"
is "$STATUS" 200 "the token works again"

# --- bad requests -----------------------------------------------------------------------------
bad() {	# bad BODY FIELD
	api_json PATCH "/api/v1/admin/users/$TINA_ID" "$admin" "$1"
	is "$STATUS|$(json_get 'list(j["error"]["fields"])')" "422|[\"$2\"]" "PATCH $1 -> 422 on $2"
}
bad '{"role":"root"}' role
bad '{"role":1}' role
bad '{"disabled":"yes"}' disabled
bad '{"disable":true}' disable
bad '{}' body
api_json PATCH /api/v1/admin/users/999999 "$admin" '{"role":"admin"}'
is "$STATUS|$(json_get 'j["error"]["code"]')" "404|not_found" "an unknown user -> 404"
api_json PATCH /api/v1/admin/users/abc "$admin" '{"role":"admin"}'
is "$STATUS" 404 "a non-numeric id -> 404"
api PATCH "/api/v1/admin/users/$TINA_ID" "$admin" -H 'Content-Type: text/plain' --data-binary 'role=admin'
is "$STATUS" 415 "not JSON -> 415"

# --- tenants and strangers --------------------------------------------------------------------
page "$tjar" GET /stores
is "$(browser_login tina@example.com "$tjar")" 303 "tina signs in again"
page "$tjar" GET /stores
tcsrf=$(page_csrf)
for u in /admin/stores /admin/users /admin/audit; do
	page "$tjar" GET "$u"
	is "$STATUS" 403 "a tenant's browser: GET $u -> 403"
	NOCOOKIES=1 http GET "$u"
	is "$STATUS|$(header Location)" "303|/login?next=$(python3 -c 'import sys,urllib.parse;print(urllib.parse.quote(sys.argv[1],safe=""))' "$u")" \
		"nobody signed in: GET $u -> the login page"
done
for act in role disable enable; do
	page "$tjar" POST "/admin/users/$ADMIN_ID/$act" --data-urlencode "csrf_token=$tcsrf" --data-urlencode role=tenant
	is "$STATUS" 403 "a tenant's form POST /admin/users/{id}/$act -> 403"
done
for u in /api/v1/admin/stores /api/v1/admin/users /api/v1/audit; do
	api GET "$u" "$tina"
	is "$STATUS|$(json_get 'j["error"]["code"]')" "403|forbidden" "a tenant's token: GET $u -> 403"
done
api_json PATCH "/api/v1/admin/users/$TINA_ID" "$tina" '{"role":"admin"}'
is "$STATUS|$(q "select role from users where id = $TINA_ID")" "403|tenant" "a tenant cannot PATCH (herself either)"
is "$(q "select count(*) from audit_log where action = 'auth.denied' and actor_email = 'tina@example.com'")" 11 \
	"every refusal is audited"

# --- escaping ---------------------------------------------------------------------------------
q "update users set email = 'x<img src=x onerror=alert(1)>@example.com' where email = 'u1@example.com'" >/dev/null
page "$ajar" GET /admin/users
like "$BODY" 'x&lt;img src=x onerror=alert\(1\)&gt;@example.com' "an email renders escaped on /admin/users"
unlike "$BODY" '<img src=x' "never raw"
like "$BODY" 'href="/admin/stores\?owner=x%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E%40example.com"' \
	"the link to their stores is URL-encoded"
done_testing
