/* store.h - stores for the web: ids, input rules, one view loader, create, retry, delete. */
#ifndef SF_STORE_H
#define SF_STORE_H

#include <stddef.h>

#include <libpq-fe.h>

#include "arena.h"
#include "err.h"
#include "lifecycle.h"
#include "view.h"

/*
 * The web app only records desired state in PostgreSQL (sql/002_stores.sql);
 * storefleet-reconcile does the Kubernetes work.  Every function that names
 * a store takes the asking user (struct store_who) and loads the row with
 * the ownership condition in the same statement (owner_id = user OR the user
 * is an admin), so another tenant's store is indistinguishable from a
 * missing one: both are 404 with the same message.
 *
 * Errors are HTTP statuses in e->status; where the API needs a machine code
 * other than the status's default (429 quota_exceeded / rate_limited) it is
 * returned through an OUT code pointer.
 */

#define STORE_NAME_MAX	   64 /* characters (code points), not bytes */
#define STORE_LIST_MAX	   100
#define STORE_LIST_DEFAULT 20
#define STORE_EVENTS_MAX   200

/* What every "no such store" answer says (never the id: missing and foreign look alike). */
#define STORE_NOT_FOUND "There is no such store."

/* Who is asking: the signed-in user and where from (for audit rows). */
struct store_who {
	long long id;
	const char *email;
	int is_admin;
	const char *ip; /* may be NULL */
};

/*
 * Input rules.  0 when fine, else -1 with e = 422 and a message for a
 * person: name 1-64 characters of valid UTF-8 without control characters
 * and not only spaces; engine "woocommerce" or "medusa".  NULL = missing.
 */
int store_check_name(const char *name, struct err *e);
int store_check_engine(const char *engine, struct err *e);

/*
 * A create.  IN: name, engine (checked here again), idem_key (the
 * Idempotency-Key header, NULL for none; 1-255 characters).  OUT: on
 * success *store is the new (or, for a replayed key, the earlier) store's
 * view and replayed says which; on 429 code is "quota_exceeded" or
 * "rate_limited" and retry_after the seconds to wait (0: not applicable);
 * on 422 field names the bad input ("name", "engine", "plan", "region",
 * "Idempotency-Key"): an unknown plan lists the plans, and a tenant with
 * the plan's stores_per_tenant stores on it already is refused.  Last,
 * admission places the store on a cluster (admission.h) or refuses it with
 * 422 or 503 and refused set; a refusal is audited (store.create.refused)
 * and counted in /metrics after the transaction is rolled back.
 *
 * In one transaction: the tenant's users row is locked FOR UPDATE and a
 * global advisory lock taken, then the idempotency key, the per-tenant
 * limit (non-deleted stores), the platform cap, the hourly rate and the
 * cooldown are checked against committed rows, and the store row, its
 * first event, the audit row and the key row are inserted.  So the limits
 * hold across any number of worker processes.
 */
struct store_create {
	const char *name, *engine, *idem_key;
	const char *plan; /* NULL or "" = the default plan; OUT: the plan's name */
	const char *region;  /* NULL or "" = any (admission.h); OUT: the cluster chosen */
	const char *cluster; /* OUT: where the store was placed */
	const char *refused; /* OUT: admission's reason (capacity, storage_class, region) */
	int plan_limit;	  /* internal: the plan's stores_per_tenant */
	/*
	 * Optional: run in create's transaction once the store row, its event
	 * and audit row are in (id: the new store's); -1 with e rolls the
	 * create back.  It may run more than once (db_tx retries).  A clone
	 * from backup records its restore here (store_backup.c).
	 */
	int (*then)(struct arena *a, const char *id, void *ctx, struct err *e);
	void *then_ctx;
	struct view *store;
	int replayed;
	const char *code;
	int retry_after;
	const char *field;
};

int store_create(struct arena *a, const struct store_who *who, struct store_create *c,
		 struct err *e);

/*
 * The plan fields of a store view (plan.h): plan (the plan applied; ""
 * in the row = the default), plan_title, plan_storage,
 * backup_retention_days, and plan_pending (the plan asked for while a
 * change is being applied, else null).  Added to v (which must not have
 * them yet), borrowing plan and applied.
 */
void store_plan_view(struct arena *a, struct view *v, const char *plan, const char *applied);

/*
 * 0 when owner has fewer than limit stores (not deleted) on plan (the
 * default plan counting the rows that say ''); else -1 with e = 422 "You
 * have N stores on plan P...".  In the caller's transaction, after the
 * tenant's row is locked.
 */
int store_plan_room(struct arena *a, long long owner, const char *plan, int limit, struct err *e);

/*
 * Change a store's plan (docs/stores.md "Plans"): the row's plan is set,
 * reconcile applies it (sql/013_plans.sql).  Refused with 422 for an
 * unknown plan (the message lists them), the plan the store is on, a plan
 * with less storage ("storage cannot shrink: ..."), or the owner's
 * per-plan limit; 409 when the store is not ready or a change is still
 * being applied; 404 for a store who cannot see.  One transaction with an
 * event and an audit row (store.plan_change {from, to}).  OUT: the view.
 */
struct view *store_plan_change(struct arena *a, const struct store_who *who, const char *id,
			       const char *plan, struct err *e);

/*
 * What a handler needs beyond the public view, filled by store_get.
 * Strings live in the arena.
 */
struct store_meta {
	const char *id;
	long long owner_id;
	const char *owner_email;
	const char *status;
	const char *step;
	const char *engine;
	const char *admin_user; /* "" until reconcile stored the credentials */
	int has_secret;
	const char *suspended_by; /* STORE_SUSPENDED_BY_* while suspending/suspended, else NULL */
};

/*
 * Load one store visible to who.  OUT: the public view {id, name, engine,
 * status, status_reason, url, admin_url, created_at, updated_at, ready_at,
 * orders_seen, last_webhook_at}
 * and, if meta is not NULL, *meta.  NULL with e = 404 STORE_NOT_FOUND
 * when it does not exist or belongs to someone else (non-admin), 503 when
 * the database is down.
 */
struct view *store_get(struct arena *a, const struct store_who *who, const char *id,
		       struct store_meta *meta, struct err *e);

/*
 * A page of the asker's own stores, newest first.  status NULL = every
 * status except deleted.  cursor NULL = from the start; else the opaque
 * value of an earlier next_cursor.  OUT: *stores an array view,
 * *next_cursor an arena string or NULL at the end.  0, or -1 with e (422
 * for a bad status or cursor, the message naming which).
 */
int store_list(struct arena *a, const struct store_who *who, const char *status, int limit,
	       const char *cursor, struct view **stores, const char **next_cursor, struct err *e);

/*
 * The administrators' list of every tenant's stores, the only list across
 * tenants (the caller checks the role).  IN: status (NULL = every status
 * but deleted), engine, owner (an email, matched case-insensitively; NULL
 * = anyone), oldest (1 = oldest first, else newest first); limit
 * 1..STORE_LIST_MAX; cursor as in store_list (a cursor keeps its place
 * whichever way the list is sorted).  OUT: *stores (each view with
 * "owner"), *next_cursor; on 422 f->field names the bad argument
 * ("status", "engine", "owner", "cursor").
 */
struct store_filter {
	const char *status, *engine, *owner;
	int oldest;
	const char *field;
};

int store_list_admin(struct arena *a, struct store_filter *f, int limit, const char *cursor,
		     struct view **stores, const char **next_cursor, struct err *e);

/*
 * Keyset cursors, opaque to clients: base64url("<micros>.<tail>"), micros
 * a whole number of microseconds (or any decimal key up to 18 digits), tail
 * the tie-breaker.  encode returns an arena string; decode gives arena
 * strings, or -1 with e = 422 when the cursor is not one this API gave out
 * (the caller still checks that tail has the shape it expects).
 */
const char *store_cursor_encode(struct arena *a, const char *micros, const char *tail);
int store_cursor_decode(struct arena *a, const char *cursor, const char **micros, const char **tail,
			struct err *e);

/*
 * store_list for the owner of an API token, in one round trip: the token
 * lookup (APITOKEN_LOOKUP_SQL) and the page in one statement.  Returns 1
 * with *su filled (as apitoken_lookup would) and the page; 0 when the token
 * is not live (the caller answers 401); -1 with e (422 bad arguments,
 * checked before any query; 503).
 */
struct session_user;
int store_list_token(struct arena *a, const char *token, const char *status, int limit,
		     const char *cursor, struct session_user *su, struct view **stores,
		     const char **next_cursor, struct err *e);

/*
 * The same for the owner of a session cookie (SESSION_LOOKUP_SQL; idle: the
 * idle limit in seconds): the newest `limit` stores, first page, each as the
 * page's list shows it (id, name, engine, status, status_reason, url,
 * created_at; not the full view).  1 with *su filled as session_lookup
 * would, 0 no live session, -1 with e.
 */
int store_list_session(struct arena *a, const char *token, int idle, int limit,
		       struct session_user *su, struct view **stores, struct err *e);

/*
 * Retry a failed store: status requested, attempts 0, next attempt now,
 * reason cleared, an event and an audit row - one transaction.  OUT: the
 * store's view.  Errors: 404 (not visible), 409 (not failed).
 */
struct view *store_retry(struct arena *a, const struct store_who *who, const char *id,
			 struct err *e);

/*
 * Ask for a delete: desired absent, status deleting, delete_requested_at,
 * an event and an audit row (store.delete; details final_backup, and
 * as_admin + owner when an admin deletes someone else's store) - one
 * transaction.  A ready or degraded store gets a final backup first
 * (final_backup 'wanted': reconcile keeps the namespace until it is
 * complete; sql/024_undelete.sql) when backups are configured, unless
 * o->no_final_backup, which needs o->confirm equal to the store's id (else
 * 422): 'skipped'.  Otherwise 'none'.  Asking again while deleting/deleted
 * changes nothing and records store.delete_repeat - except after the final
 * backup failed: a new one is asked for (or none, confirmed), audit
 * store.delete_again.  o NULL: with a final backup.  OUT: the store's view
 * plus final_backup (wanted | skipped | none); 404 when not visible.
 */
struct store_delete_opts {
	int no_final_backup;
	const char *confirm; /* the store's id, when no_final_backup */
};
struct view *store_delete(struct arena *a, const struct store_who *who, const char *id,
			  const struct store_delete_opts *o, struct err *e);

/*
 * Suspend and resume (docs/stores.md "Suspend and resume"; sql/012_suspend.sql).
 *
 * store_suspend: a ready, degraded or resuming store becomes suspending
 * (reconcile scales it to zero and shows the paused page), suspended_by
 * "admin" when an administrator asks about someone else's store (or
 * storefleetctl: who->id 0), else "owner"; an event and the audit row
 * store.suspend (details: as_admin, owner, by).  An administrator asking
 * about a store its owner suspended takes the suspension over (by becomes
 * "admin"; audited store.suspend too).  Errors: 404 not visible, 409 in any
 * other status (the message says why), 409 already suspended.
 *
 * store_resume: a suspending or suspended store becomes resuming (the
 * replicas come back, then readiness as for provisioning), the time it was
 * suspended added to suspended_seconds; an event and store.resume.
 * Errors: 404, 403 when the owner asks about a store an administrator
 * suspended, 409 when it is not suspended.
 *
 * OUT: the store's view (as after store_get).
 */
struct view *store_suspend(struct arena *a, const struct store_who *who, const char *id,
			   struct err *e);
struct view *store_resume(struct arena *a, const struct store_who *who, const char *id,
			  struct err *e);

/*
 * An administrator suspends every store of user user_id that can be
 * suspended (ready, degraded, resuming; an owner's suspension is taken
 * over), one transaction, each store with its event and its store.suspend
 * audit row, plus one user.suspend_stores row (details: count, stores).
 * OUT: *n how many changed.  Errors: 403 when who is not an administrator,
 * 404 no such user.
 */
int store_suspend_owner(struct arena *a, const struct store_who *who, long long user_id, int *n,
			struct err *e);

/*
 * The public paused page of the store whose host is host
 * ("store-<id>.<domain>", any case, an optional :port, where domain is the
 * store's cluster's store domain, or config.domain for a cluster without
 * one): OUT the store's name and id, for a store that is suspending or
 * suspended (nothing else about it).  0 found, -1 with e 404 otherwise (the
 * same for a store that is not paused, one that does not exist, and a host
 * under another cluster's domain).
 */
/*
 * 1 when host is a store host the paused page answers for: under
 * config.domain, or under the store domain of a registered cluster (the
 * list read from the database at most every 10 s per process, so the
 * requests to the platform's own host cost nothing).  route.c asks before
 * its table.  A database that cannot be read counts as "not a cluster's
 * domain" (logged): the request then goes to the route table.
 */
int store_host_routed(struct arena *a, const char *host);

int store_paused_by_host(struct arena *a, const char *host, const char **name, const char **id,
			 struct err *e);

/*
 * The activity log of a visible store (check with store_get first):
 * [{at, step, message, level}], the newest limit rows with ids below before
 * (0 = from the newest), listed oldest first (the API) or newest first (the
 * page).  OUT: *events; *next_before the id to pass for the older page, or
 * 0 when there is none.  0 or -1.
 */
int store_events(struct arena *a, const char *id, long long before, int limit, int newest_first,
		 struct view **events, long long *next_before, struct err *e);

/*
 * The provisioning steps of a store for its page: [{name, label, at, done,
 * current, failed}] in the order reconcile runs them, each with the first
 * time an event named it.  0 or -1.
 */
int store_steps(struct arena *a, const struct store_meta *m, struct view **steps, struct err *e);

/*
 * The store's admin credentials for its owner only (admins included: the
 * check is owner_id = who->id), opened with config.secret_key.  OUT: *user,
 * *password (arena strings).  Records store.credentials_reveal (never the
 * secret).  Errors: 404 not visible, 403 not the owner, 409 not available
 * yet, 503 secret key missing or the sealed value does not open.
 */
int store_reveal(struct arena *a, const struct store_who *who, const char *id, const char **user,
		 const char **password, struct err *e);

#endif
