# lib-domains.sh - a real DNS server (dnsmasq) on loopback for the custom-domain tests t0590-t0599.
#
#   dns_start RECORD...   start dnsmasq on 127.0.0.1:$DNS_PORT answering only RECORD
#                         (dnsmasq options: --txt-record=, --cname=, --host-record=,
#                         --address=); every other name under example.com, example.org,
#                         example.net is NXDOMAIN (--local), nothing is forwarded
#   dns_restart RECORD... stop it (by PID) and start it again with these records
#                         (dnsmasq reads --txt-record/--cname only at start; SIGHUP
#                         re-reads hosts files, not these)
#   dns_stop              stop it: the resolver is down
# Exports SF_DOMAIN_RESOLVER=127.0.0.1:$DNS_PORT for the programs started after.

: "${DNS_PORT:=$(free_port)}"
SF_DOMAIN_RESOLVER=127.0.0.1:$DNS_PORT
export DNS_PORT SF_DOMAIN_RESOLVER
DNS_PID=

dns_start() {
	mkdir -p "$T/dns"
	rm -f "$T/dns/pid"
	dnsmasq --keep-in-foreground --port="$DNS_PORT" --listen-address=127.0.0.1 \
		--bind-interfaces --no-resolv --no-hosts --conf-file=/dev/null \
		--pid-file="$T/dns/pid" --log-facility="$T/dns/log" --log-queries \
		--local=/example.com/ --local=/example.org/ --local=/example.net/ "$@" \
		>>"$T/dns/out" 2>&1 &
	DNS_PID=$!
	STACK_PIDS+=("dnsmasq:$DNS_PID")
	wait_for 10 test -s "$T/dns/pid" || {
		echo "dns_start: dnsmasq did not start" >&2
		cat "$T/dns/out" >&2
		return 1
	}
}

dns_stop() {
	[ -n "$DNS_PID" ] && stack_kill "dnsmasq:$DNS_PID"
	DNS_PID=
}

dns_restart() {
	dns_stop
	dns_start "$@"
}
