#!/bin/bash
# t0202 - failed sign-ins: 10 per account, N per address, 429 + Retry-After, counted in PostgreSQL.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-accounts.sh"

# A small per-address limit so the address rule can be reached after the account rule.
export SF_LOGIN_FAIL_ADDRESS=14
sf_stack
PW='a perfectly fine password'
login() { NOCOOKIES=1 json_post /api/v1/auth/login "{\"email\":\"$1\",\"password\":\"$2\"}"; }

json_post /api/v1/auth/register "{\"email\":\"eve@example.com\",\"password\":\"$PW\"}"
is "$STATUS" 202 "eve registered"
json_post /api/v1/auth/register "{\"email\":\"dan@example.com\",\"password\":\"$PW\"}"
is "$STATUS" 202 "dan registered"

statuses=""
window_start=$(date +%s)	# the window opens at the first failure
for i in $(seq 10); do
	login eve@example.com "wrong password $i"
	statuses="$statuses$STATUS "
done
is "$statuses" "401 401 401 401 401 401 401 401 401 401 " "10 failures answer 401"
is "$(q "select count from rate_limits where bucket = 'login.account' and key = 'eve@example.com'")" 10 \
	"failures are counted in PostgreSQL (shared by all workers)"
login eve@example.com "wrong password 11"
is "$STATUS" 429 "the 11th attempt -> 429"
is "$(json_get 'j["error"]["code"]')" rate_limited "code rate_limited"
ra=$(header Retry-After)
like "$ra" '^[0-9]+$' "Retry-After is a number of seconds"
# what is left of the window: 900 s less the time the failures took (slow under ASan)
left=$((900 - ($(date +%s) - window_start)))
ok "Retry-After is what is left of the 15-minute window ($ra, about $left)" \
	test "${ra:-0}" -ge $((left - 2)) -a "${ra:-0}" -le 900
login EVE@example.com "$PW"
is "$STATUS" 429 "even the right password is refused while the account is limited (any case)"
login dan@example.com "$PW"
is "$STATUS" 200 "another account from the same address still signs in"

# The address rule: 10 failures so far from 127.0.0.1 (the 429s are not failures).
for i in 1 2 3; do login "nobody$i@example.com" "wrong password"; done
is "$STATUS" 401 "failures on unknown accounts count for the address"
login nobody4@example.com "wrong password"
is "$STATUS" 401 "the 14th failure from this address is still answered"
login dan@example.com "$PW"
is "$STATUS" 429 "after 14 failures from one address, every account is refused"
is "$(q "select count from rate_limits where bucket = 'login.address' and key = '127.0.0.1'")" 14 \
	"counted per address as nginx reports it"

# A 300-byte email of 2-byte characters: the counter key is cut on a character boundary.
long=$(python3 -c 'print("é" * 150 + "@example.com")')
q "delete from rate_limits where bucket = 'login.address'"
login "$long" "wrong password"
is "$STATUS" 401 "an over-long non-ASCII email is an ordinary failure"
is "$(q "select length(key) from rate_limits where bucket = 'login.account' and key like 'é%'")" 127 \
	"its counter key is 254 bytes cut on a character boundary (127 characters)"
q "delete from rate_limits where bucket = 'login.address'"
for i in $(seq 14); do login "nobody$i@example.com" "wrong password"; done

# The HTML form gives the same answer.
http GET /login
csrf=$(csrf_from_body)
http POST /login --data-urlencode "csrf_token=$csrf" --data-urlencode email=dan@example.com \
	--data-urlencode "password=$PW"
is "$STATUS" 429 "the form is limited too"
like "$(header Retry-After)" '^[0-9]+$' "with Retry-After"
like "$(header Content-Type)" 'text/html' "as an HTML page"

# When the window has passed (aged in the database), sign-in works again.
q "update rate_limits set window_start = now() - interval '16 minutes'"
login eve@example.com "$PW"
is "$STATUS" 200 "after the window, the right password works again"
login eve@example.com "wrong again"
is "$STATUS" 401 "and a new window starts"
is "$(q "select count from rate_limits where bucket = 'login.account' and key = 'eve@example.com'")" 1 \
	"counting restarts at 1"
done_testing
