#!/bin/bash
# bench.sh - `make bench`: run every tools/bench-*.sh in order and print their tables.
set -u
cd "$(dirname "$0")/.."
: "${SF_ROOT:=$(pwd)}"
: "${SF_BUILD:=$SF_ROOT/build}"
export SF_ROOT SF_BUILD
rc=0
for b in tools/bench-*.sh; do
	echo "== $(basename "$b" .sh)"
	if ! "$b"; then
		echo "bench: $b failed" >&2
		rc=1
	fi
	echo
done
exit $rc
