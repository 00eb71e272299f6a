# lib.sh - TAP helpers and throwaway stacks for storefleet's shell tests (sourced, bash).
#
#   . "$SF_ROOT/tests/lib.sh"
#   plan 3 (optional; done_testing prints the plan otherwise)
#   ok "name" CMD ARGS...        passes when CMD exits 0
#   nok "name" CMD ARGS...       passes when CMD exits non-zero
#   is "$got" "$want" "name"     string equality, diagnostics on failure
#   like "$got" 'ERE' "name"     extended-regex match (grep -E)
#   unlike "$got" 'ERE' "name"
#   diag "text"; bail "why" (stops the test); done_testing
#
#   $T                a fresh temp dir, removed at exit (kept if SF_KEEP=1)
#   $VALIDATE         tools/k8s-validate, the strict Kubernetes manifest validator
#   $K8S_SCHEMA       tests/vendor/k8s-schema (the Kubernetes v1.36 OpenAPI subset it reads)
#   stack functions   see tools/stack.sh: pg_start, app_start, nginx_start, kubesim_start...
#   sf_stack          PostgreSQL + migrate + app + nginx in $T (the usual web stack)
#   sf_migrate        storefleetctl migrate against $SF_DATABASE_URL
#   http METHOD PATH [curl args...]  request $BASE$PATH; sets STATUS, BODY, HEADERS (files:
#                     $T/body, $T/headers) - cookies kept in $T/cookies unless NOCOOKIES=1
#   header NAME       value of a response header from the last http call (case-insensitive)
#   json_get EXPR     python3 expression on the last JSON body (variable j), printed

set -u
: "${SF_ROOT:?SF_ROOT must point at the repository}"
: "${SF_BUILD:=$SF_ROOT/build}"
. "$SF_ROOT/tools/stack.sh"

# Everything the tests read is in the repository (tests/t0010-self-contained.sh).
VALIDATE=$SF_ROOT/tools/k8s-validate
K8S_SCHEMA=$SF_ROOT/tests/vendor/k8s-schema
export VALIDATE K8S_SCHEMA

T=$(mktemp -d /tmp/sf-test.XXXXXX)
chmod 755 "$T"
export T

# Debian's python3, which deps.sh installs with the modules the tests use
# (yaml, jsonschema), ahead of any version manager's shim: a pyenv shim
# costs half a second a call, and json_get runs python3 for each assertion.
if [ -x /usr/bin/python3 ]; then
	mkdir "$T/.bin"
	ln -s /usr/bin/python3 "$T/.bin/python3"
	PATH=$T/.bin:$PATH
fi
_tap_n=0
_tap_fail=0
_tap_planned=""

_tap_cleanup() {
	local rc=$?

	stack_stop
	if [ "${SF_KEEP:-0}" = 1 ] || { [ "$_tap_fail" -gt 0 ] && [ "${SF_KEEP_ON_FAIL:-0}" = 1 ]; }; then
		echo "# kept $T" >&2
	else
		rm -rf "$T"
	fi
	exit $rc
}
trap _tap_cleanup EXIT
trap 'exit 130' INT TERM

plan() {
	_tap_planned=$1
	echo "1..$1"
}

_tap_result() {
	local pass=$1 name=$2

	_tap_n=$((_tap_n + 1))
	if [ "$pass" = 1 ]; then
		echo "ok $_tap_n - $name"
	else
		echo "not ok $_tap_n - $name"
		_tap_fail=$((_tap_fail + 1))
		echo "#   failed at ${BASH_SOURCE[2]:-?}:${BASH_LINENO[1]:-?}"
	fi
}

ok() {
	local name=$1

	shift
	if "$@"; then _tap_result 1 "$name"; else _tap_result 0 "$name"; fi
}

nok() {
	local name=$1

	shift
	if "$@"; then _tap_result 0 "$name"; else _tap_result 1 "$name"; fi
}

is() {
	if [ "$1" = "$2" ]; then
		_tap_result 1 "$3"
	else
		_tap_result 0 "$3"
		printf '#        got: %s\n#   expected: %s\n' "$(printf %s "$1" | head -c 2000)" "$2"
	fi
}

like() {
	if printf '%s' "$1" | grep -Eq -- "$2"; then
		_tap_result 1 "$3"
	else
		_tap_result 0 "$3"
		printf '#   %s\n#   does not match: %s\n' "$(printf %s "$1" | head -c 2000)" "$2"
	fi
}

unlike() {
	if printf '%s' "$1" | grep -Eq -- "$2"; then
		_tap_result 0 "$3"
		printf '#   %s\n#   matches: %s\n' "$(printf %s "$1" | head -c 2000)" "$2"
	else
		_tap_result 1 "$3"
	fi
}

diag() {
	printf '# %s\n' "$*"
}

bail() {
	echo "Bail out! $*"
	exit 255
}

done_testing() {
	[ -n "$_tap_planned" ] || echo "1..$_tap_n"
	[ "$_tap_fail" -eq 0 ]
}

sf_migrate() {
	"$SF_BUILD/bin/storefleetctl" migrate >"$T/migrate.log" 2>&1 || {
		cat "$T/migrate.log" >&2
		return 1
	}
}

# The usual web stack: PostgreSQL, schema, workers, nginx; plain-HTTP local mode.
sf_stack() {
	export SF_COOKIE_SECURE=false SF_REGISTRATION_OPEN=${SF_REGISTRATION_OPEN:-true}
	pg_start "$T/pg" || bail "cannot start PostgreSQL"
	sf_migrate || bail "migrate failed"
	app_start "$T" "${SF_TEST_WORKERS:-2}" || bail "cannot start storefleet.fcgi"
	nginx_start "$T" || bail "cannot start nginx"
}

http() {
	local method=$1 path=$2 jar=() method_args

	shift 2
	[ "${NOCOOKIES:-0}" = 1 ] || jar=(-b "$T/cookies" -c "$T/cookies")
	if [ "$method" = HEAD ]; then
		method_args=(-I)	# -X HEAD would make curl wait for a body
	else
		method_args=(-X "$method")
	fi
	STATUS=$(curl -s -o "$T/body" -D "$T/headers" -w '%{http_code}' "${method_args[@]}" \
		"${jar[@]}" "$@" "$BASE$path")
	BODY=$(cat "$T/body")
	HEADERS=$(cat "$T/headers")
}

header() {
	grep -i "^$1:" "$T/headers" | head -n 1 | sed -e 's/^[^:]*: *//' -e 's/\r$//'
}

# Prints nothing (and fails) when the body is not JSON or the expression does not apply.
json_get() {
	python3 -c '
import json, sys
try:
    j = json.load(open(sys.argv[1]))
    v = eval(sys.argv[2])
except Exception:
    sys.exit(1)
print(v if not isinstance(v, (dict, list)) else json.dumps(v))' "$T/body" "$1"
}
