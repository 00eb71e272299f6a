#!/bin/bash
# bench-reconcile.sh - reconcile pass time and Kubernetes requests over 1,000 / 10,000 steady stores; provisioning throughput.
#
# Usage: tools/bench-reconcile.sh   (env: BENCH_SIZES="1000 10000", BENCH_STORES=40,
#                                    BENCH_CONCURRENCY="4 16")
# Each measurement starts its own PostgreSQL and simulator under a temp dir.
# Steady: stores seeded ready in PostgreSQL (COPY) and in the simulator
# (POST /_sim/bulk), then three `storefleet-reconcile --once` passes; the
# figures come from the passes' reconcile_runs rows.  Throughput: stores
# inserted as the web app does, simulator delays at zero, `--for` running
# until all are ready; stores per minute from the first request to the
# last ready_at (database clock).
set -u
: "${SF_ROOT:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
: "${SF_BUILD:=$SF_ROOT/build}"
export SF_ROOT SF_BUILD
. "$SF_ROOT/tools/stack.sh"

bail() {
	echo "bench-reconcile: $*" >&2
	exit 1
}
sf_migrate() {
	"$SF_BUILD/bin/storefleetctl" migrate >"$T/migrate.log" 2>&1 || bail "migrate failed"
}
. "$SF_ROOT/tests/lib-reconcile.sh"

SIZES=${BENCH_SIZES:-1000 10000}
NSTORES=${BENCH_STORES:-40}
CONCS=${BENCH_CONCURRENCY:-4 16}
ROWS=()

fresh() {
	stack_stop
	[ -n "${T:-}" ] && rm -rf "$T"
	T=$(mktemp -d /tmp/bench-reconcile.XXXXXX)
	chmod 755 "$T"
	export T
}
trap 'stack_stop; [ -n "${T:-}" ] && rm -rf "$T"' EXIT

for n in $SIZES; do
	fresh
	rc_stack --quiet >/dev/null
	rc_user bench@example.com >/dev/null
	t0=$(date +%s.%N)
	rc_seed "$n" || bail "seeding $n stores failed"
	seed=$(echo "$(date +%s.%N) - $t0" | bc)
	for i in 1 2 3; do
		/usr/bin/time -f '%M' -o "$T/rss" "$SF_BUILD/bin/storefleet-reconcile" --once \
			>>"$T/reconcile.log" 2>&1 || bail "pass failed: $(tail -n 3 "$T/reconcile.log")"
	done
	read -r secs reqs tr < <(rc_sql "SELECT round(percentile_cont(0.5) WITHIN GROUP
		(ORDER BY extract(epoch FROM finished_at - started_at))::numeric, 3), max(k8s_requests),
		max(transitions) FROM reconcile_runs" | tr '|' ' ')
	ROWS+=("$(printf '%-34s %10s %10s %12s %10s' "steady pass, $n stores" "${secs}s" "$reqs" \
		"$(($(cat "$T/rss") / 1024)) MiB" "$tr")")
	printf '# seeded %d stores in %.1f s\n' "$n" "$seed" >&2
done

for c in $CONCS; do
	fresh
	SF_PROVISIONING_CONCURRENCY=$c rc_stack --pod-ready-ms 0 --job-complete-ms 0 --pvc-bind-ms 0 \
		--ns-delete-ms 0 --observed-lag-ms 0 >/dev/null
	export SF_PROVISIONING_CONCURRENCY=$c
	owner=$(rc_user bench@example.com)
	"$SF_BUILD/bin/storefleet-reconcile" --for 600s >>"$T/reconcile.log" 2>&1 &
	loop=$!
	STACK_PIDS+=("reconcile:$loop")
	rc_sql "INSERT INTO stores (id, owner_id, name, engine)
		SELECT 'b' || lpad(g::text, 7, '0'), $owner, 'Shop ' || g,
		CASE WHEN g % 2 = 0 THEN 'woocommerce' ELSE 'medusa' END FROM generate_series(1, $NSTORES) g"
	all_ready() { [ "$(rc_sql "SELECT count(*) FROM stores WHERE status = 'ready'")" = "$NSTORES" ]; }
	wait_for 600 all_ready || bail "stores not ready: $(rc_sql "SELECT status, count(*) FROM stores GROUP BY 1")"
	read -r span rate < <(rc_sql "SELECT round(extract(epoch FROM max(ready_at) - min(created_at))::numeric, 2),
		round(($NSTORES * 60 / extract(epoch FROM max(ready_at) - min(created_at)))::numeric, 1)
		FROM stores" | tr '|' ' ')
	ROWS+=("$(printf '%-34s %10s %10s %12s %10s' "provision $NSTORES, concurrency $c" "${span}s" "-" "-" \
		"$rate/min")")
	kill -TERM "$loop"
	wait "$loop"
done

printf '%-34s %10s %10s %12s %10s\n' "reconcile" "time" "k8s req" "max RSS" "result"
printf '%s\n' "${ROWS[@]}"
