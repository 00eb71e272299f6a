/* ctl_mail.c - storefleetctl mail test|list|resend: check the relay, see the outbox, resend. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "arena.h"
#include "audit.h"
#include "config.h"
#include "ctl.h"
#include "db.h"
#include "mail.h"
#include "view.h"

#define CTL_ACTOR "storefleetctl"

/* clang-format off */
static struct db_stmt st_list = DB_STMT(
	"SELECT id, state, attempts, kind, rcpt, "
	"to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
	"message_id, last_error FROM outbox "
	"WHERE $1 = '' OR state = $1 ORDER BY id",
	1);
/* Only a message that is not in the relay's hands by our records may go again. */
static struct db_stmt st_resend = DB_STMT(
	"UPDATE outbox SET state = 'queued', next_attempt_at = now(), attempt_id = NULL, "
	"last_error = 'resent by storefleetctl after: ' || last_error "
	"WHERE id = $1::bigint AND state IN ('unknown', 'failed') RETURNING message_id",
	1);
/* clang-format on */

static const char usage[] = "usage: storefleetctl mail test ADDRESS [--note TEXT] | "
			    "mail list [--state S] | mail resend ID\n";

static int fail(const char *what, struct err *e)
{
	fprintf(stderr, "storefleetctl: mail %s: %s\n", what, e->msg);
	return 1;
}

static int mail_test(struct arena *a, const char *to, const char *note)
{
	struct err e = ERR_INIT;
	struct view *v = view_obj(a), *d = view_obj(a);

	if (note)
		view_set_str(v, "note", note);
	view_set_str(d, "kind", "test");
	if (db_begin(&e) < 0 || mail_enqueue(a, "test", 0, to, v, &e) < 0 ||
	    audit_record(a, 0, CTL_ACTOR, NULL, "mail.test", to, d, &e) < 0 || db_commit(&e) < 0) {
		db_rollback();
		return fail("test", &e);
	}
	printf("queued a test message to %s: storefleet-mail sends it\n", to);
	return 0;
}

static int mail_list(struct arena *a, const char *state)
{
	struct err e = ERR_INIT;
	PGresult *res = db_run(a, &st_list, (const char *[]){state ? state : ""}, &e);

	if (!res)
		return fail("list", &e);
	for (int i = 0; i < db_rows(res); i++)
		printf("%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", db_get(res, i, 0), db_get(res, i, 1),
		       db_get(res, i, 2), db_get(res, i, 3), db_get(res, i, 4), db_get(res, i, 5),
		       db_get(res, i, 6), db_get(res, i, 7));
	return 0;
}

static int mail_resend(struct arena *a, const char *id)
{
	struct err e = ERR_INIT;
	struct view *d = view_obj(a);
	PGresult *res;
	char *end;

	strtoll(id, &end, 10);
	if (!*id || *end)
		return fputs(usage, stderr), 2;
	res = db_run(a, &st_resend, (const char *[]){id}, &e);
	if (!res)
		return fail("resend", &e);
	if (db_rows(res) == 0) {
		fprintf(stderr,
			"storefleetctl: mail resend: no message %s in state unknown or "
			"failed\n",
			id);
		return 1;
	}
	view_set_str(d, "message_id", db_get(res, 0, 0));
	if (audit_record(a, 0, CTL_ACTOR, NULL, "mail.resend", id, d, &e) < 0)
		return fail("resend", &e);
	printf("message %s %s queued again\n", id, db_get(res, 0, 0));
	return 0;
}

int ctl_mail(int argc, char **argv)
{
	struct err e = ERR_INIT;
	struct arena *a;
	int rc;

	if (argc < 2)
		return fputs(usage, stderr), 2;
	if (!strcmp(argv[1], "test") && (argc == 3 || (argc == 5 && !strcmp(argv[3], "--note")))) {
	} else if (!strcmp(argv[1], "list") &&
		   (argc == 2 || (argc == 4 && !strcmp(argv[2], "--state")))) {
	} else if (!strcmp(argv[1], "resend") && argc == 3) {
	} else {
		return fputs(usage, stderr), 2;
	}
	if (sodium_init() < 0 || db_connect(&e) < 0)
		return fail(argv[1], &e);
	a = arena_new();
	if (!strcmp(argv[1], "test"))
		rc = mail_test(a, argv[2], argc == 5 ? argv[4] : NULL);
	else if (!strcmp(argv[1], "list"))
		rc = mail_list(a, argc == 4 ? argv[3] : NULL);
	else
		rc = mail_resend(a, argv[2]);
	arena_free(a);
	mail_templates_free();
	db_close();
	return rc;
}
