#!/bin/bash
# t0595-domains-wordpress.sh - WordPress on a verified custom domain answers as that domain: reconcile puts the store's verified domains into the WordPress Deployment (STORE_DOMAINS, its own field manager), and the chart's wp-config extra, run by a real PHP (php-cli) exactly as the official image evaluates it, gives WP_HOME/WP_SITEURL = the request's host for those domains (any case, a port), STORE_URL for the platform host and for a foreign Host header; https from X-Forwarded-Proto; the domain removed, the env follows.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-stores.sh"
. "$SF_ROOT/tests/lib-reconcile.sh"
. "$SF_ROOT/tests/lib-domains.sh"

command -v php >/dev/null || bail "php-cli is not installed (tools/deps.sh)"
export SF_SECRET_KEY=$RC_KEY SF_CREATE_COOLDOWN=0 SF_CREATES_PER_HOUR=100 SF_METRICS_CACHE=0 \
	SF_DOMAIN_CHECK_INTERVAL=1 SF_DOMAIN_ISSUER= SF_TLS_ISSUER=
sf_stack
kubesim_start "$T/kubesim" --pod-ready-ms 50 --job-complete-ms 50 --pvc-bind-ms 20 \
	--ns-delete-ms 50 --observed-lag-ms 10 || bail "cannot start kubesim"
export SF_INGRESS_ADDRESS=$KUBESIM_INGRESS SF_FAILURE_GRACE=1 SF_RECONCILE_INTERVAL=1
tok=$(user_token owner@example.com) || bail "no token"
api_json POST /api/v1/stores "$tok" '{"name":"Tea","engine":"woocommerce"}'
id=$(json_get 'j["store"]["id"]') || bail "no store"
ns=store-$id
host=store-$id.127.0.0.1.nip.io
ok "the store becomes ready" rc_until 60 "(SELECT status = 'ready' FROM stores WHERE id = '$id')"
api_json POST "/api/v1/stores/$id/domains" "$tok" '{"domain":"shop.example.com"}'
t1=$(json_get 'j["domain"]["dns"]["txt_value"]') || bail "no claim"
dns_start --host-record="$host,127.0.0.1" \
	--txt-record="_storefleet-challenge.shop.example.com,$t1" --cname="shop.example.com,$host" ||
	bail "cannot start dnsmasq"
ok "shop.example.com verified and on the store's Ingress" rc_until 30 \
	"(SELECT applied FROM store_domains WHERE domain = 'shop.example.com')"
env_of() { kubectl get deployment wordpress -n "$ns" -o json |
	python3 -c 'import json,sys; c=[c for c in json.load(sys.stdin)["spec"]["template"]["spec"]["containers"] if c["name"]=="wordpress"][0]; print("".join(e.get("value","") for e in c["env"] if e["name"]==sys.argv[1]), end="")' "$1"; }
domains_are() { [ "$(env_of STORE_DOMAINS)" = "$1" ]; }
ok "the WordPress Deployment has STORE_DOMAINS=shop.example.com" wait_for 10 domains_are shop.example.com
is "$(kubectl get deployment wordpress -n "$ns" -o json --show-managed-fields | python3 -c 'import json,sys; print(" ".join(sorted(m["manager"] for m in json.load(sys.stdin)["metadata"]["managedFields"] if "STORE_DOMAINS" in json.dumps(m.get("fieldsV1")))))')" \
	storefleet-domains "... owned by reconcile's domains field manager alone, beside the chart's env"
kubectl get deployment wordpress -n "$ns" -o json >"$T/dep.json"
out=$("$VALIDATE" --no-apply-checks -q "$T/dep.json" 2>&1)
is "$?:$out" "0:" "the Deployment with the domains' env passes the validator"

# --- the wp-config extra, run by php-cli as the image's wp-config-docker.php runs it ------------
env_of WORDPRESS_CONFIG_EXTRA >"$T/extra.php"
url=$(env_of STORE_URL)
is "$url" "http://$host" "STORE_URL is the store's platform URL"
cat >"$T/wpconfig.php" <<'PHP'
<?php
// argv: the extra's file, the Host header ('' = none), X-Forwarded-Proto ('' = none)
$_SERVER = array();
if ($argv[2] !== '') $_SERVER['HTTP_HOST'] = $argv[2];
if ($argv[3] !== '') $_SERVER['HTTP_X_FORWARDED_PROTO'] = $argv[3];
// wp-config-docker.php: the proxy's scheme, then eval(getenv_docker('WORDPRESS_CONFIG_EXTRA'))
if (isset($_SERVER['HTTP_X_FORWARDED_PROTO']) && strpos($_SERVER['HTTP_X_FORWARDED_PROTO'], 'https') !== false) {
	$_SERVER['HTTPS'] = 'on';
}
$before = array_keys(get_defined_vars());
eval(file_get_contents($argv[1]));
$leaked = array_diff(array_keys(get_defined_vars()), $before, array('before'));
echo WP_HOME, ' ', WP_SITEURL, ' ', count($leaked) ? 'leaked:' . implode(',', $leaked) : 'clean', "\n";
PHP
wp() { STORE_URL=$url STORE_DOMAINS=$(env_of STORE_DOMAINS) php -n "$T/wpconfig.php" "$T/extra.php" "$@" 2>&1; }
is "$(wp "$host" '')" "http://$host http://$host clean" "the platform host: STORE_URL, no variable left in wp-config's scope"
is "$(wp shop.example.com '')" "http://shop.example.com http://shop.example.com clean" "the custom domain: its own URL"
is "$(wp 'SHOP.Example.COM:8080' '')" "http://shop.example.com http://shop.example.com clean" "... any case, with a port: the domain, lower case, no port"
is "$(wp shop.example.com. '')" "http://shop.example.com http://shop.example.com clean" "... with a trailing dot"
is "$(wp shop.example.com https)" "https://shop.example.com https://shop.example.com clean" "... behind the TLS ingress (X-Forwarded-Proto: https): https"
is "$(wp shop.example.com 'https,http')" "https://shop.example.com https://shop.example.com clean" "... X-Forwarded-Proto with two hops"
is "$(wp evil.example.net https)" "http://$host http://$host clean" "a foreign Host header: STORE_URL, nothing of the header"
is "$(wp 'shop.example.com/x"><script>' '')" "http://$host http://$host clean" "a Host header with more after the domain: STORE_URL"
is "$(wp 'www.shop.example.com' '')" "http://$host http://$host clean" "a subdomain of the custom domain: STORE_URL"
is "$(wp '' '')" "http://$host http://$host clean" "no Host header (wp-cli, cron): STORE_URL"

# --- the domain removed: WordPress no longer takes it -------------------------------------------
api DELETE "/api/v1/stores/$id/domains/shop.example.com" "$tok"
is "$STATUS" 202 "removing the domain: 202"
ok "... reconcile takes it off" rc_until 30 "(SELECT count(*) = 0 FROM store_domains)"
is "$(env_of STORE_DOMAINS)" "" "STORE_DOMAINS is empty again"
is "$(wp shop.example.com https)" "http://$host http://$host clean" "the removed domain gives STORE_URL"
done_testing
