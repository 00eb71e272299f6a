#!/bin/bash
# t0462-kubesim-continue.sh - kubesim: a list's continue token expires after --continue-ttl-ms (410 Expired with the API server's text and a token to continue inconsistently).
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-kubesim.sh"

command -v kubectl >/dev/null || { echo "1..0 # SKIP kubectl not installed"; exit 0; }
ks_start --continue-ttl-ms 1500
K() { kubectl --request-timeout=20s "$@"; }
MSG='The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.'

for i in 1 2 3 4 5; do knsmake "page-$i"; done
out=$(K get ns --chunk-size=2 -o name 2>&1 | grep -c '^namespace/page-')
is "$out" 5 "kubectl get --chunk-size=2 pages through with fresh tokens"

kreq GET "/api/v1/namespaces?limit=2"
TOK=$(kjson 'j["metadata"]["continue"]')
RV=$(kjson 'j["metadata"]["resourceVersion"]')
kreq GET "/api/v1/namespaces?limit=2&continue=$TOK"
is "$KSTATUS $(kjson 'j["metadata"]["resourceVersion"]')" "200 $RV" "within the TTL: the next page, at the list's resourceVersion"
TOK2=$(kjson 'j["metadata"]["continue"]')
sleep 2
kreq GET "/api/v1/namespaces?limit=2&continue=$TOK2"
is "$KSTATUS" 410 "past --continue-ttl-ms: 410"
is "$(kjson 'j["status"]+" "+j["reason"]+" "+str(j["code"])')" "Failure Expired 410" "Status Failure, reason Expired"
is "$(kjson 'j["message"]')" "$MSG" "the API server's message"
kvalid "the 410 Status passes the validator"
NEW=$(kjson 'j["metadata"]["continue"]')
ok "it carries a new continue token" test -n "$NEW"
kreq GET "/api/v1/namespaces?limit=10&continue=$NEW"
is "$KSTATUS $(kjson '",".join(i["metadata"]["name"] for i in j["items"])')" \
	"200 page-1,page-2,page-3,page-4,page-5" \
	"which continues where the expired one stopped, at the latest version"
kreq GET "/api/v1/namespaces?limit=2&continue=$TOK2"
is "$KSTATUS" 410 "the expired token stays expired"
out=$(K get --raw "/api/v1/namespaces?limit=2&continue=$TOK2" 2>&1)
is "$out" "Error from server (Expired): $MSG" "kubectl shows the same refusal"
kreq GET "/apis/apps/v1/deployments?limit=1&continue=zz"
is "$KSTATUS" 400 "a malformed token is still a 400, not a 410"

ks_stop_clean

done_testing
