#!/bin/bash
# t0566-clusters-down.sh - an unreachable cluster degrades only its own stores, with a reason naming it, and is recorded unreachable, while the default cluster's stores provision and delete in the same passes, none waiting longer than the request timeout for it; when it answers again its stores recover.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-reconcile.sh"
. "$SF_ROOT/tests/lib-multicluster.sh"

# a view not current after 3 s is not vouched for; a request gives up after 2 s; a volume
# claim may stay Pending 10 s (a pass's view can be a request timeout old under load)
export SF_OBSERVE_STALE=3 SF_KUBE_TIMEOUT=2 SF_FAILURE_GRACE=10
rc_stack
mc_second || bail "cannot start the second kubesim"
rc_user tenant@example.com >/dev/null

# eu-2 is reached through a TCP forwarder: stopping it (its process group: the forwarder
# and the connections it carries) cuts the cluster off, starting it again brings it back
port=$(free_port)
proxy_open() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }
proxy_start() {
	setsid socat "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork" "TCP:127.0.0.1:${K2_ADDR##*:}" \
		>>"$T/socat.log" 2>&1 &
	PROXY_PID=$!
	STACK_PIDS+=("socat:$PROXY_PID")
	wait_for 10 proxy_open
}
proxy_stop() {
	kill -TERM -- "-$PROXY_PID" 2>/dev/null
	wait "$PROXY_PID" 2>/dev/null
}
proxy_start || bail "cannot start the forwarder"
mc_register eu-2 "https://127.0.0.1:$port" eu2.shops.test "$K2_INGRESS" || bail "cannot register eu-2"
mc_store home0001 woocommerce default
mc_store away0001 woocommerce eu-2
mc_store away0002 medusa eu-2
count_is() { [ "$(rc_sql "SELECT count(*) FROM stores WHERE $1")" = "$2" ]; }
rc_for 120s
ok "three stores ready, one on the default cluster, two on eu-2" wait_for 40 count_is "status = 'ready'" 3

# --- eu-2 goes away ---------------------------------------------------------------------------
proxy_stop
ok "the forwarder is gone: eu-2 refuses connections" wait_for 5 eval '! proxy_open'
cut=$(wc -l <"$T/reconcile.log")
mc_store home0002 woocommerce default
mc_store away0003 woocommerce eu-2
rc_sql "UPDATE stores SET status = 'deleting', desired = 'absent', delete_requested_at = now(),
	next_attempt_at = now() WHERE id = 'home0001'"
ok "eu-2's ready stores become degraded" wait_for 30 count_is "cluster = 'eu-2' AND status = 'degraded'" 2
reason=$(rc_sql "SELECT status_reason FROM stores WHERE id = 'away0001'")
diag "$reason"
like "$reason" '^cluster eu-2 unreachable: .*(onnect|refused)' "the reason names the cluster and what failed"
is "$(rc_sql "SELECT level || ' ' || (message = status_reason) FROM store_events e JOIN stores s ON s.id = e.store_id
	WHERE e.store_id = 'away0001' AND e.step = 'cluster'")" "warn true" "one warn event says so"
is "$(rc_sql "SELECT c.reachable || ' ' || (c.trouble = s.status_reason) FROM clusters c, stores s
	WHERE c.name = 'eu-2' AND s.id = 'away0001'")" "false true" \
	"eu-2 is recorded unreachable, with the reason"
ok "the store created on eu-2 meanwhile waits, requested (no provisioning slot), saying why" \
	wait_for 20 count_is "id = 'away0003' AND status = 'requested' AND status_reason LIKE 'cluster eu-2 unreachable: %'" 1
ok "the default cluster's new store is ready all the same" wait_for 30 mc_status_is home0002 ready
ok "and its deleted one is gone" wait_for 20 mc_status_is home0001 deleted
is "$(rc_sql "SELECT reachable || ' ' || trouble FROM clusters WHERE name = 'default'")" "true " \
	"the default cluster is recorded reachable"
slowest=$(tail -n +"$((cut + 1))" "$T/reconcile.log" | sed -n 's/.*reconcile: pass: .* requests ([^)]*), \([0-9.]*\) s,.*/\1/p' | sort -n | tail -n 1)
diag "the slowest pass while eu-2 was away: $slowest s"
ok "no pass waited longer than the request timeout (2 s) for eu-2" \
	awk -v s="$slowest" 'BEGIN { exit !(s != "" && s < 2 + 1.5) }'
ok "the passes said which cluster could not be observed" grep -q 'observe: cluster eu-2: ' "$T/reconcile.log"

# --- eu-2 comes back --------------------------------------------------------------------------
proxy_start || bail "cannot start the forwarder again"
ok "eu-2's stores are ready again" wait_for 40 count_is "cluster = 'eu-2' AND status = 'ready'" 3
is "$(rc_sql "SELECT message FROM store_events WHERE store_id = 'away0001' ORDER BY id DESC LIMIT 1")" \
	"store is healthy again" "the degraded store says it is healthy again"
is "$(rc_sql "SELECT reachable || ' ' || trouble FROM clusters WHERE name = 'eu-2'")" "true " \
	"eu-2 is recorded reachable again"
is "$(rc_sql "SELECT count(*) FROM stores WHERE status NOT IN ('ready', 'deleted')")" 0 "every store ready"
rc_stop
proxy_stop
done_testing
