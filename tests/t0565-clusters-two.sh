#!/bin/bash
# t0565-clusters-two.sh - reconcile serves every registered cluster: two kubesims as two clusters, a cluster added while a run runs is served from its next pass, each store is provisioned on its own cluster only, with its cluster's store domain and ingress, each cluster with its own watches and leases; a delete goes to the store's cluster.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-reconcile.sh"
. "$SF_ROOT/tests/lib-multicluster.sh"

rc_stack
mc_second || bail "cannot start the second kubesim"
rc_user tenant@example.com >/dev/null
ns_of() { "$1" get namespace "store-$2" -o name 2>/dev/null; }
# stores are inserted as the web app inserts them, with the cluster its placement chose
mc_store home0001 woocommerce default

rc_for 60s
ok "the default cluster's store is ready" wait_for 30 mc_status_is home0001 ready
mc_register eu-2 "$K2_ADDR" eu2.shops.test "$K2_INGRESS" || bail "cannot register eu-2"
mc_store away0001 woocommerce eu-2
mc_store away0002 medusa eu-2
mc_store home0002 medusa default
all_ready() { [ "$(rc_sql "SELECT count(*) FROM stores WHERE status = 'ready'")" = 4 ]; }
ok "the stores placed on eu-2, added while the run runs, are ready" wait_for 40 all_ready
ok "the run said it serves eu-2 from its next pass" grep -q 'cluster eu-2: serving it' "$T/reconcile.log"

for id in home0001 home0002; do
	is "$(ns_of k1 "$id")" "namespace/store-$id" "$id: its namespace is on the default cluster"
	is "$(ns_of k2 "$id")" "" "$id: and not on eu-2"
done
for id in away0001 away0002; do
	is "$(ns_of k2 "$id")" "namespace/store-$id" "$id: its namespace is on eu-2"
	is "$(ns_of k1 "$id")" "" "$id: and not on the default cluster"
	is "$(k2 get ingress -n "store-$id" -o jsonpath='{.items[0].spec.rules[0].host}')" \
		"store-$id.eu2.shops.test" "$id: its host is in eu-2's store domain"
	is "$(rc_sql "SELECT message FROM store_events WHERE store_id = '$id' AND step = 'ingress'")" \
		"the store answers at http://store-$id.eu2.shops.test/" \
		"$id: probed through eu-2's ingress with that host"
done
is "$(k1 get ingress -n store-home0001 -o jsonpath='{.items[0].spec.rules[0].host}')" \
	"store-home0001.127.0.0.1.nip.io" "the default cluster's store keeps the configuration's domain"

# one view per cluster: rows, watch leases and fencing tokens of its own
is "$(rc_sql "SELECT string_agg(DISTINCT cluster, ',' ORDER BY cluster) FROM observed_objects WHERE store_id LIKE 'away%'")" \
	eu-2 "eu-2's stores are observed in eu-2's view"
is "$(rc_sql "SELECT string_agg(DISTINCT cluster, ',' ORDER BY cluster) FROM observed_objects WHERE store_id LIKE 'home%'")" \
	default "the default cluster's in its own"
is "$(rc_sql "SELECT cluster || ':' || count(*) FILTER (WHERE held_until > now() AND token > 0 AND resource_version <> '')
	FROM observed_kinds GROUP BY cluster ORDER BY cluster" | tr '\n' ' ')" "default:4 eu-2:4 " \
	"each cluster's four kinds are watched under a lease of their own"
is "$(rc_sql "SELECT string_agg(name || ':' || reachable || ':' || trouble || ':' || (checked_at IS NOT NULL), ' ' ORDER BY name) FROM clusters")" \
	"default:true::true eu-2:true::true" "both clusters are recorded reachable"

# a change on eu-2 is seen through eu-2's watch: a deleted Deployment degrades only that store
k2 delete deployment wordpress -n store-away0001 >/dev/null
put_back() { [ "$(rc_sql "SELECT count(*) FROM store_events WHERE store_id = 'away0001' AND message LIKE '% is missing: put back'")" -ge 1 ]; }
ok "a Deployment deleted on eu-2 is seen and put back" wait_for 20 put_back
ok "the store is ready again" wait_for 20 mc_status_is away0001 ready
is "$(k2 get deployment wordpress -n store-away0001 -o name)" deployment.apps/wordpress \
	"its Deployment is back on eu-2"
is "$(rc_sql "SELECT count(*) FROM stores WHERE status <> 'ready'")" 0 "no other store moved"

# a delete goes to the store's own cluster
rc_sql "UPDATE stores SET status = 'deleting', desired = 'absent', delete_requested_at = now(),
	next_attempt_at = now() WHERE id = 'away0002'"
ok "the eu-2 store is deleted" wait_for 20 mc_status_is away0002 deleted
is "$(ns_of k2 away0002)" "" "its namespace is gone from eu-2"
is "$(rc_status home0002)" ready "the default cluster's stores are untouched"
seen=$(wc -l <"$T/reconcile.log")
steady() { tail -n +"$((seen + 1))" "$T/reconcile.log" | grep 'reconcile: pass:' | grep -q ' 0 kubernetes requests '; }
ok "a steady pass over the two clusters makes no Kubernetes request" wait_for 10 steady
rc_stop
done_testing
