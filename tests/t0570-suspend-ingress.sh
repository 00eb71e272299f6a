#!/bin/bash
# t0570-suspend-ingress.sh - suspend and resume end to end: zero replicas with the data kept, the platform's paused page through the simulated ingress, back to ready; a reconcile killed mid-suspend converges.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-stores.sh"
. "$SF_ROOT/tests/lib-reconcile.sh"
. "$SF_ROOT/tests/lib-kubesim.sh"

command -v kubectl >/dev/null || bail "kubectl not installed"
export SF_SECRET_KEY=$RC_KEY SF_CREATE_COOLDOWN=0 SF_CREATES_PER_HOUR=100 SF_METRICS_CACHE=0
sf_stack
# the cluster's DNS for the ExternalName Service of charts/*/manifests/65-paused.yaml: the
# platform's web Service is the nginx this test runs
paused_dns=storefleet-web.storefleet.svc.cluster.local
kubesim_start "$T/kubesim" --pod-ready-ms 50 --job-complete-ms 50 --pvc-bind-ms 20 \
	--ns-delete-ms 50 --observed-lag-ms 10 --dns "$paused_dns=127.0.0.1:$NGINX_PORT" ||
	bail "cannot start kubesim"
export SF_INGRESS_ADDRESS=$KUBESIM_INGRESS SF_FAILURE_GRACE=1 SF_RECONCILE_INTERVAL=1

tok=$(user_token owner@example.com) || bail "no token"
api_json POST /api/v1/stores "$tok" '{"name":"Corner <Shop>","engine":"woocommerce"}'
is "$STATUS" 201 "a store requested"
id=$(json_get 'j["store"]["id"]')
host=store-$id.127.0.0.1.nip.io
ns=store-$id
ok "it becomes ready" rc_until 60 "(SELECT status = 'ready' FROM stores WHERE id = '$id')"

# through the simulated ingress, as a visitor would: ING_STATUS, $T/ing.body, $T/ing.headers
ing() {
	ING_STATUS=$(curl -s --max-time 20 -o "$T/ing.body" -D "$T/ing.headers" -w '%{http_code}' \
		-H "Host: $host" "$KUBESIM_INGRESS${1:-/}")
}
ing /
is "$ING_STATUS" 200 "the store's host answers 200 through the ingress"
like "$(cat "$T/ing.body")" "served by kubesim" "... from the store itself"

# what must survive a suspension
pvcs() { kubectl get pvc -n "$ns" -o jsonpath='{range .items[*]}{.metadata.uid} {end}'; }
pvcs_before=$(pvcs)
secret_before=$(kubectl get secret storefleet-credentials -n "$ns" -o jsonpath='{.metadata.uid}{.data.admin_password}')
ok "the store has volumes" test -n "$pvcs_before"

# --- suspend through the API
api POST "/api/v1/stores/$id/suspend" "$tok"
is "$STATUS" 202 "suspend accepted (202)"
is "$(json_get 'j["store"]["status"]')" suspending "... the store is suspending"
is "$(json_get 'j["store"]["suspended_by"]')" owner "... held by its owner"
ok "reconcile brings it to suspended" rc_until 30 "(SELECT status = 'suspended' FROM stores WHERE id = '$id')"

replicas() {
	kubectl get deployments,statefulsets -n "$ns" -o jsonpath='{range .items[*]}{.kind}/{.metadata.name}={.spec.replicas} {end}'
}
rep=$(replicas)
like "$rep" 'Deployment/wordpress=0' "the Deployment asks for 0 replicas ($rep)"
like "$rep" 'StatefulSet/[a-z]*=0' "... and the StatefulSet too"
unlike "$rep" '=[1-9]' "... every workload is at 0"
no_pods() { [ -z "$(kubectl get pods -n "$ns" -l 'app.kubernetes.io/component in (wordpress,database)' -o name 2>/dev/null)" ]; }
ok "no store pod is left" wait_for 20 no_pods
is "$(pvcs)" "$pvcs_before" "the volumes are the same objects"
is "$(kubectl get secret storefleet-credentials -n "$ns" -o jsonpath='{.metadata.uid}{.data.admin_password}')" \
	"$secret_before" "the credentials Secret is untouched"
is "$(kubectl get ingress wordpress -n "$ns" -o jsonpath='{.spec.rules[0].http.paths[0].backend.service.name}')" \
	storefleet-paused "the Ingress sends the host to the paused Service"

# the objects as the cluster holds them pass the strict validator
kubectl get service storefleet-paused -n "$ns" -o json >"$T/svc.json"
kubectl get ingress wordpress -n "$ns" -o json >"$T/ingress.json"
is "$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["spec"]; print(s["type"], s["externalName"])' "$T/svc.json")" \
	"ExternalName $paused_dns" "the paused Service is an ExternalName for the platform's web Service"
for f in svc ingress; do
	out=$("$VALIDATE" --no-apply-checks -W "$T/$f.json" 2>&1)
	ok "the suspended $f passes the strict validator ($out)" test $? -eq 0
done

# the host now shows the platform's branded paused page, on any path
ing /
is "$ING_STATUS" 503 "the host answers 503 through the ingress"
is "$(grep -i '^Retry-After:' "$T/ing.headers" | tr -d '\r' | sed 's/^[^:]*: *//')" 3600 "... with Retry-After"
like "$(cat "$T/ing.body")" 'This store is paused' "... the platform's paused page"
like "$(cat "$T/ing.body")" 'Corner &lt;Shop&gt;' "... naming the store, escaped"
unlike "$(cat "$T/ing.body")" 'owner@example.com' "... and nothing of its tenant"
unlike "$(cat "$T/ing.body")" 'served by kubesim|503 Service Temporarily' "... not the store, not the controller's 503"
ing /wp-login.php
is "$ING_STATUS" 503 "another path of the host: the paused page too"
like "$(cat "$T/ing.body")" 'This store is paused' "... the same page"
# the platform host itself is not a store host: the usual pages
NOCOOKIES=1 http GET /login
is "$STATUS" 200 "the platform's own pages are untouched"

# the store page and the API tell how long
api GET "/api/v1/stores/$id" "$tok"
is "$(json_get 'j["store"]["status"]')" suspended "the API shows it suspended"
like "$(json_get 'j["store"]["suspended_at"]')" '^20[0-9-]+T' "... since when"
api GET "/api/v1/stores/$id/events" "$tok"
is "$(json_get 'sum(1 for x in j["events"] if x["step"] == "suspend")')" 2 \
	"the events: the request and the scale-down, once each"

# metrics count it
NOCOOKIES=1 http GET /metrics
like "$BODY" 'storefleet_stores\{status="suspended",engine="woocommerce"\} 1' "/metrics counts one suspended store"
like "$BODY" 'storefleet_store_suspended_seconds_total [0-9]' "/metrics has the seconds suspended"

# an upgrade waits for the resume
api_json POST "/api/v1/stores/$id/upgrade" "$tok" '{"version":"6.7.2"}'
is "$STATUS" 409 "an upgrade of a suspended store is refused (409)"
like "$(json_get 'j["error"]["message"]')" 'suspended; resume it' "... saying why"

# --- resume: back to ready with its readiness checks, the store serves its host again
api POST "/api/v1/stores/$id/resume" "$tok"
is "$STATUS" 202 "resume accepted"
is "$(json_get 'j["store"]["status"]')" resuming "... the store is resuming"
ok "back to ready" rc_until 60 "(SELECT status = 'ready' FROM stores WHERE id = '$id')"
ing /
is "$ING_STATUS" 200 "the host serves the store again through the ingress"
like "$(cat "$T/ing.body")" "served by kubesim" "... the store itself"
unlike "$(replicas)" '=0' "every workload has its replicas back"
is "$(pvcs)" "$pvcs_before" "the same volumes"
secs=$(rc_sql "SELECT suspended_seconds > 0 AND suspended_by IS NULL AND suspended_at IS NULL FROM stores WHERE id = '$id'")
is "$secs" t "the suspension's length is kept, the suspension is over"
api GET "/api/v1/stores/$id/events" "$tok"
like "$(json_get '",".join(x["step"] for x in j["events"])')" 'suspend,suspend,suspended,resume,resume,ready$' \
	"the events, in order: suspend asked and done, suspended, resume asked and applied, ready"
is "$(rc_sql "SELECT string_agg(action, ',' ORDER BY id) FROM audit_log WHERE target = '$id' AND action LIKE 'store.%' AND action <> 'store.create'")" \
	"store.suspend,store.resume" "audit: store.suspend then store.resume"

# --- a reconcile killed at random moments of a suspend: the next one finishes it, once
api POST "/api/v1/stores/$id/suspend" "$tok"
is "$STATUS" 202 "suspended again"
kills=0 mid=0
for i in $(seq 1 40); do
	"$SF_BUILD/bin/storefleet-reconcile" --once --no-lock >>"$T/reconcile.log" 2>&1 &
	pid=$!
	# a kill window that widens by 25 ms a round, so kills land along the whole pass
	sleep "$(printf '0.%03d' $((i * 25 + RANDOM % 25)))"
	kill -KILL "$pid" 2>/dev/null && kills=$((kills + 1))
	wait "$pid" 2>/dev/null
	st=$(rc_status "$id")
	[ "$st" = suspended ] && break
	# killed after the scale-down went in, before the store was marked suspended
	case "$(replicas)" in *=0*) mid=$((mid + 1)) ;; esac
done
diag "killed $kills reconcile runs, $mid of them after the scale-down and before 'suspended'"
ok "a normal pass converges to suspended" rc_until 30 "(SELECT status = 'suspended' FROM stores WHERE id = '$id')"
is "$(rc_sql "SELECT count(*) FROM store_events WHERE store_id = '$id' AND step = 'suspended'")" 2 \
	"one 'suspended' event per suspension, however many runs died"
unlike "$(replicas)" '=[1-9]' "every workload at 0 again"
ing /
is "$ING_STATUS" 503 "the paused page again"

# someone scales a suspended store up by hand: reconcile scales it back down
kubectl scale deployment wordpress -n "$ns" --replicas=1 >/dev/null
ok "scaled back to zero" rc_until 30 "(SELECT count(*) = 1 FROM store_events WHERE store_id = '$id' AND message LIKE 'a workload was scaled up%')"
like "$(replicas)" 'Deployment/wordpress=0' "the Deployment is at 0 again"
is "$(rc_status "$id")" suspended "still suspended"

# a suspended store can be deleted; its suspension ends there
api DELETE "/api/v1/stores/$id" "$tok"
is "$STATUS" 202 "delete of a suspended store accepted"
ok "deleted" rc_until 30 "(SELECT status = 'deleted' FROM stores WHERE id = '$id')"
ing /
is "$ING_STATUS" 404 "the host is gone from the ingress"
# kubesim's proxy to the platform (src/kubesim/dns.c) leaves nothing behind
ks_stop_clean
done_testing
