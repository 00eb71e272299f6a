#!/bin/bash
# t0601-platform-nginx.sh - the platform's nginx.conf (charts/platform ConfigMap) serves the real app: socket, static files, headers, /metrics kept in.
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-platform.sh"
. "$SF_ROOT/tests/lib-nginx-errors.sh"

unset SF_CONFIG SF_DOMAIN SF_INGRESS_CLASS SF_TLS_SECRET SF_TLS_ISSUER SF_OVERLAY
# trust this machine as the "ingress controller", so X-Forwarded-For plays the client's address
printf 'web:\n  trusted_proxies: 127.0.0.1/32\n' >"$T/values.yaml"
pf_render local --values "$T/values.yaml" || bail "render failed: $(cat "$T/local.err")"

# The pod's paths, mapped into $T: the ConfigMap's directory, the socket's emptyDir, /tmp, the image's
# /srv/storefleet; port 8080 becomes a free loopback port.  As in the pod, nginx and storefleet.fcgi
# run as one unprivileged user (nobody, when the test runs as root).
as_pod() {
	if [ "$(id -u)" -eq 0 ]; then
		setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"
	else
		"$@"
	fi
}

# The same in the background, leaving the program's own PID in $! (setpriv execs it),
# so stack_stop stops the program: `as_pod cmd &` would record a subshell's PID.
as_pod_bg() {
	if [ "$(id -u)" -eq 0 ]; then
		setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@" &
	else
		"$@" &
	fi
}
port=$(free_port)
mkdir -p "$T/nginx" "$T/tmp" "$T/run"
chmod 777 "$T/tmp" "$T/run"
# The image's /srv/storefleet and /usr/local/bin, as copies the pod's user can read wherever
# the checkout is (under /root it could not).
srv=$T/srv
mkdir -p "$srv/bin"
cp -a "$SF_ROOT/templates" "$SF_ROOT/static" "$SF_ROOT/charts" "$SF_ROOT/sql" "$srv/"
cp "$SF_BUILD/bin/storefleet.fcgi" "$srv/bin/"
chmod -R a+rX "$srv"
python3 - "$T/local.json" "$T" "$srv" "$port" <<'PY'
import json, sys
items, t, root, port = json.load(open(sys.argv[1]))["items"], sys.argv[2], sys.argv[3], sys.argv[4]
data = [i for i in items if i["metadata"]["name"] == "storefleet-nginx"][0]["data"]
for name, text in data.items():
    text = (text.replace("/tmp/", t + "/tmp/")
                .replace("/etc/storefleet/nginx/", t + "/nginx/")
                .replace("/run/storefleet/fcgi.sock", t + "/run/fcgi.sock")
                .replace("/srv/storefleet", root)
                .replace("listen 8080;", "listen 127.0.0.1:%s;" % port)
                .replace("access_log /dev/stdout;", "access_log %s/tmp/access.log;" % t))
    open("%s/nginx/%s" % (t, name), "w").write(text)
PY
ok "nginx accepts the platform's configuration" as_pod nginx -t -q -e stderr -c "$T/nginx/nginx.conf"

export SF_COOKIE_SECURE=false
pg_start "$T/pg" || bail "cannot start PostgreSQL"
sf_migrate || bail "migrate failed"
SF_ROOT=$srv as_pod_bg "$srv/bin/storefleet.fcgi" --socket "$T/run/fcgi.sock" --workers 2 >>"$T/app.log" 2>&1
STACK_PIDS+=("app:$!")
wait_for 10 test -S "$T/run/fcgi.sock" || bail "storefleet.fcgi: no socket: $(cat "$T/app.log")"
is "$(stat -c %a "$T/run/fcgi.sock")" 660 "the socket is mode 0660: only the pod's user and group"
as_pod_bg nginx -e stderr -c "$T/nginx/nginx.conf" >>"$T/nginx.log" 2>&1
nginx_pid=$!
STACK_PIDS+=("nginx:$nginx_pid")
BASE=http://127.0.0.1:$port
ok "nginx answers" wait_for 10 curl -s -o /dev/null "$BASE/healthz"

NOCOOKIES=1
http GET /healthz
is "$STATUS" 200 "/healthz through nginx and the socket (the liveness probe)"
http GET "/readyz?check=database"
is "$STATUS" 200 "/readyz?check=database (the readiness probe): the database is reachable"
like "$(header Content-Security-Policy)" "default-src 'self'" "security headers on app responses"
is "$(header X-Frame-Options)" DENY "X-Frame-Options DENY"
http GET /static/style.css
is "$STATUS" 200 "static files from the image's project directory"
is "$(header X-Content-Type-Options)" nosniff "... with the security headers too"
http GET /static/../sql/001_accounts.sql --path-as-is
unlike "$STATUS" '^200$' "no path out of static/ ($STATUS)"
head -c 70000 /dev/zero | tr '\0' a >"$T/big"
http POST /login --data-binary "@$T/big" -H 'Content-Type: application/x-www-form-urlencoded'

is "$STATUS" 413 "bodies over 64 KiB stop at nginx"
ngx_error_probe "platform nginx.conf" 127.0.0.1 "$port"

http GET /metrics -H 'X-Forwarded-For: 203.0.113.9'
is "$STATUS" 403 "/metrics refused to a client outside the pod network"
http GET /metrics
unlike "$STATUS" '^403$' "/metrics open to the pod network ($STATUS)"
http GET /healthz -H 'X-Forwarded-For: 203.0.113.9'
is "$STATUS" 200 "other paths open to everyone"
like "$(tail -n 1 "$T/tmp/access.log")" '^203\.0\.113\.9 ' "the client's address is the one the ingress controller forwarded"
# the nginx container's preStop hook (its wait for the endpoints shortened) stops nginx gracefully
python3 - "$T/local.json" "$T" >"$T/prestop.sh" <<'PY'
import json, sys
items, t = json.load(open(sys.argv[1]))["items"], sys.argv[2]
dep = [i for i in items if i["kind"] == "Deployment"][0]["spec"]["template"]["spec"]
cmd = [c for c in dep["containers"] if c["name"] == "nginx"][0]["lifecycle"]["preStop"]["exec"]["command"]
assert cmd[:2] == ["sh", "-c"]
print(cmd[2].replace("sleep 5;", "sleep 0;").replace("/tmp/", t + "/tmp/").replace("/etc/storefleet/nginx/", t + "/nginx/"))
PY
ok "the preStop hook returns once nginx has quit" \
	as_pod timeout 20 sh -c "sh '$T/prestop.sh' 2>>'$T/tmp/prestop.log'"
ok "nginx is gone" wait_for 10 sh -c "! kill -0 $nginx_pid"
unlike "$(cat "$T/nginx.log")" '\[(emerg|alert|crit|warn)\]' "unprivileged nginx ran without a warning"

done_testing
