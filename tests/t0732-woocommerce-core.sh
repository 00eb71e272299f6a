#!/bin/bash
# t0732 - WooCommerce upgrades upgrade: the core comes from the image, WooCommerce is pinned per version and moved by the setup Job, nothing updates itself, no root, no downgrades.
#
# Regressions guarded (each upgrade used to be recorded as ready on the new
# version while nothing had changed):
#   - the files volume was mounted at /var/www/html, and the official image
#     copies WordPress there only when it is empty: the core stayed at the
#     store's first version whatever the image tag;
#   - WordPress updated itself (core and plugins) behind the blueprint's back;
#   - the WooCommerce plugin was installed once, at whatever version was
#     current, and never moved;
#   - Apache started as root;
#   - an "upgrade" from 6.8.1 to 6.7.2 was accepted (WooCommerce does not
#     support downgrades; a rollback restores the data instead).
. "$SF_ROOT/tests/lib.sh"

CTL=$SF_BUILD/bin/storefleetctl
export SF_CHARTS_DIR=$SF_ROOT/charts
unset SF_CONFIG SF_OVERLAY SF_DOMAIN SF_INGRESS_CLASS SF_TLS_SECRET SF_TLS_ISSUER SF_PUBLIC_ORIGIN

versions=$(python3 -c 'import sys, yaml; print(" ".join(yaml.safe_load(open(sys.argv[1]))["versions"]))' \
	"$SF_ROOT/charts/woocommerce/values.yaml")
[ -n "$versions" ] || bail "no versions in charts/woocommerce/values.yaml"
latest=${versions##* }

# check FILE VERSION: one line per problem of the rendered set (YAML) at VERSION.
check() {
	python3 - "$1" "$2" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
ver = sys.argv[2]
bad = []
def one(kind, name):
    f = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    if len(f) != 1:
        bad.append("%d %s/%s" % (len(f), kind, name))
        return {}
    return f[0]
def pod(o):
    return o.get("spec", {}).get("template", {}).get("spec", {})
def claim_mounts(spec, claim):
    vols = {v["name"] for v in spec.get("volumes", [])
            if v.get("persistentVolumeClaim", {}).get("claimName") == claim}
    out = []
    for c in spec.get("initContainers", []) + spec.get("containers", []):
        for m in c.get("volumeMounts", []):
            if m["name"] in vols:
                out.append((c["name"], m["mountPath"], m.get("subPath", "")))
    return out
image = "wordpress:%s-php8.3-apache" % ver

# The Deployment: the volume only at wp-content (its subfolder wp-content);
# the core is the image's.
dep = pod(one("Deployment", "wordpress"))
wp = [c for c in dep.get("containers", []) if c["name"] == "wordpress"]
wp = wp[0] if wp else {}
m = [x for x in claim_mounts(dep, "wordpress") if x[0] == "wordpress"]
if m != [("wordpress", "/var/www/html/wp-content", "wp-content")]:
    bad.append("the wordpress container mounts the volume at %r, not only at /var/www/html/wp-content (subPath wp-content)" % m)
for c in dep.get("containers", []):
    for mm in c.get("volumeMounts", []):
        if mm["mountPath"].rstrip("/") == "/var/www/html":
            bad.append("container %s mounts %s at /var/www/html: the image's core would not be copied" % (c["name"], mm["name"]))
if wp.get("image") != image:
    bad.append("wordpress image %r, not %r" % (wp.get("image"), image))
for c in dep.get("initContainers", []):
    if c.get("image") != image:
        bad.append("init container %s image %r, not the store's %r" % (c["name"], c.get("image"), image))

# Nothing updates itself.
extra = [e.get("value", "") for e in wp.get("env", []) if e["name"] == "WORDPRESS_CONFIG_EXTRA"]
extra = extra[0] if extra else ""
for want in ("define('AUTOMATIC_UPDATER_DISABLED', true);", "define('WP_AUTO_UPDATE_CORE', false);"):
    if want not in extra:
        bad.append("WORDPRESS_CONFIG_EXTRA lacks %s" % want)
init = " ".join(" ".join(c.get("command", [])) for c in dep.get("initContainers", []))
for want in ("mu-plugins/storefleet.php", "add_filter('auto_update_plugin', '__return_false');",
             "$cap === 'update_core' ? array('do_not_allow')", "woocommerce/woocommerce.php"):
    if want not in init:
        bad.append("the must-use plugin lacks %r" % want)

# Non-root: WordPress as www-data (33) binding :80 without capabilities,
# MariaDB as mysql (999), every pod and container of the set.
sc = dep.get("securityContext", {})
if (sc.get("runAsNonRoot"), sc.get("runAsUser"), sc.get("runAsGroup"), sc.get("fsGroup")) != (True, 33, 33, 33):
    bad.append("WordPress pod securityContext %r: not www-data 33:33, non-root" % sc)
if {"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"} not in sc.get("sysctls", []):
    bad.append("WordPress pod: no net.ipv4.ip_unprivileged_port_start=0, so Apache cannot bind :80 as www-data")
if [p.get("containerPort") for p in wp.get("ports", [])] != [80]:
    bad.append("WordPress ports %r" % wp.get("ports"))
db = pod(one("StatefulSet", "mariadb")).get("securityContext", {})
if (db.get("runAsNonRoot"), db.get("runAsUser"), db.get("runAsGroup"), db.get("fsGroup")) != (True, 999, 999, 999):
    bad.append("MariaDB pod securityContext %r: not mysql 999:999, non-root" % db)
for o in docs:
    s = pod(o)
    if not s:
        continue
    if not s.get("securityContext", {}).get("runAsNonRoot") or not s["securityContext"].get("runAsUser"):
        bad.append("%s/%s: may run as root" % (o["kind"], o["metadata"]["name"]))
    for c in s.get("initContainers", []) + s.get("containers", []):
        csc = c.get("securityContext", {})
        if csc.get("allowPrivilegeEscalation") is not False or csc.get("capabilities", {}).get("drop") != ["ALL"] \
                or csc.get("capabilities", {}).get("add") or csc.get("runAsUser") == 0:
            bad.append("%s/%s container %s: %r" % (o["kind"], o["metadata"]["name"], c["name"], csc))

# The setup Job: the same core, WooCommerce pinned for this version.
job = pod(one("Job", "wordpress-setup"))
setup = [c for c in job.get("containers", []) if c["name"] == "setup"]
setup = setup[0] if setup else {}
if [c.get("image") for c in job.get("initContainers", [])] != [image]:
    bad.append("the setup Job's core is not copied from %s" % image)
mounts = sorted((m["mountPath"], m.get("subPath", "")) for m in setup.get("volumeMounts", []))
if mounts != [("/var/www/html", ""), ("/var/www/html/wp-content", "wp-content")]:
    bad.append("setup mounts %r" % mounts)
if claim_mounts(job, "wordpress") != [("core", "/volume", ""), ("setup", "/var/www/html/wp-content", "wp-content")]:
    bad.append("setup Job volume mounts %r" % claim_mounts(job, "wordpress"))
env = {e["name"]: e for e in setup.get("env", [])}
ref = env.get("WC_VERSION", {}).get("valueFrom", {}).get("configMapKeyRef", {})
if ref != {"name": "woocommerce-versions", "key": ver}:
    bad.append("WC_VERSION comes from %r, not woocommerce-versions[%s]" % (ref, ver))
if env.get("WP_VERSION", {}).get("value") != ver:
    bad.append("WP_VERSION is %r" % env.get("WP_VERSION"))
pins = one("ConfigMap", "woocommerce-versions").get("data", {})
if not pins.get(ver):
    bad.append("no WooCommerce version pinned for WordPress %s (%r)" % (ver, pins))
script = setup.get("command", [""])[-1]
for want in ("wp core update-db", 'if [ "$installed" != "$WC_VERSION" ]; then',
             'wp plugin install woocommerce --version="$WC_VERSION" --force --activate', "wp wc update"):
    if want not in script:
        bad.append("the setup script lacks %r" % want)
print("\n".join(bad))
PY
}

# --- the rendered sets, at every version and both overlays ------------------------------------------
for overlay in local prod; do
	for v in $versions; do
		out=$T/$overlay-$v.yaml
		if [ "$overlay" = prod ]; then export SF_DOMAIN=shops.example.com; else unset SF_DOMAIN; fi
		"$CTL" render woocommerce --overlay "$overlay" --store-id demo1 --version "$v" >"$out" 2>"$T/err"
		is "$?:$(cat "$T/err")" "0:" "$overlay $v: render exits 0"
		like "$("$VALIDATE" -W "$out" 2>&1)" ' 0 problem\(s\), 0 warning\(s\)' "$overlay $v: k8s-validate -W: zero problems, zero warnings"
		is "$(check "$out" "$v")" "" \
			"$overlay $v: volume only at wp-content, core from wordpress:$v, no self-updates, WooCommerce pinned and moved by the setup Job, non-root"
	done
done
unset SF_DOMAIN
# the snapshot and restore Jobs of an upgrade are non-root too
printf 'snapshot:\n  volume: true\n  take: r2\n  restore: r2\n  restore_tag: r3\n' >"$T/backup.yaml"
"$CTL" render woocommerce --overlay local --store-id demo1 --version "$latest" --values "$T/backup.yaml" >"$T/backup-set.yaml"
is "$(check "$T/backup-set.yaml" "$latest")" "" "with an upgrade's snapshot and restore Jobs: every pod non-root"
is "$(python3 -c 'import sys, yaml; v = yaml.safe_load(open(sys.argv[1])); print(sorted(v["woocommerce"]["plugin_versions"]) == sorted(v["versions"]))' \
	"$SF_ROOT/charts/woocommerce/values.yaml")" True "one WooCommerce version pinned for each offered WordPress version, none more"

# --- the scripts, run: WP-CLI and PHP stubbed ---------------------------------------------------------
#
# script FILE CONTAINER: the /bin/sh -c script of a container of the rendered set.
script() {
	python3 - "$1" "$2" <<'PY'
import sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    s = (d or {}).get("spec", {}).get("template", {}).get("spec", {})
    for c in s.get("initContainers", []) + s.get("containers", []):
        if c["name"] == sys.argv[2]:
            sys.stdout.write(c["command"][-1])
PY
}
last=$T/local-$latest.yaml
mkdir -p "$T/bin" "$T/html"
script "$last" setup | sed "s#^cd /var/www/html\$#cd \"$T/html\"#" >"$T/setup.sh"
like "$(head -n 3 "$T/setup.sh")" "cd \"$T/html\"" "(the setup script works in a scratch folder)"
# wp: logs each call, answers from STUB_* (core version, installed or not,
# the installed WooCommerce, the version WooCommerce's data is at).
cat >"$T/bin/wp" <<'EOF'
#!/bin/bash
echo "$*" >>"$STUB_LOG"
case "$*" in
"core version") echo "$STUB_CORE" ;;
"core is-installed") exit "$STUB_INSTALLED" ;;
"plugin get woocommerce --field=version") [ -n "$STUB_WC" ] || exit 1; echo "$STUB_WC" ;;
"option get woocommerce_db_version") [ -n "$STUB_WC_DATA" ] || exit 1; echo "$STUB_WC_DATA" ;;
esac
exit 0
EOF
# php -r CODE A B: the script's only use, version_compare(A, B, ">")
cat >"$T/bin/php" <<'EOF'
#!/bin/bash
python3 -c 'import sys
v = lambda s: [int(x) for x in s.split(".")]
sys.exit(0 if v(sys.argv[1]) > v(sys.argv[2]) else 1)' "$3" "$4"
EOF
chmod +x "$T/bin/wp" "$T/bin/php"

# run_setup WP_VERSION WC_VERSION CORE INSTALLED WC WC_DATA: the calls (one a line) in $T/calls, stderr in $T/stderr
run_setup() {
	: >"$T/calls"
	env PATH="$T/bin:$PATH" STUB_LOG="$T/calls" WP_VERSION=$1 WC_VERSION=$2 STUB_CORE=$3 STUB_INSTALLED=$4 \
		STUB_WC=$5 STUB_WC_DATA=$6 ADMIN_USER=admin SAMPLE_SKU= HOOKS_URL= sh "$T/setup.sh" >"$T/stdout" 2>"$T/stderr"
}
calls() { grep -E '^(core (install|update-db)|plugin (install|activate)|wc update)' "$T/calls" | tr '\n' '|'; }

run_setup 6.8.1 9.9.5 6.8.1 1 "" ""
is "$?|$(calls)" "0|core install --url= --title= --admin_user=admin --admin_password= --admin_email= --skip-email|plugin install woocommerce --version=9.9.5 --force --activate|wc update|" \
	"a new store: install, then WooCommerce at the pinned version"
run_setup 6.8.1 9.9.5 6.8.1 0 9.8.5 9.8.5
is "$?|$(calls)" "0|core update-db|plugin install woocommerce --version=9.9.5 --force --activate|wc update|" \
	"an upgrade: the database follows the core, then WooCommerce moves to the new pin and migrates its data"
run_setup 6.8.1 9.9.5 6.8.1 0 9.9.5 9.9.5
is "$?|$(calls)" "0|core update-db|wc update|" "a rerun: the plugin already at its pin is left alone (update-db and wc update are no-ops)"
run_setup 6.7.2 9.8.5 6.7.2 0 9.9.5 9.8.5
is "$?|$(calls)" "0|core update-db|plugin install woocommerce --version=9.8.5 --force --activate|wc update|" \
	"a rollback (data restored to 9.8.5): WooCommerce goes back with it"
run_setup 6.7.2 9.8.5 6.7.2 0 9.9.5 9.9.5
is "$?|$(calls)" "0|core update-db|wc update|" "WooCommerce's data newer than the pin: never installed below it"
like "$(cat "$T/stderr")" "WooCommerce's data is at 9\.9\.5, newer than 9\.8\.5: keeping WooCommerce 9\.9\.5" "  and the log says so"
run_setup 6.8.1 9.9.5 6.7.2 0 9.8.5 9.8.5
is "$?|$(tr '\n' '|' <"$T/calls")" "1|core version|" "an image whose core is not the version asked for: the Job fails before touching anything"
like "$(cat "$T/stderr")" 'the image of WordPress 6\.8\.1 holds WordPress 6\.7\.2' "  saying why"

# The WordPress pod's init container on a store made with the old layout
# (WordPress's first version at the volume's top, wp-content beside it).
script "$last" wp-content | sed "s#/volume#$T/vol#g" >"$T/init.sh"
mkdir -p "$T/vol/wp-admin" "$T/vol/wp-includes" "$T/vol/wp-content/plugins/woocommerce" "$T/vol/wp-content/uploads/2025"
for f in index.php wp-config.php wp-load.php wp-login.php xmlrpc.php license.txt readme.html .htaccess \
	wp-admin/admin.php wp-includes/version.php wp-content/index.php wp-content/plugins/woocommerce/woocommerce.php \
	wp-content/uploads/2025/shirt.jpg; do
	echo "$f" >"$T/vol/$f"
done
sh "$T/init.sh" >"$T/stdout" 2>&1
is "$?" 0 "old layout: the init container succeeds"
is "$(cd "$T/vol" && find . | LC_ALL=C sort | tr '\n' ' ')" \
	". ./wp-content ./wp-content/index.php ./wp-content/mu-plugins ./wp-content/mu-plugins/storefleet.php ./wp-content/plugins ./wp-content/plugins/woocommerce ./wp-content/plugins/woocommerce/woocommerce.php ./wp-content/uploads ./wp-content/uploads/2025 ./wp-content/uploads/2025/shirt.jpg " \
	"  the first version's core files are gone, wp-content is untouched, the must-use plugin is in place"
sh "$T/init.sh" >"$T/stdout" 2>&1
is "$?|$(cd "$T/vol" && find . | wc -l)" "0|11" "  a second start changes nothing"
rm -rf "$T/vol"
mkdir "$T/vol"
sh "$T/init.sh" >"$T/stdout" 2>&1
is "$?|$(cd "$T/vol" && find . | LC_ALL=C sort | tr '\n' ' ')" \
	"0|. ./wp-content ./wp-content/mu-plugins ./wp-content/mu-plugins/storefleet.php " "a new volume: wp-content made, with the must-use plugin"

# The setup Job's init container: the image's core and wp-config.php.
mkdir -p "$T/src/wp-includes" "$T/src/wp-content/themes" "$T/core" "$T/vol2"
echo version >"$T/src/wp-includes/version.php"
echo docker >"$T/src/wp-config-docker.php"
script "$last" core | sed -e "s#/usr/src/wordpress#$T/src#g" -e "s#/core/#$T/core/#g" -e "s#/volume#$T/vol2#g" >"$T/core.sh"
sh "$T/core.sh" >"$T/stdout" 2>&1
is "$?|$(cat "$T/core/wp-config.php")|$(cat "$T/core/wp-includes/version.php")|$(test -d "$T/vol2/wp-content" && echo made)" \
	"0|docker|version|made" "the setup Job's core: the image's files, its wp-config.php, the wp-content folder"

# --- no downgrades through an upgrade request; rollbacks stay -------------------------------------
#
# A chart offering 6.9.4 and 6.10.0 as well: numerically 6.10 is the newer
# (as text "6.10.0" < "6.9.4").
. "$SF_ROOT/tests/lib-stores.sh"
. "$SF_ROOT/tests/lib-upgrades.sh"
cp -R "$SF_ROOT/charts" "$T/charts"
python3 - "$T/charts/woocommerce/values.yaml" <<'PY'
import re, sys
p = sys.argv[1]
s = open(p).read()
s, n = re.subn(r'(?m)^versions: \[.*\]$', 'versions: ["6.7.2", "6.8.1", "6.9.4", "6.10.0"]', s)
s, m = re.subn(r'(?m)^(    "6\.8\.1": .*)$', r'\1\n    "6.9.4": "9.9.5"\n    "6.10.0": "9.9.5"', s)
assert n == 1 and m == 1
open(p, "w").write(s)
PY
export SF_CHARTS_DIR=$T/charts
"$CTL" render woocommerce --version 6.10.0 >/dev/null 2>"$T/err"
is "$?:$(cat "$T/err")" "0:" "(the test's chart renders 6.10.0)"

sf_stack
a=$(user_token a@example.com) || bail "no token"
up_store shop0681 a@example.com 6.8.1
up_store shop0694 a@example.com 6.9.4
up_store shop0610 a@example.com 6.10.0

api_json POST /api/v1/stores/shop0681/upgrade "$a" '{"version": "6.7.2"}'
is "$STATUS|$(json_get 'j["error"]["code"]')|$(json_get 'j["error"]["fields"]["version"]')" \
	"422|invalid|6.7.2 is older than 6.8.1, which the store runs: WooCommerce cannot be downgraded. Roll back to a revision that ran 6.7.2 instead (that restores its data)." \
	"an upgrade from 6.8.1 to 6.7.2 -> 422 saying why and what to do instead"
api_json POST /api/v1/stores/shop0610/upgrade "$a" '{"version": "6.9.4"}'
is "$STATUS|$(json_get 'j["error"]["fields"]["version"]')" \
	"422|6.9.4 is older than 6.10.0, which the store runs: WooCommerce cannot be downgraded. Roll back to a revision that ran 6.9.4 instead (that restores its data)." \
	"6.10.0 -> 6.9.4 is a downgrade too (versions compare by number, not as text)"
is "$(q "select count(*) from store_revisions where store_id in ('shop0681', 'shop0610')")|$(q "select string_agg(status, ' ') from stores where id in ('shop0681', 'shop0610')")" \
	"2|ready ready" "refused downgrades write nothing"
"$CTL" store upgrade shop0681 --version 6.7.2 >"$T/out" 2>"$T/err"
is "$?|$(cat "$T/err")" \
	"1|storefleetctl: store upgrade: 6.7.2 is older than 6.8.1, which the store runs: WooCommerce cannot be downgraded. Roll back to a revision that ran 6.7.2 instead (that restores its data)." \
	"storefleetctl refuses it with the same words"

api_json POST /api/v1/stores/shop0694/upgrade "$a" '{"version": "6.10.0"}'
is "$STATUS|$(json_get 'j["store"]["status"]')|$(json_get 'j["revision"]')" "202|upgrading|2" "6.9.4 -> 6.10.0 is an upgrade: 202"
api_json POST /api/v1/stores/shop0681/upgrade "$a" '{"version": "6.9.4"}'
is "$STATUS|$(json_get 'j["revision"]')" "202|2" "6.8.1 -> 6.9.4: 202"

# The store page offers the newer versions only.
jar=$T/a.jar
browser_login a@example.com "$jar" >/dev/null
page "$jar" GET /stores/shop0610
unlike "$BODY" 'action="/stores/shop0610/upgrade"' "a store on the newest version gets no upgrade form"
up_done shop0681 r2.sql.gz
page "$jar" GET /stores/shop0681
is "$(sed -n '/id="upgrade-version"/,/<\/select>/p' "$T/body" | grep -o '<option value="[^"]*">' | tr '\n' ' ')" '<option value="6.10.0"> ' \
	"a store on 6.9.4 is offered 6.10.0 alone"

# A rollback to the revision that ran 6.8.1 (its snapshot complete) is not an upgrade: allowed.
api_json POST /api/v1/stores/shop0681/upgrade "$a" '{"version": "6.8.1"}'
is "$STATUS|$(json_get 'j["error"]["fields"]["version"]')" \
	"422|6.8.1 is older than 6.9.4, which the store runs: WooCommerce cannot be downgraded. Roll back to a revision that ran 6.8.1 instead (that restores its data)." \
	"back to 6.8.1 by an upgrade: refused"
api_json POST /api/v1/stores/shop0681/rollback "$a" '{"revision": 1}'
is "$STATUS|$(json_get 'j["store"]["status"]')|$(json_get 'j["revision"]')" "202|upgrading|3" "the rollback to revision 1 (6.8.1): 202"
is "$(q "select kind || '|' || engine_version || '|' || source_revision || '|' || restore_snapshot from store_revisions where store_id = 'shop0681' and revision = 3")" \
	"rollback|6.8.1|1|r2.sql.gz" "  revision 3 goes back to 6.8.1 and restores the snapshot taken before the upgrade"
done_testing
