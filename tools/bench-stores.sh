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
hello_nginx=$NGINX_PID
# The same hello-world behind an nginx that opens a connection per request.
mkdir -p "$D/hello1"
ln -s "$D/hello/fcgi.sock" "$D/hello1/fcgi.sock"
NGINX_KEEP_CONN=off nginx_start "$D/hello1" || exit 1
hello1_base=$BASE
hello1_nginx=$NGINX_PID

app_start "$D" "$nworkers" || exit 1
nginx_start "$D" || exit 1
app_nginx=$NGINX_PID

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

# CPU ticks (user + system, 1/CLK_TCK s) of process trees, one "name=ticks" per root given as
# name=pid: the root and every process below it.
cpu_ticks() {
	python3 - "$@" <<'PY'
import os, sys
kids, ticks = {}, {}
for d in os.listdir("/proc"):
    if not d.isdigit():
        continue
    try:
        f = open("/proc/%s/stat" % d).read()
    except OSError:
        continue
    rest = f[f.rindex(")") + 2:].split()
    kids.setdefault(int(rest[1]), []).append(int(d))
    ticks[int(d)] = int(rest[11]) + int(rest[12])
out = []
for arg in sys.argv[1:]:
    name, pid = arg.split("=")
    todo, total = [int(pid)], 0
    while todo:
        p = todo.pop()
        total += ticks.get(p, 0)
        todo += kids.get(p, [])
    out.append("%s=%d" % (name, total))
print(" ".join(out))
PY
}

# run LABEL URL NGINX_PID APP_PID [TOKEN [COOKIE]]: one wrk run; prints the label, wrk's figures
# and the CPU each part spent in it (nginx, the FastCGI workers, PostgreSQL, wrk), in ticks.
run() {
	local line before after wrkcpu
	before=$(cpu_ticks nginx="$3" app="$4" pg="$PG_PID")
	line=$(BENCH_TOKEN=${5:-} BENCH_COOKIE=${6:-} /usr/bin/time -f 'WRKCPU %U %S' -o "$D/wrk.time" \
		wrk -t2 -c"$conns" -d"${secs}s" -s tools/bench-stores.lua "$2" | grep '^BENCH ')
	after=$(cpu_ticks nginx="$3" app="$4" pg="$PG_PID")
	wrkcpu=$(awk '$1 == "WRKCPU" {printf "%d", ($2 + $3) * 100}' "$D/wrk.time")
	echo "$1|${line#BENCH }|$before|$after|$wrkcpu"
}

results=()
results+=("$(run hello-world "$hello_base/" "$hello_nginx" "$hello_pid")")
results+=("$(run "hello-world, a conn each" "$hello1_base/" "$hello1_nginx" "$hello_pid")")
results+=("$(run "GET /api/v1/stores (20)" "$BASE/api/v1/stores" "$app_nginx" "$APP_PID" "$token")")
results+=("$(run "GET /stores (20, HTML)" "$BASE/stores" "$app_nginx" "$APP_PID" "" "$cookie")")
# For scale: authentication alone (one round trip, a tiny answer).
results+=("$(run "GET /api/v1/auth/me" "$BASE/api/v1/auth/me" "$app_nginx" "$APP_PID" "$token")")

python3 - "$secs" "$conns" "$nworkers" "$(getconf CLK_TCK)" "${results[@]}" <<'PY'
import sys
secs, conns, nworkers, hz = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
rows = []
for r in sys.argv[5:]:
    name, figs, before, after, wrk = r.split("|")
    rps, p50, p99, errs, n = figs.split()
    b = dict(kv.split("=") for kv in before.split())
    a = dict(kv.split("=") for kv in after.split())
    cpu = {k: int(a[k]) - int(b[k]) for k in a}
    cpu["wrk"] = int(wrk or 0)
    rows.append((name, float(rps), float(p50), float(p99), int(errs), int(n), cpu))
hello = rows[0][1] or 1.0
print(f"wrk: 2 threads, {conns} connections, {secs} s per endpoint; {nworkers} FastCGI workers each")
print(f"{'endpoint':<26} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'vs hello':>9} {'errors':>7}")
for name, rps, p50, p99, errs, n, cpu in rows:
    print(f"{name:<26} {rps:>10.0f} {p50:>8.2f} {p99:>8.2f} {rps / hello:>9.2f} {errs:>7}")
print()
print("CPU per request, microseconds (user + system from /proc/PID/stat, whole process trees):")
parts = ["nginx", "app", "pg", "wrk"]
print(f"{'endpoint':<26} {'nginx':>7} {'workers':>8} {'postgres':>9} {'wrk':>6} {'total':>7}")
for name, rps, p50, p99, errs, n, cpu in rows:
    us = {k: cpu[k] * 1e6 / hz / (n or 1) for k in parts}
    print(f"{name:<26} {us['nginx']:>7.0f} {us['app']:>8.0f} {us['pg']:>9.0f} {us['wrk']:>6.0f}"
          f" {sum(us.values()):>7.0f}")
api, html = rows[2], rows[3]
def verdict(ok): return "ok" if ok else "MISSED"
print(f"targets: API >= 0.40 x hello: {api[1] / hello:.2f} {verdict(api[1] / hello >= 0.40)};"
      f" API p99 <= 8 ms: {api[3]:.2f} {verdict(api[3] <= 8)};"
      f" HTML >= 0.9 x API: {html[1] / (api[1] or 1):.2f} {verdict(html[1] >= 0.9 * api[1])}")
PY
