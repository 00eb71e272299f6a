#!/bin/bash
# t0464-kubesim-client.sh - the product's Kubernetes client (src/fleet/k8s.c) parses and classifies kubesim's quota 403, immutable-field 422 and expired-continue 410 (tests/unit/x-kubesim-refusals.c).
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-kubesim.sh"

ks_start --continue-ttl-ms 1000
# x-kubesim-refusals prints its own plan and TAP lines; this script provides the simulator.
# Not `exec`: the EXIT trap must still stop kubesim and remove $T.
"$SF_BUILD/tests/x-kubesim-refusals"
exit $?
