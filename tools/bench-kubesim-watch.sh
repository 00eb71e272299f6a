#!/bin/bash
# bench-kubesim-watch.sh - kubesim's write latency and RSS with no watcher, then with WATCHERS open watches all receiving every change.
#
# Usage: tools/bench-kubesim-watch.sh [WRITES (10000)] [WATCHERS (100)]
# Starts its own simulator (SF_BUILD/bin/kubesim), then twice creates WRITES
# ConfigMaps in one namespace from one keep-alive HTTPS connection, timing each
# POST: first with no watch open, then with WATCHERS curl --no-buffer watches of
# that namespace open.  Prints mean, p50, p99 and max latency, writes/s, the
# simulator's RSS after each phase, and whether every watcher got every event
# (none dropped).  Stops what it started by PID.
set -eu
: "${SF_ROOT:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
: "${SF_BUILD:=$SF_ROOT/build}"
. "$SF_ROOT/tools/stack.sh"

WRITES=${1:-10000}
WATCHERS=${2:-100}
W=$(mktemp -d /tmp/bench-kswatch.XXXXXX)
trap 'stack_stop || true; rm -rf "$W"' EXIT

kubesim_start "$W/ks" >/dev/null
CURL=(curl -s --cacert "$KUBESIM_DIR/ca.crt" -H "Authorization: Bearer $KUBESIM_TOKEN")
for ns in quiet watched; do
	"${CURL[@]}" -o /dev/null -X POST -H 'Content-Type: application/json' \
		-d "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"$ns\"}}" \
		"$KUBESIM_ADDR/api/v1/namespaces"
done
rss() { awk '/^VmRSS/ {printf "%.1f MiB", $2 / 1024}' "/proc/$KUBESIM_PID/status"; }
hwm() { awk '/^VmHWM/ {printf "%.1f MiB", $2 / 1024}' "/proc/$KUBESIM_PID/status"; }

# writes NS: WRITES POSTs on one connection; prints "mean p50 p99 max writes/s"
writes() {
	python3 - "$KUBESIM_ADDR" "$KUBESIM_TOKEN" "$KUBESIM_DIR/ca.crt" "$1" "$WRITES" <<'PY'
import http.client, json, ssl, sys, time, urllib.parse
addr, token, ca, ns, n = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
u = urllib.parse.urlparse(addr)
c = http.client.HTTPSConnection(u.hostname, u.port, context=ssl.create_default_context(cafile=ca))
h = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
lat = []
t0 = time.perf_counter()
for i in range(n):
    body = json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                       "metadata": {"name": "cm-%05d" % i, "labels": {"app": "bench"}},
                       "data": {"i": str(i)}})
    s = time.perf_counter()
    c.request("POST", "/api/v1/namespaces/%s/configmaps" % ns, body, h)
    r = c.getresponse()
    r.read()
    lat.append((time.perf_counter() - s) * 1000)
    if r.status != 201:
        sys.exit("POST answered %d" % r.status)
total = time.perf_counter() - t0
lat.sort()
print("%8.2f %8.2f %8.2f %8.2f %8.0f" % (sum(lat) / n, lat[n // 2], lat[int(n * 0.99)], lat[-1], n / total))
PY
}

start_rss=$(rss)
printf '%-44s %8s %8s %8s %8s %8s  %s\n' "kubesim: $WRITES ConfigMap creates" "mean ms" "p50 ms" "p99 ms" "max ms" "writes/s" "RSS after"
line=$(writes quiet)
printf '%-44s %s  %s\n' "no watch open" "$line" "$(rss)"

for ((i = 0; i < WATCHERS; i++)); do
	"${CURL[@]}" -N "$KUBESIM_ADDR/api/v1/namespaces/watched/configmaps?watch=1" >"$W/w$i.out" 2>/dev/null &
	STACK_PIDS+=("watch:$!")
done
open_watches() { "${CURL[@]}" "$KUBESIM_ADDR/_sim/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["watches"]["open"])'; }
all_open() { [ "$(open_watches)" -ge "$WATCHERS" ]; }
wait_for 60 all_open || { echo "bench-kubesim-watch: the watches did not open" >&2; exit 1; }
idle_rss=$(rss)
line=$(writes watched)
after=$(rss)
all_in() {
	local f
	for f in "$W"/w*.out; do
		[ "$(wc -l <"$f")" -ge "$WRITES" ] || return 1
	done
}
t0=$(date +%s%N)
wait_for 120 all_in || true
drain_ms=$((($(date +%s%N) - t0) / 1000000))
printf '%-44s %s  %s\n' "$WATCHERS watches open, each getting every event" "$line" "$after"
complete=0
for f in "$W"/w*.out; do
	[ "$(wc -l <"$f")" -ge "$WRITES" ] && complete=$((complete + 1))
done
dropped=$("${CURL[@]}" "$KUBESIM_ADDR/_sim/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["watches"]["dropped"])')
printf '%-44s %s\n' "RSS at start (4 namespaces, 2 more)" "$start_rss"
printf '%-44s %s\n' "RSS with the watches open, before the writes" "$idle_rss"
printf '%-44s %s\n' "peak RSS (VmHWM)" "$(hwm)"
printf '%-44s %s of %s (dropped: %s), last events in %s ms after the last write\n' \
	"watchers that got all $WRITES events" "$complete" "$WATCHERS" "$dropped" "$drain_ms"
# the watchers end by SIGTERM (status 143): under set -e that must not end the script
stack_stop || true
