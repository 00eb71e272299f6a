#!/bin/bash
# t0559-reconcile-cluster-trouble.sh - 500s, 429s and timeouts from the API server: a waiting store says so in plain words, one event per episode, and says when the cluster answers again.
#
# Regression test for issue "hardening" item 5: while the API server answered
# 500/429 or not at all, a waiting store showed "provisioning started" (or a
# raw client error) and nothing else, and a cluster-wide outage, which fails
# the pass's LISTs, wrote nothing at all.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-stores.sh"
. "$SF_ROOT/tests/lib-reconcile.sh"

export SF_SECRET_KEY=$RC_KEY SF_CREATE_COOLDOWN=0
kubesim_start "$T/kubesim" --pod-ready-ms 50 --job-complete-ms 50 --pvc-bind-ms 20 \
	--ns-delete-ms 50 --observed-lag-ms 10 || bail "cannot start kubesim"
# a long failure grace: the volume claim held Pending below keeps the store waiting, not failed
export SF_INGRESS_ADDRESS=$KUBESIM_INGRESS SF_FAILURE_GRACE=600 SF_RECONCILE_INTERVAL=1
export SF_LEASE_SECONDS=60 SF_KUBE_TIMEOUT=5
sf_stack
tok=$(user_token owner@example.com) || bail "no token"
api_json POST /api/v1/stores "$tok" '{"name":"Patient shop","engine":"woocommerce"}'
is "$STATUS" 201 "a store requested through the API"
id=$(json_get 'j["store"]["id"]')
[ -n "$id" ] || bail "no store id"

fault() {
	sim POST /_sim/faults "$1"
	printf '%s' "$SIM_BODY" | sed -n 's/.*"id": *\([0-9][0-9]*\).*/\1/p'
}
reason() { rc_sql "SELECT status_reason FROM stores WHERE id = '$id'"; }
events() { rc_sql "SELECT count(*) FROM store_events WHERE store_id = '$id' AND step = '$1'"; }
runs() { rc_sql "SELECT count(*) FROM reconcile_runs"; }
# the store as the tenant reads it: GET /api/v1/stores/{id} and its events, through nginx and the app
api_store() { api GET "/api/v1/stores/$id" "$tok" && json_get "$1"; }
api_events() { api GET "/api/v1/stores/$id/events" "$tok" && json_get "$1"; }

pvc=$(fault "{\"scope\":\"store-$id\",\"type\":\"pvc_pending\"}")
[ -n "$pvc" ] || bail "no pvc_pending fault: $SIM_BODY"
ok "the store waits in provisioning for a volume claim that stays Pending" \
	rc_until 60 "(SELECT step = 'secrets' AND status_reason LIKE 'waiting for volume claim %: Pending' FROM stores WHERE id = '$id')"
normal=$(reason)
diag "its progress: $normal"
normal_sql=${normal//\'/\'\'}

# back to the step's own progress text, with one event saying the cluster answers again
recovered() {
	local n=$1

	ok "$2: the reason is the step's progress again" \
		rc_until 60 "(SELECT status_reason = '$normal_sql' AND attempts = 0 FROM stores WHERE id = '$id')"
	is "$(events resumed)" "$n" "$2: one event says the cluster answers again"
	like "$(rc_sql "SELECT level || ' ' || message FROM store_events WHERE store_id = '$id' AND step = 'resumed' ORDER BY id DESC LIMIT 1")" \
		'^info the cluster answers again, after [0-9]+ failed attempts? in [0-9]+ (s|min)$' "$2: ... in plain words"
	is "$(rc_status "$id")" provisioning "$2: still provisioning"
}

# --- 1. 500s on every request in the store's namespace, for at least three attempts ---------------
f=$(fault "{\"scope\":\"store-$id\",\"type\":\"http_error\",\"status\":500,\"retry_after\":1}")
r0=$(runs)
ok "500s: the store's claims keep failing" rc_until 120 "(SELECT attempts >= 3 FROM stores WHERE id = '$id')"
diag "$(($(runs) - r0)) passes; $(reason)"
like "$(reason)" '^the cluster answers with errors \(500 Internal Server Error\): [0-9]+ attempts failed in [0-9]+ s; retrying in [0-9]+ s$' \
	"500s: the reason says so in plain words, with the attempts"
is "$(rc_status "$id")" provisioning "500s: still provisioning, not failed"
is "$(events cluster)" 1 "500s: one event for the episode, not one per attempt"
like "$(api_store 'j["store"]["status"] + " | " + j["store"]["status_reason"]')" \
	'^provisioning \| the cluster answers with errors \(500 Internal Server Error\)' "500s: the API shows the reason"
like "$(api_events '[e["level"] + " " + e["message"] for e in j["events"] if e["step"] == "cluster"]')" \
	'^\["warn the cluster answers with errors \(500 Internal Server Error\); retrying in [0-9]+ s"\]$' \
	"500s: the events API shows the one event"
jar=$T/jar
browser_login owner@example.com "$jar" >/dev/null
page "$jar" GET "/stores/$id"
like "$BODY" 'Why:</strong> the cluster answers with errors \(500 Internal Server Error\)' "500s: so does the store page"
sim DELETE "/_sim/faults/$f"
recovered 1 "500s over"

# --- 2. 429s on every request, the cluster-wide LISTs included: the passes fail as a whole ---------
f=$(fault '{"scope":"*","type":"http_error","status":429,"retry_after":1}')
r0=$(runs)
ok "429s: the store's attempts keep failing" rc_until 120 "(SELECT attempts >= 2 FROM stores WHERE id = '$id')"
diag "$(($(runs) - r0)) passes; $(reason)"
like "$(reason)" '^the cluster is busy \(429 Too Many Requests\): [0-9]+ attempts failed in [0-9]+ s; retrying in 1 s$' \
	"429s: the reason says the cluster is busy, and when it is tried again (Retry-After)"
is "$(events cluster)" 2 "429s: one more event, for this episode"
like "$(api_events '[e["message"] for e in j["events"] if e["step"] == "cluster"][-1]')" \
	'^the cluster is busy \(429 Too Many Requests\); retrying in 1 s$' "429s: the events API shows it"
sim DELETE "/_sim/faults/$f"
recovered 2 "429s over"

# --- 3. answers slower than SF_KUBE_TIMEOUT (1 s for this episode only) -----------------------------
f=$(fault "{\"scope\":\"store-$id\",\"type\":\"latency\",\"ms\":1500}")
export SF_KUBE_TIMEOUT=1
r0=$(runs)
ok "timeouts: the store's claims keep failing" rc_until 150 "(SELECT attempts >= 2 FROM stores WHERE id = '$id')"
diag "$(($(runs) - r0)) passes; $(reason)"
like "$(reason)" '^the cluster is answering slowly \(no answer within 1 s\): [0-9]+ attempts failed in [0-9]+ s; retrying in [0-9]+ s$' \
	"timeouts: the reason says the cluster is slow"
is "$(events cluster)" 3 "timeouts: one more event, for this episode"
like "$(api_store 'j["store"]["status_reason"]')" '^the cluster is answering slowly' "timeouts: the API shows it"
sim DELETE "/_sim/faults/$f"
export SF_KUBE_TIMEOUT=5
recovered 3 "timeouts over"

# --- the volume binds: ready, and no trouble left behind ------------------------------------------
sim DELETE "/_sim/faults/$pvc"
ok "the store becomes ready" rc_until 60 "(SELECT status = 'ready' FROM stores WHERE id = '$id')"
is "$(reason)" "" "ready: no reason left"
is "$(rc_sql "SELECT count(*) FROM store_events WHERE store_id = '$id' AND step IN ('cluster', 'resumed')")" 6 \
	"three episodes, two events each, whatever the number of passes"
is "$(rc_sql "SELECT count(*) FROM store_events WHERE store_id = '$id' AND level = 'error'")" 0 "no error event"
like "$(api_events '",".join(e["step"] for e in j["events"] if e["step"] in ("cluster", "resumed", "ready"))')" \
	'^cluster,resumed,cluster,resumed,cluster,resumed,ready$' "the events API tells the whole story, in order"
done_testing
