#!/bin/bash
# t0560-observe-watch.sh - reconcile lists each kind once into PostgreSQL, then watches: the next run resumes the watch (no LIST), a pass reads the view from PostgreSQL, a --for run's steady passes cost no Kubernetes request.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-reconcile.sh"

rc_stack
rc_user tenant@example.com >/dev/null
ok "100 ready stores seeded in PostgreSQL and the simulator" rc_seed 100
stat() { sim GET /_sim/stats && printf '%s' "$SIM_BODY" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"].get(sys.argv[1],0))' "$1"; }
stats_total() { sim GET /_sim/stats && printf '%s' "$SIM_BODY" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])'; }
# LISTs of the four observed kinds (pods and events of an unhealthy store are listed apart)
lists() { sim GET /_sim/stats && printf '%s' "$SIM_BODY" | python3 -c 'import json,sys; print(sum(v for k,v in json.load(sys.stdin)["requests"].items() if k in ("LIST namespaces", "LIST persistentvolumeclaims", "LIST statefulsets", "LIST deployments")))'; }
last_pass() { grep 'reconcile: pass:' "$T/reconcile.log" | tail -1; }

# first run: one LIST per kind (100 stores fit a page), the view written to PostgreSQL
sim POST /_sim/stats/reset
ok "a first run" rc_once
like "$(last_pass)" 'view from PostgreSQL \(4 listed, 0 resumed' "the first run lists the four kinds into PostgreSQL"
is "$(lists)" 4 "4 LIST requests (one per kind)"
is "$(rc_sql "SELECT count(*) FROM observed_kinds WHERE resource_version <> '' AND current_at > now() - interval '1 minute'")" 4 \
	"each kind's resourceVersion and when it was known current are kept"
rows=$(rc_sql "SELECT count(*) FROM observed_objects")
per=$(rc_sql "SELECT round(count(*)::numeric / 100, 1) || ' rows, ' || round(sum(pg_column_size(o.*))::numeric / 100) || ' bytes' FROM observed_objects o")
diag "per store: $per (table with index: $(rc_sql "SELECT pg_total_relation_size('observed_objects') / 100") bytes)"
ok "every store's namespace, claims and workloads are rows ($rows)" [ "$rows" -ge 400 ]
ok "rows stay narrow: under 1,500 bytes of row per store" \
	[ "$(rc_sql "SELECT sum(pg_column_size(o.*)) / 100 FROM observed_objects o")" -lt 1500 ]
is "$(rc_sql "SELECT count(*) FROM stores WHERE status <> 'ready'")" 0 "every store still ready"

# a restart resumes the watches from the kept resourceVersions: no LIST at all
sim POST /_sim/stats/reset
ok "a second run" rc_once
like "$(last_pass)" 'view from PostgreSQL \(0 listed, 4 resumed' "the second run resumes the four watches"
is "$(lists)" 0 "no LIST request"
is "$(stat 'WATCH deployments')" 1 "one watch of Deployments, from the kept resourceVersion"
is "$(stats_total)" 4 "4 requests in all (one watch per kind)"

# a change made between runs arrives through the resumed watch
kubectl scale deployment medusa-server --replicas=0 -n store-s0000003 >/dev/null
kubectl delete deployment wordpress -n store-s0000004 >/dev/null
rc_once
is "$(rc_sql "SELECT count(*) FROM observed_objects WHERE kind = 3 AND store_id = 's0000004'")" 0 \
	"the deleted Deployment left the view"
is "$(rc_sql "SELECT summary::json->'spec'->>'replicas' FROM observed_objects WHERE kind = 3 AND store_id = 's0000003' AND name = 'medusa-server'")" 0 \
	"the scaled Deployment's summary says 0 replicas"
is "$(rc_status s0000004)" degraded "the store whose Deployment went is degraded"
is "$(rc_sql "SELECT count(*) FROM stores WHERE status <> 'ready' AND id NOT IN ('s0000003', 's0000004')")" 0 "no other store changed"

# a pass judges from the PostgreSQL view, not from the cluster (dry run: reads only)
keep=$(rc_sql "SELECT summary FROM observed_objects WHERE kind = 3 AND store_id = 's0000010'")
rc_sql "UPDATE observed_objects SET summary = (summary::jsonb || '{\"status\":{\"observedGeneration\":1,\"replicas\":1,\"updatedReplicas\":1,\"availableReplicas\":0}}')::text WHERE kind = 3 AND store_id = 's0000010'"
"$SF_BUILD/bin/storefleet-reconcile" --once --dry-run >"$T/dry.out" 2>>"$T/reconcile.log"
like "$(grep '^s0000010 ' "$T/dry.out")" 'replicas available' "the dry run judges s0000010 from the row (0/1 available), the cluster says it is fine"
like "$(grep '^s0000012 ' "$T/dry.out")" 'nothing to do' "its neighbours are judged fine"

# a --for run keeps its watches open: steady passes cost no request, a change shows in the next pass
printf '%s\n' "UPDATE observed_objects SET summary = :'s' WHERE kind = 3 AND store_id = 's0000010';" |
	psql -Atq -v ON_ERROR_STOP=1 -v s="$keep"
# (the two changed stores leave: a degraded store's pods and events are read at every pass)
rc_sql "UPDATE stores SET status = 'failed', status_reason = 'set aside by the test' WHERE id IN ('s0000003', 's0000004')"
rc_once
sim POST /_sim/stats/reset
: >"$T/loop.log"
"$SF_BUILD/bin/storefleet-reconcile" --for 30s --no-lock >"$T/loop.log" 2>&1 &
loop=$!
steady() { [ "$(grep -c 'pass: 100 stores, 0 transitions, 0 kubernetes requests' "$T/loop.log")" -ge 2 ]; }
ok "steady passes of the --for run make no Kubernetes request" wait_for 10 steady
kubectl scale deployment wordpress --replicas=0 -n store-s0000020 >/dev/null
seen() { [ "$(rc_sql "SELECT summary::json->'spec'->>'replicas' FROM observed_objects WHERE kind = 3 AND store_id = 's0000020'")" = 0 ]; }
ok "the change reaches PostgreSQL through the open watch" wait_for 10 seen
kill -TERM "$loop"
wait "$loop"
is "$?" 0 "the --for run ends cleanly on SIGTERM"
is "$(lists)" 0 "the --for run listed nothing"
w=$(stat 'WATCH deployments')
ok "and opened few Deployment watches ($w: a catch-up one, then one for the rest of the run)" [ "$w" -ge 1 ] && [ "$w" -le 3 ]
grep 'reconcile: pass:' "$T/loop.log" | sed 's/^/# /' | tail -3
done_testing
