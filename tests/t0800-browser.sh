#!/bin/bash
# t0800-browser.sh - a real browser (Debian's chromium, driven by playwright-core) walks the main journey on a make-run-style stack.
#
# The stack is what `make run` starts - PostgreSQL, storefleet.fcgi, nginx, the
# Kubernetes simulator and a reconcile loop - with the simulator's delays cut
# to a second or two.  tests/browser/journey.js does the clicking and prints
# one TAP line per step; this script numbers them, then checks what the
# browser cannot see: the database's last word and audit trail, the
# screenshots, and that chromium is gone.
#
# SF_SCREENSHOTS=docs also writes docs/screenshot-{dashboard,store}.png (the README's).
# A failed step leaves failure-N.png/.html in the kept temp dir (its path is printed).
. "$SF_ROOT/tests/lib.sh"
. "$SF_ROOT/tests/lib-reconcile.sh"
. "$SF_ROOT/tests/lib-mail.sh"
. "$SF_ROOT/tests/lib-domains.sh"

: "${SF_KEEP_ON_FAIL:=1}"
CHROMIUM=${SF_CHROMIUM:-/usr/bin/chromium}
export SF_CHROMIUM=$CHROMIUM
[ -x "$CHROMIUM" ] || bail "no $CHROMIUM: tools/deps.sh installs Debian's chromium"
command -v node >/dev/null || bail "no node: tools/deps.sh installs nodejs"
if [ ! -f "$SF_ROOT/node_modules/playwright-core/package.json" ]; then
	# t0504 may want node_modules at the same time: one npm ci at a time
	(cd "$SF_ROOT" && flock "$SF_BUILD/.npm-ci.lock" npm ci --no-audit --no-fund --prefer-offline) \
		>"$T/npm.log" 2>&1 || { cat "$T/npm.log" >&2; bail "npm ci failed: no playwright-core"; }
fi

export SF_SECRET_KEY=$RC_KEY SF_CREATE_COOLDOWN=0 SF_CREATES_PER_HOUR=100
export SF_SIMULATED_CLUSTER=true SF_OVERLAY=local
# Slow enough that the store page shows steps in progress, fast enough for a few seconds' journey.
kubesim_start "$T/kubesim" --pod-ready-ms 3000 --job-complete-ms 1000 --pvc-bind-ms 100 \
	--ns-delete-ms 300 --observed-lag-ms 10 || bail "cannot start kubesim"
export SF_INGRESS_ADDRESS=$KUBESIM_INGRESS SF_FAILURE_GRACE=1 SF_RECONCILE_INTERVAL=1
# The password reset's mail goes through a real SMTP server (tools/smtp-sink.py).
smtp_start "$T/smtp" || bail "cannot start the SMTP server"
# The custom domain's records come from a real DNS server on loopback (lib-domains.sh):
# none at first; the journey says which the page asked for.
export SF_DOMAIN_CHECK_INTERVAL=1
dns_start || bail "cannot start dnsmasq"
sf_stack
# The loops outlive the journey; the cleanup trap stops them by PID.
"$SF_BUILD/bin/storefleet-reconcile" --for 600s >>"$T/reconcile.log" 2>&1 &
STACK_PIDS+=("reconcile:$!")
"$SF_BUILD/bin/storefleet-mail" --for 600s >>"$T/mail.log" 2>&1 &
STACK_PIDS+=("mail:$!")

# The journey, bounded: timeout TERMs node (playwright then closes chromium), KILLs it 10 s later.
start=$(date +%s%N)
SF_BASE=$BASE SF_INGRESS=$KUBESIM_INGRESS SF_OUT=$T SF_MAILDIR=$SMTP_DIR/msgs SF_DEADLINE=${SF_DEADLINE:-90} \
	timeout -k 10 "${SF_JOURNEY_TIMEOUT:-240}" node "$SF_ROOT/tests/browser/journey.js" >"$T/journey.tap" 2>"$T/journey.err" &
jpid=$!
# While it runs: once the store page has shown the custom domain's records
# (dns-wanted.json), the DNS server answers with exactly those, as the owner's
# provider would - the TXT token, the CNAME, and the CNAME target's address.
wanted_or_gone() { [ -s "$T/dns-wanted.json" ] || ! kill -0 "$jpid" 2>/dev/null; }
wait_for "${SF_JOURNEY_TIMEOUT:-240}" wanted_or_gone
if [ -s "$T/dns-wanted.json" ]; then
	mapfile -t rec < <(python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
for k in ("txt_name", "txt_value", "domain", "cname_target"): print(r[k])' "$T/dns-wanted.json")
	dns_restart --txt-record="${rec[0]},${rec[1]}" --cname="${rec[2]},${rec[3]}" \
		--host-record="${rec[3]},127.0.0.1" && touch "$T/dns-published"
fi
wait "$jpid"
rc=$?
elapsed=$((($(date +%s%N) - start) / 1000000))

# journey.js prints "ok - NAME" / "not ok - NAME" / "# ..."; number them here.
browser_step() {
	_tap_result "$@"
	steps=$((steps + 1))
}
steps=0
while IFS= read -r line; do
	case $line in
	"ok - "*) browser_step 1 "browser: ${line#ok - }" ;;
	"not ok - "*) browser_step 0 "browser: ${line#not ok - }" ;;
	"#"*) echo "$line" ;;
	*) diag "journey: $line" ;;
	esac
done <"$T/journey.tap"
ok "the journey script exits 0 (rc $rc, $elapsed ms)" test "$rc" -eq 0
[ "$rc" -eq 0 ] || sed 's/^/# journey stderr: /' "$T/journey.err" | head -n 40
ok "the journey ran all its steps ($steps)" test "$steps" -ge 20
diag "journey: $elapsed ms wall clock"

# chromium is gone: browser.close() in the script, or by PID here if the script was killed.
all_gone() {
	local p

	for p in "$@"; do
		kill -0 "$p" 2>/dev/null && return 1
	done
	return 0
}
read -r -a cpids <"$T/chromium.pid" 2>/dev/null
if [ "${#cpids[@]}" -gt 0 ]; then
	if wait_for 10 all_gone "${cpids[@]}"; then
		_tap_result 1 "chromium (pid ${cpids[*]}) exited with the journey"
	else
		kill -KILL "${cpids[@]}" 2>/dev/null
		_tap_result 0 "chromium (pid ${cpids[*]}) exited with the journey"
	fi
else
	_tap_result 0 "the journey recorded chromium's PID"
fi

# What follows stands on a finished journey; after a failed one it would only repeat it.
if [ "$rc" -ne 0 ]; then
	diag "the journey failed: the database, audit and screenshot checks are skipped"
	done_testing
	exit
fi

fact() {
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], ""))' "$T/journey.json" "$1" 2>/dev/null
}
id=$(fact store_id)
xid=$(fact xss_id)

# (journey.js compared the revealed password with the cluster's Secret before the delete.)
if [ -n "$id" ]; then
	is "$(rc_sql "SELECT status FROM stores WHERE id = '$id'")" deleted "the database says the store is deleted"
	is "$(rc_sql "SELECT string_agg(action, ',' ORDER BY id) FROM audit_log WHERE target = '$id'")" \
		store.create,store.credentials_reveal,domain.add,domain.verify,store.delete \
		"the audit log has the create, the reveal, the domain added and verified, and the delete"
	# reconcile releases a deleted store's domains in its next pass
	domain_released() { [ "$(rc_sql "SELECT count(*) FROM store_domains WHERE store_id = '$id'")" = 0 ]; }
	ok "the deleted store's domain is released" wait_for 30 domain_released
else
	_tap_result 0 "the journey created a store"
fi
# The journey registered its address twice: one account, and the second try audited only.
is "$(rc_sql "SELECT string_agg(action, ',' ORDER BY id) FROM audit_log WHERE action LIKE 'user.register%'")" \
	user.register,user.register_existing "the audit log has the registration and the second try on the taken address"
is "$(rc_sql "SELECT count(*) FROM users")" 1 "the second try made no account"
# The mails: one per registration try, one per store ready, one for the reset; the request
# and the reset audited.
is "$(for f in $(mail_files); do mail_hdr "$f" Subject; done | LC_ALL=C sort | tr '\n' '|')" \
	"Confirm your storefleet email address|Reset your storefleet password|Someone tried to register your storefleet address|Your store <img src=x onerror=alert(1)> is ready|Your store $(printf 'Corner Bakery') is ready|" \
	"the SMTP server received exactly five mails: the address link, the second try's note, two stores ready, the reset link"
is "$(rc_sql "SELECT string_agg(action || coalesce(':' || (details->>'outcome'), ''), ',' ORDER BY id) FROM audit_log WHERE action LIKE 'user.password%'")" \
	"user.password_forgot:mailed,user.password_reset" "the audit log has the request (mailed) and the reset"
if [ -n "$xid" ]; then
	is "$(rc_sql "SELECT name FROM stores WHERE id = '$xid'")" '<img src=x onerror=alert(1)>' \
		"the markup-like name is stored as typed"
fi
# The screenshots: PNGs at the fixed viewport.
png_size() {
	python3 -c '
import struct, sys
d = open(sys.argv[1], "rb").read(24)
assert d[:8] == b"\x89PNG\r\n\x1a\n"
print("%dx%d" % struct.unpack(">II", d[16:24]))' "$1" 2>/dev/null
}
case ${SF_SCREENSHOTS:-} in
/*) shots=$SF_SCREENSHOTS ;;
*) shots=$SF_ROOT/${SF_SCREENSHOTS:-} ;;
esac
for f in screenshot-store.png screenshot-dashboard.png; do
	is "$(png_size "$T/$f")" 1280x800 "$f: a 1280x800 PNG"
	if [ -n "${SF_SCREENSHOTS:-}" ]; then
		cmp -s "$T/$f" "$shots/$f"
		ok "$f also written to $SF_SCREENSHOTS/" test $? -eq 0
	fi
done

# Nothing on the server side complained either.
unlike "$(grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/app.log" "$T/reconcile.log" "$T/mail.log" 2>/dev/null)" . \
	"no sanitizer reports from the app, reconcile or storefleet-mail"
done_testing
