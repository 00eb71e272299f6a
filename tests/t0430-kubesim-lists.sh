#!/bin/bash
# t0430-kubesim-lists.sh - label and field selectors, limit/continue paging, bulk seeding, watch, the simulated ingress.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-kubesim.sh"

ks_start --pod-ready-ms 60000

# 30 stores x 5 ConfigMaps, seeded in one request
python3 - >"$T/bulk.json" <<'PY'
import json
items = []
for s in range(30):
    ns = "s%02d" % s
    items.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    for c in range(5):
        items.append({"apiVersion": "v1", "kind": "ConfigMap",
                      "metadata": {"name": "c%d" % c, "namespace": ns,
                                   "labels": {"app.kubernetes.io/managed-by": "storefleet",
                                              "storefleet.io/store": ns,
                                              "tier": "a" if c < 2 else "b",
                                              **({"extra": "yes"} if c == 4 else {})}},
                      "data": {"k": str(c)}})
print(json.dumps({"items": items, "ready": True}))
PY
ksim POST bulk "$(cat "$T/bulk.json")"
is "$KSTATUS $(kjson 'j["created"]')" "201 180" "bulk seeding creates namespaces first, then their content"

count() {
	kreq GET "/api/v1/configmaps?$1"
	kjson 'len(j["items"])'
}
is "$(count 'labelSelector=storefleet.io%2Fstore%3Ds07')" 5 "k=v"
is "$(count 'labelSelector=app.kubernetes.io%2Fmanaged-by%3D%3Dstorefleet,storefleet.io%2Fstore%3Ds07')" 5 "k==v and a second term"
is "$(count 'labelSelector=storefleet.io%2Fstore%3Ds07,tier!%3Da')" 3 "k!=v"
is "$(count 'labelSelector=storefleet.io%2Fstore%20in%20(s01,s02),tier%20notin%20(b)')" 4 "in and notin"
is "$(count 'labelSelector=extra')" 30 "exists"
is "$(count 'labelSelector=storefleet.io%2Fstore%3Ds03,!extra')" 4 "!exists"
is "$(count 'labelSelector=storefleet.io%2Fstore%3Dnone')" 0 "no match is an empty list"
kvalid "empty list passes the validator"
is "$(count 'fieldSelector=metadata.name%3Dc1')" 30 "fieldSelector metadata.name across namespaces"
is "$(count 'fieldSelector=metadata.namespace%3Ds03')" 5 "fieldSelector metadata.namespace"
kreq GET "/api/v1/configmaps?fieldSelector=spec.foo%3Dx"
is "$KSTATUS" 400 "an unsupported field selector: 400"
kreq GET /api/v1/namespaces/s05/configmaps
is "$(kjson 'sorted(i["metadata"]["name"] for i in j["items"])')" '["c0", "c1", "c2", "c3", "c4"]' "list in one namespace"

# paging: every item once, constant list resourceVersion
kreq GET '/api/v1/configmaps?labelSelector=app.kubernetes.io%2Fmanaged-by%3Dstorefleet'
ALL=$(kjson 'sorted(i["metadata"]["namespace"]+"/"+i["metadata"]["name"] for i in j["items"])')
LISTRV=$(kjson 'j["metadata"]["resourceVersion"]')
kpost /api/v1/namespaces/s00/configmaps '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"unlabelled"}}'
: >"$T/pages"
cont="" pages=0 rvs=""
while :; do
	kreq GET "/api/v1/configmaps?labelSelector=app.kubernetes.io%2Fmanaged-by%3Dstorefleet&limit=40${cont:+&continue=$cont}"
	[ "$KSTATUS" = 200 ] || break
	kjson '"\n".join(i["metadata"]["namespace"]+"/"+i["metadata"]["name"] for i in j["items"])' >>"$T/pages"
	rvs="$rvs $(kjson 'j["metadata"]["resourceVersion"]')"
	pages=$((pages + 1))
	[ $pages = 1 ] && REM=$(kjson 'j["metadata"].get("remainingItemCount")')
	cont=$(kjson 'j["metadata"].get("continue","")')
	[ -n "$cont" ] || break
	[ $pages -lt 10 ] || break
done
is "$pages" 4 "150 items in pages of 40: 4 pages"
is "$REM" None "no remainingItemCount with a label selector (ListMeta: unknown then; t0473 counts without)"
is "$(python3 -c 'import json,sys; print(json.dumps(sorted(l for l in open(sys.argv[1]).read().split() if l)))' "$T/pages")" "$ALL" "the pages hold every item exactly once"
is "$(printf '%s\n' $rvs | sort -u | wc -l)" 1 "the list resourceVersion stays constant across pages ($LISTRV before)"
kreq GET '/api/v1/configmaps?limit=5&continue=zz'
is "$KSTATUS" 400 "a malformed continue token: 400"

# watch: the initial state then changes, ending at timeoutSeconds
kpost /api/v1/namespaces/s01/configmaps '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"watched"},"data":{"v":"1"}}'
curl -s -N --max-time 10 --cacert "$KUBESIM_DIR/ca.crt" -H "Authorization: Bearer $KUBESIM_TOKEN" \
	"$KUBESIM_ADDR/api/v1/namespaces/s01/configmaps?watch=true&timeoutSeconds=2&fieldSelector=metadata.name%3Dwatched" >"$T/watch" &
WPID=$!
wait_for 5 test -s "$T/watch"
kreq PATCH /api/v1/namespaces/s01/configmaps/watched -H 'Content-Type: application/merge-patch+json' -d '{"data":{"v":"2"}}'
kreq DELETE /api/v1/namespaces/s01/configmaps/watched
wait "$WPID"
is "$(python3 -c 'import json,sys; print(" ".join(e["type"]+":"+e["object"]["data"]["v"] for e in map(json.loads, open(sys.argv[1]))))' "$T/watch")" \
	"ADDED:1 MODIFIED:2 DELETED:2" "watch streams ADDED, MODIFIED, DELETED and ends"

# the simulated ingress
python3 - >"$T/ready.json" <<'PY'
import json
ns = "shop-ready"
items = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
         {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": ns},
          "spec": {"replicas": 1, "selector": {"matchLabels": {"a": "b"}},
                   "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}},
         {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "web", "namespace": ns},
          "spec": {"rules": [{"host": "ready.shops.test", "http": {"paths": [{"path": "/", "pathType": "Prefix",
                   "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}}]
print(json.dumps({"items": items, "ready": True}))
PY
ksim POST bulk "$(cat "$T/ready.json")"
is "$(kjson 'j["created"]')" 3 "a ready store seeded"
knsmake shop-slow
kdeploy shop-slow web 1
kpost /apis/networking.k8s.io/v1/namespaces/shop-slow/ingresses '{"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"web"},"spec":{"rules":[{"host":"slow.shops.test"}]}}'
is "$KSTATUS" 201 "an ingress for a store that is not ready"
code() { curl -s -o "$T/ing" -w '%{http_code}' -H "Host: $1" "$KUBESIM_INGRESS$2"; }
is "$(code ready.shops.test /)" 200 "ingress: ready store answers 200"
like "$(cat "$T/ing")" 'shop-ready' "the page names the store"
is "$(code ready.shops.test:8080 /wp-login.php)" 200 "ingress: /wp-login.php with a port in Host"
is "$(code slow.shops.test /health)" 503 "ingress: store not ready answers 503"
is "$(code nobody.shops.test /)" 404 "ingress: unknown host answers 404"

# a LIST writes its items itself (api.c compact_json): byte for byte what a GET of each writes
# (json_dumps), escapes, control characters, non-ASCII and '/' included
kpost /api/v1/namespaces/s00/configmaps '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"odd","labels":{"app.kubernetes.io/managed-by":"storefleet","tier":"a"},"annotations":{"del":"x\u007fy"}},"data":{"k":"ctl \u0001\u001f\b\f\n\r\t \"q\" \\ / \u00e9 \u2713 \ud83d\ude00 </script>","e":""},"binaryData":{}}'
is "$KSTATUS" 201 "a configmap with every kind of character to escape"
kreq GET "/api/v1/namespaces/s00/configmaps?labelSelector=app.kubernetes.io%2Fmanaged-by%3Dstorefleet"
cp "$T/kbody" "$T/list"
same=0
for n in c0 c1 c2 c3 c4 odd; do
	kreq GET "/api/v1/namespaces/s00/configmaps/$n"
	grep -qF -- "$(cat "$T/kbody")" "$T/list" && same=$((same + 1))
done
is "$same" 6 "each listed item is the exact bytes of its GET (6 of 6)"

ks_stop_clean

done_testing
