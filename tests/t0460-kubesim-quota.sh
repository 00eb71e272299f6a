#!/bin/bash
# t0460-kubesim-quota.sh - kubesim: ResourceQuota admission with the API server's texts (403), status.hard/used kept, quantities as Kubernetes prints them, LimitRange defaults, and the workload controllers' FailedCreate.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-kubesim.sh"

command -v kubectl >/dev/null || { echo "1..0 # SKIP kubectl not installed"; exit 0; }
ks_start --pod-ready-ms 200 --pvc-bind-ms 50 --job-complete-ms 300
K() { kubectl --request-timeout=20s "$@"; }
JSON=(-H 'Content-Type: application/json')
Q=/api/v1/namespaces/shop/resourcequotas/store-quota
PVCS=/api/v1/namespaces/shop/persistentvolumeclaims

pvc() { # NAME SIZE [NS]
	printf '{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"%s","namespace":"%s"},"spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"%s"}}}}' \
		"$1" "${3:-shop}" "$2"
}

knsmake shop
# the cluster's default class lets claims grow (the PersistentVolumeClaimResize admission)
K apply -f - >/dev/null <<'YAML'
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: expandable
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: example.com/csi
allowVolumeExpansion: true
YAML
K apply --server-side -f - >/dev/null <<'YAML'
apiVersion: v1
kind: ResourceQuota
metadata: {name: store-quota, namespace: shop}
spec:
  hard:
    requests.storage: 20480Mi
    persistentvolumeclaims: "4"
    pods: "3"
    requests.cpu: "1"
    requests.memory: 1.5Gi
    limits.cpu: "2"
    limits.memory: 2Gi
YAML
kreq GET $Q
is "$(kjson 'json.dumps(j["status"]["hard"], sort_keys=True)')" \
	'{"limits.cpu": "2", "limits.memory": "2Gi", "persistentvolumeclaims": "4", "pods": "3", "requests.cpu": "1", "requests.memory": "1536Mi", "requests.storage": "20Gi"}' \
	"status.hard: the quota's quantities as the API server prints them (20480Mi -> 20Gi, 1.5Gi -> 1536Mi)"
is "$(kjson 'json.dumps(j["status"]["used"], sort_keys=True)')" \
	'{"limits.cpu": "0", "limits.memory": "0", "persistentvolumeclaims": "0", "pods": "0", "requests.cpu": "0", "requests.memory": "0", "requests.storage": "0"}' \
	"status.used: zero for each"
kvalid "the ResourceQuota passes the validator"

# --- requests.storage ---------------------------------------------------------------------
pvc data 15360Mi | K apply --server-side -f - >/dev/null
kpost $PVCS "$(pvc logs 5Gi)"
is "$KSTATUS" 201 "two claims up to the limit: 201"
kreq GET $PVCS/data
is "$(kjson 'j["spec"]["resources"]["requests"]["storage"]')" 15Gi "a claim's request is stored canonically (15360Mi -> 15Gi)"
kreq GET $Q
is "$(kjson 'j["status"]["used"]["requests.storage"]+" "+j["status"]["used"]["persistentvolumeclaims"]')" "20Gi 2" \
	"status.used counts them: requests.storage=20Gi, persistentvolumeclaims=2"

MSG='persistentvolumeclaims "extra" is forbidden: exceeded quota: store-quota, requested: requests.storage=5Gi, used: requests.storage=20Gi, limited: requests.storage=20Gi'
out=$(pvc extra 5Gi | K apply --server-side -f - 2>&1)
is "$out" "Error from server (Forbidden): $MSG" "kubectl apply --server-side: the API server's refusal"
out=$(pvc extra 5Gi | K create -f - 2>&1)
is "$out" "Error from server (Forbidden): error when creating \"STDIN\": $MSG" "kubectl create: the same"
kpost $PVCS "$(pvc extra 5Gi)"
is "$KSTATUS" 403 "POST over the quota: 403"
is "$(kjson 'j["reason"]+"|"+j["message"]')" "Forbidden|$MSG" "reason Forbidden and the exact message"
is "$(kjson 'json.dumps(j["details"], sort_keys=True)')" '{"kind": "persistentvolumeclaims", "name": "extra"}' \
	"details: the resource and the name"
kvalid "the 403 Status passes the validator"
kapply $PVCS/extra "$(pvc extra 5Gi)"
is "$KSTATUS $(kjson 'j["message"]')" "403 $MSG" "server-side apply that would create: 403 too"
kreq GET $PVCS/extra
is "$KSTATUS" 404 "nothing was created"

# a bound claim that grows is charged what it adds
ok "the claim binds" kwait 10 $PVCS/data 'j["status"]["phase"]=="Bound"'
kreq PATCH $PVCS/data "${JSON[@]/json/merge-patch+json}" -d '{"spec":{"resources":{"requests":{"storage":"18Gi"}}}}'
is "$KSTATUS $(kjson 'j["message"]')" \
	'403 persistentvolumeclaims "data" is forbidden: exceeded quota: store-quota, requested: requests.storage=3Gi, used: requests.storage=20Gi, limited: requests.storage=20Gi' \
	"growing a bound claim past the quota: 403, requested is the increase"
kvalid "that Status passes the validator"
K delete pvc logs -n shop >/dev/null
kreq GET $Q
is "$(kjson 'j["status"]["used"]["requests.storage"]+" "+j["status"]["used"]["persistentvolumeclaims"]')" "15Gi 1" \
	"a deleted claim no longer counts"
out=$(K patch pvc data -n shop -p '{"spec":{"resources":{"requests":{"storage":"18Gi"}}}}' 2>&1)
is "$out" "persistentvolumeclaim/data patched" "now the claim may grow (kubectl patch)"
kreq GET $Q
is "$(kjson 'j["status"]["used"]["requests.storage"]')" 18Gi "and is charged 18Gi"

# object counts
knsmake counts
K create quota few -n counts --hard=persistentvolumeclaims=1,count/configmaps=1 >/dev/null
kpost /api/v1/namespaces/counts/persistentvolumeclaims "$(pvc one 1Gi counts)"
is "$KSTATUS" 201 "first claim under persistentvolumeclaims=1"
kpost /api/v1/namespaces/counts/persistentvolumeclaims "$(pvc two 1Gi counts)"
is "$KSTATUS $(kjson 'j["message"]')" \
	'403 persistentvolumeclaims "two" is forbidden: exceeded quota: few, requested: persistentvolumeclaims=1, used: persistentvolumeclaims=1, limited: persistentvolumeclaims=1' \
	"the second: persistentvolumeclaims exceeded"
K create configmap c1 -n counts --from-literal=a=b >/dev/null
out=$(K create configmap c2 -n counts --from-literal=a=b 2>&1)
is "$out" 'error: failed to create configmap: configmaps "c2" is forbidden: exceeded quota: few, requested: count/configmaps=1, used: count/configmaps=1, limited: count/configmaps=1' \
	"count/configmaps, through kubectl create (protobuf)"

# --- pods: constraints, LimitRange defaults, compute resources ----------------------------------
out=$(K run bare -n shop --image=example/bare:1 2>&1)
is "$out" 'Error from server (Forbidden): pods "bare" is forbidden: failed quota: store-quota: must specify limits.cpu for: bare; limits.memory for: bare; requests.cpu for: bare; requests.memory for: bare' \
	"a pod without resources under a compute quota: failed quota, must specify (kubectl run)"
kpost /api/v1/namespaces/shop/pods '{"apiVersion":"v1","kind":"Pod","metadata":{"generateName":"gen-"},"spec":{"containers":[{"name":"a","image":"x","resources":{"limits":{"cpu":"100m","memory":"64Mi"}}},{"name":"b","image":"x"}]}}'
is "$KSTATUS $(kjson 'j["message"]')" \
	'403 pods "gen-" is forbidden: failed quota: store-quota: must specify limits.cpu for: b; limits.memory for: b; requests.cpu for: b; requests.memory for: b' \
	"POST: a generated name is shown by its prefix; requests default to limits (container a is complete)"
kvalid "that Status passes the validator"

K apply --server-side -f - >/dev/null <<'YAML'
apiVersion: v1
kind: LimitRange
metadata: {name: defaults, namespace: shop}
spec:
  limits:
  - type: Container
    default: {memory: 512Mi, cpu: 500m}
    defaultRequest: {memory: 256Mi, cpu: 250m}
YAML
out=$(K run small -n shop --image=example/small:1 2>&1)
is "$out" "pod/small created" "with LimitRange defaults the same pod is admitted"
kreq GET /api/v1/namespaces/shop/pods/small
is "$(kjson 'json.dumps(j["spec"]["containers"][0]["resources"], sort_keys=True)')" \
	'{"limits": {"cpu": "500m", "memory": "512Mi"}, "requests": {"cpu": "250m", "memory": "256Mi"}}' \
	"the LimitRange defaults are in the pod"
is "$(kjson 'j["metadata"]["annotations"]["kubernetes.io/limit-ranger"]')" \
	"LimitRanger plugin set: cpu, memory request for container small; cpu, memory limit for container small" \
	"with the LimitRanger annotation"
kreq GET $Q
is "$(kjson '" ".join(j["status"]["used"][k] for k in ("pods","requests.cpu","requests.memory","limits.cpu","limits.memory"))')" \
	"1 250m 256Mi 500m 512Mi" "status.used sums the pod's requests and limits"

# a Deployment's pods, created by the ReplicaSet, refused past the quota: ReplicaFailure
K apply --server-side -f - >/dev/null <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: example/web:1
        resources:
          requests: {cpu: 300m, memory: 128Mi}
          limits: {cpu: 500m, memory: 256Mi}
YAML
WEBMSG='pods "web-[a-z0-9]+-" is forbidden: exceeded quota: store-quota, requested: pods=1,requests.cpu=300m, used: pods=3,requests.cpu=850m, limited: pods=3,requests.cpu=1'
ok "the Deployment reports ReplicaFailure" kwait 15 /apis/apps/v1/namespaces/shop/deployments/web \
	'any(c["type"]=="ReplicaFailure" for c in j["status"].get("conditions",[]))'
like "$(kjson '[c["status"]+" "+c["reason"]+" "+c["message"] for c in j["status"]["conditions"] if c["type"]=="ReplicaFailure"][0]')" \
	"^True FailedCreate $WEBMSG\$" "ReplicaFailure=True FailedCreate with the admission's message (two resources exceeded, sorted)"
kvalid "the Deployment passes the validator"
kreq GET "/apis/apps/v1/namespaces/shop/replicasets?labelSelector=app%3Dweb"
like "$(kjson '[c["reason"]+" "+c["message"] for c in j["items"][0]["status"]["conditions"]][0]')" \
	"^FailedCreate $WEBMSG\$" "the ReplicaSet carries the condition it comes from"
out=$(K get events -n shop --field-selector reason=FailedCreate -o jsonpath='{.items[0].message}' 2>&1)
like "$out" "^Error creating: $WEBMSG\$" "the ReplicaSet's FailedCreate event"
is "$(K get pods -n shop -l app=web -o name | wc -l)" 2 "two of the three pods run"
kreq GET $Q
is "$(kjson 'j["status"]["used"]["pods"]+" "+j["status"]["used"]["requests.cpu"]+" "+j["status"]["used"]["limits.memory"]')" \
	"3 850m 1Gi" "status.used: 3 pods, 850m of CPU, 1Gi of memory limits (512Mi + 2 x 256Mi)"
out=$(K describe deployment web -n shop 2>&1)
like "$out" 'ReplicaFailure +True +FailedCreate' "kubectl describe shows the condition"

# a Job's pod: only the FailedCreate event (the Job has no condition for it)
K apply --server-side -f - >/dev/null <<'YAML'
apiVersion: batch/v1
kind: Job
metadata: {name: setup, namespace: shop}
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - {name: s, image: example/setup:1}
YAML
ok "the Job's FailedCreate event" kwait 10 "/api/v1/namespaces/shop/events?fieldSelector=involvedObject.name%3Dsetup" \
	'any(e["reason"]=="FailedCreate" for e in j["items"])'
is "$(kjson '[e["message"] for e in j["items"] if e["reason"]=="FailedCreate"][0]')" \
	'Error creating: pods "setup-" is forbidden: exceeded quota: store-quota, requested: pods=1,requests.cpu=250m, used: pods=3,requests.cpu=850m, limited: pods=3,requests.cpu=1' \
	"Error creating: pods \"setup-\" ... (its LimitRange request counts too)"
kvalid "the EventList passes the validator"
kreq GET /apis/batch/v1/namespaces/shop/jobs/setup
is "$(kjson 'j["status"].get("active",0)')" 0 "the Job has no active pod"
# freeing room lets the controllers create what they could not (the Deployment first wants no more)
K scale deployment web -n shop --replicas=2 >/dev/null
K delete pod small -n shop >/dev/null
ok "with a pod gone the Job's pod is created after the retry" kwait 15 /apis/batch/v1/namespaces/shop/jobs/setup \
	'any(c["type"]=="Complete" for c in j["status"].get("conditions",[]))'

# a StatefulSet's claim refused: the claim event of the StatefulSet controller
K apply --server-side -f - >/dev/null <<'YAML'
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: shop}
spec:
  serviceName: db
  replicas: 1
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
      - name: db
        image: example/db:1
        resources: {requests: {cpu: 100m, memory: 64Mi}, limits: {cpu: 100m, memory: 64Mi}}
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 5Gi}}
YAML
ok "the StatefulSet's FailedCreate event" kwait 10 "/api/v1/namespaces/shop/events?fieldSelector=involvedObject.name%3Ddb" \
	'any(e["reason"]=="FailedCreate" for e in j["items"])'
is "$(kjson '[e["message"] for e in j["items"] if e["reason"]=="FailedCreate"][0]')" \
	'create Claim data-db-0 Pod db-0 in StatefulSet db failed error: persistentvolumeclaims "data-db-0" is forbidden: exceeded quota: store-quota, requested: requests.storage=5Gi, used: requests.storage=18Gi, limited: requests.storage=20Gi' \
	"create Claim ... failed error: ... (stateful_pod_control's text)"
kreq GET /api/v1/namespaces/shop/pods/db-0
is "$KSTATUS" 404 "without its claim the pod is not created"

# --- cpu and memory: the requests aliases -------------------------------------------------------
knsmake alias
K create quota compute -n alias --hard=cpu=500m,memory=256Mi >/dev/null
kpost /api/v1/namespaces/alias/pods '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"one"},"spec":{"containers":[{"name":"c","image":"x","resources":{"requests":{"cpu":"0.3","memory":"128Mi"}}}]}}'
is "$KSTATUS $(kjson 'j["spec"]["containers"][0]["resources"]["requests"]["cpu"]')" "201 300m" \
	"a pod within cpu/memory: 201 (0.3 stored as 300m)"
kpost /api/v1/namespaces/alias/pods '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"two"},"spec":{"containers":[{"name":"c","image":"x","resources":{"requests":{"cpu":"250m","memory":"0.125Gi"}}}]}}'
is "$KSTATUS $(kjson 'j["message"]')" \
	'403 pods "two" is forbidden: exceeded quota: compute, requested: cpu=250m, used: cpu=300m, limited: cpu=500m' \
	"cpu (an alias of requests.cpu) exceeded; 0.125Gi of memory fits exactly"
kvalid "that Status passes the validator"
kreq GET /api/v1/namespaces/alias/resourcequotas/compute
is "$(kjson 'j["status"]["used"]["cpu"]+" "+j["status"]["used"]["memory"]')" "300m 128Mi" "status.used under the alias names"

# bad quantities are the decoder's 400
kpost $PVCS "$(pvc bad 5GB)"
is "$KSTATUS $(kjson 'j["message"]')" \
	"400 PersistentVolumeClaim in version \"v1\" cannot be handled as a PersistentVolumeClaim: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)\$'" \
	"a quantity that does not parse: 400 with ParseQuantity's message"

ks_stop_clean

done_testing
