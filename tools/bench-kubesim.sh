#!/bin/bash
# bench-kubesim.sh - kubesim holding BENCH_SIZES stores of 15 objects each: seeding, RSS, list-by-label, list pages, GET and apply round trips.
#
# Usage: tools/bench-kubesim.sh [ROUNDS (200)]   (env: BENCH_SIZES="1000 10000 50000")
# For each size, starts its own simulator (SF_BUILD/bin/kubesim), seeds that
# many stores of 15 objects (namespace, quota, limitrange, netpol, secret,
# configmap, serviceaccount, role, rolebinding, service, pvc, 2 deployments,
# job, ingress) through POST /_sim/bulk on one connection (bench_bulk), then
# prints a table of timings taken with curl (one connection reused for the
# round-trip loops), and stops the simulator by PID.  The RSS, a LIST page
# and the by-label list also go to $BENCH_RESULTS for tools/bench.sh's table.
set -eu
. "$(dirname "${BASH_SOURCE[0]}")/benchlib.sh"

ROUNDS=${1:-200}
W=$(mktemp -d /tmp/bench-kubesim.XXXXXX)
trap 'stack_stop || true; rm -rf "$W"' EXIT

# one store, "zzzzzzzz" standing for its id (bench_bulk fills it in)
python3 - "$W/store.json" <<'PY'
import json, sys
store = "zzzzzzzz"
ns = "store-" + store
def meta(name):
    return {"name": name, "namespace": ns, "labels": {"app.kubernetes.io/managed-by": "storefleet",
            "storefleet.io/store": store, "app.kubernetes.io/part-of": "store-" + store}}
def dep(name):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(name),
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": name, "image": "wordpress:6"}]}}}}
m = meta
nsm = {"name": ns, "labels": meta(ns)["labels"]}
json.dump([
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
    dep("web"), dep("db"),
    {"apiVersion": "batch/v1", "kind": "Job", "metadata": m("setup"),
     "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "s", "image": "wp-cli"}]}}}},
    {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": m("web"),
     "spec": {"rules": [{"host": store + ".shops.test"}]}},
], open(sys.argv[1], "w"))
PY

# timings: N requests on one connection, printed as mean / p50 / max ms and req/s
timed() {
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

for stores in $BENCH_SIZES; do
	stack_stop || true
	STACK_PIDS=()
	kubesim_start "$W/ks" --pod-ready-ms 100 >/dev/null
	CURL=(curl -s --cacert "$KUBESIM_DIR/ca.crt" -H "Authorization: Bearer $KUBESIM_TOKEN")
	t0=$(date +%s%N)
	bench_bulk "$stores" s "$W/store.json"
	seed_ms=$((($(date +%s%N) - t0) / 1000000))
	stats=$("${CURL[@]}" "$KUBESIM_ADDR/_sim/stats")
	objects=$(printf '%s' "$stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["objects"])')
	shared=$(printf '%s' "$stats" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("shared_nodes", "?"))')
	rss=$(awk '/^VmRSS/ { printf "%d", $2 / 1024 }' "/proc/$KUBESIM_PID/status")
	one=$(printf 's%07d' $((stores / 2)))
	SEL="labelSelector=app.kubernetes.io%2Fmanaged-by%3Dstorefleet,storefleet.io%2Fstore%3D$one"
	printf '%-58s %8s %8s %8s %8s\n' "kubesim: $objects objects ($stores stores), RSS $rss MiB" "mean ms" "p50 ms" "max ms" "req/s"
	printf '%-58s %8s\n' "seed via POST /_sim/bulk (one connection)" "$seed_ms ms total"
	printf '%-58s %8s\n' "distinct JSON nodes the objects share" "$shared"
	label=$(timed $(urls "$KUBESIM_ADDR/api/v1/configmaps?$SEL" 50))
	printf '%-58s %s\n' "list configmaps by label across namespaces (1 of $stores)" "$label"
	printf '%-58s %s\n' "list deployments by label across namespaces" "$(timed $(urls "$KUBESIM_ADDR/apis/apps/v1/deployments?$SEL" 50))"
	printf '%-58s %s\n' "list pods by label across namespaces (none)" "$(timed $(urls "$KUBESIM_ADDR/api/v1/pods?labelSelector=app%3Dweb,storefleet.io%2Fstore%3Ds0000001" 50))"
	page=$(timed $(urls "$KUBESIM_ADDR/api/v1/configmaps?labelSelector=app.kubernetes.io%2Fmanaged-by%3Dstorefleet&limit=5000" 10))
	printf '%-58s %s\n' "list a page of 5,000 configmaps (limit=5000, reconcile's)" "$page"
	printf '%-58s %s\n' "GET one deployment" "$(timed $(urls "$KUBESIM_ADDR/apis/apps/v1/namespaces/store-$one/deployments/web" "$ROUNDS"))"
	printf '%-58s %s\n' "server-side apply (no-op) of one configmap" "$(timed -X PATCH -H 'Content-Type: application/apply-patch+yaml' \
		--data-binary '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"bench"},"data":{"a":"1"}}' \
		$(urls "$KUBESIM_ADDR/api/v1/namespaces/store-$one/configmaps/bench?fieldManager=bench" "$ROUNDS"))"
	echo
	bench_record "$stores" ks_objects "$objects"
	bench_record "$stores" ks_rss "$rss"
	bench_record "$stores" ks_list_ms "$(echo "$page" | awk '{ print $2 }')"
	bench_record "$stores" ks_label_ms "$(echo "$label" | awk '{ print $2 }')"
done
