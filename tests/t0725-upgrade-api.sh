#!/bin/bash
# t0725 - upgrade and rollback requests through the JSON API: the rules, their answers, the rows they write.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-stores.sh"
. "$SF_ROOT/tests/lib-upgrades.sh"

sf_stack
admin=$(user_token admin@example.com) || bail "no admin"
a=$(user_token a@example.com) || bail "no token"
b=$(user_token b@example.com) || bail "no token"
aid=$(q "select id from users where email = 'a@example.com'")
up_store shopaaaa a@example.com 6.7.2

# --- the store's view says what it runs ------------------------------------------------------
api GET /api/v1/stores/shopaaaa "$a"
is "$STATUS|$(json_get 'j["store"]["version"]')|$(json_get 'j["store"]["revision"]')" "200|6.7.2|1" \
	"the store JSON has version and revision"

# --- refused upgrades -------------------------------------------------------------------------
api_json POST /api/v1/stores/shopaaaa/upgrade "$a" '{"version": "9.9.9"}'
is "$STATUS|$(json_get 'j["error"]["code"]')|$(json_get 'j["error"]["fields"]["version"]')" \
	"422|invalid|WooCommerce does not offer version '9.9.9'." "an unknown version -> 422 naming the field"
api_json POST /api/v1/stores/shopaaaa/upgrade "$a" '{"version": "6.7.2"}'
is "$STATUS|$(json_get 'j["error"]["fields"]["version"]')" "422|The store already runs 6.7.2." \
	"the version it runs -> 422"
api_json POST /api/v1/stores/shopaaaa/upgrade "$a" '{}'
is "$STATUS|$(json_get 'j["error"]["fields"]["version"]')" "422|Choose the version to upgrade to." \
	"no version -> 422"
api_json POST /api/v1/stores/shopaaaa/upgrade "$a" '{"version": 7}'
is "$STATUS|$(json_get 'j["error"]["fields"]["version"]')" "422|version must be a string" \
	"a version that is not a string -> 422"
is "$(q "select count(*) from store_revisions where store_id = 'shopaaaa'")|$(rc=$(q "select status from stores where id = 'shopaaaa'"); echo "$rc")" \
	"1|ready" "refusals write nothing"

# Medusa has its own list: a WooCommerce version is unknown to it.
q "INSERT INTO stores (id, owner_id, name, engine, status) VALUES ('medusa01', $aid, 'M', 'medusa', 'ready')" >/dev/null
api_json POST /api/v1/stores/medusa01/upgrade "$a" '{"version": "6.8.1"}'
is "$STATUS|$(json_get 'j["error"]["fields"]["version"]')" "422|Medusa does not offer version '6.8.1'." \
	"versions are per engine"
api GET /api/v1/stores/medusa01 "$a"
is "$(json_get 'j["store"]["version"]')|$(json_get 'j["store"]["revision"]')" "2.21.2|0" \
	"a store with no pinned version runs the chart's default (revision 0: none applied yet)"
# pinned to the older of the chart's versions, so that 2.21.2 is an upgrade (never a downgrade)
q "update stores set engine_version = '2.20.1' where id = 'medusa01'" >/dev/null

# Every state that is not ready or degraded, with its reason.
for st in requested:"The store is provisioning; it can be upgraded once it is ready." \
	provisioning:"The store is provisioning; it can be upgraded once it is ready." \
	failed:"The store has failed; retry it before it can be upgraded." \
	deleting:"The store is being deleted."; do
	q "update stores set status = '${st%%:*}', desired = CASE WHEN '${st%%:*}' = 'deleting' THEN 'absent' ELSE 'present' END where id = 'medusa01'" >/dev/null
	api_json POST /api/v1/stores/medusa01/upgrade "$a" '{"version": "2.21.2"}'
	is "$STATUS|$(json_get 'j["error"]["code"]')|$(json_get 'j["error"]["message"]')" "409|conflict|${st#*:}" \
		"a ${st%%:*} store -> 409 with the reason"
done
q "update stores set status = 'degraded', desired = 'present' where id = 'medusa01'" >/dev/null
api_json POST /api/v1/stores/medusa01/upgrade "$a" '{"version": "2.21.2"}'
is "$STATUS|$(json_get 'j["store"]["status"]')|$(json_get 'j["revision"]')" "202|upgrading|1" \
	"a degraded store may be upgraded (its first revision: nothing was recorded before)"
is "$(q "select \"values\"::text from store_revisions where store_id = 'medusa01'")" '{"version": "2.21.2"}' \
	"values: the version alone when no revision was live"

# --- tenant isolation: another tenant's store is a missing store, byte for byte -------------------
for req in "POST upgrade {\"version\":\"6.8.1\"}" "POST rollback {\"revision\":1}" "GET revisions"; do
	set -- $req
	if [ "$1" = POST ]; then
		api_json POST "/api/v1/stores/shopaaaa/$2" "$b" "$3"
		foreign="$STATUS $BODY"
		api_json POST "/api/v1/stores/zzzzzzzz/$2" "$b" "$3"
	else
		api GET "/api/v1/stores/shopaaaa/$2" "$b"
		foreign="$STATUS $BODY"
		api GET "/api/v1/stores/zzzzzzzz/$2" "$b"
	fi
	is "$foreign" "$STATUS $BODY" "$1 $2 of another tenant's store = of a missing one"
	is "$STATUS" 404 "  and that is a 404"
done
is "$(q "select count(*) from store_revisions where store_id = 'shopaaaa'")" 1 "b changed nothing"

# --- the upgrade --------------------------------------------------------------------------------
api_json POST /api/v1/stores/shopaaaa/upgrade "$a" '{"version": "6.8.1"}'
is "$STATUS|$(json_get 'j["store"]["status"]')|$(json_get 'j["store"]["id"]')|$(json_get 'j["revision"]')" \
	"202|upgrading|shopaaaa|2" "upgrade -> 202 with the store, now upgrading"
is "$(q "select kind || '|' || engine_version || '|' || result || '|' || actor || '|' || actor_id || '|' || snapshot_status || '|' || (source_revision is null) from store_revisions where store_id = 'shopaaaa' and revision = 2")" \
	"upgrade|6.8.1|pending|a@example.com|$aid|none|true" "revision 2: upgrade, pending, 6.8.1, by a"
is "$(q "select \"values\"->>'version' from store_revisions where store_id = 'shopaaaa' and revision = 2")" "6.8.1" \
	"its values: the running revision's with the new version"
is "$(q "select status || '|' || pending_revision || '|' || current_revision || '|' || (next_attempt_at <= now()) from stores where id = 'shopaaaa'")" \
	"upgrading|2|1|true" "the store points at it, due now"
is "$(q "select message from store_events where store_id = 'shopaaaa' and step = 'upgrade'")" \
	"Upgrade to 6.8.1 requested by a@example.com." "an event in the activity log"
is "$(q "select actor_email || '|' || (details->>'from') || '|' || (details->>'to') || '|' || (details->>'revision') from audit_log where action = 'store.upgrade' and target = 'shopaaaa'")" \
	"a@example.com|6.7.2|6.8.1|2" "an audit row"

# A second request while one is pending changes nothing.
api_json POST /api/v1/stores/shopaaaa/upgrade "$a" '{"version": "6.8.1"}'
is "$STATUS|$(json_get 'j["error"]["message"]')" "409|An upgrade to 6.8.1 is already in progress." \
	"a second upgrade -> 409 naming the one in progress"
api_json POST /api/v1/stores/shopaaaa/upgrade "$a" '{"version": "6.7.2"}'
is "$STATUS" 409 "also to another version"
is "$(q "select count(*) from store_revisions where store_id = 'shopaaaa'")|$(q "select count(*) from audit_log where action = 'store.upgrade' and target = 'shopaaaa'")" \
	"2|1" "no second revision, no second audit row"

# --- rollback refusals ---------------------------------------------------------------------------
api_json POST /api/v1/stores/shopaaaa/rollback "$a" '{"revision": 1}'
is "$STATUS|$(json_get 'j["error"]["fields"]["revision"]')" "422|Revision 1 is the one running now." \
	"while 2 is pending, 1 is still the running revision"
up_done shopaaaa
api_json POST /api/v1/stores/shopaaaa/rollback "$a" '{"revision": 1}'
is "$STATUS|$(json_get 'j["error"]["code"]')|$(json_get 'j["error"]["message"]')" \
	"409|conflict|No snapshot of revision 1's data: revision 2 was applied without one." \
	"rollback with no snapshot of its data -> 409 with the reason"
q "update store_revisions set snapshot = 'r2.sql.gz', snapshot_status = 'pending' where store_id = 'shopaaaa' and revision = 2" >/dev/null
api_json POST /api/v1/stores/shopaaaa/rollback "$a" '{"revision": 1}'
is "$STATUS|$(json_get 'j["error"]["message"]')" \
	"409|No snapshot of revision 1's data: the snapshot before revision 2 did not complete." \
	"a snapshot that did not complete -> 409 saying so"
q "update store_revisions set snapshot_status = 'failed' where store_id = 'shopaaaa' and revision = 2" >/dev/null
api_json POST /api/v1/stores/shopaaaa/rollback "$a" '{"revision": 1}'
is "$STATUS|$(json_get 'j["error"]["message"]')" \
	"409|No snapshot of revision 1's data: the snapshot before revision 2 failed." \
	"a failed snapshot -> 409 saying so"
is "$(q "select count(*) from store_revisions where store_id = 'shopaaaa'")|$(q "select status from stores where id = 'shopaaaa'")" \
	"2|ready" "refused rollbacks write nothing"
q "update store_revisions set snapshot_status = 'complete' where store_id = 'shopaaaa' and revision = 2" >/dev/null
api GET /api/v1/stores/shopaaaa "$a"
is "$(json_get 'j["store"]["status"]')|$(json_get 'j["store"]["version"]')|$(json_get 'j["store"]["revision"]')" \
	"ready|6.8.1|2" "(reconcile finished: ready on 6.8.1, revision 2, after a snapshot)"
api_json POST /api/v1/stores/shopaaaa/rollback "$a" '{"revision": 99}'
is "$STATUS|$(json_get 'j["error"]["fields"]["revision"]')" "422|This store has no revision 99." \
	"rollback to a revision that does not exist -> 422"
api_json POST /api/v1/stores/shopaaaa/rollback "$a" '{"revision": 2}'
is "$STATUS|$(json_get 'j["error"]["fields"]["revision"]')" "422|Revision 2 is the one running now." \
	"rollback to the running revision -> 422"
api_json POST /api/v1/stores/shopaaaa/rollback "$a" '{"revision": "1"}'
is "$STATUS|$(json_get 'j["error"]["fields"]["revision"]')" "422|revision must be a whole number from 1" \
	"a revision that is not a number -> 422"
api_json POST /api/v1/stores/shopaaaa/rollback "$a" '{}'
is "$STATUS|$(json_get 'list(j["error"]["fields"])')" '422|["revision"]' "no revision -> 422"

# --- the rollback --------------------------------------------------------------------------------
api_json POST /api/v1/stores/shopaaaa/rollback "$a" '{"revision": 1}'
is "$STATUS|$(json_get 'j["store"]["status"]')|$(json_get 'j["revision"]')" "202|upgrading|3" \
	"rollback to 1 -> 202, revision 3"
is "$(q "select kind || '|' || engine_version || '|' || source_revision || '|' || restore_snapshot || '|' || result || '|' || actor || '|' || (\"values\"->>'version') from store_revisions where store_id = 'shopaaaa' and revision = 3")" \
	"rollback|6.7.2|1|r2.sql.gz|pending|a@example.com|6.7.2" \
	"revision 3: revision 1's version and values, restoring the snapshot taken before revision 2"
is "$(q "select status || '|' || pending_revision from stores where id = 'shopaaaa'")" "upgrading|3" \
	"the store is upgrading to it"
is "$(q "select message from store_events where store_id = 'shopaaaa' and step = 'rollback'")" \
	"Rollback to revision 1 (6.7.2) requested by a@example.com." "an event"
is "$(q "select (details->>'to_revision') || '|' || (details->>'restore_snapshot') || '|' || (details->>'revision') from audit_log where action = 'store.rollback' and target = 'shopaaaa'")" \
	"1|r2.sql.gz|3" "an audit row"
api_json POST /api/v1/stores/shopaaaa/rollback "$a" '{"revision": 1}'
is "$STATUS|$(json_get 'j["error"]["message"]')" "409|A rollback to revision 1 is already in progress." \
	"a second rollback -> 409 naming the one in progress"
api_json POST /api/v1/stores/shopaaaa/upgrade "$a" '{"version": "6.8.1"}'
is "$STATUS|$(json_get 'j["error"]["message"]')" "409|A rollback to revision 1 is already in progress." \
	"and so is an upgrade"

# --- the history ----------------------------------------------------------------------------------
api GET /api/v1/stores/shopaaaa/revisions "$a"
is "$STATUS|$(json_get '[r["revision"] for r in j["revisions"]]')" "200|[3, 2, 1]" "revisions newest first"
is "$(json_get 'sorted(j["revisions"][0])')" \
	'["actor", "blueprint_revision", "can_rollback", "created_at", "engine_version", "finished_at", "kind", "phase", "reason", "restore_snapshot", "restore_status", "result", "revision", "rollback_unavailable", "snapshot", "snapshot_status", "source_revision"]' \
	"every field of a revision"
is "$(json_get 'j["current_revision"]')|$(json_get 'j["pending_revision"]')|$(json_get 'j["version"]')" "2|3|6.8.1" \
	"running 2, pending 3"
is "$(json_get '[j["revisions"][0][k] for k in ("kind", "source_revision", "result", "phase", "finished_at")]')" \
	'["rollback", 1, "pending", "Waiting for the reconciler to start", null]' "the pending rollback and its phase"
is "$(json_get '[j["revisions"][0][k] for k in ("restore_snapshot", "restore_status")]')" '["r2.sql.gz", "none"]' \
	"the snapshot it will restore"
is "$(json_get '[j["revisions"][1][k] for k in ("snapshot", "snapshot_status", "blueprint_revision")]')" \
	'["r2.sql.gz", "complete", null]' "revision 2's snapshot"
like "$(json_get 'j["revisions"][2]["created_at"]')" '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' "times in RFC 3339 UTC"
is "$(json_get 'j["revisions"][2]["rollback_unavailable"]')" "A rollback to revision 1 is already in progress." \
	"each revision says why it cannot be rolled back to now"

# --- owner or admin: the admin's request is recorded as such --------------------------------------
up_done shopaaaa
api_json POST /api/v1/stores/shopaaaa/upgrade "$admin" '{"version": "6.8.1"}'
is "$STATUS|$(json_get 'j["revision"]')" "202|4" "an admin may upgrade a tenant's store"
is "$(q "select actor from store_revisions where store_id = 'shopaaaa' and revision = 4")|$(q "select actor_email || '|' || (details->>'as_admin') || '|' || (details->>'owner') from audit_log where action = 'store.upgrade' and target = 'shopaaaa' and actor_email = 'admin@example.com'")" \
	"admin@example.com|admin@example.com|true|a@example.com" "the admin is the actor; the audit row names the owner"

# --- history keeps 10 revisions (the trigger), never the running or pending one -----------------------
# Back and forth between 6.7.2 and 6.8.1 (going back is a rollback: an
# upgrade to an older version is refused): a rollback to the revision before
# the running one, then an upgrade with its snapshot.
up_done shopaaaa r4.sql.gz
for i in $(seq 1 9); do
	snap=
	if [ $((i % 2)) = 1 ]; then
		api_json POST /api/v1/stores/shopaaaa/rollback "$a" \
			"{\"revision\": $(q "select current_revision - 1 from stores where id = 'shopaaaa'")}"
	else
		api_json POST /api/v1/stores/shopaaaa/upgrade "$a" '{"version": "6.8.1"}'
		snap=r$(json_get 'j["revision"]').sql.gz
	fi
	[ "$STATUS" = 202 ] || { diag "request $i: $STATUS $BODY"; break; }
	up_done shopaaaa $snap
done
is "$(q "select count(*) || '|' || min(revision) || '|' || max(revision) from store_revisions where store_id = 'shopaaaa'")" \
	"10|4|13" "13 revisions made, the last 10 kept"
api GET /api/v1/stores/shopaaaa/revisions "$a"
is "$(json_get 'len(j["revisions"])')|$(json_get 'j["revisions"][0]["revision"]')|$(json_get 'j["revisions"][-1]["revision"]')" \
	"10|13|4" "the API lists the 10, newest first"
api_json POST /api/v1/stores/shopaaaa/rollback "$a" '{"revision": 2}'
is "$STATUS|$(json_get 'j["error"]["fields"]["revision"]')" \
	"422|Revision 2 is no longer kept (the history holds the last 10)." "a pruned revision -> 422 saying so"
done_testing
