#!/bin/bash
# t0591-domains-dns.sh - custom domains verified by reconcile with real DNS look-ups (dnsmasq on loopback): the TXT token and a CNAME (or A records) to the store's host; what is wrong said in plain words; another tenant's takeover refused; a claim never verified expires; the resolver down; the page, audit rows and /metrics.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-stores.sh"
. "$SF_ROOT/tests/lib-domains.sh"

export SF_CREATE_COOLDOWN=0 SF_CREATES_PER_HOUR=100 SF_DOMAIN=stores.example.net \
	SF_DOMAIN_CHECK_INTERVAL=1 SF_DOMAIN_INGRESS_IPS=192.0.2.80 SF_DOMAIN_CERT_BUDGET=2
kubesim_start "$T/kubesim" || bail "cannot start kubesim"
dns_start || bail "cannot start dnsmasq"
sf_stack
tok=$(user_token owner@example.com) || bail "no token"
tok2=$(user_token other@example.com) || bail "no token"
tok3=$(user_token third@example.com) || bail "no token"
mkstore() {
	api_json POST /api/v1/stores "$1" "{\"name\":\"$2\",\"engine\":\"woocommerce\"}"
	json_get 'j["store"]["id"]'
}
sa=$(mkstore "$tok" A) && sb=$(mkstore "$tok2" B) && sc=$(mkstore "$tok3" C) || bail "no stores"
claim() { # TOKEN STORE DOMAIN: the claim's TXT token
	api_json POST "/api/v1/stores/$2/domains" "$1" "{\"domain\":\"$3\"}"
	[ "$STATUS" = 201 ] || { echo "claim $3: $STATUS $BODY" >&2; return 1; }
	json_get 'j["domain"]["dns"]["txt_value"]'
}
pass() { "$SF_BUILD/bin/storefleet-reconcile" --once >>"$T/reconcile.log" 2>&1; }
# state STORE DOMAIN: "status|check_message" of the row
state() { q "SELECT status || '|' || check_message FROM store_domains WHERE store_id = '$1' AND domain = '$2'"; }
# due: let the claims' next look-up come (domain_check_interval 1 s)
due() { q "UPDATE store_domains SET next_check_at = now() WHERE status = 'pending'" >/dev/null; }

ta=$(claim "$tok" "$sa" shop.example.com) || bail "no claim"
tb=$(claim "$tok2" "$sb" Shop.Example.com) || bail "no claim"
tw=$(claim "$tok" "$sa" www.example.com) || bail "no claim"
tp=$(claim "$tok" "$sa" apex.example.org) || bail "no claim"
tq=$(claim "$tok" "$sa" apex2.example.org) || bail "no claim"
tx=$(claim "$tok" "$sa" expires.example.net) || bail "no claim"

# --- nothing in DNS yet -------------------------------------------------------------------------
pass
is "$(state "$sa" shop.example.com)" "pending|There is no TXT record _storefleet-challenge.shop.example.com with the token $ta yet." \
	"no records: pending, and the page can say which record is missing"

# --- the records, as the owner of store A creates them ----------------------------------------
dns_restart --host-record="store-$sa.stores.example.net,127.0.0.1" \
	--txt-record="_storefleet-challenge.shop.example.com,$ta" --cname="shop.example.com,store-$sa.stores.example.net" \
	--txt-record="_storefleet-challenge.www.example.com,$tw" --cname="www.example.com,elsewhere.example.net" \
	--txt-record="_storefleet-challenge.apex.example.org,$tp" --address=/apex.example.org/127.0.0.1 \
	--txt-record="_storefleet-challenge.apex2.example.org,$tq" --host-record=apex2.example.org,192.0.2.7 \
	--host-record=elsewhere.example.net,192.0.2.9 || bail "cannot restart dnsmasq"
due
pass
is "$(state "$sa" shop.example.com)" "verified|Verified: the TXT record is in place and shop.example.com is a CNAME to store-$sa.stores.example.net." \
	"TXT token and CNAME to the store's host: verified"
is "$(state "$sb" shop.example.com)" "pending|The TXT record _storefleet-challenge.shop.example.com says '$ta', not this store's token $tb." \
	"the other tenant's claim on the same name: its token is not in DNS, pending with the reason"
is "$(state "$sa" www.example.com)" "pending|www.example.com is a CNAME to elsewhere.example.net; it must point to store-$sa.stores.example.net." \
	"a CNAME to somewhere else: pending, saying where it must point"
is "$(state "$sa" apex.example.org)" "verified|Verified: the TXT record is in place and the addresses of apex.example.org are the platform's." \
	"an apex with A records that are the store host's addresses: verified"
is "$(state "$sa" apex2.example.org)" "pending|apex2.example.org has the address 192.0.2.7, which is not the platform's; make it a CNAME to store-$sa.stores.example.net." \
	"an address that is not the platform's: pending, saying which"
like "$(cat "$T/dns/log")" "query\[TXT\] _storefleet-challenge.shop.example.com from 127.0.0.1" "the look-ups went to the DNS server on loopback"

# --- a takeover: another tenant cannot have a verified name ---------------------------------------
api_json POST "/api/v1/stores/$sc/domains" "$tok3" '{"domain":"SHOP.example.com."}'
is "$STATUS:$(json_get '",".join(j["error"]["fields"].keys())')" "422:domain" "a third tenant claims the verified name: 422"
is "$(json_get 'j["error"]["message"]')" \
	"shop.example.com is in use by another store; a domain verified for one store cannot be added to another until it is removed there." \
	"... with the reason"
# B's earlier claim, even with its own token and a CNAME to its store in DNS, stays B's claim only
dns_restart --host-record="store-$sb.stores.example.net,127.0.0.1" \
	--txt-record="_storefleet-challenge.shop.example.com,$tb" --cname="shop.example.com,store-$sb.stores.example.net" ||
	bail "cannot restart dnsmasq"
due
pass
is "$(state "$sb" shop.example.com)" "pending|shop.example.com is verified for another store; this claim cannot be." \
	"B's records in DNS while A holds the name verified: B's claim is refused, A keeps it"
is "$(state "$sa" shop.example.com | cut -d'|' -f1)" verified "... A's domain is still verified"
# A removes it; then B's claim verifies
api DELETE "/api/v1/stores/$sa/domains/shop.example.com" "$tok"
is "$STATUS:$(json_get 'j["domain"]["status"]')" "202:removing" "A removes its verified domain: 202, removing"
pass
is "$(q "SELECT count(*) FROM store_domains WHERE store_id = '$sa' AND domain = 'shop.example.com'")" 0 "... reconcile takes it off"
due
pass
is "$(state "$sb" shop.example.com | cut -d'|' -f1)" verified "... and B's claim, its records in DNS, is verified now"

# --- expiry: reconcile with domain_claim_ttl 1 s, the claims made seconds ago -------------------------
is "$(q "SELECT count(*) FROM store_domains WHERE domain = 'expires.example.net' AND expires_at > now() + interval '6 days'")" 1 \
	"a claim ends after domain_claim_ttl (7 days by default)"
SF_DOMAIN_CLAIM_TTL=1 pass
is "$(q "SELECT count(*) FROM store_domains WHERE domain = 'expires.example.net'")" 0 \
	"a claim never verified expires (reconcile's domain_claim_ttl shortened to 1 s applies at once)"
is "$(q "SELECT count(*) FROM store_domains WHERE domain IN ('www.example.com', 'apex2.example.org')")" 0 "... as do the others never verified"
like "$(q "SELECT string_agg(message, '|') FROM store_events WHERE store_id = '$sa' AND step = 'domain' AND level = 'warn'")" \
	"Domain expires.example.net expired: its DNS records were not found in time; add it again to start over." "... the store's activity says so"
is "$(q "SELECT actor_email || ':' || target FROM audit_log WHERE action = 'domain.expire' AND details->>'domain' = 'expires.example.net'")" \
	"storefleet-reconcile:$sa" "... audited as domain.expire"
is "$(q "SELECT string_agg(details->>'domain', ',' ORDER BY id) FROM audit_log WHERE action = 'domain.verify'")" \
	"shop.example.com,apex.example.org,shop.example.com" "every verification audited as domain.verify"
api GET "/api/v1/stores/$sa/domains" "$tok"
is "$(json_get '" ".join(d["domain"] + ":" + d["status"] for d in j["domains"])')" "apex.example.org:verified" \
	"store A has its verified domain left"
is "$(json_get 'j["domains"][0]["expires_at"]')" None "... a verified domain does not expire"

# --- the resolver down --------------------------------------------------------------------------------
dns_stop
tz=$(claim "$tok" "$sa" later.example.org) || bail "no claim"
pass
like "$(state "$sa" later.example.org)" "^pending\|The DNS look-up of _storefleet-challenge.later.example.org failed \(no answer from 127.0.0.1:$DNS_PORT \(timed out or refused\)\); it is tried again\.$" \
	"the resolver down: pending, the failure said, tried again"

# --- what the owner sees ------------------------------------------------------------------------------
jar=$T/jar
browser_login owner@example.com "$jar" >/dev/null
page "$jar" GET "/stores/$sa"
like "$BODY" '<span class="badge badge-domain-verified">verified</span>' "the store page shows the verified domain"
like "$BODY" 'Verified: the TXT record is in place and the addresses of apex.example.org are the platform&#39;s.' "... and what the look-up found"
http GET /metrics
like "$BODY" '^storefleet_domain_checks_total\{result="verified"\} 3$' "/metrics counts the verifications"
like "$BODY" '^storefleet_domain_checks_total\{result="taken"\} [1-9]$' "... the claim refused because another store holds the name (again while it is being removed)"
like "$BODY" '^storefleet_domain_checks_total\{result="expired"\} 3$' "... the expired claims"
like "$BODY" '^storefleet_domain_checks_total\{result="error"\} 1$' "... the failed look-ups"
like "$BODY" '^storefleet_custom_domains\{status="verified",certificate="none"\} 2$' "... and the verified domains"

# --- the certificate budget (SF_DOMAIN_CERT_BUDGET=2 a week per registered domain) -----------------
api_json POST "/api/v1/stores/$sc/domains" "$tok3" '{"domain":"new.example.com"}'
is "$STATUS:$(json_get '",".join(j["error"]["fields"].keys())')" "422:domain" \
	"example.com had 2 certificates asked for this week (shop.example.com twice): a third name under it is refused"
like "$(json_get 'j["error"]["message"]')" "^new.example.com cannot get a certificate this week: Let's Encrypt issues at most 2 certificates a week for example.com and the names under it, and 2 were asked for here in the last 7 days\. Add it after 20[0-9-]{8}T[0-9:]{8}Z\.$" \
	"... saying why and when it can be added"
api_json POST "/api/v1/stores/$sc/domains" "$tok3" '{"domain":"new.example.org"}'
is "$STATUS" 201 "example.org (one certificate this week) still has room"

# --- a store on another cluster: the CNAME names its host in that cluster's store domain ----------
q "INSERT INTO clusters (name, region, store_domain) VALUES ('eu-2', 'eu', 'eu2.shops.test')" >/dev/null
api_json POST /api/v1/stores "$tok3" '{"name":"D","engine":"woocommerce","region":"eu"}'
sd=$(json_get 'j["store"]["id"]')
is "$STATUS:$(q "SELECT cluster FROM stores WHERE id = '$sd'")" 201:eu-2 "a store placed on eu-2 (region eu)"
td=$(claim "$tok3" "$sd" shop.eu-example.com) || bail "no claim"
is "$(json_get 'j["domain"]["dns"]["cname_target"]')" "store-$sd.eu2.shops.test" \
	"its owner is told to point the CNAME at the store's host in eu-2's store domain"
dns_restart --host-record="store-$sd.eu2.shops.test,127.0.0.1" \
	--txt-record="_storefleet-challenge.shop.eu-example.com,$td" \
	--cname="shop.eu-example.com,store-$sd.eu2.shops.test" || bail "cannot restart dnsmasq"
due
pass
is "$(state "$sd" shop.eu-example.com)" \
	"verified|Verified: the TXT record is in place and shop.eu-example.com is a CNAME to store-$sd.eu2.shops.test." \
	"reconcile checks the CNAME against that same host"
done_testing
