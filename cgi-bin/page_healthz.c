/* page_healthz.c - GET /healthz: the process is alive and answering (no database involved). */
#include "pages.h"

int page_healthz(struct req *r)
{
	return resp_text(r, 200, "text/plain; charset=utf-8", "ok\n", 3);
}
