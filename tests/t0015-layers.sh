#!/bin/bash
# t0015-layers.sh - the build, not convention, keeps the web app away from Kubernetes
# (docs/design.md section 8): each program holds only its layers' code and libraries,
# and a call or an include across the line does not build.
. "$SF_ROOT/tests/lib.sh"

B=$SF_BUILD
FCGI=$B/bin/storefleet.fcgi
REC=$B/bin/storefleet-reconcile
CTL=$B/bin/storefleetctl
MAILER=$B/bin/storefleet-mail

defined() { nm --defined-only -g "$1" 2>/dev/null | awk 'NF == 3 && $2 ~ /[TDRB]/ { print $3 }' | sort -u; }
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
# symbols defined in both: $1 a program, $2 an archive
common() { comm -12 <(defined "$1") <(defined "$2"); }

for f in "$FCGI" "$REC" "$CTL" "$MAILER"; do
	[ -x "$f" ] || bail "$f is not built"
done
for l in core domain web fleet mail ctl; do
	[ -f "$B/lib/lib$l.a" ] || bail "no archive for layer $l in $B/lib"
done

# --- what each program holds --------------------------------------------------------
is "$(common "$FCGI" "$B/lib/libfleet.a" | head -5)" "" "storefleet.fcgi holds no fleet symbol"
unlike "$(nm -u "$FCGI")" '\b(k8s|kubeconfig|readiness|lease|reconcile)_' \
	"storefleet.fcgi refers to no fleet function"
unlike "$(needed "$FCGI")" 'libcurl' "storefleet.fcgi does not link libcurl"
is "$(common "$REC" "$B/lib/libweb.a" | head -5)" "" "storefleet-reconcile holds no web symbol"
for s in store_create auth_hash_password auth_verify_password session_create apitoken_create; do
	is "$(defined "$REC" | grep -x "$s")" "" "storefleet-reconcile has no $s"
done
unlike "$(needed "$REC")" 'libfcgi' "storefleet-reconcile does not link libfcgi"
# storefleetctl checks a cluster's kubeconfig with the fleet's client before storing it
# (cluster add): it holds the client, never reconcile's machinery
is "$(defined "$CTL" | grep -E '^(reconcile|observe|lease|readiness|storehttp)_' | head -5)" "" \
	"storefleetctl holds the Kubernetes client only, nothing of reconcile"
like "$(defined "$CTL" | grep -cE '^(k8s_init_kc|cluster_check|kubeconfig_flatten)$')" '^3$' \
	"storefleetctl does hold the Kubernetes client (cluster add)"
is "$(common "$FCGI" "$B/lib/libmail.a" | head -5)" "" "storefleet.fcgi holds no SMTP sender symbol (it only enqueues)"
is "$(common "$REC" "$B/lib/libmail.a" | head -5)" "" "storefleet-reconcile holds no SMTP sender symbol (it only enqueues)"
is "$(common "$MAILER" "$B/lib/libweb.a" | head -5)$(common "$MAILER" "$B/lib/libfleet.a" | head -5)" "" \
	"storefleet-mail holds no web or fleet symbol"
unlike "$(needed "$MAILER")" 'libfcgi' "storefleet-mail does not link libfcgi"
like "$(defined "$MAILER" | grep -c '^sender_run$')" '^1$' "storefleet-mail does hold the sender (the check sees symbols)"
unlike "$(needed "$CTL")" 'libfcgi' "storefleetctl does not link libfcgi"
like "$(defined "$REC" | grep -c '^k8s_')" '^[1-9]' "storefleet-reconcile does hold the Kubernetes client (the check sees symbols)"
like "$(defined "$FCGI" | grep -c '^store_create$')" '^1$' "storefleet.fcgi does hold store_create (the check sees symbols)"

# --- a crossing does not build ----------------------------------------------------------
# A copy of the sources with the objects already built (mtimes kept), so make
# recompiles only the file a case changes.
R=$T/repo
mkdir -p "$R/tests"
cp -a "$SF_ROOT/Makefile" "$SF_ROOT/src" "$SF_ROOT/cgi-bin" "$R/"
cp -a "$SF_ROOT/tests/bench" "$R/tests/" 2>/dev/null || true
mkdir -p "$R/b"
cp -a "$B/obj" "$B/lib" "$R/b/"
san=""
case $B in */san) san="SANITIZE=address,undefined" ;; esac
mk() { make -C "$R" --no-print-directory O=b WERROR=1 $san "$@" >"$T/mk.out" 2>&1; }

ok "the copy links as it is" mk b/bin/storefleet.fcgi b/bin/storefleet-reconcile
cp "$R/cgi-bin/page_healthz.c" "$T/healthz.c"

printf '#include "k8s.h"\n' >>"$R/cgi-bin/page_healthz.c"
nok "a page that includes the Kubernetes client's header does not compile" mk b/bin/storefleet.fcgi
like "$(cat "$T/mk.out")" 'k8s\.h: No such file' "... because the fleet's headers are not on its include path"

cp "$T/healthz.c" "$R/cgi-bin/page_healthz.c"
cat >>"$R/cgi-bin/page_healthz.c" <<'C'
struct k8s;
void k8s_release(struct k8s *k);
int page_healthz_fleet(void);
int page_healthz_fleet(void) { k8s_release(0); return 0; }
C
touch "$R/cgi-bin/page_healthz.c"
nok "a page that declares and calls a fleet function does not link" mk b/bin/storefleet.fcgi
like "$(cat "$T/mk.out")" "undefined reference to .k8s_release" "... because storefleet.fcgi does not link the fleet"

cp "$T/healthz.c" "$R/cgi-bin/page_healthz.c"
printf '#include "auth.h"\n' >>"$R/src/fleet/lease.c"
nok "a fleet file that includes the accounts header does not compile" mk b/bin/storefleet-reconcile
like "$(cat "$T/mk.out")" 'auth\.h: No such file' "... because the web's headers are not on the fleet's path"

done_testing
