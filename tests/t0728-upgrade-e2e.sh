#!/bin/bash
# t0728 - end to end through the web app and reconcile on the simulator: API upgrade -> ready on revision 2, API rollback -> revision 3.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-stores.sh"
. "$SF_ROOT/tests/lib-reconcile.sh"

export SF_SECRET_KEY=$RC_KEY SF_CREATE_COOLDOWN=0 SF_UPGRADE_TIMEOUT=60
kubesim_start "$T/kubesim" --pod-ready-ms 50 --job-complete-ms 50 --pvc-bind-ms 20 \
	--ns-delete-ms 50 --observed-lag-ms 10 || bail "cannot start kubesim"
export SF_INGRESS_ADDRESS=$KUBESIM_INGRESS SF_FAILURE_GRACE=1 SF_RECONCILE_INTERVAL=1
sf_stack
tok=$(user_token owner@example.com) || bail "no token"

api_json POST /api/v1/stores "$tok" '{"name": "Upgraded shop", "engine": "woocommerce"}'
is "$STATUS" 201 "a WooCommerce store requested through the API"
id=$(json_get 'j["store"]["id"]')
# provisioned on the older of the chart's versions, so that there is one to upgrade to
q "UPDATE stores SET engine_version = '6.7.2' WHERE id = '$id'" >/dev/null

"$SF_BUILD/bin/storefleet-reconcile" --for 170s >>"$T/reconcile.log" 2>&1 &
STACK_PIDS+=("reconcile:$!")

# store_is STATUS REVISION: the API shows the store so
store_is() {
	api GET "/api/v1/stores/$id" "$tok"
	[ "$(json_get 'j["store"]["status"]')|$(json_get 'j["store"]["revision"]')" = "$1|$2" ]
}
ok "ready on revision 1, as the API reports it" wait_for 60 store_is ready 1
api GET "/api/v1/stores/$id/revisions" "$tok"
is "$(json_get '[(r["revision"], r["kind"], r["engine_version"], r["result"]) for r in j["revisions"]]')" \
	'[[1, "provision", "6.7.2", "ready"]]' "revision 1: the provision of 6.7.2, ready"

# --- upgrade through the API ------------------------------------------------------------------------
t0=$(date +%s%N)
api_json POST "/api/v1/stores/$id/upgrade" "$tok" '{"version": "6.8.1"}'
is "$STATUS|$(json_get 'j["store"]["status"]')|$(json_get 'j["revision"]')" "202|upgrading|2" "upgrade -> 202"
ok "reconcile carries it out: ready on revision 2" wait_for 120 store_is ready 2
diag "upgrade request -> ready: $((($(date +%s%N) - t0) / 1000000)) ms"
api GET "/api/v1/stores/$id" "$tok"
is "$(json_get 'j["store"]["version"]')" 6.8.1 "the store runs 6.8.1"
api GET "/api/v1/stores/$id/revisions" "$tok"
is "$(json_get '[(r["revision"], r["kind"], r["engine_version"], r["result"], r["snapshot_status"]) for r in j["revisions"]]')" \
	'[[2, "upgrade", "6.8.1", "ready", "complete"], [1, "provision", "6.7.2", "ready", "none"]]' \
	"the API shows revision 2 ready, after a complete snapshot"
is "$(json_get 'j["current_revision"]')|$(json_get 'j["pending_revision"]')" "2|None" "running 2, nothing pending"
is "$(json_get 'j["revisions"][1]["can_rollback"]')|$(json_get 'j["revisions"][0]["rollback_unavailable"]')" \
	"True|Revision 2 is the one running now." "revision 1 can be rolled back to now (its data is in r2's snapshot)"
is "$(kubectl get deployment wordpress -n "store-$id" -o jsonpath='{.spec.template.spec.containers[0].image}')" \
	"wordpress:6.8.1-php8.3-apache" "the cluster runs the new image"

# --- rollback through the API ---------------------------------------------------------------------------
api_json POST "/api/v1/stores/$id/rollback" "$tok" '{"revision": 1}'
is "$STATUS|$(json_get 'j["revision"]')" "202|3" "rollback to revision 1 -> 202, revision 3"
ok "reconcile carries it out: ready on revision 3" wait_for 120 store_is ready 3
api GET "/api/v1/stores/$id/revisions" "$tok"
is "$(json_get '[(r["kind"], r["source_revision"], r["engine_version"], r["result"]) for r in j["revisions"][:1]]')" \
	'[["rollback", 1, "6.7.2", "ready"]]' "revision 3: the rollback to 1, ready"
is "$(q "SELECT restore_snapshot FROM store_revisions WHERE store_id = '$id' AND revision = 3")" \
	"$(q "SELECT snapshot FROM store_revisions WHERE store_id = '$id' AND revision = 2")" \
	"it restored the snapshot taken before revision 2"
api GET "/api/v1/stores/$id/revisions" "$tok"
is "$(json_get 'j["revisions"][0]["restore_status"]')" complete "the API says the restore completed"
is "$(kubectl get deployment wordpress -n "store-$id" -o jsonpath='{.spec.template.spec.containers[0].image}')" \
	"wordpress:6.7.2-php8.3-apache" "the old image is back"
api GET "/api/v1/stores/$id/events" "$tok"
like "$(json_get '"|".join(e["message"] for e in j["events"])')" \
	'Upgrade to 6\.8\.1 requested by owner@example\.com\..*upgraded to 6\.8\.1.*Rollback to revision 1 \(6\.7\.2\) requested by owner@example\.com\.' \
	"the activity log has the requests and reconcile's steps, in order"
done_testing
