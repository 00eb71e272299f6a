# lib-platform.sh - checks of storefleet's own manifests (charts/platform), sourced after lib.sh.
#
#   pf_render OVERLAY [ARGS...]    storefleetctl render platform --overlay OVERLAY --json ARGS
#                                  into $T/OVERLAY.json (stderr $T/OVERLAY.err); returns its status
#   pf_check FILE.json             prints every way the rendered set breaks the platform's rules
#                                  (nothing = fine); see the python below
#   pf_rbac_diff STATS ROLE.json   compares the simulator's request counts (GET /_sim/stats) with
#                                  the ClusterRole: prints "missing: ..." and "extra: ..." lines
#   pf_client_calls                the Kubernetes client calls (k8s_get, k8s_list...) made
#                                  outside the client itself, one per line, sorted

pf_render() {
	local o=$1

	shift
	"$SF_BUILD/bin/storefleetctl" render platform --overlay "$o" --json "$@" \
		>"$T/$o.json" 2>"$T/$o.err"
}

pf_check() {
	python3 - "$1" <<'PY'
import json, re, sys

objs = json.load(open(sys.argv[1]))["items"]
bad = []
def where(o):
    return "%s/%s" % (o["kind"], o["metadata"]["name"])

def pod_spec(o):
    s = o.get("spec", {})
    if o["kind"] == "CronJob":
        s = s.get("jobTemplate", {}).get("spec", {})
    elif o["kind"] not in ("Deployment", "StatefulSet", "Job", "DaemonSet"):
        return None
    return s.get("template", {}).get("spec")

ns = [o for o in objs if o["kind"] == "Namespace"]
if len(ns) != 1:
    bad.append("want exactly one Namespace, got %d" % len(ns))
name = ns[0]["metadata"]["name"] if ns else "?"
for o in objs:
    labels = o["metadata"].get("labels", {})
    # reconcile observes by managed-by=storefleet and deletes by store label: never ours
    for l in ("app.kubernetes.io/managed-by", "storefleet.io/store", "storefleet.io/engine"):
        if l in labels:
            bad.append("%s carries %s (reconcile would take it for a store's)" % (where(o), l))
    if o["kind"] not in ("Namespace", "ClusterRole", "ClusterRoleBinding") and \
            o["metadata"].get("namespace") != name:
        bad.append("%s is not in namespace %s" % (where(o), name))
    spec = pod_spec(o)
    if spec is None:
        continue
    sc = spec.get("securityContext", {})
    if sc.get("runAsNonRoot") is not True:
        bad.append("%s: pod without runAsNonRoot" % where(o))
    if sc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        bad.append("%s: pod without seccompProfile RuntimeDefault" % where(o))
    for c in spec.get("initContainers", []) + spec.get("containers", []):
        w = "%s container %s" % (where(o), c["name"])
        r = c.get("resources", {})
        for part in ("requests", "limits"):
            for res in ("cpu", "memory"):
                if res not in r.get(part, {}):
                    bad.append("%s: no %s.%s" % (w, part, res))
        names = [p.get("name") for p in c.get("ports", [])]
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            for how in ("httpGet", "tcpSocket", "grpc"):
                port = c.get(probe, {}).get(how, {}).get("port")
                # the kubelet resolves a port name among the probed container's own ports
                if isinstance(port, str) and port not in names:
                    bad.append("%s: %s port '%s' is not one of its own" % (w, probe, port))
        csc = c.get("securityContext", {})
        if csc.get("allowPrivilegeEscalation") is not False:
            bad.append("%s: allowPrivilegeEscalation not false" % w)
        if csc.get("capabilities", {}).get("drop") != ["ALL"]:
            bad.append("%s: capabilities not drop [ALL]" % w)
        if csc.get("readOnlyRootFilesystem") is not True:
            bad.append("%s: root filesystem writable" % w)
        if c.get("command", [""])[0] in ("storefleet.fcgi", "storefleet-reconcile", "storefleetctl"):
            env = {e["name"]: e for e in c.get("env", [])}
            ref = env.get("SF_DATABASE_URL", {}).get("valueFrom", {}).get("secretKeyRef")
            if not ref:
                bad.append("%s: SF_DATABASE_URL not from a Secret" % w)
print("\n".join(bad))
PY
}

pf_rbac_diff() {
	python3 - "$1" "$2" "$K8S_SCHEMA/resources.json" "$SF_ROOT/tools/kubesim-schema-extra.json" <<'PY'
import json, sys

stats = json.load(open(sys.argv[1]))["requests"]
role = json.load(open(sys.argv[2]))
groups = {}
# the kinds kubesim serves beyond the vendored subset (StorageClass) too
for r in list(json.load(open(sys.argv[3])).values()) + list(json.load(open(sys.argv[4]))["resources"].values()):
    groups.setdefault(r["resource"], set()).add(r["group"])
# and cert-manager's, from its vendored CRDs (tests/vendor/cert-manager-crds)
for k, g in (("certificates", "cert-manager.io"), ("issuers", "cert-manager.io"), ("clusterissuers", "cert-manager.io")):
    groups.setdefault(k, set()).add(g)
# HTTP method -> RBAC verb (docs/k8s-semantics.md section 9); the simulator counts a
# GET on a collection as LIST.  Server-side apply may create the object: patch AND create.
verbs = {"GET": ["get"], "LIST": ["list"], "WATCH": ["watch"], "POST": ["create"],
         "PUT": ["update"], "PATCH": ["patch", "create"], "DELETE": ["delete"]}
used = set()
for key in stats:
    method, plural = key.split(" ", 1)
    g = groups.get(plural, {"?"})
    # the simulator's key has no group; storefleet's client uses core v1 events
    g = "" if "" in g else sorted(g)[0]
    for v in verbs.get(method, ["?" + method]):
        used.add((g, plural, v))
granted = set()
for rule in role["rules"]:
    for g in rule.get("apiGroups", []):
        for p in rule.get("resources", []):
            for v in rule.get("verbs", []):
                granted.add((g, p, v))
fmt = lambda s: " ".join("%s:%s/%s" % (v, g or "core", p) for g, p, v in sorted(s))
print("missing: " + fmt(used - granted))
print("extra: " + fmt(granted - used))
print("used: %d" % len(used))
PY
}

pf_client_calls() {
	local f files=()

	for f in "$SF_ROOT"/src/{core,domain,web,fleet,ctl,cmd}/*.c "$SF_ROOT"/cgi-bin/*.c; do
		case ${f##*/} in k8s*.c) ;; *) files+=("$f") ;; esac
	done
	grep -ohE '\bk8s_(get|get_narrowed|list|apply|apply_all|delete|pods|events|request|watch|stream_new|[a-z]*patch|post|put|create|update)\(' \
		"${files[@]}" | sort -u
}
