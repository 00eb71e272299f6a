# lib-kubesim.sh - helpers for the kubesim tests (sourced after lib.sh).
#
#   ks_start [ARGS...]      kubesim_start "$T/kubesim" with ARGS (bails on failure)
#   kreq METHOD PATH [curl args...]  HTTPS request to the simulator with the bearer token;
#                           sets KSTATUS, KBODY (file $T/kbody) and $T/kheaders
#   kapply PATH BODY [QUERY]  server-side apply of a JSON body (fieldManager=test unless QUERY)
#   kheader NAME            a header of the last kreq answer
#   kjson EXPR              python3 expression over the last body (variable j)
#   kvalid NAME             ok if the last body passes $VALIDATE (--no-apply-checks)
#   ksim METHOD PATH [JSON] the /_sim control endpoints

ks_start() {
	kubesim_start "$T/kubesim" "$@" || bail "cannot start kubesim"
}

kreq() {
	local method=$1 path=$2

	shift 2
	KSTATUS=$(curl -s --max-time 20 --cacert "$KUBESIM_DIR/ca.crt" \
		-H "Authorization: Bearer $KUBESIM_TOKEN" -o "$T/kbody" -D "$T/kheaders" \
		-w '%{http_code}' -X "$method" "$@" "$KUBESIM_ADDR$path")
	KBODY=$(cat "$T/kbody")
}

kapply() {
	local path=$1 body=$2 query=${3-fieldManager=test}

	kreq PATCH "$path?$query" -H 'Content-Type: application/apply-patch+yaml' --data-binary "$body"
}

kheader() {
	grep -i "^$1:" "$T/kheaders" | head -n 1 | sed -e 's/^[^:]*: *//' -e 's/\r$//'
}

kjson() {
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); v=eval(sys.argv[2]); print(v if not isinstance(v,(dict,list)) else json.dumps(v, sort_keys=True))' "$T/kbody" "$1"
}

kvalid() {
	local out

	if out=$("$VALIDATE" --no-apply-checks -q "$T/kbody" 2>&1); then
		_tap_result 1 "$1"
	else
		_tap_result 0 "$1"
		printf '#   %s\n' "$out" | head -n 5
		printf '#   body: %s\n' "$(head -c 400 "$T/kbody")"
	fi
}

ksim() {
	if [ $# -ge 3 ]; then
		kreq "$1" "/_sim/$2" -H 'Content-Type: application/json' --data-binary "$3"
	else
		kreq "$1" "/_sim/$2"
	fi
}

# vrefuses FILE: the validator finds a problem in FILE (its report is hidden).
vrefuses() {
	! "$VALIDATE" -q "$1" >/dev/null 2>&1
}

# kcheck PATH EXPR: GET PATH and evaluate EXPR over it (true -> exit 0).
kcheck() {
	kreq GET "$1" || return 1
	[ "$KSTATUS" = 200 ] || [ "${2#status:}" != "$2" ] || return 1
	if [ "${2#status:}" != "$2" ]; then
		[ "$KSTATUS" = "${2#status:}" ]
		return
	fi
	[ "$(kjson "bool($2)" 2>/dev/null)" = True ]
}

# kwait SECS PATH EXPR: poll kcheck until it holds (1 after SECS).
kwait() {
	local secs=$1

	shift
	wait_for "$secs" kcheck "$@"
}

# kpost PATH JSON: create an object (JSON body).
kpost() {
	kreq POST "$1" -H 'Content-Type: application/json' --data-binary "$2"
}

# knsmake NAME: create a namespace.
knsmake() {
	kpost /api/v1/namespaces "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"$1\"}}"
}

# kdeploy NS NAME REPLICAS: create a small Deployment.
kdeploy() {
	kpost "/apis/apps/v1/namespaces/$1/deployments" "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"$2\",\"labels\":{\"app\":\"$2\"}},\"spec\":{\"replicas\":$3,\"selector\":{\"matchLabels\":{\"app\":\"$2\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"$2\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"example/$2:1\"}]}}}}"
}

# ks_stop_clean: stop the simulator with SIGTERM; passes when it exits 0 within 10 s and its
# log holds no sanitizer report (the ASan build checks leaks at exit).
ks_stop_clean() {
	local rc log="$KUBESIM_DIR.log"

	kill -TERM "$KUBESIM_PID" 2>/dev/null
	wait_for 10 stack_gone "$KUBESIM_PID"
	wait "$KUBESIM_PID"
	rc=$?
	is "$rc" 0 "kubesim exits 0 on SIGTERM"
	if grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$log" 2>/dev/null; then
		_tap_result 0 "kubesim log is free of sanitizer reports"
		grep -E -A12 'ERROR: |runtime error:' "$log" | head -n 30 | sed 's/^/#   /'
	else
		_tap_result 1 "kubesim log is free of sanitizer reports"
	fi
}

# --- watches ----------------------------------------------------------------------------------
#
#   kwatch NAME PATH [curl args...]  stream a watch with curl --no-buffer into $T/NAME.w (headers
#                           $T/NAME.h) in the background; stopped at exit if still running
#   kwatch_wait NAME [SECS] wait for that curl to end; WRC = its exit status (0: a clean end)
#   kwatch_stop NAME        end it from the client side (SIGTERM) and reap it
#   wev NAME EXPR           python3 expression over the events so far (ev: list of dicts; t(e),
#                           n(e), rv(e): type, name, resourceVersion as int)
#   wsees NAME PATTERN [SECS]  await a line of the stream matching the ERE (default 20 s)
#   kwatches [KEY]          /_sim/stats watches.KEY (open by default)

kwatch() {
	local name=$1 path=$2

	shift 2
	: >"$T/$name.w"
	curl -sS --no-buffer --max-time 120 --cacert "$KUBESIM_DIR/ca.crt" \
		-H "Authorization: Bearer $KUBESIM_TOKEN" -D "$T/$name.h" "$@" \
		"$KUBESIM_ADDR$path" >"$T/$name.w" 2>"$T/$name.err" &
	echo $! >"$T/$name.pid"
	STACK_PIDS+=("watch:$!")
}

kwatch_wait() {
	local pid

	pid=$(cat "$T/$1.pid")
	wait_for "${2-10}" stack_gone "$pid"
	wait "$pid" 2>/dev/null
	WRC=$?
}

kwatch_stop() {
	local pid

	pid=$(cat "$T/$1.pid")
	kill -TERM "$pid" 2>/dev/null
	wait_for 10 stack_gone "$pid"
	wait "$pid" 2>/dev/null
}

wev() {
	python3 -c '
import json, sys
ev = []
for line in open(sys.argv[1]):
    try:
        ev.append(json.loads(line))
    except ValueError:
        pass
t = lambda e: e["type"]
n = lambda e: e["object"]["metadata"].get("name", "")
rv = lambda e: int(e["object"]["metadata"]["resourceVersion"])
v = eval(sys.argv[2])
print(v if not isinstance(v, (dict, list)) else json.dumps(v, sort_keys=True))' "$T/$1.w" "$2"
}

wsees() {
	wait_for "${3-20}" grep -Eq "$2" "$T/$1.w"
}

kwatches() {
	ksim GET stats >/dev/null
	kjson "j['watches']['${1-open}']"
}
