#!/bin/bash
# t0556-reconcile-scale.sh - a pass over 1,000 steady stores: a handful of requests (the watches resumed, no LIST), no writes; one sick store found.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-reconcile.sh"

rc_stack
rc_user tenant@example.com >/dev/null
ok "1,000 ready stores seeded in PostgreSQL and the simulator" rc_seed 1000
sim POST /_sim/stats/reset
events=$(rc_sql "SELECT count(*) FROM store_events")

# The first run lists each kind once into PostgreSQL (observe.c: pages of 500, so two
# or three per kind); every later run resumes the watches from the kept resourceVersions: one
# WATCH per kind and no LIST (before the watched view: 4 LISTs of everything, every pass).
ok "a first pass over 1,000 steady stores" rc_once
run=$(rc_sql "SELECT stores_seen || ' ' || transitions || ' ' || k8s_requests FROM reconcile_runs ORDER BY id DESC LIMIT 1")
is "$run" "1000 0 12" \
	"1,000 stores seen, nothing changed, 12 Kubernetes requests (the four kinds in LIST pages of 500, and the capacity reading's nodes and StorageClasses, due at most every capacity_interval)"
sim POST /_sim/stats/reset
ok "a pass over 1,000 steady stores" rc_once
run=$(rc_sql "SELECT stores_seen || ' ' || transitions || ' ' || k8s_requests FROM reconcile_runs ORDER BY id DESC LIMIT 1")
is "$run" "1000 0 4" "1,000 stores seen, nothing changed, 4 Kubernetes requests (one WATCH per kind, resumed)"
sim GET /_sim/stats
like "$SIM_BODY" '"total":4[,}]' "the simulator counted 4 requests"
unlike "$SIM_BODY" '"LIST ' "none of them a LIST"
is "$(rc_sql "SELECT count(*) FROM store_events")" "$events" "no event written"
is "$(rc_sql "SELECT count(*) FROM stores WHERE status <> 'ready' OR lease_token IS NOT NULL")" 0 "no store claimed"
secs=$(rc_sql "SELECT extract(epoch FROM finished_at - started_at) FROM reconcile_runs ORDER BY id DESC LIMIT 1")
diag "pass over 1,000 stores: $secs s"

# the cheap pass still sees one sick store among 1,000, and spends requests only on it
kubectl delete deployment wordpress -n store-s0000042 >/dev/null
sim POST /_sim/stats/reset
rc_once
rc_sql "SELECT id, status, status_reason FROM stores WHERE status <> 'ready'" | sed 's/^/# /'
is "$(rc_sql "SELECT count(*) FROM stores WHERE status <> 'ready'")" 1 "exactly one store changed"
is "$(rc_status s0000042)" degraded "the sick store is degraded"
like "$(rc_sql "SELECT status_reason FROM stores WHERE id = 's0000042'")" \
	"^deployment wordpress is missing; cannot put it back: its credentials Secret is gone too" \
	"with the reason (seeded stores have no credentials Secret: never regenerated)"
sim GET /_sim/stats
like "$SIM_BODY" '"total":([4-9]|10)[,}]' "at most 10 requests for that pass"
done_testing
