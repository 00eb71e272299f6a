#!/bin/bash
# t0584-admission-refusals.sh - a create that cannot fit is refused at once, through the API and the form: 503 for capacity that may free up (the numbers in the reason), 422 for a store no cluster may ever hold, a StorageClass the cluster lacks, an unknown region; a custom domain past its certificate budget; each audited and counted in /metrics, nothing inserted; two creates racing for the last room: exactly one wins.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-stores.sh"

# a charts folder whose "ssd" overlay puts WordPress's volume on StorageClass fast-ssd
cp -r "$SF_ROOT/charts" "$T/charts"
cp "$T/charts/plans-local.yaml" "$T/charts/plans-ssd.yaml"
for e in woocommerce medusa; do
	cp "$T/charts/$e/values-local.yaml" "$T/charts/$e/values-ssd.yaml"
done
printf 'wordpress:\n  storage_class: fast-ssd\n' >>"$T/charts/woocommerce/values-ssd.yaml"
export SF_CHARTS_DIR=$T/charts SF_CREATE_COOLDOWN=0 SF_CREATES_PER_HOUR=100 SF_STORES_PER_TENANT=20 \
	SF_METRICS_CACHE=0 SF_DOMAIN_CERT_BUDGET=1
sf_stack
tok=$(user_token owner@example.com) || bail "no token"
tok2=$(user_token second@example.com) || bail "no token"

# the default cluster as reconcile read it: 2.5 CPU, 64Gi, local-path; a small WooCommerce
# store takes 1.5 CPU and 2Gi (its ResourceQuota requests), a small Medusa store 2 CPU and 3Gi
q "INSERT INTO cluster_capacity (cluster, nodes, cpu_millis, memory_bytes) VALUES ('default', 1, 2500, 64 * 1024::bigint ^ 3);
   INSERT INTO cluster_storage_classes (cluster, name, is_default) VALUES ('default', 'local-path', true)"
count() { q "SELECT count(*) FROM stores"; }
refusals() { q "SELECT count(*) FROM audit_log WHERE action = 'store.create.refused' AND details->>'reason' = '$1'"; }

api_json POST /api/v1/stores "$tok" '{"name":"First","engine":"woocommerce"}'
is "$STATUS" 201 "a store that fits: 201"
n0=$(count)
# --- capacity that may free up: 503 ----------------------------------------------------------------
api_json POST /api/v1/stores "$tok" '{"name":"Second","engine":"woocommerce"}'
is "$STATUS:$(json_get 'j["error"]["code"]')" "503:capacity" "no room left: 503, code capacity"
is "$(json_get 'j["error"]["message"]')" \
	"No cluster has 1.5 CPU free for a WooCommerce store on plan small; the largest has 1." \
	"... the reason with the numbers"
is "$(count):$(refusals capacity)" "$n0:1" "nothing inserted; the refusal audited"
is "$(q "SELECT details->>'name' || '/' || (details->>'engine') || '/' || (details->>'plan') || ': ' || (details->>'message') FROM audit_log WHERE action = 'store.create.refused'")" \
	"Second/woocommerce/small: No cluster has 1.5 CPU free for a WooCommerce store on plan small; the largest has 1." \
	"... with the request and the reason"
# memory short, CPU not
q "UPDATE cluster_capacity SET cpu_millis = 64000, memory_bytes = 4 * 1024::bigint ^ 3 WHERE cluster = 'default'"
api_json POST /api/v1/stores "$tok" '{"name":"Second","engine":"medusa"}'
is "$STATUS:$(json_get 'j["error"]["message"]')" \
	"503:No cluster has 3Gi of memory free for a Medusa store on plan small; the largest has 2Gi." \
	"memory short: 503 with the memory figures"
# the operator's limit on stores
q "UPDATE cluster_capacity SET memory_bytes = 64 * 1024::bigint ^ 3 WHERE cluster = 'default'; UPDATE clusters SET max_stores = 1 WHERE name = 'default'"
api_json POST /api/v1/stores "$tok" '{"name":"Second","engine":"woocommerce"}'
is "$STATUS:$(json_get 'j["error"]["message"]')" \
	"503:No cluster has room for another store: default holds 1 stores, its limit." "max_stores reached: 503"
q "UPDATE clusters SET max_stores = NULL WHERE name = 'default'"

# --- never: 422 -----------------------------------------------------------------------------------
q "UPDATE clusters SET max_cpu_millis = 1000 WHERE name = 'default'"
api_json POST /api/v1/stores "$tok" '{"name":"Big","engine":"woocommerce"}'
is "$STATUS" 422 "a store bigger than any cluster may hold (max_cpu_millis 1 CPU): 422"
is "$(json_get 'j["error"]["message"]')" \
	"A WooCommerce store on plan small needs 1.5 CPU and 2Gi of memory; no cluster may hold that much (the largest limit: 1 CPU and any memory)." \
	"... saying what it needs and the largest limit"
q "UPDATE clusters SET max_cpu_millis = NULL WHERE name = 'default'"

# --- regions --------------------------------------------------------------------------------------
q "INSERT INTO clusters (name, region) VALUES ('eu-1', 'eu-west'), ('eu-2', 'eu-central');
   UPDATE clusters SET overlay = 'ssd' WHERE name = 'eu-2';
   INSERT INTO cluster_capacity (cluster, nodes, cpu_millis, memory_bytes) VALUES
     ('eu-1', 1, 1000, 8 * 1024::bigint ^ 3), ('eu-2', 4, 32000, 128 * 1024::bigint ^ 3);
   INSERT INTO cluster_storage_classes (cluster, name, is_default) VALUES ('eu-1', 'local-path', true), ('eu-2', 'local-path', true)"
api_json POST /api/v1/stores "$tok" '{"name":"Mars","engine":"woocommerce","region":"mars"}'
is "$STATUS:$(json_get '",".join(j["error"]["fields"].keys())')" "422:region" "an unknown region: 422 naming the field"
is "$(json_get 'j["error"]["message"]')" "There is no region 'mars'; the regions are eu-central, eu-west." "... listing the regions"
api_json POST /api/v1/stores "$tok" '{"name":"Num","engine":"woocommerce","region":7}'
is "$STATUS:$(json_get '",".join(j["error"]["fields"].keys())')" "422:region" "a region that is not a string: 422"
api_json POST /api/v1/stores "$tok" '{"name":"West","engine":"woocommerce","region":"eu-west"}'
is "$STATUS:$(json_get 'j["error"]["message"]')" \
	"503:No cluster in eu-west has 1.5 CPU free for a WooCommerce store on plan small; the largest has 1." \
	"the region's only cluster is too small now: 503 naming the region"
q "UPDATE clusters SET state = 'draining' WHERE name = 'eu-1'"
api_json POST /api/v1/stores "$tok" '{"name":"West","engine":"medusa","region":"eu-west"}'
is "$STATUS:$(json_get 'j["error"]["message"]')" "503:No cluster in eu-west takes new stores: it is draining." \
	"the region's cluster is draining: 503"
q "UPDATE clusters SET state = 'active' WHERE name = 'eu-1'"

# --- a StorageClass the cluster lacks: 422 --------------------------------------------------------
api_json POST /api/v1/stores "$tok" '{"name":"Central","engine":"woocommerce","region":"eu-central"}'
is "$STATUS" 422 "eu-2's overlay names StorageClass fast-ssd, which it does not have: 422"
is "$(json_get 'j["error"]["message"]')" \
	"Cluster eu-2's overlay needs StorageClass fast-ssd, which the cluster does not have." "... saying which and where"
api_json POST /api/v1/stores "$tok" '{"name":"Central","engine":"medusa","region":"eu-central"}'
is "$STATUS" 201 "a Medusa store there names no such class: 201"
q "INSERT INTO cluster_storage_classes (cluster, name) VALUES ('eu-2', 'fast-ssd')"
api_json POST /api/v1/stores "$tok" '{"name":"Central","engine":"woocommerce","region":"eu-central"}'
is "$STATUS:$(q "SELECT cluster FROM stores WHERE id = '$(json_get 'j["store"]["id"]')'")" "201:eu-2" \
	"once reconcile has seen the class: 201 on eu-2"

# --- the form: the reason in its error area, the input kept ---------------------------------------
q "UPDATE cluster_capacity SET cpu_millis = 0"
ok "signed in" test "$(browser_login owner@example.com "$T/jar")" = 303
page "$T/jar" GET /stores
csrf=$(page_csrf)
page "$T/jar" POST /stores --data-urlencode "csrf_token=$csrf" --data-urlencode "name=Form shop" \
	--data-urlencode engine=medusa --data-urlencode region=eu-west
is "$STATUS" 503 "the form's create without room: 503"
like "$BODY" '<div class="flash flash-error" role="alert">No cluster in eu-west has 2 CPU free for a Medusa store on plan small; the largest has 0.</div>' \
	"... the reason in the error area"
like "$BODY" 'name="name" type="text" value="Form shop"' "... the name kept"
like "$BODY" '<option value="eu-west" selected>eu-west</option>' "... and the region"
page "$T/jar" POST /stores --data-urlencode "csrf_token=$csrf" --data-urlencode "name=Form shop" \
	--data-urlencode engine=medusa --data-urlencode region=atlantis
is "$STATUS" 422 "an unknown region through the form: 422"
like "$BODY" '<p class="field-error" id="region-error">There is no region &#39;atlantis&#39;; the regions are eu-central, eu-west.</p>' \
	"... under the region field"
is "$(q "SELECT count(*) FROM stores WHERE name = 'Form shop'")" 0 "nothing inserted by the form's refusals"

# --- the last room: two creates at once, exactly one wins -----------------------------------------
# default given 4 CPU, with one WooCommerce store on it (1.5): room for exactly one more small
# Medusa store (2 CPU); the other clusters draining
q "UPDATE cluster_capacity SET cpu_millis = 4000 WHERE cluster = 'default'; UPDATE clusters SET state = 'draining' WHERE name <> 'default'"
n1=$(count)
racers=()
for i in 1 2; do
	t=$tok
	[ $i = 2 ] && t=$tok2
	curl -s -o "$T/race$i" -w '%{http_code}\n' -H "Authorization: Bearer $t" -H 'Content-Type: application/json' \
		--data-binary "{\"name\":\"Race $i\",\"engine\":\"medusa\"}" "$BASE/api/v1/stores" >"$T/race$i.code" &
	racers+=($!)
done
wait "${racers[@]}"
is "$(cat "$T/race1.code" "$T/race2.code" | sort | tr '\n' ' ')" "201 503 " "two creates for the last room at once: one 201, one 503"
is "$(($(count) - n1))" 1 "... and one store more"

# --- a custom domain past its weekly certificate budget (domain_cert_budget 1) ---------------------
q "INSERT INTO audit_log (action, target, details) VALUES ('domain.verify', 'x', '{\"domain\":\"shop.example.com\"}')"
sid=$(q "SELECT id FROM stores WHERE name = 'First'")
api_json POST "/api/v1/stores/$sid/domains" "$tok" '{"domain":"new.example.com"}'
is "$STATUS" 422 "a domain under example.com, whose budget is spent: 422 at once"
is "$(q "SELECT target || ' ' || (details->>'domain') || ' ' || (details->>'reason') FROM audit_log WHERE action = 'domain.add.refused'")" \
	"$sid new.example.com budget" "... audited with the store, the domain and the reason"

# --- every refusal in /metrics --------------------------------------------------------------------
NOCOOKIES=1 http GET /metrics
metric() { printf '%s\n' "$BODY" | awk -v k="storefleet_admission_refusals_total{reason=\"$1\"}" '$1 == k { print $2 }'; }
is "$(metric capacity) $(metric storage_class) $(metric region) $(metric budget)" \
	"$(q "SELECT string_agg(n::text, ' ' ORDER BY o) FROM (SELECT o, (SELECT count(*) FROM audit_log WHERE action LIKE '%.refused' AND details->>'reason' = r) AS n FROM unnest('{capacity,storage_class,region,budget}'::text[]) WITH ORDINALITY AS u(r, o)) x")" \
	"/metrics counts the refusals by reason, as many as the audit rows"
is "$(metric capacity) $(metric storage_class) $(metric region)" "8 1 2" \
	"... capacity 8 (6 API, 1 form, 1 race), storage_class 1, region 2 (API, form)"
like "$BODY" '# TYPE storefleet_admission_refusals_total counter' "... a counter family"
done_testing
