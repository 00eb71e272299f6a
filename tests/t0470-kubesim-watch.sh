#!/bin/bash
# t0470-kubesim-watch.sh - kubesim's watch against the documented API ("Efficient detection of changes", "Resource versions", docs/k8s-semantics.md section 11): where a watch starts for each resourceVersion, LIST then WATCH losing nothing, resourceVersion order, DELETED's last state, selectors (a change that leaves a label selector is DELETED), namespaces, group paths, timeoutSeconds with the bookmark before it, the options the API server refuses.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-kubesim.sh"

ks_start
cm() { # NS NAME LABEL-VALUE DATA
	kpost "/api/v1/namespaces/$1/configmaps" "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"$2\",\"labels\":{\"app\":\"$3\"}},\"data\":{\"v\":\"$4\"}}"
}
cmpatch() { # NS NAME MERGE-PATCH
	kreq PATCH "/api/v1/namespaces/$1/configmaps/$2" -H 'Content-Type: application/merge-patch+json' -d "$3"
}
for ns in w1 w2; do knsmake $ns; done
cm w1 a x 1
cm w1 b y 1
cm w2 c x 1

# --- resourceVersion unset: "Get State and Start at Most Recent" -----------------------------
kwatch all '/api/v1/namespaces/w1/configmaps?watch=1'
wsees all '"name":"b"'
like "$(head -c 300 "$T/all.h" | tr -d '\r')" 'HTTP/[0-9.]+ 200' "watch answers 200"
like "$(tr -d '\r' <"$T/all.h")" '(Transfer-Encoding: chunked|HTTP/2)' "streamed in chunks"
is "$(wev all '" ".join(t(e)+":"+n(e) for e in ev)')" "ADDED:a ADDED:b" \
	"the current state first, as synthetic ADDED events"
is "$(wev all 'ev[0]["object"]["data"]["v"]+" "+ev[0]["object"]["kind"]')" "1 ConfigMap" "each the whole object"
cm w1 d x 1
cmpatch w1 a '{"data":{"v":"2"}}'
kreq DELETE /api/v1/namespaces/w1/configmaps/b
cmpatch w2 c '{"data":{"v":"2"}}'
cm w1 end x 1
wsees all '"name":"end"'
is "$(wev all '" ".join(t(e)+":"+n(e) for e in ev[2:])')" "ADDED:d MODIFIED:a DELETED:b ADDED:end" \
	"then every change, in order, and nothing from another namespace"
is "$(wev all 'all(rv(a) < rv(b) for a, b in zip(ev[2:], ev[3:]))')" True "in resourceVersion order"
is "$(wev all '[e["object"]["data"]["v"] for e in ev if t(e)=="DELETED"][0]')" 1 \
	"DELETED carries the object's last state"
is "$(wev all '[rv(e) for e in ev if t(e)=="DELETED"][0] > [rv(e) for e in ev if t(e)=="ADDED" and n(e)=="b"][0]')" True \
	"with a new resourceVersion"
is "$(kwatches)" 1 "one watch open"

# --- resourceVersion="0": "Get State and Start at Any" (kubesim's state is always current) ---
kwatch zero '/api/v1/namespaces/w1/configmaps?watch=1&resourceVersion=0'
wsees zero '"name":"end"'
is "$(wev zero '" ".join(t(e)+":"+n(e) for e in ev)')" "ADDED:a ADDED:d ADDED:end" "resourceVersion=0: the state as ADDED"

# --- LIST, then WATCH from the list's resourceVersion: nothing lost, nothing twice ------------
kreq GET /api/v1/namespaces/w1/configmaps
list_rv=$(kjson 'j["metadata"]["resourceVersion"]')
is "$(kjson 'int(j["metadata"]["resourceVersion"]) >= max(int(i["metadata"]["resourceVersion"]) for i in j["items"])')" True \
	"a LIST's resourceVersion is the store's, not older than any item"
cmpatch w1 d '{"data":{"v":"2"}}'
cm w1 e x 1
kwatch fromlist "/api/v1/namespaces/w1/configmaps?watch=1&resourceVersion=$list_rv"
wsees fromlist '"name":"e"'
is "$(wev fromlist '" ".join(t(e)+":"+n(e) for e in ev)')" "MODIFIED:d ADDED:e" \
	"a watch from it gets exactly the changes made since (Start at Exact: no synthetic ADDED)"
is "$(wev fromlist 'all(rv(e) > '"$list_rv"' for e in ev)')" True "each strictly after that resourceVersion"
mod_rv=$(wev fromlist 'rv(ev[0])')
kwatch fromn "/api/v1/namespaces/w1/configmaps?watch=1&resourceVersion=$mod_rv"
kwatch fromn1 "/api/v1/namespaces/w1/configmaps?watch=1&resourceVersion=$((mod_rv - 1))"
wsees fromn '"name":"e"'
wsees fromn1 '"name":"e"'
is "$(wev fromn '" ".join(t(e)+":"+n(e) for e in ev)')" "ADDED:e" "resourceVersion=N: the events after N, not N's own"
is "$(wev fromn1 '" ".join(t(e)+":"+n(e) for e in ev)')" "MODIFIED:d ADDED:e" "resourceVersion=N-1 includes N"

# --- label selector, on the old and the new state (the cacher's convertToWatchEvent) ---------
kwatch sel '/api/v1/namespaces/w1/configmaps?watch=1&labelSelector=app%3Dx'
wsees sel '"name":"e"'
is "$(wev sel '" ".join(n(e) for e in ev)')" "a d e end" "a label selector filters the initial state"
cm w1 f y 1
cmpatch w1 a '{"metadata":{"labels":{"app":"z"}}}'
cmpatch w1 f '{"data":{"v":"2"}}'
cmpatch w1 a '{"metadata":{"labels":{"app":"x"}}}'
cm w1 end2 x 1
wsees sel '"name":"end2"'
is "$(wev sel '" ".join(t(e)+":"+n(e) for e in ev[4:])')" "DELETED:a ADDED:a ADDED:end2" \
	"a change out of the selector is DELETED, back into it ADDED; others unseen"
is "$(wev sel '[e["object"]["metadata"]["labels"]["app"] for e in ev if t(e)=="DELETED"][0]')" x \
	"the DELETED of a change that left the selector carries the old state"
is "$(wev sel '[rv(e) for e in ev if t(e)=="DELETED"][0] < [rv(e) for e in ev if t(e)=="ADDED" and n(e)=="a"][1]')" True \
	"at the change's resourceVersion"
kwatch sel2 '/api/v1/namespaces/w1/configmaps?watch=1&labelSelector=app%20in%20(y),!missing'
wsees sel2 '"name":"f"'
is "$(wev sel2 '" ".join(n(e) for e in ev)')" "f" "set-based selectors too"

# --- cluster-wide, field selectors, group paths, cluster-scoped kinds ---------------------------
kwatch wide '/api/v1/configmaps?watch=1&labelSelector=app%3Dx'
kwatch wide2 '/api/v1/configmaps?watch=1&fieldSelector=metadata.namespace%3Dw2'
kwatch named '/api/v1/configmaps?watch=1&fieldSelector=metadata.name%3Dc'
kwatch notnamed '/api/v1/namespaces/w2/configmaps?watch=1&fieldSelector=metadata.name!%3Dc'
wsees wide '"name":"end2"'
wsees wide2 '"name":"c"'
wsees named '"name":"c"'
is "$(wev wide '" ".join(e["object"]["metadata"]["namespace"]+"/"+n(e) for e in ev)')" "w1/a w1/d w1/e w1/end w1/end2 w2/c" \
	"GET /api/v1/configmaps?watch=1 watches every namespace"
cm w2 g x 1
wsees wide '"name":"g"'
wsees wide2 '"name":"g"'
wsees notnamed '"name":"g"'
is "$(wev wide2 '" ".join(t(e)+":"+n(e) for e in ev)')" "ADDED:c ADDED:g" "fieldSelector=metadata.namespace"
is "$(wev named '" ".join(t(e)+":"+n(e) for e in ev)')" "ADDED:c" "fieldSelector=metadata.name"
is "$(wev notnamed '" ".join(t(e)+":"+n(e) for e in ev)')" "ADDED:g" "fieldSelector=metadata.name!="
kwatch deps '/apis/apps/v1/deployments?watch=1'
kwatch nsw '/api/v1/namespaces?watch=1&labelSelector=kubernetes.io/metadata.name%3Dw3'
watches_at_least() { [ "$(kwatches)" -ge "$1" ]; }
wait_for 10 watches_at_least 13
kdeploy w2 web 1
knsmake w3
wsees deps '"name":"web"'
wsees nsw '"name":"w3"'
is "$(wev deps 't(ev[0])+":"+n(ev[0])+":"+ev[0]["object"]["apiVersion"]')" "ADDED:web:apps/v1" \
	"/apis/GROUP/VERSION/KIND?watch=1 (Deployments)"
is "$(wev nsw 't(ev[0])+":"+n(ev[0])')" "ADDED:w3" "a cluster-scoped kind (Namespaces)"

# --- timeoutSeconds ends the stream cleanly, with a bookmark 2 s before it -----------------------
kreq GET /api/v1/namespaces/w2/configmaps
rv0=$(kjson 'j["metadata"]["resourceVersion"]')
t0=$(date +%s%N)
kwatch short '/api/v1/namespaces/w2/configmaps?watch=1&timeoutSeconds=3&allowWatchBookmarks=true&labelSelector=none%3D1'
kwatch_wait short 15
is "$WRC" 0 "timeoutSeconds: the stream ends and curl sees a complete chunked answer"
el=$((($(date +%s%N) - t0) / 1000000))
ok "after about 3 s (${el} ms)" test "$el" -ge 2900 -a "$el" -lt 8000
is "$(wev short '" ".join(t(e) for e in ev)')" BOOKMARK "with one BOOKMARK before the end (the default period is 60 s)"
is "$(wev short 'sorted(ev[0]["object"]["metadata"])')" '["resourceVersion"]' "carrying only metadata.resourceVersion"
kreq GET /api/v1/namespaces/w2/configmaps
rv1=$(kjson 'j["metadata"]["resourceVersion"]')
is "$(wev short "$rv0 <= rv(ev[0]) <= $rv1")" True \
	"the store's resourceVersion then, though no event matched the watch"

# --- options the API server refuses (ValidateListOptions) ---------------------------------------
P=/api/v1/namespaces/w1/configmaps
kreq GET "$P?watch=1&resourceVersionMatch=NotOlderThan"
is "$KSTATUS" 422 "resourceVersionMatch without sendInitialEvents: 422"
is "$(kjson 'j["message"]')" 'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided' \
	"with the API server's message"
is "$(kjson 'j["reason"]+" "+j["details"]["group"]+" "+j["details"]["kind"]+" "+j["details"]["causes"][0]["reason"]')" \
	"Invalid meta.k8s.io ListOptions FieldValueForbidden" "and details"
kreq GET "$P?watch=1&sendInitialEvents=true"
is "$(kjson 'j["code"]')" 422 "sendInitialEvents without resourceVersionMatch: 422"
is "$(kjson 'j["message"]')" 'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan' \
	"with the API server's message"
kreq GET "$P?watch=1&sendInitialEvents=true&resourceVersionMatch=Exact&resourceVersion=5"
is "$(kjson 'len(j["details"]["causes"])')" 2 "resourceVersionMatch=Exact on a watch: two causes"
like "$(kjson 'j["message"]')" '^ListOptions.meta.k8s.io "" is invalid: \[resourceVersionMatch: Forbidden: .*, resourceVersionMatch: Unsupported value: "Exact": supported values: "NotOlderThan"\]$' \
	"listed in brackets"
kreq GET "$P?watch=1&resourceVersion=abc"
is "$KSTATUS 4xx $(kjson 'j["message"]')" \
	'422 4xx configmaps "" is invalid: resourceVersion: Invalid value: "abc": strconv.ParseUint: parsing "abc": invalid syntax' \
	"a resourceVersion that is not a number: 422 Invalid"
kreq GET "$P?watch=1&fieldSelector=spec.nothing%3D1"
is "$KSTATUS" 400 "an unsupported field selector: 400"
kreq GET "$P?watch=1&labelSelector=a%20in%20(b"
is "$KSTATUS" 400 "a malformed label selector: 400"
is "$(kwatches)" 13 "a refused watch leaves nothing open"

for w in all zero fromlist fromn fromn1 sel sel2 wide wide2 named notnamed deps nsw; do kwatch_stop $w; done
watches_none() { [ "$(kwatches)" = 0 ]; }
wait_for 5 watches_none
is "$(kwatches)" 0 "clients that hang up free their watches"
ks_stop_clean

done_testing
