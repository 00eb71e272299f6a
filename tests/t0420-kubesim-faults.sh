#!/bin/bash
# t0420-kubesim-faults.sh - every injectable fault is observable through the API (or the connection).
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-kubesim.sh"

ks_start --pod-ready-ms 200 --job-complete-ms 300 --pvc-bind-ms 200 --ns-delete-ms 200 --observed-lag-ms 50 --seed 7
for ns in img crash job jobok pvc pvcok stuck quota; do
	knsmake $ns
done
is "$KSTATUS" 201 "namespaces created"

# image pull failure
ksim POST faults '{"scope":"img","type":"image_pull"}'
is "$KSTATUS" 201 "fault accepted: 201"
IMG_ID=$(kjson 'j["id"]')
kdeploy img web 1
ok "pod reports ImagePullBackOff" kwait 10 /api/v1/namespaces/img/pods \
	'any(c["state"].get("waiting",{}).get("reason")=="ImagePullBackOff" for p in j["items"] for c in p["status"].get("containerStatuses",[]))'
like "$(kjson '[c["state"]["waiting"]["message"] for p in j["items"] for c in p["status"]["containerStatuses"]][0]')" \
	'^Back-off pulling image "example/web:1"' "waiting message names the image"
ok "deployment is not Available" kcheck /apis/apps/v1/namespaces/img/deployments/web \
	'[c["status"] for c in j["status"]["conditions"] if c["type"]=="Available"]==["False"]'
ok "an Event tells why" kwait 5 /api/v1/namespaces/img/events \
	'any(e["reason"] in ("BackOff","Failed") and e["involvedObject"]["kind"]=="Pod" for e in j["items"])'
kvalid "EventList passes the validator"
kreq GET "/api/v1/namespaces/img/pods/$(kreq GET /api/v1/namespaces/img/pods; kjson 'j["items"][0]["metadata"]["name"]')/log"
like "$KSTATUS $(kjson 'j["message"]')" '^400 container "c" in pod ".*" is waiting to start: trying and failing to pull image$' "logs of a pod stuck pulling: 400 like the kubelet"
kpost /apis/apps/v1/namespaces/img/deployments '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"slow"},"spec":{"progressDeadlineSeconds":1,"selector":{"matchLabels":{"app":"slow"}},"template":{"metadata":{"labels":{"app":"slow"}},"spec":{"containers":[{"name":"c","image":"example/slow:1"}]}}}}'
ok "progressDeadlineSeconds passed: Progressing False ProgressDeadlineExceeded" kwait 10 /apis/apps/v1/namespaces/img/deployments/slow \
	'[c["reason"] for c in j["status"].get("conditions",[]) if c["type"]=="Progressing" and c["status"]=="False"]==["ProgressDeadlineExceeded"]'
like "$(kjson '[c["message"] for c in j["status"]["conditions"] if c["type"]=="Progressing"][0]')" '^ReplicaSet "slow-[a-z0-9]+" has timed out progressing\.$' "the deadline message names the ReplicaSet"
ksim DELETE "faults/$IMG_ID"
is "$KSTATUS" 200 "fault removed"
ok "after the fault is cleared the deployment becomes Available" kwait 10 /apis/apps/v1/namespaces/img/deployments/web \
	'[c["status"] for c in j["status"]["conditions"] if c["type"]=="Available"]==["True"]'

# crash loop
ksim POST faults '{"scope":"crash","type":"crash_loop"}'
kdeploy crash api 1
ok "pod reports CrashLoopBackOff with restarts" kwait 10 /api/v1/namespaces/crash/pods \
	'any(c["state"].get("waiting",{}).get("reason")=="CrashLoopBackOff" and c["restartCount"]>0 for p in j["items"] for c in p["status"].get("containerStatuses",[]))'
kvalid "PodList passes the validator"

# jobs: failure and success
JOB='{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"setup"},"spec":{"backoffLimit":1,"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"s","image":"busybox"}]}}}}'
ksim POST faults '{"scope":"job","type":"job_fail"}'
kpost /apis/batch/v1/namespaces/job/jobs "$JOB"
kpost /apis/batch/v1/namespaces/jobok/jobs "$JOB"
ok "job_fail: Failed with BackoffLimitExceeded" kwait 10 /apis/batch/v1/namespaces/job/jobs/setup \
	'[c["reason"] for c in j["status"].get("conditions",[]) if c["type"]=="Failed" and c["status"]=="True"]==["BackoffLimitExceeded"]'
kvalid "failed Job passes the validator"
ok "without the fault: Complete, after SuccessCriteriaMet" kwait 10 /apis/batch/v1/namespaces/jobok/jobs/setup \
	'[c["type"] for c in j["status"].get("conditions",[])]==["SuccessCriteriaMet","Complete"] and j["status"]["succeeded"]==1'

# PVCs
PVC='{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"data"},"spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"1Gi"}}}}'
ksim POST faults '{"scope":"pvc","type":"pvc_pending"}'
kpost /api/v1/namespaces/pvc/persistentvolumeclaims "$PVC"
kpost /api/v1/namespaces/pvcok/persistentvolumeclaims "$PVC"
ok "a PVC binds without the fault" kwait 10 /api/v1/namespaces/pvcok/persistentvolumeclaims/data 'j["status"]["phase"]=="Bound"'
ok "pvc_pending: still Pending after the other bound" kcheck /api/v1/namespaces/pvc/persistentvolumeclaims/data 'j["status"]["phase"]=="Pending"'

# namespace stuck terminating
ksim POST faults '{"scope":"stuck","type":"ns_stuck"}'
STUCK_ID=$(kjson 'j["id"]')
kreq DELETE /api/v1/namespaces/stuck
ok "ns_stuck: Terminating with NamespaceFinalizersRemaining" kwait 10 /api/v1/namespaces/stuck \
	'j["status"]["phase"]=="Terminating" and any(c["type"]=="NamespaceFinalizersRemaining" and c["status"]=="True" for c in j["status"].get("conditions",[]))'
kvalid "stuck Namespace passes the validator"
ksim DELETE "faults/$STUCK_ID"
ok "clearing ns_stuck lets the namespace go (404)" kwait 10 /api/v1/namespaces/stuck status:404
knsmake stuck2
ksim POST faults '{"scope":"stuck2","type":"ns_stuck"}'
kreq DELETE /api/v1/namespaces/stuck2
ok "stuck2 is stuck" kwait 10 /api/v1/namespaces/stuck2 'any(c["type"]=="NamespaceFinalizersRemaining" for c in j["status"].get("conditions",[]))'
kreq PUT /api/v1/namespaces/stuck2/finalize -H 'Content-Type: application/json' -d '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"stuck2"},"spec":{"finalizers":[]}}'
is "$KSTATUS $(kjson 'len(j["spec"]["finalizers"])')" "200 0" "PUT /finalize empties spec.finalizers"
ok "a finalized terminating namespace goes at once (404)" kwait 5 /api/v1/namespaces/stuck2 status:404

# quota
kpost /api/v1/namespaces/quota/resourcequotas '{"apiVersion":"v1","kind":"ResourceQuota","metadata":{"name":"store-quota"},"spec":{"hard":{"pods":"1"}}}'
kdeploy quota shop 2
ok "quota: ReplicaFailure FailedCreate with exceeded quota" kwait 10 /apis/apps/v1/namespaces/quota/deployments/shop \
	'any(c["type"]=="ReplicaFailure" and c["reason"]=="FailedCreate" and "exceeded quota" in c["message"] for c in j["status"]["conditions"])'
ok "a FailedCreate Event is listed" kcheck /api/v1/namespaces/quota/events 'any(e["reason"]=="FailedCreate" and "exceeded quota" in e["message"] for e in j["items"])'
ok "quota status counts the pod" kwait 5 /api/v1/namespaces/quota/resourcequotas/store-quota 'j["status"]["used"]["pods"]=="1" and j["status"]["hard"]["pods"]=="1"'

# transport faults
ksim POST faults '{"scope":"*","type":"http_error","status":503,"rate":1.0,"retry_after":2,"count":1}'
kreq GET /api/v1/namespaces/img/pods
is "$KSTATUS $(kheader Retry-After)" "503 2" "http_error 503 with Retry-After"
is "$(kjson 'j["reason"]+" "+str(j["details"]["retryAfterSeconds"])')" "ServiceUnavailable 2" "503 Status with retryAfterSeconds"
kvalid "503 Status passes the validator"
kreq GET /api/v1/namespaces/img/pods
is "$KSTATUS" 200 "count=1: the next request is fine"
ksim POST faults '{"scope":"img","type":"http_error","status":429,"rate":1.0,"retry_after":3,"count":1}'
kreq GET /api/v1/namespaces/img/pods
is "$KSTATUS|$(kheader Retry-After)|$KBODY" "429|3|Too many requests, please try again later." "429 is plain text with Retry-After"
ksim POST faults '{"scope":"*","type":"http_error","status":500,"rate":1.0,"methods":["PUT"],"count":1}'
kreq GET /api/v1/namespaces/img/pods
is "$KSTATUS" 200 "a PUT-only fault leaves GET alone"
kreq PUT /api/v1/namespaces/img/configmaps/x -H 'Content-Type: application/json' -d '{}'
is "$KSTATUS $(kjson 'j["code"]')" "500 500" "and hits the PUT"
ksim POST faults '{"scope":"img","type":"http_error","status":500,"rate":0.5}'
HALF_ID=$(kjson 'j["id"]')
fails=0
for i in $(seq 1 60); do
	kreq GET /api/v1/namespaces/img/configmaps
	[ "$KSTATUS" = 500 ] && fails=$((fails + 1))
done
ok "rate 0.5 fails about half the requests ($fails of 60)" test "$fails" -ge 15 -a "$fails" -le 45
kreq GET /api/v1/namespaces/crash/configmaps
is "$KSTATUS" 200 "a namespace-scoped transport fault leaves other namespaces alone"
ksim DELETE "faults/$HALF_ID"
ksim POST faults '{"scope":"*","type":"latency","ms":300,"count":1}'
t=$(curl -s -o /dev/null -w '%{time_total}' --cacert "$KUBESIM_DIR/ca.crt" -H "Authorization: Bearer $KUBESIM_TOKEN" "$KUBESIM_ADDR/api/v1/namespaces")
ok "latency adds delay (${t}s)" python3 -c "import sys; sys.exit(0 if float('$t') >= 0.3 else 1)"
ksim POST faults '{"scope":"*","type":"reset","rate":1.0,"count":1}'
curl -s -o /dev/null --cacert "$KUBESIM_DIR/ca.crt" -H "Authorization: Bearer $KUBESIM_TOKEN" "$KUBESIM_ADDR/api/v1/namespaces"
rc=$?
ok "reset closes the connection unanswered (curl exit $rc)" test "$rc" -ne 0
ksim POST faults '{"scope":"*","type":"stall","ms":500,"rate":1.0,"count":1}'
out=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --cacert "$KUBESIM_DIR/ca.crt" -H "Authorization: Bearer $KUBESIM_TOKEN" "$KUBESIM_ADDR/api/v1/namespaces")
ok "stall answers late ($out)" python3 -c "import sys; c,t='$out'.split(); sys.exit(0 if c=='200' and float(t)>=0.5 else 1)"
ksim POST faults '{"scope":"*","type":"bogus"}'
is "$KSTATUS" 400 "an unknown fault type is refused"
ksim DELETE faults
is "$KSTATUS" 200 "all faults cleared"

# stats
ksim GET stats
ok "stats count requests and creates" test "$(kjson 'j["requests"]["POST namespaces"]>=8 and j["creates"]["Deployment"]==4 and j["total"]>0 and j["objects"]>0')" = True
ksim POST stats/reset
ksim GET stats
is "$(kjson 'j["total"]')" 0 "stats reset"

ks_stop_clean

# a fault given at startup
kubesim_start "$T/k2" --fault '{"scope":"*","type":"http_error","status":503,"rate":1.0}' || bail "second kubesim"
kreq GET /api/v1/namespaces
is "$KSTATUS" 503 "--fault at startup applies"
ksim GET stats
is "$KSTATUS" 200 "control endpoints are exempt from faults"

ks_stop_clean

done_testing
