#!/bin/sh
# deps.sh - install the Debian packages storefleet needs, only those missing.
# Used by `make run`, `make test` and friends; safe to run again (a no-op then).
# Extra package names may be given as arguments (tools/deps.sh hyperfine).
set -eu

# build: compiler, pkg-config and the -dev packages of every library we link
# run:   PostgreSQL server, nginx
# check: MariaDB and Redis servers (the engines' real databases: t0740, make check-engines)
# backup: rclone, the S3 client of the backup Jobs (charts/*/manifests/75-backup.yaml; t0741-t0744)
# test:  prove (perl), curl, cgi-fcgi (libfcgi-bin), the schema validator's python modules, kubectl,
#        aiosmtpd (the SMTP server make run catches mail with and the email tests send to: tools/smtp-sink.py),
#        clang + libFuzzer runtime, promtool, wrk for `make bench`,
#        chromium and a font for the browser test (t0800) and its screenshots,
#        dnsmasq (the loopback DNS server the custom-domain tests verify against: t0590-t0599),
#        socat (the TCP forwarder a second kubesim is reached through, cut and restored: t0566),
#        php-cli (runs the WordPress chart's wp-config extra as the image evaluates it: t0595)
pkgs="gcc make pkg-config perl curl ca-certificates openssl
libfcgi-dev libfcgi-bin libpq-dev libcurl4-openssl-dev libjansson-dev libyaml-dev libsodium-dev libidn2-dev
libmicrohttpd-dev libgnutls28-dev
postgresql nginx-light
mariadb-server mariadb-client redis-server
python3 python3-yaml python3-jsonschema python3-aiosmtpd
clang libclang-rt-14-dev wrk prometheus rclone
chromium fonts-dejavu-core
dnsmasq-base socat php-cli"
pkgs="$pkgs $*"

# One dpkg-query for every package (one each cost seconds: make run runs this
# every time): a line "NAME install ok installed" per installed one.
# shellcheck disable=SC2086
installed=$(dpkg-query -W -f='${Package} ${Status}\n' $pkgs 2>/dev/null | grep ' install ok installed$' || true)
missing=""
for p in $pkgs; do
	case "
$installed
" in
	*"
$p install ok installed
"*) ;;
	*)
		# nginx-light or any other nginx flavour will do
		if [ "$p" = nginx-light ] && command -v nginx >/dev/null 2>&1; then
			continue
		fi
		missing="$missing $p"
		;;
	esac
done
if ! command -v kubectl >/dev/null 2>&1; then
	missing="$missing kubernetes-client"
fi
# npm: the OpenAPI validator (package.json) that t0504 runs
if ! command -v npm >/dev/null 2>&1; then
	missing="$missing nodejs npm"
fi

[ -z "$missing" ] && exit 0

echo "deps: installing:$missing"
if [ "$(id -u)" -eq 0 ]; then
	sudo=""
elif command -v sudo >/dev/null 2>&1; then
	sudo="sudo"
else
	echo "deps: need root or sudo to install:$missing — ask an administrator to apt-get install them, then run make again" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# One line that says what is wrong and what to do, whatever apt-get printed above it.
$sudo apt-get update -qq || echo "deps: apt-get update failed (above: why); the install below may not find packages" >&2
# shellcheck disable=SC2086
if ! $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null; then
	echo "deps: could not install:$missing — apt-get failed (above: why); install them by hand (apt-get install$missing), then run make again" >&2
	exit 1
fi
# Debian may start the packaged postgresql and nginx services on install.
# They are left exactly as the package set them up: storefleet runs its own
# PostgreSQL and nginx as its own processes, on its own sockets and ports,
# and never stops, disables or reconfigures a system service.
