#!/bin/bash
# run.sh - `make run`: the whole local stack in the foreground, data kept in ./var/.
#
# PostgreSQL (./var/pg), the schema, the first admin (printed once), the
# FastCGI workers, nginx on 127.0.0.1:${PORT:-8080}, the Kubernetes simulator
# when KUBECONFIG is not set, and the reconcile loop.  Ctrl-C stops
# everything this script started, by PID.
set -u
cd "$(dirname "$0")/.."
SF_ROOT=$(pwd)
: "${SF_BUILD:=build}"
SF_BUILD=$(cd "$SF_BUILD" && pwd)
export SF_ROOT SF_BUILD
. tools/stack.sh

VAR=$SF_ROOT/var
PORT=${PORT:-8080}
mkdir -p "$VAR" && chmod 755 "$VAR"

say() { printf 'run: %s\n' "$*"; }
stop() {
	trap - INT TERM EXIT
	say "stopping"
	stack_stop
	exit 0
}
trap stop INT TERM EXIT

export SF_COOKIE_SECURE=${SF_COOKIE_SECURE:-false}	# plain HTTP on loopback
export SF_REGISTRATION_OPEN=${SF_REGISTRATION_OPEN:-true}
export SF_OVERLAY=${SF_OVERLAY:-local}

# The key that seals each store's admin password for its owner's page (reconcile
# writes, the web app reads), made once.
if [ -z "${SF_SECRET_KEY:-}" ]; then
	if [ ! -s "$VAR/secret.key" ]; then
		(umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$VAR/secret.key")
	fi
	SF_SECRET_KEY=$(cat "$VAR/secret.key")
	export SF_SECRET_KEY
fi

pg_start "$VAR/pg" || exit 1
say "PostgreSQL on $VAR/pg (pid $PG_PID)"
"$SF_BUILD/bin/storefleetctl" migrate || exit 1

if [ -z "$("$SF_BUILD/bin/storefleetctl" user list 2>/dev/null)" ]; then
	echo
	echo "  First admin account (shown only this once):"
	"$SF_BUILD/bin/storefleetctl" user add admin@localhost --admin | sed 's/^/    /'
	echo
fi

if [ -z "${KUBECONFIG:-}" ] && [ -x "$SF_BUILD/bin/kubesim" ]; then
	kubesim_start "$VAR/kubesim" || exit 1
	export SF_SIMULATED_CLUSTER=true SF_INGRESS_ADDRESS=$KUBESIM_INGRESS
	say "Kubernetes simulator at $KUBESIM_ADDR (KUBECONFIG=$KUBECONFIG)"
fi

app_start "$VAR" "${WORKERS:-2}" || exit 1
nginx_start "$VAR" "$PORT" || exit 1

if [ -x "$SF_BUILD/bin/storefleet-reconcile" ]; then
	# Its own process group, so Ctrl-C's cleanup stops the loop and the pass it runs.
	setsid bash -c '
		trap "kill -TERM \$child 2>/dev/null; wait \$child; exit 0" TERM
		while :; do
			"$1" --for 55s & child=$!
			wait $child
			[ $? -eq 75 ] && sleep 5
		done' reconcile-loop "$SF_BUILD/bin/storefleet-reconcile" >>"$VAR/reconcile.log" 2>&1 &
	STACK_PIDS+=("reconcile:$!")
	say "reconcile loop running (log: var/reconcile.log)"
fi

say "storefleet is up: $BASE/   (Ctrl-C stops everything)"
# Stay in the foreground until Ctrl-C or until a component dies.
while :; do
	for entry in "${STACK_PIDS[@]}"; do
		if ! kill -0 "${entry#*:}" 2>/dev/null; then
			say "${entry%%:*} (pid ${entry#*:}) exited; see $VAR/*.log"
			stop
		fi
	done
	sleep 1
done
