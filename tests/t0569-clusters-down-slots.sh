#!/bin/bash
# t0569-clusters-down-slots.sh - stores waiting on an unreachable cluster hold none of the provisioning slots every cluster shares: with provisioning_concurrency 2 and both slots taken by eu-2's provisioning stores, a default cluster's store waits while eu-2 answers; once eu-2 is cut off, the default cluster provisions two at once again (never three), and a store created on eu-2 meanwhile stays requested, saying why, without taking a slot.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-reconcile.sh"
. "$SF_ROOT/tests/lib-multicluster.sh"

export SF_OBSERVE_STALE=3 SF_KUBE_TIMEOUT=2 SF_FAILURE_GRACE=10 SF_PROVISIONING_CONCURRENCY=2
rc_stack
# eu-2's pods never become ready here: its stores stay provisioning, holding their slots
mc_second --pod-ready-ms 3600000 || bail "cannot start the second kubesim"
rc_user tenant@example.com >/dev/null

# eu-2 is reached through a TCP forwarder (as in t0566): stopping it cuts the cluster off
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
count_is() { [ "$(rc_sql "SELECT count(*) FROM stores WHERE $1")" = "$2" ]; }
passes() { grep -c 'reconcile: pass: ' "$T/reconcile.log" 2>/dev/null; }
passes_past() { [ "$(passes)" -ge "$1" ]; }

mc_store away0001 woocommerce eu-2
mc_store away0002 woocommerce eu-2
rc_for 120s
ok "eu-2's two stores provision (its pods never ready): both slots taken" \
	wait_for 20 count_is "cluster = 'eu-2' AND status = 'provisioning'" 2
mc_store home0001 woocommerce default
mc_store home0002 woocommerce default
mc_store home0003 woocommerce default
n=$(passes)
ok "three more passes" wait_for 20 passes_past $((n + 3))
is "$(rc_sql "SELECT string_agg(status, ' ' ORDER BY id) FROM stores WHERE cluster = 'default'")" \
	"requested requested requested" "while eu-2 answers, the default cluster's stores wait for a slot (the limit holds)"

# --- eu-2 goes away ---------------------------------------------------------------------------
proxy_stop
ok "eu-2 is recorded unreachable" wait_for 20 count_is \
	"cluster = 'eu-2' AND status_reason LIKE 'cluster eu-2 unreachable: %'" 2
mc_store away0003 woocommerce eu-2
ok "the default cluster's three stores are ready" wait_for 40 count_is "cluster = 'default' AND status = 'ready'" 3
# the first two were started together, the third when one of them was done
is "$(rc_sql "SELECT count(DISTINCT provisioning_started_at) FROM stores WHERE id IN ('home0001', 'home0002')")" 1 \
	"home0001 and home0002 started in the same pass: two slots for the default cluster"
is "$(rc_sql "SELECT (SELECT provisioning_started_at FROM stores WHERE id = 'home0003') >
	(SELECT min(ready_at) FROM stores WHERE id IN ('home0001', 'home0002'))")" t \
	"home0003 started after one of them was ready: never three at once"
ok "the store created on eu-2 meanwhile waits requested, saying why" \
	wait_for 10 count_is "id = 'away0003' AND status = 'requested' AND status_reason LIKE 'cluster eu-2 unreachable: %'" 1
is "$(rc_sql "SELECT count(*) FROM store_events WHERE store_id = 'away0003' AND message = 'provisioning started'")" 0 \
	"... never started"
is "$(rc_sql "SELECT count(*) FROM stores WHERE cluster = 'eu-2' AND status = 'provisioning'")" 2 \
	"eu-2's two stores still provisioning, waiting for their cluster"
rc_stop
done_testing
