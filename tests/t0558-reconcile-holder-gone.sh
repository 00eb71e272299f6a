#!/bin/bash
# t0558-reconcile-holder-gone.sh - a lease whose holder is provably gone (its database session
# ended: kill -9) is free at once, so provisioning resumes within seconds of the next
# reconcile start instead of after lease_seconds; a live but slow holder keeps its own.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-reconcile.sh"

export SF_LEASE_SECONDS=300 SF_FAILURE_GRACE=600
rc_stack
rc_user tenant@example.com >/dev/null
for i in 1 2 3 4; do rc_store "crashst$i" woocommerce; done

lease_of() { rc_sql "SELECT coalesce(lease_owner, '-') FROM stores WHERE id = '$1'"; }
held_by() { [ "$(lease_of "$1")" = "$2" ]; }
all_held_by() { [ "$(rc_sql "SELECT count(*) FROM stores WHERE lease_owner = '$1'")" = "$2" ]; }

# --- a holder killed with -9 mid-pass ------------------------------------------------------------
# Slow API answers keep the first run inside its pass, holding the four leases.
sim POST /_sim/faults '{"scope":"*","type":"latency","ms":400}'
"$SF_BUILD/bin/storefleet-reconcile" --for 60s --no-lock --owner doomed >>"$T/reconcile.log" 2>&1 &
doomed=$!
STACK_PIDS+=("reconcile:$doomed")
ok "the first run claims the four stores" wait_for 30 all_held_by doomed 4
kill -KILL "$doomed"
wait "$doomed" 2>/dev/null
is "$(rc_sql "SELECT count(*) FROM stores WHERE lease_owner = 'doomed' AND lease_expires_at > now() + interval '200 seconds'")" 4 \
	"its leases are still far from expiring (lease_seconds 300)"
sim DELETE /_sim/faults

start=$(date +%s%N)
"$SF_BUILD/bin/storefleet-reconcile" --for 60s --no-lock --owner heir >>"$T/reconcile.log" 2>&1 &
heir=$!
STACK_PIDS+=("reconcile:$heir")
moved() { [ "$(rc_sql "SELECT count(*) FROM stores WHERE lease_owner IS DISTINCT FROM 'doomed' AND step <> ''")" = 4 ]; }
ok "the next run takes the dead holder's stores over at once" wait_for 5 moved
took=$((($(date +%s%N) - start) / 1000000))
diag "provisioning resumed ${took} ms after the next reconcile started"
ok "... within 5 s of its start (${took} ms)" test "$took" -lt 5000
ok "every store ends ready" wait_for 60 eval '[ "$(rc_sql "SELECT count(*) FROM stores WHERE status = '"'ready'"'")" = 4 ]'
is "$(rc_sql "SELECT count(*) FROM (SELECT store_id, step FROM store_events GROUP BY 1, 2 HAVING count(*) > 1) d")" 0 \
	"no step recorded twice"
kill -TERM "$heir"
wait "$heir" 2>/dev/null

# --- a live holder, stopped (SIGSTOP): its session lives, so it keeps its lease ---------------------
rc_store slowstor woocommerce
sim POST /_sim/faults '{"scope":"*","type":"latency","ms":400}'
"$SF_BUILD/bin/storefleet-reconcile" --for 60s --no-lock --owner slowpoke >>"$T/reconcile.log" 2>&1 &
slow=$!
STACK_PIDS+=("reconcile:$slow")
ok "a slow run claims the new store" wait_for 30 held_by slowstor slowpoke
kill -STOP "$slow"
sim DELETE /_sim/faults
rc_once --no-lock --owner other
is "$(lease_of slowstor)" slowpoke "a stopped but live holder keeps its lease (its session holds the lock)"
# ... until its session ends: then the lease is free at once
kill -KILL "$slow"
wait "$slow" 2>/dev/null
gone() { [ "$(rc_sql "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 21318")" = 0 ]; }
ok "its holder lock went with its session" wait_for 10 gone
rc_once --no-lock --owner other
isnt_slow() { [ "$(lease_of slowstor)" != slowpoke ]; }
ok "then the next pass takes the store" isnt_slow
ok "... and makes progress" test "$(rc_sql "SELECT step <> '' FROM stores WHERE id = 'slowstor'")" = t
done_testing
