#!/bin/bash
# t0463-kubesim-kubectl-verbs.sh - kubesim: kubectl's ordinary verbs (create with protobuf bodies, run, scale, label, annotate, patch of each type, edit, get -w) work as against a real API server.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-kubesim.sh"

command -v kubectl >/dev/null || { echo "1..0 # SKIP kubectl not installed"; exit 0; }
ks_start --pod-ready-ms 300 --job-complete-ms 300
K() { kubectl --request-timeout=20s "$@"; }
Kq() { K "$@" >/dev/null 2>&1; }

# every stored object kubectl made passes the validator
valid_get() { # PATH NAME
	kreq GET "$1"
	is "$KSTATUS" 200 "$2: GET 200"
	kvalid "$2: passes the validator"
}

# --- create: kubectl's typed clients send protobuf ------------------------------------------
is "$(K create namespace verbs 2>&1)" "namespace/verbs created" "create namespace"
valid_get /api/v1/namespaces/verbs "the namespace"
is "$(kjson 'j["metadata"]["labels"]["kubernetes.io/metadata.name"]+" "+j["status"]["phase"]')" "verbs Active" \
	"with the server's label and phase"
is "$(K create configmap settings -n verbs --from-literal=mode=fast --from-literal=level=3 2>&1)" \
	"configmap/settings created" "create configmap"
valid_get /api/v1/namespaces/verbs/configmaps/settings "the configmap"
is "$(kjson 'json.dumps(j["data"], sort_keys=True)')" '{"level": "3", "mode": "fast"}' "with its data"
printf 'binary\000data' >"$T/blob"
is "$(K create secret generic creds -n verbs --from-literal=user=admin --from-file=blob="$T/blob" 2>&1)" \
	"secret/creds created" "create secret generic"
valid_get /api/v1/namespaces/verbs/secrets/creds "the secret"
is "$(kjson 'j["data"]["user"]+" "+j["data"]["blob"]+" "+j["type"]')" "YWRtaW4= YmluYXJ5AGRhdGE= Opaque" \
	"bytes arrive intact (base64 in JSON), type Opaque"
is "$(K create deployment web -n verbs --image=example/web:1 --replicas=2 --port=8080 2>&1)" \
	"deployment.apps/web created" "create deployment"
valid_get /apis/apps/v1/namespaces/verbs/deployments/web "the deployment"
is "$(kjson 'str(j["spec"]["replicas"])+" "+j["spec"]["template"]["spec"]["containers"][0]["image"]+" "+str(j["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"])+" "+json.dumps(j["spec"]["selector"])')" \
	'2 example/web:1 8080 {"matchLabels": {"app": "web"}}' "replicas, image, port and selector decoded"
is "$(kjson 'j["metadata"]["managedFields"][0]["manager"]+" "+j["metadata"]["managedFields"][0]["operation"]')" \
	"kubectl-create Update" "managed by kubectl-create"
is "$(K create job once -n verbs --image=example/once:1 -- /bin/once --now 2>&1)" "job.batch/once created" "create job"
valid_get /apis/batch/v1/namespaces/verbs/jobs/once "the job"
is "$(kjson 'json.dumps(j["spec"]["template"]["spec"]["containers"][0]["command"])+" "+j["spec"]["template"]["spec"]["restartPolicy"]')" \
	'["/bin/once", "--now"] Never' "command and restartPolicy decoded"
ok "the job completes" Kq wait --for=condition=complete job/once -n verbs --timeout=15s
is "$(K create service clusterip api -n verbs --tcp=80:8080 2>&1)" "service/api created" "create service (another protobuf kind)"
out=$(K create namespace verbs 2>&1)
is "$out" 'Error from server (AlreadyExists): namespaces "verbs" already exists' "create of an existing name: the 409 as usual"

# --- run ---------------------------------------------------------------------------------------
is "$(K run tool -n verbs --image=example/tool:1 --labels=role=tool --env=MODE=x 2>&1)" "pod/tool created" "run"
valid_get /api/v1/namespaces/verbs/pods/tool "the pod"
is "$(kjson 'j["metadata"]["labels"]["role"]+" "+j["spec"]["containers"][0]["env"][0]["value"]')" "tool x" "with its labels and env"
ok "the pod becomes Ready" Kq wait --for=condition=Ready pod/tool -n verbs --timeout=15s

# --- scale -------------------------------------------------------------------------------------
is "$(K scale deployment web -n verbs --replicas=3 2>&1)" "deployment.apps/web scaled" "scale"
is "$(K get deployment web -n verbs -o jsonpath='{.spec.replicas}')" 3 "spec.replicas is 3"
out=$(K scale deployment web -n verbs --current-replicas=2 --replicas=5 2>&1)
is "$out" "error: Expected replicas to be 2, was 3" "scale --current-replicas checks the precondition"
kreq GET /apis/apps/v1/namespaces/verbs/deployments/web/scale
is "$KSTATUS" 200 "GET of the scale subresource"
is "$(kjson 'j["apiVersion"]+" "+j["kind"]+" "+str(j["spec"]["replicas"])+" "+j["status"]["selector"]')" \
	"autoscaling/v1 Scale 3 app=web" "an autoscaling/v1 Scale with the selector"
ok "rollout completes with 3 replicas" Kq rollout status deployment/web -n verbs --timeout=20s

# --- label, annotate ----------------------------------------------------------------------------
is "$(K label deployment web -n verbs tier=front 2>&1)" "deployment.apps/web labeled" "label"
is "$(K annotate deployment web -n verbs owner=team-a 2>&1)" "deployment.apps/web annotated" "annotate"
is "$(K label deployment web -n verbs tier=back 2>&1 | head -1)" \
	"error: 'tier' already has a value (front), and --overwrite is false" "label without --overwrite refuses to change"
is "$(K label deployment web -n verbs tier- 2>&1)" "deployment.apps/web unlabeled" "label key- removes"
is "$(K get deployment web -n verbs -o jsonpath='{.metadata.labels.tier}|{.metadata.annotations.owner}')" "|team-a" \
	"the label is gone, the annotation stays"

# --- patch: strategic (default), merge, json ---------------------------------------------------------
out=$(K patch deployment web -n verbs -p '{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"example/side:1"}]}}}}' 2>&1)
is "$out" "deployment.apps/web patched" "strategic merge patch"
is "$(K get deployment web -n verbs -o jsonpath='{.spec.template.spec.containers[*].name}')" "web sidecar" \
	"containers merge by name (the patch-merge-key): both are there"
out=$(K patch deployment web -n verbs -p '{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"sidecar"},{"name":"web"}],"containers":[{"name":"web","image":"example/web:2"}]}}}}' 2>&1)
is "$(K get deployment web -n verbs -o jsonpath='{.spec.template.spec.containers[*].name}:{.spec.template.spec.containers[1].image}')" \
	"sidecar web:example/web:2" "\$setElementOrder orders the merged list, and the item merges"
K patch deployment web -n verbs -p '{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","$patch":"delete"}]}}}}' >/dev/null 2>&1
is "$(K get deployment web -n verbs -o jsonpath='{.spec.template.spec.containers[*].name}')" "web" '$patch: delete removes one item'
out=$(K patch deployment web -n verbs -p '{"spec":{"strategy":{"$retainKeys":["type"],"type":"Recreate"}}}' 2>&1)
is "$(K get deployment web -n verbs -o jsonpath='{.spec.strategy}')" '{"type":"Recreate"}' \
	'$retainKeys drops rollingUpdate (a retainKeys field)'
out=$(K patch deployment web -n verbs --type=merge -p '{"spec":{"template":{"spec":{"containers":[{"name":"only","image":"example/only:1"}]}}}}' 2>&1)
is "$out" "deployment.apps/web patched" "merge patch"
is "$(K get deployment web -n verbs -o jsonpath='{.spec.template.spec.containers[*].name}')" "only" \
	"a merge patch replaces the list"
out=$(K patch deployment web -n verbs --type=json -p '[{"op":"replace","path":"/spec/replicas","value":1},{"op":"add","path":"/metadata/labels/patched","value":"json"}]' 2>&1)
is "$out" "deployment.apps/web patched" "JSON patch"
is "$(K get deployment web -n verbs -o jsonpath='{.spec.replicas} {.metadata.labels.patched}')" "1 json" "its operations applied"
out=$(K patch deployment web -n verbs --type=json -p '[{"op":"test","path":"/spec/replicas","value":9}]' 2>&1)
like "$out" 'is invalid' "a failing JSON patch test op is refused"
valid_get /apis/apps/v1/namespaces/verbs/deployments/web "the patched deployment"

# --- edit ---------------------------------------------------------------------------------------
cat >"$T/editor" <<'SH'
#!/bin/sh
sed -i -e 's/mode: fast/mode: slow/' "$1"
SH
chmod +x "$T/editor"
out=$(EDITOR="$T/editor" K edit configmap settings -n verbs 2>&1)
is "$out" "configmap/settings edited" "edit (EDITOR a script)"
is "$(K get configmap settings -n verbs -o jsonpath='{.data.mode}')" slow "the edit is stored"
cat >"$T/editor2" <<'SH'
#!/bin/sh
sed -i -e 's/image: example\/only:1/image: example\/only:2/' "$1"
SH
chmod +x "$T/editor2"
out=$(EDITOR="$T/editor2" K edit deployment web -n verbs 2>&1)
is "$out" "deployment.apps/web edited" "edit of a deployment (a strategic merge patch with \$setElementOrder)"
is "$(K get deployment web -n verbs -o jsonpath='{.spec.template.spec.containers[0].image}')" example/only:2 "the new image"
cat >"$T/editor3" <<'SH'
#!/bin/sh
sed -i -e 's/- \/bin\/once/- \/bin\/twice/' "$1"
SH
chmod +x "$T/editor3"
out=$(EDITOR="$T/editor3" K edit job once -n verbs 2>&1)
like "$out" 'error: jobs.batch "once" is invalid' "edit of an immutable field reports the refusal"
copy=$(printf '%s\n' "$out" | sed -n 's/^A copy of your changes has been stored to "\(.*\)"$/\1/p')
like "$(cat "$copy" 2>/dev/null)" '# \* spec.template: Invalid value: core.PodTemplateSpec.*: field is immutable' \
	"the reopened file names the field and the reason (as kubectl shows a 422's causes)"
[ -n "$copy" ] && rm -f "$copy"

# --- get -w ----------------------------------------------------------------------------------
K get pods -n verbs -l role=watched -w >"$T/watch" 2>&1 &
WPID=$!
sleep 1
K run watched -n verbs --image=example/w:1 --labels=role=watched >/dev/null
wait_for 15 grep -q 'watched .*1/1 .*Running' "$T/watch"
kill "$WPID" 2>/dev/null
wait "$WPID" 2>/dev/null
like "$(cat "$T/watch")" 'NAME +READY +STATUS +RESTARTS +AGE' "get -w prints the server's columns (one-row Tables)"
like "$(cat "$T/watch")" 'watched +0/1 +Pending' "the pod as it was created"
like "$(cat "$T/watch")" 'watched +1/1 +Running' "and as it became ready"
is "$(grep -c '^NAME' "$T/watch")" 1 "the header once"
K get deployments -n verbs -w -o name >"$T/watch2" 2>&1 &
WPID=$!
sleep 1
K delete deployment web -n verbs >/dev/null
wait_for 10 grep -q 'deployment.apps/web' "$T/watch2"
kill "$WPID" 2>/dev/null
wait "$WPID" 2>/dev/null
like "$(cat "$T/watch2")" 'deployment.apps/web' "get -w -o name"

ks_stop_clean

done_testing
