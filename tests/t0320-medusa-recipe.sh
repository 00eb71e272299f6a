#!/bin/bash
# t0320-medusa-recipe.sh - the Medusa image recipe (charts/medusa/image) agrees with itself and with the rendered chart, without npm, network or a container runtime.
#
# The versions the chart offers are exactly those the recipe builds
# (image/versions/<version>/); each lock matches its package.json; the Containerfile pins its Node.js base, runs as
# the pods' uid and puts the application where the pods' workingDir and
# uploads volume say; every script the manifests run exists in the recipe;
# medusa-config registers the Redis modules; DATABASE_URL carries
# sslmode=disable and the cookie follows the overlay in both overlays; the
# app waits for the migrations.  tools/check-engines-medusa.sh (t0320-medusa-run)
# then runs all of it for real.
. "$SF_ROOT/tests/lib.sh"

CTL=$SF_BUILD/bin/storefleetctl
RECIPE=$SF_ROOT/charts/medusa/image
export SF_CHARTS_DIR=$SF_ROOT/charts
unset SF_CONFIG SF_OVERLAY SF_DOMAIN SF_INGRESS_CLASS SF_TLS_SECRET SF_TLS_ISSUER SF_PUBLIC_ORIGIN

[ -x "$CTL" ] || bail "no $CTL: build first (make programs)"
for o in local prod; do
	"$CTL" render medusa --overlay "$o" --store-id demo1 --json --show-secrets >"$T/$o.json" 2>"$T/$o.err" ||
		bail "render medusa --overlay $o failed: $(cat "$T/$o.err")"
done

# One "PASS|FAIL <tab> name [<tab> why]" line per check.
python3 - "$RECIPE" "$SF_ROOT/charts/medusa/values.yaml" "$T" >"$T/checks" 2>"$T/checks.err" <<'PY'
import json, os, re, shlex, sys
import yaml

recipe, values_path, t = sys.argv[1:4]
results = []

def check(name, ok, why=""):
    results.append((name, bool(ok), why))

values = yaml.safe_load(open(values_path))
renders = {o: json.load(open(os.path.join(t, o + ".json")))["items"] for o in ("local", "prod")}

# --- versions: one folder per version, each pinning @medusajs/* to its name ---------------------
vdir = os.path.join(recipe, "versions")
folders = sorted(os.listdir(vdir), key=lambda v: [int(x) for x in re.findall(r"\d+", v)])
check("values.yaml versions is exactly the recipe's versions/* (%s)" % " ".join(folders),
      values.get("versions") == folders, "versions: %r" % values.get("versions"))
exact = re.compile(r"\d+\.\d+\.\d+$")
others = {}
for v in folders:
    pkg = json.load(open(os.path.join(vdir, v, "package.json")))
    lock = json.load(open(os.path.join(vdir, v, "package-lock.json")))
    deps = dict(pkg.get("dependencies", {}), **pkg.get("devDependencies", {}))
    medusa = {k: x for k, x in deps.items() if k.startswith("@medusajs/")}
    check("%s: package.json pins every dependency to an exact version" % v,
          all(exact.match(x) for x in deps.values()),
          " ".join("%s@%s" % kv for kv in deps.items() if not exact.match(kv[1])))
    check("%s: package.json pins @medusajs/* (%d packages) to %s and is that version" % (v, len(medusa), v),
          medusa and set(medusa.values()) == {v} and pkg.get("version") == v, repr(medusa))
    root = lock.get("packages", {}).get("", {})
    check("%s: package-lock.json is lockfile v3 of this package.json" % v,
          lock.get("lockfileVersion") == 3 and root.get("dependencies") == pkg.get("dependencies")
          and root.get("devDependencies") == pkg.get("devDependencies"),
          "root entry %r" % {k: root.get(k) for k in ("dependencies", "devDependencies")})
    locked = lock["packages"].get("node_modules/@medusajs/medusa", {}).get("version")
    check("%s: package-lock.json resolves @medusajs/medusa to %s" % (v, v), locked == v, repr(locked))
    noint = [k for k, p in lock["packages"].items() if k and not p.get("link") and not p.get("integrity")]
    check("%s: every locked package has an integrity hash" % v, not noint, " ".join(noint[:5]))
    others[v] = {k: x for k, x in deps.items() if not k.startswith("@medusajs/")}
check("the versions differ in @medusajs/* alone (one config and one set of scripts serve all)",
      len({json.dumps(o, sort_keys=True) for o in others.values()}) <= 1, repr(others))

# --- the Containerfile ---------------------------------------------------------------------------
lines, cur = [], ""
for raw in open(os.path.join(recipe, "Containerfile")):
    raw = raw.rstrip("\n")
    if raw.lstrip().startswith("#"):
        continue
    if raw.endswith("\\"):
        cur += raw[:-1] + " "
        continue
    cur += raw
    if cur.strip():
        lines.append(cur.strip())
    cur = ""
stages = []
for l in lines:
    word, _, rest = l.partition(" ")
    if word.upper() == "FROM":
        stages.append({"from": rest.split()[0], "env": {}, "workdir": None, "user": None, "run": []})
    elif stages:
        s = stages[-1]
        if word.upper() == "ENV":
            for w in shlex.split(rest):
                k, _, val = w.partition("=")
                s["env"][k] = val
        elif word.upper() == "WORKDIR":
            s["workdir"] = rest.strip()
        elif word.upper() == "USER":
            s["user"] = rest.strip()
        elif word.upper() == "RUN":
            s["run"].append(rest)
args = [re.match(r"ARG\s+MEDUSA_VERSION=(\S+)", l) for l in lines]
args = [a.group(1) for a in args if a]
check("the Containerfile's MEDUSA_VERSION defaults to values.yaml's version (%s)" % values.get("version"),
      args == [values.get("version")], repr(args))
check("it copies versions/${MEDUSA_VERSION}/package.json and package-lock.json",
      sum("COPY versions/${MEDUSA_VERSION}/package.json versions/${MEDUSA_VERSION}/package-lock.json" in l
          for l in lines) == 2)
bases = {s["from"] for s in stages}
pinned = [b for b in bases if re.fullmatch(r"docker\.io/library/node:\d+\.\d+\.\d+-\w+-slim(@sha256:[0-9a-f]{64})?", b)]
check("every stage's base is one pinned docker.io/library/node:X.Y.Z-<debian>-slim",
      len(bases) == 1 and len(pinned) == 1, " ".join(sorted(bases)))
m = re.search(r"node:(\d+)\.(\d+)\.", stages[0]["from"]) if stages else None
check("its Node.js satisfies package.json's engines (>=22.12)",
      m and (int(m.group(1)), int(m.group(2))) >= (22, 12), stages[0]["from"] if stages else "")
last = stages[-1] if stages else {"env": {}, "workdir": None, "user": None, "run": []}
installs = [r for s in stages for r in s["run"] if "npm " in r and (" ci" in r or "install" in r)]
check("npm installs with `npm ci --ignore-scripts` from the lock, as the check does",
      installs and all("npm ci" in r and "--ignore-scripts" in r for r in installs), " | ".join(installs))
check("the build stage runs `medusa build`", any("medusa build" in r for s in stages[:-1] for r in s["run"]))
check("the image sets NODE_ENV=production and turns Medusa's telemetry off",
      last["env"].get("NODE_ENV") == "production" and last["env"].get("MEDUSA_DISABLE_TELEMETRY") == "true",
      repr(last["env"]))

# --- the Containerfile against the pods of both overlays ------------------------------------------
def medusa_pods(items):
    for o in items:
        if o["kind"] in ("Deployment", "Job") and o["metadata"]["name"].startswith("medusa"):
            yield o

def containers(o):
    spec = o["spec"]["template"]["spec"]
    return [("init", c) for c in spec.get("initContainers", [])] + [("", c) for c in spec.get("containers", [])]

user = last["user"] or ""
for overlay, items in renders.items():
    bad_user, bad_wd, bad_mount, missing = [], [], [], []
    for o in medusa_pods(items):
        sc = o["spec"]["template"]["spec"].get("securityContext", {})
        if "%s:%s" % (sc.get("runAsUser"), sc.get("runAsGroup")) != user:
            bad_user.append(o["metadata"]["name"])
        for _, c in containers(o):
            n = "%s/%s" % (o["metadata"]["name"], c["name"])
            if c.get("workingDir") != last["workdir"]:
                bad_wd.append("%s: %s" % (n, c.get("workingDir")))
            for vm in c.get("volumeMounts", []):
                if vm["mountPath"] != (last["workdir"] or "") + "/static":
                    bad_mount.append("%s: %s" % (n, vm["mountPath"]))
            for a in c.get("command", []) + c.get("args", []):
                for s in re.findall(r"(?:\./)?src/scripts/([\w-]+)\.js", a):
                    if not os.path.exists(os.path.join(recipe, "src", "scripts", s + ".ts")):
                        missing.append("%s: src/scripts/%s" % (n, s))
            if not (c.get("command") or c.get("args")):
                missing.append("%s: no command (the check runs only what the chart spells out)" % n)
    check("%s: the medusa pods run as the image's USER (%s)" % (overlay, user), not bad_user, " ".join(bad_user))
    check("%s: every medusa container's workingDir is the image's WORKDIR (%s)" % (overlay, last["workdir"]),
          not bad_wd, "; ".join(bad_wd))
    check("%s: the uploads volume is mounted at WORKDIR/static, the folder Medusa serves" % overlay,
          not bad_mount, "; ".join(bad_mount))
    check("%s: every script the manifests run is in the recipe, and every container has a command" % overlay,
          not missing, "; ".join(missing))

# --- configuration as rendered -----------------------------------------------------------------------
def find(items, kind, name):
    return next(o for o in items if o["kind"] == kind and o["metadata"]["name"] == name)

def env_of(items, kind, name, cname, init=False):
    spec = find(items, kind, name)["spec"]["template"]["spec"]
    c = next(c for c in spec.get("initContainers" if init else "containers", []) if c["name"] == cname)
    return c, {e["name"]: e for e in c.get("env", [])}

for overlay, items in renders.items():
    url = find(items, "Secret", "medusa")["stringData"]["database-url"]
    check("%s: DATABASE_URL says sslmode=disable (the postgres image has no TLS)" % overlay,
          re.search(r"[?&]sslmode=disable(&|$)", url), url.split("@")[-1])
    _, env = env_of(items, "Deployment", "medusa-server", "medusa")
    want = "true" if overlay == "prod" else "false"
    check("%s: the server's MEDUSA_COOKIE_SECURE is %s" % (overlay, want),
          env.get("MEDUSA_COOKIE_SECURE", {}).get("value") == want, repr(env.get("MEDUSA_COOKIE_SECURE")))
    modes = {d: env_of(items, "Deployment", d, "medusa")[1].get("MEDUSA_WORKER_MODE", {}).get("value")
             for d in ("medusa-server", "medusa-worker")}
    check("%s: MEDUSA_WORKER_MODE is server and worker" % overlay,
          modes == {"medusa-server": "server", "medusa-worker": "worker"}, repr(modes))
    waits = []
    for d in ("medusa-server", "medusa-worker"):
        ic = find(items, "Deployment", d)["spec"]["template"]["spec"].get("initContainers", [])
        if not any(c["name"] == "wait-for-migrations" and c.get("command", [])[-2:] == ["src/scripts/migrated.js", "wait"]
                   for c in ic):
            waits.append(d)
    check("%s: the server and the worker wait for the migrations (init container)" % overlay, not waits, " ".join(waits))
    mig, _ = env_of(items, "Job", "medusa-setup", "migrate", init=True)
    script = " ".join(mig.get("command", []) + mig.get("args", []))
    check("%s: the setup Job migrates first (init container: medusa db:migrate, then the first boot and the record)" % overlay,
          re.search(r"medusa db:migrate.*medusa exec \./src/scripts/migrated\.js", script, re.S), script[:200])
    setup, _ = env_of(items, "Job", "medusa-setup", "setup")
    check("%s: then runs medusa exec ./src/scripts/setup.js" % overlay,
          setup.get("command") == ["medusa", "exec", "./src/scripts/setup.js"], repr(setup.get("command")))

cfg = open(os.path.join(recipe, "medusa-config.ts")).read()
for mod in ("event-bus-redis", "workflow-engine-redis", "locking-redis", "cache-redis"):
    check("medusa-config registers @medusajs/medusa/%s" % mod, '"@medusajs/medusa/%s"' % mod in cfg)
check("medusa-config sets projectConfig.redisUrl, workerMode and the cookie from the environment",
      "redisUrl," in cfg and "MEDUSA_WORKER_MODE" in cfg and "MEDUSA_COOKIE_SECURE" in cfg)
sub = open(os.path.join(recipe, "src", "subscribers", "order-placed.ts")).read()
check("the subscriber listens to order.placed", re.search(r'event:\s*"order\.placed"', sub))

for name, ok, why in results:
    print("%s\t%s\t%s" % ("PASS" if ok else "FAIL", name, re.sub(r"\s+", " ", str(why))))
PY
[ -s "$T/checks" ] || bail "the recipe checks did not run: $(cat "$T/checks.err")"
while IFS=$'\t' read -r verdict name why; do
	if [ "$verdict" = PASS ]; then
		ok "$name" true
	else
		ok "$name" false
		diag "$why"
	fi
done <"$T/checks"
[ -s "$T/checks.err" ] && diag "$(cat "$T/checks.err")"

ok "tools/check-engines-medusa.sh parses" bash -n "$SF_ROOT/tools/check-engines-medusa.sh"
ok "tools/check-engines-medusa.sh is executable" test -x "$SF_ROOT/tools/check-engines-medusa.sh"

done_testing
