#!/bin/bash
# t0200 - accounts through nginx: register, login, tokens, /auth/me, logout (HTML forms and JSON).
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-accounts.sh"

sf_stack
PW='correct horse battery'

# --- HTML: register (first user -> admin) ------------------------------------
http GET /register
is "$STATUS" 200 "GET /register"
csrf=$(csrf_from_body)
like "$csrf" '^[A-Za-z0-9_-]{43}$' "the register form carries a CSRF token"
like "$(set_cookie_line sf_csrf)" '^sf_csrf=[A-Za-z0-9_-]{43}; Path=/; HttpOnly; SameSite=Lax' \
	"pre-session CSRF cookie set with Path, HttpOnly, SameSite=Lax"
is "$(set_cookie_value sf_csrf)" "$csrf" "form token equals the pre-session cookie"
like "$BODY" '<label for="register-email">' "fields have labels"
like "$BODY" 'autocomplete="new-password"' "password field has autocomplete"

http POST /register --data-urlencode "csrf_token=$csrf" --data-urlencode email=Alice@Example.com \
	--data-urlencode "password=$PW"
is "$STATUS" 303 "POST /register -> 303"
# A taken address gets this same answer, so it cannot sign anyone in (t0210).
is "$(header Location)" "/login?registered=1" "-> the sign-in page, with a notice"
is "$(set_cookie_value sf_session)" "" "registration does not sign in"
is "$(q "select role from users where email = 'Alice@Example.com'")" admin "the first user is admin"
http GET "$(header Location)"
is "$STATUS" 200 "GET /login?registered=1"
like "$BODY" 'role="status">If this email address had no account yet' "the notice says what happened"
http POST /login --data-urlencode "csrf_token=$(csrf_from_body)" --data-urlencode email=Alice@Example.com \
	--data-urlencode "password=$PW"
is "$STATUS" 303 "then signing in -> 303"
is "$(header Location)" "/stores" "-> /stores"
reg_cookie=$(set_cookie_value sf_session)
like "$reg_cookie" '^[A-Za-z0-9_-]{43}$' "signing in sets the session cookie"
line=$(set_cookie_line sf_session)
like "$line" '; Path=/' "session cookie: Path=/"
like "$line" '; HttpOnly' "session cookie: HttpOnly"
like "$line" '; SameSite=Lax' "session cookie: SameSite=Lax"
unlike "$line" '; Secure' "no Secure in local plain-HTTP mode (cookie_secure=false)"
unlike "$line" 'Domain=' "no Domain attribute"
is "$(q "select count(*) from sessions where token_sha256 = sha256('$reg_cookie')")" 1 \
	"the session row holds the SHA-256 of the cookie"
is "$(q "select count(*) from sessions where position('$reg_cookie' in encode(token_sha256, 'escape')) > 0 or csrf_token = '$reg_cookie'")" 0 \
	"the cookie value itself is not stored"

http GET /account
is "$STATUS" 200 "GET /account while signed in"
like "$BODY" 'Alice@Example.com' "account page shows the email"
scsrf=$(csrf_from_body)
unlike "$scsrf" "^$csrf\$" "signed-in forms use the session's CSRF token, not the pre-session one"

NOCOOKIES=1 http GET /
is "$(header Location)" /login "GET / anonymous -> /login"
http GET /
is "$(header Location)" /stores "GET / signed in -> /stores"

# --- logout ---------------------------------------------------------------------
http POST /logout --data-urlencode "csrf_token=$scsrf"
is "$STATUS" 303 "POST /logout -> 303"
is "$(header Location)" "/login" "-> /login"
like "$(set_cookie_line sf_session)" '^sf_session=; Path=/; Max-Age=0' "logout clears the cookie"
is "$(q "select count(*) from sessions")" 0 "logout deletes the session row"
NOCOOKIES=1 http GET /account -H "Cookie: sf_session=$reg_cookie"
is "$STATUS" 303 "the old cookie no longer works"
like "$(header Location)" '^/login\?next=%2Faccount$' "anonymous /account -> /login?next=..."

# --- login with a planted session cookie: a new id, the planted one never promoted ------
planted=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
http GET /login
is "$STATUS" 200 "GET /login"
csrf=$(csrf_from_body)
like "$BODY" 'autocomplete="current-password"' "login password field has autocomplete"
NOCOOKIES=1 http POST /login -H "Cookie: sf_csrf=$csrf; sf_session=$planted" \
	--data-urlencode "csrf_token=$csrf" --data-urlencode email=alice@example.com \
	--data-urlencode "password=$PW"
is "$STATUS" 303 "POST /login with a planted session cookie (email in another case) -> 303"
is "$(grep -ci '^set-cookie: sf_session=' "$T/headers")" 1 "exactly one session cookie is set"
s1=$(set_cookie_value sf_session)
like "$s1" '^[A-Za-z0-9_-]{43}$' "login sets a session cookie"
unlike "$s1" "^$planted\$" "the planted cookie was not promoted"
is "$(q "select count(*) from sessions where token_sha256 = sha256('$planted')")" 0 \
	"no session for the planted value"
NOCOOKIES=1 http POST /login -H "Cookie: sf_csrf=$csrf; sf_session=$s1" \
	--data-urlencode "csrf_token=$csrf" --data-urlencode email=alice@example.com \
	--data-urlencode "password=$PW"
is "$STATUS" 403 "signed in, the login form needs the session's CSRF token, not the pre-session one"
NOCOOKIES=1 http GET /login -H "Cookie: sf_csrf=$csrf; sf_session=$s1"
scsrf=$(csrf_from_body)
NOCOOKIES=1 http POST /login -H "Cookie: sf_csrf=$csrf; sf_session=$s1" \
	--data-urlencode "csrf_token=$scsrf" --data-urlencode email=alice@example.com \
	--data-urlencode "password=$PW"
is "$STATUS" 303 "signing in again while signed in -> 303"
s2=$(set_cookie_value sf_session)
like "$s2" '^[A-Za-z0-9_-]{43}$' "second login sets a session cookie"
unlike "$s2" "^$s1\$" "a second login rotates the session id"
is "$(q "select count(*) from sessions where token_sha256 = sha256('$s1')")" 0 \
	"the session the browser brought was replaced"
NOCOOKIES=1 http GET /account -H "Cookie: sf_session=$s1"
is "$STATUS" 303 "the replaced session no longer works"
like "$(set_cookie_line sf_session)" '^sf_session=; Path=/; Max-Age=0' "and a GET clears the dead cookie"
# Continue with s2 in the cookie jar.
grep -v 'sf_session' "$T/cookies" >"$T/cookies.new"
printf '127.0.0.1\tFALSE\t/\tFALSE\t0\tsf_session\t%s\n' "$s2" >>"$T/cookies.new"
mv "$T/cookies.new" "$T/cookies"
http GET /account
is "$STATUS" 200 "the new session works"

# --- next: back to the page that asked, never to another site -----------------------
rm -f "$T/cookies"
http GET '/login?next=/account'
like "$BODY" 'name="next" value="/account"' "the form keeps next"
http POST /login --data-urlencode "csrf_token=$(csrf_from_body)" --data-urlencode next=/account \
	--data-urlencode email=alice@example.com --data-urlencode "password=$PW"
is "$(header Location)" /account "signed in -> back to next"
rm -f "$T/cookies"
http GET /login
http POST /login --data-urlencode "csrf_token=$(csrf_from_body)" --data-urlencode next=//evil.example \
	--data-urlencode email=alice@example.com --data-urlencode "password=$PW"
is "$(header Location)" /stores "next=//evil.example is ignored"

# --- API tokens from /account ------------------------------------------------------
http GET /account
scsrf=$(csrf_from_body)
http POST /account/tokens --data-urlencode "csrf_token=$scsrf" --data-urlencode name=ci-token
is "$STATUS" 200 "POST /account/tokens"
tok=$(printf '%s' "$BODY" | sed -n 's/.*id="new-token">\([^<]*\)<.*/\1/p')
like "$tok" '^[A-Za-z0-9_-]{43}$' "the new token is shown"
like "$(header Cache-Control)" 'no-store' "the page showing the token is not cached"
http GET /account
unlike "$BODY" "$tok" "the token is shown only once"
like "$BODY" 'ci-token' "the token is listed by name"
is "$(q "select encode(token_sha256, 'hex') from api_tokens where name = 'ci-token'")" \
	"$(printf %s "$tok" | sha256sum | cut -d' ' -f1)" "stored as SHA-256"

NOCOOKIES=1 http GET /api/v1/auth/me -H "Authorization: Bearer $tok"
is "$STATUS" 200 "GET /api/v1/auth/me with the token"
is "$(json_get 'j["email"]')" "Alice@Example.com" "me: email"
is "$(json_get 'j["role"]')" "admin" "me: role"
like "$(json_get 'j["id"]')" '^[0-9]+$' "me: id"
ok "last_used_at recorded" test "$(q "select last_used_at is not null from api_tokens where name = 'ci-token'")" = t
http GET /account
like "$BODY" 'ci-token' "still listed"
tid=$(q "select id from api_tokens where name = 'ci-token'")
scsrf=$(csrf_from_body)
http POST "/account/tokens/$tid/revoke" --data-urlencode "csrf_token=$scsrf"
is "$STATUS" 303 "revoke -> 303"
NOCOOKIES=1 http GET /api/v1/auth/me -H "Authorization: Bearer $tok"
is "$STATUS" 401 "a revoked token is refused at once"
is "$(json_get 'j["error"]["code"]')" unauthorized "401 JSON error code"
http POST "/account/tokens/$tid/revoke" --data-urlencode "csrf_token=$scsrf"
is "$STATUS" 404 "revoking twice -> 404"
http POST /account/tokens --data-urlencode "csrf_token=$scsrf" --data-urlencode \
	name="$(printf 'x%.0s' $(seq 65))"
is "$STATUS" 422 "a 65-character token name -> 422"

# --- JSON: register, login, me ---------------------------------------------------------
rm -f "$T/cookies"
json_post /api/v1/auth/register '{"email":"bob@example.com","password":"another good password"}'
is "$STATUS" 202 "POST /api/v1/auth/register -> 202"
is "$(json_get 'j["status"]')" accepted "register answers accepted"
is "$(json_get 'sorted(j)')" '["message", "status"]' "and nothing about the account"
unlike "$(header Set-Cookie)" 'sf_session' "the API register sets no cookie"
is "$(q "select role from users where email = 'bob@example.com'")" tenant "the second user is a tenant"
cp "$T/body" "$T/body.bob"
json_post /api/v1/auth/register '{"email":"BOB@example.com","password":"yet another password"}'
is "$STATUS" 202 "duplicate email (case-insensitive) -> 202, as for a new one (t0210)"
ok "with the same body" cmp -s "$T/body" "$T/body.bob"
is "$(q "select count(*) from users where lower(email) = 'bob@example.com'")" 1 "no second account"
json_post /api/v1/auth/register '{"email":"carol@example.com","password":"short"}'
is "$STATUS" 422 "short password -> 422"
like "$(json_get 'j["error"]["fields"]["password"]')" '10' "422 names the password field"
long=$(printf 'a%.0s' $(seq 257))
json_post /api/v1/auth/register "{\"email\":\"carol@example.com\",\"password\":\"$long\"}"
is "$STATUS" 422 "257-byte password -> 422"
json_post /api/v1/auth/register '{"email":"not an email","password":"another good password"}'
is "$STATUS" 422 "invalid email -> 422"
like "$(json_get 'j["error"]["fields"]["email"]')" 'email' "422 names the email field"
json_post /api/v1/auth/register '{"email":42,"password":"another good password"}'
is "$STATUS" 422 "email of the wrong type -> 422"
json_post /api/v1/auth/register '{"email":"carol@example.com","password":"abcdefghij\u0000kl"}'
is "$STATUS" 422 "a NUL byte in the password -> 422"
like "$(json_get 'j["error"]["fields"]["password"]')" 'NUL' "naming the field and the problem"
printf '{"email":"carol@example.com","password":"abcdefghij\377kl"}' >"$T/bad.json"
http POST /api/v1/auth/register -H 'Content-Type: application/json' --data-binary @"$T/bad.json"
is "$STATUS" 422 "invalid UTF-8 in the password -> 422"
http GET /register
http POST /register --data-urlencode "csrf_token=$(csrf_from_body)" --data-urlencode email=carol@example.com \
	--data 'password=abcdefghij%00kl'
is "$STATUS" 422 "the form: a NUL byte -> 422"
form_post /register /register --data-urlencode email=carol@example.com --data-urlencode password=short
is "$STATUS" 422 "the form: a short password -> 422"
like "$BODY" 'aria-invalid="true"' "the form marks the field invalid"
like "$BODY" 'value="carol@example.com"' "and keeps the email typed"
is "$(q "select count(*) from users where email like 'carol%'")" 0 "no state changed by bad input"

json_post /api/v1/auth/login '{"email":"bob@example.com","password":"another good password"}'
is "$STATUS" 200 "POST /api/v1/auth/login -> 200"
btok=$(json_get 'j["token"]')
like "$btok" '^[A-Za-z0-9_-]{43}$' "login answers a token"
like "$(json_get 'j["expires_at"]')" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' "with expires_at (UTC)"
is "$(json_get 'j["user"]["email"]')" bob@example.com "and the user"
unlike "$(header Set-Cookie)" 'sf_session' "the API login sets no cookie"
NOCOOKIES=1 http GET /api/v1/auth/me -H "Authorization: Bearer $btok"
is "$STATUS" 200 "the login token works as Bearer"
is "$(json_get 'j["role"]')" tenant "me: tenant"
NOCOOKIES=1 http GET /api/v1/auth/me
is "$STATUS" 401 "me without credentials -> 401"
NOCOOKIES=1 http GET /api/v1/auth/me -H "Authorization: Bearer ${btok%?}x"
is "$STATUS" 401 "me with a wrong token -> 401"

# --- unknown email and wrong password answer identically -----------------------------
NOCOOKIES=1 json_post /api/v1/auth/login '{"email":"nobody@example.com","password":"wrong password 1"}'
s_unknown=$STATUS
b_unknown=$(cat "$T/body")
h_unknown=$(headers_sans_date)
NOCOOKIES=1 json_post /api/v1/auth/login '{"email":"bob@example.com","password":"wrong password 1"}'
is "$s_unknown" 401 "unknown email -> 401"
is "$STATUS" "$s_unknown" "wrong password: same status"
is "$(cat "$T/body")" "$b_unknown" "JSON bodies are byte-identical"
is "$(headers_sans_date)" "$h_unknown" "headers identical except Date"

NOCOOKIES=1 http GET /login -H "Cookie: sf_csrf=$csrf"
NOCOOKIES=1 http POST /login -H "Cookie: sf_csrf=$csrf" --data-urlencode "csrf_token=$csrf" \
	--data-urlencode email=nobody@example.com --data-urlencode "password=wrong password 1"
s_unknown=$STATUS
cp "$T/body" "$T/body.unknown"
h_unknown=$(headers_sans_date)
NOCOOKIES=1 http POST /login -H "Cookie: sf_csrf=$csrf" --data-urlencode "csrf_token=$csrf" \
	--data-urlencode email=bob@example.com --data-urlencode "password=wrong password 1"
is "$s_unknown" 401 "HTML login, unknown email -> 401"
is "$STATUS" "$s_unknown" "HTML login, wrong password: same status"
ok "HTML bodies are byte-identical" cmp -s "$T/body" "$T/body.unknown"
is "$(headers_sans_date)" "$h_unknown" "HTML headers identical except Date"
like "$BODY" 'Invalid email or password' "the page says what failed, not which part"

# --- disabled users are refused at once --------------------------------------------
q "update users set disabled_at = now() where email = 'bob@example.com'"
NOCOOKIES=1 http GET /api/v1/auth/me -H "Authorization: Bearer $btok"
is "$STATUS" 401 "a disabled user's token is refused at once"
NOCOOKIES=1 json_post /api/v1/auth/login '{"email":"bob@example.com","password":"another good password"}'
is "$STATUS" 401 "a disabled user cannot sign in"
q "update users set disabled_at = null where email = 'bob@example.com'"

# --- audit ------------------------------------------------------------------------
audit() { q "select count(*) from audit_log where action = '$1'"; }
ok "audit: register" test "$(audit user.register)" -ge 2
is "$(audit user.register_existing)" 1 "audit: the registration on a taken address"
ok "audit: login" test "$(audit user.login)" -ge 3
ok "audit: login_failed" test "$(audit user.login_failed)" -ge 4
ok "audit: logout" test "$(audit user.logout)" -ge 1
ok "audit: token.create" test "$(audit token.create)" -ge 2
ok "audit: token.revoke" test "$(audit token.revoke)" -ge 1
is "$(q "select details->>'email' from audit_log where action = 'user.login_failed' order by id limit 1")" \
	nobody@example.com "a failed login records the attempted email"
is "$(q "select ip from audit_log where action = 'user.login' limit 1")" 127.0.0.1 \
	"the source address comes from nginx"
is "$(q "select data_type from information_schema.columns where table_name = 'audit_log' and column_name = 'at'")" \
	"timestamp with time zone" "audit times are timestamptz (UTC instants)"
is "$(q "select count(*) from audit_log where details::text ~* 'password\"|wrong password|horse|$tok|$btok'")" 0 \
	"no password or token in the audit log"
# Regression: req_init's deferred buf_release ran after handle_one's frame was gone, and
# -O2 workers died with SIGSEGV after a login or two (the client still got its answer).
unlike "$(cat "$T/app.log")" 'killed by signal' "no worker crashed during the whole flow"
done_testing
