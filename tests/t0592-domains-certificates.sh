#!/bin/bash
# t0592-domains-certificates.sh - a verified custom domain is served: reconcile puts it on the store's domains Ingress and asks cert-manager (kubesim's) for its Certificate (HTTP-01 through the ingress class, issuer from configuration); the page and the API show the certificate issued, or why it failed in plain words (rate limited); removing the domain takes its host, Certificate and Secret away; the objects pass the validator.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-stores.sh"
. "$SF_ROOT/tests/lib-reconcile.sh"
. "$SF_ROOT/tests/lib-domains.sh"

export SF_SECRET_KEY=$RC_KEY SF_CREATE_COOLDOWN=0 SF_CREATES_PER_HOUR=100 SF_METRICS_CACHE=0 \
	SF_DOMAIN_CHECK_INTERVAL=1 SF_DOMAIN_ISSUER=letsencrypt SF_DOMAIN_ISSUER_KIND=ClusterIssuer
sf_stack
kubesim_start "$T/kubesim" --pod-ready-ms 50 --job-complete-ms 50 --pvc-bind-ms 20 \
	--ns-delete-ms 50 --observed-lag-ms 10 --cert-ready-ms 100 || bail "cannot start kubesim"
export SF_INGRESS_ADDRESS=$KUBESIM_INGRESS SF_FAILURE_GRACE=1 SF_RECONCILE_INTERVAL=1
kubectl apply -f "$SF_ROOT/tests/fixtures/clusterissuer-letsencrypt.yaml" >/dev/null || bail "no ClusterIssuer"
tok=$(user_token owner@example.com) || bail "no token"
api_json POST /api/v1/stores "$tok" '{"name":"Tea","engine":"woocommerce"}'
id=$(json_get 'j["store"]["id"]') || bail "no store"
ns=store-$id
host=store-$id.127.0.0.1.nip.io
ok "the store becomes ready" rc_until 60 "(SELECT status = 'ready' FROM stores WHERE id = '$id')"

claim() {
	api_json POST "/api/v1/stores/$id/domains" "$tok" "{\"domain\":\"$1\"}"
	json_get 'j["domain"]["dns"]["txt_value"]'
}
t1=$(claim shop.example.com) && t2=$(claim www.example.com) || bail "no claims"
dns_start --host-record="$host,127.0.0.1" \
	--txt-record="_storefleet-challenge.shop.example.com,$t1" --cname="shop.example.com,$host" \
	--txt-record="_storefleet-challenge.www.example.com,$t2" --cname="www.example.com,$host" ||
	bail "cannot start dnsmasq"
# www's certificate will hit Let's Encrypt's rate limit: its Certificate fails while the fault lasts
# (the fault is per namespace, so shop's is issued first)
ok "shop.example.com verified and its certificate issued" rc_until 30 \
	"(SELECT cert_state = 'issued' FROM store_domains WHERE domain = 'shop.example.com')"

# --- what Kubernetes has ------------------------------------------------------------------------
is "$(kubectl get ingress custom-domains -n "$ns" -o jsonpath='{.spec.ingressClassName} {.spec.rules[*].host} {.spec.tls[*].secretName}')" \
	"traefik shop.example.com www.example.com domain-shop-example-com-tls domain-www-example-com-tls" \
	"the domains Ingress: both verified hosts, each with its TLS Secret, the store's ingress class"
is "$(kubectl get ingress custom-domains -n "$ns" -o jsonpath='{.spec.rules[0].http.paths[0].backend.service.name}')" \
	"$(kubectl get ingress wordpress -n "$ns" -o jsonpath='{.spec.rules[0].http.paths[0].backend.service.name}')" \
	"... to the store's own backend"
is "$(kubectl get certificate domain-shop-example-com -n "$ns" -o jsonpath='{.spec.dnsNames[0]} {.spec.issuerRef.kind}/{.spec.issuerRef.name} {.spec.secretName}')" \
	"shop.example.com ClusterIssuer/letsencrypt domain-shop-example-com-tls" "the Certificate: the domain, the configured issuer, its Secret"
is "$(kubectl get secret domain-shop-example-com-tls -n "$ns" -o jsonpath='{.type}')" kubernetes.io/tls "... issued into a kubernetes.io/tls Secret"
kubectl get certificates,ingress -n "$ns" -o json >"$T/objs.json"
out=$("$VALIDATE" --no-apply-checks -q "$T/objs.json" 2>&1)
is "$?:$out" "0:" "the Certificates and Ingresses reconcile made pass the validator (cert-manager's CRD schema)"
ing=$(curl -s --max-time 20 -o "$T/ing.body" -w '%{http_code}' -H "Host: shop.example.com" "$KUBESIM_INGRESS/")
is "$ing" 200 "a visitor to shop.example.com reaches the store through the ingress"
like "$(cat "$T/ing.body")" "served by kubesim" "... the store itself"

# --- rate limited, in plain words ---------------------------------------------------------------
sim POST /_sim/faults "{\"scope\":\"$ns\",\"type\":\"cert_rate_limit\"}"
fault=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "$SIM_BODY") || bail "no fault: $SIM_BODY"
kubectl delete certificate domain-www-example-com -n "$ns" >/dev/null 2>&1
q "UPDATE store_domains SET cert_state = 'requested' WHERE domain = 'www.example.com'" >/dev/null
ok "www.example.com's certificate: failed" rc_until 30 \
	"(SELECT cert_state = 'failed' FROM store_domains WHERE domain = 'www.example.com')"
api GET "/api/v1/stores/$id/domains/www.example.com" "$tok"
like "$(json_get 'j["domain"]["certificate"]["message"]')" "^Rate limited: Let's Encrypt has issued as many certificates for this registered domain this week as it allows; storefleet asks again, and it is issued once the limit allows\. \(.*rateLimited" \
	"the API says why: rate limited, in plain words, cert-manager's words after"
jar=$T/jar
browser_login owner@example.com "$jar" >/dev/null
page "$jar" GET "/stores/$id"
like "$BODY" '<span class="badge" id="domain-cert-shop.example.com">issued</span>' "the page: shop.example.com's certificate issued"
like "$BODY" 'id="domain-cert-message-www.example.com">Rate limited: Let&#39;s Encrypt has issued' "... www.example.com's failed, and why"
like "$(q "SELECT string_agg(message, '|' ORDER BY id) FROM store_events WHERE store_id = '$id' AND step = 'domain'")" \
	'Certificate for shop.example.com issued\..*Certificate for www.example.com: Rate limited' "the store's activity tells both"
sim DELETE "/_sim/faults/$fault"
ok "the limit lifted: issued" rc_until 30 "(SELECT cert_state = 'issued' FROM store_domains WHERE domain = 'www.example.com')"

# --- removal --------------------------------------------------------------------------------------
api DELETE "/api/v1/stores/$id/domains/shop.example.com" "$tok"
is "$STATUS" 202 "removing the verified domain: 202"
ok "... reconcile takes it off" rc_until 30 "(SELECT count(*) = 0 FROM store_domains WHERE domain = 'shop.example.com')"
is "$(kubectl get ingress custom-domains -n "$ns" -o jsonpath='{.spec.rules[*].host}')" "www.example.com" "its host is off the Ingress"
is "$(kubectl get certificate,secret -n "$ns" -o name | grep -c 'shop-example-com')" 0 "its Certificate and Secret are gone"
ing=$(curl -s --max-time 20 -o /dev/null -w '%{http_code}' -H "Host: shop.example.com" "$KUBESIM_INGRESS/")
is "$ing" 404 "shop.example.com no longer reaches the store"
api DELETE "/api/v1/stores/$id/domains/www.example.com" "$tok"
ok "the last domain removed: the domains Ingress goes too" rc_until 30 "(SELECT count(*) = 0 FROM store_domains)"
is "$(kubectl get ingress -n "$ns" -o name)" "ingress.networking.k8s.io/wordpress" "only the store's own Ingress is left"
done_testing
