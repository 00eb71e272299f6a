#!/bin/bash
# t0721-upgrade-medusa.sh - Medusa upgrades: pg_dump snapshot, the setup Job (its image is the version) recreated, crash-looping version rolled back with pg_restore (in one psql transaction).
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-reconcile.sh"
. "$SF_ROOT/tests/lib-upgrade.sh"

export SF_UPGRADE_TIMEOUT=60
rc_stack
rc_user tenant@example.com >/dev/null
for id in medupone medupbad; do
	rc_store "$id" medusa
	rc_sql "UPDATE stores SET engine_version = '2.20.1' WHERE id = '$id'"
done
ok "both stores become ready" rc_until 90 "(SELECT count(*) FROM stores WHERE status = 'ready') = 2"
is "$(up_rev medupone 1 "kind || ' ' || engine_version || ' ' || result")" "provision 2.20.1 ready" "revision 1: 2.20.1"
setup_uid=$(kubectl get job medusa-setup -n store-medupone -o jsonpath='{.metadata.uid}')

is "$(up_request medupone 2.21.2)" 2 "upgrade to 2.21.2 requested"
ok "the upgrade finishes" rc_until 90 "(SELECT status FROM stores WHERE id = 'medupone') = 'ready'"
job=$(up_job medupone snapshot-r2)
ok "snapshot Job snapshot-r2 exists" test -n "$job"
spec=$(printf '%s' "$job" | python3 -c 'import json,sys; j=json.load(sys.stdin); c=j["spec"]["template"]["spec"]["containers"][0]
print(c["image"], " ".join(c["command"]).replace("\n", " "))
for e in c["env"]:
    v = e.get("value") or "%s/%s" % (e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"])
    print("%s=%s" % (e["name"], v))')
like "$spec" '^postgres:16\.9 .*pg_dump -Fc -f "\$SNAPSHOT\.part"' "the snapshot is pg_dump -Fc with the database's image"
like "$spec" 'SNAPSHOT=/snapshots/r2\.dump' "into /snapshots/r2.dump"
like "$spec" 'PGPASSWORD=postgres/password' "the password comes from the store Secret"
like "$spec" 'PGHOST=postgres' "it reaches the postgres Service"
for d in medusa-server medusa-worker; do
	is "$(up_image medupone "$d")" "storefleet/medusa:2.21.2" "$d runs 2.21.2"
done
is "$(kubectl get job medusa-setup -n store-medupone -o jsonpath='{.spec.template.spec.containers[0].image}')" \
	"storefleet/medusa:2.21.2" "the setup Job runs the new image"
ok "the setup Job is a new object (its template is immutable: deleted and recreated)" \
	test "$(kubectl get job medusa-setup -n store-medupone -o jsonpath='{.metadata.uid}')" != "$setup_uid"
like "$(up_events medupone | tr '\n' '|')" '^snapshot r2 started .*\|snapshot r2 complete\|applied 2\.21\.2 .*\|upgraded to 2\.21\.2\|$' \
	"events in order"
is "$(rc_sql "SELECT current_revision || ' ' || engine_version FROM stores WHERE id = 'medupone'")" "2 2.21.2" \
	"current_revision 2 on 2.21.2"

# a version that crash-loops is rolled back, the snapshot restored with pg_restore
sim POST /_sim/faults '{"scope":"store-medupbad","type":"crash_loop","image":"storefleet/medusa:2.21.2"}'
like "$SIM_BODY" '"id"' "crash_loop for storefleet/medusa:2.21.2 only"
is "$(up_request medupbad 2.21.2)" 2 "upgrade of medupbad requested"
ok "it rolls back and is ready again" rc_until 120 \
	"(SELECT status = 'ready' AND current_revision = 3 FROM stores WHERE id = 'medupbad')"
like "$(up_rev medupbad 2 "result || ': ' || reason")" '^rolled_back: .*keeps crashing \(CrashLoopBackOff\)' \
	"revision 2 rolled back: the pods keep crashing"
spec=$(up_job medupbad restore-r3 | python3 -c 'import json,sys; j=json.load(sys.stdin); c=j["spec"]["template"]["spec"]["containers"][0]
print(" ".join(c["command"]).replace("\n", " "), [e.get("value") for e in c["env"]], [x["type"] for x in j["status"]["conditions"] if x["status"] == "True"])')
like "$spec" "BEGIN;.* pg_restore --no-owner --exit-on-error -L /tmp/restore\\.list -f - \"\\\$SNAPSHOT\" && +echo 'COMMIT;' +} \\| psql -X -q -v ON_ERROR_STOP=1 " \
	"the restore is a pg_restore, loaded by psql in one transaction (COMMIT only when pg_restore wrote it all)"
like "$spec" '/snapshots/r2\.dump' "of r2's dump"
like "$spec" "'Complete'" "which completed"
for d in medusa-server medusa-worker; do
	is "$(up_image medupbad "$d")" "storefleet/medusa:2.20.1" "$d is back on 2.20.1"
done
is "$(up_rev medupbad 3 "kind || ' ' || result || ' ' || restore_status || ' ' || engine_version")" \
	"rollback ready complete 2.20.1" "revision 3: the rollback, ready, restored"
like "$(up_events medupbad | tail -1)" '^rolled back to 2\.20\.1: .*CrashLoopBackOff' "the last event says why"

done_testing
