# lib-reconcile.sh - helpers for the reconcile tests (sourced after tests/lib.sh).
#
#   rc_stack [KUBESIM ARGS...]   PostgreSQL + schema + simulator (fast delays) + settings
#   rc_user EMAIL                a tenant row; prints its id
#   rc_store ID ENGINE [OWNER]   a store row exactly as the web app inserts it
#   rc_once [ARGS...]            one reconcile pass (log appended to $T/reconcile.log)
#   rc_until SECS SQLCOND        reconcile passes until psql says SQLCOND holds, or SECS pass
#   rc_status ID                 the store's status
#   rc_sql SQL                   psql -Atq
#   sim METHOD PATH [JSON]       the simulator's control API; body in $SIM_BODY

RC_KEY=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f

rc_stack() {
	pg_start "$T/pg" || bail "cannot start PostgreSQL"
	sf_migrate || bail "migrate failed"
	kubesim_start "$T/kubesim" --pod-ready-ms 50 --job-complete-ms 50 --pvc-bind-ms 20 \
		--ns-delete-ms 50 --observed-lag-ms 10 "$@" || bail "cannot start kubesim"
	export SF_SECRET_KEY=$RC_KEY SF_INGRESS_ADDRESS=$KUBESIM_INGRESS
	export SF_FAILURE_GRACE=${SF_FAILURE_GRACE:-1} SF_RECONCILE_INTERVAL=1
	export SF_LEASE_SECONDS=${SF_LEASE_SECONDS:-30} SF_KUBE_TIMEOUT=${SF_KUBE_TIMEOUT:-5}
	export SF_PROVISIONING_CONCURRENCY=${SF_PROVISIONING_CONCURRENCY:-50}
}

rc_sql() {
	psql -Atq -v ON_ERROR_STOP=1 -c "$1"
}

rc_user() {
	rc_sql "INSERT INTO users (email, password_hash) VALUES ('$1', 'x') RETURNING id"
}

rc_store() {
	local owner=${3:-$(rc_sql "SELECT min(id) FROM users")}

	rc_sql "INSERT INTO stores (id, owner_id, name, engine) VALUES ('$1', $owner, 'Shop $1', '$2');
		INSERT INTO store_events (store_id, step, message) VALUES ('$1', 'requested', 'store requested')"
}

rc_once() {
	"$SF_BUILD/bin/storefleet-reconcile" --once "$@" >>"$T/reconcile.log" 2>&1
}

rc_status() {
	rc_sql "SELECT status FROM stores WHERE id = '$1'"
}

rc_until() {
	local secs=$1 cond=$2 deadline

	deadline=$(($(date +%s%N) + secs * 1000000000))
	while :; do
		[ "$(rc_sql "SELECT ($cond)")" = t ] && return 0
		[ "$(date +%s%N)" -lt "$deadline" ] || return 1
		rc_once --no-lock
	done
}

sim() {
	local method=$1 path=$2 body=${3:-}

	SIM_BODY=$(curl -s --cacert "$KUBESIM_DIR/ca.crt" -H "Authorization: Bearer $KUBESIM_TOKEN" \
		-H 'Content-Type: application/json' -X "$method" ${body:+--data "$body"} \
		"$KUBESIM_ADDR$path")
}

# How many objects of KIND the simulator created (from /_sim/stats).
sim_created() {
	sim GET /_sim/stats
	printf '%s' "$SIM_BODY" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("creates",{}).get(sys.argv[1],0))' "$1"
}
