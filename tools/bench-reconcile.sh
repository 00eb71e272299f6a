#!/bin/bash
# bench-reconcile.sh - reconcile at BENCH_SIZES steady stores (full list, resume, steady pass, RSS, PostgreSQL per store); provisioning throughput.
#
# Usage: tools/bench-reconcile.sh   (env: BENCH_SIZES="1000 10000 50000", BENCH_STORES=40,
#                                    BENCH_CONCURRENCY="4 16", BENCH_PASSES=4)
# Each size starts its own PostgreSQL and simulator under a temp dir and
# seeds N stores ready (bench_seed: COPY into PostgreSQL, POST /_sim/bulk
# on one connection).  Then:
#   full list  one `storefleet-reconcile --once` over the fresh database;
#   resume     a second `--once` process (a cron restart: what the previous
#              run kept, it may reuse - "re-list" says whether the simulator
#              saw it LIST again);
#   steady     the passes after the first of a `--for` process (median time,
#              most requests);
# figures from each pass's own log line ("reconcile: pass: N stores, ...
# kubernetes requests (LIST 9 2xx, ...), S s"); reconcile's peak RSS; rows
# and bytes PostgreSQL holds per store (whole database, minus the empty
# schema).  Throughput: BENCH_STORES stores inserted as the web app does,
# simulator delays at zero, `--for` running until all are ready; stores per
# minute from the first request to the last ready_at (database clock).
# Figures go to $BENCH_RESULTS (tools/bench.sh prints them as one table);
# run alone, this prints the table itself.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/benchlib.sh"

bail() {
	echo "bench-reconcile: $*" >&2
	exit 1
}
sf_migrate() {
	"$SF_BUILD/bin/storefleetctl" migrate >"$T/migrate.log" 2>&1 || bail "migrate failed"
}
. "$SF_ROOT/tests/lib-reconcile.sh"

NSTORES=${BENCH_STORES:-40}
CONCS=${BENCH_CONCURRENCY:-4 16}
PASSES=${BENCH_PASSES:-4}
own_results=
if [ -z "${BENCH_RESULTS:-}" ]; then
	BENCH_RESULTS=$(mktemp -d /tmp/bench-results.XXXXXX)
	own_results=1
fi

fresh() {
	stack_stop
	STACK_PIDS=()
	[ -n "${T:-}" ] && rm -rf "$T"
	T=$(mktemp -d /tmp/bench-reconcile.XXXXXX)
	chmod 755 "$T"
	export T
}
trap 'stack_stop; [ -n "${T:-}" ] && rm -rf "$T"; [ -n "$own_results" ] && rm -rf "$BENCH_RESULTS"' EXIT

# passes LOG: "seconds requests" of each pass logged
passes() {
	sed -nE 's/.*reconcile: pass: [0-9]+ stores, [0-9]+ transitions, ([0-9]+) kubernetes requests \([^)]*\), ([0-9.]+) s.*/\2 \1/p' "$1"
}
# the database's rows (exact) and bytes (tables, indexes, TOAST) over every table
db_size() {
	rc_sql "SELECT sum((xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I',
		schemaname, relname), false, true, '')))[1]::text::bigint),
		sum(pg_total_relation_size(relid)) FROM pg_stat_user_tables" | tr '|' ' '
}
npasses() { [ "$(passes "$T/loop.log" | wc -l)" -ge "$PASSES" ]; }

for n in $BENCH_SIZES; do
	fresh
	rc_stack --quiet >/dev/null
	rc_user bench@example.com >/dev/null
	read -r rows0 bytes0 < <(db_size)
	t0=$(date +%s%N)
	bench_seed "$n" || bail "seeding $n stores failed"
	seed_ms=$((($(date +%s%N) - t0) / 1000000))
	bench_record "$n" seed_s "$(printf '%d.%d' $((seed_ms / 1000)) $((seed_ms % 1000 / 100)))"

	# full list: the first pass over a fresh database
	/usr/bin/time -f '%M' -o "$T/rss" "$SF_BUILD/bin/storefleet-reconcile" --once \
		>>"$T/once.log" 2>&1 || bail "pass failed: $(tail -n 3 "$T/once.log")"
	read -r s req < <(passes "$T/once.log" | tail -n 1)
	[ -n "${s:-}" ] || bail "no pass line in the log: $(tail -n 3 "$T/once.log")"
	bench_record "$n" full_s "$s"
	bench_record "$n" full_req "$req"

	# resume: a new process after one ran (a cron restart); the simulator counts its LISTs
	sim POST /_sim/stats/reset
	/usr/bin/time -f '%M' -o "$T/rss2" "$SF_BUILD/bin/storefleet-reconcile" --once \
		>>"$T/resume.log" 2>&1 || bail "pass failed: $(tail -n 3 "$T/resume.log")"
	read -r s req < <(passes "$T/resume.log" | tail -n 1)
	sim GET /_sim/stats
	lists=$(printf '%s' "$SIM_BODY" | python3 -c 'import json, sys
print(sum(v for k, v in json.load(sys.stdin)["requests"].items() if k.startswith("LIST ")))')
	bench_record "$n" resume_s "$s"
	bench_record "$n" resume_req "$req"
	bench_record "$n" resume_relist "$([ "$lists" -gt 0 ] && echo yes || echo no)"
	[ "$(cat "$T/rss2")" -gt "$(cat "$T/rss")" ] && cp "$T/rss2" "$T/rss"
	rss=$(($(cat "$T/rss") / 1024))

	# steady: the passes after the first of a process that keeps running
	"$SF_BUILD/bin/storefleet-reconcile" --for 3600s >>"$T/loop.log" 2>&1 &
	loop=$!
	STACK_PIDS+=("reconcile:$loop")
	limit=$(awk -v s="$s" -v p="$PASSES" 'BEGIN { t = int(s * p * 3) + 60; print t }')
	wait_for "$limit" npasses || bail "$PASSES passes did not run in $limit s: $(tail -n 3 "$T/loop.log")"
	hwm=$(awk '/^VmHWM/ { print int($2 / 1024) }' "/proc/$loop/status")
	kill -TERM "$loop"
	wait "$loop"
	[ "$hwm" -gt "$rss" ] && rss=$hwm
	passes "$T/loop.log" | tail -n +2 >"$T/passes"
	bench_record "$n" steady_s "$(sort -n "$T/passes" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')"
	bench_record "$n" steady_req "$(awk '$2 > m { m = $2 } END { print m + 0 }' "$T/passes")"
	bench_record "$n" rc_rss "$rss"

	read -r rows bytes < <(db_size)
	bench_record "$n" pg_rows "$(awk -v a="$rows" -v b="$rows0" -v n="$n" 'BEGIN { printf "%.1f", (a - b) / n }')"
	bench_record "$n" pg_bytes "$(awk -v a="$bytes" -v b="$bytes0" -v n="$n" 'BEGIN { printf "%d", (a - b) / n }')"
	printf '# %d stores: seeded in %d ms; passes (s, requests): full %s, resume and steady %s\n' "$n" \
		"$seed_ms" "$(passes "$T/once.log" | tail -n 1)" "$(passes "$T/resume.log" | tr '\n' ';'; tr '\n' ';' <"$T/passes")" >&2
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
	[ -n "$BENCH_RESULTS" ] && printf 'c%s\tconcurrency %2s: %s stores ready in %s s = %s stores/min\n' \
		"$c" "$c" "$NSTORES" "$span" "$rate" >>"$BENCH_RESULTS/fleet-throughput"
	kill -TERM "$loop"
	wait "$loop"
done

[ -n "$own_results" ] && bench_fleet_table
exit 0
