#!/bin/bash
# t0020-validator.sh - tools/k8s-validate against its own cases (tests/validator): valid passes, invalid fails as expected.
#
# tests/validator/valid/*      pass, no problems (warnings allowed)
# tests/validator/responses/*  pass with --no-apply-checks (server output: status, managedFields...)
# tests/validator/invalid/*    exit 1; every "# expect: TEXT" line is part of a reported problem
#                              and every reported problem contains one of them
# Then stdin, the Service name rule, -W, usage errors and where the schema comes from.
# tests/validator/run.sh runs the same cases without TAP.
. "$SF_ROOT/tests/lib.sh"

V=$VALIDATE
C=$SF_ROOT/tests/validator
quiet() { "$@" >/dev/null 2>&1; }	# for the cases meant to fail: their report is not TAP

ok "tools/k8s-validate is executable" test -x "$V"
ok "the vendored schema is there ($K8S_SCHEMA)" \
	test -s "$K8S_SCHEMA/swagger-subset.json" -a -s "$K8S_SCHEMA/resources.json"

n=0
for f in "$C"/valid/*; do
	n=$((n + 1))
	out=$("$V" -q "$f" 2>&1)
	is "$?:$out" "0:" "valid/${f##*/} passes"
done
ok "there are valid cases ($n)" test "$n" -ge 3

n=0
for f in "$C"/responses/*; do
	n=$((n + 1))
	out=$("$V" -q --no-apply-checks "$f" 2>&1)
	is "$?:$out" "0:" "responses/${f##*/} passes with --no-apply-checks"
done
ok "there are response cases ($n)" test "$n" -ge 2

# Prints what differs between the "# expect:" lines of $1 and the problems in $2.
expect_diff() {
	python3 - "$1" "$2" <<'PY'
import sys
exp = [l.split("# expect:", 1)[1].strip() for l in open(sys.argv[1]) if l.startswith("# expect:")]
got = [l.rstrip("\n") for l in open(sys.argv[2]) if l.strip() and not l.startswith("warning:")]
bad = ["no # expect: lines"] if not exp else []
bad += ["missing: " + e for e in exp if not any(e in g for g in got)]
bad += ["unexpected: " + g for g in got if not any(e in g for e in exp)]
print("\n".join(bad))
PY
}

n=0
for f in "$C"/invalid/*.yaml; do
	n=$((n + 1))
	"$V" -q "$f" >"$T/out" 2>&1
	is "$?" 1 "invalid/${f##*/}: exit status 1"
	is "$(expect_diff "$f" "$T/out")" "" "invalid/${f##*/}: exactly the expected problems ($(grep -c '^# expect:' "$f"))"
done
ok "there are invalid cases ($n)" test "$n" -ge 10

# stdin, several documents, and the exit status on stdin
for f in "$C"/valid/*.yaml; do cat "$f"; echo "---"; done >"$T/all.yaml"
out=$("$V" -q <"$T/all.yaml" 2>&1)
is "$?:$out" "0:" "the valid YAML cases as one stream on stdin pass"
printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: Bad}\n' >"$T/bad-ns.yaml"
"$V" -q - <"$T/bad-ns.yaml" >"$T/out" 2>&1
is "$?" 1 "an invalid Namespace on stdin ('-'): exit status 1"
like "$(cat "$T/out")" '^<stdin>#1 Namespace/Bad: \$\.metadata\.name: Invalid value: "Bad"' "... and the problem names stdin"

# Service names: DNS-1035 by default, a DNS-1123 label with --relaxed-service-names
printf 'apiVersion: v1\nkind: Service\nmetadata: {name: 1web}\nspec: {ports: [{port: 80}]}\n' >"$T/svc.yaml"
nok "Service 1web refused by default" quiet "$V" -q "$T/svc.yaml"
ok "Service 1web accepted with --relaxed-service-names" "$V" -q --relaxed-service-names "$T/svc.yaml"

# Warnings do not fail unless -W; the summary counts them.
printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: ok, namespace: ignored}\n' >"$T/warn.yaml"
out=$("$V" "$T/warn.yaml" 2>&1)
is "$?" 0 "a warning alone: exit status 0"
like "$out" '^warning: .*warn\.yaml#1 Namespace/ok \(namespace ignored\): \$\.metadata\.namespace: ' "... the warning is printed"
like "$out" 'k8s-validate: 1 object\(s\), 0 problem\(s\), 1 warning\(s\) \[schema: Kubernetes v1\.36' "... and counted in the summary"
nok "-W counts the warning as a problem" quiet "$V" -q -W "$T/warn.yaml"

# Strictness that --allow-unknown-fields / --no-apply-checks relax, and only those.
nok "an unknown field is an error" quiet "$V" -q "$C/invalid/unknown-fields.yaml"
nok "managedFields in an apply request is an error" quiet "$V" -q "$C/invalid/apply.yaml"
ok "... but not with --no-apply-checks" "$V" -q --no-apply-checks "$C/invalid/apply.yaml"

# Usage and I/O errors: exit status 2
"$V" /nonexistent/file.yaml >/dev/null 2>&1
is "$?" 2 "a missing file: exit status 2"
"$V" --no-such-option "$C/valid/list.json" >/dev/null 2>&1
is "$?" 2 "an unknown option: exit status 2"

# The schema: the vendored copy by default, from any working directory; --schema-dir and
# K8S_SCHEMA_DIR choose another (a missing one is an I/O error, not a silent pass).
out=$(cd / && "$V" -q "$C/valid/store-full.yaml" 2>&1)
is "$?:$out" "0:" "works from another working directory (schema found next to the script)"
is "$("$V" --list-kinds | md5sum)" "$("$V" --schema-dir "$K8S_SCHEMA" --list-kinds | md5sum)" \
	"the default schema is tests/vendor/k8s-schema"
like "$("$V" --list-kinds)" '^apps/v1 +Deployment +namespaced +deployments' "--list-kinds lists apps/v1 Deployment"
is "$("$V" --list-kinds | awk '{print $1}' | sort -u | tr '\n' ' ')" \
	"apps/v1 batch/v1 cert-manager.io/v1 networking.k8s.io/v1 policy/v1 rbac.authorization.k8s.io/v1 v1 " \
	"the six group-versions of the vendored subset, and cert-manager's from its vendored CRDs"
is "$("$V" --crd-dir /nonexistent --list-kinds | grep -c cert-manager)" 0 "--crd-dir names another folder of CRDs"
K8S_SCHEMA_DIR=$T/nowhere "$V" -q "$C/valid/list.json" >"$T/out" 2>&1
is "$?" 2 "K8S_SCHEMA_DIR pointing nowhere: exit status 2"
like "$(cat "$T/out")" "cannot load schema: .*$T/nowhere/swagger-subset\.json" "... naming the file it looked for"
"$V" -q --schema-dir "$T/nowhere" "$C/valid/list.json" >/dev/null 2>&1
is "$?" 2 "--schema-dir pointing nowhere: exit status 2"
mkdir "$T/copy" && cp "$K8S_SCHEMA/swagger-subset.json" "$K8S_SCHEMA/resources.json" "$T/copy/"
ok "K8S_SCHEMA_DIR pointing at a copy works" env K8S_SCHEMA_DIR="$T/copy" "$V" -q "$C/valid/list.json"

# The non-TAP runner agrees.
out=$(sh "$C/run.sh" 2>&1)
is "$?" 0 "tests/validator/run.sh passes"
like "$out" 'self-test: [0-9]+ passed, 0 failed' "... with nothing failed"

done_testing
