#!/bin/bash
# t0602-platform-render.sh - the renderer's platform charts (platform: true): namespace, labels, refusals, with throwaway charts.
. "$SF_ROOT/tests/lib.sh"

unset SF_CONFIG SF_DOMAIN SF_INGRESS_CLASS SF_TLS_SECRET SF_TLS_ISSUER SF_OVERLAY
export SF_CHARTS_DIR=$T/charts
C=$T/charts/ops
render() { "$SF_BUILD/bin/storefleetctl" render ops --json "$@" 2>"$T/err"; }
jq_() { python3 -c 'import json,sys; j=json.load(sys.stdin); v=eval(sys.argv[1]); print(v if not isinstance(v,(dict,list)) else json.dumps(v, sort_keys=True))' "$1"; }

chart() {
	rm -rf "$C" && mkdir -p "$C/manifests"
	cat >"$C/values.yaml" <<-'EOF'
	platform: true
	namespace: ops
	domain: example.net
	tls:
	  enabled: false
	EOF
	printf '# nothing differs\n' >"$C/values-local.yaml"
	printf 'namespace: ops2\n' >"$C/values-other.yaml"
	cat >"$C/manifests/00-objects.yaml" <<-'EOF'
	apiVersion: v1
	kind: ConfigMap
	metadata:
	  name: plain
	data:
	  host: web.${domain}
	---
	apiVersion: v1
	kind: ConfigMap
	metadata:
	  name: elsewhere
	  namespace: kube-system
	  labels:
	    app.kubernetes.io/name: own-name
	---
	apiVersion: rbac.authorization.k8s.io/v1
	kind: ClusterRole
	metadata:
	  name: reader
	rules: []
	EOF
}

chart
out=$(render)
is "$?" 0 "a platform chart renders without a store"
is "$(jq_ '[i["metadata"].get("namespace") for i in j["items"]]' <<<"$out")" '["ops", "kube-system", null]' \
	"namespaced objects default to the namespace value, an explicit one is kept, cluster kinds get none"
is "$(jq_ 'j["items"][0]["metadata"]["labels"]' <<<"$out")" \
	'{"app.kubernetes.io/instance": "ops", "app.kubernetes.io/name": "ops", "app.kubernetes.io/part-of": "storefleet"}' \
	"labels: name, part-of, instance; never managed-by or the store labels"
is "$(jq_ 'j["items"][1]["metadata"]["labels"]["app.kubernetes.io/name"]' <<<"$out")" own-name \
	"a manifest's own name label is kept"
like "$(jq_ 'j["items"][2]["metadata"]["annotations"]["storefleet.io/blueprint-revision"]' <<<"$out")" \
	'^[0-9a-f]{16}$' "the revision annotation, as for stores"
is "$(render)" "$out" "same chart, same bytes"
is "$(jq_ 'j["items"][0]["data"]["host"]' <<<"$out")" web.127.0.0.1.nip.io \
	"values substitute as in store charts; the domain is the programs' setting (its default here)"
out=$(render --overlay other)
is "$(jq_ '[i["metadata"].get("namespace") for i in j["items"]] + [j["items"][0]["metadata"]["labels"]["app.kubernetes.io/instance"]]' <<<"$out")" \
	'["ops2", "kube-system", null, "ops2"]' "an overlay may move the namespace"
SF_DOMAIN=shops.example.org render >"$T/out.json"
is "$(jq_ 'j["items"][0]["data"]["host"]' <"$T/out.json")" web.shops.example.org "SF_DOMAIN applies to platform charts"

# refusals, each naming what is wrong
bad() {
	local name=$1 want=$2

	out=$(render)
	is "$?" 1 "$name: refused"
	like "$(cat "$T/err")" "$want" "$name: says so ($(cat "$T/err"))"
	is "$out" "" "$name: nothing on stdout"
}
chart
printf 'secrets:\n  db: ""\n' >>"$C/values.yaml"
bad "a platform chart with generated secrets" "has no generated secrets"
chart
sed -i '/^namespace:/d' "$C/values.yaml"
bad "a platform chart without a namespace" "needs 'namespace'"
chart
sed -i 's/^namespace: ops$/namespace: Bad_NS/' "$C/values.yaml"
bad "a namespace that is not a name" "namespace 'Bad_NS' is not a name"
chart
printf 'namespace: "-x"\n' >"$C/values-other.yaml"
out=$(render --overlay other)
is "$?" 1 "an overlay's bad namespace is refused too"
chart
sed -i 's/^platform: true$/platform: "true"/' "$C/values.yaml"
bad "platform as text" "'platform' must be a boolean"
chart
sed -i 's/web\.\${domain}/${store.host}/' "$C/manifests/00-objects.yaml"
bad "a store value in a platform chart" "00-objects.yaml:6: unknown value 'store.host'"
chart
out=$("$SF_BUILD/bin/storefleetctl" render ops --name x 2>&1 >/dev/null)
is "$?" 2 "--name for a platform chart: usage error"

# --- the real platform chart's Ingress: a TLS entry cert-manager can fill -------------------------
tls_of() {
	SF_CHARTS_DIR=$SF_ROOT/charts env "$@" "$SF_BUILD/bin/storefleetctl" render platform --overlay prod --json |
		jq_ '[i["spec"].get("tls") for i in j["items"] if i["kind"] == "Ingress"][0]'
}
is "$(tls_of SF_TLS_ISSUER=letsencrypt)" '[{"hosts": ["storefleet.127.0.0.1.nip.io"], "secretName": "storefleet-web-tls"}]' \
	"with a cert-manager issuer the web app's TLS entry names the Secret ingress-shim fills"
is "$(tls_of SF_TLS_SECRET=wildcard-shop)" '[{"hosts": ["storefleet.127.0.0.1.nip.io"], "secretName": "wildcard-shop"}]' \
	"with the operator's wildcard Secret it names that"
is "$(tls_of SF_TLS_ISSUER=le SF_TLS_SECRET=wildcard-shop)" '[{"hosts": ["storefleet.127.0.0.1.nip.io"], "secretName": "wildcard-shop"}]' \
	"with both, the issuer fills the named Secret"
is "$(tls_of SF_TLS_ISSUER= SF_TLS_SECRET=)" '[{"hosts": ["storefleet.127.0.0.1.nip.io"]}]' \
	"with neither, the controller's default certificate (no Secret nobody fills)"

done_testing
