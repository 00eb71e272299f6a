#!/bin/bash
# t0729 - concurrent requests on one store (API, form-less storefleetctl, upgrade against rollback): exactly one wins.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-stores.sh"
. "$SF_ROOT/tests/lib-upgrades.sh"

SF_TEST_WORKERS=4 sf_stack
a=$(user_token a@example.com) || bail "no token"
up_store shopaaaa a@example.com 6.7.2

# race N: N upgrade requests through the API at once and 4 from storefleetctl; prints the
# sorted answers ("202", "409", and storefleetctl's exit codes as "ctl0", "ctl1").
race() {
	local pids=() i

	for i in $(seq 1 "$1"); do
		curl -s -o "$T/answer.$i" -w '%{http_code}\n' -X POST -H "Authorization: Bearer $a" \
			-H 'Content-Type: application/json' --data-binary "{\"version\": \"$2\"}" \
			"$BASE/api/v1/stores/shopaaaa/upgrade" >"$T/race.$i" &
		pids+=($!)
	done
	for i in 1 2 3 4; do
		("$SF_BUILD/bin/storefleetctl" store upgrade shopaaaa --version "$2" >/dev/null \
			2>"$T/answer.ctl$i"
		 echo "ctl$?") >"$T/race.ctl$i" &
		pids+=($!)
	done
	wait "${pids[@]}"
	cat "$T"/race.* | sort | uniq -c | awk '{print $2 "x" $1}' | tr '\n' ' '
	rm -f "$T"/race.*
}

got=$(race 16 6.8.1)
case "$got" in
"202x1 409x15 ctl1x4 " | "409x16 ctl0x1 ctl1x3 ") won=1 ;;
*) won=0 ;;
esac
is "$won" 1 "20 simultaneous upgrades: one accepted, 19 refused with 409 / exit 1 ($got)"
# The loser waited for the winner's lock and read its revision: not a unique violation.
is "$(cat "$T"/answer.* | grep -o 'An upgrade to 6\.8\.1 is already in progress\.' | wc -l)" 19 \
	"every refusal names the upgrade that won"
is "$(q "select count(*) || '|' || max(revision) from store_revisions where store_id = 'shopaaaa'")|$(q "select count(*) from audit_log where action = 'store.upgrade'")|$(q "select count(*) from store_events where step = 'upgrade'")" \
	"2|2|1|1" "one revision, one audit row, one event"
is "$(q "select status || '|' || pending_revision from stores where id = 'shopaaaa'")" "upgrading|2" \
	"the store points at the one revision"

# An upgrade and a rollback at once, after the upgrade went live with a snapshot.
up_done shopaaaa r2.sql.gz
pids=()
for i in 1 2 3 4 5 6; do
	curl -s -o /dev/null -w 'upgrade %{http_code}\n' -X POST -H "Authorization: Bearer $a" \
		-H 'Content-Type: application/json' --data-binary '{"version": "6.7.2"}' \
		"$BASE/api/v1/stores/shopaaaa/upgrade" >"$T/mix.u$i" &
	pids+=($!)
	curl -s -o /dev/null -w 'rollback %{http_code}\n' -X POST -H "Authorization: Bearer $a" \
		-H 'Content-Type: application/json' --data-binary '{"revision": 1}' \
		"$BASE/api/v1/stores/shopaaaa/rollback" >"$T/mix.r$i" &
	pids+=($!)
done
wait "${pids[@]}"
# The upgrades go back to 6.7.2: each is refused, 422 (a downgrade) before
# the rollback is in, 409 (a rollback is in progress) after.
is "$(cat "$T"/mix.r* | grep -c ' 202$')|$(cat "$T"/mix.r* | grep -c ' 409$')|$(cat "$T"/mix.u* | grep -c ' 4[02][92]$')" "1|5|6" \
	"6 upgrades and 6 rollbacks at once: one rollback accepted, the other 11 refused"
is "$(q "select count(*) from store_revisions where store_id = 'shopaaaa'")|$(q "select pending_revision from stores where id = 'shopaaaa'")" \
	"3|3" "one more revision, pending"
done_testing
