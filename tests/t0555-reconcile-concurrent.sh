#!/bin/bash
# t0555-reconcile-concurrent.sh - 4 reconcilers at once (no single-run guard) over 200 stores: every transition once.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-reconcile.sh"

export SF_PROVISIONING_CONCURRENCY=60
# This test is about sharing work, not failures: on a loaded machine (sanitizers, -j2) the
# simulator's volume claims can stay Pending for seconds, beyond rc_stack's 1 s grace.
export SF_FAILURE_GRACE=600
rc_stack
owner=$(rc_user tenant@example.com)
rc_sql "INSERT INTO stores (id, owner_id, name, engine)
	SELECT 'cc' || lpad(g::text, 6, '0'), $owner, 'Shop ' || g, CASE WHEN g % 2 = 0 THEN 'woocommerce' ELSE 'medusa' END
	FROM generate_series(1, 200) g"
is "$(rc_sql "SELECT count(*) FROM stores WHERE status = 'requested'")" 200 "200 stores requested"

pids=()
for n in 1 2 3 4; do
	# --for outlasts the deadline below: alone this takes ~10 s, but on a loaded CI
	# machine slow answers mean backoffs, and the reconcilers must not quit first.
	"$SF_BUILD/bin/storefleet-reconcile" --for 300s --no-lock --owner "worker$n" >>"$T/reconcile-$n.log" 2>&1 &
	pids+=($!)
	STACK_PIDS+=("reconcile$n:$!") # stopped by the exit trap too, should the test die first
done
max_prov=0
all_ready() {
	local p

	p=$(rc_sql "SELECT count(*) FROM stores WHERE status = 'provisioning'")
	[ "$p" -gt "$max_prov" ] && max_prov=$p
	[ "$(rc_sql "SELECT count(*) FROM stores WHERE status = 'ready'")" = 200 ]
}
deadline=$(($(date +%s) + 280))
until all_ready || [ "$(date +%s)" -ge "$deadline" ]; do sleep 0.2; done
ok "all 200 stores ready" all_ready
for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
for p in "${pids[@]}"; do wait "$p"; done
rc_sql "SELECT status, count(*) FROM stores GROUP BY 1" | sed 's/^/# /' >&2

ok "never more than provisioning_concurrency (60) provisioning at once (saw $max_prov)" test "$max_prov" -le 60
is "$(rc_sql "SELECT count(*) FROM (SELECT store_id, step FROM store_events GROUP BY 1, 2 HAVING count(*) <> 1) d")" 0 \
	"every (store, step) event exactly once"
is "$(rc_sql "SELECT count(*) FROM store_events WHERE step IN ('provisioning','render','namespace','isolation','secrets','database','app','setup','ingress','readiness','ready')")" \
	2200 "11 transitions for each of the 200 stores"
is "$(sim_created Namespace)" 200 "200 namespaces created, one each"
is "$(rc_sql "SELECT count(DISTINCT split_part(lease_owner, ':', 1)) FROM stores")" 0 "no lease left"
workers=0
for n in 1 2 3 4; do grep -q 'is ready' "$T/reconcile-$n.log" && workers=$((workers + 1)); done
diag "$workers of 4 reconcilers finished stores"
ok "the work was shared" test "$workers" -ge 2
done_testing
