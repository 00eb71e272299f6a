#!/bin/bash
# t0030-image-recipe.sh - the image recipe without a container runtime: Containerfile's bases are pinned
# Debian 12, its last stage runs as the pods' numeric non-root uid, everything the charts/platform pods
# run or read is in it, no secret goes in; .dockerignore; tools/image.sh (`make image`) picks podman or
# docker, names the image from the chart and git, and says what to install when neither is there.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-platform.sh"

CF=$SF_ROOT/Containerfile
IMAGE_SH=$SF_ROOT/tools/image.sh
unset IMAGE TAG
NOENGINE="image: neither podman nor docker is installed — apt-get install podman (or docker.io), then make image"

[ -f "$CF" ] || bail "no Containerfile at the top of the repository"
[ -x "$SF_BUILD/bin/storefleetctl" ] || bail "no $SF_BUILD/bin/storefleetctl: build first (make programs)"

# The manifests as they are applied: both overlays, rendered by the real storefleetctl.
unset SF_CONFIG SF_DOMAIN SF_INGRESS_CLASS SF_TLS_SECRET SF_TLS_ISSUER SF_OVERLAY
for o in local prod; do
	pf_render "$o" || bail "render platform --overlay $o failed: $(cat "$T/$o.err")"
done

# --- the Containerfile against the rendered pods ------------------------------------------------
# The python prints one "PASS|FAIL <tab> name [<tab> why]" line a check (each check once, the two
# overlays merged), and writes the apt packages of the last stage and of the build stage to files.
python3 - "$CF" "$SF_ROOT" "$SF_BUILD" "$T" >"$T/checks" 2>"$T/checks.err" <<'PY'
import json, os, re, shlex, sys
import yaml

cf_path, root, build, t = sys.argv[1:5]
checks = {}                      # name -> [ok, why]: insertion order is the TAP order

def check(name, ok, why=""):
    c = checks.setdefault(name, [True, ""])
    if not ok and c[0]:
        c[0], c[1] = False, why

# -- Containerfile: logical lines (continuations joined, comment lines dropped), stages ----------
lines, cur = [], ""
for raw in open(cf_path):
    s = raw.rstrip("\n")
    if s.strip().startswith("#") or (cur and not s.strip()):
        continue
    if s.endswith("\\"):
        cur += s[:-1] + " "
        continue
    cur += s
    if cur.strip():
        lines.append(cur.strip())
    cur = ""
if cur.strip():
    lines.append(cur.strip())

global_args, stages = {}, []
for line in lines:
    kw, _, rest = line.partition(" ")
    kw, rest = kw.upper(), rest.strip()
    if kw == "FROM":
        words = [w for w in rest.split() if not w.startswith("--")]
        base = re.sub(r"\$\{?(\w+)\}?", lambda m: global_args.get(m.group(1), m.group(0)), words[0])
        alias = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
        stages.append({"base": base, "alias": alias, "ins": []})
    elif not stages:
        if kw == "ARG" and "=" in rest:
            k, v = rest.split("=", 1)
            global_args[k.strip()] = v.strip().strip('"')
    else:
        stages[-1]["ins"].append((kw, rest))
if not stages:
    print("FAIL\tthe Containerfile has a FROM\tnone found")
    sys.exit(0)
final = stages[-1]
aliases = {s["alias"] for s in stages if s["alias"]}

def parse_copy(rest):
    """COPY/ADD [--opts] src... dest, shell or JSON form -> (opts, srcs, dest)"""
    words = shlex.split(rest)
    opts = {}
    while words and words[0].startswith("--"):
        k, _, v = words.pop(0)[2:].partition("=")
        opts[k] = v
    if words and words[0].startswith("["):
        words = json.loads(" ".join(words))
    return opts, words[:-1], words[-1] if words else ""

def apt_packages(stage):
    pkgs = []
    for kw, rest in stage["ins"]:
        if kw != "RUN":
            continue
        for m in re.finditer(r"apt-get\s+install\s+(.*?)(?:&&|;|\|\||$)", rest):
            pkgs += [w for w in m.group(1).split() if not w.startswith("-")]
    return pkgs

def user_of(stage):
    users = [rest for kw, rest in stage["ins"] if kw == "USER"]
    return users[-1] if users else None

def env_of(stage):
    env = {}
    for kw, rest in stage["ins"]:
        if kw == "ENV":
            if "=" in rest.split()[0]:
                for w in shlex.split(rest):
                    k, _, v = w.partition("=")
                    env[k] = v
            else:
                k, _, v = rest.partition(" ")
                env[k] = v.strip()
    return env

runtime_pkgs = apt_packages(final)
build_stages = [s for s in stages[:-1]
                if any(kw == "RUN" and re.search(r"\bmake\b.*\bprograms\b", r) for kw, r in s["ins"])]
open(os.path.join(t, "runtime-packages"), "w").write("\n".join(runtime_pkgs) + "\n")
open(os.path.join(t, "build-packages"), "w").write(
    "\n".join(p for s in build_stages for p in apt_packages(s)) + "\n")

# -- FROM lines ----------------------------------------------------------------------------------
for i, s in enumerate(stages):
    base = s["base"]
    if base in aliases:
        continue
    m = re.match(r"^(?P<repo>[^@]+?)(?::(?P<tag>[\w][\w.-]*))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$", base)
    name = "FROM %s is pinned (a tag other than latest, or a digest)" % base
    if "$" in base or not m:
        check(name, False, "not a plain image reference")
        continue
    tag, digest = m.group("tag"), m.group("digest")
    check(name, bool(digest) or (tag is not None and tag != "latest"),
          "untagged" if tag is None else "tag latest")
    repo = m.group("repo")
    if re.sub(r"^(docker\.io/)?(library/)?", "", repo) == "debian":
        check("FROM %s is Debian 12, a point release or a dated build" % base,
              bool(tag and re.match(r"^(12\.\d+|bookworm-\d{8})(-slim)?$", tag)),
              "want debian:12.N[-slim] or debian:bookworm-YYYYMMDD[-slim], got tag %s" % tag)
    else:
        check("FROM %s is Debian 12" % base, False, "the programs are built for Debian 12's libraries")

check("a build stage runs `make ... programs`", bool(build_stages), "no RUN make programs before the last stage")

# -- USER ----------------------------------------------------------------------------------------
user = user_of(final)
check("the last stage sets USER", user is not None, "no USER: the image would run as root")
user = user or ""
um = re.match(r"^(\d+)(?::(\d+))?$", user)
check("USER %s is numeric (the kubelet can verify runAsNonRoot)" % user, bool(um), "names only resolve inside")
check("USER %s is not root" % user, bool(um) and int(um.group(1)) != 0 and user.split(":")[0] != "root",
      "uid 0")

# -- the image's files: COPY destinations of the last stage --------------------------------------
copies = []                      # (opts, srcs, dest path of each copied thing)
for kw, rest in final["ins"]:
    if kw in ("COPY", "ADD"):
        opts, srcs, dest = parse_copy(rest)
        for src in srcs:
            d = dest
            if dest.endswith("/") or len(srcs) > 1:
                d = dest.rstrip("/") + "/" + os.path.basename(src.rstrip("/"))
            copies.append((opts, src, os.path.normpath(d)))
run_text = " ".join(rest for kw, rest in final["ins"] if kw == "RUN")
workdir = "/"
for kw, rest in final["ins"]:
    if kw == "WORKDIR":
        workdir = os.path.normpath(os.path.join(workdir, rest))

def in_image(p):
    p = os.path.normpath(p)
    for _, _, d in copies:
        if p == d or p.startswith(d + "/") or d.startswith(p + "/"):
            return True
    return re.search(r"(install\s+-d|mkdir)\b[^;&]*\s%s(\s|$)" % re.escape(p), run_text) is not None

for opts, src, d in copies:
    if "from" not in opts:
        check("the last stage copies no secret-looking file", not re.search(r"(\.pem|\.key|\.env)$", src), src)
    check("the last stage does not copy the whole build context", src not in (".", "./", "*"), "COPY %s" % src)

# -- what the pods run and read ------------------------------------------------------------------
PATH_DIRS = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
ESSENTIAL = {"sh": "dash", "sleep": "coreutils", "cat": "coreutils", "test": "coreutils",
             "kill": "procps", "true": "coreutils", "env": "coreutils"}
FROM_APT = {"nginx": {"nginx", "nginx-light", "nginx-core", "nginx-full", "nginx-extras"},
            "pg_dump": {"postgresql-client", "postgresql-client-15"},
            "psql": {"postgresql-client", "postgresql-client-15"}}
SHELL_WORDS = {"[", "[[", "]", "]]", "done", "fi", "esac", "true", "false", ":", "exit", "echo",
               "printf", "cd", "test", "wait", "trap", "set", "read"}
ours = {p for p in os.listdir(os.path.join(build, "bin"))} if os.path.isdir(os.path.join(build, "bin")) else set()

def script_commands(script):
    cmds, paths = [], []
    for piece in re.split(r"[;&|\n]+|\b(?:then|do|else)\b", script):
        try:
            words = shlex.split(piece)
        except ValueError:
            words = piece.split()
        paths += [w for w in words if w.startswith("/")]
        while words and words[0] in ("while", "until", "if", "!", "exec", "elif"):
            words.pop(0)
        if words and words[0] not in SHELL_WORDS and "=" not in words[0]:
            cmds.append(words[0])
    return cmds, paths

def nginx_paths(text):
    out = []
    for m in re.finditer(r"^\s*(root|alias|include|pid|error_log|access_log|\w+_temp_path|"
                         r"ssl_certificate|ssl_certificate_key|fastcgi_pass)\s+([^\s;]+)", text, re.M):
        v = m.group(2)
        v = v[5:] if v.startswith("unix:") else v
        if v.startswith("/"):
            out.append((m.group(1), v))
    return out

def values(overlay):
    base = yaml.safe_load(open(os.path.join(root, "charts/platform/values.yaml")))
    ov = yaml.safe_load(open(os.path.join(root, "charts/platform/values-%s.yaml" % overlay))) or {}
    return (ov.get("image") or {}).get("repository") or base["image"]["repository"]

uids = set()
secret_env = set()
sf_root = None
for overlay in ("local", "prod"):
    items = json.load(open(os.path.join(t, "%s.json" % overlay)))["items"]
    repo = values(overlay)
    cms = {o["metadata"]["name"]: o.get("data", {}) for o in items if o["kind"] == "ConfigMap"}
    n = 0
    for o in items:
        spec = o.get("spec", {})
        if o["kind"] == "CronJob":
            spec = spec.get("jobTemplate", {}).get("spec", {})
        pod = spec.get("template", {}).get("spec")
        if not pod:
            continue
        vols = {v["name"]: v for v in pod.get("volumes", [])}
        psc = pod.get("securityContext", {})
        for c in pod.get("initContainers", []) + pod.get("containers", []):
            if not c.get("image", "").startswith(repo + ":"):
                continue
            n += 1
            who = "%s/%s container %s" % (o["kind"], o["metadata"]["name"], c["name"])
            csc = c.get("securityContext", {})
            uids.add((csc.get("runAsUser", psc.get("runAsUser")), csc.get("runAsGroup", psc.get("runAsGroup"))))
            mounts = {m["mountPath"].rstrip("/"): m["name"] for m in c.get("volumeMounts", [])}
            for e in c.get("env", []):
                if "secretKeyRef" in e.get("valueFrom", {}):
                    secret_env.add(e["name"])
            argvs = [c.get("command", []) + c.get("args", [])]
            for hook in c.get("lifecycle", {}).values():
                argvs.append(hook.get("exec", {}).get("command", []))
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                argvs.append(c.get(probe, {}).get("exec", {}).get("command", []))
            progs, paths = [], []           # paths: (what, path)
            for argv in argvs:
                if not argv:
                    continue
                progs.append(argv[0])
                paths += [("%s argument" % argv[0], a) for a in argv[1:] if a.startswith("/")]
                if os.path.basename(argv[0]) in ("sh", "bash") and "-c" in argv[1:-1]:
                    cmds, ps = script_commands(argv[argv.index("-c") + 1])
                    progs += cmds
                    paths += [("%s -c script" % argv[0], p) for p in ps]
            env = {}
            for ef in c.get("envFrom", []):
                env.update(cms.get(ef.get("configMapRef", {}).get("name"), {}))
            env.update({e["name"]: e["value"] for e in c.get("env", []) if "value" in e})
            paths += [("env %s" % k, v) for k, v in env.items() if isinstance(v, str) and v.startswith("/")]
            for mp, vname in mounts.items():
                cm = vols.get(vname, {}).get("configMap", {}).get("name")
                for fname, text in cms.get(cm, {}).items():
                    if fname.endswith(".conf"):
                        paths += [("%s/%s %s" % (mp, fname, d), p) for d, p in nginx_paths(text)]
            if "SF_ROOT" in env:
                sf_root = env["SF_ROOT"]

            for prog in progs:
                base = os.path.basename(prog)
                if prog in ours or base.startswith("storefleet"):
                    srcs = [(opts, src, d) for opts, src, d in copies
                            if src.rstrip("/").endswith("build/bin/" + base)]
                    ok = any(opts.get("from") in aliases | {str(i) for i in range(len(stages))}
                             and os.path.dirname(d) in PATH_DIRS and os.path.basename(d) == base
                             for opts, src, d in srcs)
                    check("%s is copied from the build stage to a directory on PATH" % base, ok,
                          "%s runs it; copies: %s" % (who, srcs))
                elif base in FROM_APT:
                    check("%s comes from an installed package (%s)" % (base, "|".join(sorted(FROM_APT[base]))),
                          bool(FROM_APT[base] & set(runtime_pkgs)), "%s runs it; installed: %s" % (who, runtime_pkgs))
                elif base in ESSENTIAL:
                    check("%s comes with the Debian base (%s, Essential)" % (base, ESSENTIAL[base]), True)
                else:
                    check("%s (run by %s) is provided by the image" % (base, who), False,
                          "neither ours, nor a known package, nor Essential")
            for what, p in paths:
                if p.startswith("/dev/") or p == "/dev":
                    continue
                on_volume = any(p == mp or p.startswith(mp + "/") for mp in mounts)
                if on_volume:
                    check("%s (%s) is on a volume of the pod" % (p, what), True)
                else:
                    check("%s (%s) is in the image" % (p, what), in_image(p),
                          "%s expects it; the image copies %s" % (who, sorted(d for _, _, d in copies)))
    check("the %s overlay runs containers of the chart's image %s" % (overlay, repo), n > 0, "none found")

# -- SF_ROOT: the project directories the programs and nginx read ------------------------------
check("the pods set SF_ROOT (storefleet-config)", sf_root is not None, "no SF_ROOT in the pods' environment")
if sf_root:
    img_root = env_of(final).get("SF_ROOT")
    check("ENV SF_ROOT, if set, is the pods' %s" % sf_root, img_root in (None, sf_root), "ENV SF_ROOT=%s" % img_root)
    dirs = {"templates", "static", "charts", "sql"}
    for dp, _, files in os.walk(os.path.join(root, "src")):
        for f in files:
            if f.endswith(".c"):
                dirs |= set(re.findall(r'default_path\(\s*c->root\s*,\s*"([\w-]+)"\s*\)', open(os.path.join(dp, f)).read()))
    for d in sorted(dirs):
        want = os.path.normpath(os.path.join(sf_root, d))
        got = [src for opts, src, dest in copies if dest == want]
        check("%s is the repository's %s/" % (want, d),
              any(os.path.basename(src.rstrip("/")) == d for src in got) and os.path.isdir(os.path.join(root, d)),
              "copies to it: %s" % got)

# -- uid/gid -------------------------------------------------------------------------------------
uids.discard((None, None))
check("every pod of the chart's image runs as one uid:gid", len(uids) <= 1, "several: %s" % sorted(uids, key=str))
if len(uids) == 1 and um:
    uid, gid = next(iter(uids))
    check("USER %s is the pods' runAsUser:runAsGroup %s:%s" % (user, uid, gid),
          int(um.group(1)) == uid and (gid is None or um.group(2) is None or int(um.group(2)) == gid),
          "pods: %s:%s" % (uid, gid))

# -- secrets: none set at build time; the pods' Secret-fed variables stay unset in the image ----
keys = []
for s in stages:
    for kw, rest in s["ins"]:
        if kw in ("ENV", "ARG", "LABEL"):
            if kw != "LABEL" and "=" not in rest.split()[0]:
                keys.append((kw, rest.split()[0]))
            else:
                keys += [(kw, w.partition("=")[0]) for w in shlex.split(rest)]
check("the variables the pods take from Secrets (%s) are not set by the Containerfile"
      % " ".join(sorted(secret_env)), not any(k in secret_env for _, k in keys),
      " ".join("%s %s" % kk for kk in keys if kk[1] in secret_env))
bad = [kk for kk in keys if re.search(r"PASSWORD|SECRET|TOKEN|PRIVATE|CREDENTIAL|(^|[_.])KEY$", kk[1], re.I)]
check("no ENV, ARG or LABEL of the Containerfile looks like a secret", not bad,
      " ".join("%s %s" % kk for kk in bad))

# -- what docs/operations.md promises of the image ------------------------------------------------
ops = os.path.join(root, "docs/operations.md")
if os.path.exists(ops) and "pg_dump" in open(ops).read():
    check("pg_dump (docs/operations.md backups) comes from postgresql-client",
          bool(FROM_APT["pg_dump"] & set(runtime_pkgs)), "installed: %s" % runtime_pkgs)

for name, (ok, why) in checks.items():
    print("%s\t%s\t%s" % ("PASS" if ok else "FAIL", name, why))
PY
[ -s "$T/checks.err" ] && bail "the Containerfile check failed: $(cat "$T/checks.err")"
while IFS=$'\t' read -r verdict name why; do
	if [ "$verdict" = PASS ]; then
		ok "$name" true
	else
		ok "$name" false
		diag "$why"
	fi
done <"$T/checks"

# --- the runtime libraries: what the programs link, packaged in the last stage ------------------
# This machine runs the same Debian release: the package owning each library the programs built
# here link (readelf NEEDED) must be installed by the last stage.  libc6 is in every base.
if [ "$(cut -d. -f1 /etc/debian_version 2>/dev/null)" = 12 ] && command -v dpkg-query >/dev/null &&
	command -v readelf >/dev/null; then
	# soname -> the paths dpkg may know it by (ldd's, and the file behind the symlinks), per program
	declare -A sopaths=() owner=()
	progs=()
	for prog in storefleet.fcgi storefleet-reconcile storefleetctl; do
		bin=$SF_BUILD/bin/$prog
		[ -x "$bin" ] || { ok "$prog is built ($bin)" false; continue; }
		progs+=("$prog")
		ldd "$bin" >"$T/ldd" 2>&1
		for so in $(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
			# libc6's own (libresolv too: the DNS checks of custom domains) are in every Debian image
			case $so in lib[atlu]*san.so* | libc.so* | libm.so* | libresolv.so* | ld-linux*) continue ;; esac
			path=$(awk -v so="$so" '$1 == so { print $3 }' "$T/ldd")
			sopaths[$prog]+=" $so=$path=$(readlink -f "$path")"
		done
	done
	# one dpkg-query for every path (each call reads the whole file database)
	while read -r pkg path; do
		owner[$path]=${pkg%%:*}
	done < <(printf '%s\n' "${sopaths[@]}" | tr ' ' '\n' | awk -F= 'NF == 3 { print $2; print $3 }' |
		sort -u | xargs -r dpkg-query -S 2>/dev/null | sed 's/^\([^:,]*\)[^ ]* /\1 /')
	for prog in "${progs[@]}"; do
		missing=""
		for entry in ${sopaths[$prog]:-}; do
			IFS='=' read -r so path real <<<"$entry"
			pkg=${owner[$path]:-${owner[$real]:-?}}
			grep -qxF "$pkg" "$T/runtime-packages" || missing="$missing $so($pkg)"
		done
		is "${missing# }" "" "every library $prog links comes from a package of the last stage"
	done
else
	ok "runtime libraries # SKIP needs Debian 12 with dpkg-query and readelf to map libraries to packages" true
fi

# The build stage installs every -dev package tools/deps.sh installs to build (libclang-rt: fuzzing).
if [ -f "$SF_ROOT/tools/deps.sh" ]; then
	want=$(grep -oE '\blib[a-z0-9.+-]+-dev\b' "$SF_ROOT/tools/deps.sh" | grep -v '^libclang-rt' | sort -u)
	missing=""
	for p in $want; do
		grep -qxF "$p" "$T/build-packages" || missing="$missing $p"
	done
	is "${missing# }" "" "the build stage installs the -dev packages of tools/deps.sh ($(wc -w <<<"$want"))"
fi

# --- .dockerignore: the build context leaves out build output, local state and history ----------
if [ -f "$SF_ROOT/.dockerignore" ]; then
	ignored=$(sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e 's|^/||' -e 's|/$||' -e 's|^\*\*/||' "$SF_ROOT/.dockerignore")
	for p in build var node_modules .git; do
		ok ".dockerignore leaves out $p" grep -qxF "$p" <<<"$ignored"
	done
else
	ok ".dockerignore exists" false
fi
[ -f "$SF_ROOT/.containerignore" ] &&
	diag ".containerignore exists: podman reads it instead of .dockerignore"

# --- tools/image.sh -----------------------------------------------------------------------------
ok "tools/image.sh is executable" test -x "$IMAGE_SH"

# A PATH with only what the script needs besides the engine: sh, git and a few coreutils.
mkdir -p "$T/path"
for c in sh git awk tr cat; do
	p=$(command -v "$c") || bail "no $c on this machine"
	ln -s "$p" "$T/path/$c"
done
run_image() {
	env -i HOME="$T" PATH="$1" ${IMAGE+IMAGE="$IMAGE"} ${TAG+TAG="$TAG"} "$IMAGE_SH" "${@:2}" \
		>"$T/image.out" 2>"$T/image.err"
}

run_image "$T/path"
rc=$?
ok "without podman or docker: exits non-zero ($rc)" test "$rc" -ne 0
is "$(cat "$T/image.err")" "$NOENGINE" "... and says so in one line, with what to install"
is "$(cat "$T/image.out")" "" "... printing nothing else"

# Fake engines: record how they were called (the working directory first), build nothing.
fake_engine() {
	mkdir -p "$T/$1"
	cat >"$T/$1/$2" <<EOF
#!/bin/sh
case \$1 in
info) exit ${3:-0} ;;
esac
{ pwd; printf '%s\n' "\$@"; } >"$T/$2.args"
EOF
	chmod +x "$T/$1/$2"
}
fake_engine both podman
fake_engine both docker
fake_engine dockeronly docker
fake_engine nodaemon docker 1

repo=$(python3 -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["image"]["repository"])' \
	"$SF_ROOT/charts/platform/values.yaml")
case $repo in
*.*/* | *:*/* | localhost/*) full=$repo ;;
*/*) full=docker.io/$repo ;;
*) full=docker.io/library/$repo ;;
esac

# args_has FILE WORD... : the recorded build command holds these consecutive arguments
args_has() {
	local f=$1 i j args

	shift
	[ -f "$f" ] || return 1
	mapfile -t args < <(tail -n +2 "$f")
	for ((i = 0; i + $# <= ${#args[@]}; i++)); do
		for ((j = 0; j < $#; j++)); do
			[ "${args[i + j]}" = "${*:j+1:1}" ] || continue 2
		done
		return 0
	done
	return 1
}

if describe=$(git -C "$SF_ROOT" describe --always --dirty 2>/dev/null); then
	run_image "$T/both:$T/path" --no-cache
	is "$?" 0 "with podman and docker: builds"
	ok "... with podman" test -f "$T/podman.args"
	ok "... not docker" test ! -f "$T/docker.args"
	is "$(head -n1 "$T/podman.args" 2>/dev/null)" "$SF_ROOT" "... in the repository"
	is "$(sed -n 2p "$T/podman.args" 2>/dev/null)" build "... podman build"
	ok "... from Containerfile" args_has "$T/podman.args" --file Containerfile
	ok "... tagged $full:$describe (chart's image, git describe)" args_has "$T/podman.args" --tag "$full:$describe"
	ok "... passing options on" args_has "$T/podman.args" --no-cache
	is "$(tail -n1 "$T/podman.args" 2>/dev/null)" . "... with the repository as the context"
	is "$(tail -n1 "$T/image.out")" "$full:$describe" "... and prints the image's name"
else
	ok "default tag from git describe # SKIP $SF_ROOT is not a git checkout" true
fi

rm -f "$T"/*.args
IMAGE=ghcr.io/you/storefleet TAG=0.1.0 run_image "$T/dockeronly:$T/path"
is "$?" 0 "with docker only: builds"
ok "... with docker, tagged from IMAGE and TAG" args_has "$T/docker.args" --tag ghcr.io/you/storefleet:0.1.0

rm -f "$T"/*.args
TAG=0.1.0 run_image "$T/nodaemon:$T/path"
rc=$?
ok "docker without a daemon: exits non-zero ($rc)" test "$rc" -ne 0
like "$(cat "$T/image.err")" 'daemon' "... and says the daemon does not answer"
ok "... building nothing" test ! -f "$T/docker.args"

TAG='bad/tag' run_image "$T/both:$T/path"
rc=$?
ok "an invalid TAG is refused ($rc)" test "$rc" -ne 0
IMAGE=storefleet/storefleet:1.0 TAG=1.0 run_image "$T/both:$T/path"
rc=$?
ok "an IMAGE with a tag is refused ($rc)" test "$rc" -ne 0

done_testing
