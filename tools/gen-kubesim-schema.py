#!/usr/bin/env python3
# gen-kubesim-schema.py - generate src/kubesim/schema_gen.c (resource table + compact schema) from tests/vendor/k8s-schema and tests/vendor/cert-manager-crds.
#
# Usage: tools/gen-kubesim-schema.py [K8S_SCHEMA_DIR] > src/kubesim/schema_gen.c
# (plus tools/kubesim-schema-extra.json: kinds the vendored subset lacks)
# (default: the repository's tests/vendor/k8s-schema, the data tools/k8s-validate reads)
# The output is committed, so builds never run this script.  It keeps,
# for every definition reachable from the resources' kinds, the field names,
# their shape (scalar / object / array / string map), the list-map keys
# server-side apply needs (x-kubernetes-list-type, x-kubernetes-list-map-keys)
# and the strategic-merge-patch metadata (x-kubernetes-patch-strategy,
# x-kubernetes-patch-merge-key).
import json
import os
import sys

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "vendor", "k8s-schema")
res = json.load(open(os.path.join(root, "resources.json")))
sw = json.load(open(os.path.join(root, "swagger-subset.json")))
defs = sw["definitions"]
# Kinds the vendored subset lacks (StorageClass), hand-written from the Go API
# types; never overriding a vendored definition.
extra = json.load(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "kubesim-schema-extra.json")))
for k, v in extra["resources"].items():
    res.setdefault(k, v)
for k, v in extra["definitions"].items():
    defs.setdefault(k, v)

# cert-manager's kinds from their vendored CRDs (tests/vendor/cert-manager-crds):
# each served version's openAPIV3Schema, its inline objects named after their
# path (io.cert-manager.v1.Certificate.spec.issuerRef) so they read like the
# Kubernetes definitions above.
import yaml  # noqa: E402

CRD_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "vendor", "cert-manager-crds")


def flatten(name, s):
    """Store object schema s as definition name; return a $ref (or s for a leaf)."""
    s = dict(s)
    s.pop("description", None)
    if s.get("type") == "object" and "properties" in s:
        props = {}
        for k, v in s["properties"].items():
            props[k] = flatten(name + "." + k, v)
        d = {"type": "object", "properties": props}
        if s.get("required"):
            d["required"] = s["required"]
        defs[name] = d
        return {"$ref": "#/definitions/" + name}
    if s.get("type") == "array" and isinstance(s.get("items"), dict):
        s["items"] = flatten(name, s["items"])
        return s
    if s.get("type") == "object" and isinstance(s.get("additionalProperties"), dict):
        s["additionalProperties"] = flatten(name, s["additionalProperties"])
        return s
    if s.get("x-kubernetes-int-or-string"):
        return {"type": "string", "format": "int-or-string"}
    return s


CRD_WANT = []
for f in sorted(os.listdir(CRD_DIR)):
    if not f.endswith(".yaml"):
        continue
    for crd in yaml.load_all(open(os.path.join(CRD_DIR, f)), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
        spec = crd["spec"]
        for v in spec["versions"]:
            if not v.get("served", True):
                continue
            dname = "io.cert-manager.%s.%s" % (v["name"], spec["names"]["kind"])
            flatten(dname, v["schema"]["openAPIV3Schema"])
            defs[dname]["properties"]["metadata"] = {"$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}
            key = "%s/%s/%s" % (spec["group"], v["name"], spec["names"]["plural"])
            res[key] = {"definition": dname, "group": spec["group"], "kind": spec["names"]["kind"],
                        "namespaced": spec["scope"] == "Namespaced", "resource": spec["names"]["plural"],
                        "paths": {"delete": [], "deletecollection": [], "get": [], "list": [], "patch": [],
                                  "post": [], "put": [], "watch": []},
                        "subresources": {"status": {}} if "status" in v.get("subresources", {}) else {},
                        "version": v["name"], "shortnames": " ".join(spec["names"].get("shortNames", []))}
            CRD_WANT.append(key)

WANT = ["core/v1/namespaces", "core/v1/resourcequotas", "core/v1/limitranges", "networking.k8s.io/v1/networkpolicies",
        "core/v1/secrets", "core/v1/configmaps", "core/v1/serviceaccounts", "rbac.authorization.k8s.io/v1/roles",
        "rbac.authorization.k8s.io/v1/rolebindings", "core/v1/services", "core/v1/persistentvolumeclaims",
        "apps/v1/deployments", "apps/v1/statefulsets", "apps/v1/replicasets", "batch/v1/jobs",
        "networking.k8s.io/v1/ingresses", "core/v1/pods", "core/v1/events",
        "rbac.authorization.k8s.io/v1/clusterroles", "rbac.authorization.k8s.io/v1/clusterrolebindings",
        "policy/v1/poddisruptionbudgets", "apps/v1/daemonsets", "batch/v1/cronjobs", "core/v1/endpoints",
        "networking.k8s.io/v1/ingressclasses", "core/v1/nodes", "core/v1/persistentvolumes",
        "storage.k8s.io/v1/storageclasses"] + sorted(CRD_WANT)
SHORT = {"namespaces": "ns", "resourcequotas": "quota", "limitranges": "limits", "networkpolicies": "netpol",
         "configmaps": "cm", "serviceaccounts": "sa", "services": "svc", "persistentvolumeclaims": "pvc",
         "deployments": "deploy", "statefulsets": "sts", "replicasets": "rs", "ingresses": "ing", "pods": "po",
         "events": "ev", "poddisruptionbudgets": "pdb", "daemonsets": "ds", "cronjobs": "cj", "endpoints": "ep",
         "nodes": "no", "persistentvolumes": "pv", "storageclasses": "sc"}
NOSTATUS = set()

types = []
index = {}


def ref(s):
    return s["$ref"].split("/")[-1]


SCALARS = {"string": 1, "integer": 2, "boolean": 3, "number": 4}


def scalar(s):
    """Scalar type code of a schema: 0 any, 1 string, 2 integer, 3 boolean, 4 number,
    5 int-or-string, 6 quantity (string or number)."""
    if "$ref" in s:
        name = ref(s)
        if name.endswith("intstr.IntOrString"):
            return 5
        if name.endswith("resource.Quantity"):
            return 6
        d = defs.get(name, {})
        if "properties" in d or d.get("type") == "object":
            return 0
        return SCALARS.get(d.get("type"), 0) if d.get("format") != "int-or-string" else 5
    if s.get("allOf"):
        return scalar(s["allOf"][0])
    if s.get("format") == "int-or-string":
        return 5
    return SCALARS.get(s.get("type"), 0)


def leaf(s):
    """The scalar code of a field, of its items (arrays) or of its values (maps)."""
    t = s.get("type")
    if t == "array":
        return scalar(s.get("items", {}))
    if t == "object" and isinstance(s.get("additionalProperties"), dict):
        return scalar(s["additionalProperties"])
    return scalar(s)


def shape(s):
    """(kind, type) for a property schema: kind 0 scalar, 1 object, 2 array, 3 map."""
    if "$ref" in s:
        return 1, typeidx(ref(s))
    if s.get("allOf"):
        return shape(s["allOf"][0])
    t = s.get("type")
    if t == "array":
        k, ti = shape(s.get("items", {}))
        return 2, (ti if k == 1 else -1)
    if t == "object" and "additionalProperties" in s:
        k, ti = shape(s["additionalProperties"] if isinstance(s["additionalProperties"], dict) else {})
        return 3, (ti if k == 1 else -1)
    if t == "object" and "properties" not in s:
        return 1, typeidx_open()
    return 0, -1


def typeidx_open():
    return typeidx("__open__")


def typeidx(name):
    if name in index:
        return index[name]
    d = defs.get(name, {})
    if name != "__open__" and ("properties" not in d) and d.get("type") != "object":
        # scalars by definition (Quantity, IntOrString, Time...)
        index[name] = -1
        return -1
    i = len(types)
    index[name] = i
    entry = {"name": name, "fields": [], "open": "properties" not in d,
             "required": ",".join(r for r in d.get("required", []) if r not in ("apiVersion", "kind", "metadata", "status"))}
    types.append(entry)
    for fname in sorted(d.get("properties", {})):
        p = d["properties"][fname]
        k, ti = shape(p)
        lt = p.get("x-kubernetes-list-type", "")
        keys = p.get("x-kubernetes-list-map-keys", [])
        strat = 0
        for word in p.get("x-kubernetes-patch-strategy", "").split(","):
            strat |= {"": 0, "merge": 1, "retainKeys": 2, "replace": 4}[word]
        entry["fields"].append((fname, k, ti, {"": 0, "atomic": 0, "map": 1, "set": 2}[lt], ",".join(keys),
                                leaf(p) if ti < 0 else 0, p.get("x-kubernetes-patch-merge-key", ""), strat))
    return i


resources = []
for key in WANT:
    r = res[key]
    ti = typeidx(r["definition"])
    verbs = sorted(set(v for v in r["paths"] if v in ("create", "post", "get", "list", "patch", "put", "delete", "deletecollection", "watch"))) 
    verbs = sorted(set({"post": "create", "put": "update"}.get(v, v) for v in verbs))
    resources.append((r["group"] if r["group"] != "core" else "", key.split("/")[1], r["resource"], r["kind"],
                      1 if r["namespaced"] else 0, ti, " ".join(verbs), SHORT.get(r["resource"], r.get("shortnames", "")),
                      1 if "status" in r.get("subresources", {}) else 0))

out = sys.stdout
out.write("/* schema_gen.c - GENERATED by tools/gen-kubesim-schema.py from tests/vendor/k8s-schema and tools/kubesim-schema-extra.json; do not edit. */\n")
out.write('#include "kubesim.h"\n\n')
fields = []
out.write("const struct ks_type ks_types[] = {\n")
for t in types:
    out.write('\t{"%s", %d, %d, %d, "%s"},\n' % (t["name"], len(fields), len(t["fields"]), 1 if t["open"] else 0,
                                              t["required"]))
    fields.extend(t["fields"])
out.write("};\nconst int ks_ntypes = %d;\n\n" % len(types))
out.write("const struct ks_field ks_fields[] = {\n")
for (n, k, ti, lt, keys, sc, pkey, strat) in fields:
    out.write('\t{"%s", %d, %d, %d, "%s", %d, "%s", %d},\n' % (n, k, ti, lt, keys, sc, pkey, strat))
out.write("};\n\n")
out.write("const struct ks_resource ks_resources[] = {\n")
for r in resources:
    out.write('\t{"%s", "%s", "%s", "%s", %d, %d, "%s", "%s", %d},\n' % r)
out.write("};\nconst int ks_nresources = %d;\n" % len(resources))
