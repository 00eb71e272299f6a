/* ctl_render.c - storefleetctl render (placeholder until the blueprint work lands). */
#include <stdio.h>

#include "ctl.h"

int ctl_render(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "storefleetctl: render: not built yet\n");
	return 1;
}
