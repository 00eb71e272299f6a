#!/bin/bash
# t0712 - /admin/audit and GET /api/v1/audit: actor, action, target and time filters, keyset pages,
# 422s for bad values, details escaped on the page.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-stores.sh"
. "$SF_ROOT/tests/lib-admin.sh"

sf_stack
admin=$(user_token admin@example.com) || bail "no admin"
tina=$(user_token tina@example.com) || bail "no token"
# A known history: 60 rows spread over three days, by three actors, four actions, two targets.
q "insert into audit_log (at, actor_email, ip, action, target, details)
   select timestamptz '2026-03-10 00:00:00+00' + g * interval '73 minutes',
          (array['ann@example.com', 'Bob@Example.com', 'storefleetctl'])[1 + g % 3], '10.0.0.' || g,
          (array['store.create', 'store.delete', 'user.login', 'user.role'])[1 + g % 4],
          (array['abcd1234', 'tina@example.com'])[1 + g % 2], jsonb_build_object('n', g)
   from generate_series(0, 59) g" >/dev/null
# A row written late about an earlier time (a higher id, an older at): listed by time, not by id.
q "insert into audit_log (at, actor_email, action, target, details) values
   ('2026-03-10 05:00:30+00', 'ann@example.com', 'user.role', 'abcd1234', '{\"n\": 1000}')" >/dev/null
SEL="select id from audit_log"

check() {	# check NAME WHERE [query args...]
	local name=$1 want

	want=$(q_ids "$SEL where $2 order by at desc, id desc")
	shift 2
	walk_ids /api/v1/audit "$admin" entries --data-urlencode limit=7 "$@"
	is "$WALK_IDS" "$want" "$name ($(printf '%s' "$want" | wc -w) rows, $WALK_PAGES pages)"
}
# The API answers entries without ids; walk_ids needs one, so read them back by details.n.
walk_ids() {
	local path=$1 token=$2 cursor="" pages=0 ns=""

	shift 3
	while :; do
		api GET "$path" "$token" -G "$@" ${cursor:+--data-urlencode "cursor=$cursor"}
		[ "$STATUS" = 200 ] || { echo "walk: $STATUS $BODY" >&2; break; }
		ns+=$(json_get '",".join(str(e["details"].get("n", -1)) for e in j["entries"])'),
		pages=$((pages + 1))
		cursor=$(json_get 'j["next_cursor"] or ""')
		[ -n "$cursor" ] && [ $pages -lt 100 ] || break
	done
	WALK_PAGES=$pages
	ns=$(printf '%s' "$ns" | tr -s ',' | sed 's/^,//; s/,$//')
	# map n back to ids in the order received (rows inserted above only)
	WALK_IDS=$(q "select string_agg(a.id::text, ' ' order by o.i) from unnest('{${ns:-}}'::int[]) with ordinality o(n, i)
	              join audit_log a on (a.details->>'n')::int = o.n")
}
seeded="details ? 'n'"
check "actor (any case)" "$seeded and actor_email = 'Bob@Example.com'" --data-urlencode actor=bob@example.COM --data-urlencode from=2026-03-01
check "action" "$seeded and action = 'user.role'" --data-urlencode action=user.role --data-urlencode to=2026-03-31
check "target" "$seeded and target = 'abcd1234'" --data-urlencode target=abcd1234
check "from a date" "$seeded and at >= '2026-03-11 00:00+00'" --data-urlencode from=2026-03-11
check "to a date: the whole day" "$seeded and at < '2026-03-11 00:00+00'" --data-urlencode to=2026-03-10 \
	--data-urlencode from=2026-01-01
check "from/to times with an offset (to inclusive to the minute)" \
	"$seeded and at >= '2026-03-10 10:00+00' and at < '2026-03-10 22:12+00'" \
	--data-urlencode from=2026-03-10T12:00+02:00 --data-urlencode to=2026-03-10T22:11Z
check "to at a row's exact second includes it" "$seeded and at <= '2026-03-10 01:13:00+00'" \
	--data-urlencode from=2026-03-10 --data-urlencode to=2026-03-10T01:13:00Z
check "every filter at once" \
	"$seeded and actor_email = 'ann@example.com' and action = 'store.create' and target = 'abcd1234' and at >= '2026-03-10 12:00+00' and at < '2026-03-12 00:00+00'" \
	--data-urlencode actor=ann@example.com --data-urlencode action=store.create --data-urlencode target=abcd1234 \
	--data-urlencode "from=2026-03-10 12:00" --data-urlencode to=2026-03-11
api GET "/api/v1/audit?action=no.such.action" "$admin"
is "$STATUS|$(json_get 'j')" '200|{"entries": [], "next_cursor": null}' "no match: an empty page"

# --- the live actions of this test are found too -----------------------------------------------
api GET "/api/v1/audit?action=user.login&actor=tina@example.com" "$admin"
is "$(json_get 'len(j["entries"])')|$(json_get 'j["entries"][0]["target"]')|$(json_get 'j["entries"][0]["details"]["via"]')" \
	"1|tina@example.com|api" "tina's sign-in, by actor and action"
is "$(json_get 'sorted(j["entries"][0].keys())')" '["action", "actor", "at", "details", "ip", "target"]' \
	"the entry shape is unchanged"
api GET "/api/v1/audit?from=$(date -u +%Y-%m-%d)&limit=200" "$admin"
is "$(json_get 'len(j["entries"])')" "$(q "select count(*) from audit_log where at >= current_date")" "from today: today's rows"

# --- bad values -----------------------------------------------------------------------------------
bad() {	# bad QUERY FIELD
	api GET "/api/v1/audit?$1" "$admin"
	is "$STATUS|$(json_get 'j["error"]["code"]')|$(json_get 'list(j["error"]["fields"])')" \
		"422|invalid|[\"$2\"]" "?$1 -> 422 on $2"
}
bad "from=yesterday" from
bad "from=2026-02-30" from
bad "from=2026-13-01" from
bad "to=2026-03-10T25:00" to
bad "to=2026-03-10T10:00:00.1234567Z" to
bad "to=2026-03-10T10:00%2B15:00" to
bad "from=2026-03-11&to=2026-03-10" to
bad "limit=0" limit
bad "limit=201" limit
bad "cursor=abc" cursor
bad "actor=$(printf 'a%.0s' $(seq 300))" actor
bad "action=$(printf 'a%.0s' $(seq 65))" action
api GET "/api/v1/audit?limit=200" "$admin"
is "$STATUS" 200 "limit=200 is fine"

# --- the page: filters kept, next links walk, details escaped --------------------------------------
q "insert into audit_log (actor_email, action, target, details) values
   ('mallory@example.com', 'store.create', '<b>t</b>', '{\"name\": \"<script>alert(1)</script>\"}')" >/dev/null
ajar=$T/admin.jar
is "$(browser_login admin@example.com "$ajar")" 303 "the admin signs in"
page "$ajar" GET /admin/audit
is "$STATUS" 200 "GET /admin/audit"
like "$BODY" '&lt;script&gt;alert\(1\)&lt;/script&gt;' "details render escaped"
like "$BODY" '<td data-label="Target">&lt;b&gt;t&lt;/b&gt;</td>' "the target too"
unlike "$BODY" '<script>alert|<b>t</b>' "nothing raw"
like "$BODY" 'aria-current="page">Audit log</a>' "the admin sub-navigation marks Audit log"
want=$(q "select count(*) from audit_log where $seeded and action = 'store.delete' and at < '2026-03-12'")
url="/admin/audit?action=store.delete&to=2026-03-11&limit=4" rows=0 n=0
while [ -n "$url" ] && [ $n -lt 30 ]; do
	page "$ajar" GET "$url"
	rows=$((rows + $(printf '%s' "$BODY" | grep -c '<td data-label="Action" class="mono small">store.delete</td>')))
	url=$(printf '%s' "$BODY" | sed -n 's/.*<a class="btn btn-small" href="\([^"]*\)" rel="next">.*/\1/p' | sed 's/&amp;/\&/g')
	n=$((n + 1))
done
is "$rows" "$want" "the page's Older links walk every matching row once ($n pages)"
page "$ajar" GET "/admin/audit?actor=ann%40example.com&action=user.login&target=abcd1234&from=2026-03-10&to=2026-03-11T12%3A00Z"
like "$BODY" 'name="actor" type="text" value="ann@example.com"' "actor kept in the form"
like "$BODY" 'name="to" type="text" value="2026-03-11T12:00Z"' "to kept in the form"
is "$(printf '%s' "$BODY" | grep -c '<td data-label="Actor">ann@example.com</td>')" \
	"$(q "select count(*) from audit_log where actor_email = 'ann@example.com' and action = 'user.login' and target = 'abcd1234' and at >= '2026-03-10' and at < '2026-03-11 12:01+00'")" \
	"the page applies every filter"
page "$ajar" GET "/admin/audit?from=2026-02-30&action=user.role"
is "$STATUS" 422 "a bad date on the page -> 422"
like "$BODY" 'from: expected an ISO 8601 date or time' "with the reason"
like "$BODY" 'name="action" type="text" value="user.role"' "and the form still filled in"
NOCOOKIES=1 http GET /api/v1/audit -H "Authorization: Bearer $tina"
is "$STATUS" 403 "a tenant: 403"
done_testing
