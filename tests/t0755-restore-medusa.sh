#!/bin/bash
# t0755-restore-medusa.sh - a Medusa store's backup -> damage -> restore in place through the
# lifecycle: "Back up now" (API), reconcile and kubesim run the chart's own backup and restore Jobs
# (tools/kubesim-job-runner.sh: pg_dump, pg_restore and psql for real against this test's
# PostgreSQL, rclone to s3rver), and the database and the uploads come back with equal checksums
# after rows are deleted and changed, a table dropped and another added, and files deleted, changed
# and added; the pre-restore backup holds the damaged state.  (WooCommerce's is t0749.)
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-stores.sh"
. "$SF_ROOT/tests/lib-reconcile.sh"
. "$SF_ROOT/tests/lib-backups.sh"

bk_stack
tok=$(user_token owner@example.com) || bail "no token"
api_json POST /api/v1/stores "$tok" '{"name":"Medusa shop","engine":"medusa"}'
sid=$(json_get 'j["store"]["id"]') || bail "no store: $STATUS $BODY"
bk_until 30 "(SELECT status = 'ready' FROM stores WHERE id = '$sid')" ||
	bail "the store did not become ready: $(tail -n 5 "$T/reconcile.log")"
db=sfjob_$sid
sq() { psql -d "$db" -XAtqc "$1"; }
restore_row() { q "SELECT $2 FROM restores WHERE id = $1"; }

# the store's data: its database (as the Job's PGHOST reaches it: sfjob_<id> here) and uploads
q "CREATE DATABASE $db" >/dev/null
sq "CREATE TABLE product (id text PRIMARY KEY, title text NOT NULL, price numeric(10,2), meta jsonb);
	CREATE TABLE image (id serial PRIMARY KEY, product_id text REFERENCES product (id), url text);
	INSERT INTO product SELECT 'prod_' || i, 'Product ' || i || ' é', i * 1.5, jsonb_build_object('n', i) FROM generate_series(1, 300) i;
	INSERT INTO image (product_id, url) SELECT 'prod_' || i, '/uploads/p' || i || '.jpg' FROM generate_series(1, 300) i;" ||
	bail "cannot fill the store's database"
mkdir -p "$SF_JOB_FILES/private"
printf 'medusa image\n' >"$SF_JOB_FILES/p1.jpg"
head -c 100000 /dev/urandom >"$SF_JOB_FILES/private/export.csv"
: >"$SF_JOB_FILES/empty"
fingerprint() {
	# (a dropped table's queries print nothing)
	printf 'tables=%s product=%s image=%s seq=%s files=%s' \
		"$(sq "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'")" \
		"$(sq "SELECT md5(string_agg(p::text, '|' ORDER BY id)) FROM product p")" \
		"$(sq "SELECT md5(string_agg(i::text, '|' ORDER BY id)) FROM image i")" \
		"$(sq "SELECT last_value FROM image_id_seq")" \
		"$(cd "$SF_JOB_FILES" && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)"
} 2>/dev/null
before=$(fingerprint)
like "$before" '^tables=image,product product=[0-9a-f]{32} image=[0-9a-f]{32} seq=300 files=[0-9a-f]{64}$' "the store's data: two tables, 300 rows each, four files"

# --- Back up now ---------------------------------------------------------------------------------
api_json POST "/api/v1/stores/$sid/backups" "$tok" ''
is "$STATUS" 202 "Back up now on a Medusa store: 202"
n1=$(json_get 'j["backup"]["number"]')
ok "... it completes" bk_until 20 "(SELECT status IN ('complete', 'failed') FROM backups WHERE id = $n1)"
is "$(bk_row "$n1" "status || ':' || reason || ' ' || engine")" "complete: medusa" "... complete, a medusa backup"
is "$(bk_row "$n1" "dump_sha256 || ' ' || files_sha256")" \
	"$(sha256sum <"$(bk_object "$sid" "b$n1" database.dump)" | cut -d' ' -f1) $(sha256sum <"$(bk_object "$sid" "b$n1" files.tar.gz)" | cut -d' ' -f1)" \
	"database.dump (pg_dump -Fc) and files.tar.gz in s3rver have the SHA-256 recorded"
like "$(tar -tzf "$(bk_object "$sid" "b$n1" files.tar.gz)" | sort | tr '\n' ' ')" "./private/export.csv .*./with space é.txt" "... the uploads are in files.tar.gz"

# --- damage: rows deleted and changed, a table dropped and another made, files changed ------------
sq "DROP TABLE image; DELETE FROM product WHERE price > 200; UPDATE product SET title = 'gone';
	CREATE TABLE junk (x int); INSERT INTO junk VALUES (1);" || bail "cannot damage the database"
rm "$SF_JOB_FILES/p1.jpg"
printf 'overwritten\n' >"$SF_JOB_FILES/private/export.csv"
printf 'new\n' >"$SF_JOB_FILES/added.jpg"
damaged=$(fingerprint)
ok "the store's data is damaged" test "$damaged" != "$before"

# --- restore in place -----------------------------------------------------------------------------
api_json POST "/api/v1/stores/$sid/backups/b$n1/restore" "$tok" ''
is "$STATUS:$(json_get 'j["restore"]["status"]')" "202:requested" "a restore of b$n1: 202"
r1=$(json_get 'j["restore"]["number"]')
ok "... it ends" bk_until 30 "(SELECT status IN ('complete', 'failed') FROM restores WHERE id = $r1)"
is "$(restore_row "$r1" "status || ':' || reason")" "complete:" "... complete"
is "$(fingerprint)" "$before" "the database (every row, the dropped table back, the new one gone) and the uploads are as backed up"
pre=$(restore_row "$r1" pre_backup_id)
is "$(bk_row "$pre" "kind || ' ' || status")" "pre-restore complete" "the pre-restore backup holds the damaged state"
ok "... its dump differs from b$n1's" test "$(bk_row "$pre" dump_sha256)" != "$(bk_row "$n1" dump_sha256)"
is "$(q "SELECT status FROM stores WHERE id = '$sid'")" ready "the store is ready throughout"
done_testing
