#!/bin/bash
# t0554-reconcile-crash.sh - kill -9 at random points, a run paused past its lease: nothing lost, nothing twice.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-reconcile.sh"

export SF_LEASE_SECONDS=5
rc_stack
rc_user tenant@example.com >/dev/null
for i in 1 2 3 4 5; do rc_store "wookill$i" woocommerce; rc_store "medkill$i" medusa; done

# What one store's objects are, from the renderer (+ the credentials Secret reconcile makes).
expected_creates() {
	for e in woocommerce medusa; do
		"$SF_BUILD/bin/storefleetctl" render "$e" --json
	done | python3 -c '
import json, sys, collections
c = collections.Counter()
dec = json.JSONDecoder(); s = sys.stdin.read(); i = 0
while i < len(s):
    if s[i].isspace(): i += 1; continue
    doc, i = dec.raw_decode(s, i)
    c.update(o["kind"] for o in doc["items"])
c["Secret"] += 2
for k in ("Namespace", "Secret", "StatefulSet", "Deployment", "Job", "Ingress"):
    print(k, c[k] * 5)'
}

# 100 runs killed with SIGKILL after a random 0-60 ms: at any instruction (a little API
# latency stretches a pass over many requests, so the kills land all along it)
sim POST /_sim/faults '{"scope":"*","type":"latency","ms":4}'
kills=0
for i in $(seq 1 100); do
	"$SF_BUILD/bin/storefleet-reconcile" --once --no-lock >>"$T/reconcile.log" 2>&1 &
	pid=$!
	sleep "$(printf '0.%03d' $((RANDOM % 60)))"	# the random kill point is the point
	kill -KILL "$pid" 2>/dev/null && kills=$((kills + 1))
	wait "$pid" 2>/dev/null
done
diag "$kills of 100 runs killed mid-pass"
ok "at least 25 of 100 runs killed mid-pass" test "$kills" -ge 25
sim DELETE /_sim/faults
rc_sql "SELECT status, count(*) FROM stores GROUP BY 1" | sed 's/^/# after the kills: /'

# quiet runs: leases of killed runs expire (5 s) and the work finishes
ok "every store ends ready after quiet runs" rc_until 90 "(SELECT count(*) FROM stores WHERE status = 'ready') = 10"
rc_sql "SELECT id, status, status_reason FROM stores WHERE status <> 'ready'" | sed 's/^/# /'
while read -r kind n; do
	is "$(sim_created "$kind")" "$n" "$kind created exactly once per store ($n)"
done < <(expected_creates)
is "$(rc_sql "SELECT count(*) FROM (SELECT store_id, step FROM store_events GROUP BY 1, 2 HAVING count(*) > 1) d")" 0 \
	"no step recorded twice"
is "$(rc_sql "SELECT count(DISTINCT store_id) FROM store_events WHERE step = 'ready'")" 10 "every store's ready event"
is "$(rc_sql "SELECT count(*) FROM stores WHERE admin_secret IS NULL OR lease_token IS NOT NULL")" 0 \
	"credentials sealed, no lease left"

# A run paused (SIGSTOP) past its lease loses it, and writes nothing when it resumes.
rc_store pausedst woocommerce
sim POST /_sim/faults '{"scope":"*","type":"latency","ms":300}'
"$SF_BUILD/bin/storefleet-reconcile" --once --no-lock --owner slowpoke >>"$T/reconcile.log" 2>&1 &
slow=$!
claimed() { [ "$(rc_sql "SELECT lease_owner FROM stores WHERE id = 'pausedst'")" = slowpoke ]; }
ok "the slow run claimed the store" wait_for 30 claimed
kill -STOP "$slow"
expired() { [ "$(rc_sql "SELECT lease_expires_at < now() FROM stores WHERE id = 'pausedst'")" = t ]; }
ok "its lease expires while it is stopped" wait_for 15 expired
sim DELETE /_sim/faults
rc_once --no-lock --owner thief
is "$(rc_sql "SELECT lease_owner IS NULL AND step <> '' FROM stores WHERE id = 'pausedst'")" t \
	"another run took the store over and made progress"
snap() {
	rc_sql "SELECT status, step, status_reason, attempts, blueprint_revision, lease_token, md5(admin_secret::text),
		updated_at, (SELECT count(*) FROM store_events WHERE store_id = 'pausedst') FROM stores WHERE id = 'pausedst'"
}
before=$(snap)
kill -CONT "$slow"
wait "$slow"
is "$(snap)" "$before" "the resumed run wrote nothing (row and events unchanged)"
like "$(grep "\[$slow\]" "$T/reconcile.log")" 'lease lost' "it noticed the lease was lost"
done_testing
