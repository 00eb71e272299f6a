#!/bin/bash
# t0723-kubesim-job-template.sh - kubesim: a Job's pod template is immutable (422 as the real API server); image- and name-scoped workload faults; the snapshot/restore manifests validate.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-kubesim.sh"

ks_start --pod-ready-ms 100 --job-complete-ms 150 --pvc-bind-ms 50
knsmake shop
is "$KSTATUS" 201 "namespace"

job_yaml() { # NAME IMAGE [LABEL]
	cat <<YAML
apiVersion: batch/v1
kind: Job
metadata:
  name: $1
  labels: {tier: "${3:-one}"}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: c
        image: $2
YAML
}

# kubectl: create, re-apply unchanged, change the template
job_yaml setup example/setup:1 >"$T/j1.yaml"
ok "kubectl apply creates the Job" kubectl apply -n shop -f "$T/j1.yaml"
out=$(kubectl apply -n shop -f "$T/j1.yaml" 2>&1)
like "$out" 'job.batch/setup (unchanged|configured)' "re-applying the same template is accepted"
job_yaml setup example/setup:1 two >"$T/j1b.yaml"
ok "a label change outside the template is accepted" kubectl apply -n shop -f "$T/j1b.yaml"
job_yaml setup example/setup:2 two >"$T/j2.yaml"
out=$(kubectl apply -n shop -f "$T/j2.yaml" 2>&1)
is "$?" 1 "kubectl apply of a changed template fails"
like "$out" 'The Job "setup" is invalid: spec\.template: Invalid value: .*: field is immutable' \
	"with the API server's message"
is "$(kubectl get job setup -n shop -o jsonpath='{.spec.template.spec.containers[0].image}')" example/setup:1 \
	"the stored template is unchanged"

# the same through the raw API: server-side apply, merge patch and PUT
kapply /apis/batch/v1/namespaces/shop/jobs/setup "$(cat "$T/j2.yaml")" "fieldManager=test&force=true"
is "$KSTATUS" 422 "SSA of a changed template: 422"
is "$(kjson 'j["reason"] + " " + j["details"]["causes"][0]["field"] + " " + j["details"]["causes"][0]["reason"]')" \
	"Invalid spec.template FieldValueInvalid" "reason Invalid, cause on spec.template"
like "$(kjson 'j["message"]')" '^Job\.batch "setup" is invalid: spec\.template: Invalid value: core\.PodTemplateSpec.*: field is immutable$' \
	"the message of the real API server"
kvalid "the Status passes the validator"
kreq PATCH /apis/batch/v1/namespaces/shop/jobs/setup -H 'Content-Type: application/merge-patch+json' \
	--data-binary '{"spec":{"template":{"spec":{"containers":[{"name":"c","image":"example/setup:3"}]}}}}'
is "$KSTATUS" 422 "merge patch of the template: 422"
kreq GET /apis/batch/v1/namespaces/shop/jobs/setup
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); j["spec"]["template"]["spec"]["containers"][0]["image"]="example/setup:4"; json.dump(j, open(sys.argv[2], "w"))' \
	"$T/kbody" "$T/put.json"
kreq PUT /apis/batch/v1/namespaces/shop/jobs/setup -H 'Content-Type: application/json' --data-binary "@$T/put.json"
is "$KSTATUS" 422 "PUT with another template: 422"
kreq PATCH /apis/batch/v1/namespaces/shop/jobs/setup -H 'Content-Type: application/merge-patch+json' \
	--data-binary '{"metadata":{"annotations":{"note":"x"}}}'
is "$KSTATUS" 200 "a patch that leaves the template alone: 200"

# what reconcile does instead: delete (Background), then create the new one
ok "delete with propagationPolicy Background" kubectl delete job setup -n shop --cascade=background
ok "the new template is created" kubectl apply -n shop -f "$T/j2.yaml"
is "$(kubectl get job setup -n shop -o jsonpath='{.spec.template.spec.containers[0].image}')" example/setup:2 \
	"the Job now has the new template"

# workload faults scoped to an image or a pod-name prefix
ksim POST faults '{"scope":"shop","type":"image_pull","image":"example/bad:"}'
is "$KSTATUS" 201 "image_pull fault for example/bad: only"
kdeploy shop good 1
kdeploy shop bad 1
ok "the good Deployment becomes available" kwait 20 /apis/apps/v1/namespaces/shop/deployments/good \
	'j["status"].get("availableReplicas")==1'
ok "the bad one's pod cannot pull its image" kwait 20 '/api/v1/namespaces/shop/pods?labelSelector=app%3Dbad' \
	'j["items"] and j["items"][0]["status"]["containerStatuses"][0]["state"].get("waiting",{}).get("reason") in ("ErrImagePull","ImagePullBackOff")'
ksim POST faults '{"scope":"shop","type":"job_fail","name":"snapshot-"}'
is "$KSTATUS" 201 "job_fail fault for pods named snapshot-*"
job_yaml snapshot-r2 example/dump:1 >"$T/s.yaml"
job_yaml other example/dump:1 >"$T/o.yaml"
ok "two Jobs applied" kubectl apply -n shop -f "$T/s.yaml" -f "$T/o.yaml"
ok "snapshot-r2 fails" kwait 20 /apis/batch/v1/namespaces/shop/jobs/snapshot-r2 \
	'any(c["type"]=="Failed" and c["status"]=="True" for c in j["status"].get("conditions",[]))'
ok "the other Job completes" kwait 20 /apis/batch/v1/namespaces/shop/jobs/other \
	'any(c["type"]=="Complete" and c["status"]=="True" for c in j["status"].get("conditions",[]))'
ksim POST faults '{"scope":"shop","type":"quota","image":"x"}'
is "$KSTATUS" 400 "image/name on a fault they do not apply to: 400"
like "$KBODY" 'image_pull, crash_loop and job_fail only' "saying which"

# the snapshot and restore objects of both charts pass the schema validator
printf 'snapshot:\n  volume: true\n  take: r2\n  restore: r2\n  restore_tag: r3\n' >"$T/snap.yaml"
for e in woocommerce medusa; do
	for o in local prod; do
		"$SF_BUILD/bin/storefleetctl" render "$e" --overlay "$o" --store-id abcdefgh --values "$T/snap.yaml" \
			>"$T/$e-$o.yaml"
		like "$(grep -E '^  name: (snapshots|snapshot-r2|restore-r3|allow-backup)' "$T/$e-$o.yaml" | sort | tr '\n' ' ')" \
			'allow-backup-egress-to-.* allow-backup-to-.* restore-r3 +name: snapshot-r2 +name: snapshots' \
			"$e/$o: volume, policies, snapshot and restore Jobs rendered"
		out=$("$VALIDATE" "$T/$e-$o.yaml" 2>&1)
		like "$out" ' 0 problem\(s\), 0 warning\(s\)' "$e/$o: the validator finds nothing"
	done
	"$SF_BUILD/bin/storefleetctl" render "$e" --store-id abcdefgh >"$T/$e-plain.yaml"
	unlike "$(cat "$T/$e-plain.yaml")" 'snapshot|restore-' "$e: the normal set has none of them"
done

done_testing
