#!/bin/bash
# t0563-observe-changes.sh - a pass judges only the stores that can have a new verdict: those an observed change or a change of their row marked, the busy ones, a slice of the safety sweep; every store after a re-list or when the view is not the shared one. Deletions, deadlines without events, a plan change from storefleetctl, two writers committing out of sequence order, a missed mark found by the sweep.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-reconcile.sh"

rc_stack
rc_user tenant@example.com >/dev/null
ok "100 ready stores seeded in PostgreSQL and the simulator" rc_seed 100
last_pass() { grep 'reconcile: pass:' "$T/reconcile.log" | tail -1; }
marks() { rc_sql "SELECT coalesce(string_agg(store_id, ',' ORDER BY store_id), '') FROM observed_changes"; }
# mark a store's kind-k object rows gone as observe.c's watch write does (st_remove)
gone_sql() {
	printf "WITH gone AS (DELETE FROM observed_objects o WHERE kind = %d AND store_id = '%s' RETURNING o.store_id)
	INSERT INTO observed_changes (store_id) SELECT DISTINCT store_id FROM gone
	ON CONFLICT (store_id) DO UPDATE SET change = excluded.change;" "$1" "$2"
}

# the first run lists the view: every store is judged, each settles, no mark is left
ok "a first run" rc_once
like "$(last_pass)" 'pass: 100 stores, .*, 100 judged \(every store: the view was listed again\)$' \
	"the first run judges all 100 stores (the view was just listed)"
is "$(marks)" "" "every store settled: no mark left"
is "$(rc_sql "SELECT listed = (SELECT sum(listed) FROM observed_kinds) FROM observed_judged")" t \
	"the listed count it judged under is recorded"

# a restart with nothing changed: the watches resumed, almost nothing judged
ok "a second run" rc_once
like "$(last_pass)" 'pass: 100 stores, 0 transitions, 4 kubernetes requests .*, [0-4] judged \(0 marked, 0 busy, [0-4] swept\)$' \
	"the next run judges only the sweep's slice of a store or two"

# an event that changes nothing a pass reads (an annotation) marks nothing
kubectl annotate deployment wordpress -n store-s0000010 example.com/note=hello >/dev/null
rc_once
like "$(last_pass)" '\(0 listed, 4 resumed, 1 changes\), [0-4] judged \(0 marked' \
	"the annotation came through the watch, and marked no store"

# a change to one StatefulSet: that store alone is judged
kubectl scale statefulset mariadb --replicas=2 -n store-s0000006 >/dev/null
rc_once
like "$(last_pass)" '[0-9]+ judged \(1 marked, 0 busy, [0-4] swept\)$' "one store marked and judged"
# (marked until judged ready: a pass may see the second replica still starting)
unmarked() { [ "$(marks)" = "" ] || { rc_once; [ "$(marks)" = "" ]; }; }
ok "judged ready: its mark removed" wait_for 10 unmarked
is "$(rc_status s0000006)" ready "still ready"

# a store not due (next attempt later) is not settled: it stays marked until it is judged due
rc_sql "UPDATE stores SET next_attempt_at = now() + interval '1 hour' WHERE id = 's0000006'"
rc_once
is "$(marks)" s0000006 "the row's change marked it, and waiting for its next attempt keeps the mark"
rc_sql "UPDATE stores SET next_attempt_at = now() - interval '1 second' WHERE id = 's0000006'"
rc_once
is "$(marks)" "" "due and judged ready: the mark removed"

# a deleted object: its store is degraded in the next pass
kubectl delete deployment wordpress -n store-s0000004 >/dev/null
rc_once
is "$(rc_status s0000004)" degraded "the store whose Deployment went is degraded at the next pass"
is "$(rc_sql "SELECT count(*) FROM stores WHERE status <> 'ready' AND id <> 's0000004'")" 0 "no other store changed"
rc_sql "UPDATE stores SET status = 'failed', status_reason = 'set aside by the test' WHERE id = 's0000004'"

# a plan change from outside reconcile (storefleetctl, as the web app writes it) is acted on
# (a seeded store has no credentials Secret, so reconcile refuses it and puts the plan back)
"$SF_BUILD/bin/storefleetctl" store plan s0000008 medium >/dev/null 2>>"$T/reconcile.log"
is "$(rc_sql "SELECT plan || '/' || plan_applied FROM stores WHERE id = 's0000008'")" "medium/" "the plan asked for"
like "$(marks)" 's0000008' "the row's change marked the store"
rc_once
is "$(rc_sql "SELECT plan || '/' || plan_applied FROM stores WHERE id = 's0000008'")" "/" \
	"the next pass acted on it: the plan put back"
like "$(grep 's0000008' "$T/reconcile.log" | tail -1)" 'Plan change to medium refused' "... with the reason"

# deadlines that pass with no event: a provisioning timeout, a namespace stuck terminating
rc_sql "UPDATE stores SET status = 'provisioning', step = 'ingress', status_reason = 'provisioning',
	provisioning_started_at = now() - interval '2 hours' WHERE id = 's0000012'"
sim POST /_sim/faults '{"scope":"store-s0000014","type":"ns_stuck"}'
rc_sql "UPDATE stores SET status = 'deleting', desired = 'absent', delete_requested_at = now(),
	next_attempt_at = now() WHERE id = 's0000014'"
rc_once
is "$(rc_status s0000012)" failed "provisioning past its timeout: failed"
like "$(rc_sql "SELECT status_reason FROM stores WHERE id = 's0000012'")" '^timed out after' "... timed out"
terminating() { rc_once; [ "$(rc_sql "SELECT count(*) FROM observed_objects WHERE kind = 0 AND store_id = 's0000014' AND summary::jsonb #> '{metadata,deletionTimestamp}' IS NOT NULL")" = 1 ]; }
ok "the stuck namespace is terminating in the view" wait_for 10 terminating
is "$(rc_sql "SELECT status_reason LIKE '%stuck%' FROM stores WHERE id = 's0000014'")" f "not reported stuck yet"
# an hour passes (the row dated back; its mark dropped): no event, no mark, only its status and the clock
rc_sql "UPDATE stores SET delete_requested_at = now() - interval '1 hour' WHERE id = 's0000014'"
rc_sql "DELETE FROM observed_changes"
rc_once
like "$(rc_sql "SELECT status_reason FROM stores WHERE id = 's0000014'")" 'stuck terminating' \
	"past the delete timeout with no event and no mark: reported stuck at the next pass"

# two writers (kinds of different hosts) committing out of sequence order lose nothing
mkfifo "$T/a.sql"
psql -Atq -v ON_ERROR_STOP=1 <"$T/a.sql" >"$T/a.out" 2>&1 &
apsql=$!
exec 7>"$T/a.sql"
printf 'BEGIN;\n%s\n' "$(gone_sql 2 s0000016)" >&7
open_tx() { [ "$(rc_sql "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'")" = 1 ]; }
ok "writer A marked s0000016 (the lower sequence value) and has not committed" wait_for 10 open_tx
rc_sql "$(gone_sql 2 s0000018)"
rc_once
is "$(rc_status s0000018)" degraded "writer B's change, committed first, is judged"
is "$(rc_status s0000016)" ready "writer A's is not visible yet"
printf 'COMMIT;\n' >&7
exec 7>&-
wait "$apsql"
is "$(rc_sql "SELECT (SELECT change FROM observed_changes WHERE store_id = 's0000016') < (SELECT change FROM observed_changes WHERE store_id = 's0000018')")" t \
	"A's mark has the lower sequence value, committed last"
rc_once
is "$(rc_status s0000016)" degraded "and the pass after it judges A's change too"

# a change that missed its mark is found by the safety sweep (SF_JUDGE_SWEEP)
rc_sql "DELETE FROM observed_objects WHERE kind = 3 AND store_id = 's0000098'"
rc_once
is "$(rc_status s0000098)" ready "not marked: a pass with the 10-minute sweep does not see it yet"
export SF_JUDGE_SWEEP=2
ok "a 2-second sweep judges every store within seconds: found" rc_until 15 "(SELECT status = 'degraded' FROM stores WHERE id = 's0000098')"
unset SF_JUDGE_SWEEP

# not the shared view: another host holds the watches and stopped (the pass lists for itself)
rc_sql "UPDATE observed_kinds SET holder = 'ghost', lease_holder = NULL, token = token + 1,
	held_until = now() + interval '1 hour', current_at = now() - interval '1 hour'"
rc_once
like "$(last_pass)" 'view listed for this pass .*, 100 judged \(every store: the view was listed for this pass\)$' \
	"a pass that listed for itself judges every store"
rc_sql "UPDATE observed_kinds SET held_until = now() - interval '1 second'"
rc_once
like "$(last_pass)" '\(0 listed, 4 resumed, .*, [0-9]+ judged \([0-9]+ marked' \
	"taken over: the watches resume from the kept resourceVersions (the replay marks what changed)"
rc_sql "UPDATE observed_kinds SET resource_version = '' WHERE kind = 3"
rc_once
like "$(last_pass)" '\(1 listed, .*, 100 judged \(every store: the view was listed again\)$' \
	"a re-list of one kind: every store judged once more"
done_testing
