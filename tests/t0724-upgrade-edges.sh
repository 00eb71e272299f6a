#!/bin/bash
# t0724-upgrade-edges.sh - upgrades at the edges: revisions for stores made before them, the upgrade timeout, a rollback whose restore fails, a version the chart does not offer.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-reconcile.sh"
. "$SF_ROOT/tests/lib-upgrade.sh"

# the failure grace outlasts the upgrade timeout: a pod that cannot pull its image is
# still "waiting" when the timeout ends the upgrade
export SF_UPGRADE_TIMEOUT=3 SF_FAILURE_GRACE=600
rc_stack
rc_user tenant@example.com >/dev/null

# stores that were ready before revisions existed get revision 1 on the next pass
ok "two steady stores seeded" rc_seed 2 o
is "$(rc_sql "SELECT count(*) FROM store_revisions")" 0 "no revision yet"
ok "one pass" rc_once
is "$(rc_sql "SELECT string_agg(store_id || ':' || revision || ':' || kind || ':' || result || ':' || engine_version || ':' || actor, ' ' ORDER BY store_id) FROM store_revisions")" \
	"o0000000:1:provision:ready:6.8.1:tenant@example.com o0000001:1:provision:ready:2.21.2:tenant@example.com" \
	"each got revision 1 (the chart's version, by the owner, ready)"
is "$(rc_sql "SELECT string_agg(current_revision::text, ' ') FROM stores")" "1 1" "current_revision 1"
ok "another pass" rc_once
is "$(rc_sql "SELECT count(*) FROM store_revisions")" 2 "and only once"

for id in wootimeo woorestf; do
	rc_store "$id" woocommerce
	rc_sql "UPDATE stores SET engine_version = '6.7.2' WHERE id = '$id'"
done
ok "two more stores become ready" rc_until 90 \
	"(SELECT count(*) FROM stores WHERE status = 'ready' AND id IN ('wootimeo', 'woorestf')) = 2"

# an upgrade that does not become ready in time rolls back
sim POST /_sim/faults '{"scope":"store-wootimeo","type":"image_pull","image":"wordpress:6.8.1"}'
up_request wootimeo 6.8.1 >/dev/null
ok "the timed-out upgrade rolls back" rc_until 90 \
	"(SELECT status = 'ready' AND current_revision = 3 FROM stores WHERE id = 'wootimeo')"
like "$(up_rev wootimeo 2 "result || ': ' || reason")" '^rolled_back: not ready within 3 s: ' \
	"revision 2: rolled back, not ready within the timeout"
is "$(up_image wootimeo wordpress)" "wordpress:6.7.2-php8.3-apache" "old image back"

# a rollback whose restore fails cannot make the store ready: failed, in plain words, once
sim POST /_sim/faults '{"scope":"store-woorestf","type":"image_pull","image":"wordpress:6.8.1"}'
sim POST /_sim/faults '{"scope":"store-woorestf","type":"job_fail","name":"restore-"}'
up_request woorestf 6.8.1 >/dev/null
ok "the store fails" rc_until 90 "(SELECT status = 'failed' FROM stores WHERE id = 'woorestf')"
like "$(rc_sql "SELECT status_reason FROM stores WHERE id = 'woorestf'")" \
	'^rollback to 6\.7\.2 failed: restoring snapshot r2 failed: BackoffLimitExceeded' "the reason says what failed"
is "$(rc_sql "SELECT coalesce(pending_revision::text, '-') || ' ' || current_revision FROM stores WHERE id = 'woorestf'")" \
	"- 1" "nothing pending; revision 1 is still the last one that was ready"
is "$(up_rev woorestf 3 "result || ' ' || restore_status")" "failed failed" "revision 3 failed, its restore failed"
n=$(rc_sql "SELECT count(*) FROM store_events WHERE store_id = 'woorestf'")
ok "more passes" rc_once
ok "and more" rc_once
is "$(rc_sql "SELECT count(*) FROM store_events WHERE store_id = 'woorestf'") $(rc_status woorestf)" "$n failed" \
	"no loop: the failed store stays failed and quiet"
is "$(rc_sql "SELECT count(*) FROM store_revisions WHERE store_id = 'woorestf'")" 3 "no further revision"

# a version the chart does not offer (the web side refuses it; reconcile never renders it)
rc_sql "DELETE FROM store_events WHERE store_id = 'o0000000'"
up_request o0000000 9.9.9 >/dev/null
ok "the upgrade is refused" rc_until 30 "(SELECT status = 'ready' FROM stores WHERE id = 'o0000000')"
like "$(up_rev o0000000 2 "result || ': ' || reason")" "^failed: version 9\.9\.9 is not offered by the woocommerce chart" \
	"revision 2 failed: version not offered"
is "$(up_events o0000000 | wc -l)" 1 "one event, no snapshot taken"

done_testing
