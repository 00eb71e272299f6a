#!/bin/bash
# t0754-backup-leftovers.sh - a failed backup leaves nothing in object storage: object storage goes
# away while the Job uploads files.tar.gz (s3rver stopped once the dump is up and a part of the
# files is on its way, so the Job's own purge fails too); the backup is recorded failed, reconcile
# cannot delete the dump yet and says so, and once s3rver is back the dump is deleted from the
# backup's prefix, while the store's complete backup, a neighbouring prefix (b<n>0/) and another
# store's backup of the same name are untouched; a row whose prefix is not its own is refused;
# attempts that keep failing end with an event saying to delete by hand.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-stores.sh"
. "$SF_ROOT/tests/lib-reconcile.sh"
. "$SF_ROOT/tests/lib-backups.sh"

bk_stack
tok=$(user_token owner@example.com) || bail "no token"
sid=$(bk_ready_store "$tok" "Shop A") || bail "the store did not become ready: $(tail -n 5 "$T/reconcile.log")"
ended() { echo "(SELECT status IN ('complete', 'failed') FROM backups WHERE id = $1)"; }
# objects ID: the objects s3rver keeps under backup ID's prefix of store $sid
objects() { find "$S3_DIR/stores/stores/$sid/backups/$1" -name '*._S3rver_object' 2>/dev/null | sed 's#.*/##' | sort | tr '\n' ' '; }
sums() { (cd "$S3_DIR/stores/stores/$1/backups/$2" && sha256sum -- *._S3rver_object); }
tc() {
	env -u AWS_CA_BUNDLE RCLONE_CONFIG=/dev/null RCLONE_S3_NO_CHECK_BUCKET=true RCLONE_CONFIG_T_TYPE=s3 RCLONE_CONFIG_T_PROVIDER=Other \
		RCLONE_CONFIG_T_ENDPOINT="$S3_ENDPOINT" RCLONE_CONFIG_T_REGION=us-east-1 RCLONE_CONFIG_T_FORCE_PATH_STYLE=true \
		RCLONE_CONFIG_T_ACCESS_KEY_ID="$S3_ACCESS_KEY" RCLONE_CONFIG_T_SECRET_ACCESS_KEY="$S3_SECRET_KEY" \
		rclone -q --retries 1 --low-level-retries 1 "$@"
}

# --- a complete backup of the store ---------------------------------------------------------------
api_json POST "/api/v1/stores/$sid/backups" "$tok" ''
n1=$(json_get 'j["backup"]["number"]')
bk_until 20 "$(ended "$n1")" || bail "backup b$n1 did not end"
is "$(bk_row "$n1" status)" complete "a complete backup b$n1"
keep=$(sums "$sid" "b$n1")

# --- object storage away mid-upload ---------------------------------------------------------------
api_json POST "/api/v1/stores/$sid/backups" "$tok" ''
n2=$(json_get 'j["backup"]["number"]')
# what must survive: a neighbouring prefix and another store's backup of the same name
echo stray | tc rcat "t:stores/stores/$sid/backups/b${n2}0/database.sql.gz" || bail "cannot put the neighbour"
echo other | tc rcat "t:stores/stores/other-store/backups/b$n2/database.sql.gz" || bail "cannot put the other store's"
# 10 MB more uploads at 4 MB/s: the dump is up well before files.tar.gz is
head -c 10000000 /dev/urandom >"$SF_JOB_FILES/big.bin"
echo RCLONE_BWLIMIT=4M >"$SF_JOB_HOOKS/env"
bk_pass
is "$(bk_row "$n2" status)" running "backup b$n2 running"
files_on_their_way() { [ -f "$(bk_object "$sid" "b$n2" database.sql.gz)" ] && [ -n "$(find "$S3_DIR/stores/._S3rver_uploads" -type f 2>/dev/null | head -n 1)" ]; }
ok "the dump is up and files.tar.gz on its way" wait_for 30 files_on_their_way
stack_kill "s3:$S3_PID"
rm -f "$SF_JOB_FILES/big.bin" "$SF_JOB_HOOKS/env"
bk_until 30 "$(ended "$n2")"
is "$(bk_row "$n2" "status || ' ' || failure")" "failed job" "s3rver gone mid-upload: the backup is failed"
like "$(bk_row "$n2" reason)" "uploading files\.tar\.gz to s3://stores/stores/$sid/backups/b$n2/ failed" "... the Job's reason"
is "$(objects "b$n2")" "database.sql.gz._S3rver_object " "... the dump is left (the Job could not purge it, reconcile cannot reach s3rver)"
like "$(cat "$T/reconcile.log")" "backup b$n2: cannot delete its leftovers yet \(11 attempts left\)" "... reconcile says it will try again"

# attempts used up: an event says to delete by hand (a row as a failed backup an hour ago leaves it)
n3=$(q "INSERT INTO backups (store_id, kind, status, name, prefix, reason, finished_at, leftovers) VALUES ('$sid', 'manual', 'failed', 'b999999', 'stores/$sid/backups/b999999/', 'x', now() - interval '2 hours', 1) RETURNING id")
bk_pass
is "$(q "SELECT leftovers FROM backups WHERE id = $n3")" 0 "the last attempt failing ends the retries"
like "$(q "SELECT message FROM store_events WHERE store_id = '$sid' AND level = 'warn' ORDER BY id DESC LIMIT 1")" \
	"^Backup b999999 failed and what it left under s3://stores/stores/$sid/backups/b999999/ could not be deleted: .*; delete it by hand$" \
	"... with an event saying what to delete by hand"

# --- object storage back: the leftovers go -------------------------------------------------------
s3_start "$S3_DIR" || bail "cannot start s3rver again"
ok "once s3rver is back, reconcile finishes with b$n2's leftovers" bk_until 20 "(SELECT leftovers = 0 FROM backups WHERE id = $n2)"
is "$(objects "b$n2")" "" "nothing is left under b$n2's prefix"
like "$(q "SELECT string_agg(message, '|') FROM store_events WHERE store_id = '$sid' AND step = 'backup'")" \
	"Backup b$n2 failed: the 1 object it left in object storage deleted" "the store's activity says so"
is "$(sums "$sid" "b$n1")" "$keep" "the complete backup b$n1 is untouched"
is "$(bk_row "$n1" status)" complete "... and still complete"
is "$(tc cat "t:stores/stores/$sid/backups/b${n2}0/database.sql.gz")" stray "the neighbouring prefix b${n2}0/ is untouched"
is "$(tc cat "t:stores/stores/other-store/backups/b$n2/database.sql.gz")" other "another store's b$n2 is untouched"

# --- a prefix that is not the row's own is never used ----------------------------------------------
n4=$(q "INSERT INTO backups (store_id, kind, status, name, prefix, reason, finished_at, leftovers) VALUES ('$sid', 'manual', 'failed', 'b$n2', 'stores/other-store/backups/b$n2/', 'x', now(), 12) RETURNING id")
bk_pass
is "$(q "SELECT leftovers FROM backups WHERE id = $n4")" 0 "a row naming another store's prefix: given up"
like "$(cat "$T/reconcile.log")" "backup $n4: prefix 'stores/other-store/backups/b$n2/' is not the backup's own; its objects are left alone" "... and logged"
is "$(tc cat "t:stores/stores/other-store/backups/b$n2/database.sql.gz")" other "... the other store's object is still there"

# --- a backup that fails with nothing uploaded has nothing to delete ---------------------------------
api_json POST "/api/v1/stores/$sid/backups" "$tok" ''
n5=$(json_get 'j["backup"]["number"]')
SF_BACKUP_ACCESS_KEY=WRONGKEY bk_until 20 "$(ended "$n5")"
is "$(bk_row "$n5" status)" failed "a backup refused by object storage (a wrong key): failed"
ok "... its prefix is looked at once the key is right again" bk_until 10 "(SELECT leftovers = 0 FROM backups WHERE id = $n5)"
is "$(objects "b$n5")" "" "... nothing under it"
is "$(q "SELECT count(*) FROM store_events WHERE store_id = '$sid' AND message LIKE 'Backup b$n5 failed: the %'")" 0 "... and nothing said deleted"
done_testing
