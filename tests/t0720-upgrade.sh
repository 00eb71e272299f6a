#!/bin/bash
# t0720-upgrade.sh - WooCommerce upgrades: snapshot then apply then ready; automatic rollback with a restore; a failed snapshot leaves the store untouched; manual rollback.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-reconcile.sh"
. "$SF_ROOT/tests/lib-upgrade.sh"

export SF_UPGRADE_TIMEOUT=60
rc_stack
owner=$(rc_user tenant@example.com)
# three stores on the older version: one upgrades cleanly, one gets a version whose
# image cannot be pulled, one a snapshot Job that fails
for id in wooupone wooupbad woosnapf; do
	rc_store "$id" woocommerce
	rc_sql "UPDATE stores SET engine_version = '6.7.2' WHERE id = '$id'"
done
ok "the three stores become ready" rc_until 90 "(SELECT count(*) FROM stores WHERE status = 'ready') = 3"

# every apply is a revision: provisioning made revision 1
is "$(up_rev wooupone 1 "kind || ' ' || engine_version || ' ' || result || ' ' || actor")" \
	"provision 6.7.2 ready tenant@example.com" "revision 1: provision of 6.7.2 by the owner, ready"
is "$(rc_sql "SELECT r.blueprint_revision = s.blueprint_revision AND r.blueprint_revision <> ''
	FROM stores s JOIN store_revisions r ON r.store_id = s.id AND r.revision = 1 WHERE s.id = 'wooupone'")" t \
	"revision 1 records the blueprint revision applied"
is "$(rc_sql "SELECT current_revision FROM stores WHERE id = 'wooupone'")" 1 "current_revision 1"
unlike "$(up_rev wooupone 1 '"values"::text')" 'password|secret' "no secret in the revision's values"
is "$(up_image wooupone wordpress)" "wordpress:6.7.2-php8.3-apache" "the store runs 6.7.2"
setup_rev1=$(kubectl get job wordpress-setup -n store-wooupone \
	-o jsonpath='{.metadata.annotations.storefleet\.io/blueprint-revision}')

# --- a clean upgrade
is "$(up_request wooupone 6.8.1)" 2 "upgrade to 6.8.1 requested as revision 2"
ok "the upgrade finishes" rc_until 90 "(SELECT status FROM stores WHERE id = 'wooupone') = 'ready'"
job=$(up_job wooupone snapshot-r2)
ok "snapshot Job snapshot-r2 exists" test -n "$job"
cmd=$(printf '%s' "$job" | python3 -c 'import json,sys; j=json.load(sys.stdin); c=j["spec"]["template"]["spec"]["containers"][0]; print(" ".join(c["command"]).replace("\n", " "))')
like "$cmd" 'mysqldump.*--single-transaction' "the snapshot is a mysqldump --single-transaction"
like "$cmd" '\| +gzip >"\$SNAPSHOT\.part"' "piped through gzip"
env=$(printf '%s' "$job" | python3 -c 'import json,sys; j=json.load(sys.stdin); c=j["spec"]["template"]["spec"]["containers"][0]
for e in c["env"]:
    v = e.get("value") or "%s/%s" % (e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"])
    print("%s=%s" % (e["name"], v))')
like "$env" 'SNAPSHOT=/snapshots/r2\.sql\.gz' "into /snapshots/r2.sql.gz"
like "$env" 'MYSQL_PWD=mariadb/root-password' "the password comes from the store Secret"
is "$(printf '%s' "$job" | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"])')" \
	snapshots "the Job mounts the snapshot volume"
is "$(printf '%s' "$job" | python3 -c 'import json,sys; j=json.load(sys.stdin); s=j["spec"]["template"]["spec"]; print(s["securityContext"]["runAsNonRoot"], "limits" in s["containers"][0]["resources"])')" \
	"True True" "non-root, with limits"
is "$(kubectl get pvc snapshots -n store-wooupone -o jsonpath='{.status.phase}')" Bound "the snapshot volume is bound"
is "$(up_image wooupone wordpress)" "wordpress:6.8.1-php8.3-apache" "the Deployment runs 6.8.1"
setup_rev2=$(kubectl get job wordpress-setup -n store-wooupone \
	-o jsonpath='{.metadata.annotations.storefleet\.io/blueprint-revision}')
ok "the setup Job was recreated for the new revision ($setup_rev1 -> $setup_rev2)" \
	test -n "$setup_rev2" -a "$setup_rev2" != "$setup_rev1"
is "$(up_rev wooupone 2 "result || ' ' || snapshot || ' ' || snapshot_status || ' ' || (finished_at IS NOT NULL)")" \
	"ready r2 complete true" "revision 2 ready, snapshot r2 complete"
is "$(rc_sql "SELECT current_revision || ' ' || coalesce(pending_revision::text, '-') || ' ' || engine_version
	FROM stores WHERE id = 'wooupone'")" "2 - 6.8.1" "current_revision 2, nothing pending, engine_version 6.8.1"
is "$(rc_sql "SELECT r.blueprint_revision = s.blueprint_revision FROM stores s
	JOIN store_revisions r ON r.store_id = s.id AND r.revision = 2 WHERE s.id = 'wooupone'")" t \
	"the store's blueprint revision is revision 2's"
events=$(up_events wooupone | tr '\n' '|')
like "$events" '^snapshot r2 started \(job snapshot-r2\)\|snapshot r2 complete\|applied 6\.8\.1 \(blueprint revision [0-9a-f]{16}\)\|upgraded to 6\.8\.1\|$' \
	"events in order: snapshot started, complete, applied, upgraded"

# --- an upgrade whose pods cannot start rolls back by itself, restoring the snapshot
sim POST /_sim/faults '{"scope":"store-wooupbad","type":"image_pull","image":"wordpress:6.8.1"}'
like "$SIM_BODY" '"id"' "image_pull fault for wordpress:6.8.1 only"
is "$(up_request wooupbad 6.8.1)" 2 "upgrade of wooupbad requested"
ok "it rolls back and is ready again" rc_until 120 \
	"(SELECT status = 'ready' AND current_revision = 3 FROM stores WHERE id = 'wooupbad')"
is "$(up_image wooupbad wordpress)" "wordpress:6.7.2-php8.3-apache" "the old image is back"
like "$(up_rev wooupbad 2 "result || ': ' || reason")" '^rolled_back: image wordpress:6\.8\.1-php8\.3-apache could not be pulled' \
	"revision 2 rolled back, with the reason"
is "$(up_rev wooupbad 3 "kind || ' ' || actor || ' ' || (actor_id IS NULL) || ' ' || source_revision || ' ' || restore_snapshot || ' ' || engine_version || ' ' || result || ' ' || restore_status")" \
	"rollback storefleet true 1 r2 6.7.2 ready complete" "revision 3: storefleet's rollback to revision 1, restoring r2, ready"
job=$(up_job wooupbad restore-r3)
ok "restore Job restore-r3 exists" test -n "$job"
is "$(printf '%s' "$job" | python3 -c 'import json,sys; j=json.load(sys.stdin); print([c["type"] for c in j["status"]["conditions"] if c["status"] == "True"][-1])')" \
	Complete "and completed"
like "$(printf '%s' "$job" | python3 -c 'import json,sys; j=json.load(sys.stdin); c=j["spec"]["template"]["spec"]["containers"][0]; print(" ".join(c["command"]).replace("\n", " "), [e.get("value") for e in c["env"]])')" \
	'gunzip -c "\$SNAPSHOT" \| "\$client" .*/snapshots/r2\.sql\.gz' "it loads /snapshots/r2.sql.gz into MariaDB"
is "$(rc_sql "SELECT engine_version || ' ' || status_reason FROM stores WHERE id = 'wooupbad'")" "6.7.2 " \
	"engine_version still 6.7.2, no reason left"
events=$(up_events wooupbad | tr '\n' '|')
like "$events" '^snapshot r2 started .*\|snapshot r2 complete\|applied 6\.8\.1 .*\|upgrade to 6\.8\.1 failed: image .* could not be pulled.*; rolling back to 6\.7\.2\|applied 6\.7\.2 .*\|restore of snapshot r2 started \(job restore-r3\)\|snapshot r2 restored\|rolled back to 6\.7\.2: image .*could not be pulled.*\|$' \
	"events in order, the rollback's with the reason"
is "$(rc_sql "SELECT count(*) FROM audit_log WHERE action = 'store.rollback' AND target = 'wooupbad'
	AND actor_id IS NULL AND actor_email = 'storefleet' AND details->>'version' = '6.7.2'
	AND details->>'revision' = '3' AND details->>'to_revision' = '1' AND details->>'restore_snapshot' = 'r2'
	AND details->>'reason' LIKE 'image %'")" 1 \
	"the automatic rollback is audited as storefleet"

# --- a snapshot that fails stops the upgrade before the app is touched
sim POST /_sim/faults '{"scope":"store-woosnapf","type":"job_fail","name":"snapshot-"}'
like "$SIM_BODY" '"id"' "job_fail fault for the snapshot Job only"
is "$(up_request woosnapf 6.8.1)" 2 "upgrade of woosnapf requested"
ok "the upgrade stops" rc_until 60 "(SELECT status = 'ready' FROM stores WHERE id = 'woosnapf')"
like "$(up_rev woosnapf 2 "result || ' ' || snapshot_status || ': ' || reason")" '^failed failed: snapshot r2 failed: BackoffLimitExceeded' \
	"revision 2 failed with the snapshot's reason"
is "$(rc_sql "SELECT current_revision || ' ' || coalesce(pending_revision::text, '-') || ' ' || engine_version
	FROM stores WHERE id = 'woosnapf'")" "1 - 6.7.2" "still revision 1 on 6.7.2, nothing pending"
is "$(up_image woosnapf wordpress)" "wordpress:6.7.2-php8.3-apache" "the Deployment was never touched"
like "$(up_events woosnapf | tail -1)" '^upgrade to 6\.8\.1 failed before changing the store: snapshot r2 failed' \
	"the event says the store was left as it was"
is "$(rc_sql "SELECT level FROM store_events WHERE store_id = 'woosnapf' ORDER BY id DESC LIMIT 1")" error \
	"at level error"

# --- manual rollback to revision 1 after the clean upgrade: restores r2 (taken before 2)
is "$(up_rollback wooupone 1)" 3 "rollback to revision 1 requested as revision 3"
ok "the rollback finishes" rc_until 90 "(SELECT status = 'ready' AND current_revision = 3 FROM stores WHERE id = 'wooupone')"
is "$(up_image wooupone wordpress)" "wordpress:6.7.2-php8.3-apache" "back on 6.7.2"
like "$(up_job wooupone restore-r3 | python3 -c 'import json,sys; j=json.load(sys.stdin); print([e.get("value") for e in j["spec"]["template"]["spec"]["containers"][0]["env"]])')" \
	'/snapshots/r2\.sql\.gz' "restore-r3 loads r2's snapshot"
is "$(up_rev wooupone 3 "result || ' ' || restore_status || ' ' || engine_version")" "ready complete 6.7.2" \
	"revision 3 ready, restored"
like "$(up_events wooupone | tail -1)" '^rolled back to revision 1 \(6\.7\.2\)$' "the last event names the revision"

# a steady pass after all this is still cheap: nothing upgrading, no event
before=$(rc_sql "SELECT count(*) FROM store_events")
ok "steady pass" rc_once
is "$(rc_sql "SELECT count(*) FROM store_events")" "$before" "a steady pass writes no event"
is "$(rc_sql "SELECT count(*) FROM store_revisions")" 8 "no duplicate revisions (3 + 3 + 2)"

done_testing
