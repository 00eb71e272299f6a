/* ctl_user.c - storefleetctl user / token (placeholder until the accounts work lands). */
#include <stdio.h>

#include "ctl.h"

int ctl_user(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "storefleetctl: user: not built yet\n");
	return 1;
}

int ctl_token(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "storefleetctl: token: not built yet\n");
	return 1;
}
