#!/bin/bash
# t0710 - /admin/stores and GET /api/v1/admin/stores: filters, both sorts, keyset pages, 422s, 403s, escaping.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-stores.sh"
. "$SF_ROOT/tests/lib-admin.sh"

sf_stack
admin=$(user_token admin@example.com) || bail "no admin"
a=$(user_token a@example.com) || bail "no token"
b=$(user_token B.Owner+shop@example.com) || bail "no token"

# 30 stores of a (odd: woocommerce, even: medusa), 12 of b, in several states.
seed_stores a@example.com 30 ready >/dev/null
seed_stores B.Owner+shop@example.com 12 ready >/dev/null
q "update stores set status = 'failed', status_reason = 'The image could not be pulled.'
     where id in (select id from stores order by id limit 5);
   update stores set status = 'provisioning' where id in (select id from stores where status = 'ready' order by id limit 4);
   update stores set status = 'deleted', desired = 'absent', deleted_at = now()
     where id in (select id from stores where status = 'ready' order by id desc limit 3)" >/dev/null
# A tie on created_at: the id decides, in both directions.
q "update stores set created_at = (select created_at from stores order by created_at limit 1 offset 7)
   where id in (select id from stores order by created_at limit 3 offset 7)" >/dev/null

NEWEST="order by s.created_at desc, s.id desc"
OLDEST="order by s.created_at asc, s.id asc"
FROM="from stores s join users u on u.id = s.owner_id"

# --- every filter and sort: the right rows in the right order, pages walked once -------
check() {	# check NAME WHERE ORDER [query args...]
	local name=$1 where=$2 order=$3 want got

	shift 3
	want=$(q_ids "select s.id $FROM where $where $order")
	walk_ids /api/v1/admin/stores "$admin" stores --data-urlencode limit=4 "$@"
	is "$WALK_IDS" "$want" "$name ($(printf '%s' "$want" | wc -w) stores, $WALK_PAGES pages)"
}
check "default: all but deleted, newest first" "s.status <> 'deleted'" "$NEWEST"
check "sort=oldest" "s.status <> 'deleted'" "$OLDEST" --data-urlencode sort=oldest
check "sort=newest" "s.status <> 'deleted'" "$NEWEST" --data-urlencode sort=newest
check "status=failed" "s.status = 'failed'" "$NEWEST" --data-urlencode status=failed
check "status=deleted" "s.status = 'deleted'" "$OLDEST" --data-urlencode status=deleted --data-urlencode sort=oldest
check "engine=medusa" "s.status <> 'deleted' and s.engine = 'medusa'" "$NEWEST" --data-urlencode engine=medusa
check "owner, any case" "s.status <> 'deleted' and u.email = 'B.Owner+shop@example.com'" "$NEWEST" \
	--data-urlencode owner=b.owner+SHOP@example.com
check "owner + engine + status + oldest" \
	"s.status = 'ready' and s.engine = 'woocommerce' and u.email = 'a@example.com'" "$OLDEST" \
	--data-urlencode owner=a@example.com --data-urlencode engine=woocommerce \
	--data-urlencode status=ready --data-urlencode sort=oldest
check "owner nobody has" "false" "$NEWEST" --data-urlencode owner=nobody@example.com
walk_ids /api/v1/admin/stores "$admin" stores --data-urlencode limit=4
is "$WALK_PAGES" 10 "39 stores in pages of 4: 10 pages"

# --- the answer's shape ---------------------------------------------------------------
api GET "/api/v1/admin/stores?owner=a@example.com&limit=1&status=failed" "$admin"
is "$STATUS" 200 "GET /api/v1/admin/stores -> 200"
is "$(json_get 'sorted(j.keys())')" '["next_cursor", "stores"]' "answer: stores and next_cursor"
listed=$(json_get 'json.dumps({k: v for k, v in j["stores"][0].items() if k != "owner"}, sort_keys=True)')
is "$(json_get 'j["stores"][0]["owner"]')|$(json_get 'j["stores"][0]["status_reason"]')" \
	"a@example.com|The image could not be pulled." "owner and reason"
api GET "/api/v1/stores/$(json_get 'j["stores"][0]["id"]')" "$admin"
is "$listed" "$(json_get 'json.dumps(j["store"], sort_keys=True)')" \
	"a listed store is the API's store object (GET /api/v1/stores/{id}) plus owner"
api GET "/api/v1/admin/stores?limit=100" "$admin"
is "$(json_get 'len(j["stores"])')|$(json_get 'j["next_cursor"]')" "39|None" "limit=100: one page, no cursor"
api GET "/api/v1/admin/stores" "$admin"
is "$(json_get 'len(j["stores"])')" 39 "default limit 50"

# --- bad values: 422 naming the field ---------------------------------------------------
bad() {	# bad QUERY FIELD
	api GET "/api/v1/admin/stores?$1" "$admin"
	is "$STATUS|$(json_get 'j["error"]["code"]')|$(json_get 'list(j["error"]["fields"].keys())')" \
		"422|invalid|[\"$2\"]" "?$1 -> 422 on $2"
}
bad "status=bogus" status
bad "engine=magento" engine
bad "sort=sideways" sort
bad "limit=0" limit
bad "limit=101" limit
bad "limit=ten" limit
bad "cursor=bm90LWEtY3Vyc29y" cursor
bad "owner=$(printf 'x%.0s' $(seq 300))" owner
api GET "/api/v1/admin/stores?status=nope" "$a"
is "$STATUS|$(json_get 'j["error"]["code"]')" "403|forbidden" "a tenant: 403 before any filter is judged"
NOCOOKIES=1 http GET /api/v1/admin/stores
is "$STATUS|$(json_get 'j["error"]["code"]')" "401|unauthorized" "nobody signed in: 401"

# --- the page ---------------------------------------------------------------------------
q "update stores set name = '<script>alert(1)</script>' where id = (select id from stores where status = 'failed' order by id limit 1)" >/dev/null
xss=$(q "select id from stores where name like '<script>%'")
q "update users set email = 'x<b>\"y\"</b>@example.com' where email = 'a@example.com'" >/dev/null
ajar=$T/admin.jar
is "$(browser_login admin@example.com "$ajar")" 303 "the admin signs in"
page "$ajar" GET /admin/stores
is "$STATUS" 200 "GET /admin/stores -> 200"
like "$BODY" "<a href=\"/stores/$xss\">&lt;script&gt;alert\(1\)&lt;/script&gt;</a>" "a store name renders escaped"
like "$BODY" 'x&lt;b&gt;&quot;y&quot;&lt;/b&gt;@example.com' "an owner email renders escaped"
unlike "$BODY" '<script>alert|<b>"y"' "nothing raw"
is "$(printf '%s' "$BODY" | grep -c 'href="/stores/[a-z0-9]*"')" 39 "39 stores on the first page (default 50)"
like "$BODY" 'aria-current="page">Stores</a>' "the admin sub-navigation marks Stores"
like "$BODY" '<a href="/admin/stores\?owner=B.Owner%2Bshop%40example.com"[^>]*>B.Owner\+shop@example.com</a>' \
	"an owner links to their stores (URL-encoded)"
page "$ajar" GET "/admin/stores?status=failed&engine=woocommerce&owner=b.owner%2Bshop%40example.com&sort=oldest&limit=2"
want=$(q_ids "select s.id $FROM where s.status = 'failed' and s.engine = 'woocommerce' and u.email = 'B.Owner+shop@example.com' $OLDEST limit 2")
got=$(printf '%s' "$BODY" | sed -n 's/.*<a href="\/stores\/\([a-z0-9]*\)">.*/\1/p' | tr '\n' ' ' | sed 's/ $//')
is "$got" "$want" "the page applies every filter and the order"
like "$BODY" '<option value="failed" selected>' "status kept selected"
like "$BODY" '<option value="woocommerce" selected>' "engine kept selected"
like "$BODY" '<option value="oldest" selected>' "order kept selected"
like "$BODY" 'name="owner" type="email" value="b.owner\+shop@example.com"' "owner kept in the field"
# Walk the page's own "Next page" links: every matching store once.
want=$(q_ids "select s.id $FROM where s.status <> 'deleted' and s.engine = 'medusa' $OLDEST")
url="/admin/stores?engine=medusa&sort=oldest&limit=3" got="" n=0
while [ -n "$url" ] && [ $n -lt 50 ]; do
	page "$ajar" GET "$url"
	got+=" $(printf '%s' "$BODY" | sed -n 's/.*<a href="\/stores\/\([a-z0-9]*\)">.*/\1/p' | tr '\n' ' ')"
	url=$(printf '%s' "$BODY" | sed -n 's/.*<a class="btn btn-small" href="\([^"]*\)" rel="next">.*/\1/p' | sed 's/&amp;/\&/g')
	n=$((n + 1))
done
is "$(echo $got)" "$want" "the page's next links walk every medusa store once, oldest first ($n pages)"
page "$ajar" GET "/admin/stores?status=bogus&sort=oldest"
is "$STATUS" 422 "a bad filter on the page -> 422"
like "$BODY" 'status: status must be one of' "with the reason"
like "$BODY" '<option value="oldest" selected>' "and the form still filled in"
page "$ajar" GET "/admin/stores?from=x&limit=500"
is "$STATUS" 422 "limit 500 on the page -> 422"
tjar=$T/tenant.jar
browser_login B.Owner+shop@example.com "$tjar" >/dev/null
page "$tjar" GET /admin/stores
is "$STATUS" 403 "a tenant's browser: 403"
done_testing
