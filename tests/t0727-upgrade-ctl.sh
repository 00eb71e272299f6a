#!/bin/bash
# t0727 - storefleetctl store upgrade|rollback|revisions: the web app's rules and messages, actor "storefleetctl".
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-stores.sh"
. "$SF_ROOT/tests/lib-upgrades.sh"

pg_start "$T/pg" || bail "cannot start PostgreSQL"
sf_migrate || bail "migrate failed"
q "INSERT INTO users (email, password_hash) VALUES ('a@example.com', 'x')" >/dev/null
up_store shopaaaa a@example.com 6.7.2

# ctl ARGS...: run storefleetctl; sets RC, OUT, ERR.
ctl() {
	"$SF_BUILD/bin/storefleetctl" "$@" >"$T/out" 2>"$T/err"
	RC=$?
	OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
}

# --- usage ----------------------------------------------------------------------------------------
ctl store
is "$RC" 2 "store without a subcommand -> usage, exit 2"
ctl store upgrade shopaaaa 6.8.1
is "$RC|$(head -n 1 "$T/err")" "2|usage: storefleetctl store upgrade ID --version V" "upgrade without --version -> usage"
ctl store rollback shopaaaa --revision one
is "$RC|$ERR" "2|storefleetctl: store rollback: --revision takes a revision number" "a revision that is not a number -> 2"
ctl help
like "$OUT" 'storefleetctl store upgrade ID --version V' "storefleetctl help lists the store commands"

# --- the same refusals and words as the API --------------------------------------------------------------
ctl store upgrade shopaaaa --version 9.9.9
is "$RC|$ERR" "1|storefleetctl: store upgrade: WooCommerce does not offer version '9.9.9'." "unknown version -> exit 1 with the reason"
ctl store upgrade shopaaaa --version 6.7.2
is "$RC|$ERR" "1|storefleetctl: store upgrade: The store already runs 6.7.2." "the version it runs -> exit 1"
ctl store upgrade zzzzzzzz --version 6.8.1
is "$RC|$ERR" "1|storefleetctl: store upgrade: There is no such store." "a missing store -> exit 1"
ctl store upgrade 'x;drop' --version 6.8.1
is "$RC|$ERR" "1|storefleetctl: store upgrade: There is no such store." "a malformed id is just missing"
q "update stores set status = 'provisioning' where id = 'shopaaaa'" >/dev/null
ctl store upgrade shopaaaa --version 6.8.1
is "$RC|$ERR" "1|storefleetctl: store upgrade: The store is provisioning; it can be upgraded once it is ready." \
	"a provisioning store -> exit 1 with the reason"
q "update stores set status = 'ready' where id = 'shopaaaa'" >/dev/null
is "$(q "select count(*) from store_revisions where store_id = 'shopaaaa'")" 1 "refusals write nothing"

# --- upgrade --------------------------------------------------------------------------------------------
ctl store upgrade shopaaaa --version 6.8.1
is "$RC|$OUT" "0|shopaaaa: upgrade to 6.8.1 requested (revision 2)" "upgrade -> exit 0"
is "$(q "select kind || '|' || engine_version || '|' || result || '|' || actor || '|' || (actor_id is null) from store_revisions where store_id = 'shopaaaa' and revision = 2")" \
	"upgrade|6.8.1|pending|storefleetctl|true" "revision 2 by storefleetctl, no user id"
is "$(q "select status || '|' || pending_revision from stores where id = 'shopaaaa'")" "upgrading|2" "the store is upgrading"
is "$(q "select message from store_events where store_id = 'shopaaaa' and step = 'upgrade'")" \
	"Upgrade to 6.8.1 requested by storefleetctl." "an event"
is "$(q "select actor_email || '|' || (actor_id is null) || '|' || (details->>'to') || '|' || (details ? 'as_admin') from audit_log where action = 'store.upgrade'")" \
	"storefleetctl|true|6.8.1|false" "an audit row by storefleetctl"
ctl store upgrade shopaaaa --version 6.8.1
is "$RC|$ERR" "1|storefleetctl: store upgrade: An upgrade to 6.8.1 is already in progress." "again -> exit 1, already in progress"

# --- rollback --------------------------------------------------------------------------------------------
up_done shopaaaa
ctl store rollback shopaaaa --revision 1
is "$RC|$ERR" "1|storefleetctl: store rollback: No snapshot of revision 1's data: revision 2 was applied without one." \
	"rollback with no snapshot -> exit 1 with the reason"
ctl store rollback shopaaaa --revision 7
is "$RC|$ERR" "1|storefleetctl: store rollback: This store has no revision 7." "an unknown revision -> exit 1"
q "update store_revisions set snapshot = 'r2.sql.gz', snapshot_status = 'complete' where store_id = 'shopaaaa' and revision = 2" >/dev/null
ctl store rollback shopaaaa --revision 1
is "$RC|$OUT" "0|shopaaaa: rollback to revision 1 requested (revision 3)" "rollback -> exit 0"
is "$(q "select kind || '|' || source_revision || '|' || restore_snapshot || '|' || engine_version || '|' || actor || '|' || (actor_id is null) from store_revisions where store_id = 'shopaaaa' and revision = 3")" \
	"rollback|1|r2.sql.gz|6.7.2|storefleetctl|true" "revision 3 restores r2's snapshot, by storefleetctl"
is "$(q "select count(*) from audit_log where action = 'store.rollback' and actor_email = 'storefleetctl' and actor_id is null")" 1 \
	"audited"

# --- revisions -------------------------------------------------------------------------------------------
ctl store revisions shopaaaa
is "$RC" 0 "revisions -> exit 0"
is "$(head -n 1 "$T/out")" "# version 6.8.1, revision 2 (a request is pending)" "what runs, and that a request is pending"
is "$(sed -n '3,$p' "$T/out" | cut -f 1-5 | tr '\t\n' ' |')" \
	"3 rollback 6.7.2 pending none|2 upgrade 6.8.1 ready complete|1 provision 6.7.2 ready none|" \
	"one line per revision, newest first"
is "$(sed -n '5p' "$T/out" | cut -f 8)" "A rollback to revision 1 is already in progress." "with why a rollback is refused now"
ctl store revisions zzzzzzzz
is "$RC|$ERR" "1|storefleetctl: store revisions: There is no such store." "a missing store -> exit 1"

# --- list ---------------------------------------------------------------------------------------------------
q "INSERT INTO stores (id, owner_id, name, engine, status, created_at)
   SELECT 'm' || lpad(g::text, 7, '0'), u.id, 'Medusa ' || g, 'medusa', 'ready', now() - g * interval '1 minute'
   FROM users u, generate_series(1, 150) g WHERE u.email = 'a@example.com'" >/dev/null
ctl store list
is "$RC|$(sed -n 2p "$T/out")" "0|shopaaaa	a@example.com	woocommerce	6.8.1	2	upgrading	Shop shopaaaa" \
	"store list: id, owner, engine, version, revision, status, name; newest first"
is "$(grep -vc '^#' "$T/out")" 151 "every store, across pages of 100"
ctl store list --status upgrading
is "$(grep -v '^#' "$T/out" | cut -f 1 | tr '\n' ' ')" "shopaaaa " "--status filters"
ctl store list --engine medusa
is "$(grep -vc '^#' "$T/out")|$(grep -v '^#' "$T/out" | head -n 1 | cut -f 4,5)" "150|2.21.2	0" \
	"--engine filters; a store with nothing applied runs the chart's version"
ctl store list --status bogus
is "$RC" 1 "a bad filter -> exit 1"
done_testing
