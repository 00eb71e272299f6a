#!/bin/bash
# t0726 - the store page's version, upgrade form, revision history and rollback buttons (forms with CSRF).
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-stores.sh"
. "$SF_ROOT/tests/lib-upgrades.sh"

sf_stack
user_token admin@example.com >/dev/null || bail "no admin"
user_token a@example.com >/dev/null || bail "no user a"
user_token b@example.com >/dev/null || bail "no user b"
up_store shopaaaa a@example.com 6.7.2
jar=$T/a.jar
browser_login a@example.com "$jar" >/dev/null

# --- a ready store: version, the form, the history --------------------------------------------
page "$jar" GET /stores/shopaaaa
is "$STATUS" 200 "the store page"
like "$BODY" '<dt>Version</dt><dd class="mono">6.7.2 <span class="muted small">\(revision 1\)</span>' \
	"the version and revision it runs"
like "$BODY" 'action="/stores/shopaaaa/upgrade"' "an upgrade form"
is "$(sed -n '/id="upgrade-version"/,/<\/select>/p' "$T/body" | grep -o '<option value="[^"]*">' | tr '\n' ' ')" '<option value="6.8.1"> ' \
	"offering the chart's other versions only"
like "$BODY" '<tr aria-current="true">' "the running revision is marked in the history"
like "$BODY" 'Revision 1 is the one running now\.' "with the reason it cannot be rolled back to"
unlike "$BODY" 'action="/stores/shopaaaa/rollback"' "no rollback button yet"
unlike "$BODY" 'http-equiv="refresh"' "a ready store does not refresh itself"
csrf=$(page_csrf)

# --- the upgrade form ----------------------------------------------------------------------------
page "$jar" POST /stores/shopaaaa/upgrade --data-urlencode version=6.8.1
is "$STATUS" 403 "without the CSRF token -> 403"
page "$jar" POST /stores/shopaaaa/upgrade --data-urlencode "csrf_token=$csrf" --data-urlencode 'version=<b>9</b>'
is "$STATUS" 422 "an unknown version -> 422"
like "$BODY" "WooCommerce does not offer version &#39;&lt;b&gt;9&lt;/b&gt;&#39;\\." "the page says why, escaped"
is "$(q "select count(*) from store_revisions where store_id = 'shopaaaa'")" 1 "and nothing was written"
page "$jar" POST /stores/shopaaaa/upgrade --data-urlencode "csrf_token=$csrf" --data-urlencode version=6.8.1
is "$STATUS|$(header Location)" "303|/stores/shopaaaa?upgrade=1" "upgrade -> 303 back to the store"
is "$(q "select status || '|' || pending_revision || '|' || r.kind || '|' || r.engine_version || '|' || r.actor from stores s join store_revisions r on r.store_id = s.id and r.revision = s.pending_revision where s.id = 'shopaaaa'")" \
	"upgrading|2|upgrade|6.8.1|a@example.com" "the store is upgrading to revision 2"
page "$jar" GET "/stores/shopaaaa?upgrade=1"
like "$BODY" 'Upgrade requested' "a flash says so"
like "$BODY" 'badge badge-upgrading' "the badge says upgrading"
like "$BODY" '<meta http-equiv="refresh" content="3">' "an upgrading store refreshes itself"
like "$BODY" '<strong>Upgrading \(6\.8\.1\):</strong> Waiting for the reconciler to start\.' "the phase"
unlike "$BODY" 'action="/stores/shopaaaa/upgrade"' "no second upgrade form"
q "update store_revisions set result = 'snapshotting', snapshot = 'r2.sql.gz', snapshot_status = 'pending' where store_id = 'shopaaaa' and revision = 2" >/dev/null
page "$jar" GET /stores/shopaaaa
like "$BODY" 'Upgrading \(6\.8\.1\):</strong> Backing up the database before the upgrade\.' "the phase follows reconcile"
page "$jar" POST /stores/shopaaaa/upgrade --data-urlencode "csrf_token=$csrf" --data-urlencode version=6.8.1
is "$STATUS" 409 "a second upgrade -> 409"
like "$BODY" 'An upgrade to 6\.8\.1 is already in progress\.' "with the reason on the page"

# --- after the upgrade: a rollback button where the data can come back ---------------------------------
q "update store_revisions set snapshot_status = 'complete' where store_id = 'shopaaaa' and revision = 2" >/dev/null
up_done shopaaaa r2.sql.gz
page "$jar" GET /stores/shopaaaa
like "$BODY" '<dd class="mono">6\.8\.1 <span class="muted small">\(revision 2\)</span>' "now 6.8.1, revision 2"
like "$BODY" '<input type="hidden" name="revision" value="1">' "a rollback button for revision 1"
is "$(grep -c 'action="/stores/shopaaaa/rollback"' "$T/body")" 1 "and only for it"
unlike "$BODY" 'action="/stores/shopaaaa/upgrade"' "no upgrade form: 6.8.1 is the newest (6.7.2 is a rollback away)"

# A revision that never went live, with a reason reconcile wrote (escaped on the page).
q "insert into store_revisions (store_id, revision, kind, engine_version, actor, result, reason, snapshot, snapshot_status)
   values ('shopaaaa', 3, 'upgrade', '6.7.2', 'a@example.com', 'failed', 'the snapshot Job failed: <img src=x onerror=alert(1)>', 'r3.sql.gz', 'failed')" >/dev/null
page "$jar" GET /stores/shopaaaa
like "$BODY" 'failed: the snapshot Job failed: &lt;img src=x onerror=alert\(1\)&gt;' "a failure reason, escaped"
unlike "$BODY" '<img src=x' "never raw"
like "$BODY" 'Revision 3 never went live \(it failed\)\.' "why it cannot be rolled back to"
like "$BODY" 'Revision 2 is the one running now\.' "nor to the running one"

# --- the rollback form --------------------------------------------------------------------------------
page "$jar" POST /stores/shopaaaa/rollback --data-urlencode "csrf_token=$csrf" --data-urlencode revision=x1
is "$STATUS" 422 "a revision that is not a number -> 422"
like "$BODY" 'Choose the revision to roll back to\.' "with the reason"
page "$jar" POST /stores/shopaaaa/rollback --data-urlencode "csrf_token=$csrf" --data-urlencode revision=3
is "$STATUS" 422 "rollback to a revision that never went live -> 422"
page "$jar" POST /stores/shopaaaa/rollback --data-urlencode "csrf_token=$csrf" --data-urlencode revision=1
is "$STATUS|$(header Location)" "303|/stores/shopaaaa?rollback=1" "rollback -> 303 back to the store"
is "$(q "select kind || '|' || source_revision || '|' || restore_snapshot || '|' || engine_version from store_revisions where store_id = 'shopaaaa' and revision = 4")" \
	"rollback|1|r2.sql.gz|6.7.2" "revision 4 rolls back to 1 with the snapshot taken before 2"
page "$jar" GET "/stores/shopaaaa?rollback=1"
like "$BODY" '<strong>Rolling back to revision 1 \(6\.7\.2\):</strong> Waiting for the reconciler to start\.' \
	"the page shows the rollback in progress"
like "$BODY" 'A rollback to revision 1 is already in progress\.' "and why nothing else can be asked now"
unlike "$BODY" 'action="/stores/shopaaaa/(rollback|upgrade)"' "no form while it runs"

# --- rollback refused for want of a snapshot (a store upgraded without one) ------------------------------
up_store shopbbbb a@example.com 6.7.2
q "insert into store_revisions (store_id, revision, kind, engine_version, actor, result)
   values ('shopbbbb', 2, 'upgrade', '6.8.1', 'a@example.com', 'ready');
   update stores set current_revision = 2, engine_version = '6.8.1' where id = 'shopbbbb'" >/dev/null
page "$jar" GET /stores/shopbbbb
like "$BODY" 'No snapshot of revision 1&#39;s data: revision 2 was applied without one\.' \
	"the page says why revision 1 cannot come back"
page "$jar" POST /stores/shopbbbb/rollback --data-urlencode "csrf_token=$csrf" --data-urlencode revision=1
is "$STATUS" 409 "and the form answers 409"
like "$BODY" 'No snapshot of revision 1&#39;s data: revision 2 was applied without one\.' "with the same reason"

# --- other tenants: 404, the same page as a missing store ---------------------------------------------------
bjar=$T/b.jar
browser_login b@example.com "$bjar" >/dev/null
page "$bjar" GET /stores
bcsrf=$(page_csrf)
for what in "upgrade version=6.8.1" "rollback revision=1"; do
	set -- $what
	page "$bjar" POST "/stores/shopbbbb/$1" --data-urlencode "csrf_token=$bcsrf" --data-urlencode "$2"
	foreign="$STATUS $BODY"
	page "$bjar" POST "/stores/zzzzzzzz/$1" --data-urlencode "csrf_token=$bcsrf" --data-urlencode "$2"
	is "$foreign" "$STATUS $BODY" "b's $1 of a's store = of a missing store"
	is "$STATUS" 404 "  a 404"
done
is "$(q "select count(*) from store_revisions where store_id = 'shopbbbb'")" 2 "b changed nothing"

# --- an administrator sees the forms on a tenant's store ------------------------------------------------------
ajar=$T/admin.jar
browser_login admin@example.com "$ajar" >/dev/null
page "$ajar" GET /stores/shopbbbb
unlike "$BODY" 'action="/stores/shopbbbb/upgrade"' "no upgrade form on a store that runs the newest version"
page "$ajar" POST /stores/shopbbbb/upgrade --data-urlencode "csrf_token=$(page_csrf)" --data-urlencode version=6.7.2
is "$STATUS" 422 "an upgrade form posting an older version -> 422"
like "$BODY" '6\.7\.2 is older than 6\.8\.1, which the store runs: WooCommerce cannot be downgraded\.' "  saying why on the page"
up_store shopcccc a@example.com 6.7.2
page "$ajar" GET /stores/shopcccc
like "$BODY" 'action="/stores/shopcccc/upgrade"' "an admin gets the upgrade form"
page "$ajar" POST /stores/shopcccc/upgrade --data-urlencode "csrf_token=$(page_csrf)" --data-urlencode version=6.8.1
is "$STATUS|$(q "select actor from store_revisions where store_id = 'shopcccc' and revision = 2")" "303|admin@example.com" \
	"and may use it"
done_testing
