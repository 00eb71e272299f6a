#!/bin/bash
# t0450-k8s-rbac.sh - docs/rbac.yaml: valid, shown verbatim in docs/kubernetes.md, covering what the blueprints apply.
. "$SF_ROOT/tests/lib.sh"

validate=$VALIDATE
rbac="$SF_ROOT/docs/rbac.yaml"

out=$("$validate" "$rbac" 2>&1)
ok "docs/rbac.yaml passes the schema validator" test $? -eq 0
like "$out" '4 object\(s\), 0 problem' "four objects, no problems ($out)"

# The ClusterRole and binding in the guide are the file (minus its header comment).
doc=$(python3 - "$SF_ROOT/docs/kubernetes.md" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
sec = text.split("## 4.", 1)[1].split("\n## ", 1)[0]
print(re.search(r"```yaml\n(.*?)```", sec, re.S).group(1), end="")
PY
)
file=$(grep -v '^#' "$rbac")
is "$doc" "$file" "docs/kubernetes.md section 4 shows docs/rbac.yaml verbatim"

# Every kind a blueprint applies needs create + patch (server-side apply that may create).
# store blueprints only: charts/platform is storefleet itself, applied by an operator
manifests=()
for f in "$SF_ROOT"/charts/*/manifests/*.yaml; do
	case $f in */charts/platform/*) ;; *) manifests+=("$f") ;; esac
done
# charts/platform is storefleet's own install (applied by the operator, not by reconcile): t0600
manifests=(${manifests[@]/*\/charts\/platform\/*/})
missing=$(python3 - "$K8S_SCHEMA/resources.json" "$rbac" "${manifests[@]}" <<'PY'
import json, re, sys, yaml
res = json.load(open(sys.argv[1]))
# keys are "<group/>version/plural"; subresources have none of their own here
plural = {(r["group"], r["kind"]): key.rsplit("/", 1)[1] for key, r in res.items()}
role = [d for d in yaml.safe_load_all(open(sys.argv[2])) if d and d["kind"] == "ClusterRole"][0]
def allowed(group, plural_, verb):
    return any(group in r["apiGroups"] and plural_ in r["resources"] and verb in r["verbs"]
               for r in role["rules"])
bad = set()
for path in sys.argv[3:]:
    for doc in re.split(r"^---\s*$", open(path).read(), flags=re.M):
        av = re.search(r"^apiVersion:\s*(\S+)", doc, re.M)
        kind = re.search(r"^kind:\s*(\S+)", doc, re.M)
        if not av or not kind:
            continue
        group = av.group(1).rsplit("/", 1)[0] if "/" in av.group(1) else ""
        p = plural.get((group, kind.group(1)))
        for verb in ("create", "patch"):
            if not p or not allowed(group, p, verb):
                bad.add("%s %s/%s" % (verb, group or "core", p or kind.group(1)))
print(" ".join(sorted(bad)) or "none")
PY
)
is "$missing" "none" "every kind in the store blueprints (charts/<engine>/manifests) has create and patch"
ok "there are blueprint manifests to check (${#manifests[@]})" test -f "${manifests[0]}"

# The platform chart deploys the same role: the same (group, resource, verb) triples.
platform="$SF_ROOT/charts/platform/manifests/10-rbac.yaml"
if [ -f "$platform" ]; then
	diff=$(python3 - "$rbac" "$platform" <<'PY'
import re, sys, yaml
def triples(path):
    text = re.sub(r"\$\{[^}]*\}", "x", open(path).read())
    role = [d for d in yaml.safe_load_all(text) if d and d.get("kind") == "ClusterRole"][0]
    return {(g, r, v) for rule in role["rules"] for g in rule["apiGroups"]
            for r in rule["resources"] for v in rule["verbs"]}
a, b = triples(sys.argv[1]), triples(sys.argv[2])
print(" ".join(["-%s/%s:%s" % t for t in sorted(a - b)] + ["+%s/%s:%s" % t for t in sorted(b - a)]) or "same")
PY
)
	is "$diff" "same" "docs/rbac.yaml grants exactly what charts/platform's ClusterRole grants"
else
	ok "# SKIP no charts/platform/manifests/10-rbac.yaml" true
fi

# Nothing broader than needed: no wildcards, no update/deletecollection/escalate/bind (watch is
# used: reconcile lists the four observed kinds once, then watches them, src/fleet/observe.c).
unlike "$(grep -E 'verbs:' "$rbac")" '\*|update|deletecollection|escalate|bind|impersonate' "no verb beyond what the client uses"
is "$(grep -c 'watch' <<<"$(grep -E 'verbs:' "$rbac")")" 4 "watch on the four observed kinds only"
like "$(grep -B2 'delete\]' "$rbac" | tr '\n' ' ')" 'resources: \[namespaces\]' "delete only on namespaces"

done_testing
