#!/bin/bash
# t0550-reconcile-provision.sh - requested -> ready for both engines, steps in order, a steady pass is cheap.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-reconcile.sh"

rc_stack
rc_user tenant@example.com >/dev/null
rc_store wooshop1 woocommerce
rc_store medshop1 medusa

# --dry-run observes and changes nothing
out=$("$SF_BUILD/bin/storefleet-reconcile" --dry-run 2>>"$T/reconcile.log")
like "$out" 'wooshop1 requested: start provisioning' "dry-run names what it would do"
is "$(rc_sql "SELECT count(*) FROM stores WHERE status <> 'requested'")" 0 "dry-run changed no store"
is "$(rc_sql "SELECT count(*) FROM reconcile_runs")" 0 "dry-run recorded no run"
is "$(sim_created Namespace)" 0 "dry-run created nothing in the cluster"

ok "both stores become ready" rc_until 60 "(SELECT count(*) FROM stores WHERE status = 'ready') = 2"
rc_sql "SELECT id, status, status_reason FROM stores" | sed 's/^/# /'

for id in wooshop1 medshop1; do
	steps=$(rc_sql "SELECT string_agg(step, ',' ORDER BY id) FROM store_events WHERE store_id = '$id'")
	is "$steps" "requested,provisioning,render,namespace,isolation,secrets,database,app,setup,ingress,readiness,ready" \
		"$id: every step recorded once, in order"
done
is "$(rc_sql "SELECT count(*) FROM stores WHERE ready_at IS NULL OR lease_token IS NOT NULL")" 0 \
	"ready_at set, leases released"
is "$(rc_sql "SELECT admin_user FROM stores WHERE id = 'wooshop1'")" admin "WooCommerce admin user from the chart"
is "$(rc_sql "SELECT count(*) FROM stores WHERE admin_secret IS NULL")" 0 "admin passwords sealed for the owner"
like "$(rc_sql "SELECT encode(admin_secret, 'escape') FROM stores LIMIT 1")" '.' "sealed value stored"
is "$(rc_sql "SELECT blueprint_revision <> '' FROM stores WHERE id = 'wooshop1'")" t "revision recorded"
like "$(rc_sql "SELECT message FROM store_events WHERE store_id = 'wooshop1' AND step = 'ingress'")" \
	'http://store-wooshop1\.' "the probe went through the ingress with the store's host"

# the credentials Secret exists once and was never regenerated
is "$(sim_created Namespace)" 2 "one Namespace created per store"
sec1=$(kubectl get secret storefleet-credentials -n store-wooshop1 -o jsonpath='{.data.admin_password}')
like "$sec1" '^[A-Za-z0-9+/=]{20,}$' "credentials kept in the cluster"

# a steady pass: nothing to do, a handful of requests, no write but the run row
sim POST /_sim/stats/reset
before=$(rc_sql "SELECT count(*) FROM store_events")
ok "steady pass exits 0" rc_once
is "$(rc_sql "SELECT count(*) FROM store_events")" "$before" "steady pass wrote no event"
run=$(rc_sql "SELECT stores_seen || ' ' || transitions || ' ' || k8s_requests FROM reconcile_runs ORDER BY id DESC LIMIT 1")
# (a run resumes the watch of each observed kind from the resourceVersion kept in PostgreSQL:
# one WATCH per kind, no LIST; src/fleet/observe.c)
is "$run" "2 0 4" "steady pass: 2 stores, 0 transitions, 4 kubernetes requests (one WATCH per kind)"
sim GET /_sim/stats
like "$SIM_BODY" '"total":4[,}]' "the simulator agrees: 4 requests"
is "$(kubectl get secret storefleet-credentials -n store-wooshop1 -o jsonpath='{.data.admin_password}')" "$sec1" \
	"credentials unchanged"

# the single-run guard: exit 75 while another session holds the lock
psql -Atq -c "SELECT pg_advisory_lock(x'7378666c65657401'::bigint), pg_sleep(60)" >/dev/null 2>&1 &
holder=$!
lock_held() { [ "$(rc_sql "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted")" -ge 1 ]; }
ok "another session holds the lock" wait_for 10 lock_held
"$SF_BUILD/bin/storefleet-reconcile" --once 2>>"$T/reconcile.log"
is "$?" 75 "exit 75 while another run holds the lock"
"$SF_BUILD/bin/storefleet-reconcile" --once --no-lock 2>>"$T/reconcile.log"
is "$?" 0 "--no-lock runs anyway"
rc_sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()" >/dev/null
wait "$holder" 2>/dev/null
"$SF_BUILD/bin/storefleet-reconcile" --once 2>>"$T/reconcile.log"
is "$?" 0 "exit 0 once the lock is free"

# --for sleeps between passes but wakes at once on the web app's NOTIFY
runs=$(rc_sql "SELECT count(*) FROM reconcile_runs")
SF_RECONCILE_INTERVAL=60 "$SF_BUILD/bin/storefleet-reconcile" --for 30s >>"$T/reconcile.log" 2>&1 &
loop=$!
first_pass() { [ "$(rc_sql "SELECT count(*) FROM reconcile_runs WHERE finished_at IS NOT NULL")" -gt "$runs" ]; }
ok "the loop's first pass ran" wait_for 10 first_pass
rc_store newshop1 woocommerce
picked_up() { [ "$(rc_status newshop1)" != requested ]; }
ok "a new store is picked up within 3 s (NOTIFY), not after the 60 s interval" wait_for 3 picked_up
kill -TERM "$loop"
wait "$loop"
is "$?" 0 "--for stops cleanly on SIGTERM"

"$SF_BUILD/bin/storefleet-reconcile" --bogus 2>/dev/null
is "$?" 2 "unknown option: usage, exit 2"

# --- a re-apply past 'secrets' with no new step records the revision it applied ---------------------
# (it once saved a freed string: the rendered set was released before the pass's last save).
# A long failure grace: a claim Pending beyond it fails the store, however slow the machine.
export SF_FAILURE_GRACE=600
sim POST /_sim/faults '{"scope":"store-slowpvc1","type":"pvc_pending"}'
rc_store slowpvc1 woocommerce
ok "held at 'secrets' by a volume claim that stays Pending" \
	rc_until 30 "(SELECT step FROM stores WHERE id = 'slowpvc1') = 'secrets'"
want=$(rc_sql "SELECT blueprint_revision FROM stores WHERE id = 'slowpvc1'")
like "$want" '^[0-9a-f]{16}$' "the revision applied ($want)"
rc_sql "UPDATE stores SET blueprint_revision = 'stale' WHERE id = 'slowpvc1'"
events=$(rc_sql "SELECT count(*) FROM store_events WHERE store_id = 'slowpvc1'")
ok "a pass re-applies" rc_once --no-lock
is "$(rc_sql "SELECT status || ' ' || blueprint_revision FROM stores WHERE id = 'slowpvc1'")" "provisioning $want" \
	"and records the revision it applied, no new step"
is "$(rc_sql "SELECT count(*) FROM store_events WHERE store_id = 'slowpvc1'")" "$events" "no event written"
done_testing
