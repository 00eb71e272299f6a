#!/bin/bash
# t0552-reconcile-delete.sh - delete -> deleted only after GET 404; stuck Terminating reported; ready <-> degraded.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-reconcile.sh"

# Namespaces take 5 s to go: the test looks at one while it is Terminating, after a pass that
# may itself take a second or two on a loaded machine (1.5 s was seen to pass first).
rc_stack --ns-delete-ms 5000
rc_user tenant@example.com >/dev/null
for id in delshop1 stuckns1 degshop1; do rc_store "$id" woocommerce; done
rc_store requonly medusa
ok "stores ready" rc_until 60 "(SELECT count(*) FROM stores WHERE status = 'ready') = 4"

web_delete() {
	rc_sql "UPDATE stores SET status = 'deleting', desired = 'absent', delete_requested_at = now(),
		next_attempt_at = now() WHERE id = '$1';
		INSERT INTO store_events (store_id, step, message) VALUES ('$1', 'delete', 'delete requested')"
}

# delete: the namespace goes, and the store is deleted only once GET answers 404
web_delete delshop1
rc_once
is "$(rc_status delshop1)" deleting "still deleting while the namespace terminates"
like "$(kubectl get namespace store-delshop1 -o jsonpath='{.status.phase}' 2>&1)" 'Terminating' \
	"the namespace is terminating"
ok "deleted once the namespace is gone" rc_until 30 "(SELECT status = 'deleted' FROM stores WHERE id = 'delshop1')"
ns_exists() { kubectl get namespace "$1" >/dev/null 2>&1; }
nok "GET namespace answers 404" ns_exists store-delshop1
is "$(rc_sql "SELECT deleted_at IS NOT NULL AND lease_token IS NULL FROM stores WHERE id = 'delshop1'")" t \
	"deleted_at set, lease released"
like "$(rc_sql "SELECT string_agg(step, ',' ORDER BY id) FROM store_events WHERE store_id = 'delshop1'")" \
	',delete,delete,deleted$' "delete events: requested, started, deleted"
sim GET /_sim/stats
like "$SIM_BODY" '"DELETE namespaces":1[,}]' "one DELETE for the namespace"

# a store deleted before anything was made is deleted at once (404 on its namespace)
rc_sql "INSERT INTO stores (id, owner_id, name, engine) SELECT 'nevermd1', min(id), 'x', 'medusa' FROM users"
rc_sql "UPDATE stores SET status = 'deleting', desired = 'absent' WHERE id = 'nevermd1'"
rc_once
is "$(rc_status nevermd1)" deleted "a store that never had a namespace: deleted after the 404"

# stuck Terminating: reported with its conditions after the delete timeout, never marked deleted
sim POST /_sim/faults '{"scope":"store-stuckns1","type":"ns_stuck"}'
web_delete stuckns1
export SF_DELETE_TIMEOUT=7	# past --ns-delete-ms, when the simulator reports the conditions
stuck_reported() { rc_once; [ "$(rc_sql "SELECT status_reason LIKE '%stuck%' FROM stores WHERE id = 'stuckns1'")" = t ]; }
ok "a stuck namespace is reported after the delete timeout" wait_for 20 stuck_reported
reason=$(rc_sql "SELECT status_reason FROM stores WHERE id = 'stuckns1'")
like "$reason" 'namespace store-stuckns1 is stuck terminating after [0-9]+ s: .*Namespace(Finalizers|Content)Remaining' \
	"the reason names the namespace's conditions"
is "$(rc_status stuckns1)" deleting "it stays deleting"
rc_once
rc_once
is "$(rc_sql "SELECT count(*) FROM store_events WHERE store_id = 'stuckns1' AND message LIKE '%stuck terminating%'")" 1 \
	"reported once, not on every pass"
sim DELETE /_sim/faults
ok "deleted once the finalizer is gone" rc_until 30 "(SELECT status = 'deleted' FROM stores WHERE id = 'stuckns1')"
unset SF_DELETE_TIMEOUT

# ready -> degraded -> ready from what is observed
sim POST /_sim/faults '{"scope":"store-degshop1","type":"crash_loop"}'
# the simulator's faults touch new pods: restart the app's pod like a node failure would
kubectl delete pod -n store-degshop1 -l app.kubernetes.io/name=wordpress --wait=false >/dev/null 2>&1
ok "a crash-looping ready store becomes degraded" rc_until 30 "(SELECT status = 'degraded' FROM stores WHERE id = 'degshop1')"
like "$(rc_sql "SELECT status_reason FROM stores WHERE id = 'degshop1'")" 'CrashLoopBackOff' "degraded with the reason"
is "$(rc_status requonly)" ready "the other store is still ready"
sim DELETE /_sim/faults
ok "healthy again -> ready" rc_until 30 "(SELECT status = 'ready' FROM stores WHERE id = 'degshop1')"
like "$(rc_sql "SELECT string_agg(level, ',' ORDER BY id) FROM store_events WHERE store_id = 'degshop1' AND id > (SELECT max(id) FROM store_events WHERE store_id = 'degshop1' AND step = 'ready' AND message = 'store is ready')")" \
	'^warn,info$' "one warn event for the degradation, one info for the recovery"
# a delete asked while a run provisions the store: the run's next save fails on the status
# fence, it lets the row go at once (no waiting for the lease to expire), the delete proceeds
rc_store delprov1 medusa
sim POST /_sim/faults '{"scope":"*","type":"latency","ms":200}'
"$SF_BUILD/bin/storefleet-reconcile" --once --no-lock --owner busyrun >>"$T/reconcile.log" 2>&1 &
busy=$!
claimed() { [ "$(rc_sql "SELECT lease_owner FROM stores WHERE id = 'delprov1'")" = busyrun ]; }
ok "a run is provisioning the store" wait_for 30 claimed
web_delete delprov1
sim DELETE /_sim/faults
wait "$busy"
is "$(rc_sql "SELECT status || ' ' || (lease_token IS NULL) FROM stores WHERE id = 'delprov1'")" "deleting true" \
	"the run wrote nothing over the delete and released the row"
like "$(grep "\[$busy\]" "$T/reconcile.log")" 'lease lost' "it said why it stopped"
ok "then deleted" rc_until 30 "(SELECT status = 'deleted' FROM stores WHERE id = 'delprov1')"

# drift: a workload deleted by hand -> degraded, put back from the blueprint -> ready
kubectl delete deployment wordpress -n store-degshop1 >/dev/null
ok "a store whose deployment vanished is degraded" rc_until 20 "(SELECT status = 'degraded' FROM stores WHERE id = 'degshop1')"
like "$(rc_sql "SELECT status_reason FROM stores WHERE id = 'degshop1'")" '^deployment wordpress is missing: put back' \
	"the reason says what vanished and that it was put back"
ok "ready again once the deployment is back" rc_until 30 "(SELECT status = 'ready' FROM stores WHERE id = 'degshop1')"
deployment_back() { kubectl get deployment wordpress -n store-degshop1 >/dev/null 2>&1; }
ok "the deployment exists again" deployment_back
done_testing
