# lib-accounts.sh - helpers for the accounts tests (sourced after tests/lib.sh).

q() { psql -XAtqc "$1"; }

# The csrf_token of the first form in the last body.
csrf_from_body() {
	sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' "$T/body" | head -n 1
}

# The value of cookie NAME set by the last response ("" if none).
set_cookie_value() {
	grep -i "^set-cookie: $1=" "$T/headers" | head -n 1 | sed -e "s/^[^=]*=//" -e 's/;.*//' -e 's/\r$//'
}

# The whole Set-Cookie line for cookie NAME from the last response.
set_cookie_line() {
	grep -i "^set-cookie: $1=" "$T/headers" | head -n 1 | sed -e 's/^[^:]*: *//' -e 's/\r$//'
}

# Headers of the last response without Date (and the status line kept).
headers_sans_date() {
	grep -iv '^date:' "$T/headers" | tr -d '\r'
}

# A form POST with the CSRF token scraped from GET FORMPATH first (cookie jar kept).
form_post() {
	local formpath=$1 path=$2 csrf

	shift 2
	http GET "$formpath"
	csrf=$(csrf_from_body)
	http POST "$path" --data-urlencode "csrf_token=$csrf" "$@"
}

json_post() {
	local path=$1 body=$2

	shift 2
	http POST "$path" -H 'Content-Type: application/json' --data-binary "$body" "$@"
}
