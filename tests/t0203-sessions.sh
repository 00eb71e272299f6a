#!/bin/bash
# t0203 - session lifetime: idle and absolute limits on the database clock, disabled users, touch.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-accounts.sh"

sf_stack
PW='a perfectly fine password'

signin() {
	rm -f "$T/cookies"
	q "delete from sessions"
	http GET /login
	http POST /login --data-urlencode "csrf_token=$(csrf_from_body)" \
		--data-urlencode "email=$1" --data-urlencode "password=$PW"
}

json_post /api/v1/auth/register "{\"email\":\"sam@example.com\",\"password\":\"$PW\"}"
is "$STATUS" 202 "sam registered"

# Every check on the plain lookup (/account) and on the store list, whose route loads
# the list in the session's own statement (route.session_join).
for page in /account /stores; do
	signin sam@example.com
	is "$STATUS" 303 "signed in ($page)"
	is "$(q "select extract(epoch from expires_at - created_at)::int from sessions")" 43200 \
		"absolute limit: 12 h by default ($page)"
	http GET "$page"
	is "$STATUS" 200 "fresh session works ($page)"

	# Idle: 30 minutes without a request ends the session.
	q "update sessions set last_seen_at = now() - interval '29 minutes'"
	http GET "$page"
	is "$STATUS" 200 "29 minutes idle: still signed in ($page)"
	ok "a request refreshes last_seen_at ($page)" \
		test "$(q "select last_seen_at > now() - interval '10 seconds' from sessions")" = t
	q "update sessions set last_seen_at = now() - interval '31 minutes'"
	http GET "$page"
	is "$STATUS" 303 "31 minutes idle: signed out ($page)"
	like "$(header Location)" '^/login' "sent to /login ($page)"
	like "$(set_cookie_line sf_session)" '^sf_session=; Path=/; Max-Age=0' "and the dead cookie is cleared ($page)"

	# A new sign-in sweeps the user's dead sessions.
	rm -f "$T/cookies"
	http GET /login
	http POST /login --data-urlencode "csrf_token=$(csrf_from_body)" \
		--data-urlencode "email=sam@example.com" --data-urlencode "password=$PW"
	is "$(q "select count(*) from sessions")" 1 "the idle session was deleted at the next sign-in ($page)"

	# Absolute: 12 hours after login, however active.
	signin sam@example.com
	q "update sessions set expires_at = now() - interval '1 second', last_seen_at = now()"
	http GET "$page"
	is "$STATUS" 303 "past the absolute limit: signed out ($page)"

	# Throttled touch: a session seen 10 s ago is not rewritten on every request.
	signin sam@example.com
	q "update sessions set last_seen_at = now() - interval '10 seconds'"
	before=$(q "select last_seen_at from sessions")
	http GET "$page"
	is "$(q "select last_seen_at from sessions")" "$before" "last_seen_at not rewritten within the throttle ($page)"

	# Disabled users lose their sessions at once.
	q "update users set disabled_at = now()"
	http GET "$page"
	is "$STATUS" 303 "a disabled user's session is refused at once ($page)"
	q "update users set disabled_at = null"
done

# A configured idle limit, awaited for real (SF_SESSION_IDLE, minimum 10 s).
stack_kill "app:$APP_PID"
SF_SESSION_IDLE=10 app_start "$T" 2 || bail "cannot restart the app"
signin sam@example.com
http GET /account
is "$STATUS" 200 "with SF_SESSION_IDLE=10: signed in"
# Every request would refresh the session, so wait on the database clock, then ask once.
q "update sessions set last_seen_at = now() - interval '8 seconds'"
idle_over() { [ "$(q "select now() - last_seen_at > interval '10 seconds' from sessions")" = t ]; }
ok "10 s of idleness pass (polled on the database clock)" wait_for 10 idle_over
http GET /account
is "$STATUS" 303 "after 10 s idle the session has expired"
done_testing
