#!/bin/bash
# check-dumps.sh - the charts' snapshot and restore Jobs run for real, script and environment as rendered, against MariaDB and PostgreSQL on loopback; prints TAP.
#
#   tools/check-dumps.sh [woocommerce] [medusa]    (default both; tests/t0740-dump-restore.sh)
#
# What it does, for each engine:
#
#  1. `storefleetctl render ENGINE --overlay local --json --show-secrets
#     --values V` with V = snapshot {volume: true, take: r2, restore: r2,
#     restore_tag: r3}, as reconcile renders them (apply_backup).  For the
#     Jobs snapshot-r2 and restore-r3 it takes the container's command and
#     args, its env (secretKeyRef and configMapKeyRef resolved from the
#     rendered Secrets and ConfigMaps: the preview-<name> placeholders are
#     the credentials) and its volume mounts, and runs exactly that under
#     `env -i`, as nobody when root (the Jobs run as a non-root user).  The
#     only changes are addresses: an env value that is a rendered Service's
#     name (mariadb, postgres) becomes this machine's server (127.0.0.1 plus
#     MYSQL_TCP_PORT; PostgreSQL's socket folder plus PGPORT), and a mount
#     path, in a value or in the script, a temp folder (the snapshot claim is
#     one folder for both Jobs, as the volume is).
#  2. The servers, as this script's own processes: MariaDB (Debian's
#     mariadbd, from a data folder made once by mariadb-install-db and copied,
#     as the mysql user when root, on 127.0.0.1 and a free port; root's
#     password the Jobs' MYSQL_PWD, from the rendered Secret) and PostgreSQL
#     (tools/stack.sh's pg_start: as nobody when root, on a socket; the role
#     and database the Jobs' PGUSER and PGDATABASE name, made as the postgres
#     image makes them: a superuser that owns the database).
#  3. A store-shaped database with rows in every table: WordPress +
#     WooCommerce for MariaDB (posts, postmeta, options, users, usermeta,
#     terms, taxonomy, relationships, comments, HPOS orders, order items and
#     their meta, the product lookup table, sessions with raw bytes), Medusa
#     for PostgreSQL (region, sales_channel, customer, product,
#     product_variant, cart, order, order_item; jsonb, timestamptz, numeric,
#     arrays, a serial, an identity and a sequence of its own); non-ASCII
#     text, control characters, NULLs and a text of a megabyte or more.
#  4. snapshot -> update, delete, drop a table, add a table and a column,
#     move the sequences -> restore, and every table must come back: row
#     count, checksum of the rows (MariaDB CHECKSUM TABLE; PostgreSQL md5 of
#     the rows in order), definition (SHOW CREATE TABLE with its
#     AUTO_INCREMENT; columns, indexes, constraints) and every sequence.
#  5. Damaged snapshots, each refused by the restore Job with a message
#     saying so, the database left exactly as it was: truncated and with
#     bytes flipped in the middle, each with and without the SHA-256 the
#     snapshot Job records (older snapshots have none); for MariaDB also a
#     whole gzip file of a dump cut short, a dump naming another database
#     and a whole dump that fails to load half-way; for PostgreSQL a whole
#     dump that fails to load half-way (a GRANT to a role the server lacks).
#
# Every process it starts is stopped by PID at exit.  Exit status: 0 when
# every test passed, 1 otherwise.  Needs mariadb-server and mariadb-client
# (installed through tools/deps.sh when missing) and PostgreSQL.
#
# Settings (environment):
#   SF_CHARTS_DIR   the charts to render (default charts/): point it at another copy to
#                   check other scripts, e.g. an older commit's
#   SF_BUILD        the build folder (default build/): storefleetctl, mariadb-template/ (cache)
#   SF_KEEP=1       keep the temp folder with every Job's log
set -u

: "${SF_ROOT:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${SF_BUILD:=$SF_ROOT/build}"
export SF_ROOT SF_BUILD
. "$SF_ROOT/tools/stack.sh"

CTL=$SF_BUILD/bin/storefleetctl
export SF_CHARTS_DIR=${SF_CHARTS_DIR:-$SF_ROOT/charts}
unset SF_CONFIG SF_OVERLAY SF_DOMAIN SF_INGRESS_CLASS SF_TLS_SECRET SF_TLS_ISSUER
ENGINES=("$@")
[ ${#ENGINES[@]} -gt 0 ] || ENGINES=(woocommerce medusa)
for e in "${ENGINES[@]}"; do
	case $e in
	woocommerce | medusa) ;;
	*)
		echo "usage: tools/check-dumps.sh [woocommerce] [medusa]" >&2
		exit 2
		;;
	esac
done

W=$(mktemp -d /tmp/sf-check-dumps.XXXXXX)
chmod 755 "$W"
mkdir -p "$W/home" "$W/log"
# Debian's python3 ahead of a version manager's shim (as tests/lib.sh does): a shim costs
# a second a call here.
if [ -x /usr/bin/python3 ]; then
	mkdir "$W/bin" && ln -s /usr/bin/python3 "$W/bin/python3" && PATH=$W/bin:$PATH
fi
JOB_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# --- TAP ----------------------------------------------------------------------------------------
n=0
failed=0
started=$(date +%s%N)

ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $1"
	shift
	local line
	for line in "$@"; do
		printf '%s\n' "$line" | sed 's/^/#   /'
	done
}
# is GOT WANT NAME
is() {
	if [ "$1" = "$2" ]; then ok "$3"; else notok "$3" "got:" "$(printf '%s' "$1" | head -c 3000)" "expected:" "$(printf '%s' "$2" | head -c 3000)"; fi
}
# like GOT ERE NAME
like() {
	if printf '%s' "$1" | grep -Eq -- "$2"; then ok "$3"; else notok "$3" "$(printf '%s' "$1" | tail -c 2000)" "does not match: $2"; fi
}
diag() { printf '%s\n' "$*" | sed 's/^/# /'; }
bail() {
	echo "Bail out! $*"
	failed=$((failed + 1))
	exit 1
}
elapsed() { echo "$((($(date +%s%N) - started) / 1000000))"; }

CHECK_PIDS=()
cleanup() {
	local rc=$? i p

	for ((i = ${#CHECK_PIDS[@]} - 1; i >= 0; i--)); do
		p=${CHECK_PIDS[$i]}
		kill -TERM "$p" 2>/dev/null
		wait_for 30 stack_gone "$p" || kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	stack_stop
	echo "1..$n"
	diag "${CHECK_NAME:-check-dumps}: $(elapsed) ms in all; $failed failed"
	if [ "${SF_KEEP:-0}" = 1 ] || [ "$failed" -gt 0 ]; then
		diag "kept $W"
	else
		rm -rf "$W"
	fi
	[ "$failed" -eq 0 ] && [ "$rc" -eq 0 ] && exit 0
	exit 1
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The Jobs run as a non-root user, as in the cluster (nobody here when we are root).
as_job() { stack_as_pg "$@"; }
job_owns() { [ "$(id -u)" -ne 0 ] || chown -R nobody:nogroup "$@"; }

# --- the rendered Jobs ----------------------------------------------------------------------------
[ -x "$CTL" ] || bail "no $CTL: build first (make -j2 programs)"
printf 'snapshot:\n  volume: true\n  take: r2\n  restore: r2\n  restore_tag: r3\n' >"$W/values.yaml"

# render ENGINE: $W/ENGINE.json
render() {
	"$CTL" render "$1" --overlay local --store-id dumps1 --json --show-secrets --values "$W/values.yaml" \
		>"$W/$1.json" 2>"$W/log/render-$1.log" || bail "storefleetctl render $1 failed: $(cat "$W/log/render-$1.log")"
}

# job_extract ENGINE JOB HOSTS: $W/ENGINE/JOB/{argv,env} (NUL-separated) from the render, with
# the addresses rewritten; HOSTS is JSON {"service": ["host", {"EXTRA": "env"}]}.  Prints
# what it changed, one line each.
job_extract() {
	python3 - "$W/$1.json" "$2" "$3" "$W/$1" <<'PY'
import base64, json, os, re, sys
render, job, hosts, base = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
items = json.load(open(render))["items"]
def kv(o):
    d = dict(o.get("stringData") or {})
    for k, v in (o.get("data") or {}).items():
        d[k] = base64.b64decode(v).decode() if o["kind"] == "Secret" else v
    return d
secrets = {o["metadata"]["name"]: kv(o) for o in items if o["kind"] == "Secret"}
# Secrets the chart does not render (reconcile makes them, e.g. backup-s3): JSON {"name": {"key": "value"}}
secrets.update(json.loads(os.environ.get("SF_JOB_SECRETS") or "{}"))
maps = {o["metadata"]["name"]: kv(o) for o in items if o["kind"] == "ConfigMap"}
services = {o["metadata"]["name"] for o in items if o["kind"] == "Service"}
jobs = [o for o in items if o["kind"] == "Job" and o["metadata"]["name"] == job]
if len(jobs) != 1:
    sys.exit("no Job %s in the render" % job)
spec = jobs[0]["spec"]["template"]["spec"]
if len(spec["containers"]) != 1 or spec.get("initContainers"):
    sys.exit("Job %s: expected one container and no init containers" % job)
c = spec["containers"][0]
if c.get("envFrom") or c.get("workingDir"):
    sys.exit("Job %s: envFrom/workingDir are not handled here" % job)
vols = {v["name"]: v for v in spec.get("volumes", [])}
out = os.path.join(base, job)
os.makedirs(out, exist_ok=True)
changes, mounts = [], []
for m in c.get("volumeMounts", []):
    v = vols[m["name"]]
    if "persistentVolumeClaim" in v:
        local = os.path.join(base, "claim-" + v["persistentVolumeClaim"]["claimName"], m.get("subPath", ""))
    elif "emptyDir" in v:
        local = os.path.join(out, "empty-" + m["name"])
    else:
        sys.exit("Job %s: volume %s is neither a claim nor an emptyDir" % (job, m["name"]))
    os.makedirs(local, exist_ok=True)
    mounts.append((m["mountPath"], local))
    changes.append("mount %s -> %s" % (m["mountPath"], local))
# one pass, longest mount path first, so a replacement is never rewritten again
local_of = dict(mounts)
mount_re = re.compile(r"(?<![\w./-])(" + "|".join(re.escape(mp) for mp in sorted(local_of, key=len, reverse=True))
                      + r")(?=/|$|[^\w.-])") if mounts else None
def paths(s):
    return mount_re.sub(lambda m: local_of[m.group(1)], s) if mount_re else s
env, extra = [], {}
for e in c.get("env", []):
    if "value" in e:
        v = e["value"]
    elif "secretKeyRef" in e.get("valueFrom", {}):
        r = e["valueFrom"]["secretKeyRef"]
        v = secrets[r["name"]][r["key"]]
    elif "configMapKeyRef" in e.get("valueFrom", {}):
        r = e["valueFrom"]["configMapKeyRef"]
        v = maps[r["name"]][r["key"]]
    else:
        sys.exit("Job %s: env %s: only value, secretKeyRef and configMapKeyRef are handled" % (job, e["name"]))
    if v in services and v in hosts:
        changes.append("%s=%s -> %s %s" % (e["name"], v, hosts[v][0], " ".join("%s=%s" % x for x in hosts[v][1].items())))
        extra.update(hosts[v][1])
        v = hosts[v][0]
    else:
        v = paths(v)
    env.append("%s=%s" % (e["name"], v))
env += ["%s=%s" % x for x in extra.items()]
argv = [paths(a) for a in c.get("command", []) + c.get("args", [])]
for name, vals in (("argv", argv), ("env", env)):
    with open(os.path.join(out, name), "wb") as f:
        f.write(b"".join(x.encode() + b"\0" for x in vals))
print("\n".join(changes))
PY
}

# run_job ENGINE JOB: runs it as extracted; its output in $W/log/ENGINE-JOB-<n>.log, the path in
# $JOB_LOG.  Returns the Job's exit status.
run_job() {
	local dir=$W/$1/$2 argv envs

	mapfile -d '' argv <"$dir/argv"
	mapfile -d '' envs <"$dir/env"
	JOB_LOG=$W/log/$1-$2-$n.log
	job_owns "$W/$1" "$W/home"
	(cd "$W/home" && as_job timeout 600 env -i PATH="$JOB_PATH" HOME="$W/home" LANG=C.UTF-8 \
		"${envs[@]}" "${argv[@]}") >"$JOB_LOG" 2>&1
}

# job_env ENGINE JOB NAME: a variable of the extracted environment
job_env() {
	tr '\0' '\n' <"$W/$1/$2/env" | sed -n "s/^$3=//p" | head -n 1
}

# --- MariaDB ------------------------------------------------------------------------------------
MY_BASE=$W/mariadb
my_user() { if [ "$(id -u)" -eq 0 ]; then echo mysql; else id -un; fi; }

# A data folder made by mariadb-install-db (7 s here) is made once per build dir and
# mariadbd version, and copied (as stack.sh does for PostgreSQL).  It is made in a
# folder the server's user can reach and then copied into the build dir.
my_template() {
	local tpl=$SF_BUILD/mariadb-template version tmp

	version=$(mariadbd --version 2>/dev/null)
	(
		flock 9
		if [ ! -d "$tpl/data/mysql" ] || [ "$(cat "$tpl/version" 2>/dev/null)" != "$version" ]; then
			tmp=$W/mariadb-template
			mkdir -p "$tmp/data"
			[ "$(id -u)" -eq 0 ] && chown mysql:mysql "$tmp/data"
			mariadb-install-db --no-defaults --user="$(my_user)" --datadir="$tmp/data" \
				--auth-root-authentication-method=normal --skip-test-db \
				>"$W/log/mariadb-install-db.log" 2>&1 || {
				echo "mariadb-install-db failed; the last lines of its log:" >&2
				tail -n 5 "$W/log/mariadb-install-db.log" >&2
				exit 1
			}
			rm -rf "$tpl" && mkdir -p "$tpl" && cp -a "$tmp/data" "$tpl/data" &&
				printf '%s\n' "$version" >"$tpl/version" || exit 1
			rm -rf "$tmp"
		fi
	) 9>"$SF_BUILD/.mariadb-template.lock" || return 1
	echo "$tpl/data"
}

# my_start ROOT_PASSWORD: mariadbd on 127.0.0.1:$MY_PORT (a free port unless set); root@localhost and root@127.0.0.1
# get the password.
my_start() {
	local tpl pw=$1

	tpl=$(my_template) || return 1
	mkdir -p "$MY_BASE/run"
	cp -a "$tpl" "$MY_BASE/data" || return 1
	[ "$(id -u)" -eq 0 ] && chown -R mysql:mysql "$MY_BASE"
	: "${MY_PORT:=$(free_port)}"
	mariadbd --no-defaults --user="$(my_user)" --datadir="$MY_BASE/data" \
		--socket="$MY_BASE/run/mysqld.sock" --port="$MY_PORT" --bind-address=127.0.0.1 \
		--pid-file="$MY_BASE/run/mysqld.pid" --log-error="$MY_BASE/run/error.log" \
		--skip-log-bin --skip-name-resolve --character-set-server=utf8mb4 \
		--collation-server=utf8mb4_general_ci --innodb-buffer-pool-size=128M \
		--innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 \
		>>"$W/log/mariadbd.log" 2>&1 &
	MY_PID=$!
	CHECK_PIDS+=("$MY_PID")
	wait_for 60 mariadb-admin --no-defaults -S "$MY_BASE/run/mysqld.sock" -u root ping || {
		echo "mariadbd did not start; its last words:" >&2
		tail -n 5 "$MY_BASE/run/error.log" "$W/log/mariadbd.log" >&2 2>/dev/null
		return 1
	}
	mariadb --no-defaults -S "$MY_BASE/run/mysqld.sock" -u root -e "
		ALTER USER root@localhost IDENTIFIED BY '$pw';
		ALTER USER root@'127.0.0.1' IDENTIFIED BY '$pw';" || return 1
	MY_PW=$pw
}

# my [mariadb args...]: root over TCP, as the Jobs connect; batch output
my() {
	MYSQL_PWD=$MY_PW mariadb --no-defaults -h 127.0.0.1 -P "$MY_PORT" -u root --batch \
		--skip-column-names --default-character-set=utf8mb4 "$@"
}

# my_fingerprint DB: the database's character set, one line per table (rows, CHECKSUM TABLE,
# md5 of SHOW CREATE TABLE, which holds AUTO_INCREMENT), its triggers; one client call.
my_fingerprint() {
	local db=$1 t

	{
		echo "SELECT concat('database ', default_character_set_name, ' ', default_collation_name)
			FROM information_schema.schemata WHERE schema_name = '$db';"
		for t in $(my -e "SELECT table_name FROM information_schema.tables WHERE table_schema = '$db' ORDER BY 1"); do
			echo "SELECT '$t', count(*) FROM \`$db\`.\`$t\`;"
			echo "CHECKSUM TABLE \`$db\`.\`$t\` EXTENDED;"
			echo "SHOW CREATE TABLE \`$db\`.\`$t\`;"
		done
		echo "SELECT concat('trigger ', trigger_name, ' ', md5(action_statement)) FROM information_schema.triggers
			WHERE trigger_schema = '$db' ORDER BY trigger_name;"
	} | my | python3 -c 'import hashlib, sys
lines = sys.stdin.read().split("\n")[:-1]
print(lines[0])
i = 1
while i + 2 < len(lines) and not lines[i].startswith("trigger "):
    t, rows = lines[i].split("\t")
    print("%s rows=%s checksum=%s definition=%s" % (t, rows, lines[i + 1].split("\t")[1],
          hashlib.md5(lines[i + 2].encode()).hexdigest()[:16]))
    i += 3
print("\n".join(lines[i:]))' | sed '/^$/d'
}

# The WordPress + WooCommerce tables (as WordPress 6.8 and WooCommerce 9 create them, minus
# some columns), with rows in each.
my_schema() {
	cat <<'SQL'
SET NAMES utf8mb4;
SET SESSION max_recursive_iterations = 100000;
CREATE TABLE wp_options (
  option_id bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  option_name varchar(191) NOT NULL DEFAULT '',
  option_value longtext NOT NULL,
  autoload varchar(20) NOT NULL DEFAULT 'yes',
  PRIMARY KEY (option_id),
  UNIQUE KEY option_name (option_name),
  KEY autoload (autoload)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
INSERT INTO wp_options (option_name, option_value, autoload) VALUES
 ('siteurl', 'http://store-example.127.0.0.1.nip.io', 'yes'),
 ('blogname', 'Ünïcödé Störe — 日本語のお店 🛒', 'yes'),
 ('woocommerce_currency', 'EUR', 'yes'),
 ('wp_user_roles', 'a:2:{s:13:"administrator";a:2:{s:4:"name";s:13:"Administrator";s:12:"capabilities";a:1:{s:14:"manage_options";b:1;}}s:8:"customer";a:1:{s:4:"name";s:8:"Customer";}}', 'yes'),
 ('_transient_quotes', 'it''s "quoted", back\\slash, tab\there, CR\rLF\n, NUL\0byte, ctrl \Z', 'no'),
 ('rewrite_rules', REPEAT('^shop/page/([0-9]{1,})/?$ => index.php?post_type=product&paged=$matches[1]\n', 20000), 'yes');
CREATE TABLE wp_users (
  ID bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  user_login varchar(60) NOT NULL DEFAULT '',
  user_pass varchar(255) NOT NULL DEFAULT '',
  user_nicename varchar(50) NOT NULL DEFAULT '',
  user_email varchar(100) NOT NULL DEFAULT '',
  user_url varchar(100) NOT NULL DEFAULT '',
  user_registered datetime NOT NULL DEFAULT '0000-00-00 00:00:00',
  user_activation_key varchar(255) NOT NULL DEFAULT '',
  user_status int(11) NOT NULL DEFAULT 0,
  display_name varchar(250) NOT NULL DEFAULT '',
  PRIMARY KEY (ID),
  KEY user_login_key (user_login),
  KEY user_nicename (user_nicename),
  KEY user_email (user_email)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
INSERT INTO wp_users (user_login, user_pass, user_nicename, user_email, user_registered, display_name)
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300)
SELECT CONCAT('user', i), CONCAT('$P$B', SHA2(i, 256)), CONCAT('user-', i), CONCAT('user', i, '@example.com'),
       '2025-01-01 00:00:00' + INTERVAL i HOUR,
       CASE i % 4 WHEN 0 THEN 'Zoë Åström' WHEN 1 THEN 'Иван Петров' WHEN 2 THEN '王小明' ELSE CONCAT('Customer ', i) END
FROM n;
CREATE TABLE wp_usermeta (
  umeta_id bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  user_id bigint(20) unsigned NOT NULL DEFAULT 0,
  meta_key varchar(255) DEFAULT NULL,
  meta_value longtext DEFAULT NULL,
  PRIMARY KEY (umeta_id),
  KEY user_id (user_id),
  KEY meta_key (meta_key(191))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
INSERT INTO wp_usermeta (user_id, meta_key, meta_value)
SELECT ID, k, CASE k WHEN 'billing_city' THEN IF(ID % 2, 'Zürich', 'São Paulo') WHEN 'nickname' THEN user_nicename
       WHEN 'wp_capabilities' THEN 'a:1:{s:8:"customer";b:1;}' ELSE NULL END
FROM wp_users CROSS JOIN (SELECT 'billing_city' k UNION ALL SELECT 'nickname' UNION ALL SELECT 'wp_capabilities' UNION ALL SELECT 'session_tokens') mk;
CREATE TABLE wp_posts (
  ID bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  post_author bigint(20) unsigned NOT NULL DEFAULT 0,
  post_date datetime NOT NULL DEFAULT '0000-00-00 00:00:00',
  post_date_gmt datetime NOT NULL DEFAULT '0000-00-00 00:00:00',
  post_content longtext NOT NULL,
  post_title text NOT NULL,
  post_excerpt text NOT NULL,
  post_status varchar(20) NOT NULL DEFAULT 'publish',
  comment_status varchar(20) NOT NULL DEFAULT 'open',
  ping_status varchar(20) NOT NULL DEFAULT 'open',
  post_password varchar(255) NOT NULL DEFAULT '',
  post_name varchar(200) NOT NULL DEFAULT '',
  to_ping text NOT NULL,
  pinged text NOT NULL,
  post_modified datetime NOT NULL DEFAULT '0000-00-00 00:00:00',
  post_modified_gmt datetime NOT NULL DEFAULT '0000-00-00 00:00:00',
  post_content_filtered longtext NOT NULL,
  post_parent bigint(20) unsigned NOT NULL DEFAULT 0,
  guid varchar(255) NOT NULL DEFAULT '',
  menu_order int(11) NOT NULL DEFAULT 0,
  post_type varchar(20) NOT NULL DEFAULT 'post',
  post_mime_type varchar(100) NOT NULL DEFAULT '',
  comment_count bigint(20) NOT NULL DEFAULT 0,
  PRIMARY KEY (ID),
  KEY post_name (post_name(191)),
  KEY type_status_date (post_type, post_status, post_date, ID),
  KEY post_parent (post_parent),
  KEY post_author (post_author)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
INSERT INTO wp_posts (post_author, post_date, post_date_gmt, post_content, post_title, post_excerpt, post_name,
                      to_ping, pinged, post_modified, post_modified_gmt, post_content_filtered, guid, post_type, post_status)
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
SELECT 1 + i % 5, '2025-03-01 12:00:00' + INTERVAL i MINUTE, '2025-03-01 11:00:00' + INTERVAL i MINUTE,
       CASE WHEN i = 7 THEN REPEAT('<!-- wp:paragraph --><p>Big text, ünïcödé ✓</p><!-- /wp:paragraph -->\n', 40000)
            WHEN i % 3 = 0 THEN CONCAT('<p>Kaffee & Kuchen „', i, '“ — ¡Olé! 🍰</p>')
            ELSE CONCAT('Plain product description ', i, '\r\nsecond line\twith tab') END,
       CONCAT(IF(i % 2, 'Product ', 'Produkt Nr. '), i, IF(i % 10 = 0, ' — édition spéciale', '')),
       '', CONCAT('product-', i), '', '', '2025-04-01 00:00:00', '2025-04-01 00:00:00', '',
       CONCAT('http://store-example.127.0.0.1.nip.io/?post_type=product&p=', i),
       CASE WHEN i <= 1500 THEN 'product' WHEN i <= 1900 THEN 'shop_order_placehold' ELSE 'page' END,
       IF(i % 50 = 0, 'draft', 'publish')
FROM n;
CREATE TABLE wp_postmeta (
  meta_id bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  post_id bigint(20) unsigned NOT NULL DEFAULT 0,
  meta_key varchar(255) DEFAULT NULL,
  meta_value longtext DEFAULT NULL,
  PRIMARY KEY (meta_id),
  KEY post_id (post_id),
  KEY meta_key (meta_key(191))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
INSERT INTO wp_postmeta (post_id, meta_key, meta_value)
SELECT p.ID, k.k,
       CASE k.k WHEN '_price' THEN FORMAT(p.ID * 1.37, 2, 'en_US') WHEN '_sku' THEN CONCAT('SKU-', LPAD(p.ID, 6, '0'))
                WHEN '_stock' THEN IF(p.ID % 7 = 0, NULL, p.ID % 40)
                ELSE CONCAT('a:1:{s:4:"note";s:', LENGTH(CONCAT('größe ', p.ID)), ':"größe ', p.ID, '";}') END
FROM wp_posts p CROSS JOIN (SELECT '_price' k UNION ALL SELECT '_sku' UNION ALL SELECT '_stock' UNION ALL SELECT '_product_attributes') k
WHERE p.post_type = 'product';
CREATE TABLE wp_terms (
  term_id bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  name varchar(200) NOT NULL DEFAULT '',
  slug varchar(200) NOT NULL DEFAULT '',
  term_group bigint(10) NOT NULL DEFAULT 0,
  PRIMARY KEY (term_id),
  KEY slug (slug(191)),
  KEY name (name(191))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
INSERT INTO wp_terms (name, slug) VALUES ('Uncategorized', 'uncategorized'), ('simple', 'simple'),
 ('variable', 'variable'), ('Café', 'cafe'), ('Küche & Haushalt', 'kuche-haushalt'), ('玩具', '%e7%8e%a9%e5%85%b7');
CREATE TABLE wp_term_taxonomy (
  term_taxonomy_id bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  term_id bigint(20) unsigned NOT NULL DEFAULT 0,
  taxonomy varchar(32) NOT NULL DEFAULT '',
  description longtext NOT NULL,
  parent bigint(20) unsigned NOT NULL DEFAULT 0,
  count bigint(20) NOT NULL DEFAULT 0,
  PRIMARY KEY (term_taxonomy_id),
  UNIQUE KEY term_id_taxonomy (term_id, taxonomy),
  KEY taxonomy (taxonomy)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
INSERT INTO wp_term_taxonomy (term_id, taxonomy, description, count)
SELECT term_id, IF(slug IN ('simple', 'variable'), 'product_type', 'product_cat'), CONCAT('Beschreibung: ', name), 0 FROM wp_terms;
CREATE TABLE wp_term_relationships (
  object_id bigint(20) unsigned NOT NULL DEFAULT 0,
  term_taxonomy_id bigint(20) unsigned NOT NULL DEFAULT 0,
  term_order int(11) NOT NULL DEFAULT 0,
  PRIMARY KEY (object_id, term_taxonomy_id),
  KEY term_taxonomy_id (term_taxonomy_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
INSERT INTO wp_term_relationships (object_id, term_taxonomy_id)
SELECT ID, 2 + ID % 2 FROM wp_posts WHERE post_type = 'product'
UNION ALL SELECT ID, 4 + ID % 3 FROM wp_posts WHERE post_type = 'product';
UPDATE wp_term_taxonomy tt SET count = (SELECT count(*) FROM wp_term_relationships r WHERE r.term_taxonomy_id = tt.term_taxonomy_id);
CREATE TABLE wp_comments (
  comment_ID bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  comment_post_ID bigint(20) unsigned NOT NULL DEFAULT 0,
  comment_author tinytext NOT NULL,
  comment_author_email varchar(100) NOT NULL DEFAULT '',
  comment_author_url varchar(200) NOT NULL DEFAULT '',
  comment_author_IP varchar(100) NOT NULL DEFAULT '',
  comment_date datetime NOT NULL DEFAULT '0000-00-00 00:00:00',
  comment_date_gmt datetime NOT NULL DEFAULT '0000-00-00 00:00:00',
  comment_content text NOT NULL,
  comment_karma int(11) NOT NULL DEFAULT 0,
  comment_approved varchar(20) NOT NULL DEFAULT '1',
  comment_agent varchar(255) NOT NULL DEFAULT '',
  comment_type varchar(20) NOT NULL DEFAULT 'comment',
  comment_parent bigint(20) unsigned NOT NULL DEFAULT 0,
  user_id bigint(20) unsigned NOT NULL DEFAULT 0,
  PRIMARY KEY (comment_ID),
  KEY comment_post_ID (comment_post_ID),
  KEY comment_approved_date_gmt (comment_approved, comment_date_gmt),
  KEY comment_date_gmt (comment_date_gmt),
  KEY comment_parent (comment_parent),
  KEY comment_author_email (comment_author_email(10))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
INSERT INTO wp_comments (comment_post_ID, comment_author, comment_author_email, comment_author_IP, comment_date,
                         comment_date_gmt, comment_content, comment_type, user_id)
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 600)
SELECT 1 + i % 1500, IF(i % 2, 'Renée', 'Юлия'), CONCAT('c', i, '@example.org'), '127.0.0.1',
       '2025-05-01' + INTERVAL i MINUTE, '2025-05-01' + INTERVAL i MINUTE,
       CONCAT('Sehr gut! ★★★★', IF(i % 5 = 0, '☆', '★'), ' <script>alert("x")</script> \\ ', i),
       IF(i % 3 = 0, 'review', 'order_note'), i % 300
FROM n;
CREATE TABLE wp_wc_orders (
  id bigint(20) unsigned NOT NULL,
  status varchar(20) DEFAULT NULL,
  currency varchar(10) DEFAULT NULL,
  type varchar(20) DEFAULT NULL,
  tax_amount decimal(26,8) DEFAULT NULL,
  total_amount decimal(26,8) DEFAULT NULL,
  customer_id bigint(20) unsigned DEFAULT NULL,
  billing_email varchar(320) DEFAULT NULL,
  date_created_gmt datetime DEFAULT NULL,
  date_updated_gmt datetime DEFAULT NULL,
  parent_order_id bigint(20) unsigned DEFAULT NULL,
  payment_method varchar(100) DEFAULT NULL,
  payment_method_title text DEFAULT NULL,
  transaction_id varchar(100) DEFAULT NULL,
  ip_address varchar(100) DEFAULT NULL,
  user_agent text DEFAULT NULL,
  customer_note text DEFAULT NULL,
  PRIMARY KEY (id),
  KEY status (status),
  KEY date_created (date_created_gmt),
  KEY customer_id_billing_email (customer_id, billing_email(171)),
  KEY billing_email (billing_email(191)),
  KEY type_status_date (type, status, date_created_gmt),
  KEY parent_order_id (parent_order_id),
  KEY date_updated (date_updated_gmt)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
INSERT INTO wp_wc_orders (id, status, currency, type, tax_amount, total_amount, customer_id, billing_email,
                          date_created_gmt, date_updated_gmt, parent_order_id, payment_method, payment_method_title,
                          transaction_id, ip_address, user_agent, customer_note)
SELECT ID, ELT(1 + ID % 4, 'wc-completed', 'wc-processing', 'wc-on-hold', 'wc-refunded'), 'EUR', 'shop_order',
       ID * 0.19, ID * 1.19 + 0.00000001, IF(ID % 9 = 0, NULL, 1 + ID % 300), IF(ID % 9 = 0, NULL, CONCAT('user', 1 + ID % 300, '@example.com')),
       post_date_gmt, post_modified_gmt, IF(ID % 13 = 0, ID - 1, NULL), 'bacs', 'Überweisung',
       NULL, '127.0.0.1', 'Mozilla/5.0 (X11; Linux x86_64)', IF(ID % 11 = 0, 'Bitte klingeln — 2. OG 🚪', NULL)
FROM wp_posts WHERE post_type = 'shop_order_placehold';
CREATE TABLE wp_woocommerce_order_items (
  order_item_id bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  order_item_name text NOT NULL,
  order_item_type varchar(200) NOT NULL DEFAULT '',
  order_id bigint(20) unsigned NOT NULL,
  PRIMARY KEY (order_item_id),
  KEY order_id (order_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
INSERT INTO wp_woocommerce_order_items (order_item_name, order_item_type, order_id)
SELECT IF(k = 3, 'Versand', CONCAT('Product ', 1 + (o.id * k) % 1500)), IF(k = 3, 'shipping', 'line_item'), o.id
FROM wp_wc_orders o CROSS JOIN (SELECT 1 k UNION ALL SELECT 2 UNION ALL SELECT 3) k;
CREATE TABLE wp_woocommerce_order_itemmeta (
  meta_id bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  order_item_id bigint(20) unsigned NOT NULL,
  meta_key varchar(255) DEFAULT NULL,
  meta_value longtext DEFAULT NULL,
  PRIMARY KEY (meta_id),
  KEY order_item_id (order_item_id),
  KEY meta_key (meta_key(32))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
INSERT INTO wp_woocommerce_order_itemmeta (order_item_id, meta_key, meta_value)
SELECT i.order_item_id, k, CASE k WHEN '_qty' THEN 1 + i.order_item_id % 3 WHEN '_line_total' THEN i.order_item_id * 2.5
                                  ELSE IF(i.order_item_id % 4 = 0, NULL, 'a:0:{}') END
FROM wp_woocommerce_order_items i CROSS JOIN (SELECT '_qty' k UNION ALL SELECT '_line_total' UNION ALL SELECT '_line_tax_data') k;
CREATE TABLE wp_wc_product_meta_lookup (
  product_id bigint(20) NOT NULL,
  sku varchar(100) DEFAULT '',
  global_unique_id varchar(100) DEFAULT '',
  `virtual` tinyint(1) DEFAULT 0,
  downloadable tinyint(1) DEFAULT 0,
  min_price decimal(19,4) DEFAULT NULL,
  max_price decimal(19,4) DEFAULT NULL,
  onsale tinyint(1) DEFAULT 0,
  stock_quantity double DEFAULT NULL,
  stock_status varchar(100) DEFAULT 'instock',
  rating_count bigint(20) DEFAULT 0,
  average_rating decimal(3,2) DEFAULT 0.00,
  total_sales bigint(20) DEFAULT 0,
  tax_status varchar(100) DEFAULT 'taxable',
  tax_class varchar(100) DEFAULT '',
  PRIMARY KEY (product_id),
  KEY `virtual` (`virtual`),
  KEY downloadable (downloadable),
  KEY stock_status (stock_status),
  KEY stock_quantity (stock_quantity),
  KEY onsale (onsale),
  KEY min_max_price (min_price, max_price),
  KEY sku (sku(50))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
INSERT INTO wp_wc_product_meta_lookup (product_id, sku, min_price, max_price, onsale, stock_quantity, stock_status, average_rating, total_sales)
SELECT ID, CONCAT('SKU-', LPAD(ID, 6, '0')), ID * 1.37, ID * 1.37, ID % 5 = 0, IF(ID % 7 = 0, NULL, ID % 40 + 0.5),
       IF(ID % 7 = 0, 'outofstock', 'instock'), (ID % 500) / 100, ID * 3
FROM wp_posts WHERE post_type = 'product';
-- WordPress core has no BLOB column; plugins do (sessions, caches): raw bytes, NUL and 0xff included
CREATE TABLE wp_woocommerce_sessions (
  session_id bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  session_key char(32) NOT NULL,
  session_value longblob NOT NULL,
  session_expiry bigint(20) unsigned NOT NULL,
  PRIMARY KEY (session_id),
  UNIQUE KEY session_key (session_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
INSERT INTO wp_woocommerce_sessions (session_key, session_value, session_expiry)
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)
SELECT MD5(i), CONCAT(UNHEX('00FF00FE0D0A5C27225C00'), REPEAT(UNHEX(SHA2(i, 512)), 1 + i % 64)), 1767225600 + i
FROM n;
SQL
}

# my_change DB: what an upgrade might do before it is rolled back: rows updated and
# deleted, a table dropped, a column and a table added, AUTO_INCREMENT moved.
my_change() {
	my "$1" <<'SQL'
UPDATE wp_posts SET post_title = CONCAT(post_title, ' (v2)'), post_content = 'rewritten by the new version' WHERE ID % 10 = 0;
UPDATE wp_options SET option_value = 'Renamed store' WHERE option_name = 'blogname';
DELETE FROM wp_postmeta WHERE meta_key = '_stock';
DELETE FROM wp_woocommerce_sessions WHERE session_id % 3 = 0;
DROP TABLE wp_wc_product_meta_lookup;
ALTER TABLE wp_wc_orders ADD COLUMN recorded_sales tinyint(1) DEFAULT 0;
CREATE TABLE wp_wc_orders_meta (id bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY, order_id bigint unsigned, meta_key varchar(255), meta_value text);
INSERT INTO wp_wc_orders_meta (order_id, meta_key, meta_value) SELECT id, '_new', 'x' FROM wp_wc_orders;
INSERT INTO wp_users (user_login, user_email, display_name) VALUES ('late', 'late@example.com', 'Late Comer');
SQL
}

# --- PostgreSQL ---------------------------------------------------------------------------------
# pg [psql args...]: the stack's superuser on the store's database
pg() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$PG_DB" "$@"; }

# pg_fingerprint: per table rows and the md5 of its rows in order, every sequence's state,
# and the md5 of the columns, indexes and constraints.
pg_fingerprint() {
	pg <<'SQL'
SELECT format('SELECT %L || '' rows='' || count(*) || '' md5='' || md5(coalesce(string_agg(x::text, chr(10) ORDER BY x::text), '''')) FROM public.%I x',
              c.relname, c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY c.relname
\gexec
SELECT format('SELECT %L || '' last_value='' || last_value || '' is_called='' || is_called FROM public.%I', c.relname, c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relkind = 'S' ORDER BY c.relname
\gexec
SELECT 'columns ' || md5(string_agg(format('%s.%s %s %s %s', table_name, column_name, data_type, is_nullable, column_default), ','
                                   ORDER BY table_name, ordinal_position))
  FROM information_schema.columns WHERE table_schema = 'public';
SELECT 'indexes ' || md5(coalesce(string_agg(indexdef, ',' ORDER BY indexname), '')) FROM pg_indexes WHERE schemaname = 'public';
SELECT 'constraints ' || md5(coalesce(string_agg(conname || ' ' || pg_get_constraintdef(c.oid), ',' ORDER BY conname), ''))
  FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = 'public';
SQL
}

# The Medusa-shaped tables (after Medusa 2's, fewer columns), with rows in each.
pg_schema() {
	cat <<'SQL'
SET client_min_messages = warning;
CREATE TABLE region (
  id text PRIMARY KEY,
  name text NOT NULL,
  currency_code text NOT NULL,
  automatic_taxes boolean NOT NULL DEFAULT true,
  metadata jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);
INSERT INTO region (id, name, currency_code, metadata, created_at, updated_at, deleted_at) VALUES
 ('reg_01EU', 'Europe', 'eur', '{"countries": ["de", "fr", "es"], "note": "Ünïcödé ✓"}', '2025-01-01 10:00:00+01', '2025-01-02 10:00:00+01', NULL),
 ('reg_01US', 'United States', 'usd', NULL, '2025-01-01 10:00:00-05', '2025-01-01 10:00:00-05', NULL),
 ('reg_01JP', '日本', 'jpy', '{"tax": {"rate": 0.10, "inclusive": true}}', '2025-01-03 09:00:00+09', '2025-01-03 09:00:00+09', NULL),
 ('reg_01OLD', 'Retired region', 'gbp', '{}', '2024-06-01 00:00:00+00', '2024-12-31 23:59:59.999999+00', '2025-01-01 00:00:00+00');
CREATE TABLE sales_channel (
  id text PRIMARY KEY,
  name text NOT NULL,
  description text,
  is_disabled boolean NOT NULL DEFAULT false,
  metadata jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);
INSERT INTO sales_channel (id, name, description, is_disabled, metadata, created_at, updated_at) VALUES
 ('sc_01DEFAULT', 'Default Sales Channel', 'Created by Medusa', false, NULL, '2025-01-01', '2025-01-01'),
 ('sc_01POS', 'Point of sale — Café', E'Tab\there, newline\nthere, quote '' and backslash \\', false, '{"pos": {"terminals": 3}}', '2025-02-01', '2025-02-01'),
 ('sc_01B2B', 'B2B', NULL, true, '{"price_list": null}', '2025-03-01', '2025-03-05');
CREATE TABLE customer (
  id text PRIMARY KEY,
  company_name text,
  first_name text,
  last_name text,
  email text,
  phone text,
  has_account boolean NOT NULL DEFAULT false,
  metadata jsonb,
  created_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);
CREATE UNIQUE INDEX "IDX_customer_email_has_account_unique" ON customer (email, has_account) WHERE deleted_at IS NULL;
INSERT INTO customer (id, company_name, first_name, last_name, email, phone, has_account, metadata, created_at, updated_at, deleted_at)
SELECT 'cus_' || lpad(i::text, 8, '0'),
       CASE WHEN i % 10 = 0 THEN 'Müller & Söhne GmbH' END,
       (ARRAY['Zoë', 'Иван', '小明', 'Renée', 'José'])[1 + i % 5],
       (ARRAY['Åström', 'Петров', '王', 'O''Brien', 'Núñez'])[1 + i % 5],
       'customer' || i || '@example.com',
       CASE WHEN i % 3 = 0 THEN NULL ELSE '+49 30 ' || (1000000 + i) END,
       i % 4 <> 0,
       CASE WHEN i % 7 = 0 THEN NULL ELSE jsonb_build_object('newsletter', i % 2 = 0, 'tags', jsonb_build_array('vip', 'früh'), 'score', i * 1.5) END,
       timestamptz '2025-01-01 00:00:00+00' + i * interval '37 minutes',
       timestamptz '2025-02-01 00:00:00+00' + i * interval '41 minutes',
       CASE WHEN i % 50 = 0 THEN timestamptz '2025-06-01 12:00:00+00' END
FROM generate_series(1, 500) i;
CREATE SEQUENCE product_rank_seq START 1000 INCREMENT 10;
CREATE TABLE product (
  id text PRIMARY KEY,
  title text NOT NULL,
  handle text NOT NULL,
  subtitle text,
  description text,
  is_giftcard boolean NOT NULL DEFAULT false,
  status text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'proposed', 'published', 'rejected')),
  thumbnail text,
  weight text,
  discountable boolean NOT NULL DEFAULT true,
  external_id text,
  tags text[],
  rank bigint NOT NULL DEFAULT nextval('product_rank_seq'),
  metadata jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);
ALTER SEQUENCE product_rank_seq OWNED BY product.rank;
CREATE UNIQUE INDEX "IDX_product_handle_unique" ON product (handle) WHERE deleted_at IS NULL;
INSERT INTO product (id, title, handle, subtitle, description, is_giftcard, status, thumbnail, weight, tags, metadata, created_at, updated_at)
SELECT 'prod_' || lpad(i::text, 8, '0'),
       CASE i % 4 WHEN 0 THEN 'Kaffeebecher „Ölmühle“ ' || i WHEN 1 THEN 'T-shirt 👕 ' || i WHEN 2 THEN 'お茶 ' || i ELSE 'Product ' || i END,
       'product-' || i,
       CASE WHEN i % 5 = 0 THEN NULL ELSE 'Subtitle ' || i END,
       CASE WHEN i = 7 THEN repeat(E'<p>Big description, ünïcödé ✓ — line\n', 25000)
            ELSE E'Description ' || i || E'\twith tab, "quotes" and \\backslash' END,
       i % 97 = 0,
       (ARRAY['draft', 'proposed', 'published', 'published', 'rejected'])[1 + i % 5],
       CASE WHEN i % 2 = 0 THEN 'http://store-example.127.0.0.1.nip.io/static/p' || i || '.png' END,
       CASE WHEN i % 3 = 0 THEN NULL ELSE (i * 10)::text END,
       CASE WHEN i % 6 = 0 THEN NULL ELSE ARRAY['neu', 'sale ' || i % 3, 'ñ'] END,
       jsonb_build_object('origin', (ARRAY['DE', 'JP', 'US'])[1 + i % 3], 'dims', jsonb_build_object('w', i % 30, 'h', 1.25 * i), 'note', E'line1\nline2 ☕', 'null', NULL),
       timestamptz '2025-03-01 00:00:00+00' + i * interval '1 hour 3 minutes',
       timestamptz '2025-03-02 00:00:00+00' + i * interval '1 hour 5 minutes'
FROM generate_series(1, 1200) i;
CREATE TABLE product_variant (
  id text PRIMARY KEY,
  title text NOT NULL,
  sku text,
  barcode text,
  allow_backorder boolean NOT NULL DEFAULT false,
  manage_inventory boolean NOT NULL DEFAULT true,
  variant_rank integer DEFAULT 0,
  product_id text REFERENCES product (id) ON UPDATE CASCADE ON DELETE CASCADE,
  prices jsonb NOT NULL DEFAULT '[]',
  metadata jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);
CREATE INDEX "IDX_product_variant_product_id" ON product_variant (product_id) WHERE deleted_at IS NULL;
INSERT INTO product_variant (id, title, sku, barcode, allow_backorder, variant_rank, product_id, prices, metadata, created_at, updated_at)
SELECT 'variant_' || lpad(p::text, 6, '0') || '_' || v,
       (ARRAY['S', 'M', 'L', 'XL — größer'])[v],
       'SKU-' || p || '-' || v,
       CASE WHEN v = 4 THEN NULL ELSE lpad((p * 10 + v)::text, 13, '4') END,
       v = 4, v,
       'prod_' || lpad(p::text, 8, '0'),
       jsonb_build_array(jsonb_build_object('currency_code', 'eur', 'amount', round(p * 1.37 + v, 2)),
                         jsonb_build_object('currency_code', 'jpy', 'amount', p * 150 + v)),
       CASE WHEN v = 2 THEN '{"color": "grün"}' END::jsonb,
       timestamptz '2025-03-01 00:00:00+00' + p * interval '1 hour',
       timestamptz '2025-03-01 00:00:00+00' + p * interval '1 hour'
FROM generate_series(1, 1200) p, generate_series(1, 4) v;
CREATE TABLE cart (
  id text PRIMARY KEY,
  region_id text REFERENCES region (id),
  customer_id text REFERENCES customer (id),
  sales_channel_id text REFERENCES sales_channel (id),
  email text,
  currency_code text NOT NULL,
  metadata jsonb,
  completed_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);
INSERT INTO cart (id, region_id, customer_id, sales_channel_id, email, currency_code, metadata, completed_at, created_at, updated_at)
SELECT 'cart_' || lpad(i::text, 8, '0'),
       (ARRAY['reg_01EU', 'reg_01US', 'reg_01JP'])[1 + i % 3],
       CASE WHEN i % 4 = 0 THEN NULL ELSE 'cus_' || lpad((1 + i % 500)::text, 8, '0') END,
       'sc_01DEFAULT',
       CASE WHEN i % 4 = 0 THEN NULL ELSE 'customer' || (1 + i % 500) || '@example.com' END,
       (ARRAY['eur', 'usd', 'jpy'])[1 + i % 3],
       CASE WHEN i % 9 = 0 THEN '{"gift_note": "Alles Gute zum Geburtstag! 🎂"}' END::jsonb,
       CASE WHEN i % 2 = 0 THEN timestamptz '2025-04-01 00:00:00+00' + i * interval '17 minutes' END,
       timestamptz '2025-04-01 00:00:00+00' + i * interval '13 minutes',
       timestamptz '2025-04-01 00:00:00+00' + i * interval '15 minutes'
FROM generate_series(1, 800) i;
CREATE TABLE "order" (
  id text PRIMARY KEY,
  display_id serial NOT NULL,
  region_id text REFERENCES region (id),
  customer_id text REFERENCES customer (id),
  sales_channel_id text,
  version integer NOT NULL DEFAULT 1,
  status text NOT NULL DEFAULT 'pending',
  email text,
  currency_code text NOT NULL,
  is_draft_order boolean NOT NULL DEFAULT false,
  shipping_address jsonb,
  metadata jsonb,
  canceled_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);
CREATE INDEX "IDX_order_customer_id" ON "order" (customer_id) WHERE deleted_at IS NULL;
INSERT INTO "order" (id, region_id, customer_id, sales_channel_id, status, email, currency_code, shipping_address, metadata, canceled_at, created_at, updated_at)
SELECT 'order_' || lpad(i::text, 8, '0'),
       (ARRAY['reg_01EU', 'reg_01US', 'reg_01JP'])[1 + i % 3],
       'cus_' || lpad((1 + i % 500)::text, 8, '0'),
       'sc_01DEFAULT',
       (ARRAY['pending', 'completed', 'canceled', 'archived', 'requires_action'])[1 + i % 5],
       'customer' || (1 + i % 500) || '@example.com',
       (ARRAY['eur', 'usd', 'jpy'])[1 + i % 3],
       jsonb_build_object('first_name', 'Zoë', 'address_1', 'Straße des 17. Juni ' || i, 'city', 'Berlin', 'postal_code', '10623', 'country_code', 'de'),
       CASE WHEN i % 11 = 0 THEN '{"note": "Bitte klingeln — 2. OG 🚪"}' END::jsonb,
       CASE WHEN i % 5 = 2 THEN timestamptz '2025-05-02 00:00:00+00' + i * interval '1 minute' END,
       timestamptz '2025-05-01 00:00:00+00' + i * interval '7 minutes',
       timestamptz '2025-05-01 00:00:00+00' + i * interval '9 minutes'
FROM generate_series(1, 700) i;
CREATE TABLE order_item (
  id text PRIMARY KEY,
  order_id text NOT NULL REFERENCES "order" (id) ON DELETE CASCADE,
  version integer NOT NULL DEFAULT 1,
  item_id bigint GENERATED BY DEFAULT AS IDENTITY UNIQUE,
  title text NOT NULL,
  variant_id text,
  quantity numeric NOT NULL,
  raw_quantity jsonb NOT NULL,
  unit_price numeric NOT NULL,
  raw_unit_price jsonb NOT NULL,
  metadata jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);
INSERT INTO order_item (id, order_id, title, variant_id, quantity, raw_quantity, unit_price, raw_unit_price, metadata, created_at, updated_at)
SELECT 'ordli_' || lpad(o::text, 6, '0') || '_' || k,
       'order_' || lpad(o::text, 8, '0'),
       'Kaffeebecher „Ölmühle“ ' || (o * k) % 1200,
       'variant_' || lpad((1 + (o * k) % 1200)::text, 6, '0') || '_' || k,
       k, jsonb_build_object('value', k::text, 'precision', 20),
       round(o * 1.37 + k, 2) + 0.000000000000000001,
       jsonb_build_object('value', (round(o * 1.37 + k, 2) + 0.000000000000000001)::text, 'precision', 20),
       CASE WHEN k = 3 THEN NULL ELSE '{"engraving": "für dich ♥"}' END::jsonb,
       timestamptz '2025-05-01 00:00:00+00' + o * interval '7 minutes',
       timestamptz '2025-05-01 00:00:00+00' + o * interval '7 minutes'
FROM generate_series(1, 700) o, generate_series(1, 3) k;
SQL
}

pg_change() {
	psql -X -q -v ON_ERROR_STOP=1 -U "$PG_OWNER" -d "$PG_DB" <<'SQL'
SET client_min_messages = warning;
UPDATE product SET title = title || ' (v2)', metadata = metadata || '{"v2": true}' WHERE id LIKE '%0';
DELETE FROM order_item WHERE id LIKE '%\_3';
DELETE FROM product_variant WHERE variant_rank = 4;
DROP TABLE cart;
ALTER TABLE product ADD COLUMN collection_id text;
CREATE TABLE product_collection (id text PRIMARY KEY, title text NOT NULL, handle text);
INSERT INTO product_collection VALUES ('pcol_01', 'Sommer ☀', 'summer');
INSERT INTO "order" (id, currency_code) SELECT 'order_new_' || i, 'eur' FROM generate_series(1, 5) i;
INSERT INTO order_item (id, order_id, title, quantity, raw_quantity, unit_price, raw_unit_price)
  VALUES ('ordli_new', 'order_new_1', 'x', 1, '{}', 1, '{}');
SELECT nextval('product_rank_seq') FROM generate_series(1, 3);
SQL
}

# --- damaged snapshots --------------------------------------------------------------------------
# flip FILE: 16 bytes in the middle inverted, in place
flip() {
	python3 -c 'import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
m = len(b) // 2
for i in range(m, m + 16):
    b[i] ^= 0xFF
open(p, "wb").write(b)' "$1"
}

# put SNAP SOURCE SUM: SOURCE becomes the snapshot SNAP; SUM: "recorded" keeps the good
# snapshot's SHA-256 file ($GOOD.sha256), "fresh" records SOURCE's own, "none" none.
put() {
	local snap=$1 src=$2 sum=$3

	cp "$src" "$snap"
	case $sum in
	recorded) sed "s/  .*/  $(basename "$snap")/" "$GOOD.sha256" >"$snap.sha256" ;;
	fresh) echo "$(sha256sum <"$snap" | cut -d' ' -f1)  $(basename "$snap")" >"$snap.sha256" ;;
	none) rm -f "$snap.sha256" ;;
	esac
	job_owns "$(dirname "$snap")"
}

# refused ENGINE NAME ERE FINGERPRINT_FN WANT [HELPERS_FN]: the restore Job exits non-zero,
# says ERE, and the database is as it was.
refused() {
	local engine=$1 name=$2 ere=$3 fp=$4 want=$5 helpers=${6:-}

	run_job "$engine" restore-r3
	local rc=$?
	if [ $rc -ne 0 ]; then ok "$name: restore-r3 exits $rc"; else notok "$name: restore-r3 exits non-zero" "$(tail -n 5 "$JOB_LOG")"; fi
	like "$(cat "$JOB_LOG")" "$ere" "$name: it says why"
	is "$("$fp")" "$want" "$name: the database is as it was"
	[ -z "$helpers" ] || is "$("$helpers")" "" "$name: no scratch database left behind"
}

# --- WooCommerce: mysqldump | gzip, and its restore -------------------------------------------
check_woocommerce() {
	local db pw snap hosts job changes f0 f1 f2 out rc t

	diag "WooCommerce: MariaDB $(mariadbd --version 2>/dev/null | sed -n 's/.*Ver \([^ ]*\).*/\1/p')"
	render woocommerce
	MY_PORT=$(free_port)
	hosts="{\"mariadb\": [\"127.0.0.1\", {\"MYSQL_TCP_PORT\": \"$MY_PORT\"}]}"
	for job in snapshot-r2 restore-r3; do
		changes=$(job_extract woocommerce "$job" "$hosts" 2>&1) || bail "woocommerce $job: $changes"
		diag "woocommerce $job, as rendered but for: $(printf '%s' "$changes" | paste -sd ';' | sed 's/;/; /g')"
	done
	db=$(job_env woocommerce snapshot-r2 DB_NAME)
	pw=$(job_env woocommerce snapshot-r2 MYSQL_PWD)
	snap=$(job_env woocommerce snapshot-r2 SNAPSHOT)
	[ -n "$db" ] && [ -n "$pw" ] && [ -n "$snap" ] || bail "woocommerce: snapshot-r2 has no DB_NAME, MYSQL_PWD or SNAPSHOT"
	is "$(job_env woocommerce restore-r3 SNAPSHOT)" "$snap" "woocommerce: restore-r3 loads the file snapshot-r2 writes"
	my_start "$pw" || bail "cannot start mariadbd"
	my -e "CREATE DATABASE \`$db\`" && my_schema | my "$db" || bail "woocommerce: the schema did not load"
	out=$(my -e "SELECT table_name FROM information_schema.tables WHERE table_schema = '$db' AND table_rows = 0")
	is "$out" "" "woocommerce: every table has rows"
	f0=$(my_fingerprint "$db")
	diag "$(printf '%s\n' "$f0" | wc -l) lines of fingerprint, $(my -e "SELECT sum(data_length) FROM information_schema.tables WHERE table_schema = '$db'") bytes of data"

	# the snapshot
	run_job woocommerce snapshot-r2
	rc=$?
	is "$rc" 0 "woocommerce: snapshot-r2 exits 0"
	[ $rc -eq 0 ] || diag "$(tail -n 5 "$JOB_LOG")"
	ok_file() { [ -s "$snap" ] && [ ! -e "$snap.part" ]; }
	if ok_file; then ok "woocommerce: $snap written, no .part left"; else notok "woocommerce: $snap written, no .part left" "$(ls -la "$(dirname "$snap")")"; fi
	out=$(cd "$(dirname "$snap")" && sha256sum --check --strict "$(basename "$snap").sha256" 2>&1)
	like "$out" ': OK$' "woocommerce: its SHA-256 recorded beside it (sha256sum --check passes)"
	is "$(my_fingerprint "$db")" "$f0" "woocommerce: the snapshot changed nothing"
	GOOD=$W/good.sql.gz
	cp "$snap" "$GOOD" && cp "$snap.sha256" "$GOOD.sha256"

	# change, restore, compare
	my_change "$db" || bail "woocommerce: the changes failed"
	out=$(my_fingerprint "$db")
	if [ "$out" != "$f0" ]; then ok "woocommerce: the changes show in the fingerprint"; else notok "woocommerce: the changes show in the fingerprint"; fi
	run_job woocommerce restore-r3
	rc=$?
	is "$rc" 0 "woocommerce: restore-r3 exits 0"
	[ $rc -eq 0 ] || diag "$(tail -n 5 "$JOB_LOG")"
	out=$(my_fingerprint "$db")
	is "$out" "$f0" "woocommerce: every table back as snapshotted (rows, checksums, definitions, AUTO_INCREMENT)"
	like "$out" '^wp_wc_product_meta_lookup rows=1500 ' "woocommerce: the dropped table is back"
	is "$(my -e "SELECT count(*) FROM information_schema.tables WHERE table_schema = '$db' AND table_name = 'wp_wc_orders_meta'")" 0 \
		"woocommerce: the table the new version added is gone"
	is "$(my -e "SELECT option_value FROM \`$db\`.wp_options WHERE option_name = 'blogname'")" \
		"Ünïcödé Störe — 日本語のお店 🛒" "woocommerce: non-ASCII text intact"
	is "$(my -e "SELECT hex(left(session_value, 11)) FROM \`$db\`.wp_woocommerce_sessions WHERE session_id = 1")" \
		00FF00FE0D0A5C27225C00 "woocommerce: raw bytes intact (NUL, 0xff, CR LF, quotes, backslash)"
	like "$(cat "$JOB_LOG")" "swapping ${db}__restore in for $db" "woocommerce: loaded into a scratch database and swapped in"
	my_helpers() { my -e "SELECT schema_name FROM information_schema.schemata WHERE schema_name IN ('${db}__restore', '${db}__old')"; }
	is "$(my_helpers)" "" "woocommerce: no scratch database left behind"

	# damaged snapshots are refused and the database stays as it is
	my "$db" -e "UPDATE wp_options SET option_value = 'changed after the rollback' WHERE option_name = 'siteurl';
		DELETE FROM wp_comments WHERE comment_ID % 2 = 0; DROP TABLE wp_terms;" || bail "woocommerce: the changes failed"
	f1=$(my_fingerprint "$db")
	fp() { my_fingerprint "$db"; }
	head -c "$(($(stat -c %s "$GOOD") / 2))" "$GOOD" >"$W/truncated.sql.gz"
	cp "$GOOD" "$W/flipped.sql.gz" && flip "$W/flipped.sql.gz"
	gunzip -c "$GOOD" | head -n 40 | gzip >"$W/cut.sql.gz"
	gunzip -c "$GOOD" | sed 's/^USE `'"$db"'`;$/USE `mysql`;/' | gzip >"$W/other.sql.gz"
	gunzip -c "$GOOD" | sed '0,/^INSERT INTO `wp_postmeta`/s/^INSERT INTO `wp_postmeta` .*/INSERT INTO `wp_postmeta` (no_such_column) VALUES (1);/' |
		gzip >"$W/badsql.sql.gz"

	put "$snap" "$W/truncated.sql.gz" recorded
	refused woocommerce "woocommerce: truncated, SHA-256 recorded" 'truncated or corrupt: its SHA-256 is' fp "$f1" my_helpers
	put "$snap" "$W/flipped.sql.gz" recorded
	refused woocommerce "woocommerce: 16 bytes flipped in the middle, SHA-256 recorded" 'truncated or corrupt: its SHA-256 is' fp "$f1" my_helpers
	put "$snap" "$W/truncated.sql.gz" none
	refused woocommerce "woocommerce: truncated, no SHA-256 (an older snapshot)" 'truncated or corrupt: .*unexpected end of file' fp "$f1" my_helpers
	put "$snap" "$W/flipped.sql.gz" none
	refused woocommerce "woocommerce: bytes flipped, no SHA-256" 'truncated or corrupt: .*(crc error|invalid|format violated|length error)' fp "$f1" my_helpers
	put "$snap" "$W/cut.sql.gz" none
	refused woocommerce "woocommerce: a whole gzip file of a dump cut short" "lacks mysqldump's closing line" fp "$f1" my_helpers
	put "$snap" "$W/other.sql.gz" fresh
	refused woocommerce "woocommerce: a dump that names another database" 'names another database \(USE `mysql`;\)' fp "$f1" my_helpers
	put "$snap" "$W/badsql.sql.gz" fresh
	refused woocommerce "woocommerce: a whole dump that fails to load half-way" "did not load into ${db}__restore" fp "$f1" my_helpers

	# a snapshot taken by the older chart (no SHA-256 beside it) is restored
	put "$snap" "$GOOD" none
	run_job woocommerce restore-r3
	is "$?" 0 "woocommerce: a whole snapshot without a recorded SHA-256 restores"
	like "$(cat "$JOB_LOG")" 'has no recorded SHA-256' "woocommerce: saying it has no SHA-256"
	is "$(my_fingerprint "$db")" "$f0" "woocommerce: every table back"

	# with a trigger (a plugin's), tables cannot move between databases: loaded in place
	my "$db" -e "CREATE TRIGGER wp_posts_touch BEFORE UPDATE ON wp_posts FOR EACH ROW SET NEW.post_modified_gmt = NEW.post_modified_gmt" ||
		bail "woocommerce: cannot create the trigger"
	f2=$(my_fingerprint "$db")
	run_job woocommerce snapshot-r2
	is "$?" 0 "woocommerce: with a trigger: snapshot-r2 exits 0"
	my_change "$db" && my "$db" -e "DROP TRIGGER wp_posts_touch" || bail "woocommerce: the changes failed"
	run_job woocommerce restore-r3
	is "$?" 0 "woocommerce: with a trigger: restore-r3 exits 0"
	like "$(cat "$JOB_LOG")" 'loading .* in place' "woocommerce: with a trigger: loaded in place after the scratch load"
	is "$(my_fingerprint "$db")" "$f2" "woocommerce: with a trigger: every table and the trigger back"
	is "$(my_helpers)" "" "woocommerce: with a trigger: no scratch database left behind"
}

# --- Medusa: pg_dump -Fc, and its restore -----------------------------------------------------
check_medusa() {
	local hosts job changes f0 f1 out rc pw snap

	render medusa
	pg_start "$W/pg" || bail "cannot start PostgreSQL"
	diag "Medusa: PostgreSQL $(stack_pg_major) (the chart's image: $(python3 -c 'import json,sys
print([o for o in json.load(open(sys.argv[1]))["items"] if o["kind"] == "StatefulSet"][0]["spec"]["template"]["spec"]["containers"][0]["image"])' "$W/medusa.json"))"
	hosts="{\"postgres\": [\"$PG_DIR\", {\"PGPORT\": \"$PGPORT\"}]}"
	for job in snapshot-r2 restore-r3; do
		changes=$(job_extract medusa "$job" "$hosts" 2>&1) || bail "medusa $job: $changes"
		diag "medusa $job, as rendered but for: $(printf '%s' "$changes" | paste -sd ';' | sed 's/;/; /g')"
	done
	PG_OWNER=$(job_env medusa snapshot-r2 PGUSER)
	PG_DB=$(job_env medusa snapshot-r2 PGDATABASE)
	pw=$(job_env medusa snapshot-r2 PGPASSWORD)
	snap=$(job_env medusa snapshot-r2 SNAPSHOT)
	[ -n "$PG_OWNER" ] && [ -n "$PG_DB" ] && [ -n "$snap" ] || bail "medusa: snapshot-r2 has no PGUSER, PGDATABASE or SNAPSHOT"
	is "$(job_env medusa restore-r3 SNAPSHOT)" "$snap" "medusa: restore-r3 loads the file snapshot-r2 writes"
	# as the postgres image makes them: POSTGRES_USER is a superuser and owns POSTGRES_DB
	psql -X -q -v ON_ERROR_STOP=1 -c "CREATE ROLE \"$PG_OWNER\" LOGIN SUPERUSER PASSWORD '$pw'" \
		-c "CREATE DATABASE \"$PG_DB\" OWNER \"$PG_OWNER\"" >/dev/null || bail "medusa: cannot create the role and database"
	pg_schema | psql -X -q -v ON_ERROR_STOP=1 -U "$PG_OWNER" -d "$PG_DB" >/dev/null || bail "medusa: the schema did not load"
	pg -c 'ANALYZE' || bail "medusa: ANALYZE failed"
	out=$(pg -c "SELECT relname FROM pg_stat_user_tables WHERE n_live_tup = 0 ORDER BY 1")
	is "$out" "" "medusa: every table has rows"
	f0=$(pg_fingerprint)
	diag "$(printf '%s\n' "$f0" | wc -l) lines of fingerprint, $(pg -c "SELECT pg_database_size(current_database())") bytes of database"

	run_job medusa snapshot-r2
	rc=$?
	is "$rc" 0 "medusa: snapshot-r2 exits 0"
	[ $rc -eq 0 ] || diag "$(tail -n 5 "$JOB_LOG")"
	if [ -s "$snap" ] && [ ! -e "$snap.part" ]; then ok "medusa: $snap written, no .part left"; else notok "medusa: $snap written, no .part left"; fi
	out=$(cd "$(dirname "$snap")" && sha256sum --check --strict "$(basename "$snap").sha256" 2>&1)
	like "$out" ': OK$' "medusa: its SHA-256 recorded beside it (sha256sum --check passes)"
	is "$(pg_fingerprint)" "$f0" "medusa: the snapshot changed nothing"
	GOOD=$W/good.dump
	cp "$snap" "$GOOD" && cp "$snap.sha256" "$GOOD.sha256"

	pg_change >/dev/null || bail "medusa: the changes failed"
	out=$(pg_fingerprint)
	if [ "$out" != "$f0" ]; then ok "medusa: the changes show in the fingerprint"; else notok "medusa: the changes show in the fingerprint"; fi
	run_job medusa restore-r3
	rc=$?
	is "$rc" 0 "medusa: restore-r3 exits 0"
	[ $rc -eq 0 ] || diag "$(tail -n 5 "$JOB_LOG")"
	out=$(pg_fingerprint)
	is "$out" "$f0" "medusa: every table and sequence back as snapshotted (rows, md5 of rows, columns, indexes, constraints)"
	like "$out" '^cart rows=800 ' "medusa: the dropped table is back"
	like "$out" '^order_display_id_seq last_value=700 is_called=t' "medusa: the serial's sequence is back where it was"
	is "$(pg -c "SELECT count(*) FROM pg_class WHERE relname = 'product_collection'")" 0 "medusa: the table the new version added is gone"
	is "$(pg -c "SELECT metadata->>'note' FROM region WHERE id = 'reg_01EU'")" \
		"Ünïcödé ✓" "medusa: jsonb with non-ASCII text intact"
	pg_helpers() { pg -c "SELECT nspname FROM pg_namespace WHERE nspname NOT IN ('public', 'information_schema') AND nspname NOT LIKE 'pg\_%'"; }

	# damaged snapshots
	pg -c "UPDATE region SET name = 'changed after the rollback' WHERE id = 'reg_01EU'" \
		-c "DELETE FROM order_item WHERE id LIKE '%\_2'" -c "DROP TABLE cart" || bail "medusa: the changes failed"
	f1=$(pg_fingerprint)
	fp() { pg_fingerprint; }
	head -c "$(($(stat -c %s "$GOOD") / 2))" "$GOOD" >"$W/truncated.dump"
	cp "$GOOD" "$W/flipped.dump" && flip "$W/flipped.dump"
	put "$snap" "$W/truncated.dump" recorded
	refused medusa "medusa: truncated, SHA-256 recorded" 'truncated or corrupt: its SHA-256 is' fp "$f1" pg_helpers
	put "$snap" "$W/flipped.dump" recorded
	refused medusa "medusa: 16 bytes flipped in the middle, SHA-256 recorded" 'truncated or corrupt: its SHA-256 is' fp "$f1" pg_helpers
	put "$snap" "$W/truncated.dump" none
	refused medusa "medusa: truncated, no SHA-256 (an older snapshot)" 'truncated or corrupt: .*pg_restore: error' fp "$f1" pg_helpers
	put "$snap" "$W/flipped.dump" none
	refused medusa "medusa: bytes flipped, no SHA-256" 'truncated or corrupt: .*pg_restore: error' fp "$f1" pg_helpers

	# a whole, readable dump whose load fails after every table's data: a GRANT to a role
	# this server does not have
	pg -c "CREATE ROLE sf_reporting" -c "GRANT SELECT ON product, \"order\" TO sf_reporting" || bail "medusa: cannot grant"
	run_job medusa snapshot-r2
	is "$?" 0 "medusa: a snapshot with a GRANT to sf_reporting"
	pg -c "REVOKE ALL ON product, \"order\" FROM sf_reporting" -c "DROP ROLE sf_reporting" || bail "medusa: cannot drop the role"
	refused medusa "medusa: a whole dump that fails to load half-way" 'ERROR: +role "sf_reporting" does not exist' fp "$f1" pg_helpers

	put "$snap" "$GOOD" none
	run_job medusa restore-r3
	is "$?" 0 "medusa: a whole snapshot without a recorded SHA-256 restores"
	like "$(cat "$JOB_LOG")" 'has no recorded SHA-256' "medusa: saying it has no SHA-256"
	is "$(pg_fingerprint)" "$f0" "medusa: every table and sequence back"
}

# tools/check-backups.sh sources all of the above (TAP, the rendered Jobs, MariaDB and PostgreSQL
# with their store-shaped databases) and runs checks of its own.
[ "${SF_DUMPS_LIB:-0}" = 1 ] && return 0

# --- prerequisites, then the checks -------------------------------------------------------------
for e in "${ENGINES[@]}"; do
	case $e in
	woocommerce)
		if ! command -v mariadbd >/dev/null 2>&1 || ! command -v mariadb-install-db >/dev/null 2>&1 ||
			! command -v mariadb-dump >/dev/null 2>&1; then
			"$SF_ROOT/tools/deps.sh" mariadb-server mariadb-client >&2 ||
				bail "mariadb-server and mariadb-client are missing and could not be installed"
		fi
		[ "$(id -u)" -ne 0 ] || id mysql >/dev/null 2>&1 || bail "no mysql user to run mariadbd as"
		;;
	medusa)
		[ -x "$PGBIN/initdb" ] || bail "PostgreSQL is not installed (tools/deps.sh)"
		;;
	esac
done
for e in "${ENGINES[@]}"; do
	t0=$(date +%s%N)
	"check_$e"
	diag "$e: $((($(date +%s%N) - t0) / 1000000)) ms"
done
