#!/bin/bash
# t0700 - /metrics passes promtool and every family moves with what happened; /readyz asks the database and reconcile's age.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-stores.sh"
. "$SF_ROOT/tests/lib-reconcile.sh"

command -v promtool >/dev/null || bail "promtool missing (Debian package prometheus; tools/deps.sh)"
export SF_CREATE_COOLDOWN=3600 SF_METRICS_CACHE=2
rc_stack
export SF_COOKIE_SECURE=false SF_REGISTRATION_OPEN=true
app_start "$T" 2 || bail "cannot start storefleet.fcgi"
nginx_start "$T" || bail "cannot start nginx"

# scrape: GET /metrics into $BODY (and $T/metrics), checked by promtool each time
scrape() {
	NOCOOKIES=1 http GET /metrics
	cp "$T/body" "$T/metrics"
}
# m 'NAME{LABELS}': the sample's value (empty when absent)
m() {
	awk -v k="$1" 'substr($0, 1, length(k) + 1) == k " " { print $2; exit }' "$T/metrics"
}
# fresh: scrape until the database part is newer than SQL changes made before (cache window 2 s)
fresh() {
	local want=$1 name=$2
	scrape_is() { scrape; [ "$(m "$name")" = "$want" ]; }
	wait_for 10 scrape_is
}
promtool_ok() { promtool check metrics <"$T/metrics" >"$T/promtool.out" 2>&1; }

# --- before anything happened --------------------------------------------------------------------
scrape
is "$STATUS" 200 "/metrics answers 200 without signing in"
like "$(header Content-Type)" '^text/plain; version=0\.0\.4' "Prometheus text format 0.0.4"
ok "promtool check metrics: no problem" promtool_ok
sed 's/^/# promtool: /' "$T/promtool.out"
for fam in storefleet_stores storefleet_store_failures_total storefleet_store_provisioning_duration_seconds \
	storefleet_reconcile_passes_total storefleet_reconcile_pass_duration_seconds \
	storefleet_reconcile_last_pass_timestamp_seconds storefleet_kubernetes_requests_total \
	storefleet_http_requests_total storefleet_http_request_duration_seconds \
	storefleet_login_failures_total storefleet_rate_limit_hits_total; do
	like "$BODY" "# TYPE $fam (gauge|counter|histogram)" "family $fam is there"
done
is "$(m 'storefleet_stores{status="ready",engine="woocommerce"}')" 0 "zero stores ready, reported as 0"
is "$(m 'storefleet_reconcile_last_pass_timestamp_seconds')" 0 "reconcile never ran: last pass 0"
is "$(m 'storefleet_store_failures_total{reason="image_pull"}')" 0 "failure reasons seeded with 0"

NOCOOKIES=1 http GET /readyz
is "$STATUS" 503 "/readyz: 503 before reconcile ever ran"
is "$(json_get 'j["reconcile"] + " " + j["database"]')" "never ok" "and says why: reconcile never, database ok"
NOCOOKIES=1 http GET "/readyz?check=database"
is "$STATUS|$(json_get 'j["status"]')" "200|ok" "/readyz?check=database: 200 (the web pod's probe)"
NOCOOKIES=1 http GET "/readyz?check=nonsense"
is "$STATUS" 422 "/readyz?check=nonsense: 422"

# --- HTTP families: counted exactly, across both workers -------------------------------------------
scrape
h0=$(m 'storefleet_http_requests_total{route="healthz",code="200"}')
c0=$(m 'storefleet_http_request_duration_seconds_count{route="healthz"}')
for i in $(seq 1 7); do NOCOOKIES=1 http GET /healthz; done
scrape
is "$(($(m 'storefleet_http_requests_total{route="healthz",code="200"}') - ${h0:-0}))" 7 \
	"7 /healthz requests counted as 7 (shared between workers)"
is "$(($(m 'storefleet_http_request_duration_seconds_count{route="healthz"}') - ${c0:-0}))" 7 \
	"and 7 latency observations"
is "$(m 'storefleet_http_request_duration_seconds_bucket{route="healthz",le="+Inf"}')" \
	"$(m 'storefleet_http_request_duration_seconds_count{route="healthz"}')" "+Inf bucket = count"
NOCOOKIES=1 http GET /no/such/page
scrape
like "$(m 'storefleet_http_requests_total{route="unmatched",code="404"}')" '^[1-9]' "a 404 with no route counted as unmatched"

tok=$(user_token owner@example.com) || bail "no token"
scrape
lf0=$(m storefleet_login_failures_total)
for i in 1 2 3; do
	NOCOOKIES=1 http POST /api/v1/auth/login -H 'Content-Type: application/json' \
		--data-binary '{"email":"owner@example.com","password":"not the password at all"}'
done
is "$STATUS" 401 "wrong password: 401"
page "$T/jar" GET /login
page "$T/jar" POST /login --data-urlencode "csrf_token=$(page_csrf)" \
	--data-urlencode email=owner@example.com --data-urlencode password=wrongwrongwrong
is "$STATUS" 401 "wrong password through the form: 401"
scrape
is "$(($(m storefleet_login_failures_total) - lf0))" 4 "3 API and 1 form sign-in failures counted"

api_json POST /api/v1/stores "$tok" '{"name": "Metered shop", "engine": "woocommerce"}'
is "$STATUS" 201 "a store requested"
id=$(json_get 'j["store"]["id"]')
api_json POST /api/v1/stores "$tok" '{"name": "Too soon", "engine": "woocommerce"}'
is "$STATUS" 429 "a second one within the cooldown: 429"
scrape
is "$(m 'storefleet_rate_limit_hits_total{route="api_store_create"}')" 1 "the 429 is a rate-limit hit of its route"
ok "promtool still content" promtool_ok

# --- the database families move with reconcile ------------------------------------------------------
ok "the store is ready after reconcile passes" rc_until 60 "(SELECT status FROM stores WHERE id = '$id') = 'ready'"
passes=$(rc_sql "SELECT count(*) FROM reconcile_runs WHERE finished_at IS NOT NULL AND error IS NULL")
reqs=$(rc_sql "SELECT sum(k8s_requests) FROM reconcile_runs")
ok "a fresh scrape shows the ready store" fresh 1 'storefleet_stores{status="ready",engine="woocommerce"}'
is "$(m 'storefleet_stores{status="requested",engine="woocommerce"}')" 0 "and none requested"
is "$(m 'storefleet_reconcile_passes_total{result="ok"}')" "$passes" "passes ok = reconcile_runs without error ($passes)"
is "$(m 'storefleet_reconcile_pass_duration_seconds_count')" "$passes" "one pass-duration observation per pass"
sum=$(grep '^storefleet_kubernetes_requests_total{' "$T/metrics" | awk '{ s += $2 } END { print s }')
is "$sum" "$reqs" "kubernetes requests by verb and result add up to reconcile_runs' total ($reqs)"
like "$(m 'storefleet_kubernetes_requests_total{verb="apply",result="2xx"}')" '^[1-9]' "applies counted as apply/2xx"
is "$(m 'storefleet_store_provisioning_duration_seconds_count')" 1 "one request -> ready observation"
is "$(m 'storefleet_store_provisioning_duration_seconds_bucket{le="+Inf"}')" 1 "in the +Inf bucket too"
last=$(m storefleet_reconcile_last_pass_timestamp_seconds)
ok "last pass timestamp within 60 s of now ($last)" awk -v t="$last" -v n="$(date +%s)" 'BEGIN { exit !(n - t < 60 && t <= n + 1) }'
ok "promtool content with real figures" promtool_ok

# a failing store adds to its reason class
sim POST /_sim/faults '{"scope":"store-pullfai1","type":"image_pull"}'
rc_store pullfai1 woocommerce
ok "the faulty store fails" rc_until 60 "(SELECT status FROM stores WHERE id = 'pullfai1') = 'failed'"
ok "failures by reason: image_pull 1" fresh 1 'storefleet_store_failures_total{reason="image_pull"}'
is "$(m 'storefleet_stores{status="failed",engine="woocommerce"}')" 1 "and the store is counted as failed"

# --- cheap under load: one query per worker per cache window ---------------------------------------
scrape
q0=$(m storefleet_metrics_database_queries_total)
t0=$(date +%s%N)
for i in $(seq 1 40); do NOCOOKIES=1 http GET /metrics; done
scrape
dq=$(($(m storefleet_metrics_database_queries_total) - q0))
# each worker queries at most once per started 2 s window (a slow sanitizer build takes longer)
most=$((2 * (($(date +%s%N) - t0) / 2000000000 + 2)))
ok "41 scrapes cost $dq database queries (2 workers, 2 s cache: at most $most)" test "$dq" -le "$most"
ok "... far fewer than one a scrape" test "$dq" -lt 20

# --- /readyz follows reconcile's age ----------------------------------------------------------------
NOCOOKIES=1 http GET /readyz
is "$STATUS|$(json_get 'j["reconcile"]')" "200|ok" "/readyz: 200 with a recent reconcile pass"
rc_sql "UPDATE reconcile_runs SET started_at = started_at - interval '4 minutes', finished_at = finished_at - interval '4 minutes'"
NOCOOKIES=1 http GET /readyz
is "$STATUS|$(json_get 'j["reconcile"]')" "503|stale" "/readyz: 503 when the last pass is 4 minutes old"
like "$(json_get 'j["error"]')" 'last finished a pass 2[4-9][0-9] s ago \(limit 180 s\)' "and says how old"
NOCOOKIES=1 http GET "/readyz?check=database"
is "$STATUS" 200 "the pod's probe is still 200"
rc_once
NOCOOKIES=1 http GET /readyz
is "$STATUS" 200 "one more pass: ready again"

# --- the database goes away: the HTTP part is still served ------------------------------------------
pg_stop || bail "PostgreSQL did not stop"
down() { scrape; [ "$(m storefleet_database_up)" = 0 ]; }
ok "database down: /metrics says storefleet_database_up 0" wait_for 10 down
is "$STATUS" 200 "still 200"
like "$BODY" 'storefleet_http_requests_total\{route="metrics",code="200"\} [1-9]' "with the HTTP families"
ok "promtool content with the database down" promtool_ok
NOCOOKIES=1 http GET /readyz
is "$STATUS" 503 "/readyz: 503"
done_testing
