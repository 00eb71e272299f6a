#!/bin/sh
# bench-k8s.sh - Kubernetes client round trips per second against kubesim (a section of `make bench`).
#
#   SF_BUILD=build tools/bench-k8s.sh [N]
# Builds tools/bench-k8s.c against the library, starts the simulator on a
# free loopback port in a temporary directory, runs the driver (N GETs, N
# no-op applies, N/2 changing applies, N/20 LISTs of 1,000 objects) and
# stops the simulator by PID.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
build=${SF_BUILD:-$root/build}
n=${1:-2000}

make -C "$root" --no-print-directory O="$build" "$build/lib/libfleet.a" "$build/lib/libdomain.a" "$build/lib/libcore.a" "$build/bin/kubesim" >/dev/null
# shellcheck disable=SC2046
cc -std=c11 -O2 -D_GNU_SOURCE -I"$root/src/core" -I"$root/src/domain" -I"$root/src/fleet" -o "$build/bench-k8s" "$root/tools/bench-k8s.c" \
	"$build/lib/libfleet.a" "$build/lib/libdomain.a" "$build/lib/libcore.a" $(pkg-config --cflags --libs libpq libcurl jansson yaml-0.1 libsodium) -lm

dir=$(mktemp -d /tmp/bench-k8s.XXXXXX)
sim_pid=""
cleanup() {
	if [ -n "$sim_pid" ] && kill -0 "$sim_pid" 2>/dev/null; then
		kill "$sim_pid"
		wait "$sim_pid" 2>/dev/null || true
	fi
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

mkdir -p "$dir/sim"
"$build/bin/kubesim" --listen 127.0.0.1:0 --dir "$dir/sim" --quiet >"$dir/kubesim.log" 2>&1 &
sim_pid=$!
i=0
while [ ! -s "$dir/sim/kubeconfig" ]; do
	i=$((i + 1))
	if [ $i -gt 300 ] || ! kill -0 "$sim_pid" 2>/dev/null; then
		echo "bench-k8s: kubesim did not start" >&2
		cat "$dir/kubesim.log" >&2
		exit 1
	fi
	sleep 0.05
done
"$build/bench-k8s" "$dir/sim/kubeconfig" "$n"
