#!/bin/bash
# t0465-reconcile-quota-refused.sh - the simulator's ResourceQuota admission against the product:
# a store whose volume does not fit its namespace's quota fails at once, with the refusal in
# plain words, counted as a quota failure in /metrics' source.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-reconcile.sh"

# The real charts and plans, with the default plan's WooCommerce database volume larger than
# its quota's storage (a plan sizes the volumes: charts/plans-local.yaml).
python3 - "$SF_ROOT/charts/plans-local.yaml" "$T/plans.yaml" <<'PY'
import re, sys
s = open(sys.argv[1]).read()
s, n = re.subn(r"(\n  small:\n(?:    .*\n)*?        mariadb: \{storage: )5Gi\}", r"\g<1>25Gi}", s)
assert n == 1, "the small plan's mariadb storage moved: update this test"
open(sys.argv[2], "w").write(s)
PY
export SF_PLANS_FILE=$T/plans.yaml SF_FAILURE_GRACE=600
rc_stack
rc_user tenant@example.com >/dev/null
rc_store bigvolum woocommerce
ok "the store fails" rc_until 60 "(SELECT status = 'failed' FROM stores WHERE id = 'bigvolum')"
reason=$(rc_sql "SELECT status_reason FROM stores WHERE id = 'bigvolum'")
like "$reason" "^the store's resource quota refused persistentvolumeclaims \"[a-z0-9-]+\": it asks for requests.storage=25Gi, and requests.storage=5Gi of requests.storage=20Gi is in use already \\(quota [a-z0-9-]+\\)$" \
	"the reason says in plain words what the quota refused, and why ($reason)"
is "$(rc_sql "SELECT value FROM metric_counters WHERE name = 'store_failures' AND l1 = 'quota'")" 1 \
	"counted as a quota failure"
kubectl get resourcequota -n store-bigvolum -o jsonpath='{.items[0].status.hard.requests\.storage}' >"$T/hard" 2>&1
is "$(cat "$T/hard")" 20Gi "the quota the simulator enforced is the plan's (20Gi)"
done_testing
