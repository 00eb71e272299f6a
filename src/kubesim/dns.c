/* dns.c - what the cluster's DNS answers for ExternalName Services, and the ingress's proxy to it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kubesim.h"

/*
 * A real ingress controller resolves an ExternalName Service's name with
 * the cluster's DNS and forwards the request there, the Host header kept.
 * kubesim has no cluster DNS: --dns NAME=127.0.0.1:PORT (repeatable) says
 * what NAME resolves to, e.g. the platform's web Service
 * (storefleet-web.storefleet.svc.cluster.local) to the nginx a test runs.
 * Only loopback addresses are accepted: the simulated ingress must not
 * become a proxy to anywhere.  A name with no record answers 502, like a
 * controller whose upstream does not resolve.
 *
 * The proxy is HTTP/1.0 with Connection: close: the request line, Host
 * and no body (what a paused page needs); the answer's status, its
 * Content-Type and Retry-After are passed on, its body up to DNS_BODY_MAX.
 */

#define DNS_MAX	     8
#define DNS_BODY_MAX ((size_t)1 << 20)

static struct {
	char name[254];
	char ip[16];
	int port;
} records[DNS_MAX];
static int nrecords;

int ks_dns_add(const char *spec, struct err *e)
{
	const char *eq = strchr(spec, '='), *colon;
	char ip[16];
	struct in_addr in;
	long port;

	if (!eq || eq == spec || (size_t)(eq - spec) >= sizeof(records[0].name))
		return err_set(e, 400, "--dns '%s': expected NAME=127.0.0.1:PORT", spec);
	colon = strrchr(eq, ':');
	if (!colon || (size_t)(colon - eq - 1) >= sizeof(ip))
		return err_set(e, 400, "--dns '%s': expected NAME=127.0.0.1:PORT", spec);
	snprintf(ip, sizeof(ip), "%.*s", (int)(colon - eq - 1), eq + 1);
	port = strtol(colon + 1, NULL, 10);
	if (inet_pton(AF_INET, ip, &in) != 1 || (ntohl(in.s_addr) >> 24) != 127 || port < 1 ||
	    port > 65535 || strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return err_set(e, 400, "--dns '%s': the address must be 127.x.x.x:PORT", spec);
	if (nrecords == DNS_MAX)
		return err_set(e, 400, "--dns: at most %d names", DNS_MAX);
	snprintf(records[nrecords].name, sizeof(records[0].name), "%.*s", (int)(eq - spec), spec);
	snprintf(records[nrecords].ip, sizeof(records[0].ip), "%s", ip);
	records[nrecords].port = (int)port;
	nrecords++;
	return 0;
}

/* The record of name (a trailing dot ignored): 0 with ip and port, -1 when there is none. */
static int lookup(const char *name, char ip[16], int *port)
{
	size_t n = strlen(name);

	if (n && name[n - 1] == '.')
		n--;
	for (int i = 0; i < nrecords; i++)
		if (strlen(records[i].name) == n && !strncasecmp(records[i].name, name, n)) {
			memcpy(ip, records[i].ip, 16);
			*port = records[i].port;
			return 0;
		}
	return -1;
}

/* Milliseconds left until deadline (CLOCK_MONOTONIC ms), at least 0. */
static int left_ms(long long deadline)
{
	struct timespec t;
	long long now;

	clock_gettime(CLOCK_MONOTONIC, &t);
	now = (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
	return now >= deadline ? 0 : (int)(deadline - now);
}

/* The value of header name in the head (CRLF lines), copied into out; "" when absent. */
static void head_value(const char *head, const char *name, char *out, size_t n)
{
	size_t nl = strlen(name);
	const char *p = head;

	out[0] = 0;
	while ((p = strstr(p, "\r\n"))) {
		p += 2;
		if (!strncasecmp(p, name, nl) && p[nl] == ':') {
			const char *v = p + nl + 1, *end;

			v += strspn(v, " \t");
			end = strstr(v, "\r\n");
			snprintf(out, n, "%.*s", (int)(end ? end - v : (long)strlen(v)), v);
			return;
		}
	}
}

int ks_dns_proxy(const char *name, int port, const char *method, const char *url, const char *host,
		 struct ks_proxied *out, struct err *e)
{
	char ip[16], req[2400];
	struct sockaddr_in sa;
	long long deadline;
	struct timespec t;
	int fd, rport, len;
	size_t got = 0;
	char *sep;

	memset(out, 0, sizeof(*out));
	if (lookup(name, ip, &rport) < 0)
		return err_set(e, 502, "no DNS record for '%s' (kubesim --dns)", name);
	(void)port; /* the record's port: what the name resolves to on loopback */
	len = snprintf(req, sizeof(req), "%s %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n",
		       method, url, host);
	if (len < 0 || (size_t)len >= sizeof(req))
		return err_set(e, 414, "request line too long to proxy");
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)rport);
	inet_pton(AF_INET, ip, &sa.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_set(e, 502, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    send(fd, req, (size_t)len, MSG_NOSIGNAL) != len) {
		err_set(e, 502, "%s:%d: %s", ip, rport, strerror(errno));
		close(fd);
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t);
	deadline = (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000 + 10000;
	out->raw = malloc(DNS_BODY_MAX + 1);
	if (!out->raw)
		die_oom();
	for (;;) {
		struct pollfd p = {fd, POLLIN, 0};
		ssize_t n;

		if (poll(&p, 1, left_ms(deadline)) <= 0) {
			close(fd);
			return err_set(e, 504, "%s:%d: no answer within 10 s", ip, rport);
		}
		n = recv(fd, out->raw + got, DNS_BODY_MAX - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got == DNS_BODY_MAX)
			break;
	}
	close(fd);
	out->raw[got] = 0;
	sep = strstr(out->raw, "\r\n\r\n");
	if (strncmp(out->raw, "HTTP/1.", 7) || !sep || got < 12)
		return err_set(e, 502, "%s:%d: not an HTTP answer", ip, rport);
	out->status = atoi(out->raw + 9);
	if (out->status < 100 || out->status > 599)
		return err_set(e, 502, "%s:%d: bad status line", ip, rport);
	*sep = 0;
	head_value(out->raw, "Content-Type", out->ctype, sizeof(out->ctype));
	head_value(out->raw, "Retry-After", out->retry_after, sizeof(out->retry_after));
	out->body = sep + 4;
	out->len = got - (size_t)(out->body - out->raw);
	return 0;
}

void ks_proxied_release(struct ks_proxied *p)
{
	free(p->raw);
	memset(p, 0, sizeof(*p));
}
