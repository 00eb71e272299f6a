# lib-stores.sh - helpers for the store tests t05xx (sourced after tests/lib.sh).

q() { psql -XAtqc "$1"; }

# api METHOD PATH TOKEN [curl args...]: a JSON API call with a Bearer token, no cookies.
api() {
	local method=$1 path=$2 token=$3

	shift 3
	NOCOOKIES=1 http "$method" "$path" -H "Authorization: Bearer $token" "$@"
}

# api_json METHOD PATH TOKEN BODY [curl args...]
api_json() {
	local method=$1 path=$2 token=$3 body=$4

	shift 4
	api "$method" "$path" "$token" -H 'Content-Type: application/json' --data-binary "$body" "$@"
}

# user_token EMAIL: register EMAIL (the first one becomes admin) and print an API token.
user_token() {
	local email=$1

	NOCOOKIES=1 http POST /api/v1/auth/register -H 'Content-Type: application/json' \
		--data-binary "{\"email\":\"$email\",\"password\":\"correct horse battery\"}"
	[ "$STATUS" = 202 ] || { echo "register $email: $STATUS $BODY" >&2; return 1; }
	NOCOOKIES=1 http POST /api/v1/auth/login -H 'Content-Type: application/json' \
		--data-binary "{\"email\":\"$email\",\"password\":\"correct horse battery\"}"
	[ "$STATUS" = 200 ] || { echo "login $email: $STATUS $BODY" >&2; return 1; }
	json_get 'j["token"]'
}

# browser_login EMAIL JAR: sign in through the form, cookies kept in JAR.
browser_login() {
	local email=$1 jar=$2 csrf

	curl -s -c "$jar" -b "$jar" -o "$T/login.html" "$BASE/login"
	csrf=$(sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' "$T/login.html" | head -n 1)
	curl -s -c "$jar" -b "$jar" -o /dev/null -w '%{http_code}' "$BASE/login" \
		--data-urlencode "csrf_token=$csrf" --data-urlencode "email=$email" \
		--data-urlencode "password=correct horse battery"
}

# page JAR METHOD PATH [curl args...]: a browser request with JAR; sets STATUS BODY HEADERS.
page() {
	local jar=$1 method=$2 path=$3

	shift 3
	STATUS=$(curl -s -o "$T/body" -D "$T/headers" -w '%{http_code}' -X "$method" \
		-b "$jar" -c "$jar" "$@" "$BASE$path")
	BODY=$(cat "$T/body")
	HEADERS=$(cat "$T/headers")
}

# The csrf_token of the first form in the last body.
page_csrf() {
	sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' "$T/body" | head -n 1
}

# seed_stores EMAIL N [STATUS]: N stores owned by EMAIL straight into the database.
seed_stores() {
	q "INSERT INTO stores (id, owner_id, name, engine, status, desired, created_at)
	   SELECT chr(97 + (random() * 25)::int) || substr(md5(random()::text || g::text), 1, 7),
	          u.id, 'seed ' || g, CASE WHEN g % 2 = 0 THEN 'medusa' ELSE 'woocommerce' END,
	          '${3:-ready}', CASE WHEN '${3:-ready}' IN ('deleting', 'deleted') THEN 'absent' ELSE 'present' END,
	          now() - g * interval '1 second'
	   FROM users u, generate_series(1, $2) g WHERE u.email = '$1'"
}

# seal_hex KEYHEX TEXT: nonce || crypto_secretbox_easy(TEXT) in hex, as reconcile stores admin_secret.
seal_hex() {
	python3 - "$1" "$2" <<'PY'
import ctypes, ctypes.util, os, sys
s = ctypes.CDLL(ctypes.util.find_library("sodium"))
assert s.sodium_init() >= 0
key, msg = bytes.fromhex(sys.argv[1]), sys.argv[2].encode()
nonce = os.urandom(24)
out = ctypes.create_string_buffer(len(msg) + 16)
assert s.crypto_secretbox_easy(out, msg, ctypes.c_ulonglong(len(msg)), nonce, key) == 0
print((nonce + out.raw).hex())
PY
}
