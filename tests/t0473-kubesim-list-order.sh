#!/bin/bash
# t0473-kubesim-list-order.sh - kubesim lists in etcd's key order ("<namespace>/<name>" byte by byte, so namespace "a-b" before "a"), pages by that key (objects created or deleted around a continue key, a label few objects carry, field selectors, cluster-scoped kinds), remainingItemCount only without selectors.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-kubesim.sh"

# a continue token lives 4 s: long enough for every list below, short enough to see one expire
ks_start --continue-ttl-ms 4000

# 8 namespaces whose names the two orders disagree on, 6 ConfigMaps each; every ConfigMap and
# namespace carries store=<ns>, the ConfigMaps but "z" managed-by=storefleet
python3 - >"$T/bulk.json" <<'PY'
import json
items = []
for ns in ["c", "a", "b", "ab", "a-b-c", "a0", "b-1", "a-b"]:
    items.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": {"store": ns}}})
    for n in ["y", "x.1", "z", "x", "x1", "x-1"]:
        labels = {"store": ns}
        if n != "z":
            labels["app.kubernetes.io/managed-by"] = "storefleet"
        items.append({"apiVersion": "v1", "kind": "ConfigMap",
                      "metadata": {"name": n, "namespace": ns, "labels": labels}})
print(json.dumps({"items": items, "ready": True}))
PY
ksim POST bulk "$(cat "$T/bulk.json")"
is "$KSTATUS $(kjson 'j["created"]')" "201 56" "8 namespaces and 48 ConfigMaps seeded"

# the lists themselves, from one client; each check prints "got TAB expected TAB name"
python3 - "$KUBESIM_ADDR" "$KUBESIM_TOKEN" "$KUBESIM_DIR/ca.crt" >"$T/checks" 2>"$T/py.err" <<'PY'
import http.client, json, ssl, sys, time, urllib.parse
addr, token, ca = sys.argv[1:4]
u = urllib.parse.urlsplit(addr)
c = http.client.HTTPSConnection(u.hostname, u.port, context=ssl.create_default_context(cafile=ca))
H = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}

def req(method, path, body=None):
    c.request(method, path, json.dumps(body) if body is not None else None, H)
    r = c.getresponse()
    return r.status, json.loads(r.read() or "null")

def check(got, want, name):
    print("%s\t%s\t%s" % (json.dumps(got), json.dumps(want), name))

def key(o):
    md = o["metadata"]
    return md.get("namespace", "") + "/" + md["name"] if md.get("namespace") else md["name"]

def keys(items):
    return [key(o) for o in items]

def etcd_order(ks):
    return sorted(ks, key=lambda k: k.encode())

def pages(path, limit, cont=""):
    """Every page of a list: [(status, body)]."""
    out = []
    sep = "&" if "?" in path else "?"
    while True:
        st, b = req("GET", "%s%slimit=%d%s" % (path, sep, limit, "&continue=" + urllib.parse.quote(cont) if cont else ""))
        out.append((st, b))
        cont = b["metadata"].get("continue", "") if st == 200 else ""
        if not cont or len(out) > 100:
            return out

CM = "/api/v1/configmaps"
MANAGED = "labelSelector=" + urllib.parse.quote("app.kubernetes.io/managed-by=storefleet")

st, full = req("GET", CM)
all_keys = keys(full["items"])
check(len(all_keys), 48, "an unpaged list holds all 48 ConfigMaps")
check(all_keys, etcd_order(all_keys), "in etcd's key order, namespace/name byte by byte")
check(all_keys[:7], ["a-b-c/x", "a-b-c/x-1", "a-b-c/x.1", "a-b-c/x1", "a-b-c/y", "a-b-c/z", "a-b/x"],
      "namespace a-b-c before a-b before a ('-' sorts below the key's '/'), names byte by byte")
st, b = req("GET", "/api/v1/namespaces")
check(keys(b["items"]), sorted(keys(b["items"]), key=lambda k: k.encode()), "a cluster-scoped kind lists by name")

# paging without selectors: the same order, remainingItemCount exact on every page but the last
ps = pages(CM, 7)
got = [k for st, b in ps for k in keys(b["items"])]
check(got, all_keys, "limit=7: the pages hold the unpaged list, in order")
rem, seen = [], 0
for st, b in ps:
    seen += len(b["items"])
    rem.append((b["metadata"].get("remainingItemCount"), 48 - seen))
check([r[0] for r in rem], [r[1] or None for r in rem], "remainingItemCount: the items after each page; none on the last")
check(sorted(set(b["metadata"]["resourceVersion"] for st, b in ps)).__len__(), 1, "one resourceVersion across the pages")

ps = pages("/api/v1/namespaces/a-b/configmaps", 4)
check([(keys(b["items"]), b["metadata"].get("remainingItemCount")) for st, b in ps],
      [(["a-b/x", "a-b/x-1", "a-b/x.1", "a-b/x1"], 2), (["a-b/y", "a-b/z"], None)],
      "a namespace's list pages within it, remainingItemCount counting only it")

# with selectors: filtered in the same order, and no remainingItemCount (ListMeta: unknown then)
ps = pages(CM + "?" + MANAGED, 5)
got = [k for st, b in ps for k in keys(b["items"])]
check(got, [k for k in all_keys if not k.endswith("/z")], "by label, limit=5: every labelled item once, in key order")
check([b["metadata"].get("remainingItemCount") for st, b in ps], [None] * len(ps), "no remainingItemCount with a label selector")
ps = pages(CM + "?labelSelector=store%3Da-b", 2)
check([keys(b["items"]) for st, b in ps], [["a-b/x", "a-b/x-1"], ["a-b/x.1", "a-b/x1"], ["a-b/y", "a-b/z"]],
      "a label few objects carry (store=a-b), limit=2: three pages in key order")
ps = pages(CM + "?fieldSelector=metadata.name%3Dx1", 3)
check([(keys(b["items"]), b["metadata"].get("remainingItemCount")) for st, b in ps],
      [(["a-b-c/x1", "a-b/x1", "a/x1"], None), (["a0/x1", "ab/x1", "b-1/x1"], None), (["b/x1", "c/x1"], None)],
      "fieldSelector metadata.name across namespaces, limit=3: key order, no remainingItemCount")
ps = pages(CM + "?fieldSelector=metadata.namespace%3Db&" + MANAGED, 2)
check([keys(b["items"]) for st, b in ps], [["b/x", "b/x-1"], ["b/x.1", "b/x1"], ["b/y"]],
      "fieldSelector metadata.namespace and a label, limit=2")

# objects created and deleted around a continue key: the next page starts just after the key
st, p1 = req("GET", CM + "?limit=5")
tok = p1["metadata"]["continue"]
check(keys(p1["items"]), all_keys[:5], "first page of 5")
st, _ = req("DELETE", "/api/v1/namespaces/a-b-c/configmaps/y")
st2, _ = req("POST", "/api/v1/namespaces/a-b-c/configmaps", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x0"}})
check([st, st2], [200, 201], "the key's object deleted, one created before the key (a-b-c/x0)")
st, p2 = req("GET", CM + "?limit=5&continue=" + urllib.parse.quote(tok))
check((st, keys(p2["items"]), p2["metadata"]["resourceVersion"]), (200, all_keys[5:10], p1["metadata"]["resourceVersion"]),
      "the next page: the 5 after the deleted key, none before it, at the first page's resourceVersion")

# an expired token continues inconsistently, at the latest state, from the same key
tok = p2["metadata"]["continue"]           # after all_keys[9]
t0 = time.time()
while True:
    st, e = req("GET", CM + "?limit=5&continue=" + urllib.parse.quote(tok))
    if st != 200 or time.time() - t0 > 15:
        break
    time.sleep(0.2)
check((st, e.get("reason")), (410, "Expired"), "past --continue-ttl-ms: 410 Expired")
k9 = all_keys[9].split("/")
st, _ = req("DELETE", "/api/v1/namespaces/%s/configmaps/%s" % tuple(k9))
st2, _ = req("POST", "/api/v1/namespaces/%s/configmaps" % k9[0], {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": k9[1] + "0"}})
st3, _ = req("DELETE", "/api/v1/namespaces/%s/configmaps/%s" % tuple(all_keys[10].split("/")))
check([st, st2, st3], [200, 201, 200], "the key's object deleted, one created just after it, the next one deleted")
st, p3 = req("GET", CM + "?limit=5&continue=" + urllib.parse.quote(e["metadata"]["continue"]))
check((st, keys(p3["items"])), (200, [all_keys[9] + "0"] + all_keys[11:15]),
      "the 410's token: what follows the key now (the new object, not the deleted one)")
PY
[ -s "$T/py.err" ] && diag "$(cat "$T/py.err")"
while IFS=$'\t' read -r got want name; do
	is "$got" "$want" "$name"
done <"$T/checks"
is "$(wc -l <"$T/checks")" 19 "every list check ran"

ks_stop_clean

done_testing
