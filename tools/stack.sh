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
#                         NGINX_KEEP_CONN=off: a connection per request (the bench's old baseline)
#   kubesim_start DIR [ARGS...]  the Kubernetes simulator; exports KUBECONFIG KUBESIM_PID
#                         KUBESIM_ADDR KUBESIM_TOKEN KUBESIM_INGRESS KUBESIM_DIR
#   wait_for SECONDS CMD...  run CMD until it succeeds or SECONDS pass (returns 1 then);
#                         CMD's arguments are expanded once, so a condition that must
#                         be re-read each time ($(...), $var) belongs in a function
#   free_port             print a free loopback TCP port
#   smtp_start DIR [ARGS...]  tools/smtp-sink.py (an SMTP server keeping each message in
#                         DIR/msgs) on SMTP_PORT (a free port unless set); exports SMTP_PID
#                         SMTP_PORT SMTP_DIR, SF_MAIL_URL=smtp://127.0.0.1:PORT and
#                         SF_MAIL_TLS=none unless they are set
#   s3_start DIR [BUCKET...]  s3rver (npm, package.json; installed in $SF_BUILD/npm) keeping its
#                         objects in DIR, on S3_PORT (a free port unless set), each BUCKET
#                         made at its start; exports S3_PID S3_PORT S3_DIR, S3_ENDPOINT
#                         (http://127.0.0.1:PORT) and S3_ACCESS_KEY/S3_SECRET_KEY (s3rver's
#                         own, S3RVER: it checks the key id, not the signature)
#   s3_install LOG        install s3rver in $SF_BUILD/npm unless it is there (s3_start does)
#   stack_stop            stop everything started, newest first

: "${SF_ROOT:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
: "${SF_BUILD:=$SF_ROOT/build}"
export SF_ROOT SF_BUILD
STACK_PIDS=()

PGBIN=$(pg_config --bindir 2>/dev/null)
[ -x "$PGBIN/initdb" ] || PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
# Debian's /usr/bin/psql is pg_wrapper, a Perl script that picks a version
# and then runs the real psql: 30 ms of Perl on every call, and the suite's
# tests call psql thousands of times.  The server's own bin comes first.
[ -n "$PGBIN" ] && case ":$PATH:" in *":$PGBIN:"*) ;; *) PATH="$PGBIN:$PATH" ;; esac

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

# (the clock is bash's $EPOCHREALTIME in microseconds, its decimal point
# taken out: no date process per poll)
wait_for() {
	local secs=$1 deadline
	shift
	deadline=$((${EPOCHREALTIME//[!0-9]/} + secs * 1000000))
	until "$@" >/dev/null 2>&1; do
		[ "${EPOCHREALTIME//[!0-9]/}" -lt "$deadline" ] || return 1
		sleep 0.02
	done
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# --- where PostgreSQL's files live ----------------------------------------------
#
# As root, PostgreSQL runs as nobody (it refuses root), and nobody must be
# able to reach its data, its log and its socket.  A checkout under /root,
# or in any 0700 folder, is out of its reach, and loosening the user's own
# folders is not ours to do.  So when nobody cannot enter a folder we were
# given, PostgreSQL's files go to a folder of their own under $SF_PG_BASE
# (/var/lib/storefleet), one per given folder (named by a hash of its path),
# owned by nobody, and the given path becomes a symlink to it: `make run`
# still finds its state in ./var/pg across restarts.
SF_PG_BASE=${SF_PG_BASE:-/var/lib/storefleet}

# stack_pg_reaches DIR: the PostgreSQL user can enter and write DIR.
stack_pg_reaches() {
	stack_as_pg test -x "$1" -a -w "$1" 2>/dev/null
}

# stack_pg_home DIR: print the real folder for PostgreSQL files meant for DIR
# (DIR itself, or its own folder under $SF_PG_BASE, made and linked here).
stack_pg_home() {
	local dir=$1 home key

	if [ -L "$dir" ]; then
		home=$(readlink "$dir")
	else
		mkdir -p "$dir" || return 1
		if [ "$(id -u)" -ne 0 ]; then
			echo "$dir"
			return 0
		fi
		chown nobody:nogroup "$dir"
		if stack_pg_reaches "$dir"; then
			echo "$dir"
			return 0
		fi
		key=$(cd "$dir" && pwd -P | sha256sum | cut -c1-16)
		home=$SF_PG_BASE/pg-$key
		# An empty folder we just made is replaced by the link; anything in it stays.
		rmdir "$dir" 2>/dev/null || {
			echo "stack: $dir is out of reach of PostgreSQL's user (nobody) and not empty;" \
				"move it away and start again" >&2
			return 1
		}
		ln -s "$home" "$dir" || return 1
	fi
	mkdir -p "$home" && chmod 755 "$SF_PG_BASE" || return 1
	chown nobody:nogroup "$home" && chmod 700 "$home" || return 1
	# what the folder belongs to, for whoever finds it there
	stack_pg_owner_note "$home" "$dir"
	stack_pg_reaches "$home" || {
		echo "stack: PostgreSQL's user (nobody) cannot reach $home; set SF_PG_BASE to a folder it can" >&2
		return 1
	}
	echo "$home"
}

stack_pg_owner_note() {
	printf '%s\n' "$2" >"$1.path" 2>/dev/null || true
}

# The installed PostgreSQL's major version (15, 16...).
stack_pg_major() {
	"$PGBIN/postgres" -V 2>/dev/null | sed -n 's/.* \([0-9][0-9]*\)\..*/\1/p'
}

# A cluster made by initdb is copied from a template made once per build dir:
# initdb costs ~1.5 s, a copy ~50 ms.  The template holds the storefleet
# database already (made in single-user mode, no server to start), so a
# fresh copy needs no createdb (~0.4 s of CREATE DATABASE each time).
stack_pg_template() {
	# Under the lock from the start: parallel tests (prove -j) that find no
	# template all get here at once, and stack_pg_home's mkdir/rmdir/ln -s of
	# the folder must not interleave either.
	(
		flock 9
		tpl=$(stack_pg_home "$SF_BUILD/pg-template") || exit 1
		if [ ! -f "$tpl/data/PG_VERSION" ]; then
			rm -rf "$tpl/data.tmp" && mkdir -p "$tpl/data.tmp"
			[ "$(id -u)" -eq 0 ] && chown nobody:nogroup "$tpl/data.tmp"
			stack_as_pg "$PGBIN/initdb" -D "$tpl/data.tmp" -U storefleet --auth=trust -E UTF8 \
				--locale=C.UTF-8 >"$SF_BUILD/pg-template.log" 2>&1 || {
				echo "stack: initdb failed; the last lines of $SF_BUILD/pg-template.log:" >&2
				tail -n 5 "$SF_BUILD/pg-template.log" >&2
				exit 1
			}
			stack_as_pg "$PGBIN/postgres" --single -D "$tpl/data.tmp" -c fsync=off template1 \
				<<<"CREATE DATABASE storefleet" >>"$SF_BUILD/pg-template.log" 2>&1 || {
				echo "stack: CREATE DATABASE in the template failed; see $SF_BUILD/pg-template.log" >&2
				exit 1
			}
			mv "$tpl/data.tmp" "$tpl/data"
		fi
		echo "$tpl/data"
	) 9>"$SF_BUILD/.pg-template.lock"
}

pg_start() {
	local dir=$1 home tpl have want

	home=$(stack_pg_home "$dir") || return 1
	chmod 755 "$home" 2>/dev/null
	[ "$(id -u)" -eq 0 ] && chmod 700 "$home"
	if [ -f "$home/data/PG_VERSION" ]; then
		have=$(cat "$home/data/PG_VERSION") want=$(stack_pg_major)
		if [ -n "$want" ] && [ "$have" != "$want" ]; then
			echo "stack: $dir was made by PostgreSQL $have and this machine has $want;" \
				"move it away (mv $dir $dir.$have) and start again" >&2
			return 1
		fi
	else
		tpl=$(stack_pg_template) || return 1
		cp -a "$tpl" "$home/data" || return 1
	fi
	[ "$(id -u)" -eq 0 ] && chown nobody:nogroup "$home" "$home/data"
	chmod 700 "$home/data"
	# A postmaster.pid whose process lives is a server on this data (restarted
	# by hand, say): adopt it.  One whose process is gone is stale.
	have=$(head -n 1 "$home/data/postmaster.pid" 2>/dev/null)
	if [ -n "$have" ] && ! stack_gone "$have" &&
		grep -q postgres "/proc/$have/comm" 2>/dev/null; then
		stack_pg_adopt "$home" "$have"
		return 0
	fi
	rm -f "$home/data/postmaster.pid"
	# PG_OPTIONS adds server settings, e.g. to profile a benchmark:
	# PG_OPTIONS="-c shared_preload_libraries=pg_stat_statements"
	stack_as_pg "$PGBIN/pg_ctl" -D "$home/data" -l "$home/postgres.log" -w -t 30 \
		-o "-k '$home' -c listen_addresses= -c unix_socket_permissions=0700 -c fsync=${PG_FSYNC:-off} -c synchronous_commit=${PG_SYNC:-off} -c full_page_writes=off -c max_connections=200 ${PG_OPTIONS:-}" \
		start >/dev/null 2>&1 || {
		echo "stack: PostgreSQL did not start; the last lines of $home/postgres.log:" >&2
		tail -n 5 "$home/postgres.log" >&2 2>/dev/null
		return 1
	}
	stack_pg_adopt "$home" "$(head -n 1 "$home/data/postmaster.pid")"
	# (a template made before it held the database: made here)
	if ! psql -Atqc 'select 1' >/dev/null 2>&1; then
		"$PGBIN/createdb" -h "$home" -U storefleet storefleet 2>/dev/null || true
	fi
}

# stack_pg_adopt HOME PID: the server of HOME (pid PID) is ours to stop; export where it is.
stack_pg_adopt() {
	local home=$1

	PG_PID=$2
	PG_DIR=$home
	STACK_PIDS+=("pg:$PG_PID")
	export PGHOST=$home PGPORT=5432 PGUSER=storefleet PGDATABASE=storefleet
	# libpq's conninfo quotes a value with spaces (a checkout path may have them)
	case $home in
	*" "*) SF_DATABASE_URL="host='$home' port=5432 user=storefleet dbname=storefleet" ;;
	*) SF_DATABASE_URL="host=$home port=5432 user=storefleet dbname=storefleet" ;;
	esac
	export SF_DATABASE_URL PG_PID PG_DIR
}

# Stop PostgreSQL by PID (fast shutdown) and wait until it is gone.
pg_stop() {
	[ -n "${PG_PID:-}" ] || return 0
	kill -INT "$PG_PID" 2>/dev/null
	wait_for 30 stack_gone "$PG_PID"
}

# stack_gone PID: the process has ended.  One that is not our child
# (PostgreSQL, which pg_ctl starts in the background) stays a zombie until
# init reaps it, and some inits reap only every second or so; a zombie has
# ended (no socket, file or lock of its is left), so it counts as gone.
stack_gone() {
	local st

	kill -0 "$1" 2>/dev/null || return 0
	read -r st 2>/dev/null <"/proc/$1/stat" || return 0
	st=${st##*) }
	[ "${st%% *}" = Z ]
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

# stack_port_free PORT: nothing listens on 127.0.0.1:PORT (bind and let go).
stack_port_free() {
	python3 -c 'import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)' "$1"
}

# A path for sed's replacement side (| and & and \ are special there).
stack_sed_esc() {
	printf '%s' "$1" | sed -e 's/[|&\\]/\\&/g'
}

nginx_start() {
	local dir=$1 port=${2:-} userline=""

	if [ -n "$port" ] && [ "$port" != 0 ]; then
		stack_port_free "$port" || {
			echo "nginx_start: port $port is in use" >&2
			return 1
		}
	else
		port=$(free_port)
	fi
	mkdir -p "$dir/nginx/logs" "$dir/nginx/tmp"
	[ "$(id -u)" -eq 0 ] && userline="user root;"
	sed -e "s|@PORT@|$port|g" -e "s|@PREFIX@|$(stack_sed_esc "$dir/nginx")|g" \
		-e "s|@SOCKET@|$(stack_sed_esc "$dir/fcgi.sock")|g" \
		-e "s|@ROOT@|$(stack_sed_esc "$SF_ROOT")|g" -e "s|@USER_LINE@|$userline|g" \
		-e "s|fastcgi_keep_conn on;|fastcgi_keep_conn ${NGINX_KEEP_CONN:-on};|" \
		"$SF_ROOT/nginx/dev.conf.in" >"$dir/nginx/nginx.conf"
	nginx -p "$dir/nginx" -c "$dir/nginx/nginx.conf" -g 'daemon off;' -e "$dir/nginx/logs/error.log" \
		>>"$dir/nginx/logs/stderr.log" 2>&1 &
	NGINX_PID=$!
	STACK_PIDS+=("nginx:$NGINX_PID")
	NGINX_PORT=$port
	BASE="http://127.0.0.1:$port"
	export NGINX_PID NGINX_PORT BASE
	# Answering is not enough: another server on the port answers too.  Ours
	# must be alive and its own pid file written.
	wait_for 10 nginx_answers "$BASE" "$NGINX_PID" "$dir/nginx/nginx.pid" || {
		echo "nginx_start: nginx did not come up on $BASE; its last words:" >&2
		tail -n 5 "$dir/nginx/logs/stderr.log" "$dir/nginx/logs/error.log" >&2 2>/dev/null
		return 1
	}
}

nginx_answers() {
	kill -0 "$2" 2>/dev/null && [ -s "$3" ] && curl -s -o /dev/null "$1/"
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

smtp_start() {
	local dir=$1

	shift
	mkdir -p "$dir"
	rm -f "$dir/ready"
	: "${SMTP_PORT:=$(free_port)}"
	python3 "$SF_ROOT/tools/smtp-sink.py" --port "$SMTP_PORT" --dir "$dir" "$@" \
		>>"$dir.log" 2>&1 &
	SMTP_PID=$!
	STACK_PIDS+=("smtp:$SMTP_PID")
	SMTP_DIR=$dir
	wait_for 15 test -s "$dir/ready" || {
		echo "smtp_start: the SMTP server did not start" >&2
		cat "$dir.log" >&2
		return 1
	}
	: "${SF_MAIL_URL:=smtp://127.0.0.1:$SMTP_PORT}"
	: "${SF_MAIL_TLS:=none}"
	export SMTP_PID SMTP_PORT SMTP_DIR SF_MAIL_URL SF_MAIL_TLS
}

# s3_install LOG: s3rver from package-lock.json, installed in the build folder once (npm ci
# there, not in the repository's node_modules, which t0504 and t0800 may be installing at the
# same time); npm's output appended to LOG
s3_install() {
	local log=$1 npm=$SF_BUILD/npm

	s3_installed "$npm" && return 0
	mkdir -p "$npm"
	(
		flock 9
		s3_installed "$npm" && exit 0
		cp "$SF_ROOT/package.json" "$SF_ROOT/package-lock.json" "$npm/" &&
			(cd "$npm" && npm ci --no-audit --no-fund --prefer-offline) &&
			sha256sum <"$SF_ROOT/package-lock.json" >"$npm/.lock-sum"
	) 9>"$npm.lock" >>"$log" 2>&1 || {
		echo "s3_start: npm ci failed, no s3rver; its last lines:" >&2
		tail -n 5 "$log" >&2
		return 1
	}
}

s3_start() {
	local dir=$1 b args=() npm=$SF_BUILD/npm

	shift
	s3_install "$dir.log" || return 1
	mkdir -p "$dir"
	for b in "$@"; do args+=(--configure-bucket "$b"); done
	: "${S3_PORT:=$(free_port)}"
	"$npm/node_modules/.bin/s3rver" -d "$dir" -a 127.0.0.1 -p "$S3_PORT" --no-vhost-buckets \
		"${args[@]}" >>"$dir.log" 2>&1 &
	S3_PID=$!
	STACK_PIDS+=("s3:$S3_PID")
	S3_DIR=$dir
	S3_ENDPOINT=http://127.0.0.1:$S3_PORT
	S3_ACCESS_KEY=S3RVER
	S3_SECRET_KEY=S3RVER
	wait_for 30 s3_answers || {
		echo "s3_start: s3rver did not answer on $S3_ENDPOINT; its log:" >&2
		tail -n 5 "$dir.log" >&2
		return 1
	}
	export S3_PID S3_PORT S3_DIR S3_ENDPOINT S3_ACCESS_KEY S3_SECRET_KEY
}

# s3_installed DIR: DIR holds s3rver as the repository's package-lock.json pins it
s3_installed() {
	[ -x "$1/node_modules/.bin/s3rver" ] && [ "$(cat "$1/.lock-sum" 2>/dev/null)" = "$(sha256sum <"$SF_ROOT/package-lock.json")" ]
}

# s3rver answers ListBuckets (with its own XML) once it listens
s3_answers() {
	kill -0 "$S3_PID" 2>/dev/null && curl -sf --max-time 2 "$S3_ENDPOINT/" | grep -q ListAllMyBucketsResult
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
