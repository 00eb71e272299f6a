#!/bin/bash
# t0583-admission-placement.sh - kubesim's Nodes and StorageClasses through kubectl; reconcile records a cluster's schedulable allocatable and StorageClasses (at most every capacity_interval); a create goes to the cluster with the most free capacity, in the region asked for, never to a draining one.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-stores.sh"
. "$SF_ROOT/tests/lib-reconcile.sh"

export SF_CREATE_COOLDOWN=0 SF_CREATES_PER_HOUR=100 SF_STORES_PER_TENANT=20
rc_stack --node big=8,32Gi --node small=3500m,6Gi --node cordoned=4,8Gi,unschedulable \
	--node sick=4,8Gi,notready --storage-class local-path=default --storage-class fast
export SF_COOKIE_SECURE=false SF_REGISTRATION_OPEN=true
app_start "$T" "${SF_TEST_WORKERS:-2}" || bail "cannot start storefleet.fcgi"
nginx_start "$T" || bail "cannot start nginx"

# --- kubesim: Nodes and StorageClasses as kubectl reads them -------------------------------------
is "$(kubectl get nodes -o name | sort | tr '\n' ' ')" "node/big node/cordoned node/sick node/small " \
	"kubectl get nodes: the nodes kubesim started with"
is "$(kubectl get node small -o jsonpath='{.status.allocatable.cpu}/{.status.allocatable.memory}/{.status.conditions[?(@.type=="Ready")].status}')" \
	"3500m/6Gi/True" "a node's allocatable and its Ready condition"
is "$(kubectl get node cordoned -o jsonpath='{.spec.unschedulable}'):$(kubectl get node sick -o jsonpath='{.status.conditions[0].status}')" \
	"true:False" "a cordoned node and a node that is not Ready"
like "$(kubectl get nodes --no-headers | awk '{print $1 ":" $2}' | sort | tr '\n' ' ')" \
	'^big:Ready cordoned:Ready,SchedulingDisabled sick:NotReady small:Ready $' "kubectl get nodes: the STATUS column as a real cluster shows it"
is "$(kubectl get storageclass -o name | sort | tr '\n' ' ')" \
	"storageclass.storage.k8s.io/fast storageclass.storage.k8s.io/local-path " "kubectl get storageclass"
is "$(kubectl get sc local-path -o jsonpath='{.metadata.annotations.storageclass\.kubernetes\.io/is-default-class}')" true \
	"local-path is the default class"

# --- reconcile reads the capacity ----------------------------------------------------------------
capacity() { rc_sql "SELECT nodes || ' ' || cpu_millis || ' ' || memory_bytes FROM cluster_capacity WHERE cluster = 'default'"; }
classes() { rc_sql "SELECT string_agg(name, ' ' ORDER BY name) FROM cluster_storage_classes WHERE cluster = 'default'"; }
is "$(capacity)" "" "never observed before reconcile runs"
rc_once --no-lock || bail "reconcile pass failed"
is "$(capacity)" "2 11500 $((38 * 1024 ** 3))" \
	"one pass: the schedulable, Ready nodes' allocatable (8 + 3.5 CPU, 32 + 6 Gi), cordoned and NotReady ones left out"
is "$(classes)" "fast local-path" "... and the cluster's StorageClasses"
like "$(grep -c 'reconcile: capacity' "$T/reconcile.log")" '^0$' "no capacity warning in the log"

# a node grows, another is cordoned, a class goes: not re-read before capacity_interval (60 s) ...
kubectl patch node small --subresource=status --type=merge -p '{"status":{"allocatable":{"cpu":"5500m"}}}' >/dev/null
kubectl cordon big >/dev/null
kubectl delete storageclass fast >/dev/null
rc_once --no-lock
is "$(capacity)" "2 11500 $((38 * 1024 ** 3))" "a second pass within capacity_interval reads nothing again"
# ... and read at once when it is 0
SF_CAPACITY_INTERVAL=0 rc_once --no-lock
is "$(capacity):$(classes)" "1 5500 $((6 * 1024 ** 3)):local-path" \
	"capacity_interval 0: the resized node, the cordoned one gone, the deleted class gone"
kubectl uncordon big >/dev/null
SF_CAPACITY_INTERVAL=0 rc_once --no-lock
is "$(capacity)" "2 13500 $((38 * 1024 ** 3))" "uncordoned: counted again"

# --- placement: the most free capacity, the region asked for, never a draining cluster ---------
# three more clusters as `storefleetctl cluster add` and reconcile would leave them (rows only:
# the web app reads them, it never talks to Kubernetes)
rc_sql "INSERT INTO clusters (name, region, state) VALUES ('eu-1', 'eu-west', 'active'), ('eu-2', 'eu-west', 'active'), ('us-1', 'us-east', 'active');
	INSERT INTO cluster_capacity (cluster, nodes, cpu_millis, memory_bytes) VALUES
	  ('eu-1', 3, 20000, 80 * 1024::bigint ^ 3), ('eu-2', 2, 18500, 80 * 1024::bigint ^ 3), ('us-1', 1, 4000, 16 * 1024::bigint ^ 3);
	INSERT INTO cluster_storage_classes (cluster, name, is_default) VALUES ('eu-1', 'local-path', true), ('eu-2', 'local-path', true), ('us-1', 'local-path', true)"
tok=$(user_token owner@example.com) || bail "no token"
tok2=$(user_token second@example.com) || bail "no token"
create() { # TOKEN BODY -> the cluster of the new store, or the status and message
	api_json POST /api/v1/stores "$1" "$2"
	if [ "$STATUS" = 201 ]; then
		q "SELECT cluster FROM stores WHERE id = '$(json_get 'j["store"]["id"]')'"
	else
		echo "$STATUS $(json_get 'j["error"]["message"]')"
	fi
}
is "$(create "$tok" '{"name":"A","engine":"woocommerce"}')" eu-1 \
	"no region: the cluster with the most free CPU (eu-1 20 CPU; eu-2 18.5, default 13.5, us-1 4)"
is "$(create "$tok" '{"name":"B","engine":"woocommerce"}')" eu-2 \
	"eu-1 has 18.5 CPU free now, as much as eu-2: the one with more memory free, eu-2"
is "$(create "$tok" '{"name":"C","engine":"woocommerce"}')" eu-1 "eu-1 18.5 CPU free, eu-2 17: eu-1"
is "$(create "$tok" '{"name":"D","engine":"medusa","region":"us-east"}')" us-1 "region us-east: us-1, though it has the least room"
is "$(q "SELECT details->>'cluster' || '/' || (details->>'region') FROM audit_log WHERE action = 'store.create' ORDER BY id DESC LIMIT 1")" \
	"us-1/us-east" "the audit row of the create names the region and the cluster"
rc_sql "UPDATE clusters SET state = 'draining' WHERE name = 'eu-1'"
is "$(create "$tok" '{"name":"E","engine":"medusa","region":"eu-west"}')" eu-2 "eu-1 draining: eu-west's store goes to eu-2"
is "$(create "$tok2" '{"name":"F","engine":"woocommerce"}')" eu-2 \
	"no region: eu-2 (15 CPU free) before default (13.5); the draining eu-1 (17) is skipped"
is "$(q "SELECT count(*) FROM stores WHERE cluster = 'eu-1'")" 2 "the draining cluster got nothing more"
# a deleted store gives its room back; the operator's max_cpu_millis bounds what the nodes offer
rc_sql "UPDATE stores SET status = 'deleted', desired = 'absent' WHERE cluster = 'eu-2'"
rc_sql "UPDATE clusters SET max_cpu_millis = 14000 WHERE name = 'eu-2'"
is "$(create "$tok2" '{"name":"G","engine":"woocommerce"}')" eu-2 \
	"eu-2's deleted stores count no more: 14 CPU free (its limit, below its 18.5 allocatable) before default's 13.5"
is "$(create "$tok2" '{"name":"H","engine":"woocommerce"}')" default "then eu-2 has 12.5 free: default"

# --- the create form offers the regions (more than one) and honours the choice -----------------
ok "signed in" test "$(browser_login second@example.com "$T/jar")" = 303
page "$T/jar" GET /stores
like "$BODY" '<select id="store-region" name="region"' "the form has a region field"
like "$BODY" '<option value="eu-west">eu-west</option><option value="us-east">us-east</option>' \
	"... listing the regions of the clusters that take stores"
csrf=$(page_csrf)
page "$T/jar" POST /stores --data-urlencode "csrf_token=$csrf" --data-urlencode "name=Form" \
	--data-urlencode engine=medusa --data-urlencode region=us-east
is "$STATUS" 303 "the form's create is accepted"
is "$(q "SELECT cluster FROM stores WHERE name = 'Form'")" us-1 "... and placed in the region chosen"
done_testing
