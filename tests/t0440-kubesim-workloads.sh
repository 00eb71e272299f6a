#!/bin/bash
# t0440-kubesim-workloads.sh - simulated controllers: rollouts, observedGeneration lag, StatefulSets, propagation policies.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-kubesim.sh"

ks_start --pod-ready-ms 200 --pvc-bind-ms 100 --observed-lag-ms 400
knsmake shop
is "$KSTATUS" 201 "namespace"

# rollout: a template change makes a new ReplicaSet and retires the old one
kdeploy shop web 2
ok "deployment Available" kwait 10 /apis/apps/v1/namespaces/shop/deployments/web \
	'j["status"].get("availableReplicas")==2 and j["status"]["observedGeneration"]==1'
kvalid "Deployment status passes the validator"
kreq PATCH /apis/apps/v1/namespaces/shop/deployments/web -H 'Content-Type: application/strategic-merge-patch+json' \
	-d '{"spec":{"template":{"spec":{"containers":[{"name":"c","image":"example/web:2"}]}}}}'
is "$(kjson 'str(j["metadata"]["generation"])+" "+str(j["status"]["observedGeneration"])')" "2 1" "observedGeneration lags right after a spec change"
ok "the controller catches up" kwait 10 /apis/apps/v1/namespaces/shop/deployments/web \
	'j["status"]["observedGeneration"]==2 and j["status"].get("availableReplicas")==2 and j["status"]["updatedReplicas"]==2'
kreq GET /apis/apps/v1/namespaces/shop/replicasets
is "$(kjson 'sorted(i["spec"]["replicas"] for i in j["items"])')" "[0, 2]" "two ReplicaSets: the old one scaled to 0"
kvalid "ReplicaSetList passes the validator"
kreq GET '/api/v1/namespaces/shop/pods?labelSelector=app%3Dweb'
is "$(kjson 'sorted({c["image"] for p in j["items"] for c in p["spec"]["containers"]})')" '["example/web:2"]' "every pod runs the new image"
is "$(kjson 'all(p["metadata"]["ownerReferences"][0]["kind"]=="ReplicaSet" for p in j["items"])')" True "pods are owned by the ReplicaSet"

kreq GET "/api/v1/namespaces/shop/pods/$(kjson 'j["items"][0]["metadata"]["name"]')/log"
is "$KSTATUS|$KBODY" "200|kubesim: started example/web:2" "pods/log answers plain text"

# a deleted pod is replaced
kreq GET '/api/v1/namespaces/shop/pods?labelSelector=app%3Dweb'
POD=$(kjson 'j["items"][0]["metadata"]["name"]')
kreq DELETE "/api/v1/namespaces/shop/pods/$POD"
is "$KSTATUS $(kjson 'bool(j["metadata"].get("deletionTimestamp"))')" "200 True" "pod delete answers the pod with deletionTimestamp"
ok "the ReplicaSet makes a new pod" kwait 10 '/api/v1/namespaces/shop/pods?labelSelector=app%3Dweb' \
	"len(j['items'])==2 and '$POD' not in [p['metadata']['name'] for p in j['items']]"

kreq PATCH /apis/apps/v1/namespaces/shop/deployments/web -H 'Content-Type: application/merge-patch+json' -d '{"spec":{"replicas":1}}'
ok "scaling down removes the surplus pod" kwait 10 '/api/v1/namespaces/shop/pods?labelSelector=app%3Dweb' 'len(j["items"])==1'
ok "and the deployment reports one replica" kwait 10 /apis/apps/v1/namespaces/shop/deployments/web \
	'j["status"]["replicas"]==1 and j["status"]["availableReplicas"]==1 and j["status"]["observedGeneration"]==j["metadata"]["generation"]'

# StatefulSet: ordered pods, revisions, claims from templates
kpost /apis/apps/v1/namespaces/shop/statefulsets '{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"db"},"spec":{"serviceName":"db","replicas":2,"selector":{"matchLabels":{"app":"db"}},"template":{"metadata":{"labels":{"app":"db"}},"spec":{"containers":[{"name":"db","image":"mariadb:11"}]}},"volumeClaimTemplates":[{"metadata":{"name":"data"},"spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"1Gi"}}}}]}}'
is "$KSTATUS" 201 "StatefulSet created"
ok "db-0 comes first, alone" kwait 5 /api/v1/namespaces/shop/pods/db-0 'True'
ok "StatefulSet ready with both pods" kwait 10 /apis/apps/v1/namespaces/shop/statefulsets/db \
	'j["status"].get("readyReplicas")==2 and j["status"]["currentRevision"]==j["status"]["updateRevision"]'
kvalid "StatefulSet status passes the validator"
kreq GET /api/v1/namespaces/shop/persistentvolumeclaims
is "$(kjson 'sorted(i["metadata"]["name"]+":"+i["status"]["phase"] for i in j["items"])')" '["data-db-0:Bound", "data-db-1:Bound"]' "one bound claim per pod"
kreq GET /api/v1/namespaces/shop/pods/db-1
is "$(kjson 'j["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"]+" "+j["metadata"]["labels"]["apps.kubernetes.io/pod-index"]')" "db-1 1" "pod identity labels"

# propagation policies
kreq DELETE '/apis/apps/v1/namespaces/shop/statefulsets/db?propagationPolicy=Orphan'
is "$KSTATUS $(kjson '",".join(j["metadata"]["finalizers"])')" "200 orphan" "Orphan: the answer carries the orphan finalizer"
kreq GET /api/v1/namespaces/shop/pods/db-0
is "$KSTATUS $(kjson 'len(j["metadata"].get("ownerReferences",[]))')" "200 0" "Orphan: pods stay, without ownerReferences"
kreq DELETE /apis/apps/v1/namespaces/shop/deployments/web -H 'Content-Type: application/json' -d '{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Foreground"}'
is "$KSTATUS $(kjson '",".join(j["metadata"]["finalizers"])')" "200 foregroundDeletion" "Foreground (in a DeleteOptions body)"
ok "Foreground: the deployment and its pods are gone" kwait 5 '/api/v1/namespaces/shop/pods?labelSelector=app%3Dweb' 'len(j["items"])==0'
kreq DELETE '/apis/apps/v1/namespaces/shop/deployments/nope?propagationPolicy=Sideways'
is "$KSTATUS" 404 "delete of a missing object: 404"
kdeploy shop web2 1
kreq DELETE '/apis/apps/v1/namespaces/shop/deployments/web2?propagationPolicy=Sideways'
is "$KSTATUS" 422 "an unknown propagationPolicy: 422"

ks_stop_clean

done_testing
