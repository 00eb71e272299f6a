#!/bin/bash
# t0445-kubesim-hostile.sh - mutated bodies, paths and queries never crash the simulator or get a malformed answer.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-kubesim.sh"

ks_start --pod-ready-ms 50 --job-complete-ms 50 --pvc-bind-ms 50 --ns-delete-ms 50 --observed-lag-ms 10
knsmake h
is "$KSTATUS" 201 "namespace"

# 1,500 requests from a seeded generator: each answer must be HTTP with a JSON Status or object,
# or the plain-text 404/429 bodies; 5xx only as the SSA typed-patch 500.
python3 - "$KUBESIM_ADDR" "$KUBESIM_TOKEN" "$KUBESIM_DIR/ca.crt" >"$T/hostile.out" 2>&1 <<'PY'
import json, random, ssl, sys, http.client, urllib.parse
addr, token, ca = sys.argv[1:4]
host, port = urllib.parse.urlsplit(addr).hostname, urllib.parse.urlsplit(addr).port
ctx = ssl.create_default_context(cafile=ca)
rnd = random.Random(4242)
base = [
 {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "labels": {"a": "b"}},
  "spec": {"replicas": 1, "selector": {"matchLabels": {"a": "b"}},
           "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "x", "ports": [{"containerPort": 80}]}]}}}},
 {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}, "data": {"k": "v"}},
 {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
  "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "x"}]}}}},
 {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "s"},
  "spec": {"replicas": 2, "selector": {"matchLabels": {"s": "1"}}, "template": {"metadata": {"labels": {"s": "1"}},
           "spec": {"containers": [{"name": "c", "image": "x"}]}}, "volumeClaimTemplates": [{"metadata": {"name": "d"}, "spec": {}}]}},
 {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"}, "spec": {"ports": [{"port": 80}]}},
]
paths = {"Deployment": "/apis/apps/v1/namespaces/h/deployments", "ConfigMap": "/api/v1/namespaces/h/configmaps",
         "Job": "/apis/batch/v1/namespaces/h/jobs", "StatefulSet": "/apis/apps/v1/namespaces/h/statefulsets",
         "Service": "/api/v1/namespaces/h/services"}
junk = [None, 0, -1, 2**63, 1e308, "", "x" * 300, [], {}, [1, [2]], {"a": {"b": None}}, True, "../../", "\u0000\u00ff", "a,b=c", "%zz"]

def mutate(o, depth=0):
    if isinstance(o, dict):
        o = dict(o)
        for k in list(o):
            r = rnd.random()
            if r < 0.08:
                o[k] = rnd.choice(junk)
            elif r < 0.12:
                del o[k]
            else:
                o[k] = mutate(o[k], depth + 1)
        if rnd.random() < 0.1:
            o[rnd.choice(["x", "$patch", "spec", "metadata", "0", ""])] = rnd.choice(junk)
        return o
    if isinstance(o, list):
        o = [mutate(x, depth + 1) for x in o]
        if o and rnd.random() < 0.15:
            o.append(o[0])
        return o
    return o

bad = 0
for i in range(1500):
    b = rnd.choice(base)
    coll = paths[b["kind"]]
    body = mutate(b)
    name = rnd.choice([b["metadata"]["name"], "Bad_Name", "x" * 70, "%2e%2e", "a/b", ""])
    method, path, ctype = rnd.choice([
        ("POST", coll, "application/json"),
        ("PUT", coll + "/" + name, "application/json"),
        ("PATCH", coll + "/" + name + "?fieldManager=m" + rnd.choice(["", "&force=true", "&dryRun=All"]), "application/apply-patch+yaml"),
        ("PATCH", coll + "/" + name, "application/merge-patch+json"),
        ("PATCH", coll + "/" + name, "application/strategic-merge-patch+json"),
        ("PATCH", coll + "/" + name, "application/json-patch+json"),
        ("DELETE", coll + "/" + name + rnd.choice(["", "?propagationPolicy=Foreground", "?propagationPolicy=Orphan"]), "application/json"),
        ("GET", coll + "?" + rnd.choice(["labelSelector=a%20in%20(b", "labelSelector=!!", "limit=-5", "continue=%41%42", "fieldSelector=a", "labelSelector=a,b,c%20notin%20(x,y)", "watch=true&timeoutSeconds=1",
            "watch=1&timeoutSeconds=1&resourceVersion=" + rnd.choice(["abc", "-1", "1", "18446744073709551616", "0", "99999999999"]),
            "watch=1&timeoutSeconds=1&allowWatchBookmarks=1&sendInitialEvents=" + rnd.choice(["true", "false", "", "x"]) + "&resourceVersionMatch=" + rnd.choice(["NotOlderThan", "Exact", "", "%00"]),
            "watch=1&timeoutSeconds=" + rnd.choice(["x", "-5", "99999999999999999999", "1"]) + "&fieldSelector=" + rnd.choice(["metadata.name%3D", "metadata.namespace!%3Dh", "status.phase%3DRunning", "a%3Db%3Dc"])]), None),
        ("GET", rnd.choice(["/api/v1/namespaces/h/pods", "/apis/apps/v1/namespaces/h/replicasets", "/api/v1/namespaces/h/events", "/apis//v1", "/api/v1/namespaces//configmaps/x/y/z"]), None),
    ])
    data = json.dumps(body) if rnd.random() < 0.9 else json.dumps(body)[: rnd.randrange(1, 40)]
    if ctype == "application/json-patch+json":
        data = json.dumps([{"op": rnd.choice(["add", "remove", "replace", "test", "move"]), "path": rnd.choice(["/spec", "/metadata/labels/x", "/a/b/c", "", "/spec/template/spec/containers/-", "/spec/template/spec/containers/99"]), "value": rnd.choice(junk)}])
    try:
        c = http.client.HTTPSConnection(host, port, context=ctx, timeout=10)
        h = {"Authorization": "Bearer " + token}
        if ctype:
            h["Content-Type"] = ctype
        c.request(method, path, body=data if method in ("POST", "PUT", "PATCH") else None, headers=h)
        r = c.getresponse()
        text = r.read()
        c.close()
    except Exception as e:
        print("request %d %s %s: %s" % (i, method, path, e))
        bad += 1
        continue
    ok = True
    if text.startswith(b"404 page not found") or r.status == 200 and (not text or b'"type"' in text[:20]):
        pass
    else:
        try:
            j = json.loads(text) if not (b"\n{" in text and b'"type"' in text) else {}
            if r.status >= 400 and j.get("kind") != "Status":
                ok = False
            if r.status >= 500 and "failed to create typed patch object" not in j.get("message", ""):
                ok = False
        except ValueError:
            ok = False
    if not ok:
        bad += 1
        print("request %d %s %s -> %d %s" % (i, method, path, r.status, text[:200]))
print("bad=%d" % bad)
PY
like "$(tail -n 1 "$T/hostile.out")" '^bad=0$' "1,500 mutated requests: every answer well-formed"
[ "$(tail -n 1 "$T/hostile.out")" = "bad=0" ] || head -n 20 "$T/hostile.out" | sed 's/^/# /'
ok "the simulator is still running" kill -0 "$KUBESIM_PID"
kreq GET /api/v1/namespaces/h
is "$KSTATUS" 200 "and still answering"
kreq GET /apis/apps/v1/namespaces/h/deployments
kvalid "whatever it stored passes the validator as a response"

ks_stop_clean

done_testing
