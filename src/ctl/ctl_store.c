/* ctl_store.c - storefleetctl store upgrade|rollback|revisions|suspend|resume|plan|clone|list,
 * through src/web. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "ctl.h"
#include "db.h"
#include "revision.h"
#include "store.h"
#include "store_backup.h"
#include "store_undelete.h"

/*
 * The same requests and rules as the web app (revision.c), as an
 * administrator that is no user: the revision's actor and the audit row say
 * "storefleetctl", actor_id NULL.  Refusals print the same sentence the
 * API answers with and exit 1.
 */

#define CTL_ACTOR "storefleetctl"

static const char usage_text[] =
    "usage: storefleetctl store upgrade ID --version V\n"
    "       storefleetctl store rollback ID --revision N\n"
    "       storefleetctl store revisions ID\n"
    "       storefleetctl store backup ID    (back up now)\n"
    "       storefleetctl store backups ID\n"
    "       storefleetctl store restore ID BACKUP    (in place; b<n> or n)\n"
    "       storefleetctl store clone ID BACKUP NAME    (into a new store)\n"
    "       storefleetctl store suspend|resume ID\n"
    "       storefleetctl store delete ID [--no-final-backup ID]\n"
    "       storefleetctl store undelete ID\n"
    "       storefleetctl store deleted    (the revive window's list)\n"
    "       storefleetctl store plan ID NAME\n"
    "       storefleetctl store domain add|remove ID DOMAIN\n"
    "       storefleetctl store domain list ID\n"
    "       storefleetctl store list [--status S] [--engine E] "
    "[--owner EMAIL]\n";

static int usage(void)
{
	fputs(usage_text, stderr);
	return 2;
}

static int refused(const char *what, const struct err *e)
{
	fprintf(stderr, "storefleetctl: store %s: %s\n", what, e->msg);
	return 1;
}

static const char *or_dash(const struct view *v, const char *key)
{
	const struct view *x = view_get(v, key);

	if (!x || x->type == VIEW_NULL)
		return "-";
	if (x->type == VIEW_INT) {
		static char n[24];

		snprintf(n, sizeof(n), "%lld", x->u.i);
		return n;
	}
	return x->type == VIEW_STR ? x->u.str.s : "?";
}

/*
 * "Back up now" (now = 1: the new backup's number and status), or one line
 * per backup, newest first, tab-separated: id, kind, status, size, finished,
 * reason.
 */
static int backups(struct arena *a, const struct store_who *who, const char *id, int now)
{
	struct err e = ERR_INIT;
	struct view *list, *b;

	if (now) {
		if (store_backup_request(a, who, id, &b, &e) < 0)
			return refused("backup", &e);
		printf("%s: backup #%s requested (%s)\n", id, or_dash(b, "number"),
		       view_get_str(b, "status"));
		return 0;
	}
	if (store_backup_list(a, who, id, &list, &e) < 0)
		return refused("backups", &e);
	for (const struct view_item *it = list->u.list.head; it; it = it->next) {
		const struct view *x = it->val;

		printf("%s\t%s\t%s\t", or_dash(x, "id"), or_dash(x, "kind"), or_dash(x, "status"));
		printf("%s\t", or_dash(x, "size"));
		printf("%s\t", or_dash(x, "finished_at"));
		printf("%s\n", *or_dash(x, "reason") ? or_dash(x, "reason") : "-");
	}
	return 0;
}

/* One line per revision, newest first, tab-separated; the reason a rollback is refused last. */
static int revisions(struct arena *a, const struct store_who *who, const char *id)
{
	struct revision_history h;
	struct err e = ERR_INIT;

	if (revision_history(a, who, id, &h, &e) < 0)
		return refused("revisions", &e);
	printf("# version %s, revision %d%s\n", h.version ? h.version : "?", h.current,
	       h.pending ? " (a request is pending)" : "");
	printf("# revision\tkind\tversion\tresult\tsnapshot\tactor\tcreated\trollback\n");
	for (struct view_item *it = h.revisions->u.list.head; it; it = it->next) {
		const struct view *v = it->val;
		const struct view *can = view_get(v, "can_rollback");

		printf("%s\t", or_dash(v, "revision"));
		printf("%s\t", or_dash(v, "kind"));
		printf("%s\t", or_dash(v, "engine_version"));
		printf("%s\t", or_dash(v, "result"));
		printf("%s\t", or_dash(v, "snapshot_status"));
		printf("%s\t", or_dash(v, "actor"));
		printf("%s\t", or_dash(v, "created_at"));
		printf("%s\n", can && can->u.b ? "yes" : or_dash(v, "rollback_unavailable"));
	}
	return 0;
}

/*
 * Every store (newest first, all pages), one tab-separated line each: id,
 * owner, engine, version, revision, status, name.
 */
static int list(struct arena *a, int argc, char **argv)
{
	struct store_filter f = {0};
	const char *cursor = NULL;
	struct err e = ERR_INIT;

	for (int i = 2; i < argc; i++) {
		const char **to = !strcmp(argv[i], "--status")	 ? &f.status
				  : !strcmp(argv[i], "--engine") ? &f.engine
				  : !strcmp(argv[i], "--owner")	 ? &f.owner
								 : NULL;

		if (!to || i + 1 == argc)
			return usage();
		*to = argv[++i];
	}
	printf("# id\towner\tengine\tversion\trevision\tstatus\tname\n");
	do {
		struct view *stores;

		if (store_list_admin(a, &f, STORE_LIST_MAX, cursor, &stores, &cursor, &e) < 0)
			return refused("list", &e);
		for (struct view_item *it = stores->u.list.head; it; it = it->next) {
			const struct view *v = it->val;

			printf("%s\t", or_dash(v, "id"));
			printf("%s\t", or_dash(v, "owner"));
			printf("%s\t", or_dash(v, "engine"));
			printf("%s\t", or_dash(v, "version"));
			printf("%s\t", or_dash(v, "revision"));
			printf("%s\t", or_dash(v, "status"));
			printf("%s\n", or_dash(v, "name"));
		}
	} while (cursor);
	return 0;
}

int ctl_store(int argc, char **argv)
{
	struct store_who who = {0, CTL_ACTOR, 1, NULL};
	struct arena *a;
	struct revision_req q = {0};
	struct err e = ERR_INIT;
	const char *sub, *id, *opt = NULL;
	int rc;

	if (argc >= 2 && !strcmp(argv[1], "domain"))
		return ctl_store_domain(argc - 1, argv + 1);
	if (argc == 2 && !strcmp(argv[1], "deleted")) {
		struct view *l;

		if (db_connect(&e) < 0)
			return refused("deleted", &e);
		a = arena_new();
		rc = store_deleted_list(a, &who, 1, &l, &e) < 0 ? refused("deleted", &e) : 0;
		/* id, owner, deleted at, revivable until, final backup, or why not */
		for (struct view_item *it = rc ? NULL : l->u.list.head; it; it = it->next)
			printf("%s\t%s\t%s\t%s\t%s\t%s\n", view_get_str(it->val, "id"),
			       view_get_str(it->val, "owner"), or_dash(it->val, "deleted_at"),
			       or_dash(it->val, "revivable_until"), or_dash(it->val, "final_backup"),
			       or_dash(it->val, "why_not"));
		arena_free(a);
		db_close();
		return rc;
	}
	if (argc >= 2 && !strcmp(argv[1], "list")) {
		if (db_connect(&e) < 0)
			return refused("list", &e);
		a = arena_new();
		rc = list(a, argc, argv);
		arena_free(a);
		db_close();
		return rc;
	}
	if (argc < 3)
		return usage();
	sub = argv[1];
	id = argv[2];
	if (!strcmp(sub, "revisions") || !strcmp(sub, "suspend") || !strcmp(sub, "resume") ||
	    !strcmp(sub, "backup") || !strcmp(sub, "backups") || !strcmp(sub, "undelete")) {
		if (argc != 3)
			return usage();
	} else if (!strcmp(sub, "delete")) {
		/* --no-final-backup takes the store's id again: the confirmation */
		if (argc != 3 && (argc != 5 || strcmp(argv[3], "--no-final-backup")))
			return usage();
		opt = argc == 5 ? argv[4] : NULL;
	} else if (!strcmp(sub, "plan") || !strcmp(sub, "restore")) {
		if (argc != 4)
			return usage();
		opt = argv[3];
	} else if (!strcmp(sub, "clone")) {
		if (argc != 5)
			return usage();
		opt = argv[3];
	} else if (!strcmp(sub, "upgrade") || !strcmp(sub, "rollback")) {
		const char *flag = !strcmp(sub, "upgrade") ? "--version" : "--revision";

		if (argc != 5 || strcmp(argv[3], flag))
			return usage();
		opt = argv[4];
	} else {
		return usage();
	}

	if (db_connect(&e) < 0)
		return refused(sub, &e);
	a = arena_new();
	if (!strcmp(sub, "revisions")) {
		rc = revisions(a, &who, id);
	} else if (!strcmp(sub, "backup") || !strcmp(sub, "backups")) {
		rc = backups(a, &who, id, !strcmp(sub, "backup"));
	} else if (!strcmp(sub, "restore")) {
		struct view *x;

		rc = 0;
		if (store_restore_request(a, &who, id, opt, &x, &e) < 0)
			rc = refused("restore", &e);
		else
			printf("%s: restore #%s from %s requested (%s)\n", id, or_dash(x, "number"),
			       view_get_str(x, "backup"), view_get_str(x, "status"));
	} else if (!strcmp(sub, "clone")) {
		/* the new store is the source's owner's, within that tenant's limits */
		struct store_create c = {.name = argv[4]};
		struct view *x;

		rc = store_clone(a, &who, id, opt, &c, &x, &e) < 0 ? refused("clone", &e) : 0;
		if (!rc)
			printf("%s: clone of %s from %s requested (%s; restore #%s)\n",
			       view_get_str(view_get(x, "store"), "id"), id,
			       view_get_str(view_get(x, "restore"), "backup"),
			       view_get_str(view_get(x, "store"), "status"),
			       or_dash(view_get(x, "restore"), "number"));
	} else if (!strcmp(sub, "delete")) {
		struct store_delete_opts o = {opt != NULL, opt};
		struct view *s = store_delete(a, &who, id, &o, &e);

		rc = s ? 0 : refused("delete", &e);
		if (s)
			printf("%s: delete requested (%s, final backup: %s)\n", id,
			       view_get_str(s, "status"), view_get_str(s, "final_backup"));
	} else if (!strcmp(sub, "undelete")) {
		struct view *x;

		rc = store_undelete(a, &who, id, &x, &e) < 0 ? refused("undelete", &e) : 0;
		if (!rc)
			printf("%s: undelete requested (%s; restore #%s from %s)\n", id,
			       view_get_str(view_get(x, "store"), "status"),
			       or_dash(view_get(x, "restore"), "number"),
			       view_get_str(view_get(x, "restore"), "backup"));
	} else if (!strcmp(sub, "suspend") || !strcmp(sub, "resume")) {
		/* as an administrator: only an administrator can resume what this suspends */
		struct view *s = (*sub == 's' ? store_suspend : store_resume)(a, &who, id, &e);

		rc = s ? 0 : refused(sub, &e);
		if (s)
			printf("%s: %s requested (%s)\n", id, sub, view_get_str(s, "status"));
	} else if (!strcmp(sub, "plan")) {
		rc = store_plan_change(a, &who, id, opt, &e) ? 0 : refused("plan", &e);
		if (!rc)
			printf("%s: change to plan %s requested\n", id, opt);
	} else if (!strcmp(sub, "upgrade")) {
		q.version = opt;
		rc = revision_upgrade(a, &who, id, &q, &e) < 0 ? refused("upgrade", &e) : 0;
		if (!rc)
			printf("%s: upgrade to %s requested (revision %d)\n", id, opt, q.created);
	} else {
		if (!*opt || strspn(opt, "0123456789") != strlen(opt) || strlen(opt) > 9 ||
		    atoi(opt) < 1) {
			fprintf(stderr, "storefleetctl: store rollback: --revision takes a "
					"revision number\n");
			rc = 2;
		} else {
			q.revision = atoi(opt);
			rc = revision_rollback(a, &who, id, &q, &e) < 0 ? refused("rollback", &e)
									: 0;
			if (!rc)
				printf("%s: rollback to revision %s requested (revision %d)\n", id,
				       opt, q.created);
		}
	}
	arena_free(a); /* PQclear before the connection goes */
	db_close();
	return rc;
}
