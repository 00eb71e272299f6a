#!/bin/bash
# t0582-plans-refused.sh - on k3s's local-path StorageClass (no allowVolumeExpansion) a plan that grows storage is refused with the reason in plain words: the plan put back, the ResourceQuota unchanged, the store ready; the API server's own refusal of the resize, and a plan with the same storage that applies.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-stores.sh"
. "$SF_ROOT/tests/lib-reconcile.sh"

export SF_SECRET_KEY=$RC_KEY SF_CREATE_COOLDOWN=0 SF_CREATES_PER_HOUR=100
kubesim_start "$T/kubesim" --pod-ready-ms 50 --job-complete-ms 50 --pvc-bind-ms 20 \
	--ns-delete-ms 50 --observed-lag-ms 10 || bail "cannot start kubesim"
export SF_INGRESS_ADDRESS=$KUBESIM_INGRESS SF_FAILURE_GRACE=1 SF_RECONCILE_INTERVAL=1
# a plans file of the operator's: "cpu" has small's storage and more CPU
sed -e '/^plans:/r /dev/stdin' "$SF_ROOT/charts/plans-local.yaml" >"$T/plans.yaml" <<'YAML'
  cpu:
    title: More CPU
    storage: 5Gi
    backup_retention_days: 7
    stores_per_tenant: 5
    values:
      woocommerce:
        quota: {requests_cpu: "2", requests_memory: 2Gi, limits_cpu: "8", limits_memory: 4Gi, pods: 10, pvcs: 4, storage: 20Gi}
YAML
export SF_PLANS_FILE=$T/plans.yaml
sf_stack
tok=$(user_token owner@example.com) || bail "no token"

# k3d/k3s: local-path is the default class and cannot grow volumes (kubesim starts with it too)
kubectl apply --server-side -f - >/dev/null <<'YAML'
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: local-path
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: rancher.io/local-path
reclaimPolicy: Delete
volumeBindingMode: WaitForFirstConsumer
YAML

api_json POST /api/v1/stores "$tok" '{"name":"Local shop","engine":"woocommerce"}'
id=$(json_get 'j["store"]["id"]')
ns=store-$id
ok "the store becomes ready" rc_until 60 "(SELECT status = 'ready' FROM stores WHERE id = '$id')"
hard() { kubectl get resourcequota -n "$ns" -o jsonpath='{.items[0].spec.hard.limits\.cpu} {.items[0].spec.hard.requests\.storage}'; }
is "$(hard)" "6 20Gi" "small's quota"
is "$(kubectl get pvc wordpress -n "$ns" -o jsonpath='{.spec.storageClassName}')" local-path "its volumes are local-path's"

# the API server itself refuses to grow such a claim, with its text
out=$(kubectl patch pvc wordpress -n "$ns" -p '{"spec":{"resources":{"requests":{"storage":"6Gi"}}}}' 2>&1)
is "$out" 'Error from server (Forbidden): persistentvolumeclaims "wordpress" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize' \
	"kubectl patch to grow a local-path claim: 403 Forbidden, the API server's text"

api_json POST "/api/v1/stores/$id/plan" "$tok" '{"plan":"medium"}'
is "$STATUS" 200 "small -> medium is accepted as a request (reconcile decides)"
ok "reconcile refuses it: the plan goes back to small" rc_until 30 \
	"(SELECT plan = 'small' AND plan_applied = 'small' FROM stores WHERE id = '$id')"
is "$(hard)" "6 20Gi" "the ResourceQuota is unchanged"
is "$(kubectl get pvc -n "$ns" -o jsonpath='{range .items[*]}{.spec.resources.requests.storage} {end}')" "5Gi 5Gi " \
	"no volume was asked to grow"
is "$(q "SELECT status || '|' || status_reason FROM stores WHERE id = '$id'")" "ready|" "the store stays ready, no trouble said"
reason='Plan change to medium refused: volume data-mariadb-0 cannot grow from 5Gi to 10Gi: its StorageClass "local-path" does not allow volume expansion (allowVolumeExpansion is not true). The store stays on plan small.'
is "$(q "SELECT level || ' ' || message FROM store_events WHERE store_id = '$id' ORDER BY id DESC LIMIT 1")" "warn $reason" \
	"the activity says why, in plain words"
jar=$T/jar
browser_login owner@example.com "$jar" >/dev/null
page "$jar" GET "/stores/$id"
like "$BODY" 'Plan change to medium refused: volume data-mariadb-0 cannot grow from 5Gi to 10Gi: its StorageClass &quot;local-path&quot; does not allow volume expansion' \
	"the store page shows the reason"
like "$BODY" 'action="/stores/'"$id"'/plan"' "... and offers a change again"
is "$(q "SELECT details->>'reason' FROM audit_log WHERE target = '$id' AND action = 'store.plan_refused'")" \
	'volume data-mariadb-0 cannot grow from 5Gi to 10Gi: its StorageClass "local-path" does not allow volume expansion (allowVolumeExpansion is not true)' \
	"audit: store.plan_refused with the reason"

# a plan with the same storage needs no expansion: it applies on local-path
api_json POST "/api/v1/stores/$id/plan" "$tok" '{"plan":"cpu"}'
is "$STATUS" 200 "small -> cpu (same storage): 200"
ok "reconcile applies it" rc_until 30 "(SELECT plan_applied = 'cpu' FROM stores WHERE id = '$id')"
is "$(hard)" "8 20Gi" "the ResourceQuota is cpu's"
is "$(q "SELECT message FROM store_events WHERE store_id = '$id' ORDER BY id DESC LIMIT 1")" \
	"Plan changed from small to cpu: new quota and limits applied; no volume grows." "the activity says nothing grew"
done_testing
