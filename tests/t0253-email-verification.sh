#!/bin/bash
# t0253 - email verification at registration (email_verification=required): a free address
# gets an activation link, a taken one a note, both the same answer; an unverified account
# signs in like a wrong password until the link is followed; the link works once.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-accounts.sh"
. "$SF_ROOT/tests/lib-mail.sh"

export SF_EMAIL_VERIFICATION=required
smtp_start "$T/smtp" || bail "no SMTP server"
sf_mail_stack
PW='a perfectly fine password'
"$SF_BUILD/bin/storefleetctl" user add owner@example.com >/dev/null || bail "cannot add a user"
is "$(oq "select email_verified_at is not null from users where email = 'owner@example.com'")" t \
	"an account made by storefleetctl counts as verified"

NOCOOKIES=1 json_post /api/v1/auth/register "{\"email\":\"new@example.com\",\"password\":\"$PW\"}"
is "$STATUS" 202 "register a free address: 202"
cp "$T/body" "$T/b1"
like "$(json_get 'j["message"]')" 'sent a link that activates the account' "the answer says to follow the link"
NOCOOKIES=1 json_post /api/v1/auth/register "{\"email\":\"owner@example.com\",\"password\":\"$PW\"}"
is "$STATUS" 202 "register a taken address: 202"
is "$(cat "$T/body")" "$(cat "$T/b1")" "... byte for byte the same body"
form_post /register /register --data-urlencode email=new2@example.com --data-urlencode "password=$PW"
http GET "$(header Location)"
like "$BODY" 'we sent it a link: open it to activate your account' "the form's notice says the same for both"

mail_run
is "$(mail_count)" 3 "three mails: two links and one note"
note=$(grep -l '^X-Sink-Rcpt-To: owner@example.com' "$SMTP_DIR"/msgs/*.eml)
is "$(mail_hdr "$note" Subject)" "Someone tried to register your storefleet address" "the taken address gets a note"
like "$(mail_text "$note")" "$SF_PUBLIC_ORIGIN/password/forgot" "... with where to reset the password"
f=$(grep -l '^X-Sink-Rcpt-To: new@example.com' "$SMTP_DIR"/msgs/*.eml)
is "$(mail_hdr "$f" Subject)" "Confirm your storefleet email address" "the free one gets a link"
link=$(mail_text "$f" | grep -o "$SF_PUBLIC_ORIGIN/verify?token=[A-Za-z0-9_-]*")
ok "... to /verify" test -n "$link"

# until the link: refused exactly like a wrong password
NOCOOKIES=1 json_post /api/v1/auth/login "{\"email\":\"new@example.com\",\"password\":\"$PW\"}"
is "$STATUS" 401 "the right password of an unverified account: 401"
cp "$T/body" "$T/l1"
NOCOOKIES=1 json_post /api/v1/auth/login "{\"email\":\"new@example.com\",\"password\":\"wrong password!\"}"
is "$(cat "$T/body")" "$(cat "$T/l1")" "... the same body as a wrong password"
NOCOOKIES=1 json_post /api/v1/auth/login "{\"email\":\"owner@example.com\",\"password\":\"$PW\"}"
is "$STATUS" 401 "the register-then-sign-in probe on the taken address: 401 too"

http GET "${link#"$SF_PUBLIC_ORIGIN"}"
is "$STATUS" 303 "the link: 303"
is "$(header Location)" "/login?verified=1" "... to sign in"
NOCOOKIES=1 json_post /api/v1/auth/login "{\"email\":\"new@example.com\",\"password\":\"$PW\"}"
is "$STATUS" 200 "now the account signs in"
http GET "${link#"$SF_PUBLIC_ORIGIN"}"
is "$STATUS" 400 "the link a second time: 400"
http GET "/verify?token=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
is "$STATUS" 400 "a guessed link: 400"
oq "update email_tokens set expires_at = now() - interval '1 second' where email = 'new2@example.com'"
link2=$(mail_text "$(grep -l '^X-Sink-Rcpt-To: new2@example.com' "$SMTP_DIR"/msgs/*.eml)" | grep -o "/verify?token=[A-Za-z0-9_-]*")
http GET "$link2"
is "$STATUS" 400 "an expired link: 400"
is "$(oq "select string_agg(action, ',' order by id) from audit_log where action = 'user.verify'")" "user.verify" \
	"the verification is audited"

# the forgot-password link verifies too
NOCOOKIES=1 json_post /api/v1/auth/forgot '{"email":"new2@example.com"}'
mail_run
tok=$(mail_last_token new2@example.com)
NOCOOKIES=1 json_post /api/v1/auth/reset "{\"token\":\"$tok\",\"password\":\"$PW\"}"
is "$STATUS" 200 "an unverified account resets its password"
NOCOOKIES=1 json_post /api/v1/auth/login "{\"email\":\"new2@example.com\",\"password\":\"$PW\"}"
is "$STATUS" 200 "... which verified it: it signs in"

# notification switches on the account page
rm -f "$T/cookies"
form_post /login /login --data-urlencode email=new@example.com --data-urlencode "password=$PW"
http GET /account
like "$BODY" 'name="store_failed" value="1" checked' "notifications are on by default"
form_post /account /account/notifications --data-urlencode store_ready=1
is "$STATUS" 303 "save: only 'store ready' ticked"
is "$(oq "select notify_store_ready || ' ' || notify_store_failed || ' ' || notify_upgrade_rolled_back from users where email = 'new@example.com'")" \
	"true false false" "the two others are off"
http GET /account
unlike "$BODY" 'name="store_failed" value="1" checked' "the page shows them off"
form_post /account /account/notifications
is "$(oq "select notify_store_ready from users where email = 'new@example.com'")" f "none ticked: all off"
http POST /account/notifications --data-urlencode store_ready=1
is "$STATUS" 403 "without the CSRF token: 403"

done_testing
