# lib-kubesim.sh - helpers for the kubesim tests (sourced after lib.sh).
#
#   ks_start [ARGS...]      kubesim_start "$T/kubesim" with ARGS (bails on failure)
#   kreq METHOD PATH [curl args...]  HTTPS request to the simulator with the bearer token;
#                           sets KSTATUS, KBODY (file $T/kbody) and $T/kheaders
#   kapply PATH BODY [QUERY]  server-side apply of a JSON body (fieldManager=test unless QUERY)
#   kheader NAME            a header of the last kreq answer
#   kjson EXPR              python3 expression over the last body (variable j)
#   kvalid NAME             ok if the last body passes the shared validator (--no-apply-checks)
#   ksim METHOD PATH [JSON] the /_sim control endpoints

SHARED=${SF_SHARED:-$SF_ROOT/../shared}
VALIDATE=$SHARED/k8s-schema/validate

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

# vrefuses FILE: the shared validator finds a problem in FILE (its report is hidden).
vrefuses() {
	! "$VALIDATE" -q "$1" >/dev/null 2>&1
}
