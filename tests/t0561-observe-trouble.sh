#!/bin/bash
# t0561-observe-trouble.sh - the watched view is never trusted when it may be stale: a 410 Gone re-lists, a watch that fails or stalls (no bookmark) re-lists, a view last current too long ago or dated in the future (a clock jump) is not judged (the pass lists for itself), and a run killed mid-re-list leaves the last whole view.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-reconcile.sh"

export SF_OBSERVE_STALE=30
rc_stack --watch-window 40
rc_user tenant@example.com >/dev/null
ok "20 ready stores seeded" rc_seed 20
# LISTs of the four observed kinds (pods and events of an unhealthy store are listed apart)
lists() { sim GET /_sim/stats && printf '%s' "$SIM_BODY" | python3 -c 'import json,sys; print(sum(v for k,v in json.load(sys.stdin)["requests"].items() if k in ("LIST namespaces", "LIST persistentvolumeclaims", "LIST statefulsets", "LIST deployments")))'; }
fault() { sim POST /_sim/faults "$1"; }
log_has() { grep -q "$1" "$T/reconcile.log"; }
mark() { : >"$T/reconcile.log"; }
ok "a first run lists the view" rc_once

# 410 Gone: more changes than the server keeps (--watch-window 40) since the kept resourceVersion
python3 -c '
import json
print(json.dumps({"items": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "noise-%d" % i, "namespace": "default"}} for i in range(60)]}))' >"$T/noise.json"
sim POST /_sim/bulk "$(cat "$T/noise.json")"
kubectl delete deployment wordpress -n store-s0000000 >/dev/null
mark
sim POST /_sim/stats/reset
rc_once
ok "the resumed watch got 410 Gone and the kind was re-listed" log_has 'expired: re-listing'
ok "re-listed with LIST requests ($(lists))" [ "$(lists)" -ge 1 ]
is "$(rc_status s0000000)" degraded "the change the expired watch could not replay is seen: degraded"
is "$(rc_sql "SELECT count(*) FROM observed_objects WHERE kind = 3 AND store_id = 's0000000'")" 0 "and the view lost the Deployment"

# a watch request that fails (500) or resets: not current, so re-listed, and the change is seen
kubectl delete statefulset mariadb -n store-s0000002 >/dev/null
fault '{"type":"http_error","status":500,"methods":["GET"],"count":4}'
mark
rc_once
ok "the failed watches said why" log_has 'watch ended: InternalError'
ok "and were re-listed" log_has 'did not advance within 30 s: re-listing'
is "$(rc_status s0000002)" degraded "the StatefulSet deleted meanwhile is seen: degraded"
kubectl delete statefulset postgres -n store-s0000003 >/dev/null
fault '{"type":"reset","methods":["GET"],"count":4}'
mark
rc_once
ok "a reset watch is re-listed too" log_has 'did not advance within 30 s: re-listing'
is "$(rc_status s0000003)" degraded "and the change is seen"

# a stalled watch: headers never come, no bookmark within the catch-up wait: re-listed, not trusted
kubectl delete deployment medusa-worker -n store-s0000005 >/dev/null
fault '{"type":"stall","ms":6000,"methods":["GET"],"count":4}'
mark
rc_once
ok "stalled watches are re-listed" log_has 'did not advance within 30 s: re-listing'
is "$(rc_status s0000005)" degraded "and the change is seen"

# another host owns the watches and stopped advancing them (its view kept a stale 'ready')
rc_sql "UPDATE observed_kinds SET holder = 'ghost', lease_holder = NULL, token = token + 1, held_until = now() + interval '1 hour'"
kubectl delete deployment wordpress -n store-s0000006 >/dev/null
rc_sql "UPDATE observed_kinds SET current_at = now() - interval '1 hour'"
mark
rc_once
ok "a view last current an hour ago is not judged" log_has 'last known current 36[0-9][0-9] s ago (more than 30 s)'
ok "the pass listed the cluster for itself" log_has 'view listed for this pass'
is "$(rc_status s0000006)" degraded "so the store is degraded, not stale ready"
is "$(rc_sql "SELECT count(*) FROM observed_objects WHERE kind = 3 AND store_id = 's0000006'")" 1 \
	"(the ghost's view still holds the Deployment: this host does not own it and wrote nothing)"

# a clock jump: the view is dated in the future by the database clock
kubectl delete deployment wordpress -n store-s0000008 >/dev/null
rc_sql "UPDATE observed_kinds SET current_at = now() + interval '1 hour'"
mark
rc_once
ok "a view dated in the future is not judged" log_has 'dated 3[56][0-9][0-9] s in the future (a clock jump)'
is "$(rc_status s0000008)" degraded "the store is degraded, not stale ready"

# the ghost goes: the lease is taken over, the watch resumes from the kept resourceVersion
rc_sql "UPDATE observed_kinds SET held_until = now() - interval '1 second'"
tok=$(rc_sql "SELECT token FROM observed_kinds WHERE kind = 3")
mark
rc_once
ok "this host takes the watches over" log_has 'Deployment: this host owns the watch'
is "$(rc_sql "SELECT token > $tok FROM observed_kinds WHERE kind = 3")" t "with a new fencing token"
is "$(rc_sql "SELECT count(*) FROM observed_objects WHERE kind = 3 AND store_id IN ('s0000006', 's0000008')")" 0 \
	"and the missed deletions arrive"

# killed in the middle of a re-list: the transaction goes, the last whole view stays
rows=$(rc_sql "SELECT count(*) FROM observed_objects WHERE kind = 3")
rc_sql "UPDATE observed_kinds SET resource_version = '' WHERE kind = 3"
fault '{"type":"latency","ms":4000,"methods":["GET"]}'
mark
"$SF_BUILD/bin/storefleet-reconcile" --once --no-lock >>"$T/reconcile.log" 2>&1 &
pid=$!
relisting() { [ "$(rc_sql "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'")" -ge 1 ]; }
ok "a run starts re-listing Deployments (its transaction open)" wait_for 10 relisting
kill -9 "$pid"
wait "$pid" 2>/dev/null
sim DELETE /_sim/faults
is "$(rc_sql "SELECT count(*) FROM observed_objects WHERE kind = 3")" "$rows" "killed mid-re-list: the Deployment rows are the last whole view"
mark
rc_once
ok "the next run takes over at once (the killed holder's lock is gone) and re-lists" log_has 'Deployment listed at resourceVersion'
is "$(rc_sql "SELECT count(*) FROM observed_objects WHERE kind = 3")" "$rows" "the same rows again"
is "$(rc_sql "SELECT count(*) FROM stores WHERE status = 'degraded'")" 6 "the six broken stores degraded, no other"
done_testing
