#!/bin/bash
# t0254 - reconcile tells owners, through the outbox and a real SMTP server: a store is ready,
# a store failed (with the reason), an upgrade was rolled back; one mail each, queued with the
# state change, none for a notice the owner turned off; store names cannot inject headers.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-reconcile.sh"
. "$SF_ROOT/tests/lib-upgrade.sh"
. "$SF_ROOT/tests/lib-mail.sh"

# the failure grace outlasts the upgrade timeout: a pod that cannot pull its image is still
# "waiting" when the timeout ends the upgrade (t0724)
export SF_UPGRADE_TIMEOUT=3 SF_FAILURE_GRACE=600 SF_PUBLIC_ORIGIN=https://fleet.example.com
export SF_MAIL_FROM='Store Fleet <fleet@example.net>'
rc_stack
smtp_start "$T/smtp" || bail "no SMTP server"
a=$(rc_user ann@example.com)
b=$(rc_user bob@example.com)
rc_sql "UPDATE users SET notify_store_failed = false WHERE id = $b"

rc_store annready woocommerce "$a"
rc_sql "UPDATE stores SET engine_version = '6.7.2', name = E'Café <b>Bold</b>\r\nBcc: evil@example.com' WHERE id = 'annready'"
for s in annfail1:$a bobfail1:$b; do
	sim POST /_sim/faults "{\"scope\":\"store-${s%%:*}\",\"type\":\"job_fail\"}"
	rc_store "${s%%:*}" woocommerce "${s#*:}"
done
rc_store bobready medusa "$b"
ok "two stores become ready, two fail" rc_until 90 \
	"(SELECT count(*) FROM stores WHERE status IN ('ready', 'failed')) = 4"
is "$(rc_sql "SELECT string_agg(id || ':' || status, ' ' ORDER BY id) FROM stores")" \
	"annfail1:failed annready:ready bobfail1:failed bobready:ready" "as expected"
is "$(rc_sql "SELECT string_agg(kind || ':' || rcpt, ' ' ORDER BY kind, rcpt) FROM outbox")" \
	"store_failed:ann@example.com store_ready:ann@example.com store_ready:bob@example.com" \
	"three notices queued; none for bob's failure (he turned those off)"
ok "more passes" rc_once
is "$(rc_sql "SELECT count(*) FROM outbox")" 3 "... queue nothing more: one notice per change"

ok "storefleet-mail sends them" mail_run
is "$(mail_count)" 3 "the SMTP server received exactly three mails"
ready=$(grep -l 'X-Sink-Rcpt-To: ann@example.com' "$SMTP_DIR"/msgs/*.eml | while read -r f; do
	mail_hdr "$f" Subject | grep -q ready && echo "$f"; done)
failed=$(grep -l 'X-Sink-Rcpt-To: ann@example.com' "$SMTP_DIR"/msgs/*.eml | grep -v "$ready")
is "$(mail_hdr "$ready" Subject)" 'Your store Café <b>Bold</b>  Bcc: evil@example.com is ready' \
	"a store name with CR/LF and markup: one Subject line"
is "$(mail_hdr "$ready" Bcc)" "" "... and no Bcc header"
is "$(mail_hdr "$ready" X-Sink-Rcpt-To)" "ann@example.com" "... nor another recipient"
like "$(mail_html "$ready")" 'Café &lt;b&gt;Bold&lt;/b&gt;' "the HTML part escapes the name"
like "$(mail_text "$ready")" 'https://fleet.example.com/stores/annready' "the notice links to the store's page"
is "$(mail_hdr "$failed" Subject)" "Your store Shop annfail1 failed" "the failure notice"
like "$(mail_text "$failed")" 'Why: .*BackoffLimitExceeded' "... says why, in the store's words"

# an upgrade that does not become ready in time rolls back, and ann hears of it
sim POST /_sim/faults '{"scope":"store-annready","type":"image_pull","image":"wordpress:6.8.1"}'
up_request annready 6.8.1 >/dev/null
ok "the timed-out upgrade rolls back" rc_until 90 \
	"(SELECT status = 'ready' AND current_revision = 3 FROM stores WHERE id = 'annready')"
is "$(rc_sql "SELECT string_agg(kind, ' ' ORDER BY id) FROM outbox WHERE id > 3")" "upgrade_rolled_back" \
	"one notice queued: the rollback (the store's return to ready is no new store)"
mail_run
f=$(mail_files | tail -n 1)
like "$(mail_hdr "$f" Subject)" 'The upgrade of your store .* was rolled back' "the rollback notice"
like "$(mail_text "$f")" 'the upgrade to 6\.8\.1 failed: not ready within 3 s.*rolling back to 6\.7\.2' \
	"... with what happened"
is "$(mail_count)" 4 "four mails in all"

done_testing
