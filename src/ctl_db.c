/* ctl_db.c - storefleetctl migrate (placeholder until the accounts work lands). */
#include <stdio.h>

#include "ctl.h"

int ctl_migrate(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "storefleetctl: migrate: not built yet\n");
	return 1;
}
