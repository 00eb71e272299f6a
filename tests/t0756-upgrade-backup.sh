#!/bin/bash
# t0756-upgrade-backup.sh - with a backup target configured an upgrade's snapshot is a backup in object storage: a 'pre-upgrade' backup through the backup machinery (kubesim runs the chart's own backup Job against s3rver, reconcile verifies the manifest), listed with the store's backups, no snapshots claim in the namespace; a new version that fails rolls back and the restore Job of 75-backup.yaml puts that backup back (the data's checksums equal those before the upgrade); a backup that fails stops the upgrade before anything is applied, with the reason.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-stores.sh"
. "$SF_ROOT/tests/lib-reconcile.sh"
. "$SF_ROOT/tests/lib-backups.sh"

export SF_UPGRADE_TIMEOUT=60
bk_stack
tok=$(user_token owner@example.com) || bail "no token"
# two stores on the older version (pinned before their first pass)
for name in A B; do
	api_json POST /api/v1/stores "$tok" "{\"name\":\"Shop $name\",\"engine\":\"woocommerce\"}"
	id=$(json_get 'j["store"]["id"]') || bail "no store: $BODY"
	q "UPDATE stores SET engine_version = '6.7.2' WHERE id = '$id'" >/dev/null
	eval "sid$name=$id"
done
bk_until 40 "(SELECT count(*) = 2 FROM stores WHERE status = 'ready')" ||
	bail "the stores did not become ready: $(tail -n 5 "$T/reconcile.log")"
rows=$SF_JOB_DB/wordpress.rows
# the data's checksums: the database (the Job runner keeps it as rows) and every uploaded file
sums() { sha256sum <"$rows"; (cd "$SF_JOB_FILES" && find . -type f -not -path './.sf-*' -print0 | sort -z | xargs -0 sha256sum); }
image() { kubectl_get "apis/apps/v1/namespaces/store-$1/deployments/wordpress" | json_get_stdin 'j["spec"]["template"]["spec"]["containers"][0]["image"]'; }
kubectl_get() { curl -s --cacert "$KUBESIM_DIR/ca.crt" -H "Authorization: Bearer $KUBESIM_TOKEN" "$KUBESIM_ADDR/$1"; }
json_get_stdin() { python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }
claims() { kubectl_get "api/v1/namespaces/store-$1/persistentvolumeclaims" | json_get_stdin '" ".join(sorted(i["metadata"]["name"] for i in j["items"]))'; }
rev() { q "SELECT $3 FROM store_revisions WHERE store_id = '$1' AND revision = $2"; }
events() { q "SELECT string_agg(message, '|' ORDER BY id) FROM store_events WHERE store_id = '$1' AND step IN ('upgrade', 'rollback')"; }

# --- both upgraded at once: A cleanly, B to a new version that fails (its pods cannot pull the image)
echo "INSERT INTO \`wp_options\` VALUES (1,'before');" >"$rows"
before=$(sums)
sim POST /_sim/faults "{\"scope\":\"store-$sidB\",\"type\":\"image_pull\",\"image\":\"wordpress:6.8.1\"}"
like "$SIM_BODY" '"id"' "image_pull fault for wordpress:6.8.1 in store B"
for id in "$sidA" "$sidB"; do
	api_json POST "/api/v1/stores/$id/upgrade" "$tok" '{"version": "6.8.1"}'
	is "$STATUS" 202 "upgrade of $id to 6.8.1 requested"
done
bk_until 20 "(SELECT snapshot_status = 'complete' FROM store_revisions WHERE store_id = '$sidB' AND revision = 2)" ||
	bail "B's backup: $(tail -n 5 "$T/reconcile.log")"
snapB=$(rev "$sidB" 2 snapshot)
# what the new version does to the data before it fails
echo "INSERT INTO \`wp_options\` VALUES (1,'after');" >"$rows"
printf 'new\n' >"$SF_JOB_FILES/new.jpg"
nok "the data changed after the backup" test "$(sums)" = "$before"
bk_until 40 "(SELECT count(*) = 2 FROM stores WHERE id IN ('$sidA', '$sidB') AND status = 'ready')" ||
	bail "the upgrades did not end: $(q "SELECT string_agg(status_reason, '; ') FROM stores")"

# --- A: its snapshot is backup b<n>, kind pre-upgrade, complete before anything was applied
snap=$(rev "$sidA" 2 snapshot)
like "$snap" '^b[0-9]+$' "revision 2's snapshot is a backup ($snap)"
is "$(rev "$sidA" 2 "result || ' ' || snapshot_status")" "ready complete" "... complete; the revision is ready"
api GET "/api/v1/stores/$sidA/backups" "$tok"
is "$STATUS:$(printf '%s' "$BODY" | json_get_stdin "[b['kind'] + ' ' + b['status'] + ' ' + str(len(b['objects'])) + ' ' + b['version'] for b in j['backups'] if b['id'] == '$snap'][0]")" \
	"200:pre-upgrade complete 2 6.7.2" "GET /api/v1/stores/ID/backups lists it: pre-upgrade, complete, two objects, of 6.7.2"
ok "... its manifest is in s3rver" test -s "$(bk_object "$sidA" "$snap" manifest.json)"
unlike " $(claims "$sidA") " ' snapshots ' "no snapshots claim in the namespace (claims: $(claims "$sidA"))"
is "$(image "$sidA")" "wordpress:6.8.1-php8.3-apache" "store A runs 6.8.1"
is "$(q "SELECT status || ' ' || engine_version || ' ' || current_revision FROM stores WHERE id = '$sidA'")" "ready 6.8.1 2" \
	"... ready on revision 2"
like "$(events "$sidA")" "\|backup $snap requested before the upgrade \(job backup-$snap\)\|backup $snap complete \(sizes and SHA-256 verified\)\|applied 6\.8\.1 .*\|upgraded to 6\.8\.1$" \
	"events: backup requested, complete, applied, upgraded"
is "$(q "SELECT string_agg(action, ',' ORDER BY id) FROM audit_log WHERE target = '$sidA' AND action LIKE 'backup.%'")" \
	"backup.requested,backup.complete" "the backup's audit rows"

# --- B: rolled back, its backup restored by 75-backup.yaml's restore Job ---------------------------
is "$(q "SELECT current_revision FROM stores WHERE id = '$sidB'")" 3 "store B is on revision 3"
like "$(rev "$sidB" 2 "result || ': ' || reason")" '^rolled_back: image wordpress:[^ ]+ could not be pulled' \
	"revision 2 rolled back, with the reason"
is "$(rev "$sidB" 3 "kind || ' ' || restore_snapshot || ' ' || restore_status || ' ' || result")" "rollback $snapB complete ready" \
	"revision 3: the rollback restored backup $snapB"
is "$(sums)" "$before" "the database and the files have the checksums of before the upgrade"
is "$(kubectl_get "apis/batch/v1/namespaces/store-$sidB/jobs/restore-backup-rev3" | json_get_stdin '[c["type"] for c in j["status"]["conditions"] if c["status"] == "True"][-1] + " " + [e["value"] for e in j["spec"]["template"]["spec"]["containers"][0]["env"] if e["name"] == "BACKUP_ID"][0]')" \
	"Complete $snapB" "75-backup.yaml's restore Job restore-backup-rev3 restored $snapB"
is "$(image "$sidB")" "wordpress:6.7.2-php8.3-apache" "store B runs 6.7.2 again"
unlike " $(claims "$sidB") " ' snapshots ' "no snapshots claim in B's namespace"
like "$(events "$sidB")" "\|upgrade to 6\.8\.1 failed: image .*; rolling back to 6\.7\.2\|applied 6\.7\.2 .*\|restore of backup $snapB started \(job restore-backup-rev3\)\|backup $snapB restored\|rolled back to 6\.7\.2: image " \
	"events: rolled back, restore of the backup started, restored"

# --- the policy keeps an upgrade's backup while its revision can be rolled back ---------------------
q "UPDATE backups SET created_at = now() - interval '30 days' WHERE name = '$snapB'" >/dev/null
SF_BACKUP_KEEP_DAILY=0 SF_BACKUP_KEEP_WEEKLY=0 bk_pass
is "$(q "SELECT status FROM backups WHERE name = '$snapB'")" complete "a month-old pre-upgrade backup a kept revision names is not pruned"

# --- a backup that fails stops the upgrade before anything is applied -------------------------------
api_json POST "/api/v1/stores/$sidB/upgrade" "$tok" '{"version": "6.8.1"}'
is "$STATUS" 202 "store B's upgrade requested again"
SF_BACKUP_BUCKET=nosuchbucket bk_until 20 "(SELECT pending_revision IS NULL FROM stores WHERE id = '$sidB')" ||
	bail "the upgrade did not end: $(q "SELECT status_reason FROM stores WHERE id = '$sidB'")"
like "$(rev "$sidB" 4 "result || ' ' || snapshot_status || ': ' || reason")" \
	"^failed failed: backup b[0-9]+ failed: job backup-b[0-9]+: BackoffLimitExceeded: .*uploading database\.sql\.gz to s3://nosuchbucket/.*failed" \
	"revision 4 failed with the backup's reason (the bucket is missing)"
is "$(q "SELECT status || ' ' || engine_version || ' ' || current_revision FROM stores WHERE id = '$sidB'")" "ready 6.7.2 3" \
	"store B is ready on 6.7.2, revision 3"
is "$(image "$sidB")" "wordpress:6.7.2-php8.3-apache" "its Deployment was never touched"
like "$(events "$sidB" | tr '|' '\n' | tail -n 1)" '^upgrade to 6\.8\.1 failed before changing the store: backup b[0-9]+ failed' \
	"the last event says the store was left as it was"
done_testing
