#!/bin/bash
# t0300-render.sh - storefleetctl render: schema-valid, golden, pod hygiene, masking, bad input, kubesim dry run.
#
# render prints the same bytes on every run (its secrets are placeholders,
# and the blueprint revision never depends on secrets), so the output is
# compared with tests/golden/render-<engine>-<overlay>.yaml as it is.
# After an intended chart change: SF_UPDATE_GOLDEN=1 prove ... rewrites them.
. "$SF_ROOT/tests/lib.sh"

CTL=$SF_BUILD/bin/storefleetctl
GOLDEN=$SF_ROOT/tests/golden
export SF_CHARTS_DIR=$SF_ROOT/charts
unset SF_CONFIG SF_OVERLAY SF_DOMAIN SF_INGRESS_CLASS SF_TLS_SECRET SF_TLS_ISSUER

render() { "$CTL" render "$@"; }

# The one blueprint revision of a rendered file (several: all of them).
rev_of() { sed -n 's/^ *storefleet\.io\/blueprint-revision: "\{0,1\}\([0-9a-f]*\)"\{0,1\}$/\1/p' "$1" | sort -u; }

# Every container has requests and limits (cpu, memory); every pod template a
# securityContext; Job names <= 63; Service names DNS-1035.  Prints problems.
hygiene() {
	python3 - "$1" <<'PY'
import re, sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
bad = []
def pod_spec(o):
    k, s = o["kind"], o.get("spec", {})
    if k == "CronJob":
        s = s["jobTemplate"]["spec"]
    if k in ("Deployment", "StatefulSet", "Job", "DaemonSet", "ReplicaSet", "CronJob"):
        return s["template"].get("spec")
    return None
pods = 0
for o in docs:
    n = "%s/%s" % (o["kind"], o["metadata"]["name"])
    if o["kind"] == "Job" and len(o["metadata"]["name"]) > 63:
        bad.append(n + ": Job name over 63")
    if o["kind"] == "Service" and not re.fullmatch(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?", o["metadata"]["name"]):
        bad.append(n + ": Service name is not DNS-1035")
    ps = pod_spec(o)
    if ps is None:
        continue
    pods += 1
    if not ps.get("securityContext"):
        bad.append(n + ": pod template without securityContext")
    for c in ps.get("containers", []) + ps.get("initContainers", []):
        r = c.get("resources", {})
        for kind in ("requests", "limits"):
            for res in ("cpu", "memory"):
                if not r.get(kind, {}).get(res):
                    bad.append("%s container %s: no %s.%s" % (n, c["name"], kind, res))
        if not c.get("securityContext"):
            bad.append("%s container %s: no securityContext" % (n, c["name"]))
if pods == 0:
    bad.append("no pod templates at all")
print("\n".join(bad))
PY
}

for engine in woocommerce medusa; do
	for overlay in local prod; do
		name=$engine-$overlay
		out=$T/$name.yaml
		# prod takes its domain from the SF_DOMAIN setting, as reconcile does
		if [ "$overlay" = prod ]; then export SF_DOMAIN=shops.example.com; else unset SF_DOMAIN; fi
		render "$engine" --overlay "$overlay" --store-id demo1 >"$out" 2>"$T/$name.err"
		is "$?:$(cat "$T/$name.err")" "0:" "$name: render exits 0, nothing on stderr"
		v=$("$VALIDATE" -W "$out" 2>&1)
		is "$?" 0 "$name: validator exit status 0 with -W"
		like "$v" ' 0 problem\(s\), 0 warning\(s\)' "$name: zero problems, zero warnings"
		if [ "${SF_UPDATE_GOLDEN:-0}" = 1 ]; then
			cp "$out" "$GOLDEN/render-$name.yaml"
			diag "rewrote $GOLDEN/render-$name.yaml"
		fi
		ok "$name: identical to the golden file" cmp -s "$out" "$GOLDEN/render-$name.yaml"
		is "$(hygiene "$out")" "" "$name: requests+limits on every container, securityContext on every pod"
		# Regression: the revision hashed freshly generated secrets, so the
		# same command printed another revision on every run.
		render "$engine" --overlay "$overlay" --store-id demo1 >"$T/$name.again"
		ok "$name: rendering twice gives the same bytes" cmp -s "$out" "$T/$name.again"
		render "$engine" --overlay "$overlay" --store-id demo1 --show-secrets >"$T/$name.shown1"
		render "$engine" --overlay "$overlay" --store-id demo1 --show-secrets >"$T/$name.shown2"
		ok "$name: with --show-secrets too" cmp -s "$T/$name.shown1" "$T/$name.shown2"
		is "$(grep -c 'blueprint-revision' "$T/$name.shown1"):$(rev_of "$T/$name.shown1")" \
			"$(grep -c 'blueprint-revision' "$out"):$(rev_of "$out")" \
			"$name: the secrets shown or masked, the same revision on every object"

		render "$engine" --overlay "$overlay" --store-id demo1 --json >"$T/$name.json"
		ok "$name: --json passes the validator" "$VALIDATE" -W -q "$T/$name.json"
		is "$(python3 -c 'import json,sys,yaml; j=json.load(open(sys.argv[1])); y=[d for d in yaml.safe_load_all(open(sys.argv[2])) if d]; print(j["kind"], j["items"]==y)' "$T/$name.json" "$out")" \
			"List True" "$name: --json is a List of the same objects as the YAML"
	done
done

unset SF_DOMAIN
SF_DOMAIN=other.example SF_INGRESS_CLASS=nginx SF_TLS_ISSUER=letsencrypt SF_TLS_SECRET=wild \
	render woocommerce --overlay prod --store-id demo1 >"$T/configured.yaml"
ing=$(sed -n '/^kind: Ingress/,$p' "$T/configured.yaml")
like "$ing" 'host: store-demo1\.other\.example' "SF_DOMAIN sets the store host"
like "$ing" 'ingressClassName: nginx' "SF_INGRESS_CLASS sets the ingress class"
like "$ing" 'cert-manager\.io/cluster-issuer: letsencrypt' "SF_TLS_ISSUER adds the cert-manager annotation"
like "$ing" 'secretName: wild' "SF_TLS_SECRET names the TLS secret"

# Local and prod differ where the README says they do.
like "$(cat "$T/woocommerce-local.yaml")" 'host: store-demo1\.127\.0\.0\.1\.nip\.io' "local host on nip.io"
unlike "$(cat "$T/woocommerce-local.yaml")" '^  tls:' "local ingress has no tls"
like "$(cat "$T/woocommerce-prod.yaml")" 'host: store-demo1\.shops\.example\.com' "prod host on the wildcard domain"
like "$(grep -A3 '^  tls:' "$T/woocommerce-prod.yaml")" '- store-demo1\.shops\.example\.com' "prod ingress has tls for the host"
like "$(cat "$T/medusa-prod.yaml")" 'value: https://store-demo1\.shops\.example\.com' "medusa CORS/backend URL from the host"

# Secrets: masked by default, placeholders (never generated) on request.
"$CTL" render woocommerce --store-id demo1 >"$T/masked.yaml"
is "$(python3 -c 'import sys,yaml; print(sorted({v for d in yaml.safe_load_all(open(sys.argv[1])) if d and d["kind"]=="Secret" for v in d["stringData"].values()}))' "$T/masked.yaml")" \
	"['********']" "every secret value is masked by default"
"$CTL" render woocommerce --store-id demo1 --show-secrets >"$T/shown1.yaml"
pw() { python3 -c 'import sys,yaml; print([d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d["kind"]=="Secret" and d["metadata"]["name"]=="mariadb"][0]["stringData"]["password"])' "$1"; }
is "$(pw "$T/shown1.yaml")" "preview-db_password" "--show-secrets prints the placeholder, not a generated secret"
like "$(sed -n '/^kind: Secret/,/^---/p' "$T/medusa-local.shown1")" \
	'database-url: "?postgres://medusa:preview-db_password@postgres:5432/medusa\?sslmode=disable"?$' \
	"--show-secrets shows where a secret goes inside a value (sslmode from values.yaml)"

# The revision moves with the version, the values and the store, never with secrets.
base=$(rev_of "$T/woocommerce-local.yaml")
render woocommerce --overlay local --store-id demo1 --version 6.7.2 >"$T/v.yaml"
moved() { local r; r=$(rev_of "$1"); [ -n "$base" ] && [ -n "$r" ] && [ "$r" != "$base" ]; }
ok "another --version, another revision" moved "$T/v.yaml"
# (a value no plan sets: the store's plan is the per-store layer, above the operator's file)
printf 'setup:\n  deadline: 901\n' >"$T/ops.yaml"
render woocommerce --overlay local --store-id demo1 --values "$T/ops.yaml" >"$T/val.yaml"
ok "another value, another revision" moved "$T/val.yaml"
render woocommerce --overlay local --store-id demo2 >"$T/id.yaml"
ok "another store, another revision" moved "$T/id.yaml"

# Bad input: a file:line message on stderr, exit 1, nothing on stdout.
bad() {
	local name=$1 want=$2

	shift 2
	"$@" >"$T/bad.out" 2>"$T/bad.err"
	local rc=$?
	is "$rc" 1 "$name: exit status 1"
	like "$(cat "$T/bad.err")" "$want" "$name: message"
	is "$(wc -c <"$T/bad.out")" 0 "$name: nothing on stdout"
}
chart_copy() {
	rm -rf "$T/charts" && mkdir -p "$T/charts" && cp -r "$SF_ROOT/charts/woocommerce" "$SF_ROOT"/charts/plans-*.yaml "$T/charts/"
}
C=$T/charts/woocommerce

chart_copy
printf 'broken: [\n' >>"$C/manifests/60-ingress.yaml"
n=$(wc -l <"$C/manifests/60-ingress.yaml")
bad "YAML error" "charts/woocommerce/manifests/60-ingress\.yaml:$((n + 1)):1: " \
	env SF_CHARTS_DIR="$T/charts" "$CTL" render woocommerce

chart_copy
printf 'domain: again.example\n' >>"$C/values.yaml"
n=$(wc -l <"$C/values.yaml")
bad "duplicate key" "values\.yaml:$n:1: duplicate key 'domain'" \
	env SF_CHARTS_DIR="$T/charts" "$CTL" render woocommerce

chart_copy
sed -i 's/\${ingress.class}/${ingress.klass}/' "$C/manifests/60-ingress.yaml"
n=$(grep -n 'ingress.klass' "$C/manifests/60-ingress.yaml" | cut -d: -f1)
bad "unknown placeholder" "60-ingress\.yaml:$n: unknown value 'ingress\.klass' \(in 'ingressClassName'\)" \
	env SF_CHARTS_DIR="$T/charts" "$CTL" render woocommerce

printf '# operator values\nquota:\n  pods: "ten"\n' >"$T/ops.yaml"
n=$(grep -n '^  pods:' "$SF_ROOT/charts/woocommerce/values.yaml" | cut -d: -f1)
bad "type-mismatched override" "ops\.yaml:3: 'quota\.pods' is a string, but .*values\.yaml:$n has an integer" \
	"$CTL" render woocommerce --values "$T/ops.yaml"

printf 'wordpress:\n  storage: 20Gi\n  replica: 3\n' >"$T/ops.yaml"
bad "unknown operator key" "ops\.yaml:3: unknown value 'wordpress\.replica'" \
	"$CTL" render woocommerce --overlay prod --values "$T/ops.yaml"

bad "unknown engine" "no engine 'magento'" "$CTL" render magento
bad "bad store id" "store id 'Bad_Id'" "$CTL" render medusa --store-id Bad_Id
"$CTL" render >/dev/null 2>&1
is "$?" 2 "no engine: usage error, exit 2"

# The rendered set against the Kubernetes simulator: a server-side dry run.
if [ -x "$SF_BUILD/bin/kubesim" ] && command -v kubectl >/dev/null; then
	kubesim_start "$T/kubesim" || bail "cannot start kubesim"
	for engine in woocommerce medusa; do
		render "$engine" --overlay local --store-id "dry-$engine" >"$T/dry-$engine.yaml"
		# The namespace must exist for a dry run of what goes in it, as on a
		# real server: apply the first document (the Namespace) for real.
		python3 -c 'import sys,yaml; print(yaml.safe_dump(next(d for d in yaml.safe_load_all(open(sys.argv[1])) if d)))' \
			"$T/dry-$engine.yaml" >"$T/ns-$engine.yaml"
		out=$(kubectl --request-timeout=20s apply --server-side --field-manager=storefleet \
			-f "$T/ns-$engine.yaml" 2>&1)
		like "$out" "namespace/store-dry-$engine serverside-applied" "$engine: namespace applied"
		out=$(kubectl --request-timeout=20s apply --server-side --field-manager=storefleet \
			--dry-run=server -f "$T/dry-$engine.yaml" 2>&1)
		rc=$?
		is "$rc" 0 "$engine: kubectl apply --server-side --dry-run=server exits 0"
		[ "$rc" = 0 ] || diag "$out"
		is "$(printf '%s\n' "$out" | grep -c 'serverside-applied (server dry run)')" \
			"$(grep -c '^kind: ' "$T/dry-$engine.yaml")" "$engine: every object accepted"
	done

	# Reconcile re-applies every pass: the same render must be a no-op, a
	# pinned version a new Deployment generation.
	K() { kubectl --request-timeout=20s "$@"; }
	gen() { K get deployment wordpress -n store-dry-woocommerce -o jsonpath='{.metadata.generation}'; }
	K apply --server-side --field-manager=storefleet -f "$T/dry-woocommerce.yaml" >"$T/apply.log" 2>&1
	is "$?" 0 "woocommerce: real server-side apply"
	is "$(gen)" 1 "first apply: generation 1"
	K apply --server-side --field-manager=storefleet -f "$T/dry-woocommerce.yaml" >"$T/apply.log" 2>&1
	is "$(gen)" 1 "the same render applied again changes nothing"
	render woocommerce --overlay local --store-id dry-woocommerce --version 6.8.2 >"$T/v2.yaml"
	K apply --server-side --field-manager=storefleet -f "$T/v2.yaml" >"$T/apply.log" 2>&1
	is "$(gen)" 2 "a pinned version rolls the Deployment"
	is "$(K get deployment wordpress -n store-dry-woocommerce -o jsonpath='{.spec.template.spec.containers[0].image}')" \
		"wordpress:6.8.2-php8.3-apache" "the pinned version is the image tag"
else
	diag "kubesim or kubectl missing: server dry run skipped"
fi

done_testing
