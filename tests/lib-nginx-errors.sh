# lib-nginx-errors.sh - what nginx itself answers to hostile or broken requests (sourced, bash).
#
#   ngx_error_probe NAME HOST PORT [tls]   one TAP block: every error nginx can produce on
#       /api/ is the API's JSON error ({"error":{"code","message"}}) with its status and the
#       security headers; the same requests elsewhere get an HTML page.  Raw sockets, since
#       curl will not send a NUL or a bare CR in a header.

# ngx_raw HOST PORT TLS REQUEST_FILE: print "STATUS<TAB>CONTENT-TYPE<TAB>JSON-CODE<TAB>HAS-CSP"
ngx_raw() {
	python3 - "$@" <<'PY'
import json, socket, ssl, sys
host, port, tls, path = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "tls", sys.argv[4]
req = open(path, "rb").read()
s = socket.create_connection((host, port), timeout=10)
if tls:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s = ctx.wrap_socket(s, server_hostname="storefleet.example.com")
try:
    s.sendall(req)
except OSError:
    pass
data = b""
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
except OSError:
    pass
head, _, body = data.partition(b"\r\n\r\n")
lines = head.decode("latin-1").split("\r\n")
status = lines[0].split(" ")[1] if len(lines[0].split(" ")) > 1 else "none"
hdrs = {}
for l in lines[1:]:
    k, _, v = l.partition(":")
    hdrs[k.strip().lower()] = v.strip()
code = "-"
try:
    code = json.loads(body)["error"]["code"]
except Exception:
    pass
print("%s\t%s\t%s\t%s" % (status, hdrs.get("content-type", "-").split(";")[0], code,
                          "csp" if "content-security-policy" in hdrs else "nocsp"))
PY
}

# ngx_req FILE METHOD TARGET [HEADER-LINE...]: a raw HTTP/1.1 request, closed after the answer
ngx_req() {
	local f=$1 m=$2 target=$3 h

	shift 3
	{
		printf '%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n' "$m" "$target"
		for h in "$@"; do printf '%s\r\n' "$h"; done
		printf '\r\n'
	} >"$f"
}

ngx_error_probe() {
	local name=$1 host=$2 port=$3 tls=${4:-} f=$T/ngx-req got

	# a body over 64 KiB: nginx's 413, before the app is asked
	ngx_req "$f" POST /api/v1/stores "Content-Type: application/json" "Content-Length: 70000"
	head -c 70000 /dev/zero | tr '\0' ' ' >>"$f"
	got=$(ngx_raw "$host" "$port" "$tls" "$f")
	is "$got" "413	application/json	too_large	csp" "$name: a body over 64 KiB on the API: JSON 413"
	ngx_req "$f" POST /login "Content-Type: application/x-www-form-urlencoded" "Content-Length: 70000"
	head -c 70000 /dev/zero | tr '\0' a >>"$f"
	like "$(ngx_raw "$host" "$port" "$tls" "$f")" '^413	text/html' "$name: ... on a page: an HTML 413"

	# a NUL and a bare CR in a header
	printf 'GET /api/v1/stores HTTP/1.1\r\nHost: localhost\r\nX-Bad: a\0b\r\nConnection: close\r\n\r\n' >"$f"
	is "$(ngx_raw "$host" "$port" "$tls" "$f")" "400	application/json	bad_request	csp" \
		"$name: a NUL in a header on the API: JSON 400"
	printf 'GET /api/v1/stores HTTP/1.1\r\nHost: localhost\r\nX-Bad: a\rb\r\nConnection: close\r\n\r\n' >"$f"
	is "$(ngx_raw "$host" "$port" "$tls" "$f")" "400	application/json	bad_request	csp" \
		"$name: a bare CR in a header on the API: JSON 400"

	# an over-long header line (> 8 KiB: nginx's 494, sent as 400)
	ngx_req "$f" GET /api/v1/stores "X-Long: $(head -c 9000 /dev/zero | tr '\0' x)"
	is "$(ngx_raw "$host" "$port" "$tls" "$f")" "400	application/json	bad_request	csp" \
		"$name: an over-long header on the API: JSON 400"

	# %00 in the path
	ngx_req "$f" GET /api/v1/stores/%00
	is "$(ngx_raw "$host" "$port" "$tls" "$f")" "400	application/json	bad_request	csp" \
		"$name: %00 in an API path: JSON 400"

	# a 20 KB URL: the request line cannot be read, so the URL is unknown; JSON then
	ngx_req "$f" GET "/api/v1/stores?x=$(head -c 20000 /dev/zero | tr '\0' a)"
	is "$(ngx_raw "$host" "$port" "$tls" "$f")" "414	application/json	uri_too_long	csp" \
		"$name: a 20 KB API URL: JSON 414"

	# the app answers for itself: its own JSON 404 passes through untouched
	ngx_req "$f" GET /api/v1/no-such-thing
	like "$(ngx_raw "$host" "$port" "$tls" "$f")" '^404	application/json	not_found	csp$' \
		"$name: the app's own API 404 passes through"
	ngx_req "$f" GET /static/no-such-file.css
	like "$(ngx_raw "$host" "$port" "$tls" "$f")" '^404	text/html' "$name: a missing static file: an HTML 404"
	ngx_req "$f" GET /_errors/502
	like "$(ngx_raw "$host" "$port" "$tls" "$f")" '^404	' "$name: the error documents are not reachable from outside"
}

# ngx_down_probe NAME HOST PORT [tls]: with the app stopped, nginx's 502 on the API is JSON
ngx_down_probe() {
	local name=$1 host=$2 port=$3 tls=${4:-} f=$T/ngx-req

	ngx_req "$f" GET /api/v1/stores "Authorization: Bearer x"
	is "$(ngx_raw "$host" "$port" "$tls" "$f")" "502	application/json	unavailable	csp" \
		"$name: the app down, on the API: JSON 502"
	ngx_req "$f" POST /api/v1/stores "Content-Type: application/json" "Content-Length: 2"
	printf '{}' >>"$f"
	is "$(ngx_raw "$host" "$port" "$tls" "$f")" "502	application/json	unavailable	csp" \
		"$name: ... a POST too"
	ngx_req "$f" GET /login
	like "$(ngx_raw "$host" "$port" "$tls" "$f")" '^502	text/html' "$name: the app down, on a page: an HTML 502"
}
