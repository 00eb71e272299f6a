#!/bin/bash
# t0205 - registration closed by configuration: the first account may still register, then 403.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-accounts.sh"

export SF_REGISTRATION_OPEN=false
sf_stack
PW='a perfectly fine password'

json_post /api/v1/auth/register "{\"email\":\"root@example.com\",\"password\":\"$PW\"}"
is "$STATUS" 202 "closed, but no users yet: the first account registers"
is "$(q "select role from users where email = 'root@example.com'")" admin "and becomes admin"
json_post /api/v1/auth/register "{\"email\":\"two@example.com\",\"password\":\"$PW\"}"
is "$STATUS" 403 "closed: the second registration -> 403"
is "$(json_get 'j["error"]["code"]')" forbidden "JSON code forbidden"
cp "$T/body" "$T/body.free"
json_post /api/v1/auth/register "{\"email\":\"root@example.com\",\"password\":\"$PW\"}"
is "$STATUS" 403 "closed: a taken address -> 403 too (closed is said before anything is looked up)"
ok "with the same body" cmp -s "$T/body" "$T/body.free"
rm -f "$T/cookies"
http GET /register
is "$STATUS" 403 "closed: GET /register -> 403 page"
http GET /login
http POST /register --data-urlencode "csrf_token=$(csrf_from_body)" \
	--data-urlencode email=three@example.com --data-urlencode "password=$PW"
is "$STATUS" 403 "closed: the form -> 403"
like "$(header Content-Type)" 'text/html' "as a page"
like "$BODY" 'registration is closed' "saying why"
http GET /login
unlike "$BODY" 'href="/register"' "the sign-in page does not offer registration"
is "$(q "select count(*) from users")" 1 "only the first account exists"
done_testing
