#!/bin/bash
# t0410-kubesim-session.sh - a scripted API session; every answer is checked by the shared validator.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-kubesim.sh"

ks_start --ns-delete-ms 60000
JSON=(-H 'Content-Type: application/json')

# authentication
KSTATUS=$(curl -s --cacert "$KUBESIM_DIR/ca.crt" -o "$T/kbody" -w '%{http_code}' "$KUBESIM_ADDR/api/v1/namespaces")
is "$KSTATUS" 401 "no credentials: 401"
is "$(kjson 'j["reason"]+" "+j["message"]')" "Unauthorized Unauthorized" "401 body is the Unauthorized Status"
kvalid "401 Status passes the validator"
KSTATUS=$(curl -s --cacert "$KUBESIM_DIR/ca.crt" -H 'Authorization: Bearer nope' -o /dev/null -w '%{http_code}' "$KUBESIM_ADDR/api/v1/namespaces")
is "$KSTATUS" 401 "wrong token: 401"
KSTATUS=$(curl -s --cacert "$KUBESIM_DIR/ca.crt" --cert "$KUBESIM_DIR/client.crt" --key "$KUBESIM_DIR/client.key" -o /dev/null -w '%{http_code}' "$KUBESIM_ADDR/api/v1/namespaces")
is "$KSTATUS" 200 "a client certificate signed by the CA authenticates"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=intruder \
	-keyout "$T/other.key" -out "$T/other.crt" -days 1 >/dev/null 2>&1
KSTATUS=$(curl -s --cacert "$KUBESIM_DIR/ca.crt" --cert "$T/other.crt" --key "$T/other.key" -o /dev/null -w '%{http_code}' "$KUBESIM_ADDR/api/v1/namespaces")
is "$KSTATUS" 401 "a client certificate from another CA: 401"

# create, get, list
kreq POST /api/v1/namespaces "${JSON[@]}" -d '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"store-a"}}'
is "$KSTATUS" 201 "POST namespace: 201"
is "$(kjson 'j["status"]["phase"]+" "+",".join(j["spec"]["finalizers"])+" "+j["metadata"]["labels"]["kubernetes.io/metadata.name"]')" \
	"Active kubernetes store-a" "namespace gets phase, finalizer and name label"
kvalid "created Namespace passes the validator"

CM='{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"settings","labels":{"app":"shop"}},"data":{"a":"1"}}'
kreq POST /api/v1/namespaces/store-a/configmaps "${JSON[@]}" -d "$CM"
is "$KSTATUS" 201 "POST configmap: 201"
like "$(kjson 'j["metadata"]["uid"]+" "+j["metadata"]["resourceVersion"]+" "+j["metadata"]["creationTimestamp"]')" \
	'^[0-9a-f-]{36} [0-9]+ 20[0-9-]+T[0-9:]+Z$' "uid, resourceVersion and creationTimestamp are filled"
kvalid "created ConfigMap passes the validator"
kreq POST /api/v1/namespaces/store-a/configmaps "${JSON[@]}" -d "$CM"
is "$KSTATUS" 409 "POST of an existing name: 409"
is "$(kjson 'j["reason"]+": "+j["message"]')" 'AlreadyExists: configmaps "settings" already exists' "AlreadyExists message"
kvalid "409 AlreadyExists passes the validator"

kreq GET /api/v1/namespaces/store-a/configmaps/settings
is "$KSTATUS" 200 "GET configmap: 200"
RV=$(kjson 'j["metadata"]["resourceVersion"]')
kreq GET /apis/apps/v1/namespaces/store-a/deployments/nope
is "$KSTATUS" 404 "GET of a missing object: 404"
is "$(kjson 'j["message"]+" "+j["details"]["kind"]+" "+j["details"]["group"]')" 'deployments.apps "nope" not found deployments apps' "NotFound message and details"
kvalid "404 NotFound passes the validator"
kreq GET /api/v1/configmaps?labelSelector=app%3Dshop
is "$(kjson 'j["kind"]+" "+str(len(j["items"]))')" "ConfigMapList 1" "list across namespaces by label"
kvalid "ConfigMapList passes the validator"
kreq GET /api/v1/namespaces/store-b/configmaps/x
kreq POST /api/v1/namespaces/store-b/configmaps "${JSON[@]}" -d "$CM"
is "$KSTATUS $(kjson 'j["message"]')" '404 namespaces "store-b" not found' "create into a missing namespace: 404"

# unknown paths are plain text
kreq GET /apis/nope.example.com/v1/things
is "$KSTATUS $KBODY" "404 404 page not found" "unknown group: plain-text 404"
kreq GET /api/v1/namespaces/store-a/widgets
is "$KSTATUS $KBODY" "404 404 page not found" "unknown resource: plain-text 404"

# validation: invalid names (422), and the validator agrees on the input
BAD='{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"Store_1"}}'
kreq POST /api/v1/namespaces "${JSON[@]}" -d "$BAD"
is "$KSTATUS" 422 "invalid namespace name: 422"
like "$(kjson 'j["message"]')" '^Namespace "Store_1" is invalid: metadata.name: Invalid value: "Store_1": a lowercase RFC 1123 label must consist of' "422 message format"
is "$(kjson 'j["details"]["kind"]+" "+j["details"]["causes"][0]["reason"]+" "+j["details"]["causes"][0]["field"]')" \
	"Namespace FieldValueInvalid metadata.name" "422 details: Kind and causes"
kvalid "422 Invalid passes the validator"
printf '%s' "$BAD" >"$T/bad.json"
ok "the validator also refuses the invalid name" vrefuses "$T/bad.json"

kreq POST /apis/networking.k8s.io/v1/namespaces/store-a/ingresses "${JSON[@]}" -d '{"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"web"},"spec":{"rules":[{"host":"a.test","http":{"paths":[{"path":"/"}]}}]}}'
is "$KSTATUS" 422 "required fields missing (pathType, backend): 422"
is "$(kjson 'sorted(c["field"]+" "+c["reason"] for c in j["details"]["causes"])')" \
	'["spec.rules[0].http.paths[0].backend FieldValueRequired", "spec.rules[0].http.paths[0].pathType FieldValueRequired"]' "one Required cause per missing field, with index paths"
SVC='{"apiVersion":"v1","kind":"Service","metadata":{"name":"1web"},"spec":{"ports":[{"port":80}]}}'
kreq POST /api/v1/namespaces/store-a/services "${JSON[@]}" -d "$SVC"
is "$KSTATUS" 422 "a Service name must be a DNS-1035 label"
printf '%s' "$SVC" >"$T/bad.json"
ok "the validator also refuses the Service name" vrefuses "$T/bad.json"

DEP='{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"other"}},"spec":{"containers":[{"name":"web"}]}}}}'
kreq POST /apis/apps/v1/namespaces/store-a/deployments "${JSON[@]}" -d "$DEP"
is "$KSTATUS" 422 "selector mismatch and missing image: 422"
like "$(kjson 'j["message"]')" '^Deployment.apps "web" is invalid: \[.*`selector` does not match template `labels`.*containers\[0\]\.image: Required value' "both problems listed"
printf '%s' "$DEP" >"$T/bad.json"
ok "the validator also refuses that deployment" vrefuses "$T/bad.json"

# unknown fields: Strict 400, default Warn (Warning header), SSA always 500
UNK='{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"unk"},"data":{"a":"1"},"dta":{"b":"2"}}'
kreq POST '/api/v1/namespaces/store-a/configmaps?fieldValidation=Strict' "${JSON[@]}" -d "$UNK"
is "$KSTATUS" 400 "unknown field with fieldValidation=Strict: 400"
like "$(kjson 'j["message"]')" 'strict decoding error: unknown field "dta"' "strict decoding message"
kvalid "400 Status passes the validator"
kreq POST /api/v1/namespaces/store-a/configmaps "${JSON[@]}" -d "$UNK"
is "$KSTATUS" 201 "unknown field by default: created"
like "$(kheader Warning)" '^299 - "unknown field \\"dta\\""' "with a Warning header"
kapply /apis/apps/v1/namespaces/store-a/deployments/api '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"api"},"spec":{"replica":2}}'
is "$KSTATUS" 500 "unknown field in server-side apply: 500"
is "$(kjson 'j["message"]+"|"+str(j.get("reason"))')" \
	'failed to create typed patch object (store-a/api; apps/v1, Kind=Deployment): .spec.replica: field not declared in schema|None' \
	"SSA unknown-field message, no reason"
kvalid "500 Status passes the validator"
kreq POST /apis/apps/v1/namespaces/store-a/deployments "${JSON[@]}" -d '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"typed"},"spec":{"replicas":"2","selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"x"}]}}}}'
is "$KSTATUS $(kjson 'j["message"]')" '400 Deployment in version "v1" cannot be handled as a Deployment: spec.replicas: expected integer, got string' "a value of the wrong type: 400"
kvalid "type-error Status passes the validator"
kapply /api/v1/namespaces/store-a/configmaps/typed '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"typed","labels":{"n":1}}}'
is "$KSTATUS" 500 "a wrong type in server-side apply: 500 (typed patch)"
printf '%s' "$UNK" >"$T/bad.json"
ok "the validator also refuses the unknown field" vrefuses "$T/bad.json"

# server-side apply rules
WEB='{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","labels":{"app":"web"}},"spec":{"replicas":1,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"web","image":"nginx"}]}}}}'
kapply /apis/apps/v1/namespaces/store-a/deployments/web "$WEB" "fieldManager=storefleet"
is "$KSTATUS" 201 "SSA create: 201"
kvalid "SSA-created Deployment passes the validator"
is "$(kjson 'j["metadata"]["managedFields"][0]["manager"]+" "+j["metadata"]["managedFields"][0]["operation"]+" "+j["metadata"]["managedFields"][0]["fieldsType"]')" \
	"storefleet Apply FieldsV1" "managedFields records the Apply"
CMA='{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"applied","labels":{"a":"b"}},"data":{"k":"v"}}'
kapply /api/v1/namespaces/store-a/configmaps/applied "$CMA" "fieldManager=storefleet"
RV1=$(kjson 'j["metadata"]["resourceVersion"]')
kapply /api/v1/namespaces/store-a/configmaps/applied "$CMA" "fieldManager=storefleet"
is "$KSTATUS $(kjson 'j["metadata"]["resourceVersion"]')" "200 $RV1" "a no-op apply keeps resourceVersion"
kapply /api/v1/namespaces/store-a/configmaps/applied '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"applied"},"data":{"k":"v"}}' "fieldManager=storefleet"
is "$(kjson 'str(j["metadata"].get("labels",{}).get("a"))')" "None" "a field the manager stops applying is removed"
kapply /apis/apps/v1/namespaces/store-a/deployments/web "$WEB" ""
is "$KSTATUS" 422 "SSA without fieldManager: 422"
like "$(kjson 'j["message"]')" 'fieldManager: Required value: is required for apply patch' "fieldManager required message"
kvalid "422 PatchOptions passes the validator"
kapply /apis/apps/v1/namespaces/store-a/deployments/web '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"replicas":3}}' "fieldManager=kubectl-edit"
is "$KSTATUS" 409 "another manager changing replicas: 409"
is "$(kjson 'j["message"]')" 'Apply failed with 1 conflict: conflict with "storefleet": .spec.replicas' "conflict message"
is "$(kjson 'j["details"]["causes"][0]["reason"]+" "+j["details"]["causes"][0]["field"]')" "FieldManagerConflict .spec.replicas" "conflict cause"
kvalid "409 conflict passes the validator"
kapply /apis/apps/v1/namespaces/store-a/deployments/web '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"replicas":3}}' "fieldManager=kubectl-edit&force=true"
is "$KSTATUS $(kjson 'j["spec"]["replicas"]')" "200 3" "force=true takes the field"
kapply /apis/apps/v1/namespaces/store-a/deployments/web '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","managedFields":[]}}'
is "$KSTATUS $(kjson 'j["message"]')" "400 metadata.managedFields must be nil" "managedFields in an apply: 400"
kapply /apis/apps/v1/namespaces/store-a/deployments/web '{"apiVersion":"apps/v2","kind":"Deployment","metadata":{"name":"web"}}'
is "$KSTATUS $(kjson 'j["message"]')" "400 Incorrect version specified in apply patch. Specified patch version: apps/v2, expected: apps/v1" "wrong apiVersion: 400"
kapply /apis/apps/v1/namespaces/store-a/deployments/web '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"other"}}'
is "$KSTATUS $(kjson 'j["message"]')" "400 the name of the object (other) does not match the name on the URL (web)" "name mismatch: 400"
kvalid "400 BadRequest passes the validator"
kapply /apis/apps/v1/namespaces/store-a/deployments/dup '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"dup"},"spec":{"selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"x"},{"name":"c","image":"y"}]}}}}'
is "$KSTATUS" 500 "duplicate list-map keys in SSA: 500"
like "$(kjson 'j["message"]')" 'duplicate entries for key \[name="c"\]' "duplicate-key message"
kreq PATCH /apis/apps/v1/namespaces/store-a/deployments/web -H 'Content-Type: text/plain' -d '{}'
is "$KSTATUS $(kjson 'j["reason"]')" "415 UnsupportedMediaType" "unknown patch type: 415"
kreq PATCH /apis/apps/v1/namespaces/store-a/deployments/web -H 'Content-Type: application/merge-patch+json' -d '{"metadata":{"labels":{"tier":"front"}}}'
is "$KSTATUS $(kjson 'j["metadata"]["labels"]["tier"]')" "200 front" "merge patch"
kreq PATCH /apis/apps/v1/namespaces/store-a/deployments/web -H 'Content-Type: application/json-patch+json' -d '[{"op":"test","path":"/metadata/labels/tier","value":"front"},{"op":"replace","path":"/metadata/labels/tier","value":"back"}]'
is "$KSTATUS $(kjson 'j["metadata"]["labels"]["tier"]')" "200 back" "JSON patch"
kreq PATCH /apis/apps/v1/namespaces/store-a/deployments/web -H 'Content-Type: application/json-patch+json' -d '[{"op":"remove","path":"/spec/nope"}]'
is "$KSTATUS" 422 "a JSON patch that cannot apply: 422"
kreq PATCH /apis/apps/v1/namespaces/store-a/deployments/web -H 'Content-Type: application/merge-patch+json' '-d' '{}' --url-query force=true
is "$KSTATUS $(kjson 'j["details"]["causes"][0]["field"]')" "422 force" "force on a non-apply patch: 422"

# the status subresource (a Service: no controller rewrites its status)
kreq POST /api/v1/namespaces/store-a/services "${JSON[@]}" -d '{"apiVersion":"v1","kind":"Service","metadata":{"name":"lb"},"spec":{"type":"LoadBalancer","ports":[{"port":80}]}}'
kreq PATCH /api/v1/namespaces/store-a/services/lb/status -H 'Content-Type: application/merge-patch+json' -d '{"spec":{"type":"ClusterIP"},"status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.7"}]}}}'
is "$KSTATUS $(kjson 'j["status"]["loadBalancer"]["ingress"][0]["ip"]+" "+j["spec"]["type"]')" "200 192.0.2.7 LoadBalancer" "a /status patch changes status only"
kreq PATCH /api/v1/namespaces/store-a/services/lb -H 'Content-Type: application/merge-patch+json' -d '{"status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.99"}]}}}'
is "$KSTATUS $(kjson 'j["status"]["loadBalancer"]["ingress"][0]["ip"]')" "200 192.0.2.7" "the main resource cannot change status"
kvalid "Service with status passes the validator"
kreq GET /apis/apps/v1/namespaces/store-a/deployments/web/exec
is "$KSTATUS" 404 "an unsupported subresource: 404"

# PUT with a stale resourceVersion
kreq PUT /api/v1/namespaces/store-a/configmaps/settings "${JSON[@]}" -d "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"settings\",\"resourceVersion\":\"$RV\"},\"data\":{\"a\":\"2\"}}"
is "$KSTATUS" 200 "PUT with the current resourceVersion: 200"
kreq PUT /api/v1/namespaces/store-a/configmaps/settings "${JSON[@]}" -d "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"settings\",\"resourceVersion\":\"$RV\"},\"data\":{\"a\":\"3\"}}"
is "$KSTATUS" 409 "PUT with a stale resourceVersion: 409"
like "$(kjson 'j["message"]')" '^Operation cannot be fulfilled on configmaps "settings": the object has been modified' "optimistic-lock message"
kvalid "409 Conflict passes the validator"
kreq PUT /api/v1/namespaces/store-a/configmaps/settings "${JSON[@]}" -d '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"settings"},"data":{"a":"4"}}'
is "$KSTATUS $(kjson 'j["data"]["a"]')" "200 4" "PUT without resourceVersion is unconditional"

# deletes
kreq POST /apis/batch/v1/namespaces/store-a/jobs "${JSON[@]}" -d '{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"setup"},"spec":{"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"s","image":"busybox"}]}}}}'
is "$KSTATUS" 201 "create a Job"
kreq DELETE /apis/batch/v1/namespaces/store-a/jobs/setup
is "$KSTATUS" 200 "delete a Job: 200"
like "$(kheader Warning)" 'child pods are preserved by default when jobs are deleted' "Job delete without policy warns"
is "$(kjson '",".join(j["metadata"]["finalizers"])+" "+str(bool(j["metadata"]["deletionTimestamp"]))')" "orphan True" "the Job comes back with orphan finalizer and deletionTimestamp"
kreq DELETE /api/v1/namespaces/store-a/configmaps/settings
is "$(kjson 'j["kind"]+" "+j["status"]+" "+j["details"]["name"]')" "Status Success settings" "delete answers a Success Status"
kvalid "Success Status passes the validator"
kreq POST /api/v1/namespaces/store-a/services "${JSON[@]}" -d '{"apiVersion":"v1","kind":"Service","metadata":{"name":"web"},"spec":{"ports":[{"port":80}]}}'
like "$(kjson 'j["spec"]["clusterIP"]')" '^10\.96\.' "a Service gets a clusterIP"
kreq DELETE /api/v1/namespaces/store-a/services/web
is "$KSTATUS $(kjson 'j["kind"]')" "200 Service" "deleting a Service returns the Service"
kreq DELETE /api/v1/namespaces/default
is "$KSTATUS $(kjson 'j["message"]')" '403 namespaces "default" is forbidden: this namespace may not be deleted' "default may not be deleted"
kvalid "403 Status passes the validator"

# namespace lifecycle
kreq DELETE /api/v1/namespaces/store-a
is "$KSTATUS $(kjson 'j["status"]["phase"]')" "200 Terminating" "DELETE namespace: 200 Terminating"
kvalid "terminating Namespace passes the validator"
kreq POST /api/v1/namespaces/store-a/configmaps "${JSON[@]}" -d '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"late"}}'
is "$KSTATUS" 403 "create inside a terminating namespace: 403"
is "$(kjson 'j["message"]')" 'configmaps "late" is forbidden: unable to create new content in namespace store-a because it is being terminated' "NamespaceTerminating message"
is "$(kjson 'j["details"]["causes"][0]["reason"]+" "+j["details"]["causes"][0]["field"]')" "NamespaceTerminating metadata.namespace" "NamespaceTerminating cause"
kvalid "403 NamespaceTerminating passes the validator"
kreq POST /api/v1/namespaces "${JSON[@]}" -d '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"store-a"}}'
is "$KSTATUS $(kjson 'j["message"]')" '409 object is being deleted: namespaces "store-a" already exists' "re-create while terminating: 409"

# body cap
head -c 3200000 /dev/zero | tr '\0' 'a' >"$T/big"
kreq POST /api/v1/namespaces/default/configmaps "${JSON[@]}" --data-binary @"$T/big"
is "$KSTATUS $(kjson 'j["reason"]')" "413 RequestEntityTooLarge" "a body over 3 MiB: 413"

# hostile input does not hurt
kreq POST /api/v1/namespaces "${JSON[@]}" -d '{"apiVersion":"v1","kind":"Namespace","metadata":'
is "$KSTATUS" 400 "truncated JSON: 400"
kreq GET '/api/v1/pods?labelSelector=a%20in%20(b'
is "$KSTATUS" 400 "bad label selector: 400"
kreq GET /version
is "$KSTATUS $(kjson 'j["major"]')" "200 1" "still answering"

ks_stop_clean

done_testing
