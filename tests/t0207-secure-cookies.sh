#!/bin/bash
# t0207 - cookie_secure=true (the default): __Host- cookies with Secure, checked as plain CGI.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-accounts.sh"

pg_start "$T/pg" || bail "cannot start PostgreSQL"
sf_migrate || bail "migrate failed"
pw=$("$SF_BUILD/bin/storefleetctl" user add sec@example.com | sed -n 's/^password: //p')
CSRF=QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZn

# One request through storefleet.fcgi as plain CGI: cgi METHOD PATH [BODY] [COOKIE].
cgi() {
	local body=${3:-}

	printf '%s' "$body" | env -u SF_COOKIE_SECURE REQUEST_METHOD="$1" REQUEST_URI="$2" \
		SCRIPT_NAME="" QUERY_STRING="" HTTP_HOST=storefleet.example HTTPS=on \
		REQUEST_SCHEME=https SERVER_PORT=443 REMOTE_ADDR=127.0.0.1 \
		CONTENT_TYPE=application/x-www-form-urlencoded CONTENT_LENGTH=${#body} \
		HTTP_COOKIE="${4:-}" "$SF_BUILD/bin/storefleet.fcgi" >"$T/cgi.out" 2>"$T/cgi.err"
	tr -d '\r' <"$T/cgi.out" | sed '/^$/q' >"$T/cgi.headers"
}

cgi GET /login
like "$(head -n 1 "$T/cgi.headers")" '^Status: 200' "GET /login as CGI"
line=$(grep '^Set-Cookie: __Host-sf_csrf=' "$T/cgi.headers")
like "$line" '^Set-Cookie: __Host-sf_csrf=[A-Za-z0-9_-]{43}; Path=/; HttpOnly; SameSite=Lax; Secure$' \
	"pre-session CSRF cookie: __Host-, Path=/, HttpOnly, SameSite=Lax, Secure"
unlike "$(cat "$T/cgi.headers")" 'Set-Cookie: sf_' "no plain sf_ cookie in secure mode"

cgi POST /login "csrf_token=$CSRF&email=sec%40example.com&password=$pw" "__Host-sf_csrf=$CSRF"
like "$(head -n 1 "$T/cgi.headers")" '^Status: 303' "POST /login as CGI -> 303"
line=$(grep '^Set-Cookie: __Host-sf_session=' "$T/cgi.headers")
like "$line" '^Set-Cookie: __Host-sf_session=[A-Za-z0-9_-]{43}; Path=/; HttpOnly; SameSite=Lax; Secure$' \
	"session cookie: __Host-, Path=/, HttpOnly, SameSite=Lax, Secure, no Domain"
sess=$(printf '%s' "$line" | sed 's/^[^=]*=//; s/;.*//')

cgi GET /account "" "__Host-sf_session=$sess"
like "$(head -n 1 "$T/cgi.headers")" '^Status: 200' "the __Host- session cookie signs in"
cgi GET /account "" "sf_session=$sess"
like "$(head -n 1 "$T/cgi.headers")" '^Status: 303' "the plain name is not accepted in secure mode"

cgi POST /login "csrf_token=$CSRF&email=sec%40example.com&password=$pw" "sf_csrf=$CSRF"
like "$(head -n 1 "$T/cgi.headers")" '^Status: 403' "the plain CSRF cookie name is not accepted in secure mode"
done_testing
