#!/bin/bash
# t0204 - CSRF: token on every form, Origin / Sec-Fetch-Site checks, pre-session token, Bearer exemption.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-accounts.sh"

sf_stack
PW='a perfectly fine password'

# Pre-session forms (register, login) are protected too.
http GET /register
csrf=$(csrf_from_body)
http POST /register --data-urlencode email=a@example.com --data-urlencode "password=$PW"
is "$STATUS" 403 "register without csrf_token -> 403"
like "$BODY" 'did not come from this site' "the page explains"
http POST /register --data-urlencode "csrf_token=${csrf%?}x" --data-urlencode email=a@example.com \
	--data-urlencode "password=$PW"
is "$STATUS" 403 "register with a wrong token -> 403"
NOCOOKIES=1 http POST /register --data-urlencode "csrf_token=$csrf" --data-urlencode email=a@example.com \
	--data-urlencode "password=$PW"
is "$STATUS" 403 "the right token without its cookie -> 403"
http POST /register --data-urlencode "csrf_token=$csrf" --data-urlencode email=a@example.com \
	--data-urlencode "password=$PW" -H 'Origin: http://evil.example'
is "$STATUS" 403 "right token, foreign Origin -> 403"
http POST /register --data-urlencode "csrf_token=$csrf" --data-urlencode email=a@example.com \
	--data-urlencode "password=$PW" -H 'Sec-Fetch-Site: cross-site'
is "$STATUS" 403 "right token, Sec-Fetch-Site: cross-site -> 403"
is "$(q "select count(*) from users")" 0 "no account was created by a refused form"
http POST /register --data-urlencode "csrf_token=$csrf" --data-urlencode email=a@example.com \
	--data-urlencode "password=$PW" -H "Origin: $BASE" -H 'Sec-Fetch-Site: same-origin'
is "$STATUS" 303 "right token, our own Origin -> accepted"
http POST /login --data-urlencode "csrf_token=$csrf" --data-urlencode email=a@example.com \
	--data-urlencode "password=$PW" -H "Origin: $BASE"
is "$STATUS" 303 "the same pre-session token signs in (registering does not)"

# Signed-in forms use the session's token.
http GET /account
scsrf=$(csrf_from_body)
http POST /account/tokens --data-urlencode name=x
is "$STATUS" 403 "token create without csrf_token -> 403"
http POST /account/tokens --data-urlencode "csrf_token=$csrf" --data-urlencode name=x
is "$STATUS" 403 "the pre-session token is not the session's -> 403"
http POST /account/tokens --data-urlencode "csrf_token=$scsrf" --data-urlencode name=x \
	-H 'Origin: https://evil.example'
is "$STATUS" 403 "session token, foreign Origin -> 403"
http POST /account/tokens --data-urlencode "csrf_token=$scsrf" --data-urlencode name=x \
	-H 'Origin: null'
is "$STATUS" 403 "Origin: null -> 403"
is "$(q "select count(*) from api_tokens")" 0 "no token was created by a refused form"
http POST /logout -d ""
is "$STATUS" 403 "logout without csrf_token -> 403 (no forced sign-out)"
http POST /account/tokens --data-urlencode "csrf_token=$scsrf" --data-urlencode name=ok -H "Origin: $BASE"
is "$STATUS" 200 "session token, same Origin -> accepted"
tok=$(printf '%s' "$BODY" | sed -n 's/.*id="new-token">\([^<]*\)<.*/\1/p')
is "$(q "select count(*) from audit_log where action = 'auth.denied'")" 10 "each refusal is audited"
like "$(q "select details->>'reason' from audit_log where action = 'auth.denied' order by id desc limit 1")" \
	'csrf' "with the reason"

# A Bearer token has no ambient authority: no CSRF token needed.
NOCOOKIES=1 http POST /account/tokens -H "Authorization: Bearer $tok" --data-urlencode name=via-bearer
is "$STATUS" 200 "a Bearer-authenticated form post needs no CSRF token"
is "$(q "select count(*) from api_tokens where name = 'via-bearer'")" 1 "and it worked"
# Behind a TLS proxy the browser's origin is the public one, not what nginx sees.
stack_kill "app:$APP_PID"
SF_PUBLIC_ORIGIN=https://storefleet.example app_start "$T" 2 || bail "cannot restart the app"
http GET /account
scsrf=$(csrf_from_body)
http POST /account/tokens --data-urlencode "csrf_token=$scsrf" --data-urlencode name=pub \
	-H 'Origin: https://storefleet.example'
is "$STATUS" 200 "public_origin set: that Origin is accepted"
http POST /account/tokens --data-urlencode "csrf_token=$scsrf" --data-urlencode name=pub2 \
	-H 'Origin: https://storefleet.example.evil.example'
is "$STATUS" 403 "a longer origin sharing the prefix is refused"
http POST /account/tokens --data-urlencode "csrf_token=$scsrf" --data-urlencode name=pub3 \
	-H "Origin: ${BASE}0"
is "$STATUS" 403 "our host with another port is refused"
done_testing
