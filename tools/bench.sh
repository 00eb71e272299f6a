#!/bin/bash
# bench.sh - `make bench`: run every tools/bench-*.sh in order and print their tables, then the fleet table.
#
# BENCH_SIZES (default "1000 10000 50000") chooses the fleet sizes bench-kubesim.sh and
# bench-reconcile.sh measure; their figures are gathered in one table at the end, with
# the targets of issue 15 met or missed.  Wall time is printed per section.
set -u
. "$(dirname "$0")/benchlib.sh"
BENCH_RESULTS=$(mktemp -d /tmp/bench-results.XXXXXX)
export BENCH_RESULTS
trap 'rm -rf "$BENCH_RESULTS"' EXIT
rc=0
start=$(date +%s)
for b in tools/bench-*.sh; do
	echo "== $(basename "$b" .sh)"
	t0=$(date +%s)
	if ! "$b"; then
		echo "bench: $b failed" >&2
		rc=1
	fi
	echo "-- $(basename "$b" .sh): $(($(date +%s) - t0)) s"
	echo
done
echo "== fleet at $BENCH_SIZES stores (bench-reconcile, bench-kubesim), make bench took $(($(date +%s) - start)) s"
bench_fleet_table
exit $rc
