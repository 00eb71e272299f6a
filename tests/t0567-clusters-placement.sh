#!/bin/bash
# t0567-clusters-placement.sh - placement across two real clusters (two kubesims), end to end through the public interfaces: eu-2 registered with storefleetctl and its nodes read by reconcile; a create asking for region eu lands on eu-2 and is provisioned there only, one with no region on the cluster with the most free CPU; drained, eu-2 takes no new store (503 with the reason) while its store is still served; undrained, it takes them again.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-stores.sh"
. "$SF_ROOT/tests/lib-reconcile.sh"
. "$SF_ROOT/tests/lib-multicluster.sh"

export SF_CREATE_COOLDOWN=0 SF_CREATES_PER_HOUR=100 SF_CAPACITY_INTERVAL=0
export SF_COOKIE_SECURE=false SF_REGISTRATION_OPEN=true
rc_stack
mc_second --node eu2-node=4,16Gi || bail "cannot start the second kubesim"
app_start "$T" 2 || bail "cannot start storefleet.fcgi"
nginx_start "$T" || bail "cannot start nginx"
tok=$(user_token owner@example.com) || bail "no token"
mc_register eu-2 "$K2_ADDR" eu2.shops.test "$K2_INGRESS" || bail "cannot register eu-2"
rc_once
is "$(rc_sql "SELECT string_agg(cluster || ':' || cpu_millis, ' ' ORDER BY cluster) FROM cluster_capacity")" \
	"default:16000 eu-2:4000" "reconcile read each cluster's nodes with its own client"

create() { # BODY: the new store's id in ID, its cluster in CLUSTER
	api_json POST /api/v1/stores "$tok" "$1"
	[ "$STATUS" = 201 ] || { echo "create: $STATUS $BODY" >&2; return 1; }
	CLUSTER=$(json_get 'j["store"]["cluster"]') ID=$(json_get 'j["store"]["id"]')
}
create '{"name":"Eu","engine":"woocommerce","region":"eu"}' || bail "no store"
se=$ID
is "$CLUSTER" eu-2 "region eu: placed on eu-2, the region's only cluster"
create '{"name":"Anywhere","engine":"medusa"}' || bail "no store"
sd=$ID
is "$CLUSTER" default "no region: the default cluster, which has the most free CPU (16 against 4)"
ok "both stores are provisioned" rc_until 60 "(SELECT count(*) = 2 FROM stores WHERE status = 'ready')"
is "$(k2 get namespace "store-$se" -o name 2>&1)" "namespace/store-$se" "the eu store's namespace is on eu-2"
is "$(k1 get namespace "store-$se" -o name 2>/dev/null)" "" "... and not on the default cluster"
is "$(k1 get namespace "store-$sd" -o name 2>&1)" "namespace/store-$sd" "the other store's is on the default cluster"
is "$(k2 get ingress -n "store-$se" -o jsonpath='{.items[0].spec.rules[0].host}')" "store-$se.eu2.shops.test" \
	"the eu store's host is in eu-2's store domain"
api GET "/api/v1/stores/$se" "$tok"
is "$(json_get 'j["store"]["cluster"] + " " + j["store"]["region"] + " " + j["store"]["url"]')" \
	"eu-2 eu http://store-$se.eu2.shops.test/" "the owner sees where it runs and its address"

# --- drain: no new store on eu-2, its store still served ----------------------------------------
"$SF_BUILD/bin/storefleetctl" cluster drain eu-2 >>"$T/ctl.log" 2>&1
is "$?" 0 "storefleetctl cluster drain eu-2"
api_json POST /api/v1/stores "$tok" '{"name":"Eu two","engine":"woocommerce","region":"eu"}'
is "$STATUS:$(json_get 'j["error"]["code"]')" "503:capacity" "a create for region eu while eu-2 drains: 503"
like "$(json_get 'j["error"]["message"]')" "drain" "... saying that the region's cluster is draining"
is "$(rc_sql "SELECT count(*) FROM stores")" 2 "... and nothing is inserted"
create '{"name":"Anywhere two","engine":"woocommerce"}' || bail "no store"
sn=$ID
is "$CLUSTER" default "no region while eu-2 drains: the default cluster"
rc_once
is "$(rc_status "$se")" ready "the drained cluster's store is still served"
http GET /metrics
like "$BODY" '^storefleet_admission_refusals_total\{reason="capacity"\} 1$' "/metrics counts the refusal"

"$SF_BUILD/bin/storefleetctl" cluster undrain eu-2 >>"$T/ctl.log" 2>&1
create '{"name":"Eu two","engine":"woocommerce","region":"eu"}' || bail "no store"
se2=$ID
is "$CLUSTER" eu-2 "undrained, eu-2 takes the region's stores again"
ok "the new stores are provisioned" rc_until 60 "(SELECT count(*) = 4 FROM stores WHERE status = 'ready')"
is "$(k2 get namespace "store-$se2" -o name 2>&1) $(k1 get namespace "store-$sn" -o name 2>&1)" \
	"namespace/store-$se2 namespace/store-$sn" "each on the cluster it was placed on"

# --- suspended, the eu-2 store's host under eu-2's domain answers with the paused page -----------
host_get() { STATUS=$(curl -s -o "$T/body" -w '%{http_code}' -H "Host: $1" "$BASE/"); BODY=$(cat "$T/body"); }
host_get "store-$se.eu2.shops.test"
is "$STATUS" 404 "before it is suspended, the store's host is no paused page"
api POST "/api/v1/stores/$se/suspend" "$tok"
is "$STATUS" 202 "the owner suspends the eu-2 store"
ok "it is suspended" rc_until 30 "(SELECT status = 'suspended' FROM stores WHERE id = '$se')"
host_get "store-$se.eu2.shops.test"
is "$STATUS" 503 "its host under eu-2's store domain answers with the paused page"
like "$BODY" "Eu" "... naming the store"
host_get "store-$se.127.0.0.1.nip.io"
is "$STATUS" 404 "under the default cluster's domain it is no store's host"
host_get "store-$sd.eu2.shops.test"
is "$STATUS" 404 "nor is a default store's id under eu-2's domain"
done_testing
