/* ctl_user.c - storefleetctl user add|list|role|disable|enable|suspend-stores, token create. */
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "apitoken.h"
#include "arena.h"
#include "audit.h"
#include "auth.h"
#include "config.h"
#include "ctl.h"
#include "db.h"
#include "store.h"
#include "view.h"

/* Audit rows written here have no actor id: the operator is identified as this. */
#define CTL_ACTOR "storefleetctl"

/* clang-format off */
static struct db_stmt st_list = DB_STMT(
	"SELECT id, email, role, "
	"to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
	"disabled_at IS NOT NULL FROM users ORDER BY id",
	0);

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

/*
 * user role EMAIL admin|tenant, user disable EMAIL, user enable EMAIL: the
 * web's admin_user_change (same last-admin rule, same audit rows, sessions
 * ended on disable), with the operator as actor.
 */
static int user_change(struct arena *a, const char *what, const char *email, const char *role,
		       int disable)
{
	struct admin_actor who = {0, NULL, NULL};
	struct admin_change c = {.role = role, .disable = disable};
	struct err e = ERR_INIT;
	struct auth_user u;
	int found = auth_user_find(a, email, &u, &e);

	if (found < 0)
		return ctl_fail(what, &e);
	if (!found) {
		fprintf(stderr, "storefleetctl: %s: no user '%s'\n", what, email);
		return 1;
	}
	if (admin_user_change(a, &who, u.id, &c, &e) < 0)
		return ctl_fail(what, &e);
	if (role)
		printf("%s: %s -> %s\n", email, u.is_admin ? "admin" : "tenant", role);
	else
		printf("%s: %s%s\n", email, disable ? "disabled" : "enabled",
		       c.changed ? "" : " (already)");
	return 0;
}

/*
 * user suspend-stores EMAIL: every store of the user suspended as an
 * administrator (store.h: store_suspend_owner), so only an administrator
 * can resume them; audited with the operator as actor.
 */
static int user_suspend_stores(struct arena *a, const char *email)
{
	struct store_who who = {0, CTL_ACTOR, 1, NULL};
	struct err e = ERR_INIT;
	struct auth_user u;
	int n, found = auth_user_find(a, email, &u, &e);

	if (found < 0)
		return ctl_fail("user suspend-stores", &e);
	if (!found) {
		fprintf(stderr, "storefleetctl: user suspend-stores: no user '%s'\n", email);
		return 1;
	}
	if (store_suspend_owner(a, &who, u.id, &n, &e) < 0)
		return ctl_fail("user suspend-stores", &e);
	printf("%s: %d store%s suspended\n", email, n, n == 1 ? "" : "s");
	return 0;
}

static int user_role(struct arena *a, int argc, char **argv)
{
	if (argc != 4 || (strcmp(argv[3], "admin") && strcmp(argv[3], "tenant")))
		return fprintf(stderr, "usage: storefleetctl user role EMAIL admin|tenant\n"), 2;
	return user_change(a, "user role", argv[2], argv[3], -1);
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

	if (argc < 2 || (strcmp(argv[1], "add") && strcmp(argv[1], "list") &&
			 strcmp(argv[1], "role") && strcmp(argv[1], "disable") &&
			 strcmp(argv[1], "enable") && strcmp(argv[1], "suspend-stores"))) {
		fprintf(stderr, "usage: storefleetctl user add EMAIL [--admin] | user list | "
				"user role EMAIL admin|tenant | user disable|enable EMAIL | "
				"user suspend-stores EMAIL\n");
		return 2;
	}
	if (!strcmp(argv[1], "list") && argc != 2) {
		fprintf(stderr, "usage: storefleetctl user list\n");
		return 2;
	}
	if ((!strcmp(argv[1], "disable") || !strcmp(argv[1], "enable") ||
	     !strcmp(argv[1], "suspend-stores")) &&
	    argc != 3) {
		fprintf(stderr, "usage: storefleetctl user %s EMAIL\n", argv[1]);
		return 2;
	}
	if (ctl_setup(&a, "user"))
		return 1;
	if (!strcmp(argv[1], "add"))
		rc = user_add(a, argc, argv);
	else if (!strcmp(argv[1], "list"))
		rc = user_list(a);
	else if (!strcmp(argv[1], "role"))
		rc = user_role(a, argc, argv);
	else if (!strcmp(argv[1], "suspend-stores"))
		rc = user_suspend_stores(a, argv[2]);
	else
		rc = user_change(a, !strcmp(argv[1], "disable") ? "user disable" : "user enable",
				 argv[2], NULL, !strcmp(argv[1], "disable"));
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
