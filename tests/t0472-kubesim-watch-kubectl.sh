#!/bin/bash
# t0472-kubesim-watch-kubectl.sh - kubectl get -w against kubesim as against a real API server: a pod created meanwhile appears and becomes ready, --output-watch-events shows each event type, a label selector and a namespace keep others out, kubectl get --raw streams a watch.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-kubesim.sh"

command -v kubectl >/dev/null || { echo "1..0 # SKIP kubectl not installed"; exit 0; }
ks_start --pod-ready-ms 300
K() { kubectl --request-timeout=20s "$@"; }
watches_are() { [ "$(kwatches)" = "$1" ]; }
# kw NAME ARGS...: kubectl ... -w in the background, output in $T/NAME.out
kw() {
	local name=$1

	shift
	kubectl "$@" >"$T/$name.out" 2>&1 &
	echo $! >"$T/$name.pid"
	STACK_PIDS+=("kubectl:$!")
}
kw_stop() {
	local pid

	pid=$(cat "$T/$1.pid")
	kill -TERM "$pid" 2>/dev/null
	wait_for 10 stack_gone "$pid"
	wait "$pid" 2>/dev/null
}
K create namespace kw1 >/dev/null
K create namespace kw2 >/dev/null
K create configmap before -n kw1 --from-literal=v=0 >/dev/null

# --- kubectl get pods -w ----------------------------------------------------------------------
kw pods get pods -n kw1 -l role=watched -w
wait_for 20 watches_are 1
is "$(kwatches)" 1 "kubectl get -w lists, then holds a watch open"
K run other -n kw1 --image=example/o:1 --labels=role=other >/dev/null
K run side -n kw2 --image=example/s:1 --labels=role=watched >/dev/null
K run watched -n kw1 --image=example/w:1 --labels=role=watched >/dev/null
wait_for 15 grep -Eq '^watched +1/1 +Running' "$T/pods.out"
like "$(cat "$T/pods.out")" '^NAME +READY +STATUS +RESTARTS +AGE' "get pods -w prints the server's columns"
like "$(cat "$T/pods.out")" 'watched +0/1 +Pending' "the pod created meanwhile, as created"
like "$(cat "$T/pods.out")" 'watched +1/1 +Running' "and as it became ready"
unlike "$(cat "$T/pods.out")" '^(other|side) ' "another label or another namespace is not shown"
is "$(grep -c '^NAME' "$T/pods.out")" 1 "the header once"
kw_stop pods
wait_for 5 watches_are 0
is "$(kwatches)" 0 "kubectl's watch is freed when it exits"

# --- kubectl get configmaps -w --output-watch-events ------------------------------------------------
kw cms get configmaps -n kw1 -w --output-watch-events
wait_for 20 watches_are 1
K create configmap fresh -n kw1 --from-literal=v=1 >/dev/null
K patch configmap fresh -n kw1 --type=merge -p '{"data":{"v":"2"}}' >/dev/null
K delete configmap fresh -n kw1 >/dev/null
K create configmap elsewhere -n kw2 --from-literal=v=1 >/dev/null
K create configmap last -n kw1 --from-literal=v=1 >/dev/null
wait_for 10 grep -Eq '^ADDED +last ' "$T/cms.out"
like "$(cat "$T/cms.out")" '^EVENT +NAME +DATA +AGE' "--output-watch-events adds the EVENT column"
like "$(cat "$T/cms.out")" 'ADDED +before +1 ' "the listed state first"
is "$(awk 'NR>1 && $2!="kube-root-ca.crt" {print $1":"$2}' "$T/cms.out" | tr '\n' ' ')" \
	"ADDED:before ADDED:fresh MODIFIED:fresh DELETED:fresh ADDED:last " \
	"then each change with its type, in order; another namespace unseen"
kw_stop cms

# --- kubectl get --raw on a watch URL -----------------------------------------------------------
out=$(K get --raw "/api/v1/namespaces/kw1/configmaps?watch=1&timeoutSeconds=1&fieldSelector=metadata.name%3Dlast" 2>&1)
is "$(printf '%s\n' "$out" | python3 -c 'import json,sys; print(" ".join(e["type"]+":"+e["object"]["metadata"]["name"] for e in map(json.loads, sys.stdin)))')" \
	"ADDED:last" "get --raw streams the events and ends at timeoutSeconds"

ks_stop_clean

done_testing
