# lib-http.sh - run storefleet.fcgi as plain CGI for fast page tests (sourced after lib.sh).
#
#   cgi METHOD URI [CONTENT_TYPE [BODY_FILE]] [-- VAR=VALUE...]
#       runs one request in a clean environment (SF_ROOT and
#       whatever follows --); sets CGI_STATUS, CGI_BODY, CGI_HEADERS and CGI_RC.
#       With BODY_FILE, CONTENT_LENGTH is its size unless given after --.
#   cgi_header NAME   value of a response header of the last cgi call

cgi() {
	local method=$1 uri=$2 ctype=${3:-} body=${4:-/dev/null} path query extra=()

	shift $(($# < 4 ? $# : 4))
	[ "${1:-}" = "--" ] && shift && extra=("$@")
	path=${uri%%\?*}
	query=""
	[ "$path" != "$uri" ] && query=${uri#*\?}
	local envs=(PATH="$PATH" SF_ROOT="$SF_ROOT" SF_COOKIE_SECURE=false
		REQUEST_METHOD="$method" REQUEST_URI="$uri" QUERY_STRING="$query"
		REMOTE_ADDR=127.0.0.1 GATEWAY_INTERFACE=CGI/1.1 SERVER_PROTOCOL=HTTP/1.1)
	[ -n "$ctype" ] && envs+=(CONTENT_TYPE="$ctype")
	[ "$body" != /dev/null ] && envs+=(CONTENT_LENGTH="$(stat -c %s "$body")")
	env -i "${envs[@]}" "${extra[@]}" "$SF_BUILD/bin/storefleet.fcgi" <"$body" \
		>"$T/cgi.out" 2>"$T/cgi.err"
	CGI_RC=$?
	# Headers end at the first empty line (CRLF CRLF).
	CGI_HEADERS=$(sed -n '1,/^\r\{0,1\}$/p' "$T/cgi.out" | tr -d '\r')
	CGI_BODY=$(sed '1,/^\r\{0,1\}$/d' "$T/cgi.out")
	CGI_STATUS=$(printf '%s\n' "$CGI_HEADERS" | sed -n 's/^Status: \([0-9]*\).*/\1/p')
}

cgi_header() {
	printf '%s\n' "$CGI_HEADERS" | grep -i "^$1:" | head -n 1 | sed 's/^[^:]*: *//'
}

# JSON value of the last cgi body: cgi_json "j['error']['code']"
cgi_json() {
	printf '%s' "$CGI_BODY" | python3 -c 'import json,sys; j=json.load(sys.stdin); v=eval(sys.argv[1]); print(v if not isinstance(v,(dict,list)) else json.dumps(v, sort_keys=True))' "$1" 2>/dev/null
}
