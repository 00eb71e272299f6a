/* web_auth.c - placeholder: everyone is anonymous and every CSRF check fails (deny by default). */
#include "web_auth.h"

int web_authenticate(struct req *r)
{
	r->user = NULL;
	return 0;
}

int web_csrf_check(struct req *r)
{
	return req_fail(r, 403, "csrf", "csrf: sessions are not built yet");
}

const char *web_csrf_token(struct req *r)
{
	(void)r;
	return "";
}

void web_audit_denied(struct req *r, const char *why)
{
	(void)r;
	(void)why;
}
