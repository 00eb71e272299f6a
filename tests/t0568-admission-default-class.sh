#!/bin/bash
# t0568-admission-default-class.sh - an overlay whose storage_class is empty relies on the cluster's default StorageClass: reconcile records which class is the default (storageclass.kubernetes.io/is-default-class "true", or its beta name), and a create on a cluster without one is refused at once with 422 and a plain reason, audited and counted in /metrics, nothing inserted; once a class is marked default, the create is accepted and the store's volumes take that class.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-stores.sh"
. "$SF_ROOT/tests/lib-reconcile.sh"

export SF_CREATE_COOLDOWN=0 SF_CREATES_PER_HOUR=100 SF_STORES_PER_TENANT=20 SF_METRICS_CACHE=0 \
	SF_CAPACITY_INTERVAL=0
# a cluster with a StorageClass, none of them the default
rc_stack --storage-class fast
export SF_COOKIE_SECURE=false SF_REGISTRATION_OPEN=true
app_start "$T" "${SF_TEST_WORKERS:-2}" || bail "cannot start storefleet.fcgi"
nginx_start "$T" || bail "cannot start nginx"
tok=$(user_token owner@example.com) || bail "no token"
classes() { rc_sql "SELECT string_agg(name || ':' || is_default, ' ' ORDER BY name) FROM cluster_storage_classes WHERE cluster = 'default'"; }
refusals() { q "SELECT count(*) FROM audit_log WHERE action = 'store.create.refused' AND details->>'reason' = 'storage_class'"; }
metric() {
	NOCOOKIES=1 http GET /metrics
	printf '%s\n' "$BODY" | awk -v k="storefleet_admission_refusals_total{reason=\"$1\"}" '$1 == k { print $2 }'
}

rc_once --no-lock || bail "reconcile pass failed"
is "$(classes)" "fast:false" "reconcile records the cluster's class, not the default"
reason="Cluster default has no default StorageClass, and its overlay leaves the class to the default (storage_class is empty): the store's volumes would never be bound."
api_json POST /api/v1/stores "$tok" '{"name":"Tea","engine":"woocommerce"}'
is "$STATUS:$(json_get 'j["error"]["code"]')" "422:invalid" "a create relying on a default class the cluster lacks: 422"
is "$(json_get 'j["error"]["message"]')" "$reason" "... the reason in plain words"
is "$(q "SELECT count(*) FROM stores")" 0 "nothing inserted"
is "$(refusals)" 1 "the refusal audited (reason storage_class)"
is "$(q "SELECT details->>'name' || ': ' || (details->>'message') FROM audit_log WHERE action = 'store.create.refused'")" \
	"Tea: $reason" "... with the store asked for and the message the tenant saw"
is "$(metric storage_class)" 1 "counted in storefleet_admission_refusals_total{reason=\"storage_class\"}"
# the form says the same
ok "signed in" test "$(browser_login owner@example.com "$T/jar")" = 303
page "$T/jar" GET /stores
csrf=$(page_csrf)
page "$T/jar" POST /stores --data-urlencode "csrf_token=$csrf" --data-urlencode "name=Form shop" \
	--data-urlencode engine=medusa
is "$STATUS" 422 "through the form (a Medusa store, whose volumes rely on the default too): 422"
like "$BODY" "Cluster default has no default StorageClass" "... the reason on the page"
like "$BODY" 'value="Form shop"' "... the input kept"
is "$(refusals):$(metric storage_class)" "2:2" "... audited and counted too"

# --- the beta annotation is a default too, as the API server's admission reads it ------------------
kubectl annotate storageclass fast storageclass.beta.kubernetes.io/is-default-class=true >/dev/null
rc_once --no-lock
is "$(classes)" "fast:true" "marked default with the beta annotation: recorded as the default"
kubectl annotate storageclass fast storageclass.beta.kubernetes.io/is-default-class- >/dev/null
rc_once --no-lock
is "$(classes)" "fast:false" "the annotation removed: not the default any more"
api_json POST /api/v1/stores "$tok" '{"name":"Tea","engine":"woocommerce"}'
is "$STATUS" 422 "... and creates are refused again"

# --- the operator marks a default: creates go through, the volumes take it ------------------------
kubectl annotate storageclass fast storageclass.kubernetes.io/is-default-class=true >/dev/null
rc_once --no-lock
is "$(classes)" "fast:true" "marked default: recorded"
api_json POST /api/v1/stores "$tok" '{"name":"Tea","engine":"woocommerce"}'
is "$STATUS" 201 "the same create: 201"
id=$(json_get 'j["store"]["id"]')
ok "the store becomes ready" rc_until 60 "(SELECT status = 'ready' FROM stores WHERE id = '$id')"
is "$(kubectl get pvc -n "store-$id" -o jsonpath='{range .items[*]}{.spec.storageClassName} {end}')" "fast fast " \
	"its volumes took the default class"
is "$(refusals):$(metric storage_class)" "3:3" "three refusals in all"
done_testing
