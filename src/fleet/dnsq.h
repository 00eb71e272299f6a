/* dnsq.h - the few DNS look-ups custom-domain verification makes, against a configured server. */
#ifndef SF_DNSQ_H
#define SF_DNSQ_H

#include <stddef.h>

#include "err.h"

/*
 * Queries go through glibc's libresolv (res_nmkquery + res_nsend, one
 * resolver state per call, its server list replaced by the one configured:
 * setting domain_resolver "IP" or "IP:PORT", IPv4; "" keeps
 * /etc/resolv.conf).  Answers are parsed by dnsq_parse, a function of the
 * bytes alone (ns_initparse / ns_parserr / ns_name_uncompress), so the
 * parser of this outside input has its own fuzz target
 * (tests/fuzz/fuzz-dns-answer.c).
 */

#define DNSQ_MAX_RR   16   /* records of the answer section kept */
#define DNSQ_DATA_MAX 512  /* bytes of one record's text kept (longer: truncated) */

struct dnsq_rr {
	int type;			/* ns_t_txt, ns_t_cname, ns_t_a, ns_t_aaaa */
	char data[DNSQ_DATA_MAX + 1];	/* TXT: the strings joined; CNAME: the target, lower-case,
					   no trailing dot; A/AAAA: the address as text */
};

struct dnsq_answer {
	int rcode; /* ns_r_noerror, ns_r_nxdomain, ... */
	int n;	   /* records kept: those of the answer section owned by the name asked for */
	struct dnsq_rr rr[DNSQ_MAX_RR];
};

/*
 * Parse a DNS response msg[0..len) to a question for qname (ASCII, any
 * case, with or without the trailing dot): the records of the answer
 * section whose owner is qname, of the types above (others skipped).  0,
 * or -1 with e (502 "dns: ...") when msg is not a well-formed response.
 */
int dnsq_parse(const unsigned char *msg, size_t len, const char *qname, struct dnsq_answer *out,
	       struct err *e);

/*
 * Ask server ("" = the system's; "IP" or "IP:PORT") for type records of
 * name, at most timeout seconds.  OUT: *out.  An NXDOMAIN or an empty
 * answer is success with out->n == 0 (out->rcode says which).  -1 with e
 * (502) when there is no answer (timeout, refused, a malformed reply) or
 * server is not a valid address.
 */
int dnsq_query(const char *server, const char *name, int type, int timeout,
	       struct dnsq_answer *out, struct err *e);

/* The 1 when s is a valid "IP" or "IP:PORT" (IPv4) or "", else 0 (config checks). */
int dnsq_server_ok(const char *s);

#endif
