#!/bin/bash
# bench-kubesim.sh - kubesim under 10,000 stores' worth of objects: seeding, list-by-label, GET and apply round trips.
#
# Usage: tools/bench-kubesim.sh [STORES (10000)] [ROUNDS (200)]
# Starts its own simulator (SF_BUILD/bin/kubesim), seeds STORES stores of 15
# objects each through POST /_sim/bulk, then prints a table of timings taken
# with curl (one connection reused for the round-trip loops).
set -eu
: "${SF_ROOT:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
: "${SF_BUILD:=$SF_ROOT/build}"
. "$SF_ROOT/tools/stack.sh"

STORES=${1:-10000}
ROUNDS=${2:-200}
W=$(mktemp -d /tmp/bench-kubesim.XXXXXX)
trap 'stack_stop; rm -rf "$W"' EXIT

kubesim_start "$W/ks" --pod-ready-ms 100 >/dev/null
CURL=(curl -s --cacert "$KUBESIM_DIR/ca.crt" -H "Authorization: Bearer $KUBESIM_TOKEN")

# one bulk body per 200 stores: namespace, quota, limitrange, netpol, secret, configmap,
# serviceaccount, role, rolebinding, service, pvc, 2 deployments, job, ingress
python3 - "$STORES" "$W" <<'PY'
import json, sys
stores, out = int(sys.argv[1]), sys.argv[2]
def meta(name, ns, store):
    return {"name": name, "namespace": ns, "labels": {"app.kubernetes.io/managed-by": "storefleet",
            "storefleet.io/store": store, "app.kubernetes.io/part-of": "store-" + store}}
def dep(name, ns, store):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(name, ns, store),
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": name, "image": "wordpress:6"}]}}}}
chunk, n = [], 0
for s in range(stores):
    store = "s%05d" % s
    ns = "store-" + store
    m = lambda name: meta(name, ns, store)
    nsm = {"name": ns, "labels": meta(ns, ns, store)["labels"]}
    chunk += [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": nsm},
        {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": m("quota"), "spec": {"hard": {"pods": "10"}}},
        {"apiVersion": "v1", "kind": "LimitRange", "metadata": m("limits"), "spec": {"limits": [{"type": "Container", "default": {"cpu": "500m"}}]}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": m("default-deny"), "spec": {"podSelector": {}}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": m("db"), "data": {"password": "c2VjcmV0"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": m("settings"), "data": {"site": store}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": m("store")},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": m("store"), "rules": []},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": m("store"),
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "store"},
         "subjects": [{"kind": "ServiceAccount", "name": "store", "namespace": ns}]},
        {"apiVersion": "v1", "kind": "Service", "metadata": m("web"), "spec": {"ports": [{"port": 80}], "selector": {"app": "web"}}},
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": m("data"),
         "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}},
        dep("web", ns, store), dep("db", ns, store),
        {"apiVersion": "batch/v1", "kind": "Job", "metadata": m("setup"),
         "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "s", "image": "wp-cli"}]}}}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": m("web"),
         "spec": {"rules": [{"host": store + ".shops.test"}]}},
    ]
    if (s + 1) % 200 == 0 or s + 1 == stores:
        json.dump({"items": chunk, "ready": True}, open("%s/bulk-%04d.json" % (out, n), "w"))
        chunk, n = [], n + 1
PY

t0=$(date +%s%N)
for f in "$W"/bulk-*.json; do
	"${CURL[@]}" -o /dev/null -X POST -H "Expect:" -H "Content-Type: application/json" --data-binary @"$f" "$KUBESIM_ADDR/_sim/bulk"
done
seed_ms=$((($(date +%s%N) - t0) / 1000000))
objects=$("${CURL[@]}" "$KUBESIM_ADDR/_sim/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["objects"])')
rss=$(awk '/VmRSS/ {print $2 / 1024 " MiB"}' "/proc/$KUBESIM_PID/status")

# timings: N requests on one connection, printed as mean / p50 / max ms
timed() {
	local n=$1

	shift
	"${CURL[@]}" -w '%{time_total}\n' "$@" | python3 -c '
import sys, statistics
t = sorted(float(x) * 1000 for x in sys.stdin if x.strip())
print("%8.2f %8.2f %8.2f %8.0f" % (statistics.mean(t), t[len(t) // 2], t[-1], len(t) / (sum(t) / 1000)))'
}
urls() {
	local i

	for ((i = 0; i < $2; i++)); do
		printf '%s\n' -o /dev/null "$1"
	done
}
SEL="labelSelector=app.kubernetes.io%2Fmanaged-by%3Dstorefleet,storefleet.io%2Fstore%3Ds04242"
printf '%-58s %8s %8s %8s %8s\n' "kubesim: $objects objects ($STORES stores), RSS $rss" "mean ms" "p50 ms" "max ms" "req/s"
printf '%-58s %8s\n' "seed via POST /_sim/bulk" "$seed_ms ms total"
printf '%-58s %s\n' "list configmaps by label across namespaces (1 of 10,000)" "$(timed 50 $(urls "$KUBESIM_ADDR/api/v1/configmaps?$SEL" 50))"
printf '%-58s %s\n' "list deployments by label across namespaces" "$(timed 50 $(urls "$KUBESIM_ADDR/apis/apps/v1/deployments?$SEL" 50))"
printf '%-58s %s\n' "list pods by label across namespaces (none)" "$(timed 50 $(urls "$KUBESIM_ADDR/api/v1/pods?labelSelector=app%3Dweb,storefleet.io%2Fstore%3Ds00001" 50))"
printf '%-58s %s\n' "list 1,000 configmaps (limit=1000)" "$(timed 20 $(urls "$KUBESIM_ADDR/api/v1/configmaps?limit=1000" 20))"
printf '%-58s %s\n' "GET one deployment" "$(timed "$ROUNDS" $(urls "$KUBESIM_ADDR/apis/apps/v1/namespaces/store-s04242/deployments/web" "$ROUNDS"))"
printf '%-58s %s\n' "server-side apply (no-op) of one configmap" "$(timed "$ROUNDS" -X PATCH -H 'Content-Type: application/apply-patch+yaml' \
	--data-binary '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"bench"},"data":{"a":"1"}}' \
	$(urls "$KUBESIM_ADDR/api/v1/namespaces/store-s04242/configmaps/bench?fieldManager=bench" "$ROUNDS"))"
