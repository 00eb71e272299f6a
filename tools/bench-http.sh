#!/bin/bash
# bench-http.sh - HTTP throughput through nginx: storefleet.fcgi against a bare FastCGI hello-world.
#
#   SF_BUILD=build tools/bench-http.sh      (BENCH_SECONDS=10 BENCH_CONNS=32 BENCH_WORKERS=2)
#
# Starts its own stack in a temp dir (PostgreSQL, schema, a user and an API token, the
# workers, nginx from nginx/dev.conf.in) plus fcgi-hello behind a second nginx with the
# same config, runs wrk (2 threads) against each endpoint, prints one table, and stops
# everything it started by PID.  Targets (issue 2): /auth/me >= 0.5 x hello-world,
# p99 <= 10 ms at 32 connections, worker RSS <= 8 MiB.
. "$(dirname "$0")/benchlib.sh"
bench_init bench-http
"$SF_BUILD/bin/storefleetctl" user add bench@example.com >/dev/null || exit 1
token=$("$SF_BUILD/bin/storefleetctl" token create bench@example.com --name bench | tail -n 1)
[ -n "$token" ] || bench_fail "no token"
bench_hello_start

app_start "$D" "$nworkers" || exit 1
nginx_start "$D" || exit 1

# Warm up and check every endpoint answers 200 before measuring.
check() {
	local code
	code=$(curl -s -o /dev/null -w '%{http_code}' "$@")
	[ "$code" = 200 ] || { echo "bench-http: $* answered $code" >&2; exit 1; }
}
check "$hello_base/"
check -H "Authorization: Bearer $token" "$BASE/api/v1/auth/me"
check "$BASE/login"
check "$BASE/static/style.css"
check "$BASE/metrics"

run() {	# label url [token]
	local line
	line=$(BENCH_TOKEN=${3:-} wrk -t2 -c"$conns" -d"${secs}s" -s tools/bench-http.lua "$2" | grep '^BENCH ')
	echo "$1 ${line#BENCH }"
}

results=()
results+=("$(run hello-world "$hello_base/")")
results+=("$(run "GET /api/v1/auth/me" "$BASE/api/v1/auth/me" "$token")")
results+=("$(run "GET /login" "$BASE/login")")
results+=("$(run "GET /static/style.css" "$BASE/static/style.css")")
# cached database part (metrics_cache): at most one query per worker per window
results+=("$(run "GET /metrics" "$BASE/metrics")")
# The ceiling again at the end: on a shared machine the first run alone is a poor reference.
results+=("$(run hello-world-again "$hello_base/")")

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null; }
worker_pids=$(ps -o pid= --ppid "$APP_PID" | tr -d ' ')
max_rss=0
for p in $worker_pids; do
	r=$(rss_kib "$p")
	[ -n "$r" ] && [ "$r" -gt "$max_rss" ] && max_rss=$r
done
hello_rss=0
for p in $(ps -o pid= --ppid "$hello_pid" | tr -d ' '); do
	r=$(rss_kib "$p")
	[ -n "$r" ] && [ "$r" -gt "$hello_rss" ] && hello_rss=$r
done

python3 - "$secs" "$conns" "$nworkers" "$max_rss" "$hello_rss" "${results[@]}" <<'PY'
import sys
secs, conns, nworkers, rss, hello_rss = sys.argv[1:6]
rows = []
for r in sys.argv[6:]:
    parts = r.rsplit(" ", 5)
    rows.append((parts[0], float(parts[1]), float(parts[2]), float(parts[3]), int(parts[4]), int(parts[5])))
hello = (rows[0][1] + rows[-1][1]) / 2 or 1.0
print(f"wrk: 2 threads, {conns} connections, {secs} s per endpoint; {nworkers} FastCGI workers each")
print(f"{'endpoint':<24} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'vs hello':>9} {'errors':>7}"
      "   (vs hello: the mean of the two hello-world runs)")
for name, rps, p50, p99, errs, n in rows:
    print(f"{name:<24} {rps:>10.0f} {p50:>8.2f} {p99:>8.2f} {rps / hello:>9.2f} {errs:>7}")
rss_mib = int(rss) / 1024
print(f"worker RSS (max of {nworkers}): {rss_mib:.1f} MiB   (fcgi-hello worker: {int(hello_rss) / 1024:.1f} MiB)")
me = rows[1]
def verdict(ok): return "ok" if ok else "MISSED"
print(f"targets: /auth/me >= 0.5 x hello: {me[1] / hello:.2f} {verdict(me[1] / hello >= 0.5)};"
      f" /auth/me p99 <= 10 ms: {me[3]:.2f} {verdict(me[3] <= 10)};"
      f" RSS <= 8 MiB: {rss_mib:.1f} {verdict(rss_mib <= 8)}")
PY
