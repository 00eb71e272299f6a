/* dnsname.c - custom domain names: trim, case, trailing dot, IDNA (libidn2), and the refusals. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <idn2.h>

#include "dnsname.h"
#include "http.h"

/*
 * The order of the checks is the order in which a person is best told
 * what is wrong: shape first (a URL, a wildcard, an address), then IDNA,
 * then the rules of DNS host names (RFC 1123 letters-digits-hyphen labels),
 * then whose name it is.  Input is never echoed back raw: a message names
 * the normalised name or a label of it, which are plain ASCII by then.
 */

#define SAMPLE "such as shop.example.com"

int dnsname_under(const char *name, const char *platform)
{
	size_t n = strlen(name), p = strlen(platform);

	while (p > 0 && platform[p - 1] == '.')
		p--;
	if (p == 0)
		return 0;
	if (n == p)
		return strncasecmp(name, platform, p) == 0;
	return n > p && name[n - p - 1] == '.' && strncasecmp(name + n - p, platform, p) == 0;
}

/* Copy a libidn2 result into the arena and free it. */
static const char *take(struct arena *a, char *s)
{
	const char *c = arena_strdup(a, s);

	idn2_free(s);
	return c;
}

/* The LDH rules on an ASCII name: labels, lengths, hyphens, the top-level label. */
static int check_ldh(const char *s, struct err *e)
{
	const char *label = s, *last = s;
	int labels = 0;

	if (strlen(s) > DNSNAME_MAX)
		return err_set(e, 422,
			       "The domain name is %zu characters long; DNS allows at most %d.",
			       strlen(s), DNSNAME_MAX);
	for (const char *p = s;; p++) {
		if (*p == '.' || !*p) {
			size_t n = (size_t)(p - label);

			if (n == 0)
				return err_set(e, 422,
					       "The domain name has an empty label (two dots in a row, "
					       "or a dot at the start).");
			if (n > DNSNAME_LABEL_MAX)
				return err_set(e, 422,
					       "The label '%.20s...' is %zu characters long; a label "
					       "of a domain name has at most %d.",
					       label, n, DNSNAME_LABEL_MAX);
			if (label[0] == '-' || p[-1] == '-')
				return err_set(e, 422,
					       "The label '%.*s' starts or ends with a hyphen, which "
					       "DNS host names do not allow.",
					       (int)n, label);
			if (n >= 4 && label[2] == '-' && label[3] == '-' &&
			    strncmp(label, "xn", 2) != 0)
				return err_set(e, 422,
					       "The label '%.*s' has two hyphens in the third and "
					       "fourth places, which is reserved for IDNA.",
					       (int)n, label);
			labels++;
			last = label;
			if (!*p)
				break;
			label = p + 1;
			continue;
		}
		if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '-'))
			return err_set(e, 422,
				       "The domain name has the character '%c'; use letters, digits, "
				       "hyphens and dots only, " SAMPLE ".",
				       isprint((unsigned char)*p) ? *p : '?');
	}
	if (labels < 2)
		return err_set(e, 422,
			       "'%s' is a single label; enter a full domain name, " SAMPLE ".", s);
	if (strspn(last, "0123456789") == strlen(last))
		return err_set(e, 422,
			       "The last label of '%s' is all digits, which no top-level domain is.",
			       s);
	return 0;
}

int dnsname_normalize(struct arena *a, const char *in, const char *platform, const char **ascii,
		      const char **unicode, struct err *e)
{
	const char *start = in, *end;
	struct in6_addr a6;
	struct in_addr a4;
	char *s, *out = NULL;
	int ascii_only = 1, rc;
	size_t n;

	*ascii = *unicode = NULL;
	if (!in)
		in = start = "";
	while (*start == ' ' || *start == '\t')
		start++;
	end = start + strlen(start);
	while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	n = (size_t)(end - start);
	if (n == 0)
		return err_set(e, 422, "Enter a domain name, " SAMPLE ".");
	if (n > DNSNAME_INPUT_MAX)
		return err_set(e, 422, "The domain name is too long; DNS allows at most %d characters.",
			       DNSNAME_MAX);
	if (!http_valid_text(start, n))
		return err_set(e, 422, "The domain name is not valid UTF-8 text.");
	s = arena_strndup(a, start, n);
	for (char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c < 0x20 || c == 0x7f || c == ' ')
			return err_set(e, 422,
				       "The domain name has a space or a control character in it.");
		if (c >= 0x80)
			ascii_only = 0;
		else
			*p = (char)tolower(c);
	}
	if (strstr(s, "://") || strchr(s, '/') || strchr(s, '@') || strchr(s, '?'))
		return err_set(e, 422,
			       "Enter the domain name alone, without http://, a path or a user, " SAMPLE
			       ".");
	if (strchr(s, '*'))
		return err_set(e, 422,
			       "Wildcard domains cannot be added; add each host name you want to "
			       "serve, " SAMPLE ".");
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		s[n - 1] = '\0';
		s++;
		n -= 2;
	}
	if (strchr(s, ':') && inet_pton(AF_INET6, s, &a6) == 1)
		return err_set(e, 422,
			       "An IP address is not a domain name; enter the name that points to "
			       "the store, " SAMPLE ".");
	if (strchr(s, ':'))
		return err_set(e, 422, "Enter the domain name alone, without a port, " SAMPLE ".");
	n = strlen(s);
	if (n > 0 && s[n - 1] == '.')
		s[--n] = '\0'; /* the root: "example.com." is "example.com" */
	if (inet_aton(s, &a4) == 1)
		return err_set(e, 422,
			       "An IP address is not a domain name; enter the name that points to "
			       "the store, " SAMPLE ".");
	if (!ascii_only) {
		rc = idn2_lookup_u8((const uint8_t *)s, (uint8_t **)&out,
				    IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
		if (rc != IDN2_OK)
			return err_set(e, 422,
				       "The domain name is not a valid internationalised domain name "
				       "(IDNA): %s.",
				       idn2_strerror(rc));
		s = (char *)take(a, out);
	}
	if (check_ldh(s, e) < 0)
		return -1;
	/* A-labels typed as such must be the IDNA of something, in its one spelling. */
	if (!strncmp(s, "xn--", 4) || strstr(s, ".xn--")) {
		char *u = NULL, *back = NULL;

		rc = idn2_to_unicode_8z8z(s, &u, 0);
		if (rc == IDN2_OK)
			rc = idn2_lookup_u8((const uint8_t *)u, (uint8_t **)&back,
					    IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
		if (rc != IDN2_OK || strcmp(back, s)) {
			if (u)
				idn2_free(u);
			if (back)
				idn2_free(back);
			return err_set(e, 422,
				       "'%s' has an xn-- label that is not valid IDNA punycode.", s);
		}
		idn2_free(back);
		*unicode = take(a, u);
	} else {
		*unicode = s;
	}
	if (platform && *platform && dnsname_under(s, platform)) {
		char *p = arena_strdup(a, platform);

		for (char *q = p; *q; q++)
			*q = (char)tolower((unsigned char)*q);
		return err_set(e, 422,
			       "'%s' is the platform's own domain or under it; every store already "
			       "has its name under %s. Add a domain you own.",
			       s, p);
	}
	*ascii = s;
	return 0;
}
