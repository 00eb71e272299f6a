#!/bin/bash
# t0557-reconcile-web.sh - end to end through the web app: form and API create -> ready, reveal, degraded, delete -> deleted.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-stores.sh"
. "$SF_ROOT/tests/lib-reconcile.sh"

export SF_SECRET_KEY=$RC_KEY SF_CREATE_COOLDOWN=0 SF_CREATES_PER_HOUR=100
kubesim_start "$T/kubesim" --pod-ready-ms 50 --job-complete-ms 50 --pvc-bind-ms 20 \
	--ns-delete-ms 50 --observed-lag-ms 10 || bail "cannot start kubesim"
export SF_INGRESS_ADDRESS=$KUBESIM_INGRESS SF_FAILURE_GRACE=1 SF_RECONCILE_INTERVAL=1
sf_stack
tok=$(user_token owner@example.com) || bail "no token"

declare -A ids
for e in woocommerce medusa; do
	api_json POST /api/v1/stores "$tok" "{\"name\":\"My $e shop\",\"engine\":\"$e\"}"
	is "$STATUS" 201 "$e store requested through the API"
	ids[$e]=$(json_get 'j["store"]["id"]')
done

# the same from the browser's form: 303 to the store page, which shows the progress
jar=$T/jar
browser_login owner@example.com "$jar" >/dev/null
page "$jar" GET /stores
csrf=$(page_csrf)
page "$jar" POST /stores --data-urlencode "csrf_token=$csrf" -H "Origin: $BASE" \
	--data-urlencode "name=Form-made shop" --data-urlencode engine=woocommerce
is "$STATUS" 303 "a store requested through the form"
form_id=$(header Location | sed -n 's|^/stores/\([a-z0-9]*\)$|\1|p')
like "$form_id" '^[a-z][a-z0-9]{7}$' "... redirected to its page"

"$SF_BUILD/bin/storefleet-reconcile" --for 60s >>"$T/reconcile.log" 2>&1 &
loop=$!
STACK_PIDS+=("reconcile:$loop")
api_ready() {
	api GET "/api/v1/stores/$1" "$tok"
	[ "$(json_get 'j["store"]["status"]')" = ready ]
}
for e in woocommerce medusa; do
	ok "$e store ready, as the API reports it" wait_for 60 api_ready "${ids[$e]}"
	api GET "/api/v1/stores/${ids[$e]}/events" "$tok"
	steps=$(json_get '",".join(x["step"] for x in j["events"])')
	like "$steps" 'render,namespace,isolation,secrets,database,app,setup,ingress,readiness,ready' \
		"$e: the provisioning steps, in order, in the API's events"
done

page_ready() {
	page "$jar" GET "/stores/$1"
	grep -q 'badge-ready' "$T/body"
}
ok "the form-made store's page turns ready" wait_for 60 page_ready "$form_id"
like "$BODY" "http://store-$form_id\.127\.0\.0\.1\.nip\.io/" "... and shows the store's URL"
unlike "$BODY" 'http-equiv="refresh"' "... and stops refreshing itself once ready"

# the owner reveals the admin password: the one kept in the cluster's Secret
id=${ids[woocommerce]}
page "$jar" GET "/stores/$id"
csrf=$(page_csrf)
page "$jar" POST "/stores/$id/credentials" --data-urlencode "csrf_token=$csrf" -H "Origin: $BASE"
pw=$(kubectl get secret storefleet-credentials -n "store-$id" -o jsonpath='{.data.admin_password}' | base64 -d)
like "$pw" '^[A-Za-z0-9]{32}$' "the cluster holds a generated password"
like "$BODY" "$pw" "the store page reveals exactly that password to its owner"

# a store that degrades, then is deleted through the API
kill -TERM "$loop"; wait "$loop"
sim POST /_sim/faults "{\"scope\":\"store-${ids[medusa]}\",\"type\":\"crash_loop\"}"
kubectl delete pod -n "store-${ids[medusa]}" --all --wait=false >/dev/null 2>&1
ok "crash loop -> degraded" rc_until 30 "(SELECT status = 'degraded' FROM stores WHERE id = '${ids[medusa]}')"
api DELETE "/api/v1/stores/${ids[medusa]}" "$tok"
is "$STATUS" 202 "delete accepted"
ok "deleted after the namespace is gone" rc_until 30 "(SELECT status = 'deleted' FROM stores WHERE id = '${ids[medusa]}')"
api GET "/api/v1/stores/${ids[medusa]}" "$tok"
is "$(json_get 'j["store"]["status"]')" deleted "the API shows it deleted"
done_testing
