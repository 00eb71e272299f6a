#!/bin/bash
# t0116-nginx-errors.sh - errors nginx produces itself (a body over the limit, a NUL or CR in a
# header, an over-long header, %00 in the path, a 20 KB URL, the app down) answer in the API's
# JSON error format under /api/, in both nginx configurations: the local stack's dev.conf.in
# and the production server block nginx/storefleet.conf.  (t0601 runs the same probe against
# the platform chart's nginx.conf.)
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-nginx-errors.sh"

sf_stack
ngx_error_probe "dev.conf" 127.0.0.1 "$NGINX_PORT"

# --- the production server block, over TLS, in front of the same workers --------------------
mkdir -p "$T/prod/tmp" "$T/prod/logs"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=storefleet.example.com \
	-keyout "$T/prod/privkey.pem" -out "$T/prod/fullchain.pem" >/dev/null 2>&1
p80=$(free_port) p443=$(free_port)
sed -e "s|/etc/ssl/storefleet/|$T/prod/|g" -e "s|/srv/storefleet|$SF_ROOT|g" \
	-e "s|unix:/run/storefleet/fcgi.sock|unix:$T/fcgi.sock|g" \
	-e "s|listen 80;|listen 127.0.0.1:$p80;|" -e "s|listen 443 ssl http2;|listen 127.0.0.1:$p443 ssl;|" \
	-e '/listen \[::\]/d' "$SF_ROOT/nginx/storefleet.conf" >"$T/prod/storefleet.conf"
userline=""
[ "$(id -u)" -eq 0 ] && userline="user root;"
cat >"$T/prod/nginx.conf" <<CONF
$userline
pid $T/prod/nginx.pid;
error_log $T/prod/logs/error.log;
events {}
http {
	types { text/html html; text/css css; application/json json; }
	default_type application/octet-stream;
	client_body_temp_path $T/prod/tmp/cb;
	fastcgi_temp_path $T/prod/tmp/fc;
	proxy_temp_path $T/prod/tmp/px;
	uwsgi_temp_path $T/prod/tmp/uw;
	scgi_temp_path $T/prod/tmp/sc;
	access_log $T/prod/logs/access.log;
	include $T/prod/storefleet.conf;
}
CONF
grep -q "unix:$T/fcgi.sock" "$T/prod/storefleet.conf" || bail "storefleet.conf's socket line moved: update this test"
nginx -p "$T/prod" -c "$T/prod/nginx.conf" -e "$T/prod/logs/error.log" -g 'daemon off;' >>"$T/prod/logs/stderr.log" 2>&1 &
STACK_PIDS+=("nginx-prod:$!")
prod_up() { curl -sk -o /dev/null "https://127.0.0.1:$p443/healthz"; }
wait_for 10 prod_up || bail "the production server block did not come up: $(cat "$T/prod/logs/"*)"
ngx_error_probe "storefleet.conf" 127.0.0.1 "$p443" tls

# --- the app down: nginx's 502 -----------------------------------------------------------------
stack_kill "app:$APP_PID"
ngx_down_probe "dev.conf" 127.0.0.1 "$NGINX_PORT"
ngx_down_probe "storefleet.conf" 127.0.0.1 "$p443" tls

done_testing
