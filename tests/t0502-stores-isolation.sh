#!/bin/bash
# t0502 - tenant isolation: another tenant's store answers exactly like a missing one, on every store route.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-stores.sh"

sf_stack
admin=$(user_token admin@example.com) || bail "no admin"
user_token a@example.com >/dev/null || bail "no token"
b=$(user_token b@example.com) || bail "no token"
seed_stores a@example.com 40 ready >/dev/null
seed_stores a@example.com 10 failed >/dev/null
is "$(q "select count(*) from stores")" 50 "50 stores of tenant a seeded"
ids=$(q "select id from stores order by id")

jar=$T/b.jar
is "$(browser_login b@example.com "$jar")" 303 "b signs in through the form"
page "$jar" GET /stores
csrf=$(page_csrf)

# The answer (status + body) of every store route for ID, one line per route.
# The 9 requests go out in order from one curl (--next starts the next request
# with fresh options), each printing its body and status exactly as a curl of
# its own did: one process per store instead of nine.
answers() {
	local id=$1 j args=()

	for j in "GET /api/v1/stores/$id" "DELETE /api/v1/stores/$id" "POST /api/v1/stores/$id/retry" \
		"GET /api/v1/stores/$id/events"; do
		args+=(--next -s -w ' %{http_code}\n' -X "${j%% *}" -H "Authorization: Bearer $b" "$BASE${j#* }")
	done
	args+=(--next -s -w ' %{http_code}\n' -b "$jar" "$BASE/stores/$id")
	for j in retry delete credentials; do
		args+=(--next -s -w ' %{http_code}\n' -b "$jar" "$BASE/stores/$id/$j"
			--data-urlencode "csrf_token=$csrf" --data-urlencode confirm=yes)
	done
	args+=(--next -s -w ' %{http_code}\n' -b "$jar" "$BASE/stores/$id/delete" --data-urlencode "csrf_token=$csrf")
	curl "${args[@]:1}"
}

answers zzzz9999 >"$T/missing.txt"
is "$(grep -c ' 404$' "$T/missing.txt")" 9 "a missing id: 404 on all 9 routes"
like "$(head -n 1 "$T/missing.txt")" '"code":"not_found"' "JSON routes answer not_found"
answers a1 >"$T/malformed.txt"
cmp -s "$T/missing.txt" "$T/malformed.txt"
ok "a malformed id answers byte for byte like a missing one" test $? -eq 0

same=0
for id in $ids; do
	answers "$id" >"$T/foreign.txt"
	if cmp -s "$T/missing.txt" "$T/foreign.txt"; then
		same=$((same + 1))
	else
		diag "store $id answers differently:"
		diff "$T/missing.txt" "$T/foreign.txt" | head -n 6 | sed 's/^/#   /'
	fi
done
is "$same" 50 "all 50 of a's stores answer b exactly like a missing store (9 routes each)"
is "$(q "select count(*) from stores where status not in ('ready', 'failed') or desired <> 'present'")" 0 \
	"none of a's stores changed"
is "$(q "select count(*) from audit_log where action like 'store.%'")" 0 "no store action was recorded for b"
api GET /api/v1/stores "$b"
is "$(json_get 'len(j["stores"])')" 0 "b's list is empty"

# Admins see everyone's stores; their deletes are audited as such.
first=$(echo "$ids" | head -n 1)
api GET "/api/v1/stores/$first" "$admin"
is "$STATUS" 200 "an admin sees a's store"
api DELETE "/api/v1/stores/$first" "$admin"
is "$STATUS|$(json_get 'j["store"]["status"]')" "202|deleting" "an admin deletes it"
is "$(q "select actor_email || '|' || (details->>'as_admin') || '|' || (details->>'owner') from audit_log where action = 'store.delete' and target = '$first'")" \
	"admin@example.com|true|a@example.com" "audited as an admin acting on a's store"
api POST "/api/v1/stores/$first/retry" "$admin"
is "$STATUS" 409 "retry of a deleting store -> 409"
done_testing
