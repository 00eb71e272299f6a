#!/bin/bash
# t0400-kubesim-kubectl.sh - kubectl drives the simulator as it would a real cluster.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-kubesim.sh"

command -v kubectl >/dev/null || { echo "1..0 # SKIP kubectl not installed"; exit 0; }
# A deleted namespace stays Terminating for 6 s: long enough for two kubectl calls on a
# loaded machine to see it (1.5 s was not), short beside the 30 s wait for its end.
ks_start --pod-ready-ms 300 --ns-delete-ms 6000
K() { kubectl --request-timeout=20s "$@"; }
Kq() { K "$@" >/dev/null 2>&1; }

out=$(K get ns -o name 2>&1)
like "$out" 'namespace/default' "kubectl get ns lists default"
like "$out" 'namespace/kube-system' "kubectl get ns lists kube-system"
out=$(K --context kubesim-cert get ns default -o name 2>&1)
is "$out" "namespace/default" "the kubesim-cert context (client certificate) works too"

cat >"$T/store.yaml" <<'YAML'
apiVersion: v1
kind: Namespace
metadata:
  name: store-acme
  labels:
    app.kubernetes.io/managed-by: storefleet
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: store-acme
  labels: {app: web, app.kubernetes.io/managed-by: storefleet}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports:
        - containerPort: 80
YAML
out=$(K apply --server-side -f "$T/store.yaml" 2>&1)
like "$out" 'namespace/store-acme serverside-applied' "apply --server-side creates the namespace"
like "$out" 'deployment.apps/web serverside-applied' "apply --server-side creates the deployment"

out=$(K apply --server-side --dry-run=server -f "$T/store.yaml" 2>&1)
like "$out" 'deployment.apps/web serverside-applied \(server dry run\)' "server dry run answers"

K get deployment web -n store-acme -o json --show-managed-fields >"$T/dep.json" 2>&1
is "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["metadata"]["managedFields"][0]["manager"], d["metadata"]["managedFields"][0]["operation"], d["metadata"]["generation"])' "$T/dep.json")" \
	"kubectl Apply 1" "get -o json shows kubectl's Apply managedFields and generation 1"
ok "get -o json output passes the validator" "$VALIDATE" --no-apply-checks -q "$T/dep.json"

out=$(K wait --for=condition=Available deployment/web -n store-acme --timeout=15s 2>&1)
like "$out" 'condition met' "wait --for=condition=Available"

out=$(K get pods -A -l app=web -o name 2>&1)
is "$(printf '%s\n' "$out" | grep -c '^pod/web-')" 2 "get pods -A -l app=web finds both replicas"
out=$(K get pods -n store-acme 2>&1)
like "$out" 'NAME +READY +STATUS +RESTARTS +AGE' "kubectl get prints the server's Table columns"
like "$out" 'web-[a-z0-9]+-[a-z0-9]+ +1/1 +Running +0 ' "a pod row: 1/1 Running"
out=$(K describe deployment web -n store-acme 2>&1)
like "$out" 'ScalingReplicaSet' "kubectl describe shows the deployment's events"
K get pods -n store-acme -o json >"$T/pods.json"
is "$(python3 -c 'import json,sys; print(sorted({c["type"]+"="+c["status"] for p in json.load(open(sys.argv[1]))["items"] for c in p["status"]["conditions"] if c["type"]=="Ready"}))' "$T/pods.json")" \
	"['Ready=True']" "the pods are Ready"

# changing the spec bumps generation, and rollout status follows it
sed -i 's/replicas: 2/replicas: 3/' "$T/store.yaml"
K apply --server-side -f "$T/store.yaml" >/dev/null 2>&1
is "$(K get deployment web -n store-acme -o jsonpath='{.metadata.generation}')" 2 "a spec change bumps generation"
out=$(K rollout status deployment/web -n store-acme --timeout=15s 2>&1)
like "$out" 'successfully rolled out' "kubectl rollout status completes"
is "$(K get deployment web -n store-acme -o jsonpath='{.status.readyReplicas}')" 3 "three ready replicas after the change"

# a second manager changing replicas conflicts
out=$(K apply --server-side --field-manager=other -f - 2>&1 <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: store-acme}
spec:
  replicas: 5
YAML
)
like "$out" 'conflict with "kubectl"' "another manager's apply reports the conflict"

out=$(K delete deployment web -n store-acme 2>&1)
like "$out" 'deployment.apps "web" deleted' "delete deployment"
out=$(K get pods -n store-acme -o name 2>&1)
is "$out" "" "the deployment's pods went with it (background propagation)"
nok "get of a deleted deployment fails" Kq get deployment web -n store-acme

K delete namespace store-acme --wait=false >/dev/null 2>&1
is "$(K get ns store-acme -o jsonpath='{.status.phase}' 2>&1)" "Terminating" "a deleted namespace is Terminating first"
ok "wait --for=delete namespace" K wait --for=delete namespace/store-acme --timeout=30s
nok "the namespace is gone" Kq get ns store-acme

out=$(K delete namespace default 2>&1)
like "$out" 'this namespace may not be deleted' "default cannot be deleted"
out=$(K create namespace via-protobuf 2>&1)
is "$out" "namespace/via-protobuf created" "kubectl create sends protobuf, which kubesim decodes (t0463 has every verb)"

ks_stop_clean

done_testing
