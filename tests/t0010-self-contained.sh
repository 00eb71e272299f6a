#!/bin/bash
# t0010-self-contained.sh - nothing in the repository reads files outside it; the test data is vendored.
#
# The project brief's folder (k8s-schema, mustache-spec, reference) sits beside
# the repository on some machines and not on others: a file that reaches
# for it, or for any path above the repository root, works here and breaks in
# a clean clone.  What the tests need is in tests/vendor/ (see the READMEs
# there) and the validator is tools/k8s-validate.
#
# Files checked: git ls-files (tracked files), or every file under $SF_ROOT
# (minus .git, build/, var/, node_modules/) when it is not a git checkout.
# This file is the one exception: it has to spell the patterns.
. "$SF_ROOT/tests/lib.sh"

SELF=tests/t0010-self-contained.sh

# Prints the repository's files, relative to $1, one per line.
repo_files() {
	if git -C "$1" rev-parse --is-inside-work-tree >/dev/null 2>&1 &&
		[ "$(git -C "$1" rev-parse --show-toplevel)" = "$(cd "$1" && pwd -P)" ]; then
		git -C "$1" ls-files
	else
		(cd "$1" && find . \( -path ./.git -o -path ./build -o -path ./var -o -path ./node_modules \) -prune \
			-o -type f -print | sed 's|^\./||' | sort)
	fi
}

# check ROOT LIST: prints "file:line: why: text" for every reference out of ROOT.
#  1. names of the brief's folder: ../shared, shared/k8s-schema, shared/mustache-spec,
#     shared/reference, /work/, SF_SHARED (the old override), in any text file;
#  2. the repository root climbed out of: $SF_ROOT/.., ${SF_ROOT}/.., $(CURDIR)/.., $ROOT/..;
#  3. in Makefile, .ci/ and tools/ (run from the repository root): a path starting "../";
#  4. a script that finds files next to itself (dirname, __file__, $0, HERE, $here) and
#     climbs more ".." than it is deep: tools/x.py may go up one level, tests/validator/x two.
check() {
	python3 - "$1" "$2" "$SELF" <<'PY'
import os, re, sys
root, listing, self_ = sys.argv[1:4]
names = re.compile(r"\.\./shared|shared/k8s-schema|shared/mustache-spec|shared/reference|/work/|SF_SHARED")
climb_root = re.compile(r"(\$\{?(SF_ROOT|ROOT|TOP|REPO)\}?|\$\(CURDIR\)|\$\(abspath \.\)|\$\(TOP\))/\.\.(?![\w.-])")
leading_up = re.compile(r"(^|[\s\"'=(:,;])\.\./")
anchor = re.compile(r"__file__|dirname|\$0\b|\bHERE\b|\$\{?here\b")
dotdot = re.compile(r"(?<![\w.])\.\.(?![\w.])")
bad = []
for rel in open(listing).read().split("\n"):
    if not rel or rel == self_:
        continue
    p = os.path.join(root, rel)
    if not os.path.isfile(p) or os.path.islink(p):
        continue
    with open(p, "rb") as f:
        data = f.read()
    if b"\0" in data[:8192]:
        continue                                   # binary
    text = data.decode("utf-8", "replace")
    depth = rel.count("/")
    run_from_root = rel == "Makefile" or rel.startswith((".ci/", "tools/"))
    for n, line in enumerate(text.split("\n"), 1):
        why = None
        if names.search(line):
            why = "names the brief's folder"
        elif climb_root.search(line):
            why = "climbs out of the repository root"
        elif run_from_root and leading_up.search(line):
            why = "a ../ path from the repository root"
        else:
            m = anchor.search(line)
            if m and len(dotdot.findall(line[m.end():])) > depth:
                why = "climbs %d levels from a file %d deep" % (len(dotdot.findall(line[m.end():])), depth)
        if why:
            bad.append("%s:%d: %s: %s" % (rel, n, why, line.strip()[:160]))
print("\n".join(bad))
PY
}

# The checker itself: it catches each kind of reference (in a scratch tree, not a git checkout).
F=$T/fixture
mkdir -p "$F/tools" "$F/tests/unit" "$F/tests/validator" "$F/.ci" "$F/docs"
printf 'SHARED=${SF_SHARED:-$SF_ROOT/../shared}\n' >"$F/tests/lib.sh"
printf 'snprintf(p, n, "%%s/../shared/mustache-spec/%%s.json", root, b);\n' >"$F/tests/unit/t-x.c"
printf 'root = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "k8s-schema")\n' >"$F/tools/gen.py"
printf 'see /work/shared/reference/engines.md\n' >"$F/docs/a.md"
printf 'test:\n\tsh $(CURDIR)/../other/run.sh\n\tsh ../elsewhere/x.sh\n' >"$F/Makefile"
printf 'v="$here/../../../validate"\n' >"$F/tests/validator/run.sh"
# and these are fine
printf 'cd "$(dirname "$0")/.."\n' >"$F/.ci/run"
printf 'V = os.path.join(HERE, "..", "tests", "vendor", "k8s-schema")\n' >"$F/tools/ok.py"
printf 'v=${VALIDATE:-$here/../../tools/k8s-validate}\nhttp GET /static/../Makefile\n' >"$F/tests/validator/ok.sh"
printf 'x\0../shared\n' >"$F/docs/binary.png"
printf 'the self-contained test may say ../shared\n' >"$F/$SELF" 2>/dev/null ||
	{ mkdir -p "$(dirname "$F/$SELF")" && printf 'the self-contained test may say ../shared\n' >"$F/$SELF"; }
repo_files "$F" >"$T/fixture.list"
got=$(check "$F" "$T/fixture.list" | cut -d: -f1,2 | sort | tr '\n' ' ')
is "$got" "Makefile:2 Makefile:3 docs/a.md:1 tests/lib.sh:1 tests/unit/t-x.c:1 tests/validator/run.sh:1 tools/gen.py:1 " \
	"the checker flags each kind of outside reference, and nothing else, in a scratch tree"
is "$(wc -l <"$T/fixture.list" | tr -d ' ')" 11 "outside a git checkout every file is listed (find)"

# The repository.
repo_files "$SF_ROOT" >"$T/repo.list"
n=$(wc -l <"$T/repo.list" | tr -d ' ')
ok "the repository has files to check ($n)" test "$n" -gt 100
git -C "$SF_ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1 || diag "not a git checkout: files found with find"
missing=
for f in Makefile tests/lib.sh tools/gen-kubesim-schema.py tests/unit/t-tpl.c; do
	grep -qxF "$f" "$T/repo.list" || missing="$missing $f"
done
is "$missing" "" "the list holds the Makefile, the tests and the tools"
out=$(check "$SF_ROOT" "$T/repo.list")
is "$?:$out" "0:" "no file refers to the brief's folder or to a path outside the repository"

# The vendored data is where its readers look, and it is what the READMEs say it is.
V=$SF_ROOT/tests/vendor
out=$(python3 - "$V" <<'PY'
import hashlib, json, os, re, sys
v = sys.argv[1]
bad = []
def blob(p):
    d = open(p, "rb").read()
    return hashlib.sha1(b"blob %d\0" % len(d) + d).hexdigest()
for f in ("comments", "interpolation", "inverted", "partials", "sections"):
    p = os.path.join(v, "mustache-spec", f + ".json")
    try:
        t = json.load(open(p))["tests"]
        if not t or not all("template" in c and "expected" in c for c in t):
            bad.append("%s: no test cases" % p)
    except (OSError, ValueError, KeyError) as e:
        bad.append("%s: %s" % (p, e))
def read(p):
    try:
        return open(p).read()
    except OSError as e:
        bad.append(str(e))
        return ""
readme = read(os.path.join(v, "mustache-spec", "README.md"))
for f in ("comments.json", "interpolation.json", "inverted.json", "partials.json", "sections.json", "LICENSE"):
    p = os.path.join(v, "mustache-spec", f)
    if os.path.exists(p) and not re.search(r"`%s` \| `%s`" % (re.escape(f), blob(p)), readme):
        bad.append("mustache-spec/README.md: the git blob of %s is not %s" % (f, blob(p)))
k = os.path.join(v, "k8s-schema")
try:
    sw = json.load(open(os.path.join(k, "swagger-subset.json")))
    res = json.load(open(os.path.join(k, "resources.json")))
    if sw.get("swagger") != "2.0" or len(sw["definitions"]) < 300 or "apps/v1/deployments" not in res:
        bad.append("k8s-schema: not the expected subset")
except (OSError, ValueError, KeyError) as e:
    bad.append("k8s-schema: %s" % e)
readme = read(os.path.join(k, "README.md"))
for f in ("swagger-subset.json", "resources.json"):
    if not os.path.isfile(os.path.join(k, f)):
        continue
    h = hashlib.sha256(open(os.path.join(k, f), "rb").read()).hexdigest()
    if not re.search(r"`%s` \|.*`%s`" % (re.escape(f), h), readme):
        bad.append("k8s-schema/README.md: the sha256 of %s is not %s" % (f, h))
for f in ("mustache-spec/LICENSE", "k8s-schema/LICENSE-Apache-2.0.txt", "k8s-schema/tools/extract.py"):
    if not os.path.isfile(os.path.join(v, f)):
        bad.append("missing: " + f)
print("\n".join(bad))
PY
)
is "$?:$out" "0:" "tests/vendor: the Mustache spec and the Kubernetes schema are there, as their READMEs describe"
ok "t-tpl reads the Mustache spec from \$SF_ROOT/tests/vendor/mustache-spec" \
	grep -qF '"%s/tests/vendor/mustache-spec/%s.json", root' "$SF_ROOT/tests/unit/t-tpl.c"
like "$("$VALIDATE" --help)" 'tests/vendor/k8s-schema' "tools/k8s-validate reads tests/vendor/k8s-schema by default"
is "${K8S_SCHEMA-}" "$SF_ROOT/tests/vendor/k8s-schema" "lib.sh points \$K8S_SCHEMA at tests/vendor/k8s-schema"
python3 "$SF_ROOT/tools/gen-kubesim-schema.py" >"$T/schema_gen.c" 2>"$T/gen.err"
is "$?:$(cat "$T/gen.err")" "0:" "tools/gen-kubesim-schema.py runs on the vendored schema"
ok "src/kubesim/schema_gen.c is what it generates from tests/vendor/k8s-schema" \
	cmp -s "$T/schema_gen.c" "$SF_ROOT/src/kubesim/schema_gen.c"

done_testing
