/* dnsq.c - DNS look-ups through libresolv against a configured server, and the answer's parser. */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ctype.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsq.h"

/* "a.B.c." -> "a.b.c" in out (size n); 0, -1 when it does not fit. */
static int name_norm(const char *in, char *out, size_t n)
{
	size_t len = strlen(in);

	while (len > 0 && in[len - 1] == '.')
		len--;
	if (len >= n)
		return -1;
	for (size_t i = 0; i < len; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	out[len] = '\0';
	return 0;
}

/* The character-strings of a TXT RDATA joined (RFC 7208 3.3 style), truncated to fit. */
static int txt_join(const unsigned char *rd, size_t rdlen, char *out, size_t n)
{
	size_t o = 0, i = 0;

	while (i < rdlen) {
		size_t l = rd[i++];

		if (l > rdlen - i)
			return -1; /* a string running past the record */
		for (size_t k = 0; k < l; k++) {
			unsigned char c = rd[i + k];

			if (o + 1 < n)
				out[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
		}
		i += l;
	}
	out[o] = '\0';
	return 0;
}

int dnsq_parse(const unsigned char *msg, size_t len, const char *qname, struct dnsq_answer *out,
	       struct err *e)
{
	char want[NS_MAXDNAME], owner[NS_MAXDNAME];
	ns_msg h;
	int count;

	memset(out, 0, sizeof(*out));
	if (name_norm(qname, want, sizeof(want)) < 0)
		return err_set(e, 502, "dns: the name asked for is too long");
	if (len > 65535 || ns_initparse(msg, (int)len, &h) < 0)
		return err_set(e, 502, "dns: the answer is not a DNS message");
	if (!ns_msg_getflag(h, ns_f_qr))
		return err_set(e, 502, "dns: the answer is a query, not a response");
	out->rcode = ns_msg_getflag(h, ns_f_rcode);
	count = ns_msg_count(h, ns_s_an);
	for (int i = 0; i < count && out->n < DNSQ_MAX_RR; i++) {
		struct dnsq_rr *rr = &out->rr[out->n];
		const unsigned char *rd;
		size_t rdlen;
		ns_rr r;
		int t;

		if (ns_parserr(&h, ns_s_an, i, &r) < 0)
			return err_set(e, 502, "dns: answer record %d is malformed", i + 1);
		if (name_norm(ns_rr_name(r), owner, sizeof(owner)) < 0 || strcmp(owner, want) ||
		    ns_rr_class(r) != ns_c_in)
			continue;
		t = ns_rr_type(r);
		rd = ns_rr_rdata(r);
		rdlen = ns_rr_rdlen(r);
		switch (t) {
		case ns_t_txt:
			if (txt_join(rd, rdlen, rr->data, sizeof(rr->data)) < 0)
				return err_set(e, 502, "dns: a TXT record is malformed");
			break;
		case ns_t_cname: {
			char target[NS_MAXDNAME];

			if (ns_name_uncompress(ns_msg_base(h), ns_msg_end(h), rd, target,
					       sizeof(target)) < 0)
				return err_set(e, 502, "dns: a CNAME record is malformed");
			if (name_norm(target, rr->data, sizeof(rr->data)) < 0)
				return err_set(e, 502, "dns: a CNAME target is too long");
			break;
		}
		case ns_t_a:
			if (rdlen != 4 || !inet_ntop(AF_INET, rd, rr->data, sizeof(rr->data)))
				return err_set(e, 502, "dns: an A record is malformed");
			break;
		case ns_t_aaaa:
			if (rdlen != 16 || !inet_ntop(AF_INET6, rd, rr->data, sizeof(rr->data)))
				return err_set(e, 502, "dns: an AAAA record is malformed");
			break;
		default:
			continue;
		}
		rr->type = t;
		out->n++;
	}
	return 0;
}

/* "IP" or "IP:PORT" into sa; 0 or -1. */
static int server_addr(const char *s, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strchr(s, ':');
	long port = 53;

	memset(sa, 0, sizeof(*sa));
	if (colon) {
		char *end;

		if ((size_t)(colon - s) >= sizeof(host))
			return -1;
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
		port = strtol(colon + 1, &end, 10);
		if (end == colon + 1 || *end || port < 1 || port > 65535)
			return -1;
	} else {
		if (strlen(s) >= sizeof(host))
			return -1;
		strcpy(host, s);
	}
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		return -1;
	sa->sin_family = AF_INET;
	sa->sin_port = htons((unsigned short)port);
	return 0;
}

int dnsq_server_ok(const char *s)
{
	struct sockaddr_in sa;

	return !*s || server_addr(s, &sa) == 0;
}

int dnsq_query(const char *server, const char *name, int type, int timeout,
	       struct dnsq_answer *out, struct err *e)
{
	unsigned char q[NS_PACKETSZ], ans[8192];
	struct __res_state st;
	struct sockaddr_in sa;
	int ql, n;

	memset(out, 0, sizeof(*out));
	if (*server && server_addr(server, &sa) < 0)
		return err_set(e, 502, "dns: the resolver '%s' is not IP or IP:PORT", server);
	memset(&st, 0, sizeof(st));
	if (res_ninit(&st) < 0)
		return err_set(e, 502, "dns: cannot set up the resolver");
	if (*server) {
		st.nsaddr_list[0] = sa;
		st.nscount = 1;
	}
	st.retrans = timeout > 0 ? timeout : 2;
	st.retry = 2;
	st.options &= ~(unsigned long)(RES_DNSRCH | RES_DEFNAMES);
	ql = res_nmkquery(&st, ns_o_query, name, ns_c_in, type, NULL, 0, NULL, q, sizeof(q));
	if (ql < 0) {
		res_nclose(&st);
		return err_set(e, 502, "dns: cannot make a query for '%s'", name);
	}
	n = res_nsend(&st, q, ql, ans, sizeof(ans));
	res_nclose(&st);
	if (n < 0)
		return err_set(e, 502, "dns: no answer from %s (timed out or refused)",
			       *server ? server : "the system's resolver");
	if (dnsq_parse(ans, (size_t)n, name, out, e) < 0)
		return -1;
	if (out->rcode != ns_r_noerror && out->rcode != ns_r_nxdomain)
		return err_set(e, 502, "dns: %s answered %s", *server ? server : "the resolver",
			       out->rcode == ns_r_servfail ? "SERVFAIL"
			       : out->rcode == ns_r_refused ? "REFUSED"
							    : "an error");
	return 0;
}
