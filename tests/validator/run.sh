#!/bin/sh
# Self-test for tools/k8s-validate, without TAP or a build.
# Usage: tests/validator/run.sh   (make test runs the same cases as tests/t0020-validator.sh)
# VALIDATE=/path/to/k8s-validate picks another copy of the validator.
# valid/*      must pass with no problems (warnings allowed)
# responses/*  must pass with --no-apply-checks (server output: status, managedFields...)
# invalid/*    must fail; every "# expect: TEXT" line must match a reported problem
#              and every reported problem must match some "# expect:" line.
set -u
here=$(cd "$(dirname "$0")" && pwd)
v=${VALIDATE:-$here/../../tools/k8s-validate}
fail=0
pass=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT

ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

for f in "$here"/valid/*; do
    if "$v" -q "$f" >"$out" 2>&1; then ok; else bad "$f should be valid:"; cat "$out"; fi
done
for f in "$here"/responses/*; do
    if "$v" -q --no-apply-checks "$f" >"$out" 2>&1; then ok; else bad "$f should be valid:"; cat "$out"; fi
done
for f in "$here"/invalid/*.yaml; do
    "$v" -q "$f" >"$out" 2>&1
    rc=$?
    if [ "$rc" -ne 1 ]; then bad "$f: exit status $rc, want 1"; cat "$out"; continue; fi
    res=$(python3 - "$f" "$out" <<'PY'
import sys
exp = [l.split("# expect:", 1)[1].strip() for l in open(sys.argv[1]) if l.startswith("# expect:")]
got = [l.rstrip("\n") for l in open(sys.argv[2]) if l.strip() and not l.startswith("warning:")]
bad = ["missing: " + e for e in exp if not any(e in g for g in got)]
bad += ["unexpected: " + g for g in got if not any(e in g for e in exp)]
print("\n".join(bad))
PY
)
    if [ -n "$res" ]; then bad "$f"; echo "$res"; else ok; fi
done

# stdin, multi-document input and the exit status on stdin
if for f in "$here"/valid/*.yaml; do cat "$f"; echo "---"; done | "$v" -q >"$out" 2>&1; then
    ok; else bad "stdin (valid)"; cat "$out"; fi
if printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: Bad}\n' | "$v" -q - >"$out" 2>&1; then
    bad "stdin (invalid) passed"
else ok; fi
# Service names: DNS-1035 by default, DNS-1123 label with --relaxed-service-names
svc='apiVersion: v1
kind: Service
metadata: {name: 1web}
spec: {ports: [{port: 80}]}'
if printf '%s\n' "$svc" | "$v" -q >"$out" 2>&1; then bad "service 1web accepted by default"; else ok; fi
if printf '%s\n' "$svc" | "$v" -q --relaxed-service-names >"$out" 2>&1; then ok; else bad "relaxed service name"; cat "$out"; fi
# warnings do not fail unless -W
ns='apiVersion: v1
kind: Namespace
metadata: {name: ok, namespace: ignored}'
if printf '%s\n' "$ns" | "$v" -q >"$out" 2>&1; then ok; else bad "warning counted as error"; cat "$out"; fi
if printf '%s\n' "$ns" | "$v" -q -W >"$out" 2>&1; then bad "-W ignored"; else ok; fi
# usage error
"$v" /nonexistent/file.yaml >"$out" 2>&1
[ $? -eq 2 ] && ok || bad "missing file should exit 2"

echo "validate self-test: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
