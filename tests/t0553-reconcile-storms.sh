#!/bin/bash
# t0553-reconcile-storms.sh - API 500/429 storms, resets and stalls: every store still ends ready, nothing twice.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-reconcile.sh"

rc_stack
rc_user tenant@example.com >/dev/null
for i in 1 2 3; do rc_store "woostrm$i" woocommerce; rc_store "medstrm$i" medusa; done

sim POST /_sim/faults '{"scope":"*","type":"http_error","status":500,"rate":0.3,"count":40}'
like "$SIM_BODY" '"id"' "500 storm on"
sim POST /_sim/faults '{"scope":"*","type":"http_error","status":429,"rate":0.2,"retry_after":1,"count":10}'
like "$SIM_BODY" '"id"' "429 storm on"
sim POST /_sim/faults '{"scope":"*","type":"stall","ms":1500,"rate":0.05,"count":4}'
like "$SIM_BODY" '"id"' "stalls on"
sim POST /_sim/faults '{"scope":"*","type":"reset","rate":0.05,"count":10}'
like "$SIM_BODY" '"id"' "connection resets on"

# a storm bounded in size (count) so the suite stays fast; while it lasts whatever fails is retried (in the call, or on a later pass), never failed for good
ok "every store ends ready during the storm" rc_until 90 "(SELECT count(*) FROM stores WHERE status = 'ready') = 6"
rc_sql "SELECT id, status, attempts, status_reason FROM stores WHERE status <> 'ready'" | sed 's/^/# /'
is "$(rc_sql "SELECT count(*) FROM stores WHERE status = 'failed'")" 0 "no store failed because of the storm"
sim GET /_sim/stats
diag "simulator: $SIM_BODY"
sim DELETE /_sim/faults
is "$(sim_created Namespace)" 6 "each store's Namespace created exactly once"
for id in woostrm1 medstrm1; do
	is "$(rc_sql "SELECT count(*) FROM store_events WHERE store_id = '$id' AND step = 'secrets'")" 1 \
		"$id: credentials made once"
done
is "$(rc_sql "SELECT count(*) FROM (SELECT store_id, step FROM store_events GROUP BY 1, 2 HAVING count(*) > 1) d")" 0 \
	"no step recorded twice"
done_testing
