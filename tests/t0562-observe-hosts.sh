#!/bin/bash
# t0562-observe-hosts.sh - several reconcile hosts share one watched view: one owns each kind's watch, the others read PostgreSQL and make no observation request; a host that lost its lease writes nothing; a killed owner's watches are taken over at once and resumed without a LIST.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-reconcile.sh"

rc_stack
rc_user tenant@example.com >/dev/null
ok "20 ready stores seeded" rc_seed 20
# LISTs of the four observed kinds (pods and events of an unhealthy store are listed apart)
lists() { sim GET /_sim/stats && printf '%s' "$SIM_BODY" | python3 -c 'import json,sys; print(sum(v for k,v in json.load(sys.stdin)["requests"].items() if k in ("LIST namespaces", "LIST persistentvolumeclaims", "LIST statefulsets", "LIST deployments")))'; }
holders() { rc_sql "SELECT string_agg(DISTINCT holder, ',') FROM observed_kinds WHERE held_until > now()"; }
deploy_replicas() { rc_sql "SELECT summary::json->'spec'->>'replicas' FROM observed_objects WHERE kind = 3 AND store_id = '$1' AND name = 'wordpress'"; }

# host A runs a --for window and owns the four watches
"$SF_BUILD/bin/storefleet-reconcile" --for 14s --no-lock --owner host-a >"$T/a.log" 2>&1 &
a=$!
owns_all() { [ "$(holders)" = host-a ] && [ "$(rc_sql "SELECT count(*) FROM observed_kinds WHERE current_at IS NOT NULL")" = 4 ]; }
ok "host A owns every kind's watch" wait_for 10 owns_all

# host B: reads the view; no observation request of its own
sim POST /_sim/stats/reset
"$SF_BUILD/bin/storefleet-reconcile" --once --no-lock --owner host-b >"$T/b.log" 2>&1
is "$?" 0 "host B runs a pass"
like "$(grep 'reconcile: pass:' "$T/b.log")" '20 stores, 0 transitions, 0 kubernetes requests .*view from PostgreSQL' \
	"host B judged 20 stores from PostgreSQL with no Kubernetes request"
unlike "$(cat "$T/b.log")" 'owns the watch' "host B took no watch"

# a change reaches host B through host A's watch
kubectl delete deployment wordpress -n store-s0000002 >/dev/null
gone() { [ "$(rc_sql "SELECT count(*) FROM observed_objects WHERE kind = 3 AND store_id = 's0000002'")" = 0 ]; }
ok "host A's watch removes the Deployment from the view" wait_for 10 gone
degraded() { [ "$(rc_status s0000002)" = degraded ]; }
ok "the store is degraded (by whichever host judged it first)" wait_for 10 degraded

# fencing: the Deployment lease is taken from A behind its back; A must write nothing more
rc_sql "UPDATE observed_kinds SET holder = 'thief', lease_holder = NULL, token = token + 1, held_until = now() + interval '1 hour' WHERE kind = 3"
kubectl scale deployment wordpress --replicas=0 -n store-s0000004 >/dev/null
lost() { grep -q 'Deployment: the watch lease went to another host' "$T/a.log"; }
ok "host A notices at its next write and drops the watch" wait_for 10 lost
is "$(deploy_replicas s0000004)" 1 "and its write of the scale was fenced out (the row still says 1 replica)"
# the thief goes away: A takes the lease back with a new token and resumes from the kept resourceVersion
tok=$(rc_sql "SELECT token FROM observed_kinds WHERE kind = 3")
rc_sql "UPDATE observed_kinds SET held_until = now() - interval '1 second' WHERE kind = 3"
back() { [ "$(deploy_replicas s0000004)" = 0 ]; }
ok "host A takes the lease back and the missed change arrives" wait_for 10 back
is "$(rc_sql "SELECT holder || ' ' || (token > $tok)::text FROM observed_kinds WHERE kind = 3")" "host-a true" \
	"held by host A again, under a newer token"

# host A is killed: its advisory lock goes with it, host B takes the watches at once and resumes
kill -9 "$a"
wait "$a" 2>/dev/null
sim POST /_sim/stats/reset
kubectl delete deployment wordpress -n store-s0000006 >/dev/null
"$SF_BUILD/bin/storefleet-reconcile" --once --no-lock --owner host-b >"$T/b2.log" 2>&1
like "$(grep -c 'owns the watch' "$T/b2.log")" '^4$' "host B owns the four watches right after the kill (no lease expiry wait)"
is "$(holders)" host-b "held by host B"
is "$(lists)" 0 "resumed from the kept resourceVersions: no LIST"
grep -E 'observe|pass:' "$T/b2.log" | sed 's/^/# /'
is "$(rc_status s0000006)" degraded "the change made after the kill is seen"
is "$(rc_sql "SELECT count(*) FROM stores WHERE status = 'degraded'")" 2 "two broken stores degraded, the others ready"
done_testing
