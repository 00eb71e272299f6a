#!/bin/bash
# t0600-platform.sh - charts/platform: valid for local and prod, RBAC exactly what reconcile uses, applied to the simulator.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-platform.sh"

command -v kubectl >/dev/null || bail "kubectl not installed"
validate=$VALIDATE
# render with the programs' defaults, whatever the caller's environment holds
unset SF_CONFIG SF_DOMAIN SF_INGRESS_CLASS SF_TLS_SECRET SF_TLS_ISSUER SF_OVERLAY
K() { kubectl --request-timeout=20s "$@" 2>&1; }
jq_() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); v=eval(sys.argv[2]); print(v if not isinstance(v,(dict,list)) else json.dumps(v, sort_keys=True))' "$@"; }

# --- rendering: both overlays, the schema validator (rbac/v1 included), the platform's rules

for o in local prod; do
	pf_render "$o"
	is "$?" 0 "render platform --overlay $o exits 0"
	is "$(cat "$T/$o.err")" "" "$o: nothing on stderr"
	"$SF_BUILD/bin/storefleetctl" render platform --overlay "$o" >"$T/$o.yaml" 2>/dev/null
	out=$("$validate" -W "$T/$o.yaml" 2>&1)
	ok "$o: the schema validator passes, warnings counted as problems" test $? -eq 0
	like "$out" ' 0 problem\(s\), 0 warning\(s\)' "$o: zero problems, zero warnings ($out)"
	out=$("$validate" -W "$T/$o.json" 2>&1)
	ok "$o: the --json List validates too" test $? -eq 0
	is "$(pf_check "$T/$o.json")" "" "$o: non-root, read-only, no capabilities, limits everywhere, DB URL from a Secret, no store labels"
done
L=$T/local.json P=$T/prod.json

is "$(jq_ "$L" '" ".join(sorted(set(i["kind"] for i in j["items"])))')" \
	"ClusterRole ClusterRoleBinding ConfigMap CronJob Deployment Ingress Namespace NetworkPolicy Secret Service ServiceAccount StatefulSet" \
	"local: the kinds of the platform, with the example database"
is "$(jq_ "$P" '" ".join(sorted(set(i["kind"] for i in j["items"])))')" \
	"ClusterRole ClusterRoleBinding ConfigMap CronJob Deployment Ingress Namespace Service ServiceAccount" \
	"prod: no Secret and no database: the operator provides them"
is "$(jq_ "$L" '[i["apiVersion"] for i in j["items"] if i["kind"].startswith("ClusterRole")]')" \
	'["rbac.authorization.k8s.io/v1", "rbac.authorization.k8s.io/v1"]' "ClusterRole and binding are rbac/v1"

# the checker itself catches what it should (so an empty answer above means something)
python3 - "$P" "$T/broken.json" <<'PY'
import json, sys
l = json.load(open(sys.argv[1]))
for o in l["items"]:
    if o["kind"] == "Deployment":
        c = o["spec"]["template"]["spec"]["containers"][0]
        del c["resources"]["limits"]
        c["securityContext"]["readOnlyRootFilesystem"] = False
        o["metadata"]["labels"]["app.kubernetes.io/managed-by"] = "storefleet"
        c["livenessProbe"]["httpGet"]["port"] = "http"
json.dump(l, open(sys.argv[2], "w"))
PY
out=$(pf_check "$T/broken.json")
like "$out" 'no limits.cpu' "the checker notices a container without limits"
like "$out" 'root filesystem writable' "the checker notices a writable root filesystem"
like "$out" 'managed-by' "the checker notices the label reconcile selects by"
like "$out" "livenessProbe port 'http' is not one of its own" "the checker notices a probe naming another container's port"

# the reconcile CronJob: every minute, never overlapping, --for 55s, bound to the ClusterRole
cj='[i for i in j["items"] if i["kind"] == "CronJob" and i["metadata"]["name"] == "storefleet-reconcile"][0]'
is "$(jq_ "$P" "$cj['spec']['schedule'] + ' ' + $cj['spec']['concurrencyPolicy']")" "* * * * * Forbid" \
	"reconcile CronJob: every minute, concurrencyPolicy Forbid"
pod="$cj['spec']['jobTemplate']['spec']['template']['spec']"
is "$(jq_ "$P" "' '.join($pod['containers'][0]['command'])")" "storefleet-reconcile --for 55s" \
	"reconcile runs storefleet-reconcile --for 55s"
crb='[i for i in j["items"] if i["kind"] == "ClusterRoleBinding"][0]'
is "$(jq_ "$P" "$pod['serviceAccountName'] + '/' + $cj['metadata']['namespace']")" \
	"$(jq_ "$P" "$crb['subjects'][0]['name'] + '/' + $crb['subjects'][0]['namespace']")" \
	"the CronJob's ServiceAccount is the one the ClusterRoleBinding binds"
is "$(jq_ "$P" "$crb['roleRef']['name']")" "$(jq_ "$P" '[i for i in j["items"] if i["kind"] == "ClusterRole"][0]["metadata"]["name"]')" \
	"the binding refers to the platform's ClusterRole"
is "$(jq_ "$P" "$pod['securityContext']['runAsNonRoot']")" True "reconcile pod runs as non-root"

# the web pod: nginx and storefleet.fcgi share the socket through an emptyDir
dep='[i for i in j["items"] if i["kind"] == "Deployment"][0]["spec"]["template"]["spec"]'
is "$(jq_ "$P" "' '.join(c['name'] for c in $dep['containers'])")" "fcgi nginx" "web pod: two containers"
sock=$(jq_ "$P" "$dep['containers'][0]['command'][$dep['containers'][0]['command'].index('--socket') + 1]")
sockdir=${sock%/*}
for c in 0 1; do
	vol=$(jq_ "$P" "[m['name'] for m in $dep['containers'][$c]['volumeMounts'] if m['mountPath'] == '$sockdir'][0]")
	is "$(jq_ "$P" "'emptyDir' in [v for v in $dep['volumes'] if v['name'] == '$vol'][0]")" True \
		"container $c mounts the socket directory $sockdir from an emptyDir"
done
like "$(jq_ "$P" '[i for i in j["items"] if i["metadata"]["name"] == "storefleet-nginx"][0]["data"]["nginx.conf"]')" \
	"server unix:$sock;" "nginx passes requests to the socket storefleet.fcgi listens on ($sock)"
like "$(jq_ "$P" '[i for i in j["items"] if i["metadata"]["name"] == "storefleet-nginx"][0]["data"]["fastcgi.conf"]')" \
	"fastcgi_keep_conn on;" "nginx keeps its connections to the workers"
is "$(jq_ "$P" "$dep['containers'][1]['readinessProbe']['httpGet']['path'] + ' ' + $dep['containers'][0]['livenessProbe']['httpGet']['path']")" \
	"/readyz?check=database /healthz" "readiness /readyz?check=database (not reconcile's age), liveness /healthz"
is "$(jq_ "$P" "$dep['automountServiceAccountToken']")" False "the web app gets no Kubernetes token"

# settings: the overlay's and the programs' (the same SF_* reconcile renders stores with)
cm='[i for i in j["items"] if i["metadata"]["name"] == "storefleet-config"][0]["data"]'
is "$(jq_ "$L" "' '.join($cm[k] for k in ('SF_OVERLAY', 'SF_COOKIE_SECURE', 'SF_PUBLIC_ORIGIN'))")" \
	"local false http://storefleet.127.0.0.1.nip.io" "local: overlay, plain cookies, http origin"
is "$(jq_ "$P" "' '.join($cm[k] for k in ('SF_OVERLAY', 'SF_COOKIE_SECURE', 'SF_PUBLIC_ORIGIN'))")" \
	"prod true https://storefleet.127.0.0.1.nip.io" "prod: overlay, Secure cookies, https origin"
SF_DOMAIN=shops.example.com SF_TLS_SECRET=wildcard-tls SF_INGRESS_CLASS=nginx pf_render prod
ing='[i for i in j["items"] if i["kind"] == "Ingress"][0]'
is "$(jq_ "$P" "' '.join([$ing['spec']['ingressClassName'], $ing['spec']['rules'][0]['host'], $ing['spec']['tls'][0]['hosts'][0], $ing['spec']['tls'][0]['secretName'], $cm['SF_DOMAIN']])")" \
	"nginx storefleet.shops.example.com storefleet.shops.example.com wildcard-tls shops.example.com" \
	"SF_DOMAIN, SF_TLS_SECRET and SF_INGRESS_CLASS reach the Ingress and the programs"
is "$(jq_ "$L" "'tls' in $ing['spec']")" False "local: no TLS on the Ingress"

# the example Secret: masked unless asked for, like every rendered Secret
sec='[i for i in j["items"] if i["kind"] == "Secret"][0]["stringData"]["database-url"]'
is "$(jq_ "$L" "$sec")" "********" "the example database URL is masked by default"
pf_render local --show-secrets
like "$(jq_ "$L" "$sec")" '^postgres://storefleet:[^@]+@postgres:5432/storefleet' "--show-secrets prints it"

# refusals
out=$("$SF_BUILD/bin/storefleetctl" render platform --store-id abc 2>&1 >/dev/null)
is "$?" 2 "render platform --store-id: usage error"
like "$out" "the platform, not a store" "... saying why ($out)"
printf 'platform: false\n' >"$T/flip.yaml"
out=$("$SF_BUILD/bin/storefleetctl" render platform --values "$T/flip.yaml" 2>&1 >/dev/null)
is "$?" 1 "a values file cannot turn the platform into a store chart"
like "$out" "flip.yaml:1: 'platform' is fixed by values.yaml" "... naming file and line ($out)"
out=$("$SF_BUILD/bin/storefleetctl" render woocommerce --overlay local --json 2>&1)
like "$out" '"storefleet.io/store": "example"' "store charts still get their store labels"

# the Kubernetes objects docs/operations.md shows (its backup CronJob...) are valid as written;
# cert-manager's and Traefik's own kinds are not in the schema
python3 - "$SF_ROOT/docs/operations.md" "$T/docs" <<'PY'
import os, re, sys
os.makedirs(sys.argv[2])
n = 0
for block in re.findall(r"```yaml\n(.*?)```", open(sys.argv[1]).read(), re.S):
    if re.search(r"^apiVersion: (v1|apps/v1|batch/v1|rbac\.authorization\.k8s\.io/v1|networking\.k8s\.io/v1)$", block, re.M):
        n += 1
        open("%s/%02d.yaml" % (sys.argv[2], n), "w").write(block)
PY
docs=("$T"/docs/*.yaml)
ok "docs/operations.md shows Kubernetes objects (${#docs[@]} blocks)" test -f "${docs[0]}"
out=$("$validate" -W "${docs[@]}" 2>&1)
ok "they pass the schema validator with -W ($out)" test $? -eq 0

# --- the simulator: server-side dry run, then a real apply

pg_start "$T/pg" || bail "cannot start PostgreSQL"
sf_migrate || bail "migrate failed"
kubesim_start "$T/kubesim" --pod-ready-ms 50 --job-complete-ms 50 --pvc-bind-ms 20 --cert-ready-ms 100 \
	--ns-delete-ms 50 --observed-lag-ms 10 || bail "cannot start kubesim"

# objects of a namespace that does not exist cannot be dry-run (a real API server says
# NotFound too): apply the Namespace alone first
jq_ "$L" 'j["items"][0]' | K apply --server-side --field-manager=storefleet-operator -f - >"$T/ns.out" 2>&1
ok "the Namespace applies on its own" grep -q 'namespace/storefleet serverside-applied' "$T/ns.out"
for o in local prod; do
	"$SF_BUILD/bin/storefleetctl" render platform --overlay "$o" --show-secrets |
		K apply --server-side --field-manager=storefleet-operator --dry-run=server -f - >"$T/dry-$o.out" 2>&1
	ok "$o: kubectl apply --server-side --dry-run=server succeeds" test $? -eq 0
	is "$(grep -c 'serverside-applied (server dry run)' "$T/dry-$o.out")" \
		"$(jq_ "$T/$o.json" 'len(j["items"])')" "$o: every object accepted"
done
is "$(K get deployments,cronjobs,clusterroles -n storefleet -o name 2>&1 | grep -c storefleet)" 0 \
	"the dry run created nothing"

# docs/operations.md upgrades in two steps: the migration template alone first
"$SF_BUILD/bin/storefleetctl" render platform --overlay local --show-secrets >"$T/local.yaml"
K apply --server-side --field-manager=storefleet-operator -f "$T/local.yaml" \
	-l app.kubernetes.io/name=storefleet-migrate >"$T/migrate.out"
is "$(cat "$T/migrate.out")" "cronjob.batch/storefleet-migrate serverside-applied" \
	"apply -l app.kubernetes.io/name=storefleet-migrate applies the migration template alone"
K apply --server-side --field-manager=storefleet-operator -f "$T/local.yaml" >"$T/apply.out" 2>&1
ok "the local platform applies" test $? -eq 0
web_ready() { [ "$(K get deployment storefleet-web -n storefleet -o jsonpath='{.status.readyReplicas}')" = 1 ]; }
ok "the web Deployment becomes ready in the simulator" wait_for 20 web_ready
is "$(K get ns -l app.kubernetes.io/managed-by=storefleet -o name)" "" \
	"reconcile's selector does not match the platform's namespace"

# --- RBAC: every (verb, resource) reconcile uses is granted, and nothing else

# the request-making client calls; if reconcile starts another kind of call, map its verbs in
# pf_rbac_diff and extend the run below so it happens
is "$(pf_client_calls | tr '\n' ' ')" \
	"k8s_apply( k8s_apply_all( k8s_delete( k8s_events( k8s_get( k8s_get_narrowed( k8s_list( k8s_pods( k8s_request( k8s_stream_new( " \
	"the client calls made outside the client are the ones this run exercises"
# the raw requests' verbs; k8s_get_narrowed is a GET (observe.c's paged LIST of a collection)
raw_verbs() {
	local src=("$SF_ROOT"/src/{core,domain,web,fleet,ctl,cmd}/*.c)

	{
		grep -ohE 'k8s_request\([^,]+, "[A-Z]+"' "${src[@]}" | grep -oE '"[A-Z]+"'
		grep -lE '\bk8s_get_narrowed\(' "${src[@]}" | grep -v '/k8s\.c$' | sed 's/.*/"GET"/'
	} | sort -u | tr '\n' ' '
}
is "$(raw_verbs)" \
	'"GET" "PATCH" "POST" ' "raw requests are paged cluster-wide LISTs (GET on a collection), creates (POST) and a plan's claim growth (PATCH)"

export SF_SECRET_KEY=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
export SF_INGRESS_ADDRESS=$KUBESIM_INGRESS SF_FAILURE_GRACE=1 SF_RECONCILE_INTERVAL=1
export SF_LEASE_SECONDS=30 SF_KUBE_TIMEOUT=5 SF_PROVISIONING_CONCURRENCY=50
sql() { psql -Atq -v ON_ERROR_STOP=1 -c "$1"; }
pass_until() {
	local secs=$1 cond=$2 deadline

	deadline=$(($(date +%s%N) + secs * 1000000000))
	until [ "$(sql "SELECT ($cond)")" = t ]; do
		[ "$(date +%s%N)" -lt "$deadline" ] || return 1
		"$SF_BUILD/bin/storefleet-reconcile" --once --no-lock >>"$T/reconcile.log" 2>&1
	done
}
stats() {
	curl -s --cacert "$KUBESIM_DIR/ca.crt" -H "Authorization: Bearer $KUBESIM_TOKEN" \
		-X "$1" "$KUBESIM_ADDR/_sim/stats${2:-}"
}

# a default StorageClass that lets volumes grow, for the plan change below
K apply -f - >/dev/null <<'YAML'
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: expandable
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: example.com/csi
allowVolumeExpansion: true
YAML
# the issuer of custom domains' certificates (kubesim's cert-manager), for the domain below
K apply -f "$SF_ROOT/tests/fixtures/clusterissuer-letsencrypt.yaml" >/dev/null
export SF_DOMAIN_ISSUER=letsencrypt
owner=$(sql "INSERT INTO users (email, password_hash) VALUES ('tenant@example.com', 'x') RETURNING id")
sql "INSERT INTO stores (id, owner_id, name, engine) VALUES
	('wooshop1', $owner, 'Woo shop', 'woocommerce'), ('medshop1', $owner, 'Medusa shop', 'medusa')"
stats POST /reset >/dev/null
ok "both stores become ready" pass_until 90 "(SELECT count(*) FROM stores WHERE status = 'ready') = 2"
# a plan change as the web side asks for it (store_plan.c): reconcile_plan.c reads the claims,
# the StatefulSet and the StorageClass, and grows the database's claim
sql "UPDATE stores SET plan = 'medium', next_attempt_at = now() WHERE id = 'medshop1'"
ok "a plan change is applied" pass_until 60 "(SELECT plan_applied = 'medium' FROM stores WHERE id = 'medshop1')"
# a custom domain verified in DNS (what store_domain.c and the DNS check write, sql/015), then
# removed: reconcile_domain.c's domains Ingress, Certificate, and their removal
sql "INSERT INTO store_domains (store_id, domain, display, token, status, expires_at, verified_at)
	VALUES ('wooshop1', 'shop.example.com', 'shop.example.com', repeat('a', 32), 'verified', now(), now())"
ok "a custom domain gets its certificate" pass_until 90 \
	"(SELECT cert_state = 'issued' FROM store_domains WHERE domain = 'shop.example.com')"
sql "UPDATE store_domains SET status = 'removing'"
ok "... and goes, with its host and certificate" pass_until 90 "(SELECT count(*) = 0 FROM store_domains)"
# an upgrade that fails and rolls back (snapshot, setup Job replaced, restore), as the web side
# asks for it (sql/003): reconcile_upgrade.c's calls
curl -s --cacert "$KUBESIM_DIR/ca.crt" -H "Authorization: Bearer $KUBESIM_TOKEN" -X POST \
	--data '{"scope":"store-wooshop1","type":"image_pull","image":"wordpress:6.7.2"}' \
	"$KUBESIM_ADDR/_sim/faults" >/dev/null
sql "INSERT INTO store_revisions (store_id, revision, kind, engine_version, actor)
	SELECT id, current_revision + 1, 'upgrade', '6.7.2', 'tenant@example.com' FROM stores WHERE id = 'wooshop1';
	UPDATE stores SET status = 'upgrading', pending_revision = current_revision + 1, next_attempt_at = now()
	WHERE id = 'wooshop1'"
ok "an upgrade that fails rolls back" pass_until 90 \
	"(SELECT status = 'ready' AND current_revision = 3 FROM stores WHERE id = 'wooshop1')"
# what the web app's delete does (store.c), then reconcile takes the namespaces down
sql "UPDATE stores SET desired = 'absent', status = 'deleting', status_reason = '',
	delete_requested_at = now(), attempts = 0, next_attempt_at = now(), updated_at = now()"
ok "both stores are deleted" pass_until 90 "(SELECT count(*) FROM stores WHERE status = 'deleted') = 2"
stats GET >"$T/stats.json"
diag "requests: $(jq_ "$T/stats.json" 'j["requests"]')"

jq_ "$L" '[i for i in j["items"] if i["kind"] == "ClusterRole"][0]' >"$T/role.json"
diff=$(pf_rbac_diff "$T/stats.json" "$T/role.json")
is "$(printf '%s\n' "$diff" | grep '^missing:')" "missing: " "every verb reconcile used is granted"
is "$(printf '%s\n' "$diff" | grep '^extra:')" "extra: " "nothing is granted that reconcile did not use"
like "$(printf '%s\n' "$diff" | grep '^used:')" '^used: [1-9][0-9]$' "the run used a sensible number of (verb, resource) pairs"

# the comparison can fail: one verb short and one too many
python3 - "$T/role.json" "$T/role2.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
r["rules"][0]["verbs"].remove("delete")
r["rules"].append({"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]})
json.dump(r, open(sys.argv[2], "w"))
PY
diff=$(pf_rbac_diff "$T/stats.json" "$T/role2.json")
like "$diff" 'missing: delete:core/namespaces' "a ClusterRole without delete on namespaces is reported"
like "$diff" 'extra: get:core/nodes' "a ClusterRole granting more is reported"

# docs/rbac.yaml (docs/kubernetes.md) grants the same
same=$(python3 - "$T/role.json" "$SF_ROOT/docs/rbac.yaml" <<'PY'
import json, sys, yaml
def pairs(role):
    return sorted((g, p, v) for r in role["rules"] for g in r["apiGroups"]
                  for p in r["resources"] for v in r["verbs"])
doc = [d for d in yaml.safe_load_all(open(sys.argv[2])) if d and d["kind"] == "ClusterRole"][0]
print(pairs(json.load(open(sys.argv[1]))) == pairs(doc))
PY
)
is "$same" True "docs/rbac.yaml's ClusterRole grants exactly the same"

# --- reconcile and the web app configured as the pods are: the ConfigMap's environment, the
# Secret's keys, the service account's files (in-cluster), nothing else

root=$SF_ROOT
eval "$(jq_ "$L" '"\n".join("export %s=%s" % (k, __import__("shlex").quote(v)) for k, v in [i for i in j["items"] if i["metadata"]["name"] == "storefleet-config"][0]["data"].items())')"
mkdir -p "$T/sa"
cp "$KUBESIM_DIR/ca.crt" "$T/sa/ca.crt"
cp "$KUBESIM_DIR/token" "$T/sa/token"
echo storefleet >"$T/sa/namespace"
hostport=${KUBESIM_ADDR#https://}
is "$SF_ROOT" /srv/storefleet "the image's project files are under /srv/storefleet (docs/operations.md)"
export SF_ROOT=$root SF_KUBE_SA_DIR=$T/sa KUBERNETES_SERVICE_HOST=${hostport%:*} KUBERNETES_SERVICE_PORT=${hostport##*:}
export SF_INGRESS_ADDRESS=$KUBESIM_INGRESS # the pods' address of Traefik means nothing here
is "$SF_KUBECONFIG" in-cluster "the pods use the in-cluster service account"
sql "INSERT INTO stores (id, owner_id, name, engine) VALUES ('wooshop2', $owner, 'Woo shop 2', 'woocommerce')"
env -u KUBECONFIG "$SF_BUILD/bin/storefleet-reconcile" --once >>"$T/reconcile.log" 2>&1
is "$?" 0 "storefleet-reconcile runs in-cluster with the platform's settings"
is "$(sql "SELECT status IN ('provisioning', 'ready') AND step <> '' FROM stores WHERE id = 'wooshop2'")" t \
	"... and provisions ($(sql "SELECT status || ' ' || step || ' ' || status_reason FROM stores WHERE id = 'wooshop2'"))"
"$SF_BUILD/bin/storefleet.fcgi" --check >"$T/check.out" 2>&1
is "$?" 0 "storefleet.fcgi --check accepts the platform's settings"
"$SF_BUILD/bin/storefleetctl" migrate >"$T/migrate2.out" 2>&1
is "$?" 0 "storefleetctl migrate (the migrate Job's command) runs with them too"

# reconcile left the platform alone
is "$(K get ns storefleet -o jsonpath='{.status.phase}')" Active "the platform's namespace survived the store deletions"
ok "and its Deployment" wait_for 1 K get deployment storefleet-web -n storefleet

done_testing
