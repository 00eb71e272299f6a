#!/bin/bash
# check-engines-medusa.sh - the Medusa image recipe (charts/medusa/image) run for real, with the commands and environment of the rendered chart, against PostgreSQL and Redis on loopback; prints TAP.
#
#   tools/check-engines-medusa.sh [--version V]   (make check-engines; tests/t0320-medusa-run.sh)
#
# V is a Medusa version of the chart's `versions` (default: its `version`);
# the recipe builds it from charts/medusa/image/versions/V.  What it does, in
# order:
#
#  1. Node.js: the version the Containerfile's base image pins (node:X.Y.Z-...),
#     from the npm registry's node-linux-<arch> package, into
#     $SF_BUILD/engines/node-X.Y.Z.
#  2. The recipe: `npm ci --ignore-scripts` of versions/V/package-lock.json
#     into $SF_BUILD/engines/medusa-V, then `medusa build`, as the
#     Containerfile does.
#     Both are cached: npm ci runs again only when the lock (or Node) changed,
#     the build only when a file of the recipe did.
#  3. `storefleetctl render medusa --overlay local --json --show-secrets
#     [--version V]` (rendered first: its image tag names the version): for
#     the setup Job (init container migrate, container setup) and the server
#     and worker Deployments (init container wait-for-migrations, container
#     medusa) it takes command, args, workingDir, env (secretKeyRef and
#     configMapKeyRef resolved from the rendered Secrets and ConfigMap) and
#     volume mounts, plus the ENV of the Containerfile's last stage, and runs
#     exactly that under `env -i`.  The only changes are addresses: a Service
#     name:port in a value (postgres:5432, redis:6379) becomes this
#     machine's PostgreSQL or Redis, PORT a free port with HOST set to the
#     loopback address, the image's workingDir (/app) the build's
#     .medusa/server, and a volume under it a temp folder.
#  4. PostgreSQL (Debian's, started as tools/stack.sh does: as nobody when
#     root) and redis-server, on 127.0.0.2 and free ports, as this script's
#     own processes in a temp dir; the database user, password and name are
#     the rendered postgres StatefulSet's POSTGRES_* and password auth is on.
#     127.0.0.2 and not 127.0.0.1: Medusa skips TLS for any URL naming
#     localhost or 127.0.0.1, which would hide a DATABASE_URL without
#     sslmode=disable.
#  5. The pods as Kubernetes starts them: server and worker first (their init
#     containers must wait), then the setup Job; then from outside with curl:
#     /health, admin login and session cookie, the sample product, the
#     publishable key, read again by reconcile's own code (medusa_read_key,
#     through tests/unit/x-medusa-key.c) and used on the Store API (a wrong
#     one refused), a customer's cart through the Store API with the key to an
#     order paid with the system provider, the order in the admin API, and
#     the worker's stamp on it (order.placed crossed from the server to the
#     worker through Redis).  The setup Job runs a second time and must
#     create nothing.
#
# Every process it starts is stopped by PID at exit.  Exit status: 0 when
# every test passed, 1 otherwise.
#
# Settings (environment):
#   SF_CHARTS_DIR     the charts to render and the recipe to build (default charts/); the
#                     regression demonstrations point it at a modified copy
#   SF_BUILD          the build folder (default build/): storefleetctl, engines/ (the caches)
#   SF_KEEP=1         keep the temp folder with every process's log
#   CHECK_MEDUSA_TIMEOUT  seconds each wait may take (default 240)
set -u

: "${SF_ROOT:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${SF_BUILD:=$SF_ROOT/build}"
export SF_ROOT SF_BUILD
. "$SF_ROOT/tools/stack.sh"

CHARTS=${SF_CHARTS_DIR:-$SF_ROOT/charts}
RECIPE=$CHARTS/medusa/image
CTL=$SF_BUILD/bin/storefleetctl
ENGINES=$SF_BUILD/engines
want_version=""
case ${1:-} in
--version) want_version=${2:?--version needs a version} ;;
--version=*) want_version=${1#--version=} ;;
"") ;;
*)
	echo "usage: tools/check-engines-medusa.sh [--version V]" >&2
	exit 2
	;;
esac
LOOP=127.0.0.2
TIMEOUT=${CHECK_MEDUSA_TIMEOUT:-240}

T=$(mktemp -d /tmp/sf-check-medusa.XXXXXX)
chmod 755 "$T"
mkdir -p "$T/c" "$T/home" "$T/log"

# --- TAP ----------------------------------------------------------------------------------------
n=0
failed=0
started=$(date +%s)

ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $1"
	shift
	local line
	for line in "$@"; do
		printf '%s\n' "$line" | sed 's/^/#   /'
	done
}
diag() { printf '%s\n' "$*" | sed 's/^/# /'; }
# The last lines of a log, for a failure's diagnostics.
tail_of() { tail -n "${2:-15}" "$1" 2>/dev/null | cut -c1-300; }
bail() {
	echo "Bail out! $*"
	failed=$((failed + 1))
	exit 1
}
elapsed() { echo $(($(date +%s) - started)); }

# The check's own processes (the pods, a Job's container) are process trees: a shell that runs
# medusa, medusa's own children.  Each is stopped whole: its descendants are listed first, then
# all get TERM, and after 10 s KILL, each by PID.
CHECK_PIDS=()
tree_pids() {
	local p

	echo "$1"
	for p in $(pgrep -P "$1" 2>/dev/null); do
		tree_pids "$p"
	done
}
tree_kill() {
	local pids p

	pids=$(tree_pids "$1")
	kill -TERM $pids 2>/dev/null
	for p in $pids; do
		wait_for 10 stack_gone "$p" || kill -KILL "$p" 2>/dev/null
	done
	wait "$1" 2>/dev/null
	return 0
}

cleanup() {
	local rc=$? i

	for ((i = ${#CHECK_PIDS[@]} - 1; i >= 0; i--)); do
		tree_kill "${CHECK_PIDS[$i]}"
	done
	stack_stop
	echo "1..$n"
	diag "$(elapsed) s in all; $failed failed"
	if [ "${SF_KEEP:-0}" = 1 ] || [ "$failed" -gt 0 ]; then
		diag "logs kept in $T"
	else
		rm -rf "$T"
	fi
	[ "$failed" -eq 0 ] && [ "$rc" -eq 0 ] && exit 0
	exit 1
}
trap cleanup EXIT
trap 'exit 130' INT TERM

loop_port() {
	python3 -c 'import socket, sys; s=socket.socket(); s.bind((sys.argv[1], 0)); print(s.getsockname()[1])' "$LOOP"
}

# --- prerequisites ------------------------------------------------------------------------------
[ -x "$CTL" ] || bail "no $CTL: build first (make -j2 programs)"
XKEY=$SF_BUILD/tests/x-medusa-key
[ -x "$XKEY" ] || bail "no $XKEY: build it first (make check-engines does)"
[ -f "$RECIPE/Containerfile" ] || bail "no recipe in $RECIPE"
if ! command -v redis-server >/dev/null 2>&1 || [ ! -x "$PGBIN/initdb" ] || ! command -v npm >/dev/null 2>&1; then
	"$SF_ROOT/tools/deps.sh" redis-server || bail "redis-server, PostgreSQL or npm missing and not installable"
	PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
fi
command -v redis-server >/dev/null 2>&1 || bail "redis-server is not installed (apt-get install redis-server)"

# --- the rendered chart, and the version it runs --------------------------------------------------
render_args=(render medusa --overlay local --store-id check1 --json --show-secrets)
[ -n "$want_version" ] && render_args+=(--version "$want_version")
if ! SF_CHARTS_DIR=$CHARTS "$CTL" "${render_args[@]}" >"$T/render.json" 2>"$T/log/render.log"; then
	bail "storefleetctl ${render_args[*]} failed: $(cat "$T/log/render.log")"
fi
IMAGE=$(python3 -c 'import json,sys
for o in json.load(open(sys.argv[1]))["items"]:
    if o["kind"] == "Deployment" and o["metadata"]["name"] == "medusa-server":
        print(o["spec"]["template"]["spec"]["containers"][0]["image"])' "$T/render.json")
VERSION=${IMAGE##*:}
PKG=$RECIPE/versions/$VERSION
[ -f "$PKG/package-lock.json" ] || bail "the chart runs $IMAGE and the recipe has no versions/$VERSION/package-lock.json"
WORK=$ENGINES/medusa-$VERSION
APP=$WORK/.medusa/server
diag "Medusa $VERSION: the chart runs $IMAGE"

# --- 1. Node.js as the image has it -------------------------------------------------------------
node_version=$(sed -n 's/^FROM[[:space:]]\{1,\}[^[:space:]]*node:\([0-9]\{1,\}\.[0-9]\{1,\}\.[0-9]\{1,\}\)-.*/\1/p' \
	"$RECIPE/Containerfile" | head -n 1)
[ -n "$node_version" ] || bail "no pinned node:X.Y.Z base image in $RECIPE/Containerfile"
case $(uname -m) in
x86_64) node_arch=x64 ;;
aarch64) node_arch=arm64 ;;
*) bail "no Node.js package for $(uname -m)" ;;
esac
NODE_DIR=$ENGINES/node-$node_version
if [ "$("$NODE_DIR/bin/node" --version 2>/dev/null)" != "v$node_version" ]; then
	rm -rf "$NODE_DIR" "$NODE_DIR.tmp" && mkdir -p "$NODE_DIR.tmp"
	if npm install --prefix "$NODE_DIR.tmp" --no-save --no-audit --no-fund \
		"node-linux-$node_arch@$node_version" >"$T/log/node-install.log" 2>&1 &&
		mv "$NODE_DIR.tmp/node_modules/node-linux-$node_arch" "$NODE_DIR"; then
		rm -rf "$NODE_DIR.tmp"
	else
		bail "cannot install Node.js $node_version from npm (node-linux-$node_arch): $(tail_of "$T/log/node-install.log" 3)"
	fi
fi
ok "Node.js $node_version, the Containerfile's base image's"
NODE_PATH_DIRS=$NODE_DIR/bin:$WORK/node_modules/.bin:/usr/local/bin:/usr/bin:/bin

# --- 2. the recipe: npm ci, medusa build ----------------------------------------------------------
mkdir -p "$WORK"
lock_sum=$(cat "$PKG/package.json" "$PKG/package-lock.json" | sha256sum | cut -c1-64)
npm_stamp="$lock_sum node-$node_version"
t0=$(date +%s)
if [ "$(cat "$WORK/.npm-ci.stamp" 2>/dev/null)" != "$npm_stamp" ] || [ ! -d "$WORK/node_modules" ]; then
	rm -f "$WORK/.npm-ci.stamp" "$WORK/.build.stamp"
	cp "$PKG/package.json" "$PKG/package-lock.json" "$WORK/"
	if (cd "$WORK" && PATH=$NODE_PATH_DIRS npm ci --ignore-scripts --no-audit --no-fund) \
		>"$T/log/npm-ci.log" 2>&1; then
		echo "$npm_stamp" >"$WORK/.npm-ci.stamp"
		ok "npm ci of versions/$VERSION/package-lock.json ($(($(date +%s) - t0)) s)"
	else
		notok "npm ci of versions/$VERSION/package-lock.json" "$(tail_of "$T/log/npm-ci.log")"
		exit 1
	fi
else
	ok "npm ci of versions/$VERSION/package-lock.json (cached: the lock is unchanged)"
fi

# Everything of the recipe but the container files and the versions (the lock is npm_stamp's),
# as `medusa build` sees it.
recipe_files() {
	(cd "$RECIPE" && find . -type f ! -name Containerfile ! -name .dockerignore ! -path './versions/*' \
		! -path './node_modules/*' ! -path './.medusa/*' -print0)
}
build_sum=$( (
	cd "$RECIPE" && recipe_files | LC_ALL=C sort -z | xargs -0 sha256sum
	echo "$npm_stamp"
) | sha256sum | cut -c1-64)
t0=$(date +%s)
if [ "$(cat "$WORK/.build.stamp" 2>/dev/null)" != "$build_sum" ] || [ ! -f "$APP/medusa-config.js" ]; then
	rm -f "$WORK/.build.stamp"
	rm -rf "$WORK/src" "$WORK/medusa-config.ts" "$WORK/tsconfig.json" "$WORK/.medusa"
	(cd "$RECIPE" && recipe_files | xargs -0 cp --parents -t "$WORK")
	if (cd "$WORK" && env -i PATH="$NODE_PATH_DIRS" HOME="$T/home" MEDUSA_DISABLE_TELEMETRY=true \
		medusa build) >"$T/log/build.log" 2>&1 && [ -f "$APP/medusa-config.js" ]; then
		echo "$build_sum" >"$WORK/.build.stamp"
		ok "medusa build ($(($(date +%s) - t0)) s)"
	else
		notok "medusa build" "$(grep -v "^    '" "$T/log/build.log" | tail -n 20)"
		exit 1
	fi
else
	ok "medusa build (cached: the recipe is unchanged)"
fi

# --- 3. the rendered chart -----------------------------------------------------------------------
PG_PORT=$(loop_port)
REDIS_PORT=$(loop_port)
SERVER_PORT=$(loop_port)
WORKER_PORT=$(loop_port)

# Writes $T/c/<id>.{argv,env,cwd,mounts} for each container the check runs (NUL-separated
# lists), $T/c/postgres.env and $T/c/redis.args; prints what it rewrote.
python3 - "$T/render.json" "$RECIPE/Containerfile" "$T/c" "$LOOP" "$APP" \
	"postgres=$PG_PORT" "redis=$REDIS_PORT" "server=$SERVER_PORT" "worker=$WORKER_PORT" >"$T/log/extract.log" 2>&1 <<'PY' || bail "reading the rendered chart: $(cat "$T/log/extract.log")"
import base64, json, re, shlex, sys

render, containerfile, out, loop, app = sys.argv[1:6]
# postgres=PORT redis=PORT: the Services the check runs; server=PORT worker=PORT: their PORTs
local = dict(a.split("=", 1) for a in sys.argv[6:])
items = json.load(open(render))["items"]

def find(kind, name):
    for o in items:
        if o["kind"] == kind and o["metadata"]["name"] == name:
            return o
    sys.exit("no %s %s in the rendered chart" % (kind, name))

def secret_value(name, key):
    s = find("Secret", name)
    if key in s.get("stringData", {}):
        return s["stringData"][key]
    return base64.b64decode(s["data"][key]).decode()

def configmap_value(name, key):
    return find("ConfigMap", name)["data"][key]

# Service name:port -> this machine's address, for the services the check runs.
services = {}
for o in items:
    if o["kind"] == "Service":
        for p in o["spec"]["ports"]:
            services["%s:%d" % (o["metadata"]["name"], p["port"])] = o["metadata"]["name"]

def rewrite(value, what):
    def sub(m):
        svc = services[m.group(0)]
        if svc not in ("postgres", "redis") or svc not in local:
            sys.exit("%s names the Service %s, which the check does not run" % (what, m.group(0)))
        print("rewrote %s: %s -> %s:%s" % (what, m.group(0), loop, local[svc]))
        return "%s:%s" % (loop, local[svc])
    pat = "|".join(re.escape(k) for k in sorted(services, key=len, reverse=True))
    return re.sub(r"(?<![\w.-])(%s)(?![\w])" % pat, sub, value) if pat else value

# ENV of the Containerfile's last stage (KEY=VALUE forms; PATH is the check's own).
image_env = []
stage_env = []
for line in open(containerfile).read().replace("\\\n", " ").splitlines():
    words = shlex.split(line, comments=True) if line.strip() else []
    if not words:
        continue
    if words[0].upper() == "FROM":
        stage_env = []
    elif words[0].upper() == "ENV":
        for w in words[1:]:
            k, _, v = w.partition("=")
            if k != "PATH":
                stage_env.append((k, v))
image_env = stage_env

def container(kind, name, cname, init, port_env=None):
    o = find(kind, name)
    spec = o["spec"]["template"]["spec"]
    cs = spec.get("initContainers" if init else "containers", [])
    c = [x for x in cs if x["name"] == cname]
    if not c:
        sys.exit("%s %s has no %scontainer %s" % (kind, name, "init " if init else "", cname))
    c = c[0]
    what = "%s %s/%s" % (kind, name, cname)
    argv = c.get("command", []) + c.get("args", [])
    if not argv:
        sys.exit("%s has no command: the check runs only what the chart spells out" % what)
    wd = c.get("workingDir")
    if not wd:
        sys.exit("%s has no workingDir" % what)
    env = list(image_env)
    for e in c.get("env", []):
        if "value" in e:
            v = e["value"]
        else:
            ref = e["valueFrom"]
            if "secretKeyRef" in ref:
                v = secret_value(ref["secretKeyRef"]["name"], ref["secretKeyRef"]["key"])
            elif "configMapKeyRef" in ref:
                v = configmap_value(ref["configMapKeyRef"]["name"], ref["configMapKeyRef"]["key"])
            else:
                sys.exit("%s: env %s: unsupported valueFrom" % (what, e["name"]))
        v = rewrite(v, "%s env %s" % (what, e["name"]))
        if e["name"] == "PORT" and port_env:
            print("rewrote %s env PORT: %s -> %s (HOST=%s)" % (what, v, port_env, loop))
            v = port_env
        env.append((e["name"], v))
    if port_env:
        env.append(("HOST", loop))
    mounts = []
    for m in c.get("volumeMounts", []):
        p = m["mountPath"]
        if not (p + "/").startswith(wd.rstrip("/") + "/"):
            sys.exit("%s mounts %s outside its workingDir %s" % (what, p, wd))
        mounts.append(app + p[len(wd.rstrip("/")):])
    return argv, env, mounts

def write(cid, argv, env, mounts):
    with open("%s/%s.argv" % (out, cid), "w") as f:
        f.write("".join(a + "\0" for a in argv))
    with open("%s/%s.env" % (out, cid), "w") as f:
        f.write("".join("%s=%s\0" % kv for kv in env))
    with open("%s/%s.mounts" % (out, cid), "w") as f:
        f.write("".join(m + "\0" for m in mounts))

write("migrate", *container("Job", "medusa-setup", "migrate", True))
write("setup", *container("Job", "medusa-setup", "setup", False))
write("server-wait", *container("Deployment", "medusa-server", "wait-for-migrations", True))
write("server", *container("Deployment", "medusa-server", "medusa", False, local["server"]))
write("worker-wait", *container("Deployment", "medusa-worker", "wait-for-migrations", True))
write("worker", *container("Deployment", "medusa-worker", "medusa", False, local["worker"]))

# The database as the postgres image makes it from its POSTGRES_* variables.
pg = find("StatefulSet", "postgres")["spec"]["template"]["spec"]["containers"][0]
with open(out + "/postgres.env", "w") as f:
    for e in pg["env"]:
        if e["name"] in ("POSTGRES_USER", "POSTGRES_DB", "POSTGRES_PASSWORD"):
            v = e.get("value")
            if v is None:
                r = e["valueFrom"]["secretKeyRef"]
                v = secret_value(r["name"], r["key"])
            f.write("%s=%s\n" % (e["name"], v))
rd = find("Deployment", "redis")["spec"]["template"]["spec"]["containers"][0]
with open(out + "/redis.args", "w") as f:
    f.write("".join(a + "\0" for a in rd.get("command", [])[1:] + rd.get("args", [])))
PY
ok "the rendered chart read: setup Job (migrate, setup), medusa-server and medusa-worker (wait-for-migrations, medusa)"
diag "$(cat "$T/log/extract.log")"

# --- 4. PostgreSQL and Redis on loopback ---------------------------------------------------------
# PostgreSQL from tools/stack.sh's template cluster (as nobody when root), listening on
# $LOOP:$PG_PORT with password authentication for TCP, the database and user made as the
# postgres image makes them from POSTGRES_USER, POSTGRES_PASSWORD and POSTGRES_DB.
pg_home=$(stack_pg_home "$T/pg") || bail "no folder for PostgreSQL"
pg_tpl=$(stack_pg_template) || bail "no PostgreSQL template cluster (initdb failed)"
cp -a "$pg_tpl" "$pg_home/data" || bail "cannot copy the PostgreSQL template"
cat >"$pg_home/data/pg_hba.conf" <<HBA
local all all trust
host all all 127.0.0.0/8 scram-sha-256
HBA
[ "$(id -u)" -eq 0 ] && chown -R nobody:nogroup "$pg_home/data"
chmod 700 "$pg_home/data"
stack_as_pg "$PGBIN/pg_ctl" -D "$pg_home/data" -l "$pg_home/postgres.log" -w -t 30 \
	-o "-k '$pg_home' -c listen_addresses=$LOOP -p $PG_PORT -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
	start >/dev/null 2>&1 || bail "PostgreSQL did not start: $(tail_of "$pg_home/postgres.log" 5)"
STACK_PIDS+=("pg:$(head -n 1 "$pg_home/data/postmaster.pid")")
. "$T/c/postgres.env"
psql -h "$pg_home" -p "$PG_PORT" -U storefleet -d postgres -v ON_ERROR_STOP=1 -q \
	-v user="$POSTGRES_USER" -v pw="$POSTGRES_PASSWORD" -v db="$POSTGRES_DB" >"$T/log/psql.log" 2>&1 <<'SQL' ||
CREATE ROLE :"user" LOGIN SUPERUSER PASSWORD :'pw';
CREATE DATABASE :"db" OWNER :"user";
SQL
	bail "cannot create the database: $(cat "$T/log/psql.log")"
ok "PostgreSQL $("$PGBIN/postgres" -V | awk '{print $3}') on $LOOP:$PG_PORT, database $POSTGRES_DB of $POSTGRES_USER (password auth)"

mkdir -p "$T/redis"
mapfile -d '' redis_args <"$T/c/redis.args"
redis-server "${redis_args[@]}" --bind "$LOOP" --port "$REDIS_PORT" --dir "$T/redis" \
	--daemonize no --logfile "$T/log/redis.log" >/dev/null 2>&1 &
STACK_PIDS+=("redis:$!")
wait_for 15 redis-cli -h "$LOOP" -p "$REDIS_PORT" ping || bail "redis-server did not answer: $(tail_of "$T/log/redis.log" 5)"
ok "redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') on $LOOP:$REDIS_PORT (the chart's args: ${redis_args[*]})"

# --- 5. the pods ---------------------------------------------------------------------------------
# run_container ID: becomes the container ID as the chart says (env -i, its workingDir): call it
# in a subshell, ( run_container ID ).  Its volumes are folders of $T linked where they are mounted.
container_env() {
	mapfile -d '' c_argv <"$T/c/$1.argv"
	mapfile -d '' c_env <"$T/c/$1.env"
	mapfile -d '' c_mounts <"$T/c/$1.mounts"
	local m
	for m in "${c_mounts[@]}"; do
		mkdir -p "$T/volumes"
		if [ ! -L "$m" ] || [ "$(readlink "$m")" != "$T/volumes/${m##*/}" ]; then
			rm -rf "$m" && ln -s "$T/volumes/${m##*/}" "$m"
		fi
		mkdir -p "$T/volumes/${m##*/}"
	done
}
run_container() {
	container_env "$1"
	cd "$APP" && exec env -i PATH="$NODE_PATH_DIRS" HOME="$T/home" "${c_env[@]}" "${c_argv[@]}"
}

# pod_start POD INIT MAIN: a pod in the background: INIT to completion, then MAIN (same PID
# as the pod's, which is recorded to be stopped).  $T/POD.init-done appears between the two.
pod_start() {
	local pod=$1 init=$2 main=$3

	(
		(run_container "$init") >>"$T/log/$pod.log" 2>&1 || exit 1
		touch "$T/$pod.init-done"
		run_container "$main" >>"$T/log/$pod.log" 2>&1
	) &
	eval "${pod}_pid=$!"
	CHECK_PIDS+=("$!")
}

health() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://$LOOP:$1/health" | grep -qx 200; }

pod_start server server-wait server
pod_start worker worker-wait worker
sleep 3
if [ ! -e "$T/server.init-done" ] && [ ! -e "$T/worker.init-done" ] &&
	kill -0 "$server_pid" 2>/dev/null && kill -0 "$worker_pid" 2>/dev/null; then
	ok "before the setup Job, the server's and worker's init containers wait for the migrations"
else
	notok "before the setup Job, the server's and worker's init containers wait for the migrations" \
		"$(tail_of "$T/log/server.log" 5)" "$(tail_of "$T/log/worker.log" 5)"
fi

# The setup Job: migrate (an init container), then setup.  PostgreSQL answers already, so a
# migrate that retries has failed: it is stopped at its first retry rather than after 60.
t0=$(date +%s)
: >"$T/log/migrate.log"
(run_container migrate) >"$T/log/migrate.log" 2>&1 &
mig=$!
CHECK_PIDS+=("$mig")
while kill -0 "$mig" 2>/dev/null; do
	if grep -q "retrying in" "$T/log/migrate.log" ||
		[ $(($(date +%s) - t0)) -ge "$TIMEOUT" ]; then
		tree_kill "$mig"
		break
	fi
	sleep 1
done
wait "$mig"
mig_rc=$?
if [ "$mig_rc" -eq 0 ] && grep -q "recorded the migrations" "$T/log/migrate.log"; then
	ok "setup Job, init container migrate: medusa db:migrate and the record ($(($(date +%s) - t0)) s)"
else
	notok "setup Job, init container migrate: medusa db:migrate and the record" \
		"$(grep -iE "error|ssl|fail" "$T/log/migrate.log" | grep -v '^\s*at ' | head -n 8)" \
		"$(tail_of "$T/log/migrate.log" 8)"
	bail "no migrations: nothing else can start"
fi

if wait_for 30 test -e "$T/server.init-done" && wait_for 30 test -e "$T/worker.init-done"; then
	ok "the server's and worker's init containers let them start once the migrations are recorded"
else
	notok "the server's and worker's init containers let them start once the migrations are recorded" \
		"$(tail_of "$T/log/server.log" 5)"
fi

t0=$(date +%s)
if (run_container setup) >"$T/log/setup.log" 2>&1; then
	ok "setup Job, container setup: medusa exec ./src/scripts/setup.js ($(($(date +%s) - t0)) s)"
else
	notok "setup Job, container setup: medusa exec ./src/scripts/setup.js" "$(tail_of "$T/log/setup.log" 20)"
fi
diag "$(grep -o 'setup: .*' "$T/log/setup.log" | sed 's/\x1b\[[0-9;]*m//g')"

t0=$(date +%s)
if wait_for "$TIMEOUT" health "$SERVER_PORT"; then
	ok "server: GET /health answers 200 ($(($(date +%s) - t0)) s after the setup)"
else
	notok "server: GET /health answers 200" "$(tail_of "$T/log/server.log" 20)"
	bail "the server does not answer"
fi
if wait_for 60 health "$WORKER_PORT"; then
	ok "worker: GET /health answers 200 (its probes' port)"
else
	notok "worker: GET /health answers 200" "$(tail_of "$T/log/worker.log" 20)"
fi

# --- 6. from outside, as a browser and a storefront would -----------------------------------------
BASE=http://$LOOP:$SERVER_PORT
# api METHOD PATH [JSON]: sets STATUS; the body is in $T/body.  Headers from the array H.
H=()
api() {
	local data=()

	[ $# -ge 3 ] && data=(-H 'Content-Type: application/json' --data "$3")
	STATUS=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 60 -X "$1" "${H[@]}" "${data[@]}" \
		-c "$T/cookies" -b "$T/cookies" "$BASE$2")
}
# jget EXPR: a python expression over the last body (j), printed; empty when it fails.
jget() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); v='"$1"'; print(v if not isinstance(v,(dict,list)) else json.dumps(v))' "$T/body" 2>/dev/null; }
body() { head -c 600 "$T/body"; }

mapfile -d '' setup_env <"$T/c/setup.env"
for kv in "${setup_env[@]}"; do
	case $kv in
	ADMIN_EMAIL=*) ADMIN_EMAIL=${kv#*=} ;;
	ADMIN_PASSWORD=*) ADMIN_PASSWORD=${kv#*=} ;;
	esac
done

api GET /app/
if [ "$STATUS" = 200 ] && grep -qi "<html" "$T/body"; then
	ok "GET /app/: the admin dashboard built into the image"
else
	notok "GET /app/: the admin dashboard built into the image" "status $STATUS"
fi

api POST /auth/user/emailpass "$(python3 -c 'import json,sys; print(json.dumps({"email": sys.argv[1], "password": sys.argv[2]}))' "$ADMIN_EMAIL" "$ADMIN_PASSWORD")"
TOKEN=$(jget 'j["token"]')
if [ "$STATUS" = 200 ] && [ -n "$TOKEN" ]; then
	ok "admin login: POST /auth/user/emailpass as $ADMIN_EMAIL with the Secret's password"
else
	notok "admin login: POST /auth/user/emailpass as $ADMIN_EMAIL with the Secret's password" "status $STATUS: $(body)"
	bail "no admin token"
fi

# The dashboard's way in: the token exchanged for a session cookie, which over plain HTTP must
# not be Secure (the local overlay), else the browser drops it.
H=(-H "Authorization: Bearer $TOKEN")
curl -s -D "$T/session.headers" -o /dev/null --max-time 30 -X POST "${H[@]}" -c "$T/cookies" "$BASE/auth/session"
cookie=$(grep -i '^set-cookie: connect.sid' "$T/session.headers" | tr -d '\r')
H=()
api GET /admin/users/me
if [ -n "$cookie" ] && ! printf '%s' "$cookie" | grep -qi '; *secure' && [ "$STATUS" = 200 ] &&
	[ "$(jget 'j["user"]["email"]')" = "$ADMIN_EMAIL" ]; then
	ok "admin session: POST /auth/session sets connect.sid without Secure (plain HTTP), GET /admin/users/me with it"
else
	notok "admin session: POST /auth/session sets connect.sid without Secure (plain HTTP), GET /admin/users/me with it" \
		"cookie: ${cookie:-none}" "GET /admin/users/me: $STATUS $(body)"
fi

H=(-H "Authorization: Bearer $TOKEN")
api GET "/admin/products?handle=storefleet-sample&fields=id,title,status,*variants"
if [ "$STATUS" = 200 ] && [ "$(jget 'j["count"]')" = 1 ] &&
	[ "$(jget 'j["products"][0]["variants"][0]["sku"]')" = SF-SAMPLE-1 ]; then
	ok "admin API: the sample product storefleet-sample (SKU SF-SAMPLE-1) exists, $(jget 'j["products"][0]["status"]')"
else
	notok "admin API: the sample product storefleet-sample (SKU SF-SAMPLE-1) exists" "status $STATUS: $(body)"
fi

api GET "/admin/api-keys?type=publishable&fields=id,title,token,*sales_channels"
PK=$(jget '[k["token"] for k in j["api_keys"] if k["title"] == "Storefront"][0]')
if [ "$STATUS" = 200 ] && [ -n "$PK" ]; then
	ok "admin API: the publishable API key Storefront (${PK:0:10}...)"
else
	notok "admin API: the publishable API key Storefront" "status $STATUS: $(body)"
	bail "no publishable key"
fi

# Reconcile's own read of the key (src/fleet/reconcile_medusa.c, medusa_read_key: the sign-in
# and the api-keys list, with the Host header a store gets behind the ingress), run by the
# test program tests/unit/x-medusa-key.c against this Medusa: the requests t0325 proves
# against kubesim are Medusa's own.
STORE_HOST=store-check1.127.0.0.1.nip.io
RK=$(SF_MEDUSA_ADMIN_PASSWORD=$ADMIN_PASSWORD "$XKEY" "$BASE" "$STORE_HOST" "$ADMIN_EMAIL" 2>"$T/log/x-medusa-key.log")
rk_rc=$?
if [ "$rk_rc" -eq 0 ] && [ "$RK" = "$PK" ] && printf '%s' "$RK" | grep -Eq '^pk_[0-9a-f]{64}$'; then
	ok "reconcile's medusa_read_key against the real Medusa: POST /auth/user/emailpass, GET /admin/api-keys -> the same key (pk_ + 64 hex)"
else
	notok "reconcile's medusa_read_key against the real Medusa returns the Storefront key" \
		"exit $rk_rc, printed '${RK:0:12}...', want '${PK:0:12}...'" "$(cat "$T/log/x-medusa-key.log")"
fi
RK=$(SF_MEDUSA_ADMIN_PASSWORD="not-$ADMIN_PASSWORD" "$XKEY" "$BASE" "$STORE_HOST" "$ADMIN_EMAIL" 2>"$T/log/x-medusa-key.log")
rk_rc=$?
if [ "$rk_rc" -eq 1 ] && [ -z "$RK" ] &&
	grep -q "POST /auth/user/emailpass: the store refused the admin's email and password (HTTP 401)" "$T/log/x-medusa-key.log" &&
	! grep -qF -e "$ADMIN_PASSWORD" "$T/log/x-medusa-key.log"; then
	ok "medusa_read_key with a wrong password: Medusa answers 401, no key, the reason without the password"
else
	notok "medusa_read_key with a wrong password: Medusa answers 401, no key" \
		"exit $rk_rc, printed '${RK:0:12}'" "$(cat "$T/log/x-medusa-key.log")"
fi

# What the key is for: the Store API with x-publishable-api-key, as a storefront calls it.
H=(-H "x-publishable-api-key: $PK")
api GET "/store/products?handle=storefleet-sample&fields=id,handle,title"
if [ "$STATUS" = 200 ] && [ "$(jget '[p["handle"] for p in j["products"]]')" = '["storefleet-sample"]' ]; then
	ok "store API: GET /store/products with x-publishable-api-key (the key reconcile read) lists storefleet-sample"
else
	notok "store API: GET /store/products with x-publishable-api-key lists storefleet-sample" "status $STATUS: $(body)"
fi
H=(-H "x-publishable-api-key: pk_$(printf '%064d' 0)")
api GET "/store/products?handle=storefleet-sample&fields=id,handle"
wrong_status=$STATUS
H=()
api GET "/store/products?handle=storefleet-sample&fields=id,handle"
if [ "$wrong_status" = 400 ] && [ "$STATUS" = 400 ] && ! grep -q storefleet-sample "$T/body"; then
	ok "store API: a wrong key and no key are refused (400: $(jget 'j["message"]'))"
else
	notok "store API: a wrong key and no key are refused" "wrong key: $wrong_status; no key: $STATUS $(body)"
fi

# A customer: cart -> line item -> address -> shipping -> payment -> order.
H=(-H "x-publishable-api-key: $PK")
rm -f "$T/cookies"
flow_ok=1
step() {
	local name=$1 want=$2

	shift 2
	api "$@"
	if [ "$STATUS" != "$want" ]; then
		notok "store API: $name" "$1 $2 -> $STATUS: $(body)"
		flow_ok=0
		return 1
	fi
}
order_id=""
if step "regions" 200 GET /store/regions &&
	region_id=$(jget 'j["regions"][0]["id"]') &&
	step "the sample product" 200 GET "/store/products?handle=storefleet-sample&region_id=$region_id&fields=*variants.calculated_price" &&
	variant_id=$(jget 'j["products"][0]["variants"][0]["id"]') &&
	price=$(jget 'j["products"][0]["variants"][0]["calculated_price"]["calculated_amount"]') &&
	step "create a cart" 200 POST /store/carts "{\"region_id\": \"$region_id\"}" &&
	cart_id=$(jget 'j["cart"]["id"]') &&
	step "add the sample product" 200 POST "/store/carts/$cart_id/line-items" "{\"variant_id\": \"$variant_id\", \"quantity\": 2}" &&
	step "email and addresses" 200 POST "/store/carts/$cart_id" \
		'{"email": "customer@example.com", "shipping_address": {"first_name": "Ada", "last_name": "Lovelace", "address_1": "Hauptstr. 1", "city": "Berlin", "postal_code": "10115", "country_code": "de"}, "billing_address": {"first_name": "Ada", "last_name": "Lovelace", "address_1": "Hauptstr. 1", "city": "Berlin", "postal_code": "10115", "country_code": "de"}}' &&
	step "shipping options" 200 GET "/store/shipping-options?cart_id=$cart_id" &&
	option_id=$(jget '[o["id"] for o in j["shipping_options"] if o["name"] == "Standard Shipping"][0]') &&
	step "choose Standard Shipping" 200 POST "/store/carts/$cart_id/shipping-methods" "{\"option_id\": \"$option_id\"}" &&
	step "payment collection" 200 POST /store/payment-collections "{\"cart_id\": \"$cart_id\"}" &&
	pc_id=$(jget 'j["payment_collection"]["id"]') &&
	step "payment session with the system provider" 200 POST "/store/payment-collections/$pc_id/payment-sessions" '{"provider_id": "pp_system_default"}' &&
	step "complete the cart" 200 POST "/store/carts/$cart_id/complete"; then
	if [ "$(jget 'j["type"]')" = order ]; then
		order_id=$(jget 'j["order"]["id"]')
		ok "store API with the publishable key: cart, 2 x the sample product (${price:-?} each), address, Standard Shipping, system payment, complete -> order $order_id (total $(jget 'j["order"]["total"]') $(jget 'j["order"]["currency_code"]'))"
	else
		notok "store API: the completed cart is an order" "$(body)"
	fi
fi

if [ -n "$order_id" ]; then
	H=(-H "Authorization: Bearer $TOKEN")
	api GET "/admin/orders/$order_id?fields=id,email,status,metadata"
	if [ "$STATUS" = 200 ] && [ "$(jget 'j["order"]["email"]')" = customer@example.com ]; then
		ok "admin API: GET /admin/orders/$order_id shows the customer's order ($(jget 'j["order"]["status"]'))"
	else
		notok "admin API: GET /admin/orders/$order_id shows the customer's order" "status $STATUS: $(body)"
	fi
	# The subscriber's stamp (src/subscribers/order-placed.ts): which process handled order.placed.
	stamp_of() {
		api GET "/admin/orders/$order_id?fields=id,metadata"
		stamp=$(jget 'j["order"]["metadata"]["storefleet_order_placed"]')
		[ -n "$stamp" ]
	}
	stamp=""
	wait_for 60 stamp_of || true
	stamp_of || true
	mode=$(printf '%s' "$stamp" | python3 -c 'import json,sys; print(json.load(sys.stdin)["mode"])' 2>/dev/null)
	spid=$(printf '%s' "$stamp" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])' 2>/dev/null)
	if [ "$mode" = worker ] && [ "$spid" = "$worker_pid" ]; then
		ok "order.placed reached the worker through Redis: the order's metadata was stamped by the worker (pid $spid), not the server (pid $server_pid)"
	else
		notok "order.placed reached the worker through Redis: the order's metadata was stamped by the worker (pid $worker_pid)" \
			"stamp: ${stamp:-none within 60 s} (server pid $server_pid)" \
			"worker: $(grep -c 'storefleet: order' "$T/log/worker.log") stamp line(s); server: $(grep -c 'storefleet: order' "$T/log/server.log")"
	fi
	queues=$(redis-cli -h "$LOOP" -p "$REDIS_PORT" --scan --pattern 'bull:*' 2>/dev/null | cut -d: -f2 | sort -u | tr '\n' ' ')
	if [ -n "$queues" ]; then
		ok "Redis holds Medusa's queues: $queues"
	else
		notok "Redis holds Medusa's queues (event bus, workflow engine)" "redis-cli --scan found no bull:* key"
	fi
fi

# --- 7. the setup Job again: nothing new ----------------------------------------------------------
t0=$(date +%s)
if (run_container setup) >"$T/log/setup2.log" 2>&1; then
	made=$(grep -o 'setup: .*' "$T/log/setup2.log" | sed 's/\x1b\[[0-9;]*m//g' | grep -E 'created|added|linked|named|can sign in')
	if [ -z "$made" ]; then
		ok "setup Job run again: nothing made or changed ($(($(date +%s) - t0)) s)"
	else
		notok "setup Job run again: nothing made or changed" "$made"
	fi
else
	notok "setup Job run again: nothing made or changed" "$(tail_of "$T/log/setup2.log" 20)"
fi

# Nothing crashed meanwhile.
if kill -0 "$server_pid" 2>/dev/null && kill -0 "$worker_pid" 2>/dev/null; then
	ok "the server and the worker still run"
else
	notok "the server and the worker still run" "$(tail_of "$T/log/server.log" 10)" "$(tail_of "$T/log/worker.log" 10)"
fi
