#!/bin/bash
# t0594 - the admin Clusters page and its JSON twin: every cluster with its settings, stores, limits
# and what reconcile last wrote; drain and undrain by form (CSRF, audited) and by PATCH; tenants
# refused.  A store shows the cluster it is placed on, and its address uses that cluster's domain.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-stores.sh"

sf_stack
admin=$(user_token admin@example.com) || bail "no admin"
tina=$(user_token tina@example.com) || bail "no token"
ajar=$T/admin.jar tjar=$T/tina.jar
is "$(browser_login admin@example.com "$ajar")|$(browser_login tina@example.com "$tjar")" "303|303" "both sign in"

# Clusters as storefleetctl adds them and reconcile describes them (both other programs: SQL here).
q "insert into clusters (name, in_cluster, region, store_domain, overlay, max_stores, max_cpu_millis, max_memory_bytes)
   values ('eu2', true, 'eu-west', 'eu2.shops.example', 'prod', 40, 8000, 17179869184),
          ('us1', true, '', '', '', NULL, NULL, NULL)" >/dev/null
q "update clusters set reachable = true, checked_at = now() where name = 'eu2'" >/dev/null
q "update clusters set reachable = false, checked_at = now(), trouble = 'GET /api/v1/nodes: connection refused <b>' where name = 'us1'" >/dev/null
q "insert into cluster_capacity (cluster, nodes, cpu_millis, memory_bytes) values ('eu2', 3, 12000, 51539607552)" >/dev/null
q "insert into cluster_storage_classes (cluster, name) values ('eu2', 'fast'), ('eu2', 'standard')" >/dev/null
seed_stores tina@example.com 3 ready >/dev/null
S1=$(q "select id from stores order by id limit 1")
S2=$(q "select id from stores order by id offset 1 limit 1")
q "update stores set cluster = 'eu2' where id = '$S1'" >/dev/null

# --- JSON ------------------------------------------------------------------------------------
api GET /api/v1/admin/clusters "$admin"
is "$STATUS|$(json_get '" ".join(c["name"] for c in j["clusters"])')" "200|default eu2 us1" "GET /api/v1/admin/clusters: default first, then by name"
is "$(json_get 'sorted(j["clusters"][1].keys())')" \
	'["capacity", "checked_at", "connection", "context", "created_at", "domain", "limits", "name", "overlay", "reachable", "region", "state", "storage_classes", "store_domain", "stores", "trouble"]' \
	"a cluster's members (no kubeconfig among them)"
is "$(json_get 'j["clusters"][1]["stores"], j["clusters"][1]["limits"], j["clusters"][1]["capacity"]["cpu_millis"], j["clusters"][1]["storage_classes"], j["clusters"][1]["reachable"]')" \
	"(1, {'stores': 40, 'cpu_millis': 8000, 'memory_bytes': 17179869184}, 12000, ['fast', 'standard'], True)" \
	"eu2: one store, its limits, observed capacity and StorageClasses, reachable"
is "$(json_get 'j["clusters"][0]["stores"], j["clusters"][0]["connection"], j["clusters"][0]["capacity"], j["clusters"][0]["reachable"], j["clusters"][0]["domain"] != ""')" \
	"(2, 'configuration', None, None, True)" "default: the other stores, the configuration's connection, nothing observed"
is "$(json_get 'j["clusters"][2]["reachable"], j["clusters"][2]["trouble"]')" \
	"(False, 'GET /api/v1/nodes: connection refused <b>')" "us1: unreachable, with reconcile's reason"
api_json PATCH /api/v1/admin/clusters/eu2 "$admin" '{"state":"draining"}'
is "$STATUS|$(json_get 'j["cluster"]["state"], j["changed"]')" "200|('draining', True)" "PATCH state=draining drains"
api_json PATCH /api/v1/admin/clusters/eu2 "$admin" '{"state":"draining"}'
is "$STATUS|$(json_get 'j["changed"]')" "200|False" "again: nothing changes"
api_json PATCH /api/v1/admin/clusters/eu2 "$admin" '{"state":"active"}'
is "$STATUS|$(json_get 'j["cluster"]["state"]')" "200|active" "PATCH state=active undrains"
api_json PATCH /api/v1/admin/clusters/eu2 "$admin" '{"state":"gone"}'
is "$STATUS|$(json_get 'list(j["error"]["fields"])')" '422|["state"]' "a bad state -> 422 on state"
api_json PATCH /api/v1/admin/clusters/eu2 "$admin" '{"kubeconfig":"x"}'
is "$STATUS|$(json_get 'list(j["error"]["fields"])')" '422|["kubeconfig"]' "any other member -> 422"
api_json PATCH /api/v1/admin/clusters/nowhere "$admin" '{"state":"active"}'
is "$STATUS" 404 "an unknown cluster -> 404"
is "$(q "select string_agg(action || ':' || actor_email, ' ' order by id) from audit_log where target = 'eu2'")" \
	"cluster.drain:admin@example.com cluster.undrain:admin@example.com" "audited with the admin's email, the no-op not"

# --- the page ----------------------------------------------------------------------------
page "$ajar" GET /admin/clusters
is "$STATUS" 200 "GET /admin/clusters -> 200"
like "$BODY" 'href="/admin/clusters" aria-current="page">Clusters' "in the admin navigation, marked current"
like "$BODY" "storefleetctl cluster add" "says clusters are added with storefleetctl"
like "$BODY" "eu2\\.shops\\.example" "shows a cluster's store domain"
like "$BODY" "40 stores, 8 CPU, 16Gi memory" "its limits"
like "$BODY" "3 nodes, 12 CPU, 48Gi memory" "its observed capacity"
like "$BODY" "connection refused &lt;b&gt;" "reconcile's trouble, escaped"
unlike "$BODY" "connection refused <b>" "... never as HTML"
like "$BODY" 'action="/admin/clusters/eu2/drain"' "a Drain form for an active cluster"
page "$ajar" POST /admin/clusters/eu2/drain --data-urlencode x=1
is "$STATUS|$(q "select state from clusters where name = 'eu2'")" "403|active" "the form without a CSRF token -> 403, nothing changes"
page "$ajar" GET /admin/clusters
page "$ajar" POST /admin/clusters/eu2/drain --data-urlencode "csrf_token=$(page_csrf)"
is "$STATUS|$(header Location)|$(q "select state from clusters where name = 'eu2'")" "303|/admin/clusters?done=drain|draining" "Drain: 303 back to the list, draining"
page "$ajar" GET "/admin/clusters?done=drain"
like "$BODY" "Cluster draining" "the list says what happened"
like "$BODY" 'action="/admin/clusters/eu2/undrain"' "an Undrain form for the draining cluster"
page "$ajar" POST /admin/clusters/eu2/undrain --data-urlencode "csrf_token=$(page_csrf)"
is "$STATUS|$(q "select state from clusters where name = 'eu2'")" "303|active" "Undrain"
page "$ajar" GET /admin/clusters
page "$ajar" POST /admin/clusters/nowhere/drain --data-urlencode "csrf_token=$(page_csrf)"
is "$STATUS" 404 "draining an unknown cluster -> 404"
is "$(q "select count(*) from audit_log where target = 'eu2' and action like 'cluster.%'")" 4 "the form's changes audited too"

# --- tenants -------------------------------------------------------------------------------
page "$tjar" GET /admin/clusters
is "$STATUS" 403 "a tenant's browser: GET /admin/clusters -> 403"
page "$tjar" GET /stores
tcsrf=$(page_csrf)
page "$tjar" POST /admin/clusters/eu2/drain --data-urlencode "csrf_token=$tcsrf"
is "$STATUS|$(q "select state from clusters where name = 'eu2'")" "403|active" "a tenant's form -> 403, nothing changes"
api GET /api/v1/admin/clusters "$tina"
is "$STATUS|$(json_get 'j["error"]["code"]')" "403|forbidden" "a tenant's token: GET /api/v1/admin/clusters -> 403"
api_json PATCH /api/v1/admin/clusters/eu2 "$tina" '{"state":"draining"}'
is "$STATUS|$(q "select state from clusters where name = 'eu2'")" "403|active" "a tenant cannot PATCH"
NOCOOKIES=1 http GET /api/v1/admin/clusters
is "$STATUS" 401 "no token -> 401"

# --- a store shows its placement ---------------------------------------------------------------
api GET "/api/v1/stores/$S1" "$tina"
is "$STATUS|$(json_get 'j["store"]["cluster"], j["store"]["region"]')" "200|('eu2', 'eu-west')" "GET /api/v1/stores/ID: its cluster and region"
like "$(json_get 'j["store"]["url"]')" "^https?://store-$S1\\.eu2\\.shops\\.example/$" "its address under the cluster's store domain"
like "$(json_get 'j["store"]["admin_url"]')" "^https?://store-$S1\\.eu2\\.shops\\.example/" "its admin address too"
api GET "/api/v1/stores/$S2" "$tina"
is "$(json_get 'j["store"]["cluster"], j["store"]["region"]')" "('default', None)" "a store on default: cluster default, no region"
like "$(json_get 'j["store"]["url"]')" "^https?://store-$S2\\.[^/]+/$" "a store on default has an address"
unlike "$(json_get 'j["store"]["url"]')" "eu2\\.shops\\.example" "its address under the configuration's domain"
api GET /api/v1/stores "$tina"
is "$(json_get '[s["url"].split("/")[2].split(".", 1)[1] == "eu2.shops.example" for s in j["stores"] if s["id"] == "'"$S1"'"]')" "[true]" \
	"the list gives the placed store's address under its cluster's domain"
is "$(json_get '" ".join(s["id"] + ":" + s["cluster"] + ":" + str(s["region"]) for s in sorted(j["stores"], key=lambda s: s["id"]))')" \
	"$(q "select string_agg(id || ':' || cluster || ':' || case when cluster = 'eu2' then 'eu-west' else 'None' end, ' ' order by id) from stores")" \
	"every listed store says where it is placed"
page "$tjar" GET "/stores/$S1"
like "$BODY" '<dt>Cluster</dt><dd id="cluster"><span class="mono">eu2</span> <span class="small muted">\(region eu-west\)</span>' \
	"the store page shows the cluster and region"
like "$BODY" "store-$S1\\.eu2\\.shops\\.example" "and the address under the cluster's domain"
page "$tjar" GET /stores
like "$BODY" "store-$S1\\.eu2\\.shops\\.example" "the stores page lists it under that domain"
done_testing
