#!/bin/bash
# t0752-clone.sh - clone from backup: a complete backup of one of the tenant's stores restored into a new store, through the API, storefleetctl and the store page, with kubesim running the chart's own restore Job (tests/backup-job-runner.sh, each store with its own database and files): the new store is made by the ordinary create, held in provisioning while the backup is checked and restored, then ready with the source's data (the same SHA-256 for every row and file) while the source is unchanged; a corrupted backup is refused by the Job before anything is written (the new store failed with the reason, nothing in it); 404 for another tenant's store or a backup that is not the store's, 409 with the reason for a backup not complete, 422 without a name, and over the tenant's limit the create's own 429; events and audit rows on both stores.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-stores.sh"
. "$SF_ROOT/tests/lib-reconcile.sh"
. "$SF_ROOT/tests/lib-backups.sh"

export BK_PER_STORE=1 SF_STORES_PER_TENANT=4
bk_stack
tok=$(user_token owner@example.com) || bail "no token"
tok2=$(user_token other@example.com) || bail "no token"
sid=$(bk_ready_store "$tok" "Shop A") || bail "the store did not become ready: $(tail -n 5 "$T/reconcile.log")"
# the source's database and uploads (the runner keeps each store's under its id)
mkdir -p "$SF_JOB_VAR/$sid/uploads/2026/12" "$SF_JOB_VAR/$sid/db"
printf "INSERT INTO \`wp_options\` VALUES (1,'source'),(2,'kept');\n" >"$SF_JOB_VAR/$sid/db/wordpress.rows"
printf 'a picture\n' >"$SF_JOB_VAR/$sid/uploads/2026/12/shoe.jpg"
printf 'no name\n' >"$SF_JOB_VAR/$sid/uploads/with space é.txt"
# state ID: every row and file of the store, each with its SHA-256
state() {
	[ -d "$SF_JOB_VAR/$1" ] && (cd "$SF_JOB_VAR/$1" && find . -type f -print0 | sort -z | xargs -0r sha256sum)
}
store_col() { q "SELECT $2 FROM stores WHERE id = '$1'"; }
restore_row() { q "SELECT $2 FROM restores WHERE id = $1"; }

api_json POST "/api/v1/stores/$sid/backups" "$tok" ''
n1=$(json_get 'j["backup"]["number"]')
bk_until 20 "(SELECT status = 'complete' FROM backups WHERE id = $n1)" || bail "backup b$n1: $(bk_row "$n1" reason)"
api_json POST "/api/v1/stores/$sid/backups" "$tok" ''
n2=$(json_get 'j["backup"]["number"]')
bk_until 20 "(SELECT status = 'complete' FROM backups WHERE id = $n2)" || bail "backup b$n2: $(bk_row "$n2" reason)"
source=$(state "$sid")
ok "the source has rows and files" test "$(echo "$source" | wc -l)" -eq 3

# --- refusals: another tenant, a backup that is not the store's, not complete, no name --------------------
api_json POST "/api/v1/stores/$sid/backups/b$n1/clone" "$tok2" '{"name":"Mine now"}'
is "$STATUS:$(json_get 'j["error"]["message"]')" "404:There is no such store." "another tenant's clone: 404, as a missing store"
api_json POST /api/v1/stores "$tok2" '{"name":"Shop B","engine":"woocommerce"}'
sid2=$(json_get 'j["store"]["id"]')
other=$(q "INSERT INTO backups (store_id, kind, status, name, dump_size, files_size, finished_at) VALUES ('$sid2', 'manual', 'complete', 'bx', 1, 1, now()) RETURNING id")
for b in "b$other" b999999 x; do
	api_json POST "/api/v1/stores/$sid/backups/$b/clone" "$tok" '{"name":"Copy"}'
	is "$STATUS:$(json_get 'j["error"]["message"]')" "404:There is no such backup of this store." "backup '$b' (another store's, none, not an id): 404"
done
bad=$(q "INSERT INTO backups (store_id, kind, status, name, reason, finished_at) VALUES ('$sid', 'manual', 'failed', '', 'the bucket is missing', now()) RETURNING id")
api_json POST "/api/v1/stores/$sid/backups/b$bad/clone" "$tok" '{"name":"Copy"}'
is "$STATUS:$(json_get 'j["error"]["message"]')" "409:Backup #$bad is failed (the bucket is missing); only a complete backup can be cloned." \
	"a failed backup: 409 with its reason"
api_json POST "/api/v1/stores/$sid/backups/b$n1/clone" "$tok" '{}'
is "$STATUS:$(json_get '",".join(j["error"]["fields"].keys())')" "422:name" "no name: 422 naming the field"
is "$(q "SELECT count(*) FROM stores WHERE owner_id = (SELECT owner_id FROM stores WHERE id = '$sid')")" 1 "... none of them made a store"

# --- the API: a new store with the source's data ------------------------------------------------------
nbackups=$(q "SELECT count(*) FROM backups WHERE store_id = '$sid'")
api_json POST "/api/v1/stores/$sid/backups/b$n1/clone" "$tok" '{"name":"Shop A copy"}'
is "$STATUS:$(json_get 'j["store"]["name"] + " " + j["store"]["engine"] + " " + j["store"]["status"] + " " + j["restore"]["backup"] + " " + j["restore"]["source_store"] + " " + j["restore"]["status"]')" \
	"202:Shop A copy woocommerce requested b$n1 $sid requested" "POST /api/v1/stores/ID/backups/BID/clone: 202 with the new store and its restore"
c1=$(json_get 'j["store"]["id"]')
r1=$(json_get 'j["restore"]["number"]')
is "$(header Location)" "/api/v1/stores/$c1" "... Location: the new store"
# the source changes after the clone was asked: the clone has the backup's data, the source keeps its own
printf "INSERT INTO \`wp_options\` VALUES (1,'changed later');\n" >"$SF_JOB_VAR/$sid/db/wordpress.rows"
changed=$(state "$sid")

# --- a corrupted backup (storefleetctl): refused before anything is written into the new store -----------
obj=$(bk_object "$sid" "b$n2" files.tar.gz)
size=$(stat -c %s "$obj")
printf 'X' | dd of="$obj" bs=1 seek=$((size / 2)) conv=notrunc status=none
out=$("$SF_BUILD/bin/storefleetctl" store clone "$sid" "b$n2" "Broken copy" 2>&1)
like "$out" "^[a-z0-9]+: clone of $sid from b$n2 requested \(requested; restore #[0-9]+\)$" "storefleetctl store clone ID BID NAME"
c2=${out%%:*}
r2=$(q "SELECT id FROM restores WHERE store_id = '$c2'")
out=$("$SF_BUILD/bin/storefleetctl" store clone "$sid" "b$bad" "Copy" 2>&1)
is "$?:$out" "1:storefleetctl: store clone: Backup #$bad is failed (the bucket is missing); only a complete backup can be cloned." \
	"storefleetctl: a failed backup: exit 1 with the reason"

# --- the page: the form on each complete backup, CSRF, another tenant ------------------------------------
jar=$T/jar
browser_login owner@example.com "$jar" >/dev/null
page "$jar" GET "/stores/$sid"
like "$BODY" "id=\"clone-$n1\"" "the store page has Clone into a new store on a complete backup"
unlike "$BODY" "id=\"clone-$bad\"" "... not on a failed one"
csrf=$(page_csrf)
page "$jar" POST "/stores/$sid/backups/b$n1/clone" -H "Origin: $BASE" --data-urlencode "csrf_token=wrong" --data-urlencode "name=Page copy"
is "$STATUS" 403 "the form without its CSRF token: 403"
jar2=$T/jar2
browser_login other@example.com "$jar2" >/dev/null
page "$jar2" GET /stores
page "$jar2" POST "/stores/$sid/backups/b$n1/clone" -H "Origin: $BASE" --data-urlencode "csrf_token=$(page_csrf)" --data-urlencode "name=Page copy"
is "$STATUS" 404 "another tenant sending it: 404"
page "$jar" POST "/stores/$sid/backups/b$n1/clone" -H "Origin: $BASE" --data-urlencode "csrf_token=$csrf" --data-urlencode "name=Page copy"
c3=$(q "SELECT id FROM stores WHERE name = 'Page copy'")
is "$STATUS:$(header Location)" "303:/stores/$c3?cloned=1#backups" "the form: 303 to the new store's page"
page "$jar" GET "/stores/$c3?cloned=1"
like "$BODY" 'id="clone-requested"' "... which says the clone is requested"
like "$BODY" "Cloning backup <span class=\"mono\">b$n1</span> of store <a class=\"mono\" href=\"/stores/$sid\">$sid</a>" "... and what it restores"

# --- over the tenant's limit: what a create answers ------------------------------------------------------
api_json POST "/api/v1/stores/$sid/backups/b$n1/clone" "$tok" '{"name":"One too many"}'
clone_answer="$STATUS:$(json_get 'j["error"]["code"] + " " + j["error"]["message"]')"
api_json POST /api/v1/stores "$tok" '{"name":"One too many","engine":"woocommerce"}'
is "$clone_answer" "$STATUS:$(json_get 'j["error"]["code"] + " " + j["error"]["message"]')" "over the limit: the clone answers as a create does"
is "$clone_answer" "429:quota_exceeded You have 4 stores, the limit per account is 4; delete one first." "... 429 quota_exceeded"
page "$jar" POST "/stores/$sid/backups/b$n1/clone" -H "Origin: $BASE" --data-urlencode "csrf_token=$csrf" --data-urlencode "name=One too many"
is "$STATUS" 429 "... the form too"
like "$BODY" "the limit per account is 4" "... with the reason"

# --- the three clones, made side by side, end ---------------------------------------------------------------
ok "the three clones end" bk_until 60 "(SELECT count(*) = 3 FROM stores WHERE (id IN ('$c1', '$c3') AND status = 'ready') OR (id = '$c2' AND status = 'failed'))"
is "$(restore_row "$r1" "status || ':' || reason || ':' || coalesce(pre_backup_id::text, 'no pre-restore backup')")" \
	"complete::no pre-restore backup" "the API's clone: restored, with no pre-restore backup (the new store had nothing to save)"
is "$(state "$c1")" "$source" "... its rows and files have the SHA-256 of the source's when backed up"
is "$(q "SELECT (SELECT min(id) FROM store_events WHERE store_id = '$c1' AND message LIKE 'Restore #$r1 complete%') < (SELECT min(id) FROM store_events WHERE store_id = '$c1' AND step = 'ready')")" t \
	"... it went ready only after the restore"
is "$(state "$c3")" "$source" "the page's clone: ready with the backup's data"
like "$(restore_row "$r2" "status || ':' || reason")" "^failed:job restore-backup-r$r2: .*files\.tar\.gz is corrupt: its SHA-256 is [0-9a-f]{64} \($size bytes\), the manifest says [0-9a-f]{64} \($size bytes\); nothing was changed" \
	"the corrupted backup's clone: the restore Job refused it with the checksum's reason"
like "$(store_col "$c2" status_reason)" "^the clone of store $sid's backup b$n2 failed: job restore-backup-r$r2: .*files\.tar\.gz is corrupt" "... the new store failed with that reason"
is "$(state "$c2")" "" "... nothing was written into it"
is "$(state "$sid")" "$changed" "the source's data is its own, unchanged"
is "$(store_col "$sid" status):$(q "SELECT count(*) FROM backups WHERE store_id = '$sid'"):$(q "SELECT count(*) FROM restores WHERE store_id = '$sid'")" \
	"ready:$nbackups:0" "... the source is ready, with no new backup and no restore"

# --- activity and audit on both stores -------------------------------------------------------------------
is "$(q "SELECT string_agg(action || ':' || (details->>'store'), ',' ORDER BY id) FROM audit_log WHERE target = '$sid' AND action = 'store.clone'")" \
	"store.clone:$c1,store.clone:$c2,store.clone:$c3" "audit on the source: store.clone for each new store"
is "$(q "SELECT string_agg(action, ',' ORDER BY id) FROM audit_log WHERE target = '$c1' AND (action LIKE 'restore.%' OR action = 'store.create')")" \
	"store.create,restore.requested,restore.started,restore.complete" "audit on the new store: create, restore requested, started, complete"
is "$(q "SELECT count(*) FROM audit_log WHERE target = '$c2' AND action = 'restore.failed' AND details->>'reason' LIKE '%files.tar.gz is corrupt%'")" 1 "... the refused one: restore.failed with the reason"
is "$(q "SELECT count(*) FROM store_events WHERE store_id = '$sid' AND message IN ('Backup b$n1 is being cloned into a new store $c1 by owner@example.com.', 'Backup b$n1 cloned into store $c1', 'Backup b$n2 is being cloned into a new store $c2 by storefleetctl.', 'Backup b$n1 is being cloned into a new store $c3 by owner@example.com.', 'Backup b$n1 cloned into store $c3')")" 5 \
	"the source's activity says each clone asked and done"
like "$(q "SELECT message FROM store_events WHERE store_id = '$sid' AND level = 'error'")" "^The clone of backup b$n2 into store $c2 failed: .*files\.tar\.gz is corrupt.*\(this store was not changed\)$" \
	"... and the refused one, with the reason"
like "$(q "SELECT string_agg(message, '|' ORDER BY id) FROM store_events WHERE store_id = '$c1' AND step = 'restore'")" \
	"^Clone of store $sid from its backup b$n1 requested by owner@example.com \(restore #$r1\).*\|Restore #$r1: restoring store $sid's backup b$n1 \(job restore-backup-r$r1\).*\|Restore #$r1 complete: the store has the data of store $sid's backup b$n1" \
	"the new store's activity says each step"
done_testing
