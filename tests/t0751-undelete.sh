#!/bin/bash
# t0751-undelete.sh - deleting a store takes a final backup before its namespace goes (a failed one keeps the store deleting with the reason until it is deleted again); the store is listed under Deleted stores (owner, admin, page) and undelete (API, page, storefleetctl) makes it again with the same id and host, then restores the final backup: the stand-in database and the uploads are back; deleting without a final backup needs the store's id as confirmation (422) and takes none (undelete: 409); another tenant gets 404; past the revive window undelete answers 410 and the store's backups are pruned from object storage.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-stores.sh"
. "$SF_ROOT/tests/lib-reconcile.sh"
. "$SF_ROOT/tests/lib-backups.sh"

bk_stack
tok=$(user_token owner@example.com) || bail "no token" # the first user: an administrator too
tok2=$(user_token other@example.com) || bail "no token"
api_json POST /api/v1/stores "$tok2" '{"name":"Shop B","engine":"woocommerce"}'
sid2=$(json_get 'j["store"]["id"]') || bail "no second store: $STATUS $BODY"
sid=$(bk_ready_store "$tok" "Shop A") || bail "the store did not become ready: $(tail -n 5 "$T/reconcile.log")"
bk_until 20 "(SELECT status = 'ready' FROM stores WHERE id = '$sid2')" || bail "$sid2 did not become ready"
rows=$SF_JOB_DB/wordpress.rows
state() { printf 'db=%s files=%s' "$(cat "$rows" 2>/dev/null)" "$(cd "$SF_JOB_FILES" && find . -type f | sort | tr '\n' ' ')"; }
store_col() { q "SELECT $2 FROM stores WHERE id = '$1'"; }
api GET "/api/v1/stores/$sid" "$tok"
url=$(json_get 'j["store"]["url"]')
echo "INSERT INTO \`wp_options\` VALUES (1,'kept');" >"$rows"
before=$(state)

# --- refusals: another tenant, an opt-out without its confirmation ------------------------------------
api DELETE "/api/v1/stores/$sid" "$tok2"
is "$STATUS" 404 "another tenant's DELETE: 404"
api DELETE "/api/v1/stores/$sid2?final_backup=false" "$tok2"
is "$STATUS:$(json_get 'j["error"]["message"]')" "422:Deleting without a final backup cannot be undone: confirm it with the store's id ($sid2)." \
	"DELETE ?final_backup=false without confirm: 422 with the contract"
api DELETE "/api/v1/stores/$sid2?final_backup=false&confirm=$sid" "$tok2"
is "$STATUS" 422 "... with another store's id as confirm: 422"
api DELETE "/api/v1/stores/$sid2?final_backup=maybe" "$tok2"
is "$STATUS" 422 "... final_backup neither true nor false: 422"
is "$(store_col "$sid2" status)" ready "... the store is untouched"

# --- the final backup fails: the store stays deleting with the reason ---------------------------------
api DELETE "/api/v1/stores/$sid" "$tok"
is "$STATUS:$(json_get 'j["store"]["status"] + " " + j["store"]["final_backup"]')" "202:deleting wanted" \
	"DELETE: 202, a final backup wanted"
SF_BACKUP_BUCKET=nosuchbucket bk_until 20 "(SELECT b.status = 'failed' FROM stores s JOIN backups b ON b.id = s.final_backup_id WHERE s.id = '$sid')" ||
	bail "the final backup did not fail: $(tail -n 5 "$T/reconcile.log")"
f1=$(store_col "$sid" final_backup_id)
is "$(q "SELECT kind FROM backups WHERE id = $f1")" final "the backup is of kind final"
bk_pass
is "$(store_col "$sid" status)" deleting "the final backup failed: the store is still deleting"
like "$(store_col "$sid" status_reason)" "^the final backup failed: job backup-b$f1: .*; the store is kept: delete it again to retry the backup, or to delete it without one \(confirmed\)$" \
	"... its reason says why and what to do"
is "$(q "SELECT count(*) FROM store_events WHERE store_id = '$sid' AND message LIKE 'deleting namespace%'")" 0 "... and its namespace was not deleted"

# --- deleted again from the page: a new final backup, complete before the namespace goes ------------------
jar=$T/jar
browser_login owner@example.com "$jar" >/dev/null
page "$jar" GET "/stores/$sid"
like "$BODY" "action=\"/stores/$sid/delete\"" "the kept store's page offers the delete again"
csrf=$(page_csrf)
page "$jar" POST "/stores/$sid/delete" -H "Origin: $BASE" --data-urlencode "csrf_token=$csrf" \
	--data-urlencode confirm=yes --data-urlencode no_final_backup=yes
is "$STATUS" 422 "the page's opt-out without the store's id typed: 422"
like "$BODY" "Deleting without a final backup cannot be undone" "... it says why"
is "$(store_col "$sid" "final_backup_id")" "$f1" "... nothing changed"
page "$jar" POST "/stores/$sid/delete" -H "Origin: $BASE" --data-urlencode "csrf_token=$csrf" --data-urlencode confirm=yes
is "$STATUS:$(store_col "$sid" "final_backup || ' ' || (final_backup_id IS NULL)")" "303:wanted true" "the delete form again: a new final backup wanted"
ok "the store is deleted" bk_until 30 "(SELECT status = 'deleted' FROM stores WHERE id = '$sid')"
f2=$(store_col "$sid" final_backup_id)
is "$(bk_row "$f2" "kind || ' ' || status")" "final complete" "the final backup b$f2 is complete"
is "$(q "SELECT (SELECT min(id) FROM store_events WHERE store_id = '$sid' AND message LIKE 'Backup b$f2 complete%') < (SELECT min(id) FROM store_events WHERE store_id = '$sid' AND message LIKE 'deleting namespace%')")" t \
	"... it completed before the namespace was deleted"
ok "... its objects are in object storage" test -s "$(bk_object "$sid" "b$f2" files.tar.gz)"
is "$(q "SELECT string_agg(action, ',' ORDER BY id) FROM audit_log WHERE target = '$sid' AND action LIKE 'store.delete%'")" "store.delete,store.delete_again" "audit: store.delete, store.delete_again"

# --- Deleted stores: the owner's, the administrators', the page ----------------------------------------
api GET /api/v1/deleted-stores "$tok"
is "$STATUS:$(json_get '[(s["id"], s["final_backup"], s["revivable"]) for s in j["stores"]] == [("'$sid'", "b'$f2'", True)]')" "200:True" \
	"GET /api/v1/deleted-stores: the store, its final backup, revivable"
api GET /api/v1/deleted-stores "$tok2"
is "$(json_get 'len(j["stores"])')" 0 "... another tenant does not see it"
api GET /api/v1/admin/deleted-stores "$tok2"
is "$STATUS" 403 "... nor the administrators' list"
page "$jar" GET /stores
like "$BODY" "id=\"undelete-$sid\"" "the stores page lists it under Deleted stores with an Undelete button"

# --- undelete: refusals, then the same id and host, the data back ----------------------------------------
api POST "/api/v1/stores/$sid/undelete" "$tok2"
is "$STATUS:$(json_get 'j["error"]["message"]')" "404:There is no such store." "another tenant's undelete: 404"
api POST "/api/v1/stores/$sid2/undelete" "$tok2"
is "$STATUS:$(json_get 'j["error"]["message"]')" "409:The store is ready; only a deleted store can be undeleted." "undelete of a store not deleted: 409"
rm -f "$rows" "$SF_JOB_FILES/2026/12/shoe.jpg" # the namespace, its database and files, are gone
page "$jar" POST "/stores/$sid/undelete" -H "Origin: $BASE" --data-urlencode "csrf_token=$csrf"
is "$STATUS:$(header Location)" "303:/stores/$sid?undeleted=1" "the Undelete button: 303 to the store"
is "$(store_col "$sid" "status || ' ' || final_backup || ' ' || (deleted_at IS NULL)")" "requested  true" "the store is requested again, the same row"
r1=$(q "SELECT max(id) FROM restores WHERE store_id = '$sid'")
is "$(q "SELECT backup_name || ' ' || status || ' ' || undelete FROM restores WHERE id = $r1")" "b$f2 requested true" "... a restore of its final backup is recorded"
ok "the store is ready and restored" bk_until 40 "(SELECT status IN ('complete', 'failed') FROM restores WHERE id = $r1)"
is "$(q "SELECT status || ':' || reason FROM restores WHERE id = $r1"):$(store_col "$sid" status)" "complete::ready" "... the restore complete, the store ready"
is "$(state)" "$before" "the database and the files are those of the final backup"
api GET "/api/v1/stores/$sid" "$tok"
is "$(json_get 'j["store"]["id"] + " " + j["store"]["url"]')" "$sid $url" "the same id and host"
like "$(q "SELECT string_agg(message, '|' ORDER BY id) FROM store_events WHERE store_id = '$sid'")" \
	"Undelete requested by owner@example.com: .*final backup b$f2 is restored.*\|Restore #$r1 complete" "the activity says it"
is "$(q "SELECT count(*) FROM audit_log WHERE target = '$sid' AND action = 'store.undelete' AND details->>'backup' = 'b$f2'")" 1 "audit: store.undelete"

# --- without a final backup, confirmed: none taken, no undelete ------------------------------------------
api DELETE "/api/v1/stores/$sid2?final_backup=false&confirm=$sid2" "$tok2"
is "$STATUS:$(json_get 'j["store"]["final_backup"]')" "202:skipped" "DELETE ?final_backup=false&confirm=ID: 202, skipped"
ok "... deleted" bk_until 20 "(SELECT status = 'deleted' FROM stores WHERE id = '$sid2')"
is "$(q "SELECT count(*) FROM backups WHERE store_id = '$sid2'")" 0 "... no backup was taken"
api POST "/api/v1/stores/$sid2/undelete" "$tok2"
is "$STATUS:$(json_get 'j["error"]["message"]')" "409:The store was deleted without a final backup, as its owner asked; it cannot be undeleted." "its undelete: 409"
api GET /api/v1/admin/deleted-stores "$tok"
is "$(json_get '[(s["id"], s["owner"], s["revivable"]) for s in j["stores"]] == [("'$sid2'", "other@example.com", False)]')" True \
	"the administrators' list has every owner's deleted stores"

out=$("$SF_BUILD/bin/storefleetctl" store deleted 2>&1)
is "$out" "$(printf '%s\tother@example.com\t%s\t%s\t-\tThe store was deleted without a final backup, as its owner asked; it cannot be undeleted.' "$sid2" \
	"$(store_col "$sid2" "to_char(deleted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")" \
	"$(store_col "$sid2" "to_char((deleted_at + interval '7 days') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")")" \
	"storefleetctl store deleted: id, owner, deleted at, restorable until, final backup, why not"

# --- past the revive window: 410, and the backups pruned (storefleetctl) -----------------------------------
out=$("$SF_BUILD/bin/storefleetctl" store delete "$sid" --no-final-backup "$sid2" 2>&1)
is "$?:$out" "1:storefleetctl: store delete: Deleting without a final backup cannot be undone: confirm it with the store's id ($sid)." \
	"storefleetctl store delete --no-final-backup with another id: refused"
is "$(store_col "$sid" status)" ready "... the store is untouched"
out=$("$SF_BUILD/bin/storefleetctl" store delete "$sid" 2>&1)
is "$out" "$sid: delete requested (deleting, final backup: wanted)" "storefleetctl store delete ID"
ok "... deleted after its final backup" bk_until 30 "(SELECT status = 'deleted' FROM stores WHERE id = '$sid')"
nb=$(q "SELECT count(*) FROM backups WHERE store_id = '$sid' AND status = 'complete'")
ok "the store has $nb complete backups in object storage" test "$nb" -ge 3
q "UPDATE stores SET deleted_at = now() - interval '8 days' WHERE id = '$sid'" >/dev/null
out=$("$SF_BUILD/bin/storefleetctl" store undelete "$sid" 2>&1)
is "$?:$out" "1:storefleetctl: store undelete: The store was deleted more than 7 days ago (the revive window); its backups are pruned and it cannot be undeleted." \
	"storefleetctl store undelete past the window: refused"
api POST "/api/v1/stores/$sid/undelete" "$tok"
is "$STATUS:$(json_get 'j["error"]["code"]')" "410:gone" "... the API: 410 gone"
bk_pass
is "$(q "SELECT count(*) FROM backups WHERE store_id = '$sid'")" 0 "one pass: every backup row of the store is pruned"
is "$(find "$S3_DIR/stores/stores/$sid" -name '*._S3rver_object' 2>/dev/null | wc -l)" 0 "... and every object of it"
is "$(q "SELECT count(*) FROM audit_log WHERE target = '$sid' AND action = 'backup.pruned' AND details->>'reason' LIKE 'the revive window%'")" "$(q "SELECT count(*) FROM audit_log WHERE target = '$sid' AND action = 'backup.requested'")" \
	"... each with an audit row"
done_testing
