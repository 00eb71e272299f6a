#!/bin/bash
# t0252 - "forgot password" through a real SMTP server: the same answer for any address, a
# one-use link (hashed, 30 minutes, not guessable), a reset that signs out every session and
# keeps API tokens, rate limits per address and per source, every step audited; and the
# account page asking for the current password before a change.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-accounts.sh"
. "$SF_ROOT/tests/lib-mail.sh"

export SF_RESET_PER_EMAIL=3 SF_RESET_PER_ADDRESS=12
smtp_start "$T/smtp" || bail "no SMTP server"
sf_mail_stack
PW='the original password'
NEW='a brand new password'
jar_alice=$T/alice.jar

json_post /api/v1/auth/register "{\"email\":\"Alice@Example.com\",\"password\":\"$PW\"}"
is "$STATUS" 202 "alice registered"
# a browser session and an API token of alice's, to see what a reset ends and keeps
form_post /login /login --data-urlencode email=alice@example.com --data-urlencode "password=$PW" -c "$jar_alice"
is "$STATUS" 303 "alice signed in in a browser"
NOCOOKIES=1 json_post /api/v1/auth/login "{\"email\":\"alice@example.com\",\"password\":\"$PW\"}"
api_token=$(json_get 'j["token"]')
ok "alice has an API token" test -n "$api_token"
rm -f "$T/cookies"
# (registering queued the address link, t0253's subject: this test counts reset mail only)
oq "delete from outbox where kind = 'verify_email'"

# --- the pages ------------------------------------------------------------------------------
http GET /login
like "$BODY" '<a href="/password/forgot">Forgot password\?</a>' "the sign-in page links to 'Forgot password?'"
http GET /password/forgot
is "$STATUS" 200 "the forgot form"
like "$BODY" 'name="csrf_token" value="[^"]+"' "... with a CSRF token"
http POST /password/forgot --data-urlencode email=alice@example.com
is "$STATUS" 403 "without the CSRF token: 403"
is "$(oq "select count(*) from outbox where kind = 'password_reset'")" 0 "... and nothing queued"

# --- the same answer whether or not the address exists -----------------------------------------
form_post /password/forgot /password/forgot --data-urlencode email=ALICE@example.com
is "$STATUS" 303 "forgot (an account): 303"
is "$(header Location)" "/login?forgot=1" "... to the sign-in page"
headers_sans_date | grep -iv '^set-cookie' >"$T/h1"
cp "$T/body" "$T/b1"
form_post /password/forgot /password/forgot --data-urlencode email=nobody@example.com
is "$(headers_sans_date | grep -iv '^set-cookie')" "$(cat "$T/h1")" "forgot (no account): the same status and headers"
is "$(cat "$T/body")" "$(cat "$T/b1")" "... and the same body"
http GET /login?forgot=1
like "$BODY" 'If an account uses this email address, we sent it a link' "the notice does not say which"
NOCOOKIES=1 json_post /api/v1/auth/forgot '{"email":"alice@example.com"}'
is "$STATUS" 202 "API forgot (an account): 202"
cp "$T/body" "$T/j1"
NOCOOKIES=1 json_post /api/v1/auth/forgot '{"email":"nobody@example.com"}'
is "$STATUS" 202 "API forgot (no account): 202"
is "$(cat "$T/body")" "$(cat "$T/j1")" "... byte for byte the same body"
NOCOOKIES=1 json_post /api/v1/auth/forgot '{"email":"not an address"}'
is "$STATUS" 422 "a malformed address: 422 (says nothing about accounts)"

is "$(oq "select count(*) from outbox where rcpt = 'Alice@Example.com' and kind = 'password_reset'")" 2 \
	"two reset mails queued for alice (in the spelling she registered)"
is "$(oq "select count(*) from outbox where rcpt ilike 'nobody%'")" 0 "none for an address without an account"
is "$(oq "select count(*) from email_tokens where purpose = 'reset'")" 2 "two tokens, in the same transactions"
is "$(oq "select string_agg(details->>'outcome', ',' order by id) from audit_log where action = 'user.password_forgot'")" \
	"mailed,no_account,mailed,no_account" "each request is audited with what happened"

ok "storefleet-mail sends them" mail_run
is "$(mail_count)" 2 "the SMTP server received exactly two mails"
is "$(grep -l '^X-Sink-Rcpt-To: Alice@Example.com' "$SMTP_DIR"/msgs/*.eml | wc -l)" 2 "both to alice"
f=$(mail_files | tail -n 1)
is "$(mail_hdr "$f" Subject)" "Reset your storefleet password" "subject"
like "$(mail_text "$f")" "$SF_PUBLIC_ORIGIN/password/reset\\?token=" "the link is on public_origin"
like "$(mail_html "$f")" "<a href=\"$SF_PUBLIC_ORIGIN/password/reset\\?token=" "the HTML part links too"
tok=$(mail_last_token Alice@Example.com)
old_tok=$(mail_text "$(mail_files | head -n 1)" | sed -n 's|.*token=\([A-Za-z0-9_-]*\).*|\1|p' | head -n 1)
like "$tok" '^[A-Za-z0-9_-]{43}$' "a 256-bit base64url token"
is "$(oq "select count(*) from email_tokens where token_sha256 = sha256('$tok'::bytea)")" 1 "the database has its SHA-256"
is "$(oq "select count(*) from email_tokens where encode(token_sha256, 'escape') like '%$tok%' or email like '%$tok%'")" 0 "... not the token"
is "$(oq "select count(*) from outbox where message <> ''")" 0 "sent messages keep no text (no live link in the outbox)"
is "$(oq "select extract(epoch from expires_at - created_at)::int from email_tokens order by id desc limit 1")" 1800 \
	"the link works 30 minutes"

# --- the reset page ------------------------------------------------------------------------
http GET "/password/reset?token=$tok"
is "$STATUS" 200 "the link opens the reset form"
like "$BODY" "name=\"token\" value=\"$tok\"" "... with the token in a hidden field"
is "$(header Referrer-Policy)" "no-referrer" "... and no Referer leaves the page"
form_post "/password/reset?token=$tok" /password/reset --data-urlencode "token=$tok" --data-urlencode password=short
is "$STATUS" 422 "a weak new password: 422"
is "$(oq "select count(*) from email_tokens where used_at is null and purpose = 'reset'")" 2 "... and the token is not used up"
form_post "/password/reset?token=$tok" /password/reset --data-urlencode "token=$tok" --data-urlencode "password=$NEW"
is "$STATUS" 303 "a good new password: 303"
is "$(header Location)" "/login?reset=1" "... to sign in"

curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -b "$jar_alice" "$BASE/account" >"$T/acct"
like "$(cat "$T/acct")" '^303 .*/login' "alice's browser session has ended"
NOCOOKIES=1 http GET /api/v1/auth/me -H "Authorization: Bearer $api_token"
is "$STATUS" 200 "her API token still works"
NOCOOKIES=1 json_post /api/v1/auth/login "{\"email\":\"alice@example.com\",\"password\":\"$PW\"}"
is "$STATUS" 401 "the old password no longer signs in"
NOCOOKIES=1 json_post /api/v1/auth/login "{\"email\":\"alice@example.com\",\"password\":\"$NEW\"}"
is "$STATUS" 200 "the new one does"
is "$(oq "select count(*) from email_tokens where used_at is null and purpose = 'reset'")" 0 "using one link retired her other live link"

# --- reuse, older links, guesses, expiry ----------------------------------------------------
form_post /password/forgot /password/reset --data-urlencode "token=$tok" --data-urlencode "password=$NEW again"
is "$STATUS" 400 "the same link again: 400"
like "$BODY" 'not valid' "... saying the link is not valid"
NOCOOKIES=1 json_post /api/v1/auth/reset "{\"token\":\"$tok\",\"password\":\"$NEW again\"}"
is "$(json_get 'j["error"]["code"]')" invalid_token "the API says invalid_token for a used link"
NOCOOKIES=1 json_post /api/v1/auth/reset "{\"token\":\"$old_tok\",\"password\":\"$NEW again\"}"
is "$STATUS" 400 "the older link (retired by the reset) is refused"
guess=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')
NOCOOKIES=1 json_post /api/v1/auth/reset "{\"token\":\"$guess\",\"password\":\"$NEW again\"}"
is "$STATUS" 400 "a guessed token: 400"
for bad in '' 'x' "${tok}x" "$(printf 'a%.0s' {1..500})" '../../etc' "${tok:0:42}%"; do
	NOCOOKIES=1 json_post /api/v1/auth/reset "$(python3 -c 'import json,sys; print(json.dumps({"token": sys.argv[1], "password": "whatever password"}))' "$bad")"
	like "$STATUS" '^(400|422)$' "a malformed token ($(printf %.12s "$bad")...) is refused ($STATUS)"
done
NOCOOKIES=1 json_post /api/v1/auth/reset '{"token":5,"password":"whatever password"}'
is "$STATUS" 422 "a token that is not a string: 422"
http GET "/password/reset?token=$guess"
is "$STATUS" 400 "the reset page with a guessed token: 400"
unlike "$BODY" 'name="password"' "... and no password form"

NOCOOKIES=1 json_post /api/v1/auth/forgot '{"email":"alice@example.com"}'
mail_run
exp_tok=$(mail_last_token Alice@Example.com)
ok "a third link" test -n "$exp_tok" -a "$exp_tok" != "$tok"
oq "update email_tokens set expires_at = now() - interval '1 second', created_at = created_at - interval '30 minutes 1 second' where token_sha256 = sha256('$exp_tok'::bytea)"
NOCOOKIES=1 json_post /api/v1/auth/reset "{\"token\":\"$exp_tok\",\"password\":\"$NEW again\"}"
is "$STATUS" 400 "a link past its 30 minutes: 400"
NOCOOKIES=1 json_post /api/v1/auth/login "{\"email\":\"alice@example.com\",\"password\":\"$NEW\"}"
is "$STATUS" 200 "the password is unchanged"

# a disabled account gets no mail, and the same answer
json_post /api/v1/auth/register "{\"email\":\"dora@example.com\",\"password\":\"$PW\"}"
oq "update users set disabled_at = now() where email = 'dora@example.com'"
NOCOOKIES=1 json_post /api/v1/auth/forgot '{"email":"dora@example.com"}'
is "$(cat "$T/body")" "$(cat "$T/j1")" "a disabled account: the same answer"
is "$(oq "select count(*) from outbox where rcpt = 'dora@example.com' and kind = 'password_reset'")" 0 "... and no mail"

# --- the API reset ----------------------------------------------------------------------------
oq "update users set disabled_at = null where email = 'dora@example.com'"
NOCOOKIES=1 json_post /api/v1/auth/forgot '{"email":"dora@example.com"}'
mail_run
dtok=$(mail_last_token dora@example.com)
NOCOOKIES=1 json_post /api/v1/auth/reset "{\"token\":\"$dtok\",\"password\":\"$NEW\"}"
is "$STATUS" 200 "POST /api/v1/auth/reset: 200"
is "$(json_get 'j["status"]')" reset "... status reset"

is "$(oq "select count(*) filter (where action = 'user.password_reset') || ' ' || count(*) filter (where action = 'user.password_reset_refused') from audit_log")" \
	"2 10" "both resets and the 10 refused attempts (400s) are audited"
is "$(oq "select details->>'sessions_ended' from audit_log where action = 'user.password_reset' order by id limit 1")" 1 \
	"the reset's audit row says how many sessions ended"

# --- rate limits --------------------------------------------------------------------------------
oq "delete from rate_limits"
codes=""
for i in 1 2 3 4; do
	NOCOOKIES=1 json_post /api/v1/auth/forgot '{"email":"alice@example.com"}'
	codes="$codes$STATUS "
done
is "$codes" "202 202 202 429 " "per address: 3 requests an hour, then 429"
like "$(header Retry-After)" '^[0-9]+$' "... with Retry-After"
codes=""
for i in 1 2 3 4; do
	NOCOOKIES=1 json_post /api/v1/auth/forgot '{"email":"ghost@example.com"}'
	codes="$codes$STATUS "
done
is "$codes" "202 202 202 429 " "the same limit for an address without an account"
for i in $(seq 5); do NOCOOKIES=1 json_post /api/v1/auth/forgot "{\"email\":\"x$i@example.com\"}"; done
NOCOOKIES=1 json_post /api/v1/auth/forgot '{"email":"x9@example.com"}'
is "$STATUS" 429 "per source address: the 13th request of the hour is refused whatever the address"
is "$(oq "select count from rate_limits where bucket = 'reset.address' and key = '127.0.0.1'")" 12 \
	"counted per source address in PostgreSQL"
mail_run
is "$(oq "select count(*) from outbox where state <> 'sent'")" 0 "all queued mail went out"

# --- the account page: the current password first -------------------------------------------------
rm -f "$T/cookies"
form_post /login /login --data-urlencode email=alice@example.com --data-urlencode "password=$NEW"
form_post /account /account/password --data-urlencode current_password=wrong-password --data-urlencode "password=$PW 2"
is "$STATUS" 403 "change password with a wrong current password: 403"
like "$BODY" 'current password is not right' "... saying so"
form_post /account /account/password --data-urlencode "password=$PW 2"
is "$STATUS" 422 "without the current password: 422"
form_post /account /account/password --data-urlencode "current_password=$NEW" --data-urlencode "password=$PW 2"
is "$STATUS" 303 "with it: changed"
http GET /account
is "$STATUS" 200 "this browser stays signed in"
NOCOOKIES=1 json_post /api/v1/auth/login "{\"email\":\"alice@example.com\",\"password\":\"$PW 2\"}"
is "$STATUS" 200 "the new password signs in"
form_post /account /account/email --data-urlencode current_password=wrong-password --data-urlencode email=alice2@example.com
is "$STATUS" 403 "change email with a wrong current password: 403"
is "$(oq "select email from users where id = 1")" "Alice@Example.com" "... nothing changed"
form_post /account /account/email --data-urlencode "current_password=$PW 2" --data-urlencode email=alice2@example.com
is "$STATUS" 303 "with it: changed"
is "$(oq "select email || ' ' || (email_verified_at is null) from users where id = 1")" "alice2@example.com true" \
	"the new address is unverified"
is "$(oq "select count(*) from audit_log where action in ('user.password_change', 'user.email_change', 'user.change_refused')")" 4 \
	"changes and refusals are audited"

done_testing
