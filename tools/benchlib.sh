# benchlib.sh - what the wrk benchmarks share (sourced by tools/bench-http.sh and bench-stores.sh; not named bench-*.sh, which tools/bench.sh runs).
#
#   bench_init NAME       settings (secs, conns, nworkers from BENCH_SECONDS, BENCH_CONNS,
#                         BENCH_WORKERS), a temp dir $D removed at exit, checks for wrk and
#                         the programs, and a migrated PostgreSQL in $D/pg
#   bench_hello_start     the bare FastCGI hello-world behind its own nginx: the ceiling;
#                         sets hello_base and hello_pid
#   bench_fail MSG        print "NAME: MSG" and exit 1
set -u
cd "$(dirname "$0")/.."
SF_ROOT=$(pwd)
: "${SF_BUILD:=$SF_ROOT/build}"
export SF_ROOT SF_BUILD
. tools/stack.sh

bench_fail() {
	echo "$bench_name: $*" >&2
	exit 1
}

bench_init() {
	bench_name=$1
	secs=${BENCH_SECONDS:-10}
	conns=${BENCH_CONNS:-32}
	nworkers=${BENCH_WORKERS:-2}
	D=$(mktemp -d /tmp/sf-bench.XXXXXX)
	chmod 755 "$D"
	trap 'stack_stop; rm -rf "$D"' EXIT
	trap 'exit 130' INT TERM

	command -v wrk >/dev/null || bench_fail "wrk not installed"
	for b in storefleet.fcgi storefleetctl fcgi-hello; do
		[ -x "$SF_BUILD/bin/$b" ] || bench_fail "$SF_BUILD/bin/$b missing (make programs)"
	done
	export SF_COOKIE_SECURE=false SF_LOG_LEVEL=info SF_REGISTRATION_OPEN=true
	pg_start "$D/pg" || exit 1
	"$SF_BUILD/bin/storefleetctl" migrate >"$D/migrate.log" 2>&1 ||
		{ cat "$D/migrate.log" >&2; exit 1; }
}

bench_hello_start() {
	mkdir -p "$D/hello"
	"$SF_BUILD/bin/fcgi-hello" --socket "$D/hello/fcgi.sock" --workers "$nworkers" \
		>>"$D/hello.log" 2>&1 &
	hello_pid=$!
	STACK_PIDS+=("hello:$hello_pid")
	wait_for 10 test -S "$D/hello/fcgi.sock" || bench_fail "fcgi-hello did not start"
	nginx_start "$D/hello" || exit 1
	hello_base=$BASE
}
