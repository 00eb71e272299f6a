#!/bin/bash
# t0593 - storefleetctl cluster add|list|drain|undrain|remove: a kubeconfig is checked against its
# server before it is stored sealed (a broken file, a missing context, a wrong token, a TLS failure
# and an unreachable server are refused with the reason and nothing stored), list shows no secret,
# 'default' and a cluster with stores cannot be removed, every change is audited.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-stores.sh"

CTL=$SF_BUILD/bin/storefleetctl
KEY=$(printf '%064d' 593)
export SF_SECRET_KEY=$KEY
pg_start "$T/pg" || bail "cannot start PostgreSQL"
sf_migrate || bail "migrate failed"
kubesim_start "$T/ks" || bail "cannot start kubesim"
KC=$KUBESIM_DIR/kubeconfig
count() { q "select count(*) from clusters"; }
audits() { q "select count(*) from audit_log where action like 'cluster.%'"; }

# --- refusals: the reason, exit 1, nothing stored, nothing audited --------------------------
refused() { # NAME PATTERN ARGS...: cluster add ARGS is refused with PATTERN, nothing stored
	local name=$1 pat=$2 out rc

	shift 2
	out=$("$CTL" cluster add "$@" 2>&1)
	rc=$?
	is "$rc|$(count)|$(audits)" "1|1|0" "$name: exit 1, nothing stored or audited"
	like "$out" "$pat" "$name: says why"
	unlike "$out" "$KUBESIM_TOKEN" "$name: the message holds no token"
}
printf 'apiVersion: v1\nclusters: [\n' >"$T/broken"
refused "a kubeconfig that does not parse" "eu2: --kubeconfig: the kubeconfig does not load: kubeconfig .*broken:[0-9]+:[0-9]+" \
	eu2 --kubeconfig "$T/broken"
refused "a file that does not exist" "does not load: kubeconfig '$T/none': No such file" eu2 --kubeconfig "$T/none"
refused "a context the file does not have" "context 'nope' not found" eu2 --kubeconfig "$KC" --context nope
sed "s/token: .*/token: not-the-token/" "$KC" >"$T/wrongtoken"
refused "a wrong token" "server https://127\.0\.0\.1:[0-9]+ refused the credentials \(401 Unauthorized\)" \
	eu2 --kubeconfig "$T/wrongtoken"
python3 - "$KC" "$T/tls" <<'PY'
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
d["clusters"][0]["cluster"]["tls-server-name"] = "not-kubesim.example"
yaml.safe_dump(d, open(sys.argv[2], "w"))
PY
refused "a server certificate for another name" "the TLS handshake failed" eu2 --kubeconfig "$T/tls"
port=$(free_port)
sed "s#server: .*#server: https://127.0.0.1:$port#" "$KC" >"$T/unreachable"
refused "an unreachable server" "server https://127\.0\.0\.1:$port cannot be reached: .*(refused|connect)" \
	eu2 --kubeconfig "$T/unreachable"
refused "a bad name" "eu2_x: --name: a cluster name is 1 to 32" eu2_x --kubeconfig "$KC"
refused "the name 'default'" "'default' is the configuration's own cluster" default --kubeconfig "$KC"
refused "a bad overlay" "--overlay: overlay must be local or prod" eu2 --kubeconfig "$KC" --overlay staging
refused "a bad CPU limit" "--max-cpu: CPU is a number of cores" eu2 --kubeconfig "$KC" --max-cpu 2x
refused "a bad memory limit" "--max-memory: memory is a quantity" eu2 --kubeconfig "$KC" --max-memory lots
refused "an IP as store domain" "--store-domain: store domain: " eu2 --kubeconfig "$KC" --store-domain 10.0.0.1
refused "an ingress address with a path" "--ingress-address: an ingress address is http:// or https://" \
	eu2 --kubeconfig "$KC" --ingress-address http://10.0.0.5/x
refused "an ingress address without a scheme" "--ingress-address: an ingress address" \
	eu2 --kubeconfig "$KC" --ingress-address 10.0.0.5:80
out=$(SF_SECRET_KEY= "$CTL" cluster add eu2 --kubeconfig "$KC" 2>&1)
is "$?|$(count)" "1|1" "no secret_key: refused, nothing stored"
like "$out" "secret_key is not set" "... saying so"
"$CTL" cluster add eu2 >/dev/null 2>&1
is "$?" 2 "neither --kubeconfig nor --in-cluster: usage, exit 2"
"$CTL" cluster add eu2 --kubeconfig "$KC" --in-cluster >/dev/null 2>&1
is "$?" 2 "both: usage, exit 2"

# --- add: checked, sealed, listed without a secret ------------------------------------------
out=$("$CTL" cluster add eu2 --kubeconfig "$KC" --region eu-west --store-domain EU2.Shops.Example \
	--overlay prod --max-stores 40 --max-cpu 0.5 --max-memory 16Gi --ingress-address http://10.0.0.5:8080 2>&1)
is "$?" 0 "add with the simulator's kubeconfig: exit 0"
like "$out" "cluster eu2 added: server $KUBESIM_ADDR, context kubesim \(sealed\)" "says where it connects"
is "$(q "select region, store_domain, overlay, state, context, in_cluster, max_stores, max_cpu_millis, max_memory_bytes from clusters where name = 'eu2'")" \
	"eu-west|eu2.shops.example|prod|active|kubesim|f|40|500|17179869184" "the row: region, normalised domain, overlay, limits"
is "$(q "select ingress_address from clusters where name = 'eu2'")" "http://10.0.0.5:8080" \
	"the ingress address reconcile's probe uses"
sealed=$(q "select encode(kubeconfig, 'hex') from clusters where name = 'eu2'")
unlike "$sealed" "$(printf %s "$KUBESIM_TOKEN" | od -An -tx1 | tr -d ' \n')" "the stored kubeconfig does not hold the token in clear"
unlike "$(q "select convert_from(kubeconfig, 'SQL_ASCII') from clusters where name = 'eu2'" 2>/dev/null)" "$KUBESIM_TOKEN|server:" \
	"nor anything readable"
plain=$(python3 - "$KEY" "$sealed" <<'PY'
import ctypes, ctypes.util, sys
s = ctypes.CDLL(ctypes.util.find_library("sodium"))
key, box = bytes.fromhex(sys.argv[1]), bytes.fromhex(sys.argv[2])
out = ctypes.create_string_buffer(len(box) - 40)
assert s.crypto_secretbox_open_easy(out, box[24:], ctypes.c_ulonglong(len(box) - 24), box[:24], key) == 0
print(out.raw.decode())
PY
)
like "$plain" "\"token\": \"$KUBESIM_TOKEN\"" "it opens under secret_key to the kubeconfig with the token inline"
like "$plain" "certificate-authority-data" "... and the CA inline (no file of this machine is named)"
out=$("$CTL" cluster list 2>&1)
is "$?" 0 "list: exit 0"
like "$(printf '%s\n' "$out" | sed -n 2p)" "^default	-	[^	]+	-	active	configuration	0	-	-	-	-	-	-	unknown	-$" \
	"list: default first, the configuration's cluster"
like "$(printf '%s\n' "$out" | sed -n 3p)" \
	"^eu2	eu-west	eu2\.shops\.example	prod	active	kubeconfig	0	40	0\.5	16Gi	-	-	-	unknown	-$" \
	"then eu2: settings, limits, nothing observed yet"
unlike "$out" "$KUBESIM_TOKEN|BEGIN|certificate" "list shows no secret"
out=$("$CTL" cluster add eu2 --kubeconfig "$KC" 2>&1)
is "$?|$(count)" "1|2" "the same name again: refused"
like "$out" "a cluster named 'eu2' already exists" "... saying so"
is "$(q "select actor_email || ' ' || target || ' ' || (details->>'region') || ' ' || (details->>'server') || ' ' || (details->'limits'->>'cpu_millis') from audit_log where action = 'cluster.add'")" \
	"storefleetctl eu2 eu-west $KUBESIM_ADDR 500" "cluster.add audited: who, what, settings"
unlike "$(q "select details::text from audit_log where action = 'cluster.add'")" "$KUBESIM_TOKEN|apiVersion|certificate" \
	"the audit row holds no kubeconfig"

# the in-cluster service account, checked the same way (the pod's files, pointed at kubesim)
mkdir "$T/sa"
cp "$KUBESIM_DIR/ca.crt" "$T/sa/ca.crt"
printf '%s' "$KUBESIM_TOKEN" >"$T/sa/token"
printf 'storefleet\n' >"$T/sa/namespace"
hp=${KUBESIM_ADDR#https://}
out=$(KUBERNETES_SERVICE_HOST=${hp%:*} KUBERNETES_SERVICE_PORT=${hp##*:} SF_KUBE_SA_DIR=$T/sa \
	"$CTL" cluster add incl --in-cluster --region us-east 2>&1)
is "$?" 0 "add --in-cluster: exit 0"
like "$out" "cluster incl added: server https://${hp}, in-cluster service account" "says so"
is "$(q "select in_cluster, kubeconfig is null from clusters where name = 'incl'")" "t|t" "stored as in-cluster, no kubeconfig"
printf 'wrong' >"$T/sa/token"
out=$(KUBERNETES_SERVICE_HOST=${hp%:*} KUBERNETES_SERVICE_PORT=${hp##*:} SF_KUBE_SA_DIR=$T/sa \
	"$CTL" cluster add incl2 --in-cluster 2>&1)
is "$?|$(count)" "1|3" "in-cluster with a refused token: refused, nothing stored"
like "$out" "refused the credentials" "... saying why"

# --- drain, undrain ------------------------------------------------------------------------
out=$("$CTL" cluster drain eu2 2>&1)
is "$?|$out|$(q "select state from clusters where name = 'eu2'")" "0|cluster eu2 is now draining|draining" "drain"
out=$("$CTL" cluster drain eu2 2>&1)
is "$?|$out" "0|cluster eu2 was already draining" "drain again: nothing to do"
out=$("$CTL" cluster undrain eu2 2>&1)
is "$?|$out|$(q "select state from clusters where name = 'eu2'")" "0|cluster eu2 is now active|active" "undrain"
out=$("$CTL" cluster drain nowhere 2>&1)
is "$?" 1 "drain an unknown cluster: exit 1"
like "$out" "there is no cluster 'nowhere'" "... saying so"
is "$(q "select string_agg(action, ' ' order by id) from audit_log where target = 'eu2' and action <> 'cluster.add'")" \
	"cluster.drain cluster.undrain" "one audit row per change, none for the no-op"

# --- remove ----------------------------------------------------------------------------------
out=$("$CTL" cluster remove default 2>&1)
is "$?|$(count)" "1|3" "remove default: refused"
like "$out" "'default' is the configuration's own cluster and cannot be removed" "... saying why"
# Placement on a cluster is the create path's (another change); a store placed there by SQL.
"$CTL" user add owner@example.com >/dev/null 2>&1 || bail "user add"
seed_stores owner@example.com 2 ready >/dev/null
q "update stores set cluster = 'eu2'" >/dev/null
out=$("$CTL" cluster remove eu2 2>&1)
is "$?|$(count)" "1|3" "remove a cluster with stores: refused"
like "$out" "cluster 'eu2' still holds 2 stores that are not deleted: drain it" "... saying how many and what to do"
out=$("$CTL" cluster list 2>&1)
like "$(printf '%s\n' "$out" | grep '^eu2')" "^eu2	eu-west	eu2\.shops\.example	prod	active	kubeconfig	2	" "list counts the stores placed there"
q "update stores set status = 'deleted', desired = 'absent', deleted_at = now()" >/dev/null
out=$("$CTL" cluster remove eu2 2>&1)
is "$?|$out|$(count)" "0|cluster eu2 removed|2" "once they are deleted, remove works"
is "$(q "select count(*) from stores where cluster = 'default'")" 2 "the deleted stores' rows now name 'default'"
is "$(q "select details->>'deleted_stores' from audit_log where action = 'cluster.remove' and target = 'eu2'")" 2 \
	"cluster.remove audited, with the deleted stores re-pointed"
out=$("$CTL" cluster remove eu2 2>&1)
is "$?" 1 "remove again: exit 1 (no such cluster)"
"$CTL" cluster frobnicate >/dev/null 2>&1
is "$?" 2 "an unknown subcommand: usage, exit 2"
like "$("$CTL" --help)" "storefleetctl cluster add NAME" "the help lists the cluster commands"
done_testing
