#!/bin/bash
# t0503 - pagination, retry, delete, events, the store page's steps, credentials, the admin page.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-stores.sh"

KEY=$(printf '%064x' 42)
export SF_SECRET_KEY=$KEY SF_STORES_PER_TENANT=100 SF_CREATE_COOLDOWN=0 SF_CREATES_PER_HOUR=1000
sf_stack
admin=$(user_token admin@example.com) || bail "no admin"
a=$(user_token a@example.com) || bail "no token"
b=$(user_token b@example.com) || bail "no token"

# --- cursor pagination over 45 stores ----------------------------------------------
seed_stores a@example.com 45 ready >/dev/null
# Two stores with the same created_at: the id breaks the tie, none is skipped.
q "update stores set created_at = (select created_at from stores order by created_at limit 1 offset 10)
   where id in (select id from stores order by created_at limit 2 offset 10)" >/dev/null
want=$(q "select id from stores order by created_at desc, id desc" | tr '\n' ' ')
got="" cursor="" pages=0
while :; do
	api GET /api/v1/stores "$a" -G --data-urlencode limit=20 ${cursor:+--data-urlencode cursor=$cursor}
	[ "$STATUS" = 200 ] || break
	got+=$(json_get '" ".join(s["id"] for s in j["stores"])')" "
	pages=$((pages + 1))
	cursor=$(json_get 'j["next_cursor"] or ""')
	[ -n "$cursor" ] || break
	[ $pages -lt 10 ] || break
done
is "$pages" 3 "45 stores in pages of 20: 3 pages"
is "$got" "$want" "every store once, newest first, ties broken by id"
api GET /api/v1/stores "$a"
is "$(json_get 'len(j["stores"])')" 20 "default limit 20"
api GET "/api/v1/stores?limit=1000" "$a"
is "$(json_get 'len(j["stores"])')" 45 "limit capped at 100 (all 45 here)"
q "update stores set status = 'failed', status_reason = 'The image could not be pulled.' where id in (select id from stores order by id limit 3)" >/dev/null
api GET "/api/v1/stores?status=failed" "$a"
is "$(json_get 'len(j["stores"])')|$(json_get 'j["stores"][0]["status_reason"]')" "3|The image could not be pulled." \
	"?status=failed filters, with the reason"

# --- retry -------------------------------------------------------------------------
failed=$(q "select id from stores where status = 'failed' order by id limit 1")
readyid=$(q "select id from stores where status = 'ready' order by id limit 1")
q "update stores set attempts = 7, next_attempt_at = now() + interval '1 hour', step = 'database' where id = '$failed'" >/dev/null
api POST "/api/v1/stores/$readyid/retry" "$a"
is "$STATUS|$(json_get 'j["error"]["code"]')" "409|conflict" "retry of a ready store -> 409 conflict"
api POST "/api/v1/stores/$failed/retry" "$a"
is "$STATUS|$(json_get 'j["store"]["status"]')|$(json_get 'j["store"]["status_reason"]')" "202|requested|None" \
	"retry of a failed store -> 202, requested, reason cleared"
is "$(q "select attempts || '|' || (next_attempt_at <= now()) from stores where id = '$failed'")" "0|true" \
	"attempts 0, next attempt now"
is "$(q "select count(*) from store_events where store_id = '$failed' and message = 'Retry requested.'")|$(q "select count(*) from audit_log where action = 'store.retry' and target = '$failed'")" \
	"1|1" "an event and an audit row"
api POST "/api/v1/stores/$failed/retry" "$a"
is "$STATUS" 409 "retrying again (now requested) -> 409"

# --- delete ---------------------------------------------------------------------------
api DELETE "/api/v1/stores/$readyid" "$a"
is "$STATUS|$(json_get 'j["store"]["status"]')" "202|deleting" "DELETE -> 202 deleting"
is "$(q "select desired || '|' || (delete_requested_at is not null) from stores where id = '$readyid'")" "absent|true" \
	"desired absent, delete_requested_at set"
api DELETE "/api/v1/stores/$readyid" "$a"
is "$STATUS|$(json_get 'j["store"]["status"]')" "202|deleting" "DELETE again -> 202, idempotent"
is "$(q "select count(*) from audit_log where action = 'store.delete' and target = '$readyid'")|$(q "select count(*) from audit_log where action = 'store.delete_repeat' and target = '$readyid'")|$(q "select count(*) from store_events where store_id = '$readyid' and step = 'delete'")" \
	"1|1|1" "one state change audited and logged; the repeat is recorded as such"
q "update stores set status = 'deleted', deleted_at = now() where id = '$readyid'" >/dev/null
api DELETE "/api/v1/stores/$readyid" "$a"
is "$STATUS|$(json_get 'j["store"]["status"]')" "202|deleted" "DELETE of a deleted store -> 202"
api GET /api/v1/stores "$a" -G --data-urlencode limit=100
unlike "$(json_get '[s["id"] for s in j["stores"]]')" "$readyid" "deleted stores leave the default list"
api GET /api/v1/stores "$a" -G --data-urlencode status=deleted
is "$(json_get 'j["stores"][0]["id"]')" "$readyid" "and are found with ?status=deleted"

# --- events: newest last, paging with before ---------------------------------------------
q "insert into store_events (store_id, step, level, message, at)
   select '$failed', 'app', 'info', 'tick ' || g, now() + g * interval '1 ms' from generate_series(1, 250) g" >/dev/null
api GET "/api/v1/stores/$failed/events" "$a"
is "$(json_get 'len(j["events"])')|$(json_get 'j["events"][-1]["message"]')" "200|tick 250" "200 events at most, newest last"
before=$(json_get 'j["next_before"]')
like "$before" '^[0-9]+$' "next_before for older events"
api GET "/api/v1/stores/$failed/events?before=$before" "$a"
is "$(json_get 'len(j["events"])')|$(json_get 'j["events"][-1]["message"]')|$(json_get 'j["next_before"]')" \
	"51|tick 50|None" "the older page ends the log (251 events)"

# --- the store page: steps, reason, retry button ----------------------------------------------
other=$(q "select id from stores where status = 'failed' order by id limit 1")
# stores.step is the last step completed (reconcile.c); the failure is the next one
q "update stores set step = 'database', status_reason = 'The app keeps crashing (CrashLoopBackOff).' where id = '$other';
   insert into store_events (store_id, step, level, message) values
   ('$other', 'namespace', 'info', 'Namespace created.'), ('$other', 'database', 'info', 'Database ready.'),
   ('$other', 'app', 'error', 'CrashLoopBackOff')" >/dev/null
jar=$T/a.jar
browser_login a@example.com "$jar" >/dev/null
page "$jar" GET "/stores/$other"
is "$STATUS" 200 "the page of a failed store"
like "$BODY" 'The app keeps crashing \(CrashLoopBackOff\)' "the reason in plain words"
like "$BODY" '<li class="done">Namespace <time' "namespace done, with its time"
like "$BODY" '<li class="failed">Application <time[^>]*>[^<]*</time><span class="step-detail">failed' "the failed step is marked"
like "$BODY" '<li>Ingress</li>' "later steps pending"
like "$BODY" "action=\"/stores/$other/retry\"" "a Retry button"
unlike "$BODY" 'http-equiv="refresh"' "a failed store does not refresh itself"
csrf=$(page_csrf)
page "$jar" POST "/stores/$other/retry" --data-urlencode "csrf_token=$csrf"
is "$STATUS|$(header Location)" "303|/stores/$other?retried=1" "form retry -> 303 back to the store"
page "$jar" POST "/stores/$other/retry" --data-urlencode "csrf_token=$csrf"
is "$STATUS" 409 "form retry of a requested store -> 409"
like "$BODY" 'Only a failed store can be retried' "with the reason on the page"
page "$jar" POST "/stores/$other/delete" --data-urlencode "csrf_token=$csrf"
is "$STATUS" 422 "form delete without the ticked box -> 422"
is "$(q "select status from stores where id = '$other'")" requested "and nothing changed"
page "$jar" POST "/stores/$other/delete" --data-urlencode "csrf_token=$csrf" --data-urlencode confirm=yes
is "$STATUS|$(header Location)" "303|/stores/$other?deleted=1" "form delete with the box ticked -> 303"
page "$jar" GET "/stores/$other?deleted=1"
like "$BODY" 'badge badge-deleting' "now deleting"
like "$BODY" '<meta http-equiv="refresh" content="3">' "and refreshing itself"
unlike "$BODY" 'action="/stores/[a-z0-9]+/delete"' "no second delete button"

# --- a store in progress: the current step is highlighted -------------------------------------
prov=$(q "select id from stores where status = 'ready' order by id desc limit 1")
q "update stores set status = 'provisioning', step = 'secrets' where id = '$prov';
   insert into store_events (store_id, step, message) values ('$prov', 'namespace', 'Namespace created.')" >/dev/null
page "$jar" GET "/stores/$prov"
like "$BODY" '<li class="current" aria-current="step">Database' "the current step is highlighted"
like "$BODY" '<li class="done">Secrets</li>' "the step completed last is done"
like "$BODY" '<li>Application</li>' "the steps after the current one are pending"
like "$BODY" '<meta http-equiv="refresh" content="3">' "a provisioning store refreshes itself"

# --- credentials: owner only, audited, never the secret in the log -----------------------------
cred=$(q "select id from stores where status = 'ready' order by id limit 1")
q "update stores set admin_user = 'shopadmin', admin_secret = decode('$(seal_hex "$KEY" 'pa$$w0rd-XYZ')', 'hex') where id = '$cred'" >/dev/null
page "$jar" GET "/stores/$cred"
like "$BODY" 'shopadmin' "the owner sees the admin user"
unlike "$BODY" 'pa\$\$w0rd-XYZ' "but not the password"
like "$BODY" "action=\"/stores/$cred/credentials\"" "behind a Reveal form"
page "$jar" POST "/stores/$cred/credentials" --data-urlencode "csrf_token=$(page_csrf)"
is "$STATUS" 200 "reveal -> 200"
like "$BODY" '<code class="secret-value">pa\$\$w0rd-XYZ</code>' "the password is shown"
is "$(header Cache-Control)" "no-store" "and not cached"
is "$(q "select actor_email || '|' || target from audit_log where action = 'store.credentials_reveal'")" \
	"a@example.com|$cred" "the reveal is audited"
is "$(q "select count(*) from audit_log where details::text like '%w0rd%'")$(grep -c 'w0rd' "$T/app.log")" "00" \
	"the secret is in no audit row and no log line"
ajar=$T/admin.jar
browser_login admin@example.com "$ajar" >/dev/null
page "$ajar" GET "/stores/$cred"
is "$STATUS" 200 "an admin opens a's store"
unlike "$BODY" "/stores/$cred/credentials|shopadmin" "but sees no credentials section"
like "$BODY" 'a@example.com' "and sees the owner"
page "$ajar" POST "/stores/$cred/credentials" --data-urlencode "csrf_token=$(page_csrf)"
is "$STATUS" 403 "an admin's reveal -> 403"
unlike "$BODY" 'w0rd' "without the secret"
q "update stores set admin_secret = decode('$(seal_hex "$(printf '%064x' 7)" 'other')', 'hex') where id = '$cred'" >/dev/null
page "$jar" GET "/stores/$cred"
page "$jar" POST "/stores/$cred/credentials" --data-urlencode "csrf_token=$(page_csrf)"
is "$STATUS" 503 "a secret sealed under another key does not open -> 503"

# --- admin page ------------------------------------------------------------------------------
api_json POST /api/v1/stores "$b" '{"name":"b shop <i>","engine":"medusa"}'
bid=$(json_get 'j["store"]["id"]')
page "$ajar" GET /admin/stores
is "$STATUS" 200 "GET /admin/stores"
like "$BODY" "/stores/$bid\">b shop &lt;i&gt;</a>" "b's store (name escaped)"
like "$BODY" 'b@example.com' "with its owner"
like "$BODY" '>just now</time>' "and its age"
q "update stores set created_at = now() - interval '3 hours 5 minutes' where id = '$cred'" >/dev/null
page "$ajar" GET /admin/stores
like "$BODY" '>3 h</time>' "older stores in hours"
like "$BODY" "/stores/$cred\"" "and a's stores"
page "$ajar" GET "/admin/stores?status=failed"
unlike "$BODY" "/stores/$bid\"" "the status filter hides b's requested store"
like "$BODY" '<option value="failed" selected>' "and keeps the filter selected"
page "$jar" GET /admin/stores
is "$STATUS" 403 "tenants get 403 on /admin/stores"

# --- the audit log API: newest first, cursor paging ------------------------------------------
total=$(q "select count(*) from audit_log")
api GET "/api/v1/audit?limit=3" "$admin"
is "$STATUS|$(json_get 'len(j["entries"])')" "200|3" "GET /api/v1/audit?limit=3"
is "$(json_get 'sorted(j["entries"][0].keys())')" '["action", "actor", "at", "details", "ip", "target"]' \
	"entries have at, actor, ip, action, target, details"
is "$(json_get 'j["entries"][0]["action"]')" "$(q "select action from audit_log order by id desc limit 1")" "newest first"
seen=$(json_get 'len(j["entries"])') cursor=$(json_get 'j["next_cursor"]')
while [ "$cursor" != None ] && [ "$seen" -lt 1000 ]; do
	api GET /api/v1/audit "$admin" -G --data-urlencode limit=3 --data-urlencode "cursor=$cursor"
	seen=$((seen + $(json_get 'len(j["entries"])')))
	cursor=$(json_get 'j["next_cursor"]')
done
is "$seen" "$total" "following next_cursor visits every entry once ($total)"
done_testing
