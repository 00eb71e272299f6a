#!/bin/bash
# check-backups.sh - the charts' backup and restore Jobs (75-backup.yaml) run for real, script and environment as rendered, against MariaDB or PostgreSQL and an S3 server (s3rver) on loopback, with Debian's rclone; prints TAP.
#
#   tools/check-backups.sh woocommerce|medusa [restore|faults]    (default both parts;
#     tests/t0741-backup-woocommerce.sh restore, t0742 faults; t0743 and t0744 for Medusa)
#   tools/check-backups.sh woocommerce measure    (not a test: the time and bytes of a backup
#     and a restore of a store with 1,000 products and 200 MB of generated uploads)
#
# It sources tools/check-dumps.sh for what the snapshot checks already do:
# `storefleetctl render`, the Jobs' extraction (command, env with
# secretKeyRef and configMapKeyRef resolved, mounts as temp folders; the
# Secret backup-s3, which reconcile makes and the chart does not render, is
# s3rver's key), the servers as this script's own processes, and the
# store-shaped databases.  Then, for the engine:
#
#  1. backup-bk1 streams the dump and the uploads (generated files: names
#     with spaces and non-ASCII, an empty file, nested folders) to s3rver;
#     the objects and manifest.json are checked from outside (SHA-256 and
#     size of each object as rclone reads it back, the manifest's fields).
#  2. The database is changed and files are deleted, changed and added;
#     restore-backup-t1 brings both back: the database's fingerprint and
#     every file's SHA-256 as they were, no helper folder left.  Its script
#     holds 70-snapshot.yaml's restore script verbatim.
#     The render passes tools/k8s-validate -W.
#  3. Faults, each with its reason and the store or the bucket as it must be:
#     an object corrupted in the bucket, a manifest for another store, one
#     naming an object outside the backup, one too large, a backup without
#     manifest (refused, nothing changed); a missing bucket, a wrong key and
#     object storage going away mid-upload (the backup fails, no manifest).
#
# Every process it starts is stopped by PID at exit.  Settings as check-dumps.sh.
set -u

: "${SF_ROOT:=$(cd "$(dirname "$0")/.." && pwd)}"
ENGINE=${1:-} PART=${2:-all}
case $ENGINE:$PART in
woocommerce:restore | woocommerce:faults | woocommerce:all | medusa:restore | medusa:faults | medusa:all) ;;
woocommerce:measure) ;;
*)
	echo "usage: tools/check-backups.sh woocommerce|medusa [restore|faults] | woocommerce measure" >&2
	exit 2
	;;
esac
part() { [ "$PART" = all ] || [ "$PART" = "$1" ]; }
CHECK_NAME=check-backups
# shellcheck source=tools/check-dumps.sh
SF_DUMPS_LIB=1 . "$SF_ROOT/tools/check-dumps.sh" "$ENGINE"

command -v rclone >/dev/null 2>&1 || "$SF_ROOT/tools/deps.sh" rclone >&2 || bail "rclone is missing and could not be installed"
unset AWS_CA_BUNDLE
BUCKET=stores
S3ID=dumps1
s3_start "$W/s3" "$BUCKET" || bail "cannot start s3rver"
# rclone as the test's own S3 client (the Jobs get theirs from the rendered env)
tc() {
	env RCLONE_CONFIG=/dev/null RCLONE_S3_NO_CHECK_BUCKET=true RCLONE_CONFIG_T_TYPE=s3 RCLONE_CONFIG_T_PROVIDER=Other \
		RCLONE_CONFIG_T_ENDPOINT="$S3_ENDPOINT" RCLONE_CONFIG_T_REGION=us-east-1 RCLONE_CONFIG_T_FORCE_PATH_STYLE=true \
		RCLONE_CONFIG_T_ACCESS_KEY_ID="$S3_ACCESS_KEY" RCLONE_CONFIG_T_SECRET_ACCESS_KEY="$S3_SECRET_KEY" \
		rclone -q --retries 1 --low-level-retries 1 "$@"
}
prefix() { echo "stores/$S3ID/backups/$1"; }
# object ID NAME: the file s3rver keeps for an object
object() { echo "$S3_DIR/$BUCKET/$(prefix "$1")/$2._S3rver_object"; }

cat >"$W/values.yaml" <<EOF
snapshot:
  volume: true
  take: r2
  restore: r2
  restore_tag: r3
backup:
  enabled: true
  endpoint: $S3_ENDPOINT
  bucket: $BUCKET
  take: bk1
  restore: bk1
  restore_tag: t1
  revision: 0123456789abcdef
EOF
export SF_JOB_SECRETS="{\"backup-s3\": {\"access-key-id\": \"$S3_ACCESS_KEY\", \"secret-access-key\": \"$S3_SECRET_KEY\"}}"
render "$ENGINE"

# What is applied is valid Kubernetes (the schema tools/k8s-validate checks every chart against).
out=$(python3 -c 'import json, sys; print(json.dumps(json.load(open(sys.argv[1]))))' "$W/$ENGINE.json" |
	"$SF_ROOT/tools/k8s-validate" -W 2>&1 | tail -n 1)
like "$out" ' [1-9][0-9]* object\(s\), 0 problem\(s\), 0 warning\(s\)' "$ENGINE: the render with backup and restore set passes tools/k8s-validate -W"

# The restore Job restores the database exactly as the snapshot restore Job does.
out=$(python3 - "$W/$ENGINE.json" <<'PY'
import json, sys
items = json.load(open(sys.argv[1]))["items"]
script = {o["metadata"]["name"]: o["spec"]["template"]["spec"]["containers"][0]["command"][2]
          for o in items if o["kind"] == "Job"}
print("verbatim" if script["restore-r3"] in script["restore-backup-t1"] else "differs")
PY
)
is "$out" verbatim "$ENGINE: restore-backup-t1 holds restore-r3's script (70-snapshot.yaml) verbatim"

# run_jobx JOB [NAME=VALUE...]: run_job with these variables changed
run_jobx() {
	local job=$1 dir=$W/$ENGINE/$1 argv envs

	shift
	mapfile -d '' argv <"$dir/argv"
	mapfile -d '' envs <"$dir/env"
	JOB_LOG=$W/log/$ENGINE-$job-$n.log
	job_owns "$W/$ENGINE" "$W/home"
	(cd "$W/home" && as_job timeout 300 env -i PATH="$JOB_PATH" HOME="$W/home" LANG=C.UTF-8 \
		"${envs[@]}" "$@" "${argv[@]}") >"$JOB_LOG" 2>&1
}

# --- the store's files ----------------------------------------------------------------------------
# files_fp: every file and folder under the uploads with its SHA-256 (folders: "dir")
files_fp() {
	(cd "$FILES" && find . -mindepth 1 \( -type d -printf '%p dir\n' \) -o \( -type f -printf '%p ' -exec sh -c 'sha256sum <"$1" | cut -d" " -f1' _ {} \; \)) |
		LC_ALL=C sort
}
make_files() {
	mkdir -p "$FILES/2026/11" "$FILES/2026/12/deep/er" "$FILES/wc-logs"
	head -c 300000 /dev/urandom >"$FILES/2026/11/product one.jpg"
	head -c 70000 /dev/urandom >"$FILES/2026/12/Ünïcödé — 日本.png"
	head -c 5000 /dev/urandom >"$FILES/2026/12/deep/er/x.webp"
	: >"$FILES/2026/12/empty.txt"
	printf 'log\n' >"$FILES/wc-logs/fatal-errors.log"
	job_owns "$W/$ENGINE"
}
damage_files() {
	rm -rf "$FILES/2026/11"
	printf 'changed' >"$FILES/2026/12/deep/er/x.webp"
	printf 'new' >"$FILES/2026/12/added after the backup.txt"
}

# --- the engine's database ----------------------------------------------------------------------
# A few of the store's tables with rows of every kind (the dump checks, t0740, load the big ones):
# non-ASCII text, raw bytes, NULLs, an AUTO_INCREMENT / a serial, jsonb.
my_small() {
	cat <<'SQL'
SET NAMES utf8mb4;
CREATE TABLE wp_options (option_id bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,
  option_name varchar(191) NOT NULL UNIQUE, option_value longtext NOT NULL) DEFAULT CHARSET=utf8mb4;
INSERT INTO wp_options (option_name, option_value) VALUES ('blogname', 'Ünïcödé Störe — 日本語のお店 🛒'),
  ('siteurl', 'http://store-dumps1.127.0.0.1.nip.io'), ('quotes', 'it''s "q", back\\slash, NUL\0, CR\rLF\n');
CREATE TABLE wp_posts (ID bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY, post_title text NOT NULL,
  post_type varchar(20) NOT NULL, post_excerpt text NULL) DEFAULT CHARSET=utf8mb4;
INSERT INTO wp_posts (post_title, post_type, post_excerpt)
  SELECT concat('Product ', seq, ' — Größe'), IF(seq % 2, 'product', 'shop_order'), IF(seq % 5, NULL, 'x')
  FROM seq_1_to_500;
CREATE TABLE wp_postmeta (meta_id bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY, post_id bigint unsigned NOT NULL,
  meta_key varchar(255), meta_value longtext, KEY post_id (post_id)) DEFAULT CHARSET=utf8mb4;
INSERT INTO wp_postmeta (post_id, meta_key, meta_value) SELECT seq, '_price', seq * 1.5 FROM seq_1_to_500;
CREATE TABLE wp_woocommerce_sessions (session_id bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,
  session_value longblob NOT NULL);
INSERT INTO wp_woocommerce_sessions (session_value) VALUES (unhex('00FF00FE0D0A5C27225C00'));
SQL
}
pg_small() {
	cat <<'SQL'
CREATE TABLE region (id text PRIMARY KEY, name text NOT NULL, metadata jsonb);
INSERT INTO region VALUES ('reg_01EU', 'Europe', '{"note": "Ünïcödé ✓"}'), ('reg_02US', 'US', NULL);
CREATE TABLE product (id text PRIMARY KEY, title text NOT NULL, tags text[], created_at timestamptz DEFAULT '2026-01-01');
INSERT INTO product SELECT 'prod_' || i, 'Product ' || i || ' — Größe', ARRAY['a', 'b'] FROM generate_series(1, 300) i;
CREATE TABLE product_variant (id text PRIMARY KEY, product_id text REFERENCES product, price numeric(12, 2));
INSERT INTO product_variant SELECT 'var_' || i, 'prod_' || (i % 300 + 1), i * 1.25 FROM generate_series(1, 600) i;
CREATE TABLE "order" (id serial PRIMARY KEY, display_id int, raw bytea);
CREATE SEQUENCE order_display_id_seq;
INSERT INTO "order" (display_id, raw) SELECT nextval('order_display_id_seq'), '\x00ff0d0a'::bytea FROM generate_series(1, 200);
SQL
}
hosts=
case $ENGINE in
woocommerce)
	MY_PORT=$(free_port)
	hosts="{\"mariadb\": [\"127.0.0.1\", {\"MYSQL_TCP_PORT\": \"$MY_PORT\"}]}"
	;;
medusa)
	pg_start "$W/pg" || bail "cannot start PostgreSQL"
	hosts="{\"postgres\": [\"$PG_DIR\", {\"PGPORT\": \"$PGPORT\"}]}"
	;;
esac
for job in backup-bk1 restore-backup-t1; do
	changes=$(job_extract "$ENGINE" "$job" "$hosts" 2>&1) || bail "$ENGINE $job: $changes"
	diag "$ENGINE $job, as rendered but for: $(printf '%s' "$changes" | paste -sd ';' | sed 's/;/; /g')"
done
FILES=$(job_env "$ENGINE" backup-bk1 FILES)
is "$(job_env "$ENGINE" restore-backup-t1 FILES)" "$FILES" "$ENGINE: the restore writes the files the backup reads"
case $ENGINE in
woocommerce)
	db=$(job_env woocommerce backup-bk1 DB_NAME)
	pw=$(job_env woocommerce backup-bk1 MYSQL_PWD)
	my_start "$pw" || bail "cannot start mariadbd"
	my -e "CREATE DATABASE \`$db\`" && my_small | my "$db" || bail "woocommerce: the schema did not load"
	db_fp() { my_fingerprint "$db"; }
	db_change() {
		my "$db" -e "UPDATE wp_options SET option_value = 'damaged' WHERE option_name = 'blogname';
			DELETE FROM wp_posts WHERE ID % 3 = 0; DROP TABLE wp_postmeta;
			CREATE TABLE wp_new (id int PRIMARY KEY); ALTER TABLE wp_posts ADD COLUMN extra int"
	}
	dump=database.sql.gz
	;;
medusa)
	PG_OWNER=$(job_env medusa backup-bk1 PGUSER)
	PG_DB=$(job_env medusa backup-bk1 PGDATABASE)
	pw=$(job_env medusa backup-bk1 PGPASSWORD)
	psql -X -q -v ON_ERROR_STOP=1 -c "CREATE ROLE \"$PG_OWNER\" LOGIN SUPERUSER PASSWORD '$pw'" \
		-c "CREATE DATABASE \"$PG_DB\" OWNER \"$PG_OWNER\"" >/dev/null || bail "medusa: cannot create the role and database"
	pg_small | psql -X -q -v ON_ERROR_STOP=1 -U "$PG_OWNER" -d "$PG_DB" >/dev/null || bail "medusa: the schema did not load"
	db_fp() { pg_fingerprint; }
	db_change() {
		pg -c "UPDATE product SET title = 'damaged' WHERE id = 'prod_1'" -c "DELETE FROM product_variant WHERE id LIKE '%3'" \
			-c "DROP TABLE region" -c "CREATE TABLE product_collection (id text PRIMARY KEY)" \
			-c "SELECT setval('order_display_id_seq', 9999)" >/dev/null
	}
	dump=database.dump
	;;
esac
diag "$(elapsed) ms: servers and schema"
make_files
f0=$(db_fp)
g0=$(files_fp)

# refused_restore NAME ERE: restore-backup-t1 fails saying ERE, database and files unchanged
refused_restore() {
	run_jobx restore-backup-t1
	local rc=$?
	if [ $rc -ne 0 ]; then ok "$ENGINE: $1: the restore exits $rc"; else notok "$ENGINE: $1: the restore exits non-zero"; fi
	like "$(cat "$JOB_LOG")" "$2" "$ENGINE: $1: it says why"
	is "$(db_fp):$(files_fp)" "$f1:$g1" "$ENGINE: $1: the database and the files are as they were"
}
# put_good: bk1 as the backup Job wrote it
put_good() { rm -rf "${S3_DIR:?}/$BUCKET/$(prefix bk1)" && cp -a "$W/bk1.good" "$S3_DIR/$BUCKET/$(prefix bk1)"; }
manifest_edit() { # PYTHON-EXPR on s (the manifest's text)
	python3 -c 'import sys; p = sys.argv[1]; s = open(p).read(); s = eval(sys.argv[2]); open(p, "w").write(s)' \
		"$(object bk1 manifest.json)" "$1"
}

no_manifest() { is "$(tc lsf "t:$BUCKET/$(prefix bk1)/" 2>&1 | grep -c manifest.json)" 0 "$ENGINE: $1: no manifest.json in the bucket"; }
# failed_backup NAME ERE [NAME=VALUE...]
failed_backup() {
	local name=$1 ere=$2 rc

	shift 2
	tc purge "t:$BUCKET/$(prefix bk1)" 2>/dev/null
	run_jobx backup-bk1 "$@"
	rc=$?
	if [ $rc -ne 0 ]; then ok "$ENGINE: $name: the backup exits $rc"; else notok "$ENGINE: $name: the backup exits non-zero"; fi
	like "$(cat "$JOB_LOG")" "$ere" "$ENGINE: $name: it says why"
	no_manifest "$name"
}

# --- 1. the backup ------------------------------------------------------------------------------
if part restore; then
t0=$(date +%s%N)
run_jobx backup-bk1
rc=$?
is "$rc" 0 "$ENGINE: backup-bk1 exits 0 ($((($(date +%s%N) - t0) / 1000000)) ms)"
[ $rc -eq 0 ] || diag "$(tail -n 5 "$JOB_LOG")"
like "$(cat "$JOB_LOG")" "backup: done: s3://$BUCKET/$(prefix bk1)/" "$ENGINE: it says where"
is "$(tc lsf "t:$BUCKET/$(prefix bk1)/" | sort | paste -sd ' ')" "$dump files.tar.gz manifest.json" \
	"$ENGINE: the dump, the files and manifest.json under stores/<store>/backups/bk1/"
tc cat "t:$BUCKET/$(prefix bk1)/manifest.json" >"$W/manifest.json"
out=$(python3 - "$W/manifest.json" "$ENGINE" "$dump" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
print(m["format"], m["store"], m["backup"], m["engine"], m["revision"], bool(m["version"]),
      m["started"] <= m["finished"], " ".join(o["name"] for o in m["objects"]))
for o in m["objects"]:
    print(o["name"], o["size"], o["sha256"])
PY
)
like "$out" "^1 $S3ID bk1 $ENGINE 0123456789abcdef True True $dump files.tar.gz$" \
	"$ENGINE: manifest.json: format, store, backup, engine, revision, version, started <= finished, objects"
for name in "$dump" files.tar.gz; do
	want=$(printf '%s\n' "$out" | sed -n "s/^$name //p")
	have="$(tc cat "t:$BUCKET/$(prefix bk1)/$name" | wc -c) $(tc cat "t:$BUCKET/$(prefix bk1)/$name" | sha256sum | cut -d' ' -f1)"
	is "$have" "$want" "$ENGINE: $name in the bucket has the size and SHA-256 the manifest records"
done
is "$(tc cat "t:$BUCKET/$(prefix bk1)/files.tar.gz" | tar -tzf - | grep -c '\.sf-')" 0 "$ENGINE: files.tar.gz: no restore helper folders"
is "$(db_fp)" "$f0" "$ENGINE: the backup changed nothing"
cp -a "$S3_DIR/$BUCKET/$(prefix bk1)" "$W/bk1.good"

diag "$(elapsed) ms: backup checked"
# --- 2. damage, restore -------------------------------------------------------------------------
db_change || bail "$ENGINE: the changes failed"
damage_files
f1=$(db_fp)
g1=$(files_fp)
if [ "$f1" != "$f0" ] && [ "$g1" != "$g0" ]; then ok "$ENGINE: the damage shows"; else notok "$ENGINE: the damage shows"; fi
t0=$(date +%s%N)
run_jobx restore-backup-t1
rc=$?
is "$rc" 0 "$ENGINE: restore-backup-t1 exits 0 ($((($(date +%s%N) - t0) / 1000000)) ms)"
[ $rc -eq 0 ] || diag "$(tail -n 8 "$JOB_LOG")"
is "$(db_fp)" "$f0" "$ENGINE: the database is back as backed up (every table's rows, checksums, definitions)"
is "$(files_fp)" "$g0" "$ENGINE: every file is back with its SHA-256, the added one gone"
is "$(find "$FILES" -maxdepth 1 -name '.sf-*')" "" "$ENGINE: no helper folder left in the uploads"
like "$(cat "$JOB_LOG")" "restore: $dump: [0-9]+ bytes, SHA-256 [0-9a-f]{64} as recorded" "$ENGINE: each object verified before anything changed"

diag "$(elapsed) ms: restore checked"
# --- 3. faults: restores refused, the store as it was ---------------------------------------------
db_change || bail "$ENGINE: the changes failed"
damage_files
f1=$(db_fp)
g1=$(files_fp)
flip "$(object bk1 files.tar.gz)"
refused_restore "files.tar.gz corrupted in the bucket" 'files\.tar\.gz is corrupt: its SHA-256 is [0-9a-f]{64} .*the manifest says'
put_good
flip "$(object bk1 "$dump")"
refused_restore "$dump corrupted in the bucket" "$dump is corrupt: its SHA-256 is"
put_good
manifest_edit "s.replace('\"store\": \"$S3ID\"', '\"store\": \"other\"')"
refused_restore "a manifest for another store" "manifest.json is for store 'other', not $S3ID"
put_good
# a third object, whose name climbs three folders up into another store's backups
manifest_edit "s.replace('  ]', '    {\"name\": \"' + ('..' + '/') * 3 + 'other/backups/x/files.tar.gz\", \"size\": 1, \"sha256\": \"' + '0' * 64 + '\"}\n  ]')"
refused_restore "a manifest naming an object outside the backup" 'manifest.json names 3 objects, not the 2'
put_good
manifest_edit "s + ' ' * 70000"
refused_restore "a manifest of 70 kB" 'manifest.json is [0-9]+ bytes, more than a manifest can be'
put_good
tc deletefile "t:$BUCKET/$(prefix bk1)/manifest.json"
refused_restore "a backup without manifest.json" 'backup bk1 has no manifest.json .*: it never completed'
put_good

diag "$(elapsed) ms: refusals checked"
fi

# --- 3. faults: backups that fail, and leave nothing complete-looking ---------------------------
if part faults; then
f1=$(db_fp)
g1=$(files_fp)
failed_backup "a missing bucket" "uploading $dump to s3://no-such-bucket/.* failed: .*NoSuchBucket.*no manifest.json was written" BUCKET=no-such-bucket
failed_backup "a wrong access key" "uploading $dump to .* failed: .*InvalidAccessKeyId.*backup bk1 is not complete" RCLONE_CONFIG_S3_ACCESS_KEY_ID=WRONGKEY

# object storage going away mid-upload: 10 MB more uploads at 4 MB/s, s3rver stopped once a part
# of them is up (the rest, then reading all back, take seconds more)
head -c 10000000 /dev/urandom >"$FILES/2026/12/big.bin"
job_owns "$W/$ENGINE"
g1=$(files_fp)
tc purge "t:$BUCKET/$(prefix bk1)" 2>/dev/null
run_jobx backup-bk1 RCLONE_BWLIMIT=4M &
bg=$!
JOB_LOG=$W/log/$ENGINE-backup-bk1-$n.log
# a part of files.tar.gz's multipart upload is in (s3rver keeps them in ._S3rver_uploads)
files_on_their_way() { [ -f "$(object bk1 "$dump")" ] && [ -n "$(find "$S3_DIR/$BUCKET/._S3rver_uploads" -type f 2>/dev/null | head -n 1)" ]; }
if wait_for 60 files_on_their_way; then ok "$ENGINE: away: the dump is up, files.tar.gz half-way"; else notok "$ENGINE: away: the dump is up, files.tar.gz half-way"; fi
stack_kill "s3:$S3_PID"
wait "$bg"
rc=$?
if [ $rc -ne 0 ]; then ok "$ENGINE: object storage gone mid-upload: the backup exits $rc"; else notok "$ENGINE: object storage gone mid-upload: the backup exits non-zero"; fi
like "$(cat "$JOB_LOG")" 'uploading files\.tar\.gz to .* failed: .*(connection refused|EOF|reset)' "$ENGINE: object storage gone mid-upload: it says why"
s3_start "$S3_DIR" || bail "cannot start s3rver again"
no_manifest "object storage gone mid-upload (s3rver started again)"
refused_restore "the backup cut short" 'backup bk1 has no manifest.json .*: it never completed'
diag "$(elapsed) ms: failures checked"
fi

# --- the closing note's measure: 1,000 products, 200 MB of uploads -----------------------------------
if [ "$PART" = measure ]; then
	my "$db" -e "INSERT INTO wp_posts (post_title, post_type, post_excerpt)
		SELECT concat('Measured product ', seq), 'product', repeat('A product description. ', 100) FROM seq_1_to_1000;
		INSERT INTO wp_postmeta (post_id, meta_key, meta_value)
		SELECT p.ID, concat('_meta_', k.seq), concat('value ', p.ID, ' ', k.seq) FROM wp_posts p JOIN seq_1_to_20 k
		WHERE p.post_title LIKE 'Measured product %'" || bail "cannot add the products"
	# 200 MB of generated uploads: 200 files of 1 MB, like photos (incompressible)
	for i in $(seq 1 200); do head -c 1048576 /dev/urandom >"$FILES/2026/12/photo-$i.jpg"; done
	job_owns "$W/$ENGINE"
	diag "store: $(my -e "SELECT count(*) FROM \`$db\`.wp_posts WHERE post_type = 'product'") products, $(du -sb "$FILES" | cut -f1) bytes of uploads in $(find "$FILES" -type f | wc -l) files"
	f0=$(db_fp)
	g0=$(files_fp)
	t0=$(date +%s%N)
	run_jobx backup-bk1
	rc=$?
	tb=$((($(date +%s%N) - t0) / 1000000))
	is "$rc" 0 "measure: backup-bk1 exits 0"
	sizes=$(tc lsjson "t:$BUCKET/$(prefix bk1)/" | python3 -c 'import json, sys
print(", ".join("%s %d bytes" % (o["Name"], o["Size"]) for o in json.load(sys.stdin)))')
	diag "backup: $tb ms; $sizes"
	db_change && damage_files
	t0=$(date +%s%N)
	run_jobx restore-backup-t1
	rc=$?
	tr_=$((($(date +%s%N) - t0) / 1000000))
	is "$rc" 0 "measure: restore-backup-t1 exits 0"
	is "$(db_fp)" "$f0" "measure: the database is back"
	is "$(files_fp)" "$g0" "measure: every file is back"
	diag "restore: $tr_ ms (downloads, verifies, unpacks and swaps in what the backup wrote)"
	diag "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $(rclone version | head -n 1), s3rver on loopback"
fi
