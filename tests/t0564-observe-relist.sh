#!/bin/bash
# t0564-observe-relist.sh - a first re-list of every kind that takes longer than observe_stale and than the watch leases (each LIST slowed) still leaves a current view: the watches of the kinds listed first are read between pages (their bookmarks date them), the leases are renewed before the writes, so the pass judges from PostgreSQL, with no second re-list and no fallback LIST of the whole cluster into memory (at 50,000 stores that fallback held 690 MB).
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-reconcile.sh"

export SF_OBSERVE_STALE=3 SF_LEASE_SECONDS=5
rc_stack
rc_user tenant@example.com >/dev/null
ok "600 ready stores seeded (9 LIST pages of 500: 2 each of Namespaces, claims, StatefulSets, 3 of Deployments)" rc_seed 600
lists() { sim GET /_sim/stats && printf '%s' "$SIM_BODY" | python3 -c 'import json,sys; print(sum(v for k,v in json.load(sys.stdin)["requests"].items() if k in ("LIST namespaces", "LIST persistentvolumeclaims", "LIST statefulsets", "LIST deployments")))'; }
log_has() { grep -q "$1" "$T/reconcile.log"; }
log_lacks() { ! grep -q "$1" "$T/reconcile.log"; }

# every LIST page (and watch request) answers 700 ms late: the re-list of the four kinds
# (9 pages) takes over 6 s, more than observe_stale (3) and the lease (5)
sim POST /_sim/faults '{"type":"latency","ms":700,"methods":["GET"]}'
sim POST /_sim/stats/reset
start=$(rc_sql "SELECT now()")
t0=$(date +%s%N)
ok "the first run re-lists every kind" rc_once
secs=$((($(date +%s%N) - t0) / 1000000))
ok "the re-list outlasted observe_stale and the lease ($secs ms)" [ "$secs" -gt 5000 ]
ok "each kind was listed once" [ "$(grep -c ' listed at resourceVersion' "$T/reconcile.log")" = 4 ]
ok "no kind was re-listed as stale" log_lacks 're-listing'
ok "no lease was lost" log_lacks 'went to another host'
ok "the pass judged from the shared view" log_has 'view from PostgreSQL (4 listed'
ok "and did not list the cluster for itself" log_lacks 'listing the cluster for this pass'
is "$(lists)" 9 "LIST requests: one per page, none twice (the fallback would list all 9 again)"
is "$(rc_sql "SELECT count(*) FROM observed_objects")" \
	"$(rc_sql "SELECT count(*) * 5 FROM stores")" "the view holds every store's five objects"
# the kinds listed first (their LISTs began within 2 s of the start) are dated by a bookmark
# read after the last kind's LIST began (6 pages, over 4 s, after the start)
is "$(rc_sql "SELECT count(*) FROM observed_kinds WHERE current_at >= '$start'::timestamptz + interval '4 s'")" 4 \
	"every kind is dated after the whole re-list's LISTs began, not at its own"
is "$(rc_sql "SELECT count(*) FROM stores WHERE status = 'ready'")" 600 "every store stays ready"
sim DELETE /_sim/faults
done_testing
