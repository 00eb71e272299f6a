#!/bin/bash
# t0746-backups-now.sh - "Back up now" through the API, the store page and storefleetctl: reconcile names the Job, kubesim runs the chart's own backup script (tools/kubesim-job-runner.sh: rclone to s3rver), reconcile reads manifest.json and checks every object before the row is complete with its sizes and SHA-256; 409 while one runs and while the store is not ready; another tenant's store 404; the list, the page, the audit rows.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-stores.sh"
. "$SF_ROOT/tests/lib-reconcile.sh"
. "$SF_ROOT/tests/lib-backups.sh"

bk_stack
tok=$(user_token owner@example.com) || bail "no token"
tok2=$(user_token other@example.com) || bail "no token"
sid=$(bk_ready_store "$tok" "Shop A") || bail "the store did not become ready: $(tail -n 5 "$T/reconcile.log")"

# --- the API: 202 with the row, then 409 while it is live -----------------------------------------
api_json POST "/api/v1/stores/$sid/backups" "$tok" ''
is "$STATUS" 202 "POST /api/v1/stores/ID/backups: 202"
is "$(json_get 'j["backup"]["kind"] + " " + j["backup"]["status"] + " " + str(j["backup"]["id"]) + " " + str(j["backup"]["size"])')" \
	"manual requested None None" "... the backup's row: manual, requested, no name or size yet"
n1=$(json_get 'j["backup"]["number"]')
api_json POST "/api/v1/stores/$sid/backups" "$tok" ''
is "$STATUS" 409 "a second request while one is requested: 409"
like "$(json_get 'j["error"]["message"]')" "^Backup #$n1 \(manual\) is already requested" "... saying which backup and that it is live"
api_json POST "/api/v1/stores/$sid/backups" "$tok2" ''
is "$STATUS:$(json_get 'j["error"]["message"]')" "404:There is no such store." "another tenant's store: 404, as a missing one"
api GET "/api/v1/stores/$sid/backups" "$tok2"
is "$STATUS" 404 "... and its list: 404"

# --- reconcile: the Job recorded, created with the environment the chart gives it, run, verified --
bk_pass
is "$(bk_row "$n1" "status || ' ' || name || ' ' || job || ' ' || prefix")" \
	"running b$n1 backup-b$n1 stores/$sid/backups/b$n1/" "one pass: running, the Job's name and the prefix recorded"
kubectl_job() { curl -s --cacert "$KUBESIM_DIR/ca.crt" -H "Authorization: Bearer $KUBESIM_TOKEN" \
	"$KUBESIM_ADDR/apis/batch/v1/namespaces/store-$sid/jobs/backup-b$n1"; }
job=$(kubectl_job)
env_of() { printf '%s' "$job" | python3 -c '
import json, sys
c = json.load(sys.stdin)["spec"]["template"]["spec"]["containers"][0]
e = {x["name"]: x.get("value", "secretKeyRef:" + x.get("valueFrom", {}).get("secretKeyRef", {}).get("name", "")) for x in c["env"]}
print(" ".join(e.get(k, "-") for k in sys.argv[1:]))' "$@"; }
is "$(env_of STORE_ID BACKUP_ID ENGINE BUCKET RCLONE_CONFIG_S3_ENDPOINT RCLONE_CONFIG_S3_FORCE_PATH_STYLE RCLONE_CONFIG_S3_SECRET_ACCESS_KEY)" \
	"$sid b$n1 woocommerce stores $S3_ENDPOINT true secretKeyRef:backup-s3" "the Job in kubesim: the store, the backup id, the bucket and endpoint of the configuration, the key from the Secret"
sec=$(curl -s --cacert "$KUBESIM_DIR/ca.crt" -H "Authorization: Bearer $KUBESIM_TOKEN" "$KUBESIM_ADDR/api/v1/namespaces/store-$sid/secrets/backup-s3")
is "$(printf '%s' "$sec" | python3 -c 'import json,sys,base64; d=json.load(sys.stdin)["data"]; print(base64.b64decode(d["access-key-id"]).decode(), base64.b64decode(d["secret-access-key"]).decode())')" \
	"$S3_ACCESS_KEY $S3_SECRET_KEY" "the Secret backup-s3 in the store's namespace holds the configured key"
ok "the backup completes within a few passes" bk_until 20 "(SELECT status IN ('complete', 'failed') FROM backups WHERE id = $n1)"
is "$(bk_row "$n1" "status || ':' || reason")" "complete:" "... complete, no reason"
for o in database.sql.gz files.tar.gz manifest.json; do
	ok "s3rver holds $o" test -s "$(bk_object "$sid" "b$n1" "$o")"
done
is "$(bk_row "$n1" "dump_size || ' ' || dump_sha256 || ' ' || files_size || ' ' || files_sha256")" \
	"$(stat -c %s "$(bk_object "$sid" "b$n1" database.sql.gz)") $(sha256sum <"$(bk_object "$sid" "b$n1" database.sql.gz)" | cut -d' ' -f1) $(stat -c %s "$(bk_object "$sid" "b$n1" files.tar.gz)") $(sha256sum <"$(bk_object "$sid" "b$n1" files.tar.gz)" | cut -d' ' -f1)" \
	"the row's sizes and SHA-256 are those of the objects in s3rver"
is "$(tar -tzf "$(bk_object "$sid" "b$n1" files.tar.gz)" | sort | tr '\n' ' ')" \
	"./ ./2026/ ./2026/12/ ./2026/12/shoe.jpg ./with space é.txt " "files.tar.gz holds the uploads"
is "$(bk_row "$n1" "engine || ' ' || (version <> '') || ' ' || (manifest_started <> '') || ' ' || (finished_at IS NOT NULL)")" \
	"woocommerce true true true" "... engine, version, the manifest's times and the end recorded"
job=$(kubectl_job)
is "$(printf '%s' "$job" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("code"))')" \
	"404" "the finished Job is deleted once the backup is recorded"

# --- the list: API and storefleetctl ----------------------------------------------------------
api GET "/api/v1/stores/$sid/backups" "$tok"
is "$STATUS:$(json_get 'str(len(j["backups"])) + " " + j["backups"][0]["id"] + " " + j["backups"][0]["status"] + " " + ",".join(o["name"] for o in j["backups"][0]["objects"])')" \
	"200:1 b$n1 complete database.sql.gz,files.tar.gz" "GET /api/v1/stores/ID/backups lists it with its objects"
is "$(json_get 'str(j["backups"][0]["size"] == sum(o["size"] for o in j["backups"][0]["objects"]))')" True "... its size is the objects' sizes added up"
out=$("$SF_BUILD/bin/storefleetctl" store backups "$sid" 2>&1)
like "$out" "^b$n1	manual	complete	[0-9]+	20[0-9-]+T[0-9:]+Z	-$" "storefleetctl store backups ID: one line per backup"

# --- storefleetctl store backup, then the page's button --------------------------------------------
out=$("$SF_BUILD/bin/storefleetctl" store backup "$sid" 2>&1)
like "$out" "^$sid: backup #[0-9]+ requested \(requested\)$" "storefleetctl store backup ID requests one"
out=$("$SF_BUILD/bin/storefleetctl" store backup "$sid" 2>&1)
is "$?" 1 "... again at once: refused, exit 1"
like "$out" "already requested" "... with the reason"
ok "... it completes" bk_until 20 "(SELECT count(*) = 2 FROM backups WHERE store_id = '$sid' AND status = 'complete')"

jar=$T/jar
browser_login owner@example.com "$jar" >/dev/null
page "$jar" GET "/stores/$sid"
like "$BODY" 'id="backup-now"' "the store page has the Back up now button"
like "$BODY" "badge-backup-complete" "... and lists the complete backups"
csrf=$(page_csrf)
page "$jar" POST "/stores/$sid/backups" -H "Origin: $BASE" --data-urlencode "csrf_token=wrong"
is "$STATUS" 403 "the form without its CSRF token: 403"
page "$jar" POST "/stores/$sid/backups" -H "Origin: $BASE" --data-urlencode "csrf_token=$csrf"
is "$STATUS:$(header Location)" "303:/stores/$sid?backup_requested=1#backups" "the button: 303 back to the page"
page "$jar" POST "/stores/$sid/backups" -H "Origin: $BASE" --data-urlencode "csrf_token=$csrf"
is "$STATUS" 409 "... pressed again while it is requested: 409"
like "$BODY" "is already requested" "... the page says why"
page "$jar" GET "/stores/$sid?backup_requested=1"
like "$BODY" 'badge-backup-requested' "the page shows the requested backup"
jar2=$T/jar2
browser_login other@example.com "$jar2" >/dev/null
page "$jar2" GET /stores
page "$jar2" POST "/stores/$sid/backups" -H "Origin: $BASE" --data-urlencode "csrf_token=$(page_csrf)"
is "$STATUS" 404 "another tenant pressing it on the store: 404"
ok "... the page's backup completes" bk_until 20 "(SELECT count(*) = 3 FROM backups WHERE store_id = '$sid' AND status = 'complete')"

# --- not while the store is not ready -----------------------------------------------------------
api_json POST "/api/v1/stores/$sid/suspend" "$tok" ''
api_json POST "/api/v1/stores/$sid/backups" "$tok" ''
like "$STATUS:$(json_get 'j["error"]["message"]')" "^409:The store is (suspending|suspended); only a ready store can be backed up\.$" "a suspended store: 409 with the reason"

# --- audit and activity --------------------------------------------------------------------------
is "$(q "SELECT string_agg(action, ',' ORDER BY id) FROM audit_log WHERE target = '$sid' AND action LIKE 'backup.%'")" \
	"backup.requested,backup.complete,backup.requested,backup.complete,backup.requested,backup.complete" "audit rows: requested and complete, for each"
like "$(q "SELECT string_agg(message, '|' ORDER BY id) FROM store_events WHERE store_id = '$sid' AND step = 'backup'")" \
	"Backup b$n1 started \(manual, job backup-b$n1\)\|Backup b$n1 complete: database.sql.gz [0-9]+ bytes, files [0-9]+ bytes, verified" "the store's activity says what happened"
done_testing
