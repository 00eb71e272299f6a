#!/bin/bash
# t0461-kubesim-immutable.sh - kubesim: the fields an update may not change (422 Invalid with the API server's field paths and texts): a Job's selector and template, a claim's spec, a Service's cluster IP, a Deployment's selector.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-kubesim.sh"

command -v kubectl >/dev/null || { echo "1..0 # SKIP kubectl not installed"; exit 0; }
ks_start --pvc-bind-ms 50 --job-complete-ms 300 --storage-class none
K() { kubectl --request-timeout=20s "$@"; }
MERGE=(-H 'Content-Type: application/merge-patch+json')
knsmake s

# cause FIELD REASON MESSAGE-ERE: the last answer is a 422 whose causes include that one
cause() {
	python3 -c 'import json,re,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if j["code"]==422 and j["reason"]=="Invalid" and any(c["field"]==sys.argv[2] and c["reason"]==sys.argv[3] and re.fullmatch(sys.argv[4], c["message"], re.S) for c in j["details"]["causes"]) else 1)' \
		"$T/kbody" "$@"
}

# --- Job: the generated selector and the template --------------------------------------------
K create job setup -n s --image=example/setup:1 -- /setup >/dev/null
kreq GET /apis/batch/v1/namespaces/s/jobs/setup
UID_=$(kjson 'j["metadata"]["uid"]')
is "$(kjson 'json.dumps(j["spec"]["selector"])')" "{\"matchLabels\": {\"batch.kubernetes.io/controller-uid\": \"$UID_\"}}" \
	"a Job gets the generated selector (batch.kubernetes.io/controller-uid)"
is "$(kjson 'json.dumps(j["spec"]["template"]["metadata"]["labels"], sort_keys=True)')" \
	"{\"batch.kubernetes.io/controller-uid\": \"$UID_\", \"batch.kubernetes.io/job-name\": \"setup\", \"controller-uid\": \"$UID_\", \"job-name\": \"setup\"}" \
	"and the labels it selects in the template"
kvalid "the Job passes the validator"
out=$(K patch job setup -n s --type=merge -p '{"spec":{"selector":{"matchLabels":{"app":"x"}}}}' 2>&1)
is "$out" "The Job \"setup\" is invalid: 
* spec.selector: Invalid value: {\"matchLabels\":{\"app\":\"x\",\"batch.kubernetes.io/controller-uid\":\"$UID_\"}}: \`selector\` not auto-generated
* spec.selector: Invalid value: {\"matchLabels\":{\"app\":\"x\",\"batch.kubernetes.io/controller-uid\":\"$UID_\"}}: field is immutable" \
	"kubectl patch of spec.selector: not auto-generated, and immutable"
kreq PATCH /apis/batch/v1/namespaces/s/jobs/setup "${MERGE[@]}" -d '{"spec":{"selector":{"matchLabels":{"app":"x"}}}}'
ok "curl: 422, cause spec.selector FieldValueInvalid ...: field is immutable" \
	cause spec.selector FieldValueInvalid 'Invalid value: \{"matchLabels":\{"app":"x","batch.kubernetes.io/controller-uid":"[-0-9a-f]+"\}\}: field is immutable'
is "$(kjson 'j["details"]["kind"]+" "+j["details"]["group"]+" "+j["details"]["name"]')" "Job batch setup" "details: Kind, group, name"
kvalid "the 422 Status passes the validator"
kreq PATCH /apis/batch/v1/namespaces/s/jobs/setup -H 'Content-Type: application/json-patch+json' -d '[{"op":"remove","path":"/spec/selector"}]'
ok "removing the selector: spec.selector Required value" cause spec.selector FieldValueRequired 'Required value'
ok "... and null is immutable" cause spec.selector FieldValueInvalid 'Invalid value: null: field is immutable'
out=$(K set image job/setup -n s setup=example/setup:2 2>&1)
like "$out" '^error: failed to patch image update to pod template: Job.batch "setup" is invalid: spec.template: Invalid value: core.PodTemplateSpec.*: field is immutable$' \
	"kubectl set image on a Job: spec.template is immutable"
kapply /apis/batch/v1/namespaces/s/jobs/setup "$(K get job setup -n s -o json | python3 -c 'import json,sys; j=json.load(sys.stdin); print(json.dumps({"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"setup"},"spec":{"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"setup","image":"example/setup:3"}]}}}}))')" "fieldManager=test&force=true"
ok "server-side apply of another template: spec.template FieldValueInvalid" \
	cause spec.template FieldValueInvalid 'Invalid value: core\.PodTemplateSpec.*: field is immutable'
kreq PATCH /apis/batch/v1/namespaces/s/jobs/setup "${MERGE[@]}" -d '{"metadata":{"labels":{"tier":"one"}}}'
is "$KSTATUS" 200 "a change outside the selector and template: 200"

# --- PersistentVolumeClaim: the spec, but a bound claim's storage ----------------------------------
cat >"$T/pvc.yaml" <<'YAML'
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: s}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
YAML
K apply -f "$T/pvc.yaml" >/dev/null
ok "the claim binds" kwait 10 /api/v1/namespaces/s/persistentvolumeclaims/data 'j["status"]["phase"]=="Bound"'
VOL=$(kjson 'j["spec"]["volumeName"]')
out=$(sed 's/ReadWriteOnce/ReadWriteMany/' "$T/pvc.yaml" | K apply -f - 2>&1)
is "$out" 'The PersistentVolumeClaim "data" is invalid: spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims
@@ -1,6 +1,6 @@
 {
  "AccessModes": [
-  "ReadWriteOnce"
+  "ReadWriteMany"
  ],
  "Selector": null,
  "Resources": {' \
	"kubectl apply of other access modes: spec Forbidden, with 1.36's diff of the internal spec"
kreq PATCH /api/v1/namespaces/s/persistentvolumeclaims/data "${MERGE[@]}" -d '{"spec":{"storageClassName":"fast"}}'
is "$(kjson 'j["details"]["causes"][0]["message"]')" "Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims
@@ -10,7 +10,7 @@
   }
  },
  \"VolumeName\": \"$VOL\",
- \"StorageClassName\": null,
+ \"StorageClassName\": \"fast\",
  \"VolumeMode\": \"Filesystem\",
  \"DataSource\": null,
  \"DataSourceRef\": null," "curl: the storage class, FieldValueForbidden on spec, the diff in its context"
kvalid "the 422 Status passes the validator"
# Growing is the PersistentVolumeClaimResize admission's: only a claim of a
# StorageClass with allowVolumeExpansion (this one has none).
out=$(sed 's/1Gi/2Gi/' "$T/pvc.yaml" | K apply -f - 2>&1)
like "$out" 'persistentvolumeclaims "data" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize$' \
	"a bound claim without a StorageClass may not grow (403, the API server's text)"
cat >"$T/sc.yaml" <<'YAML'
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: expandable}
provisioner: example.com/csi
allowVolumeExpansion: true
YAML
K apply -f "$T/sc.yaml" >/dev/null
sed 's/name: data,/name: grow,/; s/accessModes:/storageClassName: expandable\n  accessModes:/' "$T/pvc.yaml" >"$T/grow.yaml"
K apply -f "$T/grow.yaml" >/dev/null
ok "a claim of the expandable class binds" kwait 10 /api/v1/namespaces/s/persistentvolumeclaims/grow 'j["status"]["phase"]=="Bound"'
out=$(sed 's/1Gi/2Gi/' "$T/grow.yaml" | K apply -f - 2>&1)
is "$out" "persistentvolumeclaim/grow configured" "a bound claim of a class with allowVolumeExpansion may grow (kubectl apply)"
ok "the resize waits for a pod: NodeResizePending, FileSystemResizePending" \
	kwait 10 /api/v1/namespaces/s/persistentvolumeclaims/grow 'j["status"]["allocatedResourceStatuses"]["storage"]=="NodeResizePending" and j["status"]["conditions"][0]["type"]=="FileSystemResizePending" and j["status"]["capacity"]["storage"]=="1Gi" and j["status"]["allocatedResources"]["storage"]=="2Gi"'
kpost /api/v1/namespaces/s/pods '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"user"},"spec":{"containers":[{"name":"c","image":"example/c:1"}],"volumes":[{"name":"v","persistentVolumeClaim":{"claimName":"grow"}}]}}'
ok "a running pod mounts it: its capacity follows, the conditions go" \
	kwait 10 /api/v1/namespaces/s/persistentvolumeclaims/grow 'j["status"]["capacity"]["storage"]=="2Gi" and "conditions" not in j["status"] and "allocatedResourceStatuses" not in j["status"]'
out=$(K patch pvc grow -n s -p '{"spec":{"resources":{"requests":{"storage":"1Gi"}}}}' 2>&1)
is "$out" 'The PersistentVolumeClaim "grow" is invalid: spec.resources.requests.storage: Forbidden: field can not be less than status.capacity' \
	"not shrink below its capacity (kubectl patch)"
kreq PATCH /api/v1/namespaces/s/persistentvolumeclaims/grow "${MERGE[@]}" -d '{"spec":{"resources":{"requests":{"storage":"1Gi"}}}}'
ok "curl: spec.resources.requests.storage FieldValueForbidden" \
	cause spec.resources.requests.storage FieldValueForbidden 'Forbidden: field can not be less than status\.capacity'
kreq PATCH /api/v1/namespaces/s/persistentvolumeclaims/data "${MERGE[@]}" -d '{"spec":{"volumeAttributesClassName":"gold"}}'
is "$KSTATUS" 200 "volumeAttributesClassName may change"
# an unbound claim may not even grow
ksim POST faults '{"scope":"s","type":"pvc_pending"}'
kpost /api/v1/namespaces/s/persistentvolumeclaims '{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"pending"},"spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"1Gi"}}}}'
kreq PATCH /api/v1/namespaces/s/persistentvolumeclaims/pending "${MERGE[@]}" -d '{"spec":{"resources":{"requests":{"storage":"2Gi"}}}}'
is "$KSTATUS $(kjson 'j["details"]["causes"][0]["field"]+" "+j["details"]["causes"][0]["message"]')" '422 spec Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims
@@ -6,7 +6,7 @@
  "Resources": {
   "Limits": null,
   "Requests": {
-   "storage": "1Gi"
+   "storage": "2Gi"
   }
  },
  "VolumeName": "",' "a Pending claim's storage: spec is immutable (only bound claims grow)"
ksim DELETE faults

# --- Service: the cluster IP ----------------------------------------------------------------------
K create service clusterip web -n s --tcp=80:8080 >/dev/null
kreq GET /api/v1/namespaces/s/services/web
IP=$(kjson 'j["spec"]["clusterIP"]')
out=$(K patch service web -n s -p '{"spec":{"clusterIP":"10.96.200.1"}}' 2>&1)
is "$out" 'The Service "web" is invalid: spec.clusterIPs[0]: Invalid value: ["10.96.200.1"]: may not change once set' \
	"kubectl patch of spec.clusterIP: clusterIPs[0] may not change once set (dual-stack's text)"
kreq PUT /api/v1/namespaces/s/services/web -H 'Content-Type: application/json' -d "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"web\"},\"spec\":{\"clusterIP\":\"10.96.200.2\",\"clusterIPs\":[\"10.96.200.2\"],\"ports\":[{\"port\":80}]}}"
ok "PUT with other cluster IPs: 422 on spec.clusterIPs[0]" \
	cause 'spec.clusterIPs[0]' FieldValueInvalid 'Invalid value: \["10\.96\.200\.2"\]: may not change once set'
kvalid "the 422 Status passes the validator"
kreq PUT /api/v1/namespaces/s/services/web -H 'Content-Type: application/json' -d '{"apiVersion":"v1","kind":"Service","metadata":{"name":"web"},"spec":{"ports":[{"port":81}]}}'
is "$KSTATUS $(kjson 'j["spec"]["clusterIP"]+" "+j["spec"]["clusterIPs"][0]')" "200 $IP $IP" \
	"a PUT that leaves the cluster IP out keeps the allocated one"

# --- Deployment: the selector ----------------------------------------------------------------------
K create deployment api -n s --image=example/api:1 >/dev/null
out=$(K patch deployment api -n s -p '{"spec":{"selector":{"matchLabels":{"app":"api2"}},"template":{"metadata":{"labels":{"app":"api2"}}}}}' 2>&1)
is "$out" 'The Deployment "api" is invalid: spec.selector: Invalid value: {"matchLabels":{"app":"api2"}}: field is immutable' \
	"kubectl patch of a Deployment's selector (template labels matching): field is immutable"
kapply /apis/apps/v1/namespaces/s/deployments/api '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"api"},"spec":{"selector":{"matchLabels":{"app":"api","tier":"x"}},"template":{"metadata":{"labels":{"app":"api","tier":"x"}},"spec":{"containers":[{"name":"api","image":"example/api:1"}]}}}}' "fieldManager=test&force=true"
ok "server-side apply of another selector: 422 spec.selector" \
	cause spec.selector FieldValueInvalid 'Invalid value: \{"matchLabels":\{"app":"api","tier":"x"\}\}: field is immutable'
kvalid "the 422 Status passes the validator"
out=$(K patch deployment api -n s -p '{"spec":{"replicas":2}}' 2>&1)
is "$out" "deployment.apps/api patched" "other fields still change"

ks_stop_clean

done_testing
