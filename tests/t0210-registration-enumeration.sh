#!/bin/bash
# t0210 - registration does not tell whether an address has an account (issue "hardening", item 3).
#
# The bug: POST /register and POST /api/v1/auth/register answered 409 "an account
# with this email already exists" for a taken address and 201 (the form: a signed-in
# session) for a free one, so anyone could test addresses.  Now a free and a taken
# address get the same status, headers and body; the per-request values are named
# below (Date; on the page the redirect leads to, the browser's own CSRF token).
# The taken account is untouched, its owner still signs in and the would-be
# registrant does not; only the audit log records the attempt; and both cost one
# argon2id hash.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-accounts.sh"

sf_stack
PW='the owner password 1'
PW2='an intruder password 2'

# A browser of its own: cookie jar JAR (NOCOOKIES keeps http's default jar out of it).
browser() {
	local jar=$1

	shift
	NOCOOKIES=1 http "$@" -b "$jar" -c "$jar"
}
# Status line and headers of the last answer, Date left out (sorted: order is not meaning).
answer_headers() { headers_sans_date | sort; }

# --- the account that exists, signed in twice (a session and an API token) -------------
json_post /api/v1/auth/register "{\"email\":\"Owner@Example.com\",\"password\":\"$PW\"}"
is "$STATUS" 202 "the owner registers"
owner_row() {
	q "select id, email, password_hash, role, disabled_at, created_at from users
	   where lower(email) = 'owner@example.com'"
}
before=$(owner_row)
like "$before" '\|admin\|' "the owner is the first account, so admin"
NOCOOKIES=1 json_post /api/v1/auth/login "{\"email\":\"owner@example.com\",\"password\":\"$PW\"}"
otok=$(json_get 'j["token"]')
like "$otok" '^[A-Za-z0-9_-]{43}$' "the owner has an API token"
J0=$T/jar.owner
browser "$J0" GET /login
browser "$J0" POST /login --data-urlencode "csrf_token=$(csrf_from_body)" \
	--data-urlencode email=owner@example.com --data-urlencode "password=$PW"
is "$STATUS" 303 "the owner has a browser session"
sessions_before=$(q "select string_agg(encode(token_sha256, 'hex'), ',' order by id) from sessions")
tokens_before=$(q "select string_agg(encode(token_sha256, 'hex'), ',' order by id) from api_tokens where revoked_at is null")

# --- JSON: a free address and a taken one ------------------------------------------------
NOCOOKIES=1 json_post /api/v1/auth/register "{\"email\":\"new1@example.com\",\"password\":\"$PW2\"}"
s_new=$STATUS
h_new=$(answer_headers)
cp "$T/body" "$T/body.new"
is "$s_new" 202 "JSON, a free address -> 202"
is "$(json_get 'j["status"]')" accepted "JSON: status accepted"
like "$(json_get 'j["message"]')" 'POST /api/v1/auth/login' "JSON: the message says how to go on"
unlike "$BODY" 'new1|"id"|"role"|"user"' "JSON: nothing about the account (no email, id or role)"
unlike "$h_new" '^[Ss]et-[Cc]ookie:|^[Ll]ocation:' "JSON: no cookie, no Location"

for taken in owner@example.com OWNER@example.COM Owner@Example.com; do
	NOCOOKIES=1 json_post /api/v1/auth/register "{\"email\":\"$taken\",\"password\":\"$PW2\"}"
	is "$STATUS" "$s_new" "JSON, the taken address as $taken: the same status"
	is "$(answer_headers)" "$h_new" "JSON, $taken: the same headers, Date apart"
	ok "JSON, $taken: a byte-identical body" cmp -s "$T/body" "$T/body.new"
done

# --- HTML: each attempt from a fresh browser (its own CSRF cookie and token) ------------
# form_attempt N EMAIL: GET /register, POST it, then follow the redirect; the answers
# land in $T/post.N.* and $T/page.N.*, the CSRF token of that browser in $T/csrf.N.
form_attempt() {
	local n=$1 email=$2 jar=$T/jar.$1 csrf loc

	browser "$jar" GET /register
	csrf=$(csrf_from_body)
	printf '%s' "$csrf" >"$T/csrf.$n"
	browser "$jar" POST /register --data-urlencode "csrf_token=$csrf" \
		--data-urlencode "email=$email" --data-urlencode "password=$PW2"
	echo "$STATUS" >"$T/post.$n.status"
	answer_headers >"$T/post.$n.headers"
	cp "$T/body" "$T/post.$n.body"
	loc=$(header Location)
	browser "$jar" GET "$loc"
	echo "$STATUS" >"$T/page.$n.status"
	answer_headers >"$T/page.$n.headers"
	# The page carries this browser's CSRF token: the one per-browser value in it.
	sed "s/$csrf/CSRF/g" "$T/body" >"$T/page.$n.body"
}
form_attempt 1 new2@example.com
form_attempt 2 owner@example.com
form_attempt 3 OWNER@EXAMPLE.COM
unlike "$(cat "$T/csrf.1")" "^$(cat "$T/csrf.2")\$" "the two browsers had different CSRF tokens"
is "$(cat "$T/post.1.status")" 303 "form, a free address -> 303"
like "$(cat "$T/post.1.headers")" '^[Ll]ocation: /login\?registered=1$' "... to the sign-in page's notice"
unlike "$(cat "$T/post.1.headers")" '^[Ss]et-[Cc]ookie:' "... with no cookie: nobody is signed in"
is "$(cat "$T/page.1.status")" 200 "the sign-in page after registering"
like "$(cat "$T/page.1.body")" 'If this email address had no account yet' "shows the notice"
like "$(cat "$T/page.1.body")" 'name="password"' "with the sign-in form"
for n in 2 3; do
	is "$(cat "$T/post.$n.status")" "$(cat "$T/post.1.status")" "form, taken address (try $n): the same status"
	is "$(cat "$T/post.$n.headers")" "$(cat "$T/post.1.headers")" "form, try $n: the same headers, Date apart"
	ok "form, try $n: a byte-identical body" cmp -s "$T/post.$n.body" "$T/post.1.body"
	is "$(cat "$T/page.$n.status")" "$(cat "$T/page.1.status")" "the page it leads to, try $n: the same status"
	is "$(cat "$T/page.$n.headers")" "$(cat "$T/page.1.headers")" "... the same headers, Date apart"
	ok "... the same body, its CSRF token apart" cmp -s "$T/page.$n.body" "$T/page.1.body"
done

# --- the taken account did not change -------------------------------------------------------
is "$(owner_row)" "$before" "the owner's row is unchanged (password hash, role, email as spelled)"
is "$(q "select count(*) from users where lower(email) = 'owner@example.com'")" 1 "still one account for the address"
is "$(q "select string_agg(encode(token_sha256, 'hex'), ',' order by id) from sessions where user_id = (select id from users where lower(email) = 'owner@example.com')")" \
	"$sessions_before" "the owner's sessions are the same"
is "$(q "select string_agg(encode(token_sha256, 'hex'), ',' order by id) from api_tokens where revoked_at is null")" \
	"$tokens_before" "no API token made or revoked"
NOCOOKIES=1 http GET /api/v1/auth/me -H "Authorization: Bearer $otok"
is "$STATUS" 200 "the owner's API token still works"
browser "$J0" GET /account
is "$STATUS" 200 "the owner's browser session still works"
NOCOOKIES=1 json_post /api/v1/auth/login "{\"email\":\"owner@example.com\",\"password\":\"$PW\"}"
is "$STATUS" 200 "the owner signs in with the old password"
NOCOOKIES=1 json_post /api/v1/auth/login "{\"email\":\"owner@example.com\",\"password\":\"$PW2\"}"
is "$STATUS" 401 "the would-be registrant's password does not work"
browser "$T/jar.2" GET /login
browser "$T/jar.2" POST /login --data-urlencode "csrf_token=$(csrf_from_body)" \
	--data-urlencode email=owner@example.com --data-urlencode "password=$PW2"
is "$STATUS" 401 "not through the form either"
NOCOOKIES=1 json_post /api/v1/auth/login "{\"email\":\"new1@example.com\",\"password\":\"$PW2\"}"
is "$STATUS" 200 "the free address registered through JSON signs in"
is "$(json_get 'j["user"]["role"]')" tenant "as a tenant"
browser "$T/jar.1" POST /login --data-urlencode "csrf_token=$(cat "$T/csrf.1")" \
	--data-urlencode email=new2@example.com --data-urlencode "password=$PW2"
is "$STATUS" 303 "the free address registered through the form signs in"

# --- only the audit log knows ----------------------------------------------------------
is "$(q "select count(*) from audit_log where action = 'user.register_existing'")" 5 \
	"each attempt on the taken address is audited (3 JSON, 2 form)"
is "$(q "select string_agg(distinct target, ',') from audit_log where action = 'user.register_existing'")" \
	owner@example.com "with the address (lower-cased) as target"
is "$(q "select string_agg(details->>'via', ',' order by id) from audit_log where action = 'user.register_existing'")" \
	api,api,api,form,form "and the door it came through"
is "$(q "select count(*) from audit_log where action = 'user.register_existing' and (ip is null or actor_id is not null)")" 0 \
	"from the source address, with no actor"
is "$(q "select count(*) from audit_log where action = 'user.register'")" 3 \
	"user.register only for the accounts made (owner, new1, new2)"
is "$(q "select count(*) from audit_log where details::text ~* 'password|intruder|owner password'")" 0 \
	"no password in the audit log"

# --- the time: a taken address costs a hash too ------------------------------------------
# The fastest of 5 each, taken in turns (tests/unit/t-auth.c does the same for login).
reg_time() {
	curl -s -o /dev/null -w '%{time_total}' -H 'Content-Type: application/json' \
		--data-binary "{\"email\":\"$1\",\"password\":\"$2\"}" "$BASE/api/v1/auth/register"
}
fastest() { printf '%s\n' "$@" | sort -g | head -n 1; }
t_new=() t_taken=() t_bad=()
for i in 1 2 3 4 5; do
	t_new+=("$(reg_time "timing$i@example.com" "$PW2")")
	t_taken+=("$(reg_time owner@example.com "$PW2")")
	t_bad+=("$(reg_time owner@example.com short)")
done
new=$(fastest "${t_new[@]}") taken=$(fastest "${t_taken[@]}") bad=$(fastest "${t_bad[@]}")
diag "fastest of 5 registrations: free $new s, taken $taken s, refused (weak password) $bad s"
ok "a taken address answers about as fast as a free one (within a factor 2)" \
	python3 -c 'import sys; n, t = map(float, sys.argv[1:]); sys.exit(not (n / 2 < t < n * 2))' "$new" "$taken"
ok "... because it costs a hash: slower than a refused (422) registration" \
	python3 -c 'import sys; t, b = map(float, sys.argv[1:]); sys.exit(not (t > b * 2))' "$taken" "$bad"
is "$(q "select count(*) from users where email like 'timing%'")" 5 "(the free ones were created)"

unlike "$(cat "$T/app.log")" 'killed by signal' "no worker crashed"
done_testing
