# stack.sh - start and stop the pieces of a local storefleet stack (sourced, bash).
#
# Used by tests/lib.sh (throwaway stacks under a temp dir) and tools/run.sh
# (the persistent stack under ./var).  Every start function records the PID
# it started in STACK_PIDS; stack_stop stops them all, newest first, by PID.
#
#   pg_start DIR          PostgreSQL with its data in DIR/data, socket in DIR;
#                         exports PGHOST PGPORT PGUSER PGDATABASE SF_DATABASE_URL PG_PID
#   app_start DIR [N]     storefleet.fcgi with N workers on DIR/fcgi.sock; APP_PID
#   nginx_start DIR [PORT] nginx from nginx/dev.conf.in on 127.0.0.1:PORT (0/empty = free port);
#                         exports BASE NGINX_PID NGINX_PORT
#   kubesim_start DIR [ARGS...]  the Kubernetes simulator; exports KUBECONFIG KUBESIM_PID
#                         KUBESIM_ADDR KUBESIM_TOKEN KUBESIM_INGRESS KUBESIM_DIR
#   wait_for SECONDS CMD...  run CMD until it succeeds or SECONDS pass (returns 1 then);
#                         CMD's arguments are expanded once, so a condition that must
#                         be re-read each time ($(...), $var) belongs in a function
#   free_port             print a free loopback TCP port
#   stack_stop            stop everything started, newest first

: "${SF_ROOT:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
: "${SF_BUILD:=$SF_ROOT/build}"
export SF_ROOT SF_BUILD
STACK_PIDS=()

PGBIN=$(pg_config --bindir 2>/dev/null)
[ -x "$PGBIN/initdb" ] || PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)

# PostgreSQL refuses to run as root: use an unprivileged account then.
stack_pg_user() {
	if [ "$(id -u)" -eq 0 ]; then
		echo nobody
	else
		id -un
	fi
}

stack_as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"
	else
		"$@"
	fi
}

wait_for() {
	local secs=$1 deadline
	shift
	deadline=$(($(date +%s%N) + secs * 1000000000))
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s%N)" -lt "$deadline" ] || return 1
		sleep 0.02
	done
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# A cluster made by initdb is copied from a template made once per build dir:
# initdb costs ~1.5 s, a copy ~50 ms.
stack_pg_template() {
	local tpl="$SF_BUILD/pg-template"

	(
		flock 9
		if [ ! -f "$tpl/PG_VERSION" ]; then
			rm -rf "$tpl.tmp" && mkdir -p "$tpl.tmp" && chmod 755 "$SF_BUILD" "$tpl.tmp"
			[ "$(id -u)" -eq 0 ] && chown nobody:nogroup "$tpl.tmp"
			stack_as_pg "$PGBIN/initdb" -D "$tpl.tmp" -U storefleet --auth=trust -E UTF8 \
				--locale=C.UTF-8 >"$SF_BUILD/pg-template.log" 2>&1 || {
				cat "$SF_BUILD/pg-template.log" >&2
				exit 1
			}
			mv "$tpl.tmp" "$tpl"
		fi
	) 9>"$SF_BUILD/.pg-template.lock"
	echo "$tpl"
}

pg_start() {
	local dir=$1 tpl fresh=0

	mkdir -p "$dir" && chmod 755 "$dir"
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		tpl=$(stack_pg_template) || return 1
		cp -a "$tpl" "$dir/data" || return 1
		fresh=1
	fi
	[ "$(id -u)" -eq 0 ] && chown nobody:nogroup "$dir" "$dir/data"
	chmod 700 "$dir/data"
	rm -f "$dir/data/postmaster.pid"
	stack_as_pg "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 30 \
		-o "-k $dir -c listen_addresses= -c unix_socket_permissions=0700 -c fsync=${PG_FSYNC:-off} -c synchronous_commit=${PG_SYNC:-off} -c full_page_writes=off -c max_connections=200" \
		start >/dev/null || {
		cat "$dir/postgres.log" >&2
		return 1
	}
	PG_PID=$(head -n 1 "$dir/data/postmaster.pid")
	PG_DIR=$dir
	STACK_PIDS+=("pg:$PG_PID")
	export PGHOST=$dir PGPORT=5432 PGUSER=storefleet PGDATABASE=storefleet
	export SF_DATABASE_URL="host=$dir port=5432 user=storefleet dbname=storefleet"
	if [ $fresh = 1 ] || ! psql -Atqc 'select 1' >/dev/null 2>&1; then
		"$PGBIN/createdb" -h "$dir" -U storefleet storefleet 2>/dev/null || true
	fi
	export PG_PID PG_DIR
}

# Stop PostgreSQL by PID (fast shutdown) and wait until it is gone.
pg_stop() {
	[ -n "${PG_PID:-}" ] || return 0
	kill -INT "$PG_PID" 2>/dev/null
	wait_for 30 stack_gone "$PG_PID"
}

stack_gone() {
	! kill -0 "$1" 2>/dev/null
}

app_start() {
	local dir=$1 workers=${2:-2}

	mkdir -p "$dir"
	rm -f "$dir/fcgi.sock"
	"$SF_BUILD/bin/storefleet.fcgi" --socket "$dir/fcgi.sock" --workers "$workers" \
		>>"$dir/app.log" 2>&1 &
	APP_PID=$!
	STACK_PIDS+=("app:$APP_PID")
	export APP_PID
	wait_for 10 test -S "$dir/fcgi.sock" || {
		echo "app_start: no socket after 10 s" >&2
		cat "$dir/app.log" >&2
		return 1
	}
}

nginx_start() {
	local dir=$1 port=${2:-} userline=""

	[ -n "$port" ] && [ "$port" != 0 ] || port=$(free_port)
	mkdir -p "$dir/nginx/logs" "$dir/nginx/tmp"
	[ "$(id -u)" -eq 0 ] && userline="user root;"
	sed -e "s|@PORT@|$port|g" -e "s|@PREFIX@|$dir/nginx|g" -e "s|@SOCKET@|$dir/fcgi.sock|g" \
		-e "s|@ROOT@|$SF_ROOT|g" -e "s|@USER_LINE@|$userline|g" \
		"$SF_ROOT/nginx/dev.conf.in" >"$dir/nginx/nginx.conf"
	nginx -p "$dir/nginx" -c "$dir/nginx/nginx.conf" -g 'daemon off;' \
		>>"$dir/nginx/logs/stderr.log" 2>&1 &
	NGINX_PID=$!
	STACK_PIDS+=("nginx:$NGINX_PID")
	NGINX_PORT=$port
	BASE="http://127.0.0.1:$port"
	export NGINX_PID NGINX_PORT BASE
	wait_for 10 curl -s -o /dev/null "$BASE/" || {
		echo "nginx_start: not answering on $BASE" >&2
		cat "$dir/nginx/logs/stderr.log" "$dir/nginx/logs/error.log" >&2 2>/dev/null
		return 1
	}
}

kubesim_start() {
	local dir=$1

	shift
	rm -rf "$dir" && mkdir -p "$dir"
	"$SF_BUILD/bin/kubesim" --listen 127.0.0.1:0 --ingress-listen 127.0.0.1:0 --dir "$dir" \
		--quiet "$@" >>"$dir.log" 2>&1 &
	KUBESIM_PID=$!
	STACK_PIDS+=("kubesim:$KUBESIM_PID")
	wait_for 15 test -s "$dir/kubeconfig" || {
		echo "kubesim_start: no kubeconfig after 15 s" >&2
		cat "$dir.log" >&2
		return 1
	}
	KUBESIM_DIR=$dir
	KUBECONFIG=$dir/kubeconfig
	KUBESIM_ADDR=$(cat "$dir/address")
	KUBESIM_TOKEN=$(cat "$dir/token")
	KUBESIM_INGRESS=$(cat "$dir/ingress.address" 2>/dev/null)
	export KUBECONFIG KUBESIM_PID KUBESIM_ADDR KUBESIM_TOKEN KUBESIM_INGRESS KUBESIM_DIR
}

# Stop one started process by PID: TERM, wait up to 10 s, then KILL.
stack_kill() {
	local name=${1%%:*} pid=${1#*:}

	kill -0 "$pid" 2>/dev/null || return 0
	if [ "$name" = pg ]; then
		kill -INT "$pid" 2>/dev/null
	else
		kill -TERM "$pid" 2>/dev/null
	fi
	wait_for 10 stack_gone "$pid" || kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

stack_stop() {
	local i

	for ((i = ${#STACK_PIDS[@]} - 1; i >= 0; i--)); do
		stack_kill "${STACK_PIDS[$i]}"
	done
	STACK_PIDS=()
}
