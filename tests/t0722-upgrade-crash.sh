#!/bin/bash
# t0722-upgrade-crash.sh - kill -9 at random points of upgrades and a rollback: they finish, with no revision, Job or event twice.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-reconcile.sh"
. "$SF_ROOT/tests/lib-upgrade.sh"

export SF_LEASE_SECONDS=5 SF_UPGRADE_TIMEOUT=120
rc_stack
rc_user tenant@example.com >/dev/null
for id in wookill1 wookill2 wookbad1; do
	rc_store "$id" woocommerce
	rc_sql "UPDATE stores SET engine_version = '6.7.2' WHERE id = '$id'"
done
rc_store medkill1 medusa
rc_sql "UPDATE stores SET engine_version = '2.20.1' WHERE id = 'medkill1'"
ok "the four stores become ready" rc_until 90 "(SELECT count(*) FROM stores WHERE status = 'ready') = 4"
jobs0=$(sim_created Job)

sim POST /_sim/faults '{"scope":"store-wookbad1","type":"image_pull","image":"wordpress:6.8.1"}'
for id in wookill1 wookill2 wookbad1; do up_request "$id" 6.8.1 >/dev/null; done
up_request medkill1 2.21.2 >/dev/null
is "$(rc_sql "SELECT count(*) FROM stores WHERE status = 'upgrading'")" 4 "four upgrades requested"

# Runs killed with SIGKILL after a random 0-400 ms (API latency spreads a pass over
# many requests; passes that end first let the upgrades advance, so the kills land all
# along the snapshot, apply and verify phases)
sim POST /_sim/faults '{"scope":"*","type":"latency","ms":4}'
latency=$(printf '%s' "$SIM_BODY" | sed -n 's/.*"id":\([0-9]*\).*/\1/p')
[ -n "$latency" ] || bail "the simulator gave the latency fault no id: $SIM_BODY"
kills=0
moved="SELECT count(*) FROM store_revisions WHERE revision > 1 AND result <> 'pending'"
# at least 60 runs, and more (up to 200) until an upgrade moved on: a sanitizer build's
# passes are slower than the kill points, and the kills must land along the phases
for ((i = 1; i <= 200; i++)); do
	[ "$i" -gt 60 ] && [ "$(rc_sql "$moved")" -gt 0 ] && break
	"$SF_BUILD/bin/storefleet-reconcile" --once --no-lock >>"$T/reconcile.log" 2>&1 &
	pid=$!
	# the random kill point is the point; past 60 runs with nothing moved, the window
	# widens by 20 ms a run (a sanitizer build on a loaded machine needed more than 400 ms
	# to move an upgrade at all)
	ms=$((RANDOM % (400 + (i > 60 ? (i - 60) * 20 : 0))))
	sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
	kill -KILL "$pid" 2>/dev/null && kills=$((kills + 1))
	wait "$pid" 2>/dev/null
done
runs=$((i - 1))
diag "$kills of $runs runs killed mid-pass"
ok "at least 5 of $runs runs killed mid-pass" test "$kills" -ge 5
rc_sql "SELECT id, status, status_reason FROM stores" | sed 's/^/# after the kills: /'
ok "the upgrades moved on while runs were being killed" test "$(rc_sql "$moved")" -gt 0
# only the latency goes: removing every fault and adding the pull fault back let wookbad1's
# pods start in between, and its upgrade succeed
sim DELETE "/_sim/faults/$latency"

ok "every upgrade ends (quiet runs)" rc_until 120 \
	"(SELECT count(*) FROM stores WHERE status = 'ready' AND pending_revision IS NULL) = 4"
rc_sql "SELECT id, status, current_revision, engine_version, status_reason FROM stores" | sed 's/^/# /'
is "$(rc_sql "SELECT string_agg(id || ':' || current_revision || ':' || engine_version, ' ' ORDER BY id) FROM stores")" \
	"medkill1:2:2.21.2 wookbad1:3:6.7.2 wookill1:2:6.8.1 wookill2:2:6.8.1" \
	"three upgraded, the bad one rolled back to 6.7.2"
is "$(rc_sql "SELECT count(*) FROM store_revisions")" 9 "9 revisions: 4 provisions, 4 upgrades, 1 rollback"
is "$(rc_sql "SELECT string_agg(store_id || ':' || revision || ':' || result, ' ' ORDER BY store_id, revision)
	FROM store_revisions WHERE revision > 1")" \
	"medkill1:2:ready wookbad1:2:rolled_back wookbad1:3:ready wookill1:2:ready wookill2:2:ready" \
	"each revision ended once, as it should"
# Jobs: per clean upgrade a snapshot and a new setup Job; the rollback adds a setup Job again
# and a restore
is "$(($(sim_created Job) - jobs0))" 10 "10 Jobs created (2 per upgrade, 2 more for the rollback): none twice"
is "$(rc_sql "SELECT count(*) FROM (SELECT store_id, message FROM store_events
	WHERE step IN ('upgrade', 'rollback') GROUP BY 1, 2 HAVING count(*) > 1) d")" 0 "no upgrade event twice"
is "$(rc_sql "SELECT count(*) FROM audit_log WHERE action = 'store.rollback'")" 1 "one rollback audited"
is "$(rc_sql "SELECT count(*) FROM stores WHERE lease_token IS NOT NULL")" 0 "no lease left"
is "$(kubectl get jobs -n store-wookbad1 -o name | sort | tr '\n' ' ')" \
	"job.batch/restore-r3 job.batch/snapshot-r2 job.batch/wordpress-setup " "wookbad1's Jobs: one of each"

done_testing
