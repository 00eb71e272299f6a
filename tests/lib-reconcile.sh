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
		--ns-delete-ms 50 --observed-lag-ms 10 --watch-bookmark-ms 100 "$@" || bail "cannot start kubesim"
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

# rc_seed N [PREFIX]: N steady stores (half each engine), ready in PostgreSQL and in the
# simulator (POST /_sim/bulk, objects created ready) - what 10,000 live stores look like
# to a pass, without provisioning them.
rc_seed() {
	local n=$1 prefix=${2:-s} owner

	owner=$(rc_sql "SELECT min(id) FROM users")
	for e in woocommerce medusa; do
		"$SF_BUILD/bin/storefleetctl" render "$e" --store-id zzzzzzzz --json >"$T/seed-$e.json" ||
			return 1
	done
	python3 - "$n" "$prefix" "$owner" "$T" <<'PY' || return 1
import json, sys
n, prefix, owner, t = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
keep = {"Namespace", "PersistentVolumeClaim", "StatefulSet", "Deployment", "Job"}
tmpl = {}
for e in ("woocommerce", "medusa"):
    items = [o for o in json.load(open(f"{t}/seed-{e}.json"))["items"] if o["kind"] in keep]
    tmpl[e] = json.dumps(items)
with open(f"{t}/seed.sql", "w") as sql:
    sql.write("COPY stores (id, owner_id, name, engine, status, step, ready_at, provisioning_started_at) FROM stdin;\n")
    for i in range(n):
        sid = f"{prefix}{i:07d}"
        e = "woocommerce" if i % 2 == 0 else "medusa"
        sql.write(f"{sid}\t{owner}\tShop {i}\t{e}\tready\tready\tnow\tnow\n")
    sql.write("\\.\n")
chunk = 100  # each POST under the API server's 3 MiB body limit, which kubesim keeps
for c in range(0, n, chunk):
    items = []
    for i in range(c, min(n, c + chunk)):
        sid = f"{prefix}{i:07d}"
        e = "woocommerce" if i % 2 == 0 else "medusa"
        items += json.loads(tmpl[e].replace("zzzzzzzz", sid))
    with open(f"{t}/bulk-{c // chunk:05d}.json", "w") as f:
        json.dump({"items": items, "ready": True}, f)
PY
	psql -q -v ON_ERROR_STOP=1 -f "$T/seed.sql" >/dev/null || return 1
	for f in "$T"/bulk-*.json; do
		curl -sf --cacert "$KUBESIM_DIR/ca.crt" -H "Authorization: Bearer $KUBESIM_TOKEN" \
			-H 'Content-Type: application/json' --data-binary "@$f" "$KUBESIM_ADDR/_sim/bulk" \
			>/dev/null || return 1
		rm -f "$f"
	done
}
