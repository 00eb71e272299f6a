#!/bin/bash
# t0580-plans-create.sh - plans: GET /api/v1/plans, a store created on each plan gets that plan's ResourceQuota, LimitRange and volume sizes in its namespace; no plan = the default; an unknown plan is a 422 with the list; the per-plan store limit per tenant; the store page and /metrics show the plan.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-stores.sh"
. "$SF_ROOT/tests/lib-reconcile.sh"

export SF_SECRET_KEY=$RC_KEY SF_CREATE_COOLDOWN=0 SF_CREATES_PER_HOUR=100 SF_STORES_PER_TENANT=20
kubesim_start "$T/kubesim" --pod-ready-ms 50 --job-complete-ms 50 --pvc-bind-ms 20 \
	--ns-delete-ms 50 --observed-lag-ms 10 || bail "cannot start kubesim"
export SF_INGRESS_ADDRESS=$KUBESIM_INGRESS SF_FAILURE_GRACE=1 SF_RECONCILE_INTERVAL=1
sf_stack
tok=$(user_token owner@example.com) || bail "no token"
PLANS=$SF_ROOT/charts/plans-local.yaml

# plan_field PLAN ENGINE PATH...: a value of the shipped plans file
plan_field() {
	python3 - "$PLANS" "$@" <<'PY'
import sys, yaml
v = yaml.safe_load(open(sys.argv[1]))["plans"][sys.argv[2]]["values"][sys.argv[3]]
for k in sys.argv[4:]:
    v = v[k]
print(v)
PY
}

api GET /api/v1/plans "$tok"
is "$STATUS" 200 "GET /api/v1/plans: 200"
is "$(json_get '" ".join(p["name"] + ":" + p["storage"] + ":" + str(p["stores_per_tenant"]) for p in j["plans"]) + " default=" + j["default"]')" \
	"small:5Gi:5 medium:10Gi:3 large:20Gi:1 default=small" "the shipped local plans, in order, with the default"

declare -A ids
for plan in small medium large; do
	api_json POST /api/v1/stores "$tok" "{\"name\":\"On $plan\",\"engine\":\"woocommerce\",\"plan\":\"$plan\"}"
	is "$STATUS:$(json_get 'j["store"]["plan"]')" "201:$plan" "a store requested on plan $plan"
	ids[$plan]=$(json_get 'j["store"]["id"]')
done
api_json POST /api/v1/stores "$tok" '{"name":"No plan said","engine":"medusa"}'
is "$STATUS:$(json_get 'j["store"]["plan"]'):$(json_get 'j["store"]["plan_title"]')" "201:small:Small" \
	"no plan in the request: the default plan"
ids[default]=$(json_get 'j["store"]["id"]')
is "$(q "SELECT plan || '/' || plan_applied FROM stores WHERE id = '${ids[default]}'")" "small/small" \
	"the row names the default plan, asked and applied"

# bad input: an unknown plan, a plan that is not a string; nothing is created
n0=$(q "SELECT count(*) FROM stores")
api_json POST /api/v1/stores "$tok" '{"name":"Gold","engine":"woocommerce","plan":"gold"}'
is "$STATUS" 422 "an unknown plan: 422"
is "$(json_get '",".join(j["error"]["fields"].keys())')" plan "... naming the field plan"
is "$(json_get 'j["error"]["message"]')" "There is no plan 'gold'; the plans are small, medium, large." \
	"... and listing the plans"
api_json POST /api/v1/stores "$tok" '{"name":"Num","engine":"woocommerce","plan":3}'
is "$STATUS:$(json_get '",".join(j["error"]["fields"].keys())')" "422:plan" "a plan that is not a string: 422"
# the per-plan limit: large allows one store per tenant
api_json POST /api/v1/stores "$tok" '{"name":"Second large","engine":"medusa","plan":"large"}'
is "$STATUS:$(json_get '",".join(j["error"]["fields"].keys())')" "422:plan" "a second store on plan large (stores_per_tenant 1): 422"
like "$(json_get 'j["error"]["message"]')" '^You have 1 store on plan large, the limit per account is 1' \
	"... saying how many and the limit"
is "$(q "SELECT count(*) FROM stores")" "$n0" "nothing was created by the refused requests"
# another tenant has its own count
tok2=$(user_token other@example.com) || bail "no token"
api_json POST /api/v1/stores "$tok2" '{"name":"Their large","engine":"woocommerce","plan":"large"}'
is "$STATUS" 201 "another tenant may have its own store on plan large"
ids[other]=$(json_get 'j["store"]["id"]')

"$SF_BUILD/bin/storefleet-reconcile" --for 90s >>"$T/reconcile.log" 2>&1 &
loop=$!
STACK_PIDS+=("reconcile:$loop")
ready() { [ "$(q "SELECT status FROM stores WHERE id = '$1'")" = ready ]; }
for k in small medium large default; do
	ok "the $k store becomes ready" wait_for 90 ready "${ids[$k]}"
done

# quota ID: the namespace's ResourceQuota hard and LimitRange max, as kubectl reads them
quota() {
	kubectl get resourcequota,limitrange -n "store-$1" -o json | python3 -c '
import json, sys
items = json.load(sys.stdin)["items"]
q = [i for i in items if i["kind"] == "ResourceQuota"][0]["spec"]["hard"]
lr = [i for i in items if i["kind"] == "LimitRange"][0]["spec"]["limits"][0]["max"]
print(" ".join("%s=%s" % (k, q[k]) for k in sorted(q)), "max=%s/%s" % (lr["cpu"], lr["memory"]))'
}
# want PLAN ENGINE: the same line from the plans file
want() {
	local p=$1 e=$2
	echo "limits.cpu=$(plan_field $p $e quota limits_cpu) limits.memory=$(plan_field $p $e quota limits_memory)" \
		"persistentvolumeclaims=$(plan_field $p $e quota pvcs) pods=$(plan_field $p $e quota pods)" \
		"requests.cpu=$(plan_field $p $e quota requests_cpu) requests.memory=$(plan_field $p $e quota requests_memory)" \
		"requests.storage=$(plan_field $p $e quota storage) max=2/2Gi"
}
for p in small medium large; do
	got=$(quota "${ids[$p]}")
	is "$got" "$(want $p woocommerce)" "plan $p: the namespace's ResourceQuota is the plan's"
	vols=$(kubectl get pvc -n "store-${ids[$p]}" -o jsonpath='{range .items[*]}{.metadata.name}={.spec.resources.requests.storage} {end}')
	s=$(plan_field $p woocommerce mariadb storage)
	is "$vols" "data-mariadb-0=$s wordpress=$s " "plan $p: the database and files volumes are $s"
done
is "$(quota "${ids[default]}")" "$(want small medusa)" "the default plan's Medusa store: small's Medusa quota"
is "$(quota "${ids[other]}")" "$(want large woocommerce)" "the other tenant's large store: large's quota"

# what the tenant sees
jar=$T/jar
browser_login owner@example.com "$jar" >/dev/null
page "$jar" GET "/stores/${ids[medium]}"
like "$BODY" '<dd id="plan">Medium <span class="muted small">\(medium, 10Gi of storage, backups kept 14 days\)</span></dd>' \
	"the store page shows the plan, its storage and backup retention"
page "$jar" GET /stores
like "$BODY" '<option value="medium">Medium: 10Gi of storage, backups kept 14 days</option>' "the create form offers the plans"
like "$BODY" '<option value="small" selected>' "... the default selected"
csrf=$(page_csrf)
page "$jar" POST /stores --data-urlencode "csrf_token=$csrf" -H "Origin: $BASE" \
	--data-urlencode "name=Form gold" --data-urlencode engine=woocommerce --data-urlencode plan=gold
is "$STATUS" 422 "the form with an unknown plan: 422"
like "$BODY" 'id="plan-error">There is no plan &#39;gold&#39;; the plans are small, medium, large.<' \
	"... the error next to the plan field"
like "$BODY" 'value="Form gold"' "... and the name typed is kept"
api GET "/api/v1/stores/${ids[large]}" "$tok"
is "$(json_get 'j["store"]["plan"] + " " + str(j["store"]["backup_retention_days"]) + " " + str(j["store"]["plan_pending"])')" \
	"large 30 None" "the API's store has the plan, its backup retention and no change pending"

http GET /metrics
like "$BODY" 'storefleet_stores_by_plan\{plan="small",engine="medusa"\} 1' "/metrics: stores per plan (the default counted as small)"
like "$BODY" 'storefleet_stores_by_plan\{plan="large",engine="woocommerce"\} 2' "/metrics: two stores on large"
done_testing
