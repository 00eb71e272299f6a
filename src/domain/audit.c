/* audit.c - append rows to audit_log; details travel as one jsonb parameter. */
#include <stdio.h>

#include "audit.h"
#include "buf.h"
#include "db.h"

/* clang-format off */
static struct db_stmt st_audit = DB_STMT(
	"INSERT INTO audit_log (actor_id, actor_email, ip, action, target, details) "
	"VALUES ($1::bigint, $2, $3, $4, $5, coalesce($6::jsonb, '{}'::jsonb))",
	6);
/* clang-format on */

int audit_record(struct arena *a, long long actor_id, const char *actor_email, const char *ip,
		 const char *action, const char *target, const struct view *details, struct err *e)
{
	struct buf js = BUF_INIT;
	char id[24];
	const char *p[6];
	int rc;

	snprintf(id, sizeof(id), "%lld", actor_id);
	if (details)
		view_json(&js, details);
	if (js.failed) {
		buf_release(&js);
		return err_set(e, 500, "audit: cannot serialise details");
	}
	p[0] = actor_id > 0 ? id : NULL;
	p[1] = actor_email;
	p[2] = ip && *ip ? ip : NULL;
	p[3] = action;
	p[4] = target;
	p[5] = details ? js.s : NULL;
	rc = db_run(a, &st_audit, p, e) ? 0 : -1;
	buf_release(&js);
	return rc;
}
