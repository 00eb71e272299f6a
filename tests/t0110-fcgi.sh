#!/bin/bash
# t0110-fcgi.sh - the real workers behind nginx: configs, headers, limits, respawn, graceful stop.
. "$SF_ROOT/tests/lib.sh"

ms() { echo $(($(date +%s%N) / 1000000)); }
workers() { ps -o pid= --ppid "$APP_PID" 2>/dev/null | tr -d ' ' | sort; }
nworkers() { workers | grep -c .; }

# --- both nginx configs pass nginx -t ------------------------------------------------
mkdir -p "$T/ngx/logs" "$T/ngx/tmp"
sed -e "s|@PORT@|$(free_port)|g" -e "s|@PREFIX@|$T/ngx|g" -e "s|@SOCKET@|$T/none.sock|g" \
	-e "s|@ROOT@|$SF_ROOT|g" -e "s|@USER_LINE@||g" "$SF_ROOT/nginx/dev.conf.in" >"$T/ngx/dev.conf"
ok "nginx -t accepts dev.conf.in" nginx -e "$T/ngx/logs/t.log" -p "$T/ngx" -c "$T/ngx/dev.conf" -t -q
unlike "$(cat "$SF_ROOT/nginx/dev.conf.in")" '^[^#]*daemon ' "dev.conf.in leaves daemon to the harness"

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=storefleet.example.com \
	-keyout "$T/ngx/privkey.pem" -out "$T/ngx/fullchain.pem" >/dev/null 2>&1
sed -e "s|/etc/ssl/storefleet/|$T/ngx/|g" "$SF_ROOT/nginx/storefleet.conf" >"$T/ngx/storefleet.conf"
cat >"$T/ngx/prod.conf" <<CONF
pid $T/ngx/prod.pid;
error_log $T/ngx/logs/prod.log;
events {}
http {
	client_body_temp_path $T/ngx/tmp/cb;
	fastcgi_temp_path $T/ngx/tmp/fc;
	proxy_temp_path $T/ngx/tmp/px;
	uwsgi_temp_path $T/ngx/tmp/uw;
	scgi_temp_path $T/ngx/tmp/sc;
	include $T/ngx/storefleet.conf;
}
CONF
ok "nginx -t accepts the production server block" \
	nginx -e "$T/ngx/logs/t.log" -p "$T/ngx" -c "$T/ngx/prod.conf" -t -q
prod=$(cat "$SF_ROOT/nginx/storefleet.conf")
like "$prod" 'listen 443 ssl' "production: TLS on 443"
like "$prod" 'return 301 https://' "production: HTTP redirects to HTTPS"
like "$prod" 'Strict-Transport-Security' "production: HSTS"
like "$prod" 'server unix:/run/storefleet/fcgi.sock;' "production: the FastCGI socket"
like "$prod" 'fastcgi_pass storefleet_fcgi;' "production: requests go to the kept-connection upstream"
like "$prod" 'fastcgi_keep_conn on;' "production: nginx keeps its connections to the workers"
like "$prod" 'client_max_body_size 64k' "production: body limit"

# --- the stack: workers + nginx (no database needed for these routes) --------------------
# The /_test/ routes exist only in the test build of the program (page_test.c), never in
# storefleet.fcgi: app_start runs $SF_BUILD/bin/storefleet.fcgi, so give it that build.
FCGI=$SF_BUILD/bin/storefleet.fcgi
mkdir -p "$T/build/bin"
ln -s "$SF_BUILD/tests/storefleet-test.fcgi" "$T/build/bin/storefleet.fcgi"
export SF_LOG_LEVEL=debug
SF_BUILD=$T/build app_start "$T" 3 || bail "cannot start storefleet.fcgi"
nginx_start "$T" || bail "cannot start nginx"
is "$(stat -c %a "$T/fcgi.sock")" 660 "the FastCGI socket is mode 0660"
wait_for 5 test "$(nworkers)" -eq 3
is "$(nworkers)" 3 "the master runs --workers 3"
is "$(ps -o comm= -p "$(workers | head -n 1)")" sf-worker "workers are named sf-worker"

http GET /healthz
is "$STATUS" 200 "/healthz through nginx"
is "$BODY" ok "/healthz body"
csp="default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
is "$(header Content-Security-Policy)" "$csp" "dynamic response: CSP without inline script"
is "$(header X-Content-Type-Options)" nosniff "dynamic response: nosniff"
is "$(header Referrer-Policy)" same-origin "dynamic response: Referrer-Policy"
is "$(header Cache-Control)" no-store "dynamic response: no-store"
is "$(grep -ci '^Content-Security-Policy:' "$T/headers")" 1 "CSP sent once (nginx only, not the app too)"
wait_for 5 grep -q 'GET /healthz 200 ' "$T/app.log"
ok "debug log: one line per request with method, path, status, duration" \
	grep -Eq 'storefleet.fcgi\[[0-9]+\] debug: GET /healthz 200 [0-9.]+ms' "$T/app.log"

http GET /static/style.css
is "$STATUS" 200 "static file served by nginx"
like "$(header Content-Type)" '^text/css' "static: text/css"
is "$(header Cache-Control)" max-age=3600 "static: cache headers"
ok "static: Expires set" test -n "$(header Expires)"
is "$(header Content-Security-Policy)" "$csp" "static: security headers too"
cmp -s "$T/body" "$SF_ROOT/static/style.css"
is "$?" 0 "static: the file itself"
http GET /static/../Makefile --path-as-is
unlike "$BODY" 'non-recursive Makefile' "no escape from static/ with ../"

http GET /nowhere
is "$STATUS" 404 "unknown path through nginx: 404 from the app"
is "$(header X-Content-Type-Options)" nosniff "error pages carry the security headers"

head -c 1048576 /dev/zero >"$T/1mb"
http POST /_test/echo -H 'Content-Type: application/json' --data-binary @"$T/1mb"
is "$STATUS" 413 "a 1 MB body is refused by nginx (413)"
http POST /_test/echo -H 'Content-Type: application/json' -H 'X-Real-IP: 6.6.6.6' \
	-H 'X-Forwarded-For: 6.6.6.6' --data-binary '{"a":[1,"x"]}'
is "$STATUS" 200 "JSON body through nginx"
is "$(json_get "j['body']['a'][1]")" x "body parsed"
is "$(json_get "j['remote_addr']")" 127.0.0.1 "REMOTE_ADDR is the real peer"
is "$(json_get "j['x_real_ip']")" 127.0.0.1 "a client-sent X-Real-IP is replaced by nginx"
like "$(json_get "j['x_forwarded_for']")" '^(None)?$' "a client-sent X-Forwarded-For is dropped"

http POST /_test/echo -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' \
	--data-binary '{"chunked":true}'
is "$STATUS" 200 "a chunked body (no Content-Length for the app) is read to its end"
is "$(json_get "j['body']['chunked']")" True "and parsed"
http POST /_test/echo -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' \
	--data-binary @"$T/1mb"
is "$STATUS" 413 "a chunked 1 MB body is refused by nginx too"

# --- bad input: clear errors, and the same workers keep serving -------------------------------
pids_before=$(workers)
http POST /_test/echo -H 'Content-Type: application/json' --data-binary '{"a":'
is "$STATUS" 400 "malformed JSON through nginx: 400"
http POST /_test/echo -H 'Content-Type: application/json' --data-binary $'{"name":"\xff\xfe"}'
is "$STATUS" 422 "invalid UTF-8 through nginx: 422"
http POST /_test/form -H 'Content-Type: application/x-www-form-urlencoded' --data-binary 'a=%00'
is "$STATUS" 422 "%00 in a form through nginx: 422"
http POST /_test/echo -H 'Content-Type: text/xml' --data-binary '<a/>'
is "$STATUS" 415 "wrong type through nginx: 415"
http GET /healthz -H "Cookie: $(head -c 20000 /dev/zero | tr '\0' a)"
like "$STATUS" '^4(00|94)$' "a 20 KB header is stopped by nginx"
python3 -c 'import sys; sys.stdout.write("{\"a\":" + "["*5000 + "]"*5000 + "}")' >"$T/deep.json"
http POST /_test/echo -H 'Content-Type: application/json' --data-binary @"$T/deep.json"
is "$STATUS" 400 "JSON nested 5000 deep: 400, no stack exhaustion"
is "$(workers)" "$pids_before" "no worker died on bad input"
http GET /healthz
is "$STATUS" 200 "and they keep serving"

# --- kept connections: nginx reuses its connections, each worker polls all it holds --------------
# Twelve slow requests at once open twelve connections to three workers; nginx keeps them.
# The second wave comes on those kept connections, four per worker: a worker blocked
# reading one of them (libfcgi's own loop) would leave the others for nginx's 30 s timeout.
wave() {
	local pids=() i
	for i in $(seq 1 12); do
		curl -s -o /dev/null --max-time 25 -w '%{http_code}\n' "$BASE/_test/sleep?ms=300" \
			>"$T/wave.$1.$i" &
		pids+=($!)
	done
	wait "${pids[@]}"
	cat "$T"/wave."$1".* | sort | uniq -c | awk '{print $2 "x" $1}' | tr '\n' ' '
}
t0=$(ms)
is "$(wave 1)" "200x12 " "twelve concurrent requests on three workers: all answered"
is "$(wave 2)" "200x12 " "twelve more on the connections nginx kept: all answered"
t1=$(ms)
diag "two waves took $((t1 - t0)) ms"
ok "none waited for nginx's 30 s read timeout (both waves within 20 s)" test $((t1 - t0)) -le 20000
kept=$(ss -xpn state established 2>/dev/null | grep -c '"sf-worker"')
ok "nginx keeps connections to the workers open between requests ($kept held)" test "$kept" -ge 3

# --- a killed worker comes back within 1 s ----------------------------------------------------
before=$(workers)
victim=$(echo "$before" | head -n 1)
t0=$(ms)
kill -KILL "$victim"
respawned() { [ "$(nworkers)" -eq 3 ] && ! workers | grep -qx "$victim"; }
wait_for 5 respawned
t1=$(ms)
ok "SIGKILLed worker replaced" respawned
diag "respawn took $((t1 - t0)) ms"
ok "respawned within 1 s" test $((t1 - t0)) -le 1000
ok "master logged the death" grep -q "worker $victim killed by signal 9" "$T/app.log"
for i in 1 2 3 4 5 6; do http GET /healthz; [ "$STATUS" = 200 ] || break; done
is "$STATUS" 200 "still serving after the respawn"

# --- SIGTERM drains: the in-flight request completes, master exits 0, no workers left -----------
old=$(workers)
curl -s -o "$T/slow.body" -w '%{http_code}' "$BASE/_test/sleep?ms=1500" >"$T/slow.code" &
curl_pid=$!
wait_for 5 grep -q 'test_sleep: sleeping 1500 ms' "$T/app.log"
ok "slow request in flight" grep -q 'test_sleep: sleeping 1500 ms' "$T/app.log"
t0=$(ms)
kill -TERM "$APP_PID"
wait_for 2 test ! -e "$T/fcgi.sock"
http GET /healthz
is "$STATUS" 502 "while draining, new requests are refused at once (nginx: 502)"
wait "$APP_PID"
rc=$?
t1=$(ms)
wait "$curl_pid"
is "$rc" 0 "master exits 0 after SIGTERM"
is "$(cat "$T/slow.code")" 200 "the in-flight request completed"
like "$(cat "$T/slow.body")" '"slept_ms":1500' "with its full answer"
diag "drain took $((t1 - t0)) ms"
ok "idle workers did not hold up the stop (< 5 s)" test $((t1 - t0)) -lt 5000
left=0
for p in $old; do kill -0 "$p" 2>/dev/null && left=$((left + 1)); done
is "$left" 0 "no workers left"
nok "socket removed" test -e "$T/fcgi.sock"
nok "no sanitizer report from any worker" grep -q 'Sanitizer' "$T/app.log"

# --- fd 0 as an inherited FastCGI listening socket (spawn-fcgi / cgi-fcgi -start style) -----------
python3 -c 'import os, socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(16)
os.dup2(s.fileno(), 0)
os.execv(sys.argv[2], [sys.argv[2], "--workers", "1"])' "$T/inh.sock" "$FCGI" \
	>>"$T/inh.log" 2>&1 &
inh_pid=$!
STACK_PIDS+=("inherited:$inh_pid")
inh_healthz() {
	env -i REQUEST_METHOD=GET REQUEST_URI=/healthz QUERY_STRING= SCRIPT_NAME=/healthz \
		cgi-fcgi -bind -connect "$T/inh.sock" 2>/dev/null | tr -d '\r'
}
inh_ready() { inh_healthz | grep -q '^Status: '; }
wait_for 10 inh_ready
out=$(inh_healthz)
like "$out" '^Status: 200' "inherited socket on fd 0: a FastCGI request is answered"
like "$out" 'ok$' "... by the healthz handler"
kill -TERM "$inh_pid"
wait "$inh_pid"
is "$?" 0 "the inherited-socket master stops cleanly"

done_testing
