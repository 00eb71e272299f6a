#!/bin/bash
# t0749-restore.sh - restore in place through the API, storefleetctl and the store page: reconcile first takes a pre-restore backup of the current state, then kubesim runs the chart's own restore Job (tools/kubesim-job-runner.sh: rclone from s3rver; the database is tools/kubesim-job-bin's files) and the data changed after the backup is back; a corrupted object is refused by the Job before anything changes (the store keeps its data and stays ready); the pre-restore backup undoes a restore; 404 for another tenant's store or backup, 409 while a backup, another restore or an upgrade runs; events and audit rows.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-stores.sh"
. "$SF_ROOT/tests/lib-reconcile.sh"
. "$SF_ROOT/tests/lib-backups.sh"

bk_stack
tok=$(user_token owner@example.com) || bail "no token"
tok2=$(user_token other@example.com) || bail "no token"
sid=$(bk_ready_store "$tok" "Shop A") || bail "the store did not become ready: $(tail -n 5 "$T/reconcile.log")"
rows=$SF_JOB_DB/wordpress.rows
state() { printf 'db=%s files=%s' "$(cat "$rows" 2>/dev/null)" "$(cd "$SF_JOB_FILES" && find . -type f | sort | tr '\n' ' ')"; }
restore_row() { q "SELECT $2 FROM restores WHERE id = $1"; }

# --- the state backed up, then changed ------------------------------------------------------------
echo "INSERT INTO \`wp_options\` VALUES (1,'first');" >"$rows"
api_json POST "/api/v1/stores/$sid/backups" "$tok" ''
n1=$(json_get 'j["backup"]["number"]')
bk_until 20 "(SELECT status IN ('complete', 'failed') FROM backups WHERE id = $n1)" || bail "backup b$n1: $(bk_row "$n1" reason)"
before=$(state)
echo "INSERT INTO \`wp_options\` VALUES (1,'second');" >"$rows"
rm "$SF_JOB_FILES/2026/12/shoe.jpg"
printf 'new\n' >"$SF_JOB_FILES/new.jpg"
changed=$(state)

# --- refusals: another tenant, no such backup, a backup of another store, a live backup ----------------
api_json POST "/api/v1/stores/$sid/backups/b$n1/restore" "$tok2" ''
is "$STATUS:$(json_get 'j["error"]["message"]')" "404:There is no such store." "another tenant's restore: 404, as a missing store"
api_json POST /api/v1/stores "$tok2" '{"name":"Shop B","engine":"woocommerce"}'
sid2=$(json_get 'j["store"]["id"]')
other=$(q "INSERT INTO backups (store_id, kind, status, name, dump_size, files_size, finished_at) VALUES ('$sid2', 'manual', 'complete', 'bx', 1, 1, now()) RETURNING id")
for b in "b$other" "$other" b999999 b1.. x; do
	api_json POST "/api/v1/stores/$sid/backups/$b/restore" "$tok" ''
	is "$STATUS:$(json_get 'j["error"]["message"]')" "404:There is no such backup of this store." "backup '$b' (another store's, none, not a backup id): 404"
done
api_json POST "/api/v1/stores/$sid/backups" "$tok" ''
n2=$(json_get 'j["backup"]["number"]')
api_json POST "/api/v1/stores/$sid/backups/b$n1/restore" "$tok" ''
is "$STATUS:$(json_get 'j["error"]["message"]')" "409:Backup #$n2 (manual) is requested; restore once it ends." "a restore while a backup is requested: 409 with the reason"
api_json POST "/api/v1/stores/$sid/backups/$n2/restore" "$tok" ''
is "$STATUS:$(json_get 'j["error"]["message"]')" "409:Backup #$n2 is requested; only a complete backup can be restored." "... and of a backup not complete: 409"
bk_until 20 "(SELECT status IN ('complete', 'failed') FROM backups WHERE id = $n2)" || bail "backup b$n2 did not end"
is "$(state)" "$changed" "backing up changes nothing"

# --- the API: the happy path -------------------------------------------------------------------------
api_json POST "/api/v1/stores/$sid/backups/b$n1/restore" "$tok" ''
is "$STATUS:$(json_get 'j["restore"]["backup"] + " " + j["restore"]["status"] + " " + str(j["restore"]["pre_backup"])')" \
	"202:b$n1 requested None" "POST /api/v1/stores/ID/backups/BID/restore: 202, requested"
r1=$(json_get 'j["restore"]["number"]')
api_json POST "/api/v1/stores/$sid/backups/b$n1/restore" "$tok" ''
is "$STATUS:$(json_get 'j["error"]["message"]')" "409:A restore of this store from backup b$n1 is already requested; wait until it ends." "a second restore: 409"
api_json POST "/api/v1/stores/$sid/backups" "$tok" ''
like "$STATUS:$(json_get 'j["error"]["message"]')" "^409:The store is being restored from backup b$n1" "Back up now during a restore: 409"
api_json POST "/api/v1/stores/$sid/upgrade" "$tok" '{"version": "6.8.1"}'
like "$STATUS:$(json_get 'j["error"]["message"]')" "^409:The store is being restored from backup b$n1 \(requested\); it can be upgraded once the restore is done\.$" "an upgrade during a restore: 409"
bk_pass
pre=$(restore_row "$r1" pre_backup_id)
is "$(restore_row "$r1" status):$(bk_row "$pre" "kind || ' ' || status")" "backing-up:pre-restore running" \
	"one pass: a pre-restore backup of the current state runs first"
is "$(q "SELECT status FROM stores WHERE id = '$sid'")" ready "... the store stays ready (it serves its current data)"
ok "the restore completes" bk_until 30 "(SELECT status IN ('complete', 'failed') FROM restores WHERE id = $r1)"
is "$(restore_row "$r1" "status || ':' || reason")" "complete:" "... complete, no reason"
is "$(state)" "$before" "the database and the files are those of the backup again"
is "$(bk_row "$pre" status)" complete "the pre-restore backup is complete"
like "$(gunzip -c "$(bk_object "$sid" "b$pre" database.sql.gz)")" "'second'" "... and holds the state before the restore"
is "$(tar -tzf "$(bk_object "$sid" "b$pre" files.tar.gz)" | grep -c new.jpg)" 1 "... its files too"
is "$(q "SELECT status FROM stores WHERE id = '$sid'")" ready "the store is ready"
api GET "/api/v1/stores/$sid/restores" "$tok"
is "$STATUS:$(json_get 'j["restores"][0]["status"] + " " + j["restores"][0]["pre_backup"]')" "200:complete b$pre" "GET /api/v1/stores/ID/restores lists it"
api GET "/api/v1/stores/$sid/restores" "$tok2"
is "$STATUS" 404 "... another tenant: 404"

# --- a corrupted object: refused before anything changes (storefleetctl) --------------------------------
echo "INSERT INTO \`wp_options\` VALUES (1,'third');" >"$rows"
third=$(state)
obj=$(bk_object "$sid" "b$n1" files.tar.gz)
size=$(stat -c %s "$obj")
printf 'X' | dd of="$obj" bs=1 seek=$((size / 2)) conv=notrunc status=none
is "$(stat -c %s "$obj")" "$size" "files.tar.gz of b$n1 corrupted in s3rver, its size kept"
out=$("$SF_BUILD/bin/storefleetctl" store restore "$sid" "b$n1" 2>&1)
like "$out" "^$sid: restore #[0-9]+ from b$n1 requested \(requested\)$" "storefleetctl store restore ID BID requests it"
r2=$(restore_row "(SELECT max(id) FROM restores)" id)
ok "... it ends" bk_until 30 "(SELECT status IN ('complete', 'failed') FROM restores WHERE id = $r2)"
like "$(restore_row "$r2" "status || ':' || reason")" "^failed:job restore-backup-r$r2: .*files\.tar\.gz is corrupt: its SHA-256 is [0-9a-f]{64} \($size bytes\), the manifest says [0-9a-f]{64} \($size bytes\); nothing was changed" \
	"failed: the Job refused it with the checksum's reason"
is "$(state)" "$third" "the store's database and files are unchanged"
is "$(q "SELECT status FROM stores WHERE id = '$sid'")" ready "... and it is still ready"
out=$("$SF_BUILD/bin/storefleetctl" store restore "$sid" b999999 2>&1)
is "$?:$out" "1:storefleetctl: store restore: There is no such backup of this store." "storefleetctl: a backup that does not exist: exit 1 with the reason"

# --- the page: undo the first restore with its pre-restore backup -------------------------------------
jar=$T/jar
browser_login owner@example.com "$jar" >/dev/null
page "$jar" GET "/stores/$sid"
like "$BODY" "id=\"restore-$pre\"" "the store page has a Restore button per complete backup"
like "$BODY" "id=\"restore-reason-$r2\"" "... and lists the restores with their reasons"
csrf=$(page_csrf)
page "$jar" POST "/stores/$sid/backups/b$pre/restore" -H "Origin: $BASE" --data-urlencode "csrf_token=wrong"
is "$STATUS" 403 "the form without its CSRF token: 403"
jar2=$T/jar2
browser_login other@example.com "$jar2" >/dev/null
page "$jar2" GET /stores
page "$jar2" POST "/stores/$sid/backups/b$pre/restore" -H "Origin: $BASE" --data-urlencode "csrf_token=$(page_csrf)"
is "$STATUS" 404 "another tenant pressing it: 404"
page "$jar" POST "/stores/$sid/backups/b$pre/restore" -H "Origin: $BASE" --data-urlencode "csrf_token=$csrf"
is "$STATUS:$(header Location)" "303:/stores/$sid?restore_requested=1#backups" "the button: 303 back to the page"
page "$jar" GET "/stores/$sid?restore_requested=1"
like "$BODY" 'id="restore-live"' "the page says a restore is running"
unlike "$BODY" 'id="restore-[0-9]+"' "... and offers no other Restore meanwhile"
r3=$(restore_row "(SELECT max(id) FROM restores)" id)
ok "... it completes" bk_until 30 "(SELECT status IN ('complete', 'failed') FROM restores WHERE id = $r3)"
is "$(restore_row "$r3" status):$(state)" "complete:$changed" "the pre-restore backup undid the first restore"

# --- not while an upgrade runs ----------------------------------------------------------------------
# (the store is made to run the older version, so there is a version to upgrade to)
q "UPDATE store_revisions SET engine_version = '6.7.2' WHERE store_id = '$sid'; UPDATE stores SET engine_version = '6.7.2' WHERE id = '$sid'" >/dev/null
api_json POST "/api/v1/stores/$sid/upgrade" "$tok" '{"version": "6.8.1"}'
is "$STATUS" 202 "an upgrade is requested"
api_json POST "/api/v1/stores/$sid/backups/b$pre/restore" "$tok" ''
is "$STATUS:$(json_get 'j["error"]["message"]')" "409:The store is being upgraded; restore it once the upgrade is done." "a restore while an upgrade runs: 409 with the reason"

# --- activity and audit -----------------------------------------------------------------------------
is "$(q "SELECT string_agg(action, ',' ORDER BY id) FROM audit_log WHERE target = '$sid' AND action LIKE 'restore.%' AND details->>'restore' = '$r1'")" \
	"restore.requested,restore.backing_up,restore.started,restore.complete" "audit rows of the first restore: requested, backing up, started, complete"
is "$(q "SELECT count(*) FROM audit_log WHERE target = '$sid' AND action = 'restore.failed' AND details->>'reason' LIKE '%files.tar.gz is corrupt%'")" 1 "... the refused one: restore.failed with the reason"
like "$(q "SELECT string_agg(message, '|' ORDER BY id) FROM store_events WHERE store_id = '$sid' AND step = 'restore'")" \
	"^Restore from backup b$n1 requested by owner@example.com: .*\|Restore #$r1 from backup b$n1: saving the current state first \(backup b$pre, pre-restore\)\|Restore #$r1: the current state is saved as backup b$pre; restoring backup b$n1 \(job restore-backup-r$r1\).*\|Restore #$r1 complete: .*\|Restore #$r2 from backup b$n1 failed: .*corrupt" \
	"the store's activity says each step"
done_testing
