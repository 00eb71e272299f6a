#!/bin/bash
# t0475-kubesim-certmanager.sh - kubesim knows cert-manager: Certificate, Issuer and ClusterIssuer (cert-manager.io/v1) served with their vendored CRD schemas, through kubectl; the simulated issuer makes the kubernetes.io/tls Secret and sets Ready after --cert-ready-ms; injected faults (rate limit, challenge failure, DNS) keep it from issuing with cert-manager's words; the validator checks cert-manager objects against the same CRDs.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-kubesim.sh"

ks_start --cert-ready-ms 300
cert() { # NAME NAMESPACE ISSUER-KIND ISSUER DNSNAME
	cat <<YAML
apiVersion: cert-manager.io/v1
kind: Certificate
metadata:
  name: $1
  namespace: $2
spec:
  secretName: $1-tls
  dnsNames:
  - $5
  issuerRef:
    group: cert-manager.io
    kind: $3
    name: $4
YAML
}
# jp_is WANT ARGS...: kubectl get ARGS (a -o jsonpath) prints WANT (for wait_for: evaluated each try)
jp_is() {
	local want=$1

	shift
	[ "$(kubectl get "$@" 2>/dev/null)" = "$want" ]
}
cp "$SF_ROOT/tests/fixtures/clusterissuer-letsencrypt.yaml" "$T/issuer.yaml"

# --- the kinds, as kubectl sees them -------------------------------------------------------------
res=$(kubectl api-resources --api-group=cert-manager.io -o wide --no-headers 2>&1)
like "$res" '^certificates +cert,certs +cert-manager.io/v1 +true +Certificate ' "kubectl api-resources: certificates, namespaced, short names cert and certs"
like "$res" '^clusterissuers +ciss +cert-manager.io/v1 +false +ClusterIssuer ' "... clusterissuers, cluster-scoped"
like "$res" '^issuers +iss +cert-manager.io/v1 +true +Issuer ' "... issuers"
for ns in shop wait rl chal dns; do kubectl create namespace "store-$ns" >/dev/null; done
out=$(kubectl apply -f "$T/issuer.yaml" 2>&1)
is "$?:$out" "0:clusterissuer.cert-manager.io/letsencrypt created" "kubectl apply of a ClusterIssuer"
ok "... it becomes Ready (its ACME account registered)" wait_for 10 \
	jp_is ACMEAccountRegistered clusterissuer letsencrypt -o jsonpath='{.status.conditions[?(@.type=="Ready")].reason}'

# --- the CRD schema refuses what cert-manager's API server would ---------------------------------
cert bad store-shop ClusterIssuer letsencrypt shop.example.com | sed 's/secretName:/secretNam:/' >"$T/bad.yaml"
out=$(kubectl apply --validate=false -f "$T/bad.yaml" 2>&1)
like "$out" 'The Certificate "bad" is invalid: spec.secretName: Required value' "a Certificate without secretName (misspelt): refused by kubesim's copy of the schema"
cert bad store-shop ClusterIssuer letsencrypt shop.example.com | sed 's/^  dnsNames:$/  dnsNames: x/; /^  - shop.example.com$/d' >"$T/bad2.yaml"
out=$(kubectl apply -f "$T/bad2.yaml" 2>&1)
like "$out" 'spec.dnsNames: expected list' "dnsNames that is not a list: refused"
vout=$("$VALIDATE" "$T/bad.yaml" "$T/bad2.yaml" 2>&1)
like "$vout" 'Certificate/bad \(namespace store-shop\): \$\.spec\.secretNam: unknown field "secretNam"' \
	"the validator checks Certificates against the CRD: the unknown field"
like "$vout" '\$\.spec\.secretName: Required value' "... the missing secretName"
like "$vout" '\$\.spec\.dnsNames: Invalid type: expected array, got string' "... and dnsNames' type"
ok "the validator accepts the good ClusterIssuer and Certificate" "$VALIDATE" -q "$T/issuer.yaml" <(cert shop store-shop ClusterIssuer letsencrypt shop.example.com)

# --- issued after --cert-ready-ms: the Secret, then Ready ------------------------------------------
out=$(cert shop store-shop ClusterIssuer letsencrypt shop.example.com | kubectl create --save-config -f - -o jsonpath='{.metadata.name}:{.status}')
is "$out" "shop:" "a Certificate created: no status yet (the issuer takes --cert-ready-ms)"
ok "Ready after the issuer's delay" wait_for 10 \
	jp_is True certificate shop -n store-shop -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}'
out=$(kubectl get certificates -A --no-headers 2>&1)
like "$out" '^store-shop +shop +True +shop-tls +[0-9]+s$' "kubectl get certificates -A: the Ready and Secret columns"
is "$(kubectl get secret shop-tls -n store-shop -o jsonpath='{.type} {.metadata.annotations.cert-manager\.io/certificate-name} {.metadata.annotations.cert-manager\.io/issuer-kind}')" \
	"kubernetes.io/tls shop ClusterIssuer" "the Secret: type kubernetes.io/tls, annotated like cert-manager's"
kubectl get secret shop-tls -n store-shop -o jsonpath='{.data.tls\.crt}' | base64 -d >"$T/tls.crt"
kubectl get secret shop-tls -n store-shop -o jsonpath='{.data.tls\.key}' | base64 -d >"$T/tls.key"
like "$(openssl x509 -in "$T/tls.crt" -noout -ext subjectAltName 2>&1)" 'DNS:shop.example.com' "... a real certificate for the Certificate's dnsNames"
is "$(openssl x509 -in "$T/tls.crt" -noout -pubkey | openssl sha256)" "$(openssl pkey -in "$T/tls.key" -pubout | openssl sha256)" "... and its key"
na=$(kubectl get certificate shop -n store-shop -o jsonpath='{.status.notAfter}')
is "$na" "$(date -u -d "$(openssl x509 -in "$T/tls.crt" -noout -enddate | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ)" "status.notAfter is the certificate's"
kreq GET /apis/cert-manager.io/v1/namespaces/store-shop/certificates/shop
kvalid "the Certificate as kubesim serves it passes the validator (CRD schema, status included)"

# --- an issuer that does not exist -------------------------------------------------------------------
cert wait store-wait Issuer nobody wait.example.com | kubectl apply -f - >/dev/null
ok "a Certificate whose Issuer does not exist says so" wait_for 10 \
	jp_is 'Referenced "Issuer" not found: issuers.cert-manager.io "nobody" not found' \
	certificate wait -n store-wait -o jsonpath='{.status.conditions[?(@.type=="Issuing")].message}'
is "$(kubectl get secret -n store-wait -o name)" "" "... and no Secret is made"

# --- injected failures: rate limit, challenge, DNS ---------------------------------------------------
ksim POST faults '{"scope":"store-rl","type":"cert_rate_limit"}'
is "$KSTATUS" 201 "a cert_rate_limit fault for one namespace"
rl_id=$(kjson 'j["id"]')
ksim POST faults '{"scope":"store-chal","type":"cert_challenge"}'
ksim POST faults '{"scope":"store-dns","type":"cert_dns"}'
for ns in rl chal dns; do
	cert "$ns" "store-$ns" ClusterIssuer letsencrypt "$ns.example.com" | kubectl apply -f - >/dev/null
done
issuing() { kubectl get certificate "$1" -n "store-$1" -o jsonpath='{.status.conditions[?(@.type=="Issuing")].message}'; }
failing() { [ -n "$(issuing "$1")" ]; }
ok "rate limited: the Certificate fails to issue" wait_for 10 failing rl
like "$(issuing rl)" '429 urn:ietf:params:acme:error:rateLimited: Error creating new order :: too many certificates \(50\) already issued for "example.com" in the last 168h0m0s' \
	"... with Let's Encrypt's rate-limit answer"
is "$(kubectl get certificate rl -n store-rl -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}/{.status.failedIssuanceAttempts}')" "False/1" \
	"... Ready False, one failed attempt"
ok "challenge failure: the Certificate fails" wait_for 10 failing chal
like "$(issuing chal)" 'acme: authorization error for chal.example.com: 403 urn:ietf:params:acme:error:unauthorized: Invalid response from http://chal.example.com/.well-known/acme-challenge/' \
	"... with the HTTP-01 challenge's failure"
ok "DNS failure: the Certificate fails" wait_for 10 failing dns
like "$(issuing dns)" 'urn:ietf:params:acme:error:dns: DNS problem: NXDOMAIN looking up A for dns.example.com' "... with the DNS problem"
is "$(kubectl get secret -n store-rl -o name)" "" "no Secret while it fails"
ksim DELETE "faults/$rl_id"
ok "the fault gone: the rate-limited Certificate is issued" wait_for 10 \
	jp_is True certificate rl -n store-rl -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}'
is "$(kubectl get secret rl-tls -n store-rl -o jsonpath='{.type}')" kubernetes.io/tls "... with its Secret"

# --- a changed spec is issued again --------------------------------------------------------------------
cert shop store-shop ClusterIssuer letsencrypt www.example.com | kubectl apply -f - >/dev/null
ok "a new dnsNames: issued again (revision 2) for the new name" wait_for 10 \
	jp_is 2 certificate shop -n store-shop -o jsonpath='{.status.revision}'
kubectl get secret shop-tls -n store-shop -o jsonpath='{.data.tls\.crt}' | base64 -d >"$T/tls2.crt"
like "$(openssl x509 -in "$T/tls2.crt" -noout -ext subjectAltName 2>&1)" 'DNS:www.example.com' "... the Secret holds the new certificate"
out=$(kubectl delete certificate shop -n store-shop 2>&1)
is "$?" 0 "kubectl delete certificate"
done_testing
