# lib-multicluster.sh - a second kubesim as a second registered cluster (sourced after
# lib-reconcile.sh, whose rc_stack started the first: the default cluster).
#
#   mc_second [KUBESIM ARGS...]   kubesim 2 in $T/kubesim2: K2_DIR, K2_PID, K2_ADDR, K2_INGRESS
#                                 (the first one's KUBESIM_* and KUBECONFIG stay as they were)
#   mc_register NAME SERVER DOMAIN INGRESS
#                                 storefleetctl cluster add NAME: kubesim 2's credentials, reached
#                                 at SERVER, store domain DOMAIN, --ingress-address INGRESS
#   mc_store ID ENGINE CLUSTER    a store row as the web app inserts it, placed on CLUSTER
#   mc_status_is ID STATUS        the store's status is STATUS (for wait_for)
#   k1 ARGS... / k2 ARGS...       kubectl against kubesim 1 (default) / kubesim 2
#   rc_for DURATION               storefleet-reconcile --for DURATION --no-lock in the background
#                                 (RC_PID; log appended to $T/reconcile.log); rc_stop ends it

mc_second() {
	local dir=$KUBESIM_DIR pid=$KUBESIM_PID addr=$KUBESIM_ADDR tok=$KUBESIM_TOKEN
	local ing=$KUBESIM_INGRESS kc=$KUBECONFIG

	kubesim_start "$T/kubesim2" --pod-ready-ms 50 --job-complete-ms 50 --pvc-bind-ms 20 \
		--ns-delete-ms 50 --observed-lag-ms 10 --watch-bookmark-ms 100 "$@" || return 1
	K2_DIR=$KUBESIM_DIR K2_PID=$KUBESIM_PID K2_ADDR=$KUBESIM_ADDR K2_INGRESS=$KUBESIM_INGRESS
	KUBESIM_DIR=$dir KUBESIM_PID=$pid KUBESIM_ADDR=$addr KUBESIM_TOKEN=$tok
	KUBESIM_INGRESS=$ing KUBECONFIG=$kc
	export K2_DIR K2_PID K2_ADDR K2_INGRESS KUBESIM_DIR KUBESIM_PID KUBESIM_ADDR KUBESIM_TOKEN
	export KUBESIM_INGRESS KUBECONFIG
}

mc_register() {
	local name=$1 server=$2 domain=$3 ingress=$4

	sed "s#server: https://.*#server: $server#" "$K2_DIR/kubeconfig" >"$T/$name.kubeconfig"
	"$SF_BUILD/bin/storefleetctl" cluster add "$name" --kubeconfig "$T/$name.kubeconfig" \
		--context kubesim --region eu --store-domain "$domain" --ingress-address "$ingress" \
		>>"$T/ctl.log" 2>&1
}

mc_store() {
	rc_sql "INSERT INTO stores (id, owner_id, name, engine, cluster)
		VALUES ('$1', (SELECT min(id) FROM users), 'Shop $1', '$2', '$3');
		INSERT INTO store_events (store_id, step, message) VALUES ('$1', 'requested', 'store requested')"
}

mc_status_is() { [ "$(rc_status "$1")" = "$2" ]; }

k1() { kubectl --kubeconfig "$KUBESIM_DIR/kubeconfig" "$@"; }
k2() { kubectl --kubeconfig "$K2_DIR/kubeconfig" "$@"; }

rc_for() {
	"$SF_BUILD/bin/storefleet-reconcile" --for "$1" --no-lock >>"$T/reconcile.log" 2>&1 &
	RC_PID=$!
	STACK_PIDS+=("reconcile:$RC_PID")
}

rc_stop() {
	kill -TERM "$RC_PID" 2>/dev/null
	wait "$RC_PID" 2>/dev/null
}
