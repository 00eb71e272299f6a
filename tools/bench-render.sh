#!/bin/sh
# bench-render.sh - CPU time to render one store's full object set, per engine (a section of `make bench`).
#
#   SF_BUILD=build tools/bench-render.sh [N]
# Reconcile re-renders every store on every pass, so the budget is 2 ms of
# CPU per store.  Uses storefleetctl's hidden `render --bench N` loop: the
# chart is loaded once (as reconcile does), then rendered N times with
# fixed secrets; the loop measures CLOCK_PROCESS_CPUTIME_ID.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
build=${SF_BUILD:-$root/build}
n=${1:-2000}

make -C "$root" --no-print-directory O="$build" "$build/bin/storefleetctl" >/dev/null
export SF_CHARTS_DIR="$root/charts"
printf '%-12s %-7s %8s %14s %8s\n' engine overlay renders "us CPU/store" budget
status=0
for engine in woocommerce medusa; do
	for overlay in local prod; do
		set -- $("$build/bin/storefleetctl" render "$engine" --overlay "$overlay" --bench "$n")
		verdict=$(awk -v us="$3" 'BEGIN { print (us <= 2000) ? "ok" : "OVER" }')
		[ "$verdict" = ok ] || status=1
		printf '%-12s %-7s %8s %14s %8s\n' "$engine" "$overlay" "$2" "$3" "$verdict"
	done
done
exit $status
