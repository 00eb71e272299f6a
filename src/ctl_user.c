/* ctl_user.c - storefleetctl user add|list|role and token create: accounts from the shell. */
#include <stdio.h>
#include <string.h>

#include "apitoken.h"
#include "arena.h"
#include "audit.h"
#include "auth.h"
#include "config.h"
#include "ctl.h"
#include "db.h"
#include "view.h"

/* Audit rows written here have no actor id: the operator is identified as this. */
#define CTL_ACTOR "storefleetctl"

/* clang-format off */
static struct db_stmt st_list = DB_STMT(
	"SELECT id, email, role, "
	"to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
	"disabled_at IS NOT NULL FROM users ORDER BY id",
	0);

static struct db_stmt st_role = DB_STMT(
	"UPDATE users u SET role = $2 FROM (SELECT id, role FROM users WHERE lower(email) = lower($1) "
	"FOR UPDATE) old WHERE u.id = old.id RETURNING u.id, old.role",
	2);
/* clang-format on */

static int ctl_fail(const char *what, struct err *e)
{
	fprintf(stderr, "storefleetctl: %s: %s\n", what, e->msg);
	return 1;
}

static int user_add(struct arena *a, int argc, char **argv)
{
	struct err e = ERR_INIT;
	struct auth_user u;
	char pw[25], hash[AUTH_HASH_MAX];
	const char *email = NULL;
	int admin = 0;
	struct view *d;

	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--admin"))
			admin = 1;
		else if (!email && argv[i][0] != '-')
			email = argv[i];
		else
			return fprintf(stderr, "usage: storefleetctl user add EMAIL [--admin]\n"),
			       2;
	}
	if (!email)
		return fprintf(stderr, "usage: storefleetctl user add EMAIL [--admin]\n"), 2;
	if (auth_check_email(email, strlen(email), &e) < 0)
		return ctl_fail("user add", &e);
	auth_random_password(pw);
	if (auth_hash_password(pw, hash, &e) < 0 ||
	    auth_user_create(a, email, hash, admin, &u, &e) < 0)
		return ctl_fail("user add", &e);
	d = view_obj(a);
	view_set_str(d, "role", u.is_admin ? "admin" : "tenant");
	view_set_str(d, "via", CTL_ACTOR);
	if (audit_record(a, 0, CTL_ACTOR, NULL, "user.register", email, d, &e) < 0)
		return ctl_fail("user add", &e);
	printf("email: %s\npassword: %s\nrole: %s\n", email, pw, u.is_admin ? "admin" : "tenant");
	return 0;
}

static int user_list(struct arena *a)
{
	struct err e = ERR_INIT;
	PGresult *res = db_run(a, &st_list, NULL, &e);

	if (!res)
		return ctl_fail("user list", &e);
	/* No header: an empty database prints nothing (tools/run.sh relies on it). */
	for (int r = 0; r < db_rows(res); r++)
		printf("%s\t%s\t%s\t%s%s\n", db_get(res, r, 0), db_get(res, r, 1),
		       db_get(res, r, 2), db_get(res, r, 3),
		       db_get_bool(res, r, 4) ? "\tdisabled" : "");
	return 0;
}

static int user_role(struct arena *a, int argc, char **argv)
{
	struct err e = ERR_INIT;
	const char *p[2];
	PGresult *res;
	struct view *d;

	if (argc != 4 || (strcmp(argv[3], "admin") && strcmp(argv[3], "tenant")))
		return fprintf(stderr, "usage: storefleetctl user role EMAIL admin|tenant\n"), 2;
	p[0] = argv[2];
	p[1] = argv[3];
	if (db_begin(&e) < 0)
		return ctl_fail("user role", &e);
	res = db_run(a, &st_role, p, &e);
	if (!res) {
		db_rollback();
		return ctl_fail("user role", &e);
	}
	if (db_rows(res) == 0) {
		db_rollback();
		fprintf(stderr, "storefleetctl: user role: no user '%s'\n", argv[2]);
		return 1;
	}
	d = view_obj(a);
	view_set_str(d, "from", db_get(res, 0, 1));
	view_set_str(d, "to", argv[3]);
	if (audit_record(a, 0, CTL_ACTOR, NULL, "user.role", argv[2], d, &e) < 0 ||
	    db_commit(&e) < 0) {
		db_rollback();
		return ctl_fail("user role", &e);
	}
	printf("%s: %s -> %s\n", argv[2], db_get(res, 0, 1), argv[3]);
	return 0;
}

static int ctl_setup(struct arena **a, const char *what)
{
	struct err e = ERR_INIT;

	if (auth_init(&e) < 0 || db_connect(&e) < 0)
		return ctl_fail(what, &e);
	*a = arena_new();
	return 0;
}

static void ctl_teardown(struct arena *a)
{
	arena_free(a);
	db_close();
}

int ctl_user(int argc, char **argv)
{
	struct arena *a;
	int rc;

	if (argc < 2 ||
	    (strcmp(argv[1], "add") && strcmp(argv[1], "list") && strcmp(argv[1], "role"))) {
		fprintf(stderr, "usage: storefleetctl user add EMAIL [--admin] | user list | "
				"user role EMAIL admin|tenant\n");
		return 2;
	}
	if (!strcmp(argv[1], "list") && argc != 2) {
		fprintf(stderr, "usage: storefleetctl user list\n");
		return 2;
	}
	if (ctl_setup(&a, "user"))
		return 1;
	if (!strcmp(argv[1], "add"))
		rc = user_add(a, argc, argv);
	else if (!strcmp(argv[1], "list"))
		rc = user_list(a);
	else
		rc = user_role(a, argc, argv);
	ctl_teardown(a);
	return rc;
}

int ctl_token(int argc, char **argv)
{
	static const char usage[] = "usage: storefleetctl token create EMAIL [--name N]\n";
	struct err e = ERR_INIT;
	const char *email = NULL, *name = "storefleetctl";
	char token[AUTH_TOKEN_LEN + 1];
	struct auth_user u;
	struct arena *a;
	struct view *d;
	long long id;
	int rc = 1, found;

	if (argc < 2 || strcmp(argv[1], "create"))
		return fputs(usage, stderr), 2;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--name") && i + 1 < argc)
			name = argv[++i];
		else if (!email && argv[i][0] != '-')
			email = argv[i];
		else
			return fputs(usage, stderr), 2;
	}
	if (!email)
		return fputs(usage, stderr), 2;
	if (ctl_setup(&a, "token create"))
		return 1;
	found = auth_user_find(a, email, &u, &e);
	if (found == 0)
		fprintf(stderr, "storefleetctl: token create: no user '%s'\n", email);
	else if (found < 0 || apitoken_create(a, u.id, name, 0, token, &id, NULL, &e) < 0)
		ctl_fail("token create", &e);
	else {
		d = view_obj(a);
		view_set_int(d, "token_id", id);
		view_set_str(d, "name", name);
		view_set_str(d, "via", CTL_ACTOR);
		if (audit_record(a, 0, CTL_ACTOR, NULL, "token.create", u.email, d, &e) < 0)
			ctl_fail("token create", &e);
		else {
			printf("%s\n", token);
			rc = 0;
		}
	}
	ctl_teardown(a);
	return rc;
}
