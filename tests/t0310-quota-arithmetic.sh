#!/bin/bash
# t0310-quota-arithmetic.sh - what a store can run at once fits its ResourceQuota and LimitRange; every TLS configuration renders an Ingress cert-manager can issue for.
#
# For each engine and overlay the sums are taken over everything that can
# exist in the namespace at the same time, each part rendered by storefleetctl
# exactly as reconcile applies it:
#
#   steady  the Deployments and StatefulSets at their replicas, the PVCs
#           (StatefulSet volumeClaimTemplates once per replica)
#   setup   the Jobs of the normal set (the setup Job), at their parallelism
#   backup  what an upgrade adds (reconcile_upgrade.c apply_backup): the set
#           rendered with snapshot.volume/take/restore set, its objects of
#           component "backup" - the snapshot PVC, the snapshot Job and the
#           restore Job.  Both Jobs are counted: a snapshot Job may outlive
#           its upgrade (its deadline is longer than upgrade_timeout).  The
#           backup Job (backup.take, reconcile_backup.c) is counted with them:
#           an upgrade waits for a running backup, but a rollback's restore
#           may meet one
#   surge   a rolling update: maxSurge more pods of each RollingUpdate
#           Deployment (default 25%, rounded up); Recreate Deployments and
#           StatefulSets replace pods without a surge
#   solver  cert-manager's HTTP-01 solver, one pod per host of a TLS entry of
#           an Ingress with a cert-manager issuer annotation, with the
#           controller's default resources (--acme-http01-solver-resource-*:
#           requests 10m/64Mi, limits 100m/64Mi); it runs in the store's
#           namespace at issuance and every renewal
#
# Containers without requests or limits get them as Kubernetes gives them: a
# limit without a request requests the limit (API defaulting), then the
# LimitRange's default/defaultRequest (admission).  A pod counts
# max(the largest init container, the sum of its containers) (sidecar init
# containers are added to both, as the scheduler does).  The test fails when
# a sum exceeds the ResourceQuota's hard, when a container is above the
# LimitRange's max or below its min, and when a chart grows a quota key, a
# LimitRange type or a pod-bearing kind it does not know how to count.
#
# Every plan of both shipped plans files (charts/plans-<overlay>.yaml) is
# checked: a plan sets the quota, the limits and the volumes' sizes, and
# every data volume of a plan renders at least the plan's storage (the
# database's volume exactly).
. "$SF_ROOT/tests/lib.sh"

CTL=$SF_BUILD/bin/storefleetctl
export SF_CHARTS_DIR=$SF_ROOT/charts
unset SF_CONFIG SF_OVERLAY SF_DOMAIN SF_INGRESS_CLASS SF_TLS_SECRET SF_TLS_ISSUER SF_PUBLIC_ORIGIN

ISSUER=letsencrypt-http
WILDCARD=wildcard-tls
HOST=store-demo1.shops.example.com

# render ENGINE OVERLAY TLS [storefleetctl args...]: the store demo1 as JSON;
# TLS is none, wildcard, issuer or both (the SF_TLS_* settings reconcile passes).
render() {
	local engine=$1 overlay=$2 tls=$3 env=()

	shift 3
	[ "$overlay" = prod ] && env+=(SF_DOMAIN=shops.example.com)
	case $tls in
	wildcard) env+=(SF_TLS_SECRET=$WILDCARD) ;;
	issuer) env+=(SF_TLS_ISSUER=$ISSUER) ;;
	both) env+=(SF_TLS_SECRET=$WILDCARD SF_TLS_ISSUER=$ISSUER) ;;
	esac
	env "${env[@]}" "$CTL" render "$engine" --overlay "$overlay" --store-id demo1 --json "$@"
}

# What reconcile renders for an upgrade's snapshot and a rollback's restore, and a backup's Job
# (reconcile_backup.c, backup.take).
cat >"$T/backup.yaml" <<'EOF'
snapshot:
  volume: true
  take: r2
  restore: r2
  restore_tag: r3
backup:
  enabled: true
  endpoint: https://s3.example.com
  bucket: stores
  take: b1
EOF

# quota SET.json BACKUP.json: prints "table <line>" rows, then one
# "quota <problem>", "limits <problem>" or "count <problem>" line per problem.
quota() {
	python3 - "$1" "$2" <<'PY'
import json, math, re, sys
from fractions import Fraction as F

normal = json.load(open(sys.argv[1]))["items"]
backup = [o for o in json.load(open(sys.argv[2]))["items"]
          if o["metadata"].get("labels", {}).get("app.kubernetes.io/component") == "backup"]
problems = []

UNIT = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
        "n": F(1, 10**9), "u": F(1, 10**6), "m": F(1, 1000), "": 1,
        "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18}

def qty(v):
    m = re.fullmatch(r"([+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+))(?:[eE]([+-]?[0-9]+))?"
                     r"(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?", str(v))
    if not m:
        raise SystemExit("bad quantity %r" % v)
    n = F(m.group(1)) * UNIT[m.group(3) or ""]
    return n * F(10) ** int(m.group(2)) if m.group(2) else n

def qmap(d):
    return {k: qty(v) for k, v in (d or {}).items()}

def show(key, v):
    if v == 0:
        return "0"
    if key in ("pods", "persistentvolumeclaims"):
        return str(int(v))
    if key.endswith("cpu"):
        return str(int(v)) if v == int(v) else "%dm" % (v * 1000)
    for unit in ("Gi", "Mi", "Ki"):
        if v % UNIT[unit] == 0 and v >= UNIT[unit]:
            return "%d%s" % (v / UNIT[unit], unit)
    return str(float(v))

def one(kind):
    found = [o for o in normal if o["kind"] == kind]
    if len(found) != 1:
        problems.append("count: %d %s objects, expected one" % (len(found), kind))
        return {}
    return found[0]["spec"]

hard = qmap(one("ResourceQuota").get("hard"))
if one("ResourceQuota").get("scopes") or one("ResourceQuota").get("scopeSelector"):
    problems.append("count: a scoped ResourceQuota is not counted")
lr_items = one("LimitRange").get("limits", [])

def lr_defaults(item):
    # LimitRange defaulting: default falls back to max, defaultRequest to default.
    mx, d, dr = qmap(item.get("max")), qmap(item.get("default")), qmap(item.get("defaultRequest"))
    for k, v in mx.items():
        d.setdefault(k, v)
    for k, v in d.items():
        dr.setdefault(k, v)
    return d, dr

def within(item, what, req, lim):
    # LimitRange validation of one container (or pod, or claim).
    for k, v in qmap(item.get("min")).items():
        if req.get(k) is None or req[k] < v:
            problems.append("limits: %s: %s request %s is below the LimitRange min %s"
                            % (what, k, show(k, req.get(k, 0)), show(k, v)))
        if lim is not None and k in lim and lim[k] < v:
            problems.append("limits: %s: %s limit %s is below the LimitRange min %s"
                            % (what, k, show(k, lim[k]), show(k, v)))
    for k, v in qmap(item.get("max")).items():
        if lim is not None and (lim.get(k) is None or lim[k] > v):
            problems.append("limits: %s: %s limit %s is above the LimitRange max %s"
                            % (what, k, show(k, lim[k]) if k in lim else "(none)", show(k, v)))
        if k in req and req[k] > v:
            problems.append("limits: %s: %s request %s is above the LimitRange max %s"
                            % (what, k, show(k, req[k]), show(k, v)))
    for k, v in qmap(item.get("maxLimitRequestRatio")).items():
        if lim is not None and k in lim and req.get(k) and lim[k] / req[k] > v:
            problems.append("limits: %s: %s limit/request %s is above the LimitRange ratio %s"
                            % (what, k, float(lim[k] / req[k]), float(v)))

for item in lr_items:
    if item.get("type") not in ("Container", "Pod", "PersistentVolumeClaim"):
        problems.append("count: LimitRange type %r is not counted" % item.get("type"))

def container(c, what):
    r = c.get("resources") or {}
    req, lim = qmap(r.get("requests")), qmap(r.get("limits"))
    for k, v in lim.items():
        req.setdefault(k, v)
    for item in lr_items:
        if item.get("type") == "Container":
            d, dr = lr_defaults(item)
            for k, v in d.items():
                lim.setdefault(k, v)
            for k, v in dr.items():
                req.setdefault(k, v)
    what = "%s container %s" % (what, c["name"])
    for k in req:
        if k in lim and req[k] > lim[k]:
            problems.append("limits: %s: %s request %s above its limit %s"
                            % (what, k, show(k, req[k]), show(k, lim[k])))
    for item in lr_items:
        if item.get("type") == "Container":
            within(item, what, req, lim)
    return req, lim

def add(a, b, n=1):
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, 0) + v * n
    return out

def top(a, b):
    return {k: max(a.get(k, 0), b.get(k, 0)) for k in set(a) | set(b)}

def pod(spec, what):
    # requests and limits of one pod: max(init peak, containers + sidecars)
    req, lim, side_req, side_lim, peak_req, peak_lim = {}, {}, {}, {}, {}, {}
    for c in spec.get("initContainers", []):
        r, l = container(c, what)
        if c.get("restartPolicy") == "Always":
            side_req, side_lim = add(side_req, r), add(side_lim, l)
        else:
            peak_req, peak_lim = top(peak_req, add(side_req, r)), top(peak_lim, add(side_lim, l))
    for c in spec.get("containers", []):
        r, l = container(c, what)
        req, lim = add(req, r), add(lim, l)
    req, lim = top(add(req, side_req), peak_req), top(add(lim, side_lim), peak_lim)
    for item in lr_items:
        if item.get("type") == "Pod":
            within(item, what, req, lim)
    return req, lim

def pods(req, lim, n):
    out = {"pods": n}
    for k, v in req.items():
        out["requests." + k] = v * n
    for k, v in lim.items():
        out["limits." + k] = v * n
    return out

def claim(spec, what, n=1):
    s = qty(spec.get("resources", {}).get("requests", {}).get("storage", 0))
    for item in lr_items:
        if item.get("type") == "PersistentVolumeClaim":
            within(item, what, {"storage": s}, None)
    return {"persistentvolumeclaims": n, "requests.storage": s * n}

def surge_of(spec):
    replicas = spec.get("replicas", 1)
    st = spec.get("strategy") or {}
    if st.get("type", "RollingUpdate") != "RollingUpdate":
        return 0
    ms = (st.get("rollingUpdate") or {}).get("maxSurge", "25%")
    if isinstance(ms, str) and ms.endswith("%"):
        return math.ceil(replicas * int(ms[:-1]) / 100)
    return int(ms)

col = {c: {} for c in ("steady", "setup", "backup", "surge", "solver")}
notes = []

def count(objs, steady, jobs):
    for o in objs:
        k, spec = o["kind"], o.get("spec", {})
        what = "%s/%s" % (k, o["metadata"]["name"])
        if k == "PersistentVolumeClaim":
            col[steady] = add(col[steady], claim(spec, what))
        elif k == "Deployment":
            n = spec.get("replicas", 1)
            req, lim = pod(spec["template"]["spec"], what)
            col[steady] = add(col[steady], pods(req, lim, n))
            s = surge_of(spec)
            if s:
                col["surge"] = add(col["surge"], pods(req, lim, s))
                notes.append("%s +%d" % (o["metadata"]["name"], s))
        elif k == "StatefulSet":
            n = spec.get("replicas", 1)
            req, lim = pod(spec["template"]["spec"], what)
            col[steady] = add(col[steady], pods(req, lim, n))
            for t in spec.get("volumeClaimTemplates", []):
                col[steady] = add(col[steady], claim(t["spec"], "%s claim %s" % (what, t["metadata"]["name"]), n))
        elif k == "Job":
            n = spec.get("parallelism", 1)
            if spec.get("completions") is not None:
                n = min(n, spec["completions"])
            req, lim = pod(spec["template"]["spec"], what)
            col[jobs] = add(col[jobs], pods(req, lim, n))
        elif k in ("Pod", "ReplicaSet", "DaemonSet", "CronJob", "ReplicationController"):
            problems.append("count: %s is not counted" % what)

count(normal, "steady", "setup")
kinds = sorted("%s/%s" % (o["kind"], o["metadata"]["name"]) for o in backup)
if sum(o["kind"] == "PersistentVolumeClaim" for o in backup) != 1 or sum(o["kind"] == "Job" for o in backup) != 3:
    problems.append("count: the backup objects are %s, expected one PVC and three Jobs (snapshot, restore, backup)" % ", ".join(kinds))
count(backup, "backup", "backup")

# cert-manager's HTTP-01 solver: one pod per host it issues for.
SOLVER = {"name": "acmesolver", "resources": {"requests": {"cpu": "10m", "memory": "64Mi"},
                                              "limits": {"cpu": "100m", "memory": "64Mi"}}}
for o in normal:
    ann = o["metadata"].get("annotations", {})
    if o["kind"] != "Ingress" or not ({"cert-manager.io/cluster-issuer", "cert-manager.io/issuer"} & set(ann)):
        continue
    hosts = {h for t in o["spec"].get("tls", []) if t.get("secretName") for h in t.get("hosts", [])}
    if hosts:
        req, lim = pod({"containers": [SOLVER]}, "cert-manager solver for Ingress/" + o["metadata"]["name"])
        col["solver"] = add(col["solver"], pods(req, lim, len(hosts)))

total = {}
for c in col.values():
    total = add(total, c)
alias = {"cpu": "requests.cpu", "memory": "requests.memory"}
keys = ["pods", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory",
        "persistentvolumeclaims", "requests.storage"]
for k in hard:
    if alias.get(k, k) not in keys:
        problems.append("count: quota key %s is not counted" % k)
fmt = "%-24s %7s %7s %7s %7s %7s %8s %8s"
print("table " + fmt % ("resource", "steady", "setup", "backup", "surge", "solver", "total", "hard"))
for k in keys:
    h = [hard[q] for q in hard if alias.get(q, q) == k]
    t = total.get(k, 0)
    print("table " + fmt % ((k,) + tuple(show(k, col[c].get(k, 0)) for c in col) + (show(k, t), show(k, h[0]) if h else "-"))
          + ("  OVER by %s" % show(k, t - min(h)) if h and t > min(h) else ""))
    for v in h:
        if t > v:
            problems.append("quota: %s: %s at once, the quota allows %s" % (k, show(k, t), show(k, v)))
print("table surge: %s" % (", ".join(notes) or "none"))
for p in problems:
    print(p)
PY
}

# plans OVERLAY: the names of the shipped plans of an overlay, in file order.
plans() {
	python3 -c 'import sys, yaml; print(" ".join(yaml.safe_load(open(sys.argv[1]))["plans"]))' \
		"$SF_ROOT/charts/plans-$1.yaml"
}
# plan_storage OVERLAY PLAN: the plan's storage in bytes.
plan_storage() {
	python3 -c 'import sys, yaml
q = yaml.safe_load(open(sys.argv[1]))["plans"][sys.argv[2]]["storage"]
u = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
print(int(q[:-2]) * u[q[-2:]] if q[-2:] in u else int(q))' "$SF_ROOT/charts/plans-$1.yaml" "$2"
}

sets=()
is "$(plans local)" "small medium large" "the local plans are small, medium, large"
is "$(plans prod)" "small medium large" "the prod plans are small, medium, large"

for engine in woocommerce medusa; do
	for overlay in local prod; do
		for plan in $(plans $overlay); do
		for tls in none wildcard issuer both; do
			name=$engine-$overlay-$tls
			[ "$plan" = small ] || name=$engine-$overlay-$plan-$tls
			render "$engine" "$overlay" "$tls" --plan "$plan" >"$T/$name.json" 2>"$T/$name.err"
			is "$?:$(cat "$T/$name.err")" "0:" "$name: render exits 0, nothing on stderr"
			render "$engine" "$overlay" "$tls" --plan "$plan" --values "$T/backup.yaml" >"$T/$name.backup.json" 2>"$T/$name.err"
			is "$?:$(cat "$T/$name.err")" "0:" "$name: render with the upgrade's snapshot values exits 0"
			# validated all at once after the loop (one validator start, not 96)
			sets+=("$name" "$name.backup")

			out=$(quota "$T/$name.json" "$T/$name.backup.json")
			# printed for the configuration that runs the most (an issuer adds
			# the HTTP-01 solver); every configuration is checked
			if [ "$tls" = issuer ]; then
				diag "$engine-$overlay plan $plan (SF_TLS_ISSUER set): steady + setup Job + snapshot/restore + surge + ACME solver vs the ResourceQuota"
				printf '%s\n' "$out" | sed -n 's/^table /  /p' | while IFS= read -r l; do diag "$l"; done
			fi
			is "$(printf '%s\n' "$out" | grep '^count')" "" "$name: every quota key, LimitRange type and workload is counted"
			is "$(printf '%s\n' "$out" | grep '^quota')" "" "$name: what can run at once fits the ResourceQuota"
			is "$(printf '%s\n' "$out" | grep '^limits')" "" "$name: every container within the LimitRange"
		done
		# the plan's storage: the database volume has it, no data volume has less
		vols=$(python3 - "$T/$name.json" "$(plan_storage $overlay $plan)" <<'PY'
import json, re, sys
U = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "": 1}
def b(q):
    m = re.fullmatch(r"([0-9]+)(Ki|Mi|Gi|Ti)?", q)
    return int(m.group(1)) * U[m.group(2) or ""]
want = int(sys.argv[2])
for o in json.load(open(sys.argv[1]))["items"]:
    claims = []
    if o["kind"] == "PersistentVolumeClaim":
        claims.append((o["metadata"]["name"], o["spec"]))
    if o["kind"] == "StatefulSet":
        claims += [(t["metadata"]["name"], t["spec"]) for t in o["spec"].get("volumeClaimTemplates", [])]
    for n, spec in claims:
        got = b(spec["resources"]["requests"]["storage"])
        role = "database" if o["kind"] == "StatefulSet" else "files"
        print("%s %s" % (role, "equal" if got == want else "more" if got > want else "less"))
PY
)
		case $engine in
		woocommerce) is "$vols" "database equal
files equal" "$engine-$overlay-$plan: the database and files volumes have the plan's storage" ;;
		medusa) is "$vols" "database equal
files less" "$engine-$overlay-$plan: the database volume has the plan's storage (uploads are sized by the plan's values)" ;;
		esac
		done
	done
done

# Every rendered set, with and without the snapshot, passes k8s-validate -W, in one
# run of the validator (its start, loading the Kubernetes schema, is most of its
# time).  Each problem line names its file ("FILE#DOC Kind/name: ..."), and -W
# makes warnings problems, so a file's own result is the lines that name it;
# the summary's object count shows every file was read.
files=()
for f in "${sets[@]}"; do files+=("$T/$f.json"); done
v=$("$VALIDATE" -W "${files[@]}" 2>&1)
is "$?" 0 "k8s-validate -W exits 0 on all ${#files[@]} rendered sets"
objects=$(python3 - "${files[@]}" <<'PY'
import json, sys
print(sum(len(json.load(open(f))["items"]) for f in sys.argv[1:]))
PY
)
like "$v" "k8s-validate: $objects object\\(s\\), 0 problem\\(s\\), 0 warning\\(s\\)" \
	"... every object of every set read ($objects), zero problems, zero warnings"
for f in "${sets[@]}"; do
	what="the set"
	case $f in *.backup) what="with snapshot and restore" ;; esac
	is "$(printf '%s\n' "$v" | grep -F "$T/$f.json")" "" "${f%.backup}: $what: k8s-validate -W: zero problems, zero warnings"
done

# ---- TLS: every entry of an Ingress cert-manager issues for names its Secret ------------
#
# ingress_tls SET.json: "<issuer annotation or ->|<hosts>|<secretName or ->" per TLS entry
# (or "<issuer or ->|no tls"), "rule <host>" per rule, then "solver-policy from <namespace>
# port <port>" per rule of a NetworkPolicy letting traffic in to cert-manager's solver pods.
ingress_tls() {
	python3 - "$1" <<'PY'
import json, sys
items = json.load(open(sys.argv[1]))["items"]
policies = []
for o in items:
    if o["kind"] == "Ingress":
        iss = o["metadata"].get("annotations", {}).get("cert-manager.io/cluster-issuer", "-")
        tls = o["spec"].get("tls")
        if not tls:
            print("%s|no tls" % iss)
        for t in tls or []:
            print("%s|%s|%s" % (iss, ",".join(t.get("hosts", [])), t.get("secretName", "-")))
        for r in o["spec"].get("rules", []):
            print("rule %s" % r.get("host"))
    if o["kind"] == "NetworkPolicy" and o["spec"].get("podSelector", {}).get("matchLabels", {}).get(
            "acme.cert-manager.io/http01-solver") == "true":
        for rule in o["spec"].get("ingress", []):
            ns = [f.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
                  for f in rule.get("from", [])]
            policies.append("solver-policy from %s port %s" % (",".join(map(str, ns)),
                            ",".join(str(p.get("port")) for p in rule.get("ports", []))))
if policies:
    print("\n".join(policies))
PY
}

for engine in woocommerce medusa; do
	t=$(ingress_tls "$T/$engine-prod-none.json")
	is "$t" "-|$HOST|-
rule $HOST" \
		"$engine prod, no certificate setting: one TLS entry for the host, no Secret (the controller's default wildcard certificate), no issuer"
	t=$(ingress_tls "$T/$engine-prod-wildcard.json")
	is "$t" "-|$HOST|$WILDCARD
rule $HOST" \
		"$engine prod, SF_TLS_SECRET: the TLS entry names the operator's Secret, no issuer"
	t=$(ingress_tls "$T/$engine-prod-issuer.json")
	is "$t" "$ISSUER|$HOST|store-demo1-tls
rule $HOST
solver-policy from kube-system port 8089" \
		"$engine prod, SF_TLS_ISSUER: issuer annotation, the TLS entry names the store's own Secret store-demo1-tls, the ingress controller may reach the HTTP-01 solver"
	t=$(ingress_tls "$T/$engine-prod-both.json")
	is "$t" "$ISSUER|$HOST|$WILDCARD
rule $HOST
solver-policy from kube-system port 8089" \
		"$engine prod, both: the issuer fills the Secret SF_TLS_SECRET names"
	t=$(ingress_tls "$T/$engine-local-none.json")
	is "$t" "-|no tls
rule store-demo1.127.0.0.1.nip.io" "$engine local: plain HTTP, no TLS entry"

	# Regression: with an issuer and no secret name the entry had no
	# secretName, and cert-manager's ingress-shim issues nothing for such an
	# entry.  Whatever the configuration, an Ingress with an issuer has a
	# secretName in every TLS entry, for hosts its rules serve.
	for f in "$T/$engine"-*-*.json; do
		case $f in *.backup.json) continue ;; esac
		bad=$(ingress_tls "$f" | awk -F'|' '
			/^rule / { rules[substr($0, 6)] = 1; next }
			/^solver-policy/ { next }
			$2 != "no tls" { n = split($2, h, ","); for (i = 1; i <= n; i++) hosts[h[i]] = 1
				if ($1 != "-" && $3 == "-") print "no secretName for issuer " $1 }
			END { for (x in hosts) if (!(x in rules)) print "TLS host " x " has no rule" }')
		is "$bad" "" "$(basename "$f" .json): every TLS entry under an issuer names a Secret, for hosts the rules serve"
	done
done

done_testing
