#!/bin/bash
# t0581-plans-change.sh - a plan change reaches the namespace: the ResourceQuota and LimitRange of the new plan, the volumes grown on an expandable StorageClass (resize status seen, the StatefulSet's claim templates left as the API server requires); storage never shrinks, one change at a time, another tenant's store is a 404, the page form needs its CSRF token, storefleetctl store plan; every step in the activity and the audit log.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-stores.sh"
. "$SF_ROOT/tests/lib-reconcile.sh"

export SF_SECRET_KEY=$RC_KEY SF_CREATE_COOLDOWN=0 SF_CREATES_PER_HOUR=100
kubesim_start "$T/kubesim" --pod-ready-ms 50 --job-complete-ms 50 --pvc-bind-ms 20 \
	--ns-delete-ms 50 --observed-lag-ms 10 || bail "cannot start kubesim"
export SF_INGRESS_ADDRESS=$KUBESIM_INGRESS SF_FAILURE_GRACE=1 SF_RECONCILE_INTERVAL=1
sf_stack
tok=$(user_token owner@example.com) || bail "no token"
tok2=$(user_token other@example.com) || bail "no token"

# the cluster's default StorageClass allows expansion (a CSI driver's, unlike k3s's local-path)
kubectl apply -f - >/dev/null <<'YAML'
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: expandable
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: example.com/csi
allowVolumeExpansion: true
YAML
is "$(kubectl get storageclass expandable -o jsonpath='{.allowVolumeExpansion}')" true \
	"kubesim serves StorageClass objects (kubectl get storageclass)"

api_json POST /api/v1/stores "$tok" '{"name":"Growing shop","engine":"woocommerce","plan":"small"}'
id=$(json_get 'j["store"]["id"]')
ns=store-$id
ok "the small store becomes ready" rc_until 60 "(SELECT status = 'ready' FROM stores WHERE id = '$id')"
hard() { kubectl get resourcequota -n "$ns" -o jsonpath='{.items[0].spec.hard.limits\.cpu} {.items[0].spec.hard.requests\.storage} {.items[0].spec.hard.pods}'; }
vols() { kubectl get pvc -n "$ns" -o jsonpath='{range .items[*]}{.metadata.name}={.spec.resources.requests.storage}/{.status.capacity.storage}/{.spec.storageClassName} {end}'; }
is "$(hard)" "6 20Gi 10" "small: its quota"
is "$(vols)" "data-mariadb-0=5Gi/5Gi/expandable wordpress=5Gi/5Gi/expandable " \
	"small: 5Gi volumes of the default class"

# another tenant, no token, bad bodies: nothing changes
api_json POST "/api/v1/stores/$id/plan" "$tok2" '{"plan":"medium"}'
is "$STATUS:$(json_get 'j["error"]["message"]')" "404:There is no such store." "another tenant: 404, as for a missing store"
api_json POST "/api/v1/stores/$id/plan" "$tok" '{}'
is "$STATUS:$(json_get '",".join(j["error"]["fields"].keys())')" "422:plan" "no plan in the body: 422"
api_json POST "/api/v1/stores/$id/plan" "$tok" '{"plan":"gold"}'
is "$STATUS:$(json_get 'j["error"]["message"]')" "422:There is no plan 'gold'; the plans are small, medium, large." \
	"an unknown plan: 422 with the list"
api_json POST "/api/v1/stores/$id/plan" "$tok" '{"plan":"small"}'
is "$STATUS:$(json_get 'j["error"]["message"]')" "422:The store is on plan small already." "the same plan: 422"
is "$(q "SELECT plan || '/' || plan_applied FROM stores WHERE id = '$id'")" "small/small" "... the row unchanged"

# up: small -> medium through PATCH
api_json PATCH "/api/v1/stores/$id" "$tok" '{"plan":"medium"}'
is "$STATUS:$(json_get 'j["store"]["plan"] + ">" + j["store"]["plan_pending"]')" "200:small>medium" \
	"PATCH {plan: medium}: 200, the change pending"
api_json POST "/api/v1/stores/$id/plan" "$tok" '{"plan":"large"}'
is "$STATUS" 409 "a second change while the first is applied: 409"
like "$(json_get 'j["error"]["message"]')" 'still being applied' "... saying why"
ok "reconcile applies it" rc_until 30 "(SELECT plan_applied = 'medium' FROM stores WHERE id = '$id')"
is "$(hard)" "8 30Gi 12" "medium: the namespace's ResourceQuota is medium's"
is "$(kubectl get limitrange -n "$ns" -o jsonpath='{.items[0].spec.limits[0].max.cpu}')" 2 "... and the LimitRange is applied"
is "$(kubectl get pvc -n "$ns" -o jsonpath='{range .items[*]}{.metadata.name}={.spec.resources.requests.storage} {end}')" \
	"data-mariadb-0=10Gi wordpress=10Gi " "both volumes asked to grow to 10Gi"
resize_seen() {
	kubectl get pvc -n "$ns" -o json | python3 -c '
import json, sys
for p in json.load(sys.stdin)["items"]:
    st = p["status"]
    if st.get("allocatedResources", {}).get("storage") != "10Gi":
        sys.exit(1)'
}
ok "the resize is under way: status.allocatedResources follows" wait_for 10 resize_seen
grown() { [ "$(vols)" = "data-mariadb-0=10Gi/10Gi/expandable wordpress=10Gi/10Gi/expandable " ]; }
ok "the running pods' volumes finish the resize: capacity 10Gi" wait_for 20 grown
is "$(kubectl get pvc -n "$ns" -o jsonpath='{range .items[*]}{.status.conditions}{.status.allocatedResourceStatuses}{end}')" "" \
	"... no resize condition or status left"
is "$(kubectl get statefulset mariadb -n "$ns" -o jsonpath='{.spec.volumeClaimTemplates[0].spec.resources.requests.storage}')" 5Gi \
	"the StatefulSet's claim template keeps its 5Gi (the API server forbids the change)"
is "$(q "SELECT status FROM stores WHERE id = '$id'")" ready "the store stays ready"
api GET "/api/v1/stores/$id/events" "$tok"
like "$(json_get '"\n".join(e["message"] for e in j["events"])')" \
	'Plan change requested: small to medium\.
Plan changed from small to medium: new quota and limits applied; volumes growing: data-mariadb-0 5Gi to 10Gi, wordpress 5Gi to 10Gi\.' \
	"the activity says what was asked and what was done"
is "$(q "SELECT string_agg(action || ' ' || coalesce(actor_email, '') || ' ' || (details->>'from') || '>' || (details->>'to'), ', ' ORDER BY id) FROM audit_log WHERE target = '$id' AND action LIKE 'store.plan%'")" \
	"store.plan_change owner@example.com small>medium, store.plan_applied storefleet small>medium" \
	"audit: the request by its owner, the apply by storefleet"

# down: storage never shrinks
api_json POST "/api/v1/stores/$id/plan" "$tok" '{"plan":"small"}'
is "$STATUS" 422 "medium -> small: 422"
is "$(json_get 'j["error"]["message"]')" \
	"storage cannot shrink: plan small has 5Gi of storage, the store has 10Gi (plan medium), and a volume cannot be made smaller." \
	"... storage cannot shrink, in words"
is "$(q "SELECT plan FROM stores WHERE id = '$id'")" medium "... and the store's plan is untouched"

# the page: the form needs its CSRF token, then a change to large
jar=$T/jar
browser_login owner@example.com "$jar" >/dev/null
page "$jar" GET "/stores/$id"
like "$BODY" '<form class="form-inline" method="post" action="/stores/'"$id"'/plan">' "the store page has the Change plan form"
like "$BODY" '<option value="large">Large: 20Gi of storage, backups kept 30 days</option>' "... offering the other plans"
unlike "$BODY" '<option value="medium">Medium' "... but not the current one"
csrf=$(page_csrf)
page "$jar" POST "/stores/$id/plan" --data-urlencode plan=large -H "Origin: $BASE"
is "$STATUS" 403 "without the CSRF token: 403"
is "$(q "SELECT plan FROM stores WHERE id = '$id'")" medium "... nothing changed"
page "$jar" POST "/stores/$id/plan" --data-urlencode "csrf_token=$csrf" --data-urlencode plan=large -H "Origin: $BASE"
is "$STATUS:$(header Location)" "303:/stores/$id?plan=1" "with it: 303 back to the store"
page "$jar" GET "/stores/$id?plan=1"
like "$BODY" 'Plan change requested' "the flash says so"
like "$BODY" '<span class="badge">changing to large</span>' "the page shows the change pending"
unlike "$BODY" 'action="/stores/'"$id"'/plan"' "... and offers no other change meanwhile"
ok "reconcile applies large" rc_until 30 "(SELECT plan_applied = 'large' FROM stores WHERE id = '$id')"
is "$(hard)" "10 50Gi 14" "large: the namespace's ResourceQuota is large's"
page "$jar" GET "/stores/$id"
like "$BODY" 'Plan changed from medium to large' "the store page's activity shows the change"

# storefleetctl, as the operator: the same rules
out=$("$SF_BUILD/bin/storefleetctl" store plan "$id" medium 2>&1)
is "$?:$out" "1:storefleetctl: store plan: storage cannot shrink: plan medium has 10Gi of storage, the store has 20Gi (plan large), and a volume cannot be made smaller." \
	"storefleetctl store plan: a shrink is refused the same way"
api_json POST /api/v1/stores "$tok" '{"name":"Ctl shop","engine":"medusa"}'
id2=$(json_get 'j["store"]["id"]')
ok "a small Medusa store becomes ready" rc_until 60 "(SELECT status = 'ready' FROM stores WHERE id = '$id2')"
out=$("$SF_BUILD/bin/storefleetctl" store plan "$id2" medium 2>&1)
is "$?:$out" "0:$id2: change to plan medium requested" "storefleetctl store plan ID medium"
ok "reconcile applies it" rc_until 30 "(SELECT plan_applied = 'medium' FROM stores WHERE id = '$id2')"
is "$(kubectl get resourcequota -n "store-$id2" -o jsonpath='{.items[0].spec.hard.limits\.memory} {.items[0].spec.hard.requests\.storage}')" \
	"10Gi 25Gi" "medium Medusa: its quota"
is "$(kubectl get pvc -n "store-$id2" -o jsonpath='{range .items[*]}{.metadata.name}={.spec.resources.requests.storage} {end}')" \
	"data-postgres-0=10Gi uploads=2Gi " "the database volume and the uploads volume grew"
is "$(q "SELECT actor_email FROM audit_log WHERE target = '$id2' AND action = 'store.plan_change'")" storefleetctl \
	"the audit row names storefleetctl"
done_testing
