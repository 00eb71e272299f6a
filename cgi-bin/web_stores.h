/* web_stores.h - what the store pages and the store API share: the asker, and errors as answers. */
#ifndef SF_WEB_STORES_H
#define SF_WEB_STORES_H

#include <string.h>

#include "req.h"
#include "store.h"

/* The signed-in user as the store module wants it (route flags guarantee r->user). */
static inline struct store_who web_stores_who(struct req *r)
{
	struct store_who w = {r->user->id, r->user->email, r->user->is_admin, r->remote_addr};

	return w;
}

/*
 * A store module error as the response: 422 names field, 429 gets code and
 * Retry-After, 503 code (admission's "capacity") or "unavailable";
 * everything else the status's default code.
 */
static inline int web_stores_fail(struct req *r, const struct err *e, const char *field,
				  const char *code, int retry_after)
{
	int status = e->status ? e->status : 500;

	if (status == 422)
		return req_invalid(r, field ? field : "body", "%s", e->msg);
	if (status == 429 && retry_after > 0)
		resp_header(r, "Retry-After", "%d", retry_after);
	if (status == 503 && !code)
		code = "unavailable";
	return req_fail(r, status, code, "%s", e->msg);
}

#endif
