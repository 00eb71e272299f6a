#!/bin/bash
# t0747-backups-faults.sh - backups that must not be recorded complete, each failed with its reason: the bucket missing and a wrong key (the Job's rclone fails; its log's tail is the reason), an object damaged after upload and a manifest lost (reconcile's check against s3rver), a backup racing the store's delete; a reconcile killed between naming the Job and creating it, or while the Job runs, resumes it; /metrics counts the failures by reason.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-stores.sh"
. "$SF_ROOT/tests/lib-reconcile.sh"
. "$SF_ROOT/tests/lib-backups.sh"

bk_stack
tok=$(user_token owner@example.com) || bail "no token"
sid=$(bk_ready_store "$tok" "Shop A") || bail "the store did not become ready: $(tail -n 5 "$T/reconcile.log")"

# request NAME: a manual backup of $sid through the API; prints its number
request() {
	api_json POST "/api/v1/stores/$1/backups" "$tok" ''
	[ "$STATUS" = 202 ] || { echo "POST backups: $STATUS $BODY" >&2; return 1; }
	json_get 'j["backup"]["number"]'
}
ended() { echo "(SELECT status IN ('complete', 'failed') FROM backups WHERE id = $1)"; }
never_complete() {
	is "$(bk_row "$1" "status || ' ' || (dump_size IS NULL)")" "failed true" "... never recorded complete"
}

# --- the bucket missing: the Job fails, its rclone error is the reason -----------------------------
n=$(request "$sid") || bail "no backup"
SF_BACKUP_BUCKET=nosuchbucket bk_until 20 "$(ended "$n")"
is "$(bk_row "$n" "status || ' ' || failure")" "failed job" "a missing bucket: failed, reason class job"
like "$(bk_row "$n" reason)" "^job backup-b$n: BackoffLimitExceeded: Job has reached the specified backoff limit; .*backup: uploading database.sql.gz to s3://nosuchbucket/stores/$sid/backups/b$n/ failed: .*(NoSuchBucket|bucket does not exist)" \
	"... the reason is the Job's own: uploading to the missing bucket failed"
never_complete "$n"
ok "... no manifest.json anywhere" test ! -e "$S3_DIR/nosuchbucket"

# --- a wrong key: the Secret is made from the configuration, the Job's rclone is refused ----------
n=$(request "$sid") || bail "no backup"
SF_BACKUP_ACCESS_KEY=WRONGKEY bk_until 20 "$(ended "$n")"
is "$(bk_row "$n" "status || ' ' || failure")" "failed job" "a wrong access key: failed"
like "$(bk_row "$n" reason)" "failed: .*InvalidAccessKeyId" "... the reason names the refused key"
unlike "$(bk_row "$n" reason)" "$S3_SECRET_KEY" "... and never holds the secret"
ok "... nothing of it is left in the bucket" test ! -e "$S3_DIR/stores/stores/$sid/backups/b$n/manifest.json._S3rver_object"

# --- an object damaged after the Job read it back: reconcile's HEAD sees the size ------------------
n=$(request "$sid") || bail "no backup"
touch "$SF_JOB_HOOKS/corrupt"
bk_until 20 "$(ended "$n")"
is "$(bk_row "$n" "status || ' ' || failure")" "failed mismatch" "files.tar.gz 3 bytes short in s3rver: failed, reason class mismatch"
like "$(bk_row "$n" reason)" "^files.tar.gz is [0-9]+ bytes in object storage, manifest.json says [0-9]+$" "... the reason gives both sizes"
never_complete "$n"

# --- the manifest lost: not complete, whatever else is there --------------------------------------
n=$(request "$sid") || bail "no backup"
touch "$SF_JOB_HOOKS/lose"
bk_until 20 "$(ended "$n")"
is "$(bk_row "$n" "status || ' ' || failure")" "failed manifest" "manifest.json gone after the Job: failed, reason class manifest"
like "$(bk_row "$n" reason)" "^the job completed but s3://stores/stores/$sid/backups/b$n/manifest.json is missing" "... the reason says what is missing"
ok "... and what it left (the dump) is deleted from its prefix" test ! -e "$(bk_object "$sid" "b$n" database.sql.gz)"
never_complete "$n"

# --- a reconcile killed after recording the Job's name, before making it --------------------------
n=$(request "$sid") || bail "no backup"
# what st_named writes before the Job is applied: the state such a kill leaves
q "UPDATE backups SET status = 'running', name = 'b$n', job = 'backup-b$n', prefix = 'stores/$sid/backups/b$n/', started_at = now() WHERE id = $n" >/dev/null
job_code() { curl -s -o /dev/null -w '%{http_code}' --cacert "$KUBESIM_DIR/ca.crt" -H "Authorization: Bearer $KUBESIM_TOKEN" \
	"$KUBESIM_ADDR/apis/batch/v1/namespaces/store-$sid/jobs/backup-b$n"; }
is "$(job_code)" 404 "a running backup whose Job was never made"
bk_pass
like "$(cat "$T/reconcile.log")" "backup b$n: job backup-b$n applied again" "the next reconcile makes the Job under the recorded name"
ok "... and the backup completes" bk_until 20 "$(ended "$n")"
is "$(bk_row "$n" "status || ':' || reason")" "complete:" "... complete, verified"

# --- a reconcile killed while the Job runs: the next one follows it ------------------------------
n=$(request "$sid") || bail "no backup"
"$SF_BUILD/bin/storefleet-reconcile" --for 60s --no-lock >>"$T/reconcile-killed.log" 2>&1 &
loop=$!
running() { [ "$(bk_row "$n" status)" = running ]; }
ok "a reconcile loop starts the backup" wait_for 20 running
kill -9 "$loop"
wait "$loop" 2>/dev/null
is "$(bk_row "$n" status)" running "... killed (SIGKILL) with the backup running"
ok "... the next reconcile follows the same Job to the end" bk_until 20 "$(ended "$n")"
is "$(bk_row "$n" "status || ' ' || job")" "complete backup-b$n" "... complete"

# --- racing a delete: the store goes, the backup ends failed with why ---------------------------
n=$(request "$sid") || bail "no backup"
bk_pass
is "$(bk_row "$n" status)" running "a backup running"
api DELETE "/api/v1/stores/$sid" "$tok"
is "$STATUS" 202 "... the store deleted meanwhile"
bk_until 20 "$(ended "$n")"
is "$(bk_row "$n" "status || ' ' || failure || ': ' || reason")" \
	"failed deleted: the store was deleted before the backup completed" "... the backup ends failed: the store was deleted"
api_json POST "/api/v1/stores/$sid/backups" "$tok" ''
like "$STATUS:$(json_get 'j["error"]["message"]')" "^409:The store is (deleting|deleted); only a ready store can be backed up\.$" "no new backup of a deleted store: 409"

# --- every failure counted by its reason -------------------------------------------------------
NOCOOKIES=1 http GET /metrics
for r in job:2 mismatch:1 manifest:1 deleted:1 storage:0 timeout:0; do
	like "$BODY" "storefleet_backup_failures_total\{reason=\"${r%%:*}\"\} ${r#*:}
" "/metrics: storefleet_backup_failures_total{reason=\"${r%%:*}\"} ${r#*:}"
done
is "$(q "SELECT string_agg(DISTINCT action, ',') FROM audit_log WHERE target = '$sid' AND action LIKE 'backup.%'")" \
	"backup.complete,backup.failed,backup.requested" "audit rows for the requests, the failures and the complete ones"
done_testing
