#!/bin/bash
# run.sh - `make run`: the whole local stack in the foreground, data kept in ./var/.
#
# PostgreSQL (./var/pg), the schema, the first admin (printed once), the
# FastCGI workers, nginx on 127.0.0.1:${PORT:-8080}, the Kubernetes simulator
# when KUBECONFIG is not set (with a local S3 server for the stores' backups,
# var/s3, unless SF_BACKUP_ENDPOINT names one), the reconcile loop, and the mail sender with a
# local mail catcher (var/mail/msgs) unless SF_MAIL_URL is set.  Ctrl-C stops
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
# Every failure to start says what and how to fix it in one line, before
# anything claims to be up, then stops what was started and exits 1.
fail() {
	trap - INT TERM EXIT
	printf 'run: %s\n' "$*" >&2
	stack_stop
	exit 1
}
trap stop INT TERM EXIT

# cron_loop NAME PROGRAM LOG: what cron does in production, every minute
# `PROGRAM --for 55s` (5 s later when another run holds its lock: exit 75), in
# its own process group so Ctrl-C's cleanup stops the loop and the run in it.
cron_loop() {
	setsid bash -c '
		trap "kill -TERM \$child 2>/dev/null; wait \$child; exit 0" TERM
		while :; do
			"$1" --for 55s & child=$!
			wait $child
			[ $? -eq 75 ] && sleep 5
		done' "$1-loop" "$2" >>"$3" 2>&1 &
	STACK_PIDS+=("$1:$!")
}

case $PORT in
'' | *[!0-9]*) fail "PORT=$PORT is not a port number — PORT=8080 make run" ;;
esac
stack_port_free "$PORT" || {
	next=$((PORT + 1))
	while ! stack_port_free "$next" && [ "$next" -lt $((PORT + 50)) ]; do next=$((next + 1)); done
	fail "port $PORT is in use — PORT=$next make run"
}
for tool in nginx psql curl python3; do
	command -v "$tool" >/dev/null 2>&1 || fail "$tool is not installed — run make deps (or apt-get install it) first"
done
[ -x "$PGBIN/pg_ctl" ] || fail "PostgreSQL's server programs are missing — apt-get install postgresql"

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

pg_start "$VAR/pg" 2>"$VAR/pg-start.err" || {
	cat "$VAR/pg-start.err" >&2
	fail "PostgreSQL did not start (above: why) — fix that, or move var/pg away to start afresh"
}
if [ "$PG_DIR" = "$VAR/pg" ]; then
	say "PostgreSQL on var/pg (pid $PG_PID)"
else
	say "PostgreSQL on $PG_DIR, linked from var/pg: its user (nobody) cannot enter this checkout (pid $PG_PID)"
fi
"$SF_BUILD/bin/storefleetctl" migrate >"$VAR/migrate.log" 2>&1 || {
	tail -n 3 "$VAR/migrate.log" >&2
	fail "the database in var/pg does not take this version's migrations — move var/ away to start afresh"
}

if [ -z "$("$SF_BUILD/bin/storefleetctl" user list 2>/dev/null)" ]; then
	echo
	echo "  First admin account (shown only this once):"
	"$SF_BUILD/bin/storefleetctl" user add admin@localhost --admin | sed 's/^/    /'
	echo
fi

if [ -z "${KUBECONFIG:-}" ] && [ -x "$SF_BUILD/bin/kubesim" ]; then
	# Backups out of the box: unless the configuration names object storage
	# (SF_BACKUP_ENDPOINT, or backup_endpoint in $SF_CONFIG), an S3 server on
	# loopback (s3rver, the tests' own) keeps the stores' backups in var/s3/,
	# bucket "stores", its key in var/backup-secret.key; kubesim runs the
	# backup and restore Jobs' scripts on this machine (tools/kubesim-job-runner.sh),
	# each store's uploads and database under var/stores/<id>/ (a Medusa store's
	# database: sfjob_<id> in var/pg's PostgreSQL).
	runner=()
	if [ -z "${SF_BACKUP_ENDPOINT:-}" ] &&
		! { [ -n "${SF_CONFIG:-}" ] && grep -Eq '^[[:space:]]*backup_endpoint[[:space:]]*[:=][[:space:]]*[^[:space:]#]' "$SF_CONFIG"; }; then
		command -v rclone >/dev/null 2>&1 || fail "rclone is not installed (the backup Jobs' S3 client) — run make deps (or apt-get install rclone) first"
		s3_start "$VAR/s3" stores || fail "the local object storage (s3rver) did not start (above: why); its log is var/s3.log — or set SF_BACKUP_ENDPOINT to real object storage"
		(umask 077 && printf '%s\n' "$S3_SECRET_KEY" >"$VAR/backup-secret.key")
		export SF_BACKUP_ENDPOINT=$S3_ENDPOINT SF_BACKUP_BUCKET=stores SF_BACKUP_ACCESS_KEY=$S3_ACCESS_KEY
		export SF_BACKUP_SECRET_KEY_FILE=$VAR/backup-secret.key SF_BACKUP_EGRESS_PORT=$S3_PORT
		export SF_JOB_VAR=$VAR/stores SF_JOB_PGHOST=${PGHOST:-} SF_JOB_PGPORT=${PGPORT:-} SF_JOB_PGUSER=${PGUSER:-}
		mkdir -p "$SF_JOB_VAR"
		runner=(--job-runner "$SF_ROOT/tools/kubesim-job-runner.sh")
		say "backups go to s3rver on $S3_ENDPOINT (pid $S3_PID), kept in var/s3/ (SF_BACKUP_ENDPOINT=https://… names real object storage)"
	fi
	kubesim_start "$VAR/kubesim" "${runner[@]}" || fail "the Kubernetes simulator did not start (above: why); its log is var/kubesim.log"
	export SF_SIMULATED_CLUSTER=true SF_INGRESS_ADDRESS=$KUBESIM_INGRESS
	say "Kubernetes simulator at $KUBESIM_ADDR (KUBECONFIG=$KUBECONFIG)"
fi

app_start "$VAR" "${WORKERS:-2}" || fail "storefleet.fcgi did not start (above: why); its log is var/app.log"
nginx_start "$VAR" "$PORT" || fail "nginx did not start on port $PORT (above: why) — PORT=$((PORT + 1)) make run"

if [ -x "$SF_BUILD/bin/storefleet-reconcile" ]; then
	# Stores register their WooCommerce webhooks with storefleet's public origin:
	# here nginx on loopback, where the simulated stores deliver (so the demo
	# shows orders arriving).  Only reconcile needs it: the app checks Origin
	# against the request's own host when it is unset.
	export SF_PUBLIC_ORIGIN=${SF_PUBLIC_ORIGIN:-$BASE}
	cron_loop reconcile "$SF_BUILD/bin/storefleet-reconcile" "$VAR/reconcile.log"
	say "reconcile loop running with SF_PUBLIC_ORIGIN=$SF_PUBLIC_ORIGIN (log: var/reconcile.log)"
fi

# Mail (password resets, address confirmations, store notifications): unless
# SF_MAIL_URL names a real relay, a catcher on loopback keeps every message in
# var/mail/msgs/ (one .eml each), and the sender loop delivers the outbox to it.
if [ -x "$SF_BUILD/bin/storefleet-mail" ]; then
	if [ -z "${SF_MAIL_URL:-}" ]; then
		smtp_start "$VAR/mail" || fail "the local mail catcher did not start (above: why); its log is var/mail.log"
		say "mail is caught in var/mail/msgs/ (an SMTP server on 127.0.0.1:$SMTP_PORT; SF_MAIL_URL=smtp://relay sends for real)"
	fi
	cron_loop mail "$SF_BUILD/bin/storefleet-mail" "$VAR/mail-sender.log"
fi

say "storefleet is up: $BASE/   (Ctrl-C stops everything)"
# Stay in the foreground until Ctrl-C.  PostgreSQL is supervised like the
# FastCGI workers: when it goes away (a developer restarts it, an upgrade
# does) it is started again, and the app answers 503 meanwhile and recovers
# by itself.  Any other component that dies stops the stack.
pg_down=0 pg_tries=0
while :; do
	if [ $pg_down = 1 ]; then
		pg_tries=$((pg_tries + 1))
		if pg_start "$VAR/pg" 2>>"$VAR/pg-start.err"; then
			say "PostgreSQL started again (pid $PG_PID)"
			pg_down=0 pg_tries=0
		elif [ $pg_tries = 1 ]; then
			say "PostgreSQL does not start again; retrying (see $PG_DIR/postgres.log)"
		fi
	fi
	for i in "${!STACK_PIDS[@]}"; do
		entry=${STACK_PIDS[$i]}
		stack_gone "${entry#*:}" || continue
		if [ "${entry%%:*}" = pg ]; then
			say "PostgreSQL (pid ${entry#*:}) exited; starting it again"
			unset "STACK_PIDS[$i]"
			STACK_PIDS=("${STACK_PIDS[@]}")
			pg_down=1
			continue 2
		fi
		say "${entry%%:*} (pid ${entry#*:}) exited; see $VAR/*.log"
		stop
	done
	# back off while PostgreSQL keeps failing: 1 s, then up to 10 s
	sleep $((pg_tries > 10 ? 10 : (pg_tries > 0 ? pg_tries : 1)))
done
