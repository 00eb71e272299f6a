# lib-admin.sh - helpers for the admin tests t071x (sourced after lib.sh and lib-stores.sh).

# walk_ids API_PATH TOKEN KEY [curl args...]: follow next_cursor through a list; sets WALK_IDS
# (every id, space-separated) and WALK_PAGES.
walk_ids() {
	local path=$1 token=$2 key=$3 cursor="" pages=0 out=""

	shift 3
	while :; do
		api GET "$path" "$token" -G "$@" ${cursor:+--data-urlencode "cursor=$cursor"}
		[ "$STATUS" = 200 ] || { echo "walk: $STATUS $BODY" >&2; return 1; }
		out+=$(json_get "\" \".join(str(x[\"id\"]) for x in j[\"$key\"])")" "
		pages=$((pages + 1))
		cursor=$(json_get 'j["next_cursor"] or ""')
		[ -n "$cursor" ] && [ $pages -lt 200 ] || break
	done
	WALK_PAGES=$pages
	WALK_IDS=$(printf '%s\n' "$out" | tr -s ' ' | sed 's/^ //; s/ $//')
}

# The id column of a query, space-separated.
q_ids() { q "$1" | tr '\n' ' ' | sed 's/ $//'; }

# The user id of EMAIL.
uid_of() { q "select id from users where lower(email) = lower('$1')"; }
