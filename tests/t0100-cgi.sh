#!/bin/bash
# t0100-cgi.sh - storefleet.fcgi as plain CGI: routing, statuses, the central body checks, error pages.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-http.sh"

# The /_test/ routes exist only in the test build of the program (page_test.c), never in
# storefleet.fcgi: lib-http.sh runs $SF_BUILD/bin/storefleet.fcgi, so give it that build.
PROD_BUILD=$SF_BUILD
FCGI=$PROD_BUILD/bin/storefleet.fcgi
mkdir -p "$T/build/bin"
ln -s "$PROD_BUILD/tests/storefleet-test.fcgi" "$T/build/bin/storefleet.fcgi"
SF_BUILD=$T/build

# --- basics -------------------------------------------------------------------
cgi GET /healthz
is "$CGI_RC" 0 "CGI mode answers one request and exits 0"
is "$CGI_STATUS" 200 "GET /healthz is 200"
is "$CGI_BODY" ok "healthz says ok"
is "$(cgi_header Content-Length)" 3 "Content-Length counts the body"
is "$(cgi_header Cache-Control)" no-store "dynamic responses carry Cache-Control: no-store"

cgi HEAD /healthz
is "$CGI_STATUS" 200 "HEAD /healthz answers like GET"
is "$(cgi_header Content-Length)" 3 "HEAD: Content-Length of the GET body"
is "$(wc -c <"$T/cgi.out" | tr -d ' ')" "$(sed -n '1,/^\r$/p' "$T/cgi.out" | wc -c | tr -d ' ')" \
	"HEAD: nothing after the headers"

# --- unknown paths and methods ----------------------------------------------------
cgi GET /no/such/page
is "$CGI_STATUS" 404 "unknown page is 404"
like "$(cgi_header Content-Type)" '^text/html' "404 for a page is HTML"
like "$CGI_BODY" 'There is no page at' "404 page says what was missing"

cgi GET '/%3Cscript%3Ealert(1)%3C/script%3E'
is "$CGI_STATUS" 404 "404 for a path with markup"
unlike "$CGI_BODY" '<script>alert' "the path is escaped in the error page"
like "$CGI_BODY" '&lt;script&gt;' "escaped as HTML entities"

cgi GET /api/v1/no-such-thing
is "$CGI_STATUS" 404 "unknown API path is 404"
is "$(cgi_header Content-Type)" application/json "404 under /api/ is JSON"
is "$(cgi_json "j['error']['code']")" not_found "error code not_found"
like "$(cgi_json "j['error']['message']")" '/api/v1/no-such-thing' "message names the path"

cgi POST /healthz
is "$CGI_STATUS" 405 "POST to a GET route is 405"
is "$(cgi_header Allow)" "GET, HEAD" "405 carries Allow: GET, HEAD"

cgi GET /_test/echo
is "$CGI_STATUS" 405 "GET to a POST-only API route is 405"
is "$(cgi_header Allow)" POST "Allow lists POST"
is "$(cgi_json "j['error']['code']")" method_not_allowed "405 JSON code"

cgi 'GET<x>' /healthz
is "$CGI_STATUS" 400 "a method that is not a token of capitals is 400"
cgi GET '/a%00b'
is "$CGI_STATUS" 400 "%00 in the path is 400"
cgi GET '/healthz?x=%zz'
is "$CGI_STATUS" 400 "malformed query string is 400"

# --- path patterns ---------------------------------------------------------------------
cgi GET /_test/params/42/x/caf%C3%A9
is "$CGI_STATUS" 200 "{name} segments match"
is "$(cgi_json "j['params']")" '["42", "caf\u00e9"]' "captures in order, percent-decoded"
cgi GET /_test/params//x/1
is "$CGI_STATUS" 404 "an empty segment does not match {name}"
cgi GET /_test/params/1/x/2/
is "$CGI_STATUS" 404 "a trailing slash does not match"
cgi GET /_test/params/1/2/x/3
is "$CGI_STATUS" 404 "{name} never spans a slash"
cgi PUT /_test/params/1/x/2
is "$CGI_STATUS" 405 "a known pattern with an unknown method is 405"
is "$(cgi_header Allow)" "GET, HEAD, DELETE" "Allow collects every method of the pattern"
cgi DELETE /_test/params/1/x/2
is "$CGI_STATUS" 200 "the second route of the same pattern answers its method"

# --- body size: 413 ------------------------------------------------------------------
printf '{}' >"$T/small.json"
cgi POST /_test/echo application/json "$T/small.json" -- CONTENT_LENGTH=1000000
is "$CGI_STATUS" 413 "declared Content-Length over body_max is 413"
is "$(cgi_json "j['error']['code']")" too_large "413 code too_large"

head -c 70000 /dev/zero | tr '\0' 'x' >"$T/big.json"
cgi POST /_test/echo application/json "$T/big.json" -- CONTENT_LENGTH=
is "$CGI_STATUS" 413 "a body over body_max without Content-Length is 413"

python3 -c 'import sys; s="{\"a\":\"" + "x"*(65536-8) + "\"}"; sys.stdout.write(s)' >"$T/edge.json"
is "$(stat -c %s "$T/edge.json")" 65536 "edge body is exactly body_max bytes"
cgi POST /_test/echo application/json "$T/edge.json"
is "$CGI_STATUS" 200 "a body of exactly body_max is accepted"

# --- content type: 415 -------------------------------------------------------------
cgi POST /_test/echo text/plain "$T/small.json"
is "$CGI_STATUS" 415 "JSON route with text/plain is 415"
is "$(cgi_json "j['error']['code']")" unsupported_media_type "415 code"
cgi POST /_test/echo $'text/\xff\xfe' "$T/small.json"
is "$CGI_STATUS" 415 "a content type with invalid UTF-8 is 415"
like "$(cgi_json "j['error']['message']")" "'\(invalid\)'" "and is not echoed back raw"
cgi POST /_test/echo "" "$T/small.json"
is "$CGI_STATUS" 415 "JSON route without Content-Type is 415"
cgi POST /_test/echo "Application/JSON; charset=utf-8" "$T/small.json"
is "$CGI_STATUS" 200 "media type is case-insensitive and parameters are ignored"
printf 'a=1' >"$T/form1"
cgi POST /_test/form application/json "$T/form1"
is "$CGI_STATUS" 415 "form route with application/json is 415"

printf 'a\0b\377c' >"$T/raw.bin"
cgi POST /_test/raw application/octet-stream "$T/raw.bin"
is "$CGI_STATUS" 200 "R_RAWBODY: any type, not parsed"
is "$(cgi_json "j['body_len']")" 5 "R_RAWBODY: every byte kept, NUL included"
is "$(cgi_json "j['nul_terminated']")" True "R_RAWBODY: NUL-terminated for convenience"
cgi POST /_test/raw application/octet-stream "$T/big.json" -- CONTENT_LENGTH=
is "$CGI_STATUS" 413 "R_RAWBODY: the size limit still applies"

# --- malformed bodies: 400 -------------------------------------------------------------
printf '{"a":' >"$T/bad.json"
cgi POST /_test/echo application/json "$T/bad.json"
is "$CGI_STATUS" 400 "truncated JSON is 400"
is "$(cgi_json "j['error']['code']")" bad_request "400 code bad_request"
like "$(cgi_json "j['error']['message']")" 'line 1 column' "400 message says where"
printf '[1,2]' >"$T/arr.json"
cgi POST /_test/echo application/json "$T/arr.json"
is "$CGI_STATUS" 400 "a JSON array body is 400"
python3 -c 'import sys; sys.stdout.write("{\"a\":" + "["*100 + "]"*100 + "}")' >"$T/deep.json"
cgi POST /_test/echo application/json "$T/deep.json"
is "$CGI_STATUS" 400 "JSON nested 100 deep is 400"
like "$(cgi_json "j['error']['message']")" deeper "message says too deep"
printf 'a=%%4' >"$T/badform"
cgi POST /_test/form application/x-www-form-urlencoded "$T/badform"
is "$CGI_STATUS" 400 "malformed percent-escape in a form is 400"

# --- invalid text: 422 with fields ---------------------------------------------------------
printf '{"name":"caf\xff"}' >"$T/utf.json"
cgi POST /_test/echo application/json "$T/utf.json"
is "$CGI_STATUS" 422 "invalid UTF-8 in a JSON string is 422"
is "$(cgi_json "j['error']['code']")" invalid "422 code invalid"
like "$(cgi_json "j['error']['fields']['name']")" 'UTF-8' "fields names the member"
printf '{"name":"a\\u0000b"}' >"$T/nul.json"
cgi POST /_test/echo application/json "$T/nul.json"
is "$CGI_STATUS" 422 "\\u0000 in a JSON string is 422"
printf 'email=a%%40b.c&name=x%%FFy' >"$T/utf.form"
cgi POST /_test/form application/x-www-form-urlencoded "$T/utf.form"
is "$CGI_STATUS" 422 "invalid UTF-8 in a form field is 422"
like "$(cgi_json "j['error']['fields']['name']")" 'UTF-8' "form 422 names the field"
printf 'name=a\0b' >"$T/nul.form"
cgi POST /_test/form application/x-www-form-urlencoded "$T/nul.form"
is "$CGI_STATUS" 422 "a raw NUL byte in a form is 422"
cgi POST /_test/form.html application/x-www-form-urlencoded "$T/utf.form"
is "$CGI_STATUS" 422 "HTML form route: 422"
like "$(cgi_header Content-Type)" '^text/html' "HTML route errors are pages"

printf 'email=a%%40b.c&name=two+words&empty=' >"$T/good.form"
cgi POST /_test/form application/x-www-form-urlencoded "$T/good.form"
is "$CGI_STATUS" 200 "a good form passes"
is "$(cgi_json "j['fields']['name']")" "two words" "form fields decoded"
is "$(cgi_json "j['fields']['email']")" "a@b.c" "percent-escapes decoded"

# --- authentication flags -----------------------------------------------------------------
cgi GET '/_test/whoami.html?x=%0D%0ASet-Cookie:%20evil=1'
is "$CGI_STATUS" 303 "R_AUTH page without a session redirects"
is "$(cgi_header Location)" '/login?next=%2F_test%2Fwhoami.html%3Fx%3D%250D%250ASet-Cookie%3A%2520evil%3D1' \
	"redirect to /login with next= (the query kept, encoded)"
unlike "$CGI_HEADERS" '^Set-Cookie: evil' "no header injected through the query"
cgi POST '/_test/whoami.html?a=1'
is "$CGI_STATUS" 303 "R_AUTH POST without a session redirects too"
is "$(cgi_header Location)" /login "... to /login without a next= it could not GET"
cgi GET /_test/whoami
is "$CGI_STATUS" 401 "R_AUTH API without a token is 401"
is "$(cgi_json "j['error']['code']")" unauthorized "401 code unauthorized"

# --- late failures become clean errors ---------------------------------------------------------
cgi GET /_test/late-fail
is "$CGI_STATUS" 500 "a failure after the body was built is a 500"
is "$(cgi_json "j['error']['code']")" internal "with the JSON error, not the half-built body"
unlike "$CGI_BODY" 'built|test: failure' "neither the partial body nor the internal detail leaks"
like "$(cat "$T/cgi.err")" 'test: failure after the body was built' "the detail goes to the log"
is "$(cgi_header Content-Length)" "$(printf '%s\n' "$CGI_BODY" | wc -c | tr -d ' ')" \
	"500 has a correct Content-Length"
cgi GET '/_test/big?kib=100'
is "$CGI_STATUS" 200 "a 100 KiB response is fine"
is "$(cgi_header Content-Length)" 102400 "its Content-Length"
cgi GET '/_test/big?kib=9000'
is "$CGI_STATUS" 500 "a response over the 8 MiB cap becomes a clean 500"
like "$CGI_BODY" 'Something went wrong' "an error page, not a truncated body"

# --- templates: error page fallback and --check ------------------------------------------------
mkdir -p "$T/empty"
cgi GET '/x%3Cb%3E' "" /dev/null -- SF_TEMPLATES_DIR="$T/empty"
is "$CGI_STATUS" 404 "without an error template: still a 404"
like "$CGI_BODY" '<h1>404 Not Found</h1>' "built-in error page"
like "$CGI_BODY" 'x&lt;b&gt;' "built-in page escapes too"

ok "--check passes on the real templates" sh -c '"$1" --check >/dev/null' sh "$FCGI"
mkdir -p "$T/badtpl/partials"
printf 'line one\n{{#open}}never closed\n' >"$T/badtpl/broken.html"
env SF_ROOT="$SF_ROOT" SF_TEMPLATES_DIR="$T/badtpl" "$FCGI" --check \
	>"$T/check.out" 2>&1
is "$?" 1 "--check exits 1 on a template syntax error"
like "$(cat "$T/check.out")" 'broken\.html:[0-9]+' "the error names file:line"

# --- listening: never on a public address ---------------------------------------------------
env SF_ROOT="$SF_ROOT" "$FCGI" --socket 0.0.0.0:9 >"$T/tcp.out" 2>&1
is "$?" 1 "--socket 0.0.0.0:PORT is refused"
like "$(cat "$T/tcp.out")" '127\.0\.0\.1' "the refusal says what is allowed"
env SF_ROOT="$SF_ROOT" "$FCGI" --socket :9 >/dev/null 2>&1
is "$?" 1 "--socket :PORT (any address) is refused"

# --- the program itself has no debug routes ---------------------------------------------------
SF_BUILD=$PROD_BUILD cgi GET /_test/params/1/x/2
is "$CGI_STATUS" 404 "storefleet.fcgi answers no /_test/ route, SF_TEST_ROUTES=1 or not"
SF_BUILD=$PROD_BUILD cgi POST /_test/echo application/json "$T/small.json"
is "$CGI_STATUS" 404 "... not even the echo"

done_testing
