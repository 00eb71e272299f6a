/* ctl_domain.c - storefleetctl store domain add|list|remove: a store's custom domains, through src/web. */
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "ctl.h"
#include "db.h"
#include "store_domain.h"

/*
 * The web app's rules (store_domain.c) as an administrator that is no
 * user: the audit rows say "storefleetctl".  `list` prints one
 * tab-separated line per domain with the DNS records the owner must create.
 */

static const char usage_text[] = "usage: storefleetctl store domain add ID DOMAIN\n"
				 "       storefleetctl store domain list ID\n"
				 "       storefleetctl store domain remove ID DOMAIN\n";

static const char *str_or_dash(const struct view *v, const char *key)
{
	const char *s = v ? view_get_str(v, key) : NULL;

	return s && *s ? s : "-";
}

static void print_domain(const struct view *d)
{
	const struct view *dns = view_get(d, "dns"), *cert = view_get(d, "certificate");

	printf("%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", str_or_dash(d, "domain"),
	       str_or_dash(d, "status"), str_or_dash(d, "expires_at"),
	       str_or_dash(dns, "txt_name"), str_or_dash(dns, "txt_value"),
	       str_or_dash(dns, "cname_target"), str_or_dash(cert, "state"),
	       view_get_str(d, "check_message")	   ? view_get_str(d, "check_message")
	       : view_get_str(cert, "message") ? view_get_str(cert, "message")
						   : "-");
}

int ctl_store_domain(int argc, char **argv)
{
	struct store_who who = {0, "storefleetctl", 1, NULL};
	struct err e = ERR_INIT;
	const char *sub = argc > 1 ? argv[1] : "";
	struct view *list, *d;
	struct arena *a;
	int rc = 0;

	if (!((!strcmp(sub, "list") && argc == 3) ||
	      ((!strcmp(sub, "add") || !strcmp(sub, "remove")) && argc == 4))) {
		fputs(usage_text, stderr);
		return 2;
	}
	if (db_connect(&e) < 0) {
		fprintf(stderr, "storefleetctl: store domain %s: %s\n", sub, e.msg);
		return 1;
	}
	a = arena_new();
	if (!strcmp(sub, "list")) {
		if (store_domain_list(a, &who, argv[2], &list, &e) == 0) {
			printf("# domain\tstatus\texpires\ttxt_name\ttxt_value\tcname_target\t"
			       "certificate\tmessage\n");
			for (struct view_item *it = list->u.list.head; it; it = it->next)
				print_domain(it->val);
		} else {
			rc = 1;
		}
	} else if (!strcmp(sub, "add")) {
		if (store_domain_add(a, &who, argv[2], argv[3], &d, &e) == 0) {
			const struct view *dns = view_get(d, "dns");

			printf("%s: %s added; create these DNS records:\n", argv[2],
			       view_get_str(d, "domain"));
			printf("  %s TXT %s\n", view_get_str(dns, "txt_name"),
			       view_get_str(dns, "txt_value"));
			printf("  %s CNAME %s\n", view_get_str(d, "domain"),
			       view_get_str(dns, "cname_target"));
		} else {
			rc = 1;
		}
	} else {
		if (store_domain_remove(a, &who, argv[2], argv[3], &d, &e) == 0)
			printf("%s: %s %s\n", argv[2], argv[3],
			       d ? "is being removed (host and certificate)" : "removed");
		else
			rc = 1;
	}
	if (rc)
		fprintf(stderr, "storefleetctl: store domain %s: %s\n", sub, e.msg);
	arena_free(a); /* PQclear before the connection goes */
	db_close();
	return rc;
}
