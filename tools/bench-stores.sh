#!/bin/bash
# bench-stores.sh - authenticated store listings through nginx, next to the bare FastCGI hello-world.
#
#   SF_BUILD=build tools/bench-stores.sh      (BENCH_SECONDS=10 BENCH_CONNS=32 BENCH_WORKERS=2)
#
# Starts its own stack in a temp dir (PostgreSQL, schema, one tenant with 20 stores seeded
# in SQL, an API token and a browser session, the workers, nginx) plus fcgi-hello behind a
# second nginx, runs wrk (2 threads) against each endpoint, prints one table and stops
# everything it started by PID.  Targets (issue 15): GET /api/v1/stores with 20 stores
# >= 0.40 x hello-world with p99 <= 8 ms at 32 connections; GET /stores >= 0.9 x that.
# nginx keeps its connections to the workers (fastcgi_keep_conn) for both programs; the
# row "hello-world, a connection each" is the ceiling as it was measured before that.
. "$(dirname "$0")/benchlib.sh"
bench_init bench-stores
bench_hello_start
# The same hello-world behind an nginx that opens a connection per request.
mkdir -p "$D/hello1"
ln -s "$D/hello/fcgi.sock" "$D/hello1/fcgi.sock"
NGINX_KEEP_CONN=off nginx_start "$D/hello1" || exit 1
hello1_base=$BASE

app_start "$D" "$nworkers" || exit 1
nginx_start "$D" || exit 1

# A tenant (after a first account, the admin), 20 stores, a token and a session cookie.
pw='bench horse battery staple'
for email in admin@example.com bench@example.com; do
	curl -s -o /dev/null -H 'Content-Type: application/json' \
		--data-binary "{\"email\":\"$email\",\"password\":\"$pw\"}" "$BASE/api/v1/auth/register"
done
token=$(curl -s -H 'Content-Type: application/json' \
	--data-binary "{\"email\":\"bench@example.com\",\"password\":\"$pw\"}" "$BASE/api/v1/auth/login" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
[ -n "$token" ] || { echo "bench-stores: no token" >&2; exit 1; }
psql -XAtqc "INSERT INTO stores (id, owner_id, name, engine, status, created_at)
	SELECT 's' || lpad(g::text, 7, '0'), u.id, 'bench store ' || g,
	       CASE WHEN g % 2 = 0 THEN 'medusa' ELSE 'woocommerce' END, 'ready', now() - g * interval '1 minute'
	FROM users u, generate_series(1, 20) g WHERE u.email = 'bench@example.com'" >/dev/null || exit 1
jar=$D/jar
curl -s -c "$jar" -b "$jar" -o "$D/login.html" "$BASE/login"
csrf=$(sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' "$D/login.html" | head -n 1)
curl -s -c "$jar" -b "$jar" -o /dev/null "$BASE/login" --data-urlencode "csrf_token=$csrf" \
	--data-urlencode email=bench@example.com --data-urlencode "password=$pw"
cookie="sf_session=$(awk '$6 == "sf_session" {print $7}' "$jar")"

# Every endpoint must answer 200 with the 20 stores before measuring.
n=$(curl -s -H "Authorization: Bearer $token" "$BASE/api/v1/stores" |
	python3 -c 'import json,sys; print(len(json.load(sys.stdin)["stores"]))')
[ "$n" = 20 ] || { echo "bench-stores: the API lists $n stores, not 20" >&2; exit 1; }
n=$(curl -s -H "Cookie: $cookie" "$BASE/stores" | grep -c 'class="badge badge-ready"')
[ "$n" = 20 ] || { echo "bench-stores: /stores shows $n stores, not 20" >&2; exit 1; }

run() {	# label url [token [cookie]]
	local line
	line=$(BENCH_TOKEN=${3:-} BENCH_COOKIE=${4:-} wrk -t2 -c"$conns" -d"${secs}s" \
		-s tools/bench-stores.lua "$2" | grep '^BENCH ')
	echo "$1 ${line#BENCH }"
}

results=()
results+=("$(run hello-world "$hello_base/")")
results+=("$(run "hello-world, a conn each" "$hello1_base/")")
results+=("$(run "GET /api/v1/stores (20)" "$BASE/api/v1/stores" "$token")")
results+=("$(run "GET /stores (20, HTML)" "$BASE/stores" "" "$cookie")")
# For scale: authentication alone (one round trip, a tiny answer).
results+=("$(run "GET /api/v1/auth/me" "$BASE/api/v1/auth/me" "$token")")

python3 - "$secs" "$conns" "$nworkers" "${results[@]}" <<'PY'
import sys
secs, conns, nworkers = sys.argv[1:4]
rows = []
for r in sys.argv[4:]:
    parts = r.rsplit(" ", 5)
    rows.append((parts[0], float(parts[1]), float(parts[2]), float(parts[3]), int(parts[4]), int(parts[5])))
hello = rows[0][1] or 1.0
print(f"wrk: 2 threads, {conns} connections, {secs} s per endpoint; {nworkers} FastCGI workers each")
print(f"{'endpoint':<26} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'vs hello':>9} {'errors':>7}")
for name, rps, p50, p99, errs, n in rows:
    print(f"{name:<26} {rps:>10.0f} {p50:>8.2f} {p99:>8.2f} {rps / hello:>9.2f} {errs:>7}")
api, html = rows[2], rows[3]
def verdict(ok): return "ok" if ok else "MISSED"
print(f"targets: API >= 0.40 x hello: {api[1] / hello:.2f} {verdict(api[1] / hello >= 0.40)};"
      f" API p99 <= 8 ms: {api[3]:.2f} {verdict(api[3] <= 8)};"
      f" HTML >= 0.9 x API: {html[1] / (api[1] or 1):.2f} {verdict(html[1] >= 0.9 * api[1])}")
PY
