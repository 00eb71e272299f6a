# benchlib.sh - what the wrk benchmarks share (sourced by tools/bench-http.sh and bench-stores.sh; not named bench-*.sh, which tools/bench.sh runs).
#
#   bench_init NAME       settings (secs, conns, nworkers from BENCH_SECONDS, BENCH_CONNS,
#                         BENCH_WORKERS), a temp dir $D removed at exit, checks for wrk and
#                         the programs, and a migrated PostgreSQL in $D/pg
#   bench_hello_start     the bare FastCGI hello-world behind its own nginx: the ceiling;
#                         sets hello_base and hello_pid
#   bench_fail MSG        print "NAME: MSG" and exit 1
set -u
cd "$(dirname "$0")/.."
SF_ROOT=$(pwd)
: "${SF_BUILD:=$SF_ROOT/build}"
export SF_ROOT SF_BUILD
. tools/stack.sh

bench_fail() {
	echo "$bench_name: $*" >&2
	exit 1
}

bench_init() {
	bench_name=$1
	secs=${BENCH_SECONDS:-10}
	conns=${BENCH_CONNS:-32}
	nworkers=${BENCH_WORKERS:-2}
	D=$(mktemp -d /tmp/sf-bench.XXXXXX)
	chmod 755 "$D"
	trap 'stack_stop; rm -rf "$D"' EXIT
	trap 'exit 130' INT TERM

	command -v wrk >/dev/null || bench_fail "wrk not installed"
	for b in storefleet.fcgi storefleetctl fcgi-hello; do
		[ -x "$SF_BUILD/bin/$b" ] || bench_fail "$SF_BUILD/bin/$b missing (make programs)"
	done
	export SF_COOKIE_SECURE=false SF_LOG_LEVEL=info SF_REGISTRATION_OPEN=true
	pg_start "$D/pg" || exit 1
	"$SF_BUILD/bin/storefleetctl" migrate >"$D/migrate.log" 2>&1 ||
		{ cat "$D/migrate.log" >&2; exit 1; }
}

bench_hello_start() {
	mkdir -p "$D/hello"
	"$SF_BUILD/bin/fcgi-hello" --socket "$D/hello/fcgi.sock" --workers "$nworkers" \
		>>"$D/hello.log" 2>&1 &
	hello_pid=$!
	STACK_PIDS+=("hello:$hello_pid")
	wait_for 10 test -S "$D/hello/fcgi.sock" || bench_fail "fcgi-hello did not start"
	nginx_start "$D/hello" || exit 1
	hello_base=$BASE
}

# --- fleet figures at BENCH_SIZES stores (issue 15): seeding and the one table ---------
#
#   bench_bulk N PREFIX TEMPLATE...  N stores into the running simulator ($KUBESIM_*) through
#                         POST /_sim/bulk, objects created ready, on one keep-alive connection,
#                         each body under the API server's 3 MiB limit; store i comes from
#                         TEMPLATE[i % count] (a JSON array of objects) with "zzzzzzzz" replaced
#                         by PREFIX and i on 7 digits
#   bench_seed N          N steady stores ready in PostgreSQL (COPY, owner: the first user; each
#                         with its first revision, as provisioning leaves it) and,
#                         in the simulator, the kinds a reconcile pass lists (from storefleetctl
#                         render, half each engine); temp files in $T
#   bench_record N KEY VALUE   one figure for the table (file per size in $BENCH_RESULTS)
#   bench_fleet_table     print the table of every size recorded, then the issue's targets
#                         with met / missed

: "${BENCH_SIZES:=1000 10000 50000}"
export BENCH_SIZES

bench_bulk() {
	local n=$1 prefix=$2

	shift 2
	python3 - "$n" "$prefix" "$KUBESIM_ADDR" "$KUBESIM_TOKEN" "$KUBESIM_DIR/ca.crt" "$@" <<'PY'
import http.client, json, ssl, sys, urllib.parse
n, prefix, addr, token, ca = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
tmpl = [json.dumps(json.load(open(f)), separators=(",", ":"))[1:-1] for f in sys.argv[6:]]
u = urllib.parse.urlparse(addr)
c = http.client.HTTPSConnection(u.hostname, u.port, context=ssl.create_default_context(cafile=ca))
h = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
per = max(1, 2_900_000 // (max(len(t) for t in tmpl) + 64))
for s in range(0, n, per):
    body = '{"ready":true,"items":[' + ",".join(
        tmpl[i % len(tmpl)].replace("zzzzzzzz", "%s%07d" % (prefix, i))
        for i in range(s, min(n, s + per))) + "]}"
    c.request("POST", "/_sim/bulk", body.encode(), h)
    r = c.getresponse()
    b = r.read()
    if r.status != 201:
        sys.exit("bench_bulk: POST /_sim/bulk answered %d: %.300s" % (r.status, b))
PY
}

bench_seed() {
	local n=$1 owner e

	owner=$(psql -Atq -c "SELECT min(id) FROM users") || return 1
	for e in woocommerce medusa; do
		"$SF_BUILD/bin/storefleetctl" render "$e" --store-id zzzzzzzz --json |
			python3 -c 'import json, sys
keep = {"Namespace", "PersistentVolumeClaim", "StatefulSet", "Deployment", "Job"}
json.dump([o for o in json.load(sys.stdin)["items"] if o["kind"] in keep], sys.stdout)' \
			>"$T/seed-$e.json" || return 1
	done
	python3 -c 'import sys
n, owner = int(sys.argv[1]), sys.argv[2]
w = sys.stdout.write
for i in range(n):
    w("s%07d\t%s\tShop %d\t%s\tready\tready\tnow\tnow\n" % (i, owner, i, "medusa" if i % 2 else "woocommerce"))' \
		"$n" "$owner" | psql -q -v ON_ERROR_STOP=1 -c "COPY stores (id, owner_id, name, engine,
		status, step, ready_at, provisioning_started_at) FROM stdin" || return 1
	# Each store's first revision, as provisioning writes it (reconcile_upgrade.c): without
	# it every pass would backfill 5,000 stores and the figures would measure that instead.
	python3 -c 'import json, sys, yaml
print(json.dumps({e: yaml.safe_load(open("%s/charts/%s/values.yaml" % (sys.argv[1], e)))["version"]
                  for e in ("woocommerce", "medusa")}))' "$SF_ROOT" >"$T/seed-versions.json" || return 1
	psql -q -v ON_ERROR_STOP=1 -v v="$(cat "$T/seed-versions.json")" <<-'SQL' || return 1
		INSERT INTO store_revisions (store_id, revision, kind, engine_version, "values", actor_id,
			actor, result, finished_at)
		SELECT s.id, 1, 'provision', :'v'::jsonb ->> s.engine,
			jsonb_build_object('version', :'v'::jsonb ->> s.engine, 'store',
				jsonb_build_object('name', s.name)), s.owner_id, u.email, 'ready', now()
		FROM stores s JOIN users u ON u.id = s.owner_id WHERE s.current_revision = 0;
		UPDATE stores SET current_revision = 1 WHERE current_revision = 0;
		SQL
	psql -q -c "ANALYZE stores" -c "ANALYZE store_revisions" || return 1
	bench_bulk "$n" s "$T/seed-woocommerce.json" "$T/seed-medusa.json"
}

bench_record() {
	[ -n "${BENCH_RESULTS:-}" ] || return 0
	printf '%s\t%s\n' "$2" "$3" >>"$BENCH_RESULTS/fleet-$1"
}

bench_fleet_table() {
	python3 - "$BENCH_RESULTS" <<'PY'
import glob, os, sys
d = sys.argv[1]
rows = {}
for f in glob.glob(os.path.join(d, "fleet-*")):
    n = int(f.rsplit("-", 1)[1]) if f.rsplit("-", 1)[1].isdigit() else f.rsplit("-", 1)[1]
    rows[n] = dict(l.rstrip("\n").split("\t", 1) for l in open(f) if "\t" in l)
sizes = sorted(k for k in rows if isinstance(k, int))
cols = [("stores", None), ("seed s", "seed_s"), ("steady s", "steady_s"), ("req", "steady_req"),
        ("resume s", "resume_s"), ("req", "resume_req"), ("re-list", "resume_relist"),
        ("full list s", "full_s"), ("req", "full_req"), ("rc RSS MiB", "rc_rss"),
        ("pg rows/st", "pg_rows"), ("pg B/st", "pg_bytes"), ("ks objects", "ks_objects"),
        ("ks RSS MiB", "ks_rss"), ("LIST ms", "ks_list_ms"), ("by label ms", "ks_label_ms")]
w = [max(len(h), 7) for h, _ in cols]
print("  ".join(h.rjust(w[i]) for i, (h, _) in enumerate(cols)))
for n in sizes:
    r = rows[n]
    print("  ".join((("{:,}".format(n)) if k is None else r.get(k, "n/a")).rjust(w[i])
                    for i, (_, k) in enumerate(cols)))
thr = rows.get("throughput", {})
for k in sorted(thr, key=lambda s: int(s.split("c")[-1]) if s.split("c")[-1].isdigit() else 0):
    print("provisioning %s" % thr[k])
print("""
  steady: a pass of a reconcile already running (--for), median of its passes after the
  first; req: the Kubernetes requests it counted (the most of those passes); resume: a new
  --once process after one ran (a cron restart), re-list: whether the simulator saw it
  LIST; full list: the first pass over a fresh database; rc RSS: reconcile's peak RSS;
  pg: rows and bytes (tables, indexes, TOAST) per store the database gained; ks: the
  simulator holding 15 objects per store (tools/bench-kubesim.sh), its RSS, one LIST
  page of 5,000 configmaps (reconcile's page) and one store's configmaps by label (p50).""")
def num(n, k):
    try:
        return float(rows.get(n, {}).get(k, "").rstrip("s"))
    except ValueError:
        return None
def target(what, n, k, limit, unit):
    v = num(n, k)
    if n not in rows:
        print("  %-52s not measured (size %s not in BENCH_SIZES)" % (what, n)); return
    if v is None:
        print("  %-52s n/a" % what); return
    verdict = "met" if v <= limit else "MISSED by %g%s (x%.1f)" % (round(v - limit, 3), unit, v / limit)
    print("  %-52s %g%s: %s" % (what, v, unit, verdict))
print("\ntargets (issue 15 item 3):")
target("steady pass at 10,000 stores <= 0.3 s", 10000, "steady_s", 0.3, " s")
target("steady pass at 10,000 stores <= 2 requests", 10000, "steady_req", 2, "")
target("steady pass at 50,000 stores <= 1 s", 50000, "steady_s", 1, " s")
target("resume at 10,000 stores <= 1 s", 10000, "resume_s", 1, " s")
if 10000 in rows:
    rl = rows[10000].get("resume_relist", "n/a")
    print("  %-52s %s: %s" % ("resume at 10,000 stores without re-list", rl,
          "met" if rl == "no" else "MISSED" if rl == "yes" else "n/a"))
target("full re-list at 50,000 stores <= 15 s", 50000, "full_s", 15, " s")
target("reconcile RSS at 50,000 stores <= 256 MiB", 50000, "rc_rss", 256, " MiB")
PY
}
