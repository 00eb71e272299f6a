#!/bin/bash
# t0590-domains-claims.sh - custom domains as the web app records them: a claim normalised (case, trailing dot, IDNA), its DNS records shown; every kind of bad domain a 422 with its reason; the same name twice 409; the per-store limit; another tenant's store 404; removal; audit rows, activity, /metrics; the page's form (CSRF, errors by the field) and storefleetctl store domain.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-stores.sh"

export SF_CREATE_COOLDOWN=0 SF_CREATES_PER_HOUR=100 SF_DOMAINS_PER_STORE=3 SF_DOMAIN=stores.example.net
sf_stack
tok=$(user_token owner@example.com) || bail "no token"
tok2=$(user_token other@example.com) || bail "no token"
api_json POST /api/v1/stores "$tok" '{"name":"Shop A","engine":"woocommerce"}'
sa=$(json_get 'j["store"]["id"]') || bail "no store: $BODY"
api_json POST /api/v1/stores "$tok2" '{"name":"Shop B","engine":"medusa"}'
sb=$(json_get 'j["store"]["id"]') || bail "no store: $BODY"

# --- a claim, normalised -------------------------------------------------------------------------
api_json POST "/api/v1/stores/$sa/domains" "$tok" '{"domain":"  Shop.Example.COM. "}'
is "$STATUS" 201 "a domain added: 201"
is "$(json_get 'j["domain"]["domain"] + " " + j["domain"]["display"] + " " + j["domain"]["status"] + " " + j["domain"]["certificate"]["state"]')" \
	"shop.example.com shop.example.com pending none" "... stored lower-case without the trailing dot, pending, no certificate yet"
is "$(json_get 'j["domain"]["dns"]["txt_name"] + " " + j["domain"]["dns"]["cname_target"]')" \
	"_storefleet-challenge.shop.example.com store-$sa.stores.example.net" "... the TXT record's name and the CNAME target (the store's host) to create"
token=$(json_get 'j["domain"]["dns"]["txt_value"]')
like "$token" '^[0-9a-f]{32}$' "... the TXT value is a 128-bit random token"
like "$(json_get 'j["domain"]["expires_at"]')" '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' "... and the claim says when it expires unverified"
is "$(header Location)" "/api/v1/stores/$sa/domains/shop.example.com" "... Location names it"
api_json POST "/api/v1/stores/$sa/domains" "$tok" '{"domain":"shop.EXAMPLE.com"}'
is "$STATUS:$(json_get 'j["error"]["message"]')" "409:This store has shop.example.com already." "the same domain in another spelling: 409"
api_json POST "/api/v1/stores/$sa/domains" "$tok" '{"domain":"bücher.example"}'
is "$STATUS:$(json_get 'j["domain"]["domain"] + " " + j["domain"]["display"]')" "201:xn--bcher-kva.example bücher.example" \
	"an internationalised name: stored as its A-label, shown in Unicode"
api_json POST "/api/v1/stores/$sa/domains" "$tok" '{"domain":"XN--BCHER-KVA.EXAMPLE"}'
is "$STATUS" 409 "... its punycode spelling is the same domain: 409"
api GET "/api/v1/stores/$sa/domains/B%C3%BCCHER.example" "$tok"
is "$STATUS:$(json_get 'j["domain"]["domain"]')" "200:xn--bcher-kva.example" "GET one domain by any spelling of its name"

# --- bad domains: 422 naming the field and saying why; nothing stored -----------------------------
n0=$(q "SELECT count(*) FROM store_domains")
long63=$(printf 'a%.0s' {1..63})
bad() {
	local body=$1 want=$2 name=$3

	api_json POST "/api/v1/stores/$sa/domains" "$tok" "$body"
	is "$STATUS:$(json_get '",".join(j["error"]["fields"].keys())')" "422:domain" "$name: 422 on the field domain"
	like "$(json_get 'j["error"]["message"]')" "$want" "... $name: the reason"
}
bad '{"domain":"stores.example.net"}' "^'stores.example.net' is the platform's own domain or under it" "the platform's own domain"
bad '{"domain":"Store-x.Stores.Example.NET."}' "^'store-x.stores.example.net' is the platform's own domain or under it; every store already has its name under stores.example.net" "a subdomain of the platform's domain"
bad '{"domain":"192.0.2.10"}' "^An IP address is not a domain name" "an IPv4 address"
bad '{"domain":"[2001:db8::1]"}' "^An IP address is not a domain name" "an IPv6 address"
bad '{"domain":"*.example.com"}' "^Wildcard domains cannot be added" "a wildcard"
bad "{\"domain\":\"${long63}a.example.com\"}" "^The label 'a{20}\.\.\.' is 64 characters long; a label of a domain name has at most 63\.$" "a label of 64 characters"
bad "{\"domain\":\"$long63.$long63.$long63.$long63.com\"}" "^The domain name is 259 characters long; DNS allows at most 253\.$" "a name of 259 characters"
bad '{"domain":"xn--a.example"}' "^'xn--a.example' has an xn-- label that is not valid IDNA punycode\.$" "invalid punycode"
bad '{"domain":"☃.example"}' "^The domain name is not a valid internationalised domain name \(IDNA\): string contains a disallowed character\.$" "a character IDNA disallows"
bad '{"domain":"a\u200db.example"}' "^The domain name is not a valid internationalised domain name \(IDNA\): string contains a forbidden context-j character\.$" "a joiner out of its context"
bad '{"domain":"localhost"}' "^'localhost' is a single label" "a single label"
bad '{"domain":"https://shop.example.com/"}' "^Enter the domain name alone, without http://" "a URL"
bad '{"domain":"shop_1.example.com"}' "^The domain name has the character '_'" "an underscore"
bad '{"domain":""}' "^Enter a domain name" "an empty name"
api_json POST "/api/v1/stores/$sa/domains" "$tok" '{"domain":7}'
is "$STATUS:$(json_get '",".join(j["error"]["fields"].keys())')" "422:domain" "a domain that is not a string: 422"
is "$(q "SELECT count(*) FROM store_domains")" "$n0" "nothing was stored by the refused requests"

# --- the limit per store (SF_DOMAINS_PER_STORE=3) ----------------------------------------------------
api_json POST "/api/v1/stores/$sa/domains" "$tok" '{"domain":"www.example.org"}'
is "$STATUS" 201 "a third domain"
api_json POST "/api/v1/stores/$sa/domains" "$tok" '{"domain":"fourth.example.org"}'
is "$STATUS:$(json_get 'j["error"]["message"]')" "422:This store has 3 domains, the limit per store is 3; remove one first." \
	"a fourth: 422 with the limit"

# --- another tenant ----------------------------------------------------------------------------------
api GET "/api/v1/stores/$sa/domains" "$tok2"
is "$STATUS:$(json_get 'j["error"]["message"]')" "404:There is no such store." "another tenant lists the domains of my store: 404"
api_json POST "/api/v1/stores/$sa/domains" "$tok2" '{"domain":"theirs.example.com"}'
is "$STATUS" 404 "... adds one to it: 404"
api DELETE "/api/v1/stores/$sa/domains/shop.example.com" "$tok2"
is "$STATUS" 404 "... removes mine: 404"
api_json POST "/api/v1/stores/$sa/domains" "$tok2" '{"domain":"not a domain"}'
is "$STATUS" 404 "... bad input on my store: still 404, not 422"
api_json POST "/api/v1/stores/$sb/domains" "$tok2" '{"domain":"SHOP.example.com"}'
is "$STATUS:$(json_get 'j["domain"]["status"]')" "201:pending" \
	"another store may claim a name someone else's unverified claim holds (only DNS decides)"
other_token=$(json_get 'j["domain"]["dns"]["txt_value"]')
nok "... with its own token" test "$other_token" = "$token"

# --- removal -----------------------------------------------------------------------------------------
api DELETE "/api/v1/stores/$sa/domains/WWW.example.org." "$tok"
is "$STATUS:$(json_get 'j["domain"]')" "200:None" "removing a pending claim: 200, gone at once"
api GET "/api/v1/stores/$sa/domains" "$tok"
is "$(json_get '" ".join(d["domain"] for d in j["domains"])')" "shop.example.com xn--bcher-kva.example" "the list, oldest first, without it"
api DELETE "/api/v1/stores/$sa/domains/www.example.org" "$tok"
is "$STATUS:$(json_get 'j["error"]["message"]')" "404:This store has no such domain." "removing it again: 404"
is "$(q "SELECT string_agg(action || ':' || (details->>'domain'), ',' ORDER BY id) FROM audit_log WHERE action LIKE 'domain.%' AND target = '$sa'")" \
	"domain.add:shop.example.com,domain.add:xn--bcher-kva.example,domain.add:www.example.org,domain.remove:www.example.org" \
	"audit rows for every add and remove, none for refusals"
like "$(q "SELECT string_agg(message, '|' ORDER BY id) FROM store_events WHERE store_id = '$sa' AND step = 'domain'")" \
	'^Domain shop.example.com added; it is verified once its DNS records are in place\.\|.*\|Domain www.example.org removed\.$' "the store's activity says so"

# --- the page ----------------------------------------------------------------------------------------
jar=$T/jar
browser_login owner@example.com "$jar" >/dev/null
page "$jar" GET "/stores/$sa"
is "$STATUS" 200 "the store page"
like "$BODY" "<code class=\"select-all\">_storefleet-challenge.shop.example.com</code> = <code class=\"select-all\">$token</code>" \
	"... shows the TXT record to create"
like "$BODY" "<code class=\"select-all\">shop.example.com</code> &rarr; <code class=\"select-all\">store-$sa.stores.example.net</code>" "... and the CNAME"
like "$BODY" '<span class="mono">bücher.example</span>' "... the IDN in Unicode"
csrf=$(page_csrf)
page "$jar" POST "/stores/$sa/domains" -H "Origin: $BASE" --data-urlencode domain=new.example.org
is "$STATUS" 403 "the form without its CSRF token: 403"
page "$jar" POST "/stores/$sa/domains" --data-urlencode "csrf_token=$csrf" -H "Origin: $BASE" --data-urlencode 'domain=*.example.org'
is "$STATUS" 422 "the form with a wildcard: 422"
like "$BODY" 'id="domain-error">Wildcard domains cannot be added; add each host name you want to serve, such as shop.example.com.<' "... the reason by the field"
like "$BODY" 'value="\*.example.org"' "... and what was typed kept"
page "$jar" POST "/stores/$sa/domains" --data-urlencode "csrf_token=$csrf" -H "Origin: $BASE" --data-urlencode domain=Page.Example.org
is "$STATUS:$(header Location)" "303:/stores/$sa?domain_added=1#domains" "the form adds a domain: 303 to the page"
page "$jar" POST "/stores/$sa/domains/page.example.org/remove" --data-urlencode "csrf_token=$csrf" -H "Origin: $BASE"
is "$STATUS" 303 "the remove button: 303"
is "$(q "SELECT count(*) FROM store_domains WHERE domain = 'page.example.org'")" 0 "... the claim is gone"
jar2=$T/jar2
browser_login other@example.com "$jar2" >/dev/null
page "$jar2" GET "/stores/$sb"
csrf2=$(page_csrf)
page "$jar2" POST "/stores/$sa/domains" --data-urlencode "csrf_token=$csrf2" -H "Origin: $BASE" --data-urlencode domain=x.example.org
is "$STATUS" 404 "the form on another tenant's store: 404"
page "$jar2" POST "/stores/$sa/domains/shop.example.com/remove" --data-urlencode "csrf_token=$csrf2" -H "Origin: $BASE"
is "$STATUS" 404 "... its remove button: 404"

# --- storefleetctl -----------------------------------------------------------------------------------
out=$("$SF_BUILD/bin/storefleetctl" store domain add "$sb" Cli.Example.ORG 2>&1)
is "$?" 0 "storefleetctl store domain add"
like "$out" "^  _storefleet-challenge.cli.example.org TXT [0-9a-f]{32}$" "... prints the TXT record"
like "$out" "^  cli.example.org CNAME store-$sb.stores.example.net$" "... and the CNAME"
out=$("$SF_BUILD/bin/storefleetctl" store domain add "$sb" 10.1.2.3 2>&1)
is "$?:$out" "1:storefleetctl: store domain add: An IP address is not a domain name; enter the name that points to the store, such as shop.example.com." \
	"... an IP address refused with the reason"
out=$("$SF_BUILD/bin/storefleetctl" store domain list "$sb" 2>&1)
is "$(echo "$out" | cut -f1,2,4,6,7 | tail -n +2)" "$(printf 'shop.example.com\tpending\t_storefleet-challenge.shop.example.com\tstore-%s.stores.example.net\tnone\ncli.example.org\tpending\t_storefleet-challenge.cli.example.org\tstore-%s.stores.example.net\tnone' "$sb" "$sb")" \
	"storefleetctl store domain list: one line per domain"
out=$("$SF_BUILD/bin/storefleetctl" store domain remove "$sb" cli.example.org 2>&1)
is "$?:$out" "0:$sb: cli.example.org removed" "storefleetctl store domain remove"
is "$(q "SELECT actor_email || ':' || action FROM audit_log WHERE action LIKE 'domain.%' ORDER BY id DESC LIMIT 1")" "storefleetctl:domain.remove" \
	"... audited as storefleetctl"

http GET /metrics
like "$BODY" '^storefleet_custom_domains\{status="pending",certificate="none"\} 3$' "/metrics counts the domains by status and certificate"
like "$BODY" '^storefleet_custom_domains\{status="verified",certificate="issued"\} 0$' "... zeros included"
done_testing
