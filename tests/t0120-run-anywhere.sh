#!/bin/bash
# t0120-run-anywhere.sh - `make run` from wherever a newcomer clones: as root in a 0700
# folder (PostgreSQL runs as nobody, who cannot enter it), as an unprivileged user in
# their own 0700 folder, on a path with a space; and every failure to start says what
# and how to fix it in one line before anything claims to be up.  Also: `make run`
# supervises its PostgreSQL (restarted when it goes away), and backs stores up out of the
# box: s3rver beside kubesim (var/s3, its key in var/backup-secret.key), kubesim running the
# backup Jobs' scripts (tools/kubesim-job-runner.sh): a new store's scheduled backup and
# "Back up now" (API) complete with their objects in var/s3, and it restores; SF_BACKUP_ENDPOINT
# set, no s3rver starts.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-stores.sh"

# A checkout: the tracked files (and any new ones) with their times, and the
# already-built programs and objects, so `make run` has nothing to compile.
checkout() {
	local dest=$1

	mkdir -p "$dest/build"
	(cd "$SF_ROOT" && git ls-files -z --cached --others --exclude-standard 2>/dev/null |
		xargs -0 tar -cf - --no-recursion) | tar -xf - -C "$dest" || return 1
	# s3rver (make run's object storage) as npm installed it, so no run calls npm ci
	s3_install "$T/npm.log" || return 1
	cp -a "$SF_BUILD/bin" "$SF_BUILD/obj" "$SF_BUILD/lib" "$SF_BUILD/npm" "$dest/build/"
}

# run_start DIR [ENV...]: `make run` in DIR in its own process group, as $RUN_AS
# (empty: ourselves); RUN_PID, output in $T/run.out.  Stopped by run_stop, like Ctrl-C.
RUN_PID=""
run_start() {
	local dir=$1

	shift
	: >"$T/run.out"
	# A newcomer's shell, not ours: under `make check-san` MAKEFLAGS carries
	# SANITIZE=..., which would send this make run to build/san and rebuild there.
	if [ -n "${RUN_AS:-}" ]; then
		setsid setpriv --reuid="$RUN_AS" --regid=nogroup --clear-groups -- \
			env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL HOME="$dir" "$@" make -C "$dir" --no-print-directory run >"$T/run.out" 2>&1 &
	else
		setsid env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "$@" make -C "$dir" --no-print-directory run >"$T/run.out" 2>&1 &
	fi
	RUN_PID=$!
	STACK_PIDS+=("run:$RUN_PID")
}

run_up() { grep -q 'storefleet is up' "$T/run.out"; }
run_gone() { ! kill -0 "$RUN_PID" 2>/dev/null; }

run_stop() {
	kill -INT -- "-$RUN_PID" 2>/dev/null
	wait_for 120 run_gone || kill -KILL -- "-$RUN_PID" 2>/dev/null
	wait "$RUN_PID" 2>/dev/null
}

# up_and_serving DIR NAME PORT: make run came up and answers through its nginx
up_and_serving() {
	local name=$2 port=$3

	if ! wait_for 300 run_up; then
		diag "$(tail -n 20 "$T/run.out")"
	fi
	ok "$name: make run comes up" run_up
	is "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/login")" 200 \
		"$name: the sign-in page answers through nginx"
	like "$(curl -s "http://127.0.0.1:$port/readyz?check=database")" '"database":"ok"' \
		"$name: the app reaches its PostgreSQL"
}

# PostgreSQL's own folders (root's case) go under a base of this test's, removed with $T.
pgbase=$T/pgbase
# --- as root, in a 0700 folder ----------------------------------------------------------
if [ "$(id -u)" -eq 0 ]; then
	P=$T/private && mkdir -m 700 "$P"
	checkout "$P/storefleet" || bail "cannot make a checkout"
	port=$(free_port)
	run_start "$P/storefleet" PORT="$port" SF_PG_BASE="$pgbase"
	up_and_serving "$P/storefleet" "root, 0700 folder" "$port"
	ok "root, 0700 folder: var/pg is a link to PostgreSQL's own folder" test -L "$P/storefleet/var/pg"
	home=$(readlink "$P/storefleet/var/pg")
	like "$home" "^$pgbase/pg-[0-9a-f]{16}\$" "... a per-checkout folder under SF_PG_BASE"
	is "$(stat -c %U:%a "$home")" "nobody:700" "... owned by PostgreSQL's user, private"
	is "$(stat -c %a "$P")" 700 "the user's own folder keeps its 0700"
	like "$(cat "$T/run.out")" "PostgreSQL on $home, linked from var/pg" "make run says where its data is"
	like "$(cat "$T/run.out")" 'First admin account' "the first run prints the first admin"
	# make run hands reconcile's loop the public origin and says so.  (Its environment
	# in /proc read empty inside the full parallel sanitizer suite, twice, and never
	# alone: the loop's own words are what is checked.)
	like "$(cat "$T/run.out")" "reconcile loop running with SF_PUBLIC_ORIGIN=http://127.0.0.1:$port " \
		"reconcile gets the public origin, so the simulated stores register their webhooks"

	# Mail works out of the box: a password reset lands in var/mail/msgs with its link
	is "$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
		--data-binary '{"email":"admin@localhost"}' "http://127.0.0.1:$port/api/v1/auth/forgot")" 202 \
		"make run: forgot password is accepted"
	reset_mail() {
		python3 - "$P/storefleet/var/mail/msgs" "http://127.0.0.1:$port/password/reset?token=" <<'PY'
import email, email.policy, glob, sys
for path in glob.glob(sys.argv[1] + "/*.eml"):
    m = email.message_from_binary_file(open(path, "rb"), policy=email.policy.default)
    if m["To"] and "admin@localhost" in str(m["To"]) and any(
            sys.argv[2] in p.get_content() for p in m.walk() if p.get_content_type() == "text/plain"):
        sys.exit(0)
sys.exit(1)
PY
	}
	ok "... and its mail, with the reset link, is caught in var/mail/msgs" wait_for 120 reset_mail
	like "$(cat "$T/run.out")" 'mail is caught in var/mail/msgs/' "make run says where mail goes"

	# PostgreSQL goes away under make run: it is started again, the app recovers
	pg1=$(head -n 1 "$home/data/postmaster.pid")
	kill -INT "$pg1"
	pg_back() { [ -s "$home/data/postmaster.pid" ] && [ "$(head -n 1 "$home/data/postmaster.pid")" != "$pg1" ] &&
		curl -s "http://127.0.0.1:$port/readyz?check=database" | grep -q '"database":"ok"'; }
	ok "PostgreSQL stopped under make run is started again and the app recovers" wait_for 180 pg_back
	like "$(cat "$T/run.out")" 'PostgreSQL \(pid [0-9]+\) exited; starting it again' "... and make run says so"
	ok "... the stack stays up (nginx still answers)" curl -sf -o /dev/null "http://127.0.0.1:$port/healthz"

	pg2=$(head -n 1 "$home/data/postmaster.pid")
	run_stop
	ok "Ctrl-C stops it" run_gone
	ok "... and its restarted PostgreSQL" stack_gone "$pg2"

	# a second run keeps the state: no new first admin; object storage configured: no s3rver
	run_start "$P/storefleet" PORT="$port" SF_PG_BASE="$pgbase" SF_BACKUP_ENDPOINT=https://s3.example.com SF_BACKUP_BUCKET=shop-backups
	up_and_serving "$P/storefleet" "root, second run" "$port"
	unlike "$(cat "$T/run.out")" 'First admin account' "the second run keeps the accounts (no new first admin)"
	unlike "$(cat "$T/run.out")" 'backups go to s3rver' "SF_BACKUP_ENDPOINT set: make run starts no s3rver, the configured endpoint is used"
	run_stop

	# --- as an unprivileged user in their own 0700 folder ---------------------------------
	U=$T/nobody-home && mkdir -m 700 "$U" && chown nobody:nogroup "$U"
	checkout "$U/storefleet" && chown -R nobody:nogroup "$U/storefleet"
	port=$(free_port)
	RUN_AS=nobody run_start "$U/storefleet" PORT="$port"
	up_and_serving "$U/storefleet" "unprivileged user, 0700 folder" "$port"
	ok "... PostgreSQL's data stays in the checkout (var/pg is a folder)" test -d "$U/storefleet/var/pg/data" -a ! -L "$U/storefleet/var/pg"
	run_stop
	ok "... Ctrl-C stops it" run_gone
fi

# --- a path with a space ------------------------------------------------------------------
S="$T/with space"
mkdir -p "$S"
checkout "$S/store fleet" || bail "cannot make a checkout with a space"
port=$(free_port)
run_start "$S/store fleet" PORT="$port" SF_PG_BASE="$pgbase" SF_RECONCILE_INTERVAL=1
up_and_serving "$S/store fleet" "a path with spaces" "$port"
is "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/static/style.css")" 200 \
	"... nginx serves the static files from the path with spaces"

# --- backups out of the box ----------------------------------------------------------------------
BASE=http://127.0.0.1:$port
like "$(cat "$T/run.out")" "backups go to s3rver on http://127.0.0.1:[0-9]+ \\(pid [0-9]+\\), kept in var/s3/" "make run says where backups go"
s3pid=$(sed -n 's/.*backups go to s3rver on .* (pid \([0-9]*\)).*/\1/p' "$T/run.out")
like "$(tr '\0' ' ' <"/proc/$s3pid/cmdline")" "s3rver -d $S/store fleet/var/s3 " "... s3rver runs with its data in var/s3"
is "$(stat -c %a "$S/store fleet/var/backup-secret.key") $(cat "$S/store fleet/var/backup-secret.key")" "600 S3RVER" \
	"the object storage's key is in var/backup-secret.key, private"

tok=$(user_token newcomer@example.com) || bail "no token"
api_json POST /api/v1/stores "$tok" '{"name":"First shop","engine":"woocommerce"}'
is "$STATUS" 201 "a newcomer creates a store"
sid=$(json_get 'j["store"]["id"]')

# backups: complete ones, newest first, as the API lists them
completes() {
	api GET "/api/v1/stores/$sid/backups" "$tok"
	json_get 'str(sum(1 for b in j["backups"] if b["status"] == "complete"))'
}
failed_none() { json_get '"|".join(b["id"] + ": " + b["reason"] for b in j["backups"] if b["status"] == "failed")'; }
scheduled() { [ "$(completes)" -ge 1 ]; }
ok "the store's first backup (the daily schedule) completes without any set-up" wait_for 60 scheduled
is "$(failed_none)" "" "... and none failed"
is "$(json_get 'j["backups"][0]["kind"]')" scheduled "... a scheduled one"

# --- Back up now (API) --------------------------------------------------------------------------
api_json POST "/api/v1/stores/$sid/backups" "$tok" ''
is "$STATUS" 202 "Back up now: 202"
n=$(json_get 'j["backup"]["number"]')
two() { [ "$(completes)" -ge 2 ]; }
ok "... it completes" wait_for 60 two
is "$(json_get 'j["backups"][0]["id"] + " " + j["backups"][0]["kind"] + " " + j["backups"][0]["status"]')" \
	"b$n manual complete" "... backup b$n, manual, complete"
prefix=$(json_get 'j["backups"][0]["prefix"]')
is "$prefix" "stores/$sid/backups/b$n/" "... under the store's prefix"
for i in 0 1; do
	name=$(json_get "j['backups'][0]['objects'][$i]['name']")
	f="$S/store fleet/var/s3/stores/$prefix$name._S3rver_object"
	is "$(sha256sum <"$f" | cut -d' ' -f1) $(stat -c %s "$f")" \
		"$(json_get "j['backups'][0]['objects'][$i]['sha256'] + ' ' + str(j['backups'][0]['objects'][$i]['size'])")" \
		"$name is in var/s3 with the SHA-256 and size the API reports"
done
ok "... and its manifest.json" test -s "$S/store fleet/var/s3/stores/${prefix}manifest.json._S3rver_object"

# --- and it restores ----------------------------------------------------------------------------
api_json POST "/api/v1/stores/$sid/backups/b$n/restore" "$tok" ''
is "$STATUS" 202 "a restore of it: 202"
r=$(json_get 'j["restore"]["number"]')
restored() {
	api GET "/api/v1/stores/$sid/restores" "$tok"
	[ "$(json_get "[x['status'] for x in j['restores'] if x['number'] == $r][0]")" = complete ]
}
ok "... completes (a pre-restore backup first, then the restore Job)" wait_for 60 restored

# --- the port is taken ------------------------------------------------------------------------
# (the stack above still holds $port)
run2() { (cd "$S/store fleet" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "$@" timeout 300 make --no-print-directory run) >"$T/run2.out" 2>&1; }
run2 PORT="$port" SF_PG_BASE="$pgbase"
rc=$?
is "$rc" 2 "a taken port: make run fails (make exits 2 for its failed recipe)"
like "$(cat "$T/run2.out")" "run: port $port is in use — PORT=[0-9]+ make run" "... and says which port and what to type"
unlike "$(cat "$T/run2.out")" 'is up' "... before anything claims to be up"
run_stop
ok "Ctrl-C stops make run's s3rver with the rest" stack_gone "$s3pid"

# --- PostgreSQL will not start ----------------------------------------------------------------
home=$(readlink "$S/store fleet/var/pg" 2>/dev/null || echo "$S/store fleet/var/pg")
cp "$home/data/postgresql.conf" "$T/pg.conf"
echo "shared_buffers = 'plenty'" >>"$home/data/postgresql.conf"
run2 PORT="$(free_port)" SF_PG_BASE="$pgbase"
like "$(cat "$T/run2.out")" 'PostgreSQL did not start; the last lines of' "a PostgreSQL that will not start: make run says so"
like "$(cat "$T/run2.out")" 'shared_buffers' "... with the last lines of its log (the bad setting)"
unlike "$(cat "$T/run2.out")" 'is up' "... before anything claims to be up"
cp "$T/pg.conf" "$home/data/postgresql.conf"

# --- a var/ from another PostgreSQL version ------------------------------------------------
echo 9.6 >"$home/data/PG_VERSION.new" && mv "$home/data/PG_VERSION" "$T/PG_VERSION" &&
	mv "$home/data/PG_VERSION.new" "$home/data/PG_VERSION"
run2 PORT="$(free_port)" SF_PG_BASE="$pgbase"
like "$(cat "$T/run2.out")" 'var/pg was made by PostgreSQL 9.6 and this machine has [0-9]+; move it away' \
	"a stale var/ from another version: make run says what to do"
unlike "$(cat "$T/run2.out")" 'is up' "... before anything claims to be up"
mv "$T/PG_VERSION" "$home/data/PG_VERSION"

# --- a package that cannot be installed ------------------------------------------------------
if [ "$(id -u)" -eq 0 ]; then
	# no sudo on this user's PATH: only what deps.sh needs to find what is missing
	# (the unprivileged user's own checkout: it may not read ours)
	mkdir -p "$T/depsbin"
	for tool in sh dpkg-query grep id; do ln -s "$(command -v $tool)" "$T/depsbin/$tool"; done
	out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups -- env PATH="$T/depsbin" \
		sh "$U/storefleet/tools/deps.sh" storefleet-no-such-package 2>&1)
	like "$out" '^deps: need root or sudo to install: storefleet-no-such-package( [a-z-]+)* — ask an administrator' \
		"a user without root or sudo is told what to ask for"
fi

done_testing
