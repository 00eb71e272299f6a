#!/bin/bash
# t0748-backups-schedule.sh - backups by the policy: reconcile schedules a store's backup when none is younger than backup_interval (at most backup_concurrency at once, fleet-wide), none again until it is due; pruning keeps the newest of each of the last N days and M weeks (objects and rows of the others go, with audit rows) and never a store's only complete backup; an upgrade waits for a running backup and none is asked for during one; /metrics has each store's last success age and the stores without one.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-stores.sh"
. "$SF_ROOT/tests/lib-reconcile.sh"
. "$SF_ROOT/tests/lib-backups.sh"

bk_stack
tok=$(user_token owner@example.com) || bail "no token"
for n in A B; do
	api_json POST /api/v1/stores "$tok" "{\"name\":\"Shop $n\",\"engine\":\"woocommerce\"}"
done
# the second made on 6.7.2, as a store made before 6.8.1 was offered: it has an upgrade to take
q "UPDATE stores SET engine_version = '6.7.2' WHERE name = 'Shop B'" >/dev/null
bk_until 30 "(SELECT count(*) = 2 FROM stores WHERE status = 'ready')" || bail "the stores did not become ready"
sa=$(q "SELECT id FROM stores WHERE name = 'Shop A'") sb=$(q "SELECT id FROM stores WHERE name = 'Shop B'")

scrape() { NOCOOKIES=1 http GET /metrics; }
scrape
like "$BODY" "storefleet_stores_without_backup 2
" "/metrics: two ready stores without a backup"
unlike "$BODY" "storefleet_backup_last_success_age_seconds\{" "... and no age series yet"

# --- scheduling: due when none is younger than the interval, one at a time here -----------------
export SF_BACKUP_INTERVAL=3600 SF_BACKUP_CONCURRENCY=1
first=$(q "SELECT min(id) FROM stores") second=$(q "SELECT max(id) FROM stores")
bk_pass
is "$(q "SELECT string_agg(store_id || ' ' || kind || ' ' || status, ',') FROM backups")" "$first scheduled running" \
	"one pass: a scheduled backup of the first store, started; the other waits (backup_concurrency 1)"
ok "... it completes" bk_until 20 "(SELECT status = 'complete' FROM backups WHERE store_id = '$first')"
scrape
like "$BODY" "storefleet_backup_last_success_age_seconds\{store=\"$first\"\} [0-9]" "/metrics: the first store's last success age"
like "$BODY" "storefleet_stores_without_backup 1
" "... one store left without a backup"
ok "the second store's backup follows" bk_until 20 "(SELECT count(*) = 2 FROM backups WHERE status = 'complete')"
is "$(q "SELECT count(*) FROM backups WHERE store_id = '$second' AND kind = 'scheduled'")" 1 "... scheduled too"
bk_pass
bk_pass
is "$(q "SELECT count(*) FROM backups")" 2 "more passes: nothing new before the interval has passed"
q "UPDATE backups SET created_at = created_at - interval '3601 seconds' WHERE store_id = '$first'" >/dev/null
bk_pass
is "$(q "SELECT count(*) FROM backups WHERE store_id = '$first'")" 2 "an hour later (its backup made older): the first store is due again"
ok "... and backed up" bk_until 20 "(SELECT count(*) = 3 FROM backups WHERE status = 'complete')"
is "$(q "SELECT count(*) FROM audit_log WHERE action = 'backup.requested' AND actor_email = 'storefleet-reconcile'")" 3 \
	"audit: each scheduled backup requested by storefleet-reconcile"
unset SF_BACKUP_INTERVAL SF_BACKUP_CONCURRENCY

# --- pruning: complete backups on fixed past days, as a year of schedules would leave them ----------
# The newest is a real backup; the older ones are its objects copied under their own prefixes and
# rows dated on days of past weeks (the Job's output is t0746's; what pruning sees is rows and objects).
newest=$(q "SELECT max(id) FROM backups WHERE store_id = '$first'")
tc() {
	env -u AWS_CA_BUNDLE RCLONE_CONFIG=/dev/null RCLONE_S3_NO_CHECK_BUCKET=true RCLONE_CONFIG_T_TYPE=s3 RCLONE_CONFIG_T_PROVIDER=Other \
		RCLONE_CONFIG_T_ENDPOINT="$S3_ENDPOINT" RCLONE_CONFIG_T_REGION=us-east-1 RCLONE_CONFIG_T_FORCE_PATH_STYLE=true \
		RCLONE_CONFIG_T_ACCESS_KEY_ID="$S3_ACCESS_KEY" RCLONE_CONFIG_T_SECRET_ACCESS_KEY="$S3_SECRET_KEY" \
		rclone -q --retries 1 --low-level-retries 1 "$@"
}
declare -A at=([c1]='2026-11-27 12:00' [c2]='2026-11-26 12:00' [c3]='2026-11-18 12:00' [c4]='2026-11-11 12:00')
tc copy "t:stores/stores/$first/backups/b$newest" "$T/newest" 2>"$T/rclone.err" || bail "rclone copy failed: $(cat "$T/rclone.err")"
for b in c1 c2 c3 c4; do
	tc copy "$T/newest" "t:stores/stores/$first/backups/$b" 2>"$T/rclone.err" || bail "rclone copy failed: $(cat "$T/rclone.err")"
	q "INSERT INTO backups (store_id, kind, status, name, prefix, job, engine, dump_size, dump_sha256, files_size,
	      files_sha256, created_at, started_at, finished_at)
	   SELECT store_id, 'scheduled', 'complete', '$b', 'stores/$first/backups/$b/', 'backup-$b', engine, dump_size,
	      dump_sha256, files_size, files_sha256, '${at[$b]}+00', '${at[$b]}+00', '${at[$b]}:30+00'
	   FROM backups WHERE id = $newest" >/dev/null
done
ok "five complete backups of the store, c1-c4 in s3rver" test -s "$(bk_object "$first" c4 manifest.json)"
SF_BACKUP_KEEP_DAILY=2 SF_BACKUP_KEEP_WEEKLY=3 bk_pass
is "$(q "SELECT string_agg(name, ' ' ORDER BY created_at DESC) FROM backups WHERE store_id = '$first' AND status = 'complete'")" \
	"b$newest b1 c1 c3" "keep 2 daily + 3 weekly: today's (both), Nov 27 (2nd day), Nov 18 (3rd week) kept; Nov 26 and Nov 11 pruned"
for b in c2 c4; do
	ok "... $b's objects are gone from s3rver" test ! -e "$(bk_object "$first" "$b" manifest.json)" -a ! -e "$(bk_object "$first" "$b" files.tar.gz)" \
		-a ! -e "$(bk_object "$first" "$b" database.sql.gz)"
done
ok "... c1's are still there" test -s "$(bk_object "$first" c1 files.tar.gz)"
is "$(q "SELECT string_agg(details->>'backup', ',' ORDER BY id) FROM audit_log WHERE action = 'backup.pruned' AND target = '$first'")" "c2,c4" \
	"audit: backup.pruned for each"
q "UPDATE backups SET created_at = now() - interval '2 days' WHERE name = 'b1'" >/dev/null
SF_BACKUP_KEEP_DAILY=0 SF_BACKUP_KEEP_WEEKLY=0 bk_pass
is "$(q "SELECT string_agg(name, ' ') FROM backups WHERE store_id = '$first' AND status = 'complete'")" "b$newest" \
	"keep 0 daily + 0 weekly: the newest is kept all the same (never a store's only complete backup)"
is "$(q "SELECT count(*) FROM backups WHERE store_id = '$second' AND status = 'complete'")" 1 "... the other store's only backup too"
ok "... its objects are there" test -s "$(bk_object "$first" "b$newest" files.tar.gz)"
scrape
like "$BODY" "storefleet_stores_without_backup 0
" "/metrics: no store without a backup"
like "$BODY" "storefleet_backup_last_success_age_seconds\{store=\"$second\"\} [0-9]" "... each store's last success age"

# --- an upgrade waits for a running backup; no backup starts during an upgrade --------------------
api_json POST "/api/v1/stores/$sb/backups" "$tok" ''
n=$(json_get 'j["backup"]["number"]')
bk_pass
is "$(bk_row "$n" status)" running "a backup running"
api_json POST "/api/v1/stores/$sb/upgrade" "$tok" '{"version": "6.8.1"}'
is "$STATUS" 202 "... an upgrade asked for meanwhile"
api_json POST "/api/v1/stores/$sb/backups" "$tok" ''
is "$STATUS:$(json_get 'j["error"]["message"]')" "409:The store is being upgraded; back it up once the upgrade is done." \
	"no backup asked for during an upgrade: 409 with the reason"
bk_pass
like "$(q "SELECT status_reason FROM stores WHERE id = '$sb'")" "^waiting for backup b$n to finish before the upgrade to 6.8.1$" \
	"the upgrade waits for the backup, saying so"
ok "... the backup completes" bk_until 20 "(SELECT status IN ('complete', 'failed') FROM backups WHERE id = $n)"
is "$(bk_row "$n" status)" complete "... complete"
ok "... then the upgrade runs to the end" bk_until 30 "(SELECT status = 'ready' AND engine_version = '6.8.1' FROM stores WHERE id = '$sb')"

done_testing
