/* reconcile_upgrade.c - upgrades and rollbacks of a running store: snapshot, apply, verify, roll
 * back with a restore. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "audit.h"
#include "blueprint.h"
#include "buf.h"
#include "config.h"
#include "db.h"
#include "lease.h"
#include "lifecycle.h"
#include "log.h"
#include "mail.h"
#include "reconcile_backup.h"
#include "reconcile_int.h"
#include "view.h"

/*
 * The web side (or storefleetctl) asks for an upgrade or a rollback by
 * inserting a 'pending' revision P and setting stores.pending_revision = P,
 * status 'upgrading' (sql/003_revisions.sql).  This file carries it out,
 * one phase per claim, every result a fenced write (lease token + status)
 * of the store row, the revision row and the events in one transaction:
 *
 *   upgrade P:   pending -> snapshotting -> applying -> verifying -> ready
 *                               |              |            |
 *                               |              +------------+--> rolled_back
 *                               v                                 (rollback R
 *                            failed: the store was never touched,  below, made
 *                            back to ready on its old version      by reconcile)
 *
 *   rollback R:  pending -> applying -> verifying -> ready
 *                                          |  (restore R's snapshot once the
 *                                          |   database is ready, before the
 *                                          |   app counts as ready)
 *                                          +--> failed: store failed (no loop)
 *
 * snapshotting: the snapshot volume and Job snapshot-r<P> (charts/<engine>/
 *   manifests/70-snapshot.yaml, rendered with snapshot.take = r<P>) dump the
 *   database into /snapshots/r<P>.*; revision.snapshot = r<P>.  With a
 *   backup target configured there is no volume: the snapshot is backup
 *   b<n> of kind pre-upgrade (reconcile_backup.c starts, follows and
 *   verifies it like any other), requested in the commit that sets
 *   revision.snapshot = b<n>.  A failed or overdue snapshot stops the
 *   upgrade before anything else is applied.
 * applying: the set rendered with the revision's engine version is applied
 *   with SSA.  A Job's pod template is immutable, so a Job of the set whose
 *   revision annotation differs (the setup Job) is deleted first
 *   (Background) and recreated once it is gone.
 * verifying: readiness.c's rules over the full set plus the HTTP probe,
 *   within upgrade_timeout of applied_at.  An upgrade that fails (a pod past
 *   the failure grace) or times out rolls back automatically: revision
 *   R = P+1 (kind rollback, actor storefleet, source = the live revision,
 *   restore_snapshot = P's snapshot) re-applies the previous version and
 *   restores the snapshot with Job restore-r<R> (a backup b<n>: the restore
 *   Job of 75-backup.yaml, restore-backup-rev<R>, which checks the sizes
 *   and SHA-256 first); an audit row records it.
 *
 * stores.engine_version and current_revision change only when a revision
 * becomes ready, so a store that is not upgrading always runs them.  Every
 * Kubernetes step is idempotent (SSA; Jobs named by revision; DELETE 404 =
 * gone) and every phase lives in the revision row, so a kill -9 at any
 * point resumes where the last committed write left off.
 */

#define UPGRADE_POLL 1.0 /* seconds between looks while a Job or rollout runs */

/* The store's pending revision and what it needs of the live one. */
struct up {
	struct reconcile *r;
	struct store *s;
	struct lease *l;
	struct engine_bp *eb;
	int pending, current, source;
	const char *kind, *version, *restore_snapshot, *snapshot, *snapshot_status, *result;
	const char *reason, *restore_status;
	long long applied_at, created_at; /* unix s, 0 = not yet */
	const char *prev_version;	  /* the live revision's (what a rollback goes back to) */
	const char *prev_values;	  /* its values (JSON text) */
	int attempts;
};

/* One fenced write: the store row, the pending revision, events. */
struct up_write {
	/* stores (LEASE_KEEP_STATUS / NULL / -1 = keep) */
	enum store_status status;
	const char *reason, *engine_version, *blueprint_revision;
	int pending;  /* -1 keep, 0 = NULL, else the revision */
	int current;  /* -1 keep */
	int attempts; /* new count */
	double delay;
	/* the pending revision (NULL = keep); results are store_revisions.result's own words */
	const char *result, *rev_reason, *snapshot, *snapshot_status, *restore_status;
	const char *rev_blueprint;
	int applied, finished;
	/* events: step, level, message */
	const char *ev_step[4], *ev_level[4], *ev_msg[4];
	int nev;
	/* automatic rollback: insert revision `rollback` first (0 = none) */
	int rollback;
	const char *rollback_reason;
	/* the upgrade's backup requested in the same commit; the revision's snapshot names it */
	int backup;
};

static void event(struct up_write *w, const char *step, const char *level, const char *msg)
{
	if (w->nev >= (int)(sizeof(w->ev_msg) / sizeof(w->ev_msg[0])))
		BUG("too many upgrade events in one write");
	w->ev_step[w->nev] = step;
	w->ev_level[w->nev] = level;
	w->ev_msg[w->nev] = msg;
	w->nev++;
}

static const char *chart_version(const struct engine_bp *eb)
{
	const char *v =
	    eb && eb->bp ? json_string_value(json_object_get(blueprint_values(eb->bp), "version"))
			 : NULL;

	return v ? v : "";
}

/* ---- loading the revision --------------------------------------------------- */

static struct db_stmt st_load =
    DB_STMT("SELECT s.pending_revision, s.current_revision, p.kind,"
	    " coalesce(nullif(p.engine_version, ''), k.engine_version, ''),"
	    " coalesce(p.source_revision, 0), coalesce(p.restore_snapshot, ''), p.snapshot,"
	    " p.snapshot_status, p.result, p.reason, p.restore_status,"
	    " coalesce(extract(epoch FROM p.applied_at), 0)::bigint,"
	    " extract(epoch FROM p.created_at)::bigint, c.engine_version, coalesce(c.\"values\","
	    " '{}')::text, s.attempts"
	    " FROM stores s JOIN store_revisions p ON p.store_id = s.id AND p.revision = "
	    "s.pending_revision"
	    " LEFT JOIN store_revisions c ON c.store_id = s.id AND c.revision = s.current_revision"
	    " LEFT JOIN store_revisions k ON k.store_id = s.id AND k.revision = p.source_revision"
	    " WHERE s.id = $1 AND s.lease_token = $2::uuid AND s.status = 'upgrading'",
	    2);

static int load(struct up *u, struct err *e)
{
	const char *p[] = {u->l->id, u->l->token};
	PGresult *res = db_run(u->r->a, &st_load, p, e);

	if (!res)
		return -1;
	if (db_rows(res) != 1)
		return err_set(e, 409, "store %s: no pending revision to carry out", u->l->id);
	u->pending = (int)db_get_ll(res, 0, 0);
	u->current = (int)db_get_ll(res, 0, 1);
	u->kind = db_get(res, 0, 2);
	u->version = db_get(res, 0, 3);
	u->source = (int)db_get_ll(res, 0, 4);
	u->restore_snapshot = db_get(res, 0, 5);
	u->snapshot = db_get(res, 0, 6);
	u->snapshot_status = db_get(res, 0, 7);
	u->result = db_get(res, 0, 8);
	u->reason = db_get(res, 0, 9);
	u->restore_status = db_get(res, 0, 10);
	u->applied_at = db_get_ll(res, 0, 11);
	u->created_at = db_get_ll(res, 0, 12);
	u->prev_version = db_get(res, 0, 13);
	u->prev_values = db_get(res, 0, 14);
	u->attempts = (int)db_get_ll(res, 0, 15);
	/* a store made before revisions existed: its live version is the row's */
	if (!u->prev_version || !*u->prev_version)
		u->prev_version = *u->s->version ? u->s->version : chart_version(u->eb);
	return 0;
}

/* ---- the fenced write -------------------------------------------------------- */

static struct db_stmt st_store =
    DB_STMT("UPDATE stores SET status = coalesce($4, status),"
	    " status_reason = coalesce($5, status_reason),"
	    " pending_revision = CASE WHEN $6::int < 0 THEN pending_revision"
	    "   WHEN $6::int = 0 THEN NULL ELSE $6::int END,"
	    " current_revision = CASE WHEN $7::int < 0 THEN current_revision ELSE $7::int END,"
	    " engine_version = coalesce($8, engine_version),"
	    " blueprint_revision = coalesce($9, blueprint_revision),"
	    " attempts = $10::int,"
	    " next_attempt_at = now() + make_interval(secs => $11::double precision),"
	    " updated_at = CASE WHEN coalesce($4, status) <> status"
	    "   OR coalesce($5, status_reason) <> status_reason THEN now() ELSE updated_at END,"
	    " lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL"
	    " WHERE id = $1 AND lease_token = $2::uuid AND lease_expires_at > now() AND status = $3"
	    " RETURNING id",
	    11);

static struct db_stmt st_revision =
    DB_STMT("UPDATE store_revisions SET result = coalesce($3, result),"
	    " reason = coalesce($4, reason), snapshot = coalesce($5, snapshot),"
	    " snapshot_status = coalesce($6, snapshot_status),"
	    " restore_status = coalesce($7, restore_status),"
	    " blueprint_revision = coalesce($8, blueprint_revision),"
	    " applied_at = CASE WHEN $9::bool THEN now() ELSE applied_at END,"
	    " finished_at = CASE WHEN $10::bool THEN now() ELSE finished_at END"
	    " WHERE store_id = $1 AND revision = $2::int",
	    10);

static struct db_stmt st_event =
    DB_STMT("INSERT INTO store_events (store_id, step, level, message) VALUES ($1, $2, $3, $4)", 4);

/*
 * The automatic rollback's revision: the live revision's version and values
 * again, restoring the snapshot taken before P (when it completed).
 */
static struct db_stmt st_rollback =
    DB_STMT("INSERT INTO store_revisions (store_id, revision, kind, engine_version, \"values\","
	    " actor_id, actor, source_revision, restore_snapshot, reason)"
	    " SELECT $1, coalesce(max(revision), 0) + 1, 'rollback', $2, $3::jsonb, NULL,"
	    " 'storefleet', $4::int, nullif($5, ''), $6 FROM store_revisions WHERE store_id = $1"
	    " RETURNING revision",
	    6);

/* The store's reason while the upgrade's backup name runs. */
static const char *backup_reason(const struct up *u, const char *name)
{
	return arena_printf(u->r->a, "taking backup %s before the upgrade to %s", name, u->version);
}

static int write_tx(struct up *u, const struct up_write *w, int *rollback_rev, struct err *e)
{
	struct arena *a = u->r->a;
	char pending[16], current[16], attempts[16], delay[32], rev[16], src[16];
	const char *ps[11], *pr[10], *pe[4];
	const char *snapshot = w->snapshot;
	int pend = w->pending;
	PGresult *res;

	if (db_begin(e) < 0)
		return -1;
	if (w->backup) {
		int rc = reconcile_backup_for_upgrade(a, u->l->id, &snapshot, e);

		if (rc < 0)
			goto fail;
		if (rc == 0) {
			err_set(e, 409, "another backup of the store started meanwhile");
			goto fail;
		}
	}
	if (w->rollback) {
		const char *pb[] = {u->l->id,
				    u->prev_version,
				    u->prev_values,
				    src,
				    !strcmp(u->snapshot_status, "complete") ? u->snapshot : "",
				    w->rollback_reason};

		snprintf(src, sizeof(src), "%d", u->current);
		res = db_run(a, &st_rollback, pb, e);
		if (!res)
			goto fail;
		*rollback_rev = (int)db_get_ll(res, 0, 0);
		pend = *rollback_rev;
	}
	snprintf(pending, sizeof(pending), "%d", pend);
	snprintf(current, sizeof(current), "%d", w->current);
	snprintf(attempts, sizeof(attempts), "%d", w->attempts);
	snprintf(delay, sizeof(delay), "%.3f", w->delay);
	ps[0] = u->l->id;
	ps[1] = u->l->token;
	ps[2] = store_status_name(u->l->status);
	ps[3] = w->status != LEASE_KEEP_STATUS ? store_status_name(w->status) : NULL;
	ps[4] = w->backup ? backup_reason(u, snapshot) : w->reason;
	ps[5] = pending;
	ps[6] = current;
	ps[7] = w->engine_version;
	ps[8] = w->blueprint_revision;
	ps[9] = attempts;
	ps[10] = delay;
	res = db_run(a, &st_store, ps, e);
	if (!res)
		goto fail;
	if (db_rows(res) != 1) {
		db_rollback();
		return 0;
	}
	if (w->result || w->rev_reason || snapshot || w->snapshot_status || w->restore_status ||
	    w->rev_blueprint || w->applied || w->finished) {
		snprintf(rev, sizeof(rev), "%d", u->pending);
		pr[0] = u->l->id;
		pr[1] = rev;
		pr[2] = w->result;
		pr[3] = w->rev_reason;
		pr[4] = snapshot;
		pr[5] = w->snapshot_status;
		pr[6] = w->restore_status;
		pr[7] = w->rev_blueprint;
		pr[8] = w->applied ? "true" : "false";
		pr[9] = w->finished ? "true" : "false";
		if (!db_run(a, &st_revision, pr, e))
			goto fail;
	}
	if (w->backup) {
		pe[0] = u->l->id;
		pe[1] = "upgrade";
		pe[2] = "info";
		pe[3] = arena_printf(a, "backup %s requested before the upgrade (job backup-%s)",
				     snapshot, snapshot);
		if (!db_run(a, &st_event, pe, e))
			goto fail;
	}
	for (int i = 0; i < w->nev; i++) {
		pe[0] = u->l->id;
		pe[1] = w->ev_step[i];
		pe[2] = w->ev_level[i];
		pe[3] = w->ev_msg[i];
		if (!db_run(a, &st_event, pe, e))
			goto fail;
	}
	if (w->rollback) {
		struct view *d = view_obj(a);

		/* the keys of the web side's store.rollback (docs/stores.md), plus why */
		view_set_int(d, "revision", *rollback_rev);
		view_set_int(d, "to_revision", u->current);
		view_set_str(d, "version", u->prev_version);
		view_set_str(d, "restore_snapshot",
			     !strcmp(u->snapshot_status, "complete") ? u->snapshot : "");
		view_set_int(d, "failed_revision", u->pending);
		view_set_str(d, "failed_version", u->version);
		view_set_str(d, "reason", w->rollback_reason);
		if (audit_record(a, 0, "storefleet", NULL, "store.rollback", u->l->id, d, e) < 0)
			goto fail;
		/* The owner hears of it in the same commit (unless they turned it off). */
		if (mail_notify_owner(a, u->l->id, "upgrade_rolled_back",
				      arena_printf(a, "the upgrade to %s failed: %s; rolling back to %s",
						   u->version, w->rollback_reason, u->prev_version),
				      e) < 0)
			goto fail;
	}
	if (w->status == STORE_FAILED && u->l->status != STORE_FAILED &&
	    mail_notify_owner(a, u->l->id, "store_failed", w->reason, e) < 0)
		goto fail;
	if (db_commit(e) < 0)
		goto fail;
	return 1;
fail:
	db_rollback();
	return -1;
}

/* Write w (releasing the lease); 1 written, 0 lease lost, -1 database error (logged). */
static int save(struct up *u, const struct up_write *w)
{
	struct err e = ERR_INIT;
	int rollback_rev = 0, rc = write_tx(u, w, &rollback_rev, &e);

	if (rc < 0) {
		log_error("reconcile: store %s: cannot save the upgrade: %s", u->l->id, e.msg);
		err_clear(&e);
		lease_release(u->r->a, u->l, &e);
	} else if (rc == 0) {
		log_warn("reconcile: store %s: lease lost (expired, or its status changed); "
			 "leaving it",
			 u->l->id);
		lease_release(u->r->a, u->l, &e);
	} else {
		if (w->status != LEASE_KEEP_STATUS && w->status != u->l->status)
			u->r->transitions++;
		if (w->nev)
			u->r->transitions++;
		if (rollback_rev)
			log_info("reconcile: store %s: revision %d rolls back to %s: %s", u->l->id,
				 rollback_rev, u->prev_version, w->rollback_reason);
	}
	u->l->token = NULL;
	return rc;
}

/* A write that only changes the store's reason and when to look again. */
static void wait_for(struct up *u, const char *reason, double delay)
{
	struct up_write w = {.pending = -1, .current = -1, .attempts = 0, .delay = delay};

	w.reason = reason;
	if (!strcmp(reason, u->l->reason) && !u->attempts) {
		/* nothing new to say: keep the row as it is, but come back soon */
		w.reason = NULL;
	}
	save(u, &w);
}

/*
 * A Kubernetes call failed.  Transient: retry this phase after a capped,
 * jittered backoff.  Returns 1 when it was transient (handled), 0 when the
 * caller must treat it as a hard failure of the phase.
 */
static int k8s_transient(struct up *u, const char *what, const struct k8s_err *ke)
{
	struct up_write w = {.pending = -1, .current = -1};
	char reason[512];
	const char *msg = *ke->st.message ? ke->st.message : ke->err.msg;

	if (ke->klass == K8S_HARD || ke->klass == K8S_OK)
		return 0;
	snprintf(reason, sizeof(reason),
		 "kubernetes API unavailable while trying to %s, retrying: %.350s", what, msg);
	w.reason = reason;
	w.attempts = u->attempts + 1;
	w.delay = ke->klass == K8S_WAIT && ke->st.retry_after > 0
		      ? ke->st.retry_after
		      : (double)k8s_backoff(u->attempts) / 1000.0;
	log_warn("reconcile: store %s: %s (retry in %.1f s)", u->l->id, reason, w.delay);
	save(u, &w);
	return 1;
}

/* ---- rendering ------------------------------------------------------------------ */

/*
 * The store's set at version, with extra per-store values (NULL = the
 * normal set).  OUT: an arena array; NULL with why filled (and *ke when the
 * credentials could not be read: ke->klass says whether to retry).
 */
static json_t *render(struct up *u, const char *version, const json_t *values, struct k8s_err *ke,
		      char *why, size_t n)
{
	struct err e = ERR_INIT;
	json_t *creds = NULL, *set;
	int generated = 0;

	memset(ke, 0, sizeof(*ke));
	if (reconcile_credentials(u->r, u->s, u->eb, 0, &creds, &generated, ke) < 0) {
		snprintf(why, n, "cannot read the store's credentials: %.300s",
			 ke->st.code == 404 ? "the credentials Secret is gone"
			 : *ke->st.message  ? ke->st.message
					    : ke->err.msg);
		return NULL;
	}
	{
		/* on the plan applied, with the snapshot's values over it */
		struct blueprint_store bs = {
		    .id = u->s->id,
		    .name = u->s->name,
		    .owner_email = u->s->email,
		    .version = version,
		    .secrets = creds,
		    .values = reconcile_values(u->r, u->s, NULL, values, why, n)};

		if (!bs.values) {
			ke->klass = K8S_HARD;
			return NULL;
		}
		set = arena_json(u->r->a, blueprint_render(u->eb->bp, &bs, &e));
	}
	if (!set) {
		ke->klass = K8S_HARD;
		snprintf(why, n, "the %s blueprint cannot be rendered at %s: %.300s", u->s->engine,
			 version, e.msg);
	}
	return set;
}

/* The quota, limits and snapshot/restore objects (component backup) of a set, in order: an arena array. */
static json_t *backup_objects(struct arena *a, const json_t *set)
{
	json_t *out = arena_json(a, json_array()), *o;
	size_t i;

	/*
	 * The namespace's quota and limits first: a store made under an older
	 * chart keeps the quota it was made with (a ready store is not
	 * re-applied), and its snapshot claim may not fit that one.
	 */
	json_array_foreach(set, i, o) {
		const char *kind = jstr(o, "kind");

		if (!strcmp(kind, "ResourceQuota") || !strcmp(kind, "LimitRange"))
			json_array_append(out, o);
	}
	json_array_foreach(set, i, o) {
		const json_t *labels = json_object_get(json_object_get(o, "metadata"), "labels");

		if (!strcmp(jstr(labels, "app.kubernetes.io/component"), "backup"))
			json_array_append(out, o);
	}
	return out;
}

/* Apply the snapshot volume + one Job (take = snapshot, or restore/tag). 0, or -1 with ke/why. */
static int apply_backup(struct up *u, const char *version, const char *take, const char *restore,
			const char *tag, struct k8s_err *ke, char *why, size_t n)
{
	json_t *values =
	    arena_json(u->r->a, json_pack("{s:{s:b, s:s, s:s, s:s}}", "snapshot", "volume", 1,
					  "take", take, "restore", restore, "restore_tag", tag));
	json_t *set = render(u, version, values, ke, why, n);
	int rc;

	if (!set)
		return -1;
	rc = k8s_apply_all(u->r->k, backup_objects(u->r->a, set), NULL, NULL, NULL, ke);
	if (rc < 0)
		snprintf(why, n, "%.400s", *ke->st.message ? ke->st.message : ke->err.msg);
	return rc;
}

/* ---- Jobs ----------------------------------------------------------------------- */

/* GET the store's Job name: *job (arena) or NULL for 404.  0, or -1 with ke. */
static int get_job(struct up *u, const char *name, json_t **job, struct k8s_err *ke)
{
	struct buf path = BUF_INIT;
	char ns[64];
	int rc = 0;

	*job = NULL;
	snprintf(ns, sizeof(ns), "store-%s", u->s->id);
	if (k8s_path(&path, "batch/v1", "Job", ns, name, &ke->err) < 0)
		BUG("job path: %s", ke->err.msg);
	*job = arena_json(u->r->a, k8s_get(u->r->k, path.s, ke));
	if (!*job && ke->st.code != 404)
		rc = -1;
	buf_release(&path);
	return rc;
}

/* "complete", "failed" (why says why) or "running". */
static const char *job_state(const json_t *job, char *why, size_t n)
{
	const json_t *c;
	size_t i;

	json_array_foreach(json_object_get(json_object_get(job, "status"), "conditions"), i, c) {
		if (strcmp(jstr(c, "status"), "True"))
			continue;
		if (!strcmp(jstr(c, "type"), "Complete"))
			return "complete";
		if (!strcmp(jstr(c, "type"), "Failed")) {
			snprintf(why, n, "%s%s%s", jstr(c, "reason"),
				 *jstr(c, "message") ? ": " : "", jstr(c, "message"));
			return "failed";
		}
	}
	return "running";
}

/*
 * Jobs of set whose live copy carries another blueprint revision: their
 * template is immutable, so delete them (Background: their pods go too).
 * Returns 1 while one is still there (wait), 0 when none is left, -1 on
 * error with ke.
 */
static int drop_stale_jobs(struct up *u, const json_t *set, struct k8s_err *ke)
{
	const char *rev = blueprint_revision(set);
	const json_t *obj;
	size_t i;
	int waiting = 0;

	json_array_foreach(set, i, obj) {
		const char *name = jstr(json_object_get(obj, "metadata"), "name");
		const json_t *ann;
		struct buf path = BUF_INIT;
		json_t *live;
		int rc;

		if (strcmp(jstr(obj, "kind"), "Job"))
			continue;
		if (get_job(u, name, &live, ke) < 0)
			return -1;
		if (!live)
			continue;
		ann = json_object_get(json_object_get(live, "metadata"), "annotations");
		if (rev && !strcmp(jstr(ann, BLUEPRINT_REVISION_ANNOTATION), rev))
			continue;
		if (json_object_get(json_object_get(live, "metadata"), "deletionTimestamp")) {
			waiting = 1;
			continue;
		}
		if (k8s_object_path(&path, live, &ke->err) < 0)
			BUG("job path: %s", ke->err.msg);
		rc = k8s_delete(u->r->k, path.s, "Background", K8S_DELETE_GONE_OK, ke);
		buf_release(&path);
		if (rc < 0)
			return -1;
		log_info("reconcile: store %s: deleted job %s (its template changes)", u->s->id,
			 name);
		/* gone at once on some servers: look again */
		if (get_job(u, name, &live, ke) < 0)
			return -1;
		if (live)
			waiting = 1;
	}
	return waiting;
}

/* ---- finishing ---------------------------------------------------------------------- */

/* The upgrade stops before anything of the app was touched: back to ready on the old version. */
static void upgrade_failed(struct up *u, const char *why, const char *snapshot_status)
{
	struct up_write w = {.pending = 0, .current = -1};
	char *msg = arena_printf(u->r->a, "upgrade to %s failed before changing the store: %s",
				 u->version, why);

	w.status = STORE_READY;
	w.reason = "";
	w.result = "failed";
	w.rev_reason = why;
	w.snapshot_status = snapshot_status;
	w.finished = 1;
	event(&w, "upgrade", "error", msg);
	if (save(u, &w) > 0)
		log_info("reconcile: store %s: %s", u->l->id, msg);
}

/* The upgrade was applied and failed: hand over to an automatic rollback revision. */
static void roll_back(struct up *u, const char *why)
{
	struct up_write w = {.pending = -1, .current = -1};
	char *msg = arena_printf(u->r->a, "upgrade to %s failed: %s; rolling back to %s",
				 u->version, why, u->prev_version);

	w.reason = arena_printf(u->r->a, "rolling back to %s: %s", u->prev_version, why);
	w.result = "rolled_back";
	w.rev_reason = why;
	w.finished = 1;
	w.rollback = 1;
	w.rollback_reason = why;
	event(&w, "upgrade", "error", msg);
	save(u, &w);
}

/* A rollback that cannot complete: the store is failed, with the reason in plain words. */
static void rollback_failed(struct up *u, const char *why)
{
	struct up_write w = {.pending = 0, .current = -1};
	char *msg = arena_printf(u->r->a, "rollback to %s failed: %s", u->version, why);

	w.status = STORE_FAILED;
	w.reason = msg;
	w.result = "failed";
	w.rev_reason = why;
	w.finished = 1;
	event(&w, "rollback", "error", msg);
	if (save(u, &w) > 0)
		log_info("reconcile: store %s: %s", u->l->id, msg);
}

/* The pending revision is live and ready. */
static void finished(struct up *u, const char *rev)
{
	int rollback = !strcmp(u->kind, "rollback");
	struct up_write w = {.pending = 0, .current = u->pending};
	const char *msg;

	if (!rollback)
		msg = arena_printf(u->r->a, "upgraded to %s", u->version);
	else if (*u->reason)
		msg = arena_printf(u->r->a, "rolled back to %s: %s", u->version, u->reason);
	else
		msg =
		    arena_printf(u->r->a, "rolled back to revision %d (%s)", u->source, u->version);
	w.status = STORE_READY;
	w.reason = "";
	w.engine_version = u->version;
	w.blueprint_revision = rev;
	w.result = "ready";
	w.finished = 1;
	event(&w, rollback ? "rollback" : "upgrade", "info", msg);
	if (save(u, &w) > 0)
		log_info("reconcile: store %s: %s", u->l->id, msg);
}

/* ---- phases ---------------------------------------------------------------------------- */

static long long since(const struct up *u, long long t)
{
	return t ? u->l->now - t : 0;
}

/* A snapshot (or restore_snapshot) in object storage, b<n>; else r<P>, on the volume. */
static int is_backup(const char *snapshot)
{
	return snapshot && snapshot[0] == 'b';
}

/*
 * snapshotting with a backup target: the upgrade's backup (kind pre-upgrade,
 * reconcile_backup.c) is requested in the same commit that moves the
 * revision to snapshotting; reconcile_backups starts, follows and verifies it
 * like any other; the upgrade goes on once it is complete.
 */
static void phase_backup(struct up *u)
{
	const char *status, *reason;
	struct err e = ERR_INIT;

	if (!strcmp(u->result, "pending")) {
		struct up_write w = {.pending = -1, .current = -1, .delay = UPGRADE_POLL};
		const char *bk = reconcile_backup_running(u->r, u->s->id);

		if (bk) {
			wait_for(
			    u,
			    arena_printf(u->r->a,
					 "waiting for backup %s to finish before the upgrade to %s",
					 bk, u->version),
			    UPGRADE_POLL);
			return;
		}
		w.result = "snapshotting";
		w.snapshot_status = "pending";
		w.backup = 1;
		save(u, &w);
		return;
	}
	if (reconcile_backup_status(u->r->a, u->s->id, u->snapshot, &status, &reason, &e) < 0) {
		log_warn("reconcile: store %s: backup %s: %s", u->l->id, u->snapshot, e.msg);
		wait_for(u, backup_reason(u, u->snapshot), UPGRADE_POLL * 5);
		return;
	}
	if (!strcmp(status, "complete")) {
		struct up_write w = {.pending = -1, .current = -1};

		w.reason = arena_printf(u->r->a, "applying %s", u->version);
		w.result = "applying";
		w.snapshot_status = "complete";
		event(&w, "upgrade", "info",
		      arena_printf(u->r->a, "backup %s complete (sizes and SHA-256 verified)",
				   u->snapshot));
		save(u, &w);
	} else if (!strcmp(status, "failed") || !*status) {
		upgrade_failed(
		    u,
		    *status ? arena_printf(u->r->a, "backup %s failed: %s", u->snapshot, reason)
			    : arena_printf(u->r->a, "backup %s is gone", u->snapshot),
		    "failed");
	} else if (since(u, u->created_at) > config.upgrade_timeout) {
		upgrade_failed(u,
			       arena_printf(u->r->a, "backup %s did not finish within %d s (%s)",
					    u->snapshot, config.upgrade_timeout, status),
			       "failed");
	} else {
		wait_for(u, backup_reason(u, u->snapshot), UPGRADE_POLL);
	}
}

static void phase_snapshot(struct up *u)
{
	struct k8s_err ke;
	char why[512], name[64], tag[16];
	json_t *job = NULL;
	const char *state;

	/* a backup target configured: the upgrade's snapshot is a backup, no volume */
	if (!strcmp(u->result, "pending") ? reconcile_backup_enabled() : is_backup(u->snapshot)) {
		phase_backup(u);
		return;
	}
	snprintf(tag, sizeof(tag), "r%d", u->pending);
	snprintf(name, sizeof(name), "snapshot-%s", tag);
	memset(&ke, 0, sizeof(ke));
	if (!strcmp(u->result, "pending")) {
		struct up_write w = {.pending = -1, .current = -1, .delay = UPGRADE_POLL};
		const char *bk = reconcile_backup_running(u->r, u->s->id); /* reconcile_backup.c */

		if (bk) {
			wait_for(
			    u,
			    arena_printf(u->r->a,
					 "waiting for backup %s to finish before the upgrade to %s",
					 bk, u->version),
			    UPGRADE_POLL);
			return;
		}

		if (apply_backup(u, u->prev_version, tag, "", "", &ke, why, sizeof(why)) < 0) {
			if (!k8s_transient(u, "start the snapshot", &ke))
				upgrade_failed(
				    u,
				    arena_printf(u->r->a, "the snapshot could not start: %s", why),
				    "failed");
			return;
		}
		w.reason = arena_printf(u->r->a, "taking snapshot %s before the upgrade to %s", tag,
					u->version);
		w.result = "snapshotting";
		w.snapshot = tag;
		w.snapshot_status = "pending";
		event(&w, "upgrade", "info",
		      arena_printf(u->r->a, "snapshot %s started (job %s)", tag, name));
		save(u, &w);
		return;
	}
	if (get_job(u, name, &job, &ke) < 0) {
		if (!k8s_transient(u, "read the snapshot job", &ke))
			upgrade_failed(
			    u, arena_printf(u->r->a, "cannot read job %s: %s", name, ke.err.msg),
			    "failed");
		return;
	}
	state = job ? job_state(job, why, sizeof(why)) : "running";
	if (!job && apply_backup(u, u->prev_version, tag, "", "", &ke, why, sizeof(why)) < 0) {
		/* the Job vanished (deleted by hand, or a crash before it was made): again */
		if (!k8s_transient(u, "start the snapshot", &ke))
			upgrade_failed(
			    u, arena_printf(u->r->a, "the snapshot could not start: %s", why),
			    "failed");
		return;
	}
	if (!strcmp(state, "complete")) {
		struct up_write w = {.pending = -1, .current = -1};

		w.reason = arena_printf(u->r->a, "applying %s", u->version);
		w.result = "applying";
		w.snapshot_status = "complete";
		event(&w, "upgrade", "info", arena_printf(u->r->a, "snapshot %s complete", tag));
		save(u, &w);
	} else if (!strcmp(state, "failed")) {
		upgrade_failed(u, arena_printf(u->r->a, "snapshot %s failed: %s", tag, why),
			       "failed");
	} else if (since(u, u->created_at) > config.upgrade_timeout) {
		upgrade_failed(u,
			       arena_printf(u->r->a, "snapshot %s did not finish within %d s", tag,
					    config.upgrade_timeout),
			       "failed");
	} else {
		wait_for(u,
			 arena_printf(u->r->a, "taking snapshot %s before the upgrade to %s", tag,
				      u->version),
			 UPGRADE_POLL);
	}
}

static void phase_apply(struct up *u)
{
	int rollback = !strcmp(u->kind, "rollback");
	struct k8s_err ke;
	char why[512];
	json_t *set = render(u, u->version, NULL, &ke, why, sizeof(why));
	struct up_write w = {.pending = -1, .current = -1};
	const char *rev;
	int rc;

	if (!set) {
		if (k8s_transient(u, "read the store's credentials", &ke))
			return;
		if (rollback)
			rollback_failed(u, why);
		else
			upgrade_failed(u, why, NULL);
		return;
	}
	rev = blueprint_revision(set);
	rc = drop_stale_jobs(u, set, &ke);
	if (rc < 0) {
		if (!k8s_transient(u, "replace the setup job", &ke)) {
			snprintf(why, sizeof(why), "cannot replace the setup job: %.400s",
				 *ke.st.message ? ke.st.message : ke.err.msg);
			if (rollback)
				rollback_failed(u, why);
			else
				roll_back(u, why);
		}
		return;
	}
	if (rc > 0) {
		wait_for(u, "waiting for the old setup job to be deleted", UPGRADE_POLL);
		return;
	}
	if (reconcile_keep_claim_templates(u->r, u->s, set, &ke) < 0 ||
	    k8s_apply_all(u->r->k, set, NULL, NULL, NULL, &ke) < 0) {
		if (k8s_transient(u, "apply the store's objects", &ke))
			return;
		snprintf(why, sizeof(why), "kubernetes refused the %s manifests: %.400s",
			 u->version, *ke.st.message ? ke.st.message : ke.err.msg);
		if (rollback)
			rollback_failed(u, why);
		else
			roll_back(u, why);
		return;
	}
	w.reason =
	    arena_printf(u->r->a, "applied %s; waiting for the store to be ready", u->version);
	w.result = "verifying";
	w.rev_blueprint = rev;
	w.applied = 1;
	w.delay = UPGRADE_POLL;
	event(&w, rollback ? "rollback" : "upgrade", "info",
	      arena_printf(u->r->a, "applied %s (blueprint revision %s)", u->version,
			   rev ? rev : "?"));
	save(u, &w);
}

/* Every StatefulSet of the store has its replicas ready at its current generation. */
static int database_ready(const struct store *s)
{
	const json_t *sts = json_object_get(s->obs, "statefulsets"), *it;
	size_t i;

	if (!json_array_size(sts))
		return 0;
	json_array_foreach(sts, i, it) {
		const json_t *md = json_object_get(it, "metadata"),
			     *st = json_object_get(it, "status");
		long long want =
		    json_integer_value(json_object_get(json_object_get(it, "spec"), "replicas"));
		long long gen = json_integer_value(json_object_get(md, "generation"));
		long long seen = json_integer_value(json_object_get(st, "observedGeneration"));

		if (!json_object_get(json_object_get(it, "spec"), "replicas"))
			want = 1;
		if (seen < gen || json_integer_value(json_object_get(st, "readyReplicas")) < want)
			return 0;
	}
	return 1;
}

/* Start (again) the rollback's restore Job: the volume's, or the backup's (reconcile_backup.c). */
static int restore_start(struct up *u, const char *tag, struct k8s_err *ke, char *why, size_t n)
{
	if (is_backup(u->restore_snapshot))
		return reconcile_backup_restore_apply(u->r, u->s, u->version, u->restore_snapshot,
						      tag, why, n, ke);
	return apply_backup(u, u->version, "", u->restore_snapshot, tag, ke, why, n);
}

/* That Job's state: "complete", "failed" (why), "running" or "gone"; NULL with ke. */
static const char *restore_state(struct up *u, const char *name, const char *tag, char *why,
				 size_t n, struct k8s_err *ke)
{
	json_t *job = NULL;

	memset(ke, 0, sizeof(*ke));
	if (is_backup(u->restore_snapshot))
		return reconcile_backup_restore_state(u->r, u->s, tag, why, n, ke);
	if (get_job(u, name, &job, ke) < 0)
		return NULL;
	return job ? job_state(job, why, n) : "gone";
}

/*
 * A rollback's restore, once the database runs the old version: returns 1
 * when done (or none is needed), 0 when this claim was used (a write or a
 * wait was made).  A backup (b<n>) is restored by 75-backup.yaml's restore
 * Job restore-backup-rev<R>, which checks the objects' sizes and SHA-256
 * before it changes anything; a volume's snapshot (r<P>) by restore-r<R>.
 */
static int restore(struct up *u)
{
	struct k8s_err ke;
	char why[1024], name[64], tag[16];
	const char *state, *what = is_backup(u->restore_snapshot) ? "backup" : "snapshot";

	if (!*u->restore_snapshot || !strcmp(u->restore_status, "complete"))
		return 1;
	snprintf(tag, sizeof(tag), "%s%d", is_backup(u->restore_snapshot) ? "rev" : "r",
		 u->pending);
	snprintf(name, sizeof(name), "restore-%s%s",
		 is_backup(u->restore_snapshot) ? "backup-" : "", tag);
	memset(&ke, 0, sizeof(ke));
	if (!strcmp(u->restore_status, "none")) {
		struct up_write w = {.pending = -1, .current = -1, .delay = UPGRADE_POLL};

		if (!database_ready(u->s)) {
			wait_for(u,
				 arena_printf(u->r->a,
					      "waiting for the database before restoring %s %s",
					      what, u->restore_snapshot),
				 UPGRADE_POLL);
			return 0;
		}
		if (restore_start(u, tag, &ke, why, sizeof(why)) < 0) {
			if (!k8s_transient(u, "start the restore", &ke))
				rollback_failed(
				    u,
				    arena_printf(u->r->a, "the restore could not start: %s", why));
			return 0;
		}
		w.reason = arena_printf(u->r->a, "restoring %s %s", what, u->restore_snapshot);
		w.restore_status = "pending";
		event(&w, "rollback", "info",
		      arena_printf(u->r->a, "restore of %s %s started (job %s)", what,
				   u->restore_snapshot, name));
		save(u, &w);
		return 0;
	}
	if (!(state = restore_state(u, name, tag, why, sizeof(why), &ke))) {
		if (!k8s_transient(u, "read the restore job", &ke))
			rollback_failed(
			    u, arena_printf(u->r->a, "cannot read job %s: %s", name, ke.err.msg));
		return 0;
	}
	if (!strcmp(state, "gone")) {
		/* the Job vanished (deleted by hand, or a crash before it was made): again */
		if (restore_start(u, tag, &ke, why, sizeof(why)) < 0 &&
		    !k8s_transient(u, "start the restore", &ke)) {
			rollback_failed(
			    u, arena_printf(u->r->a, "the restore could not start: %s", why));
			return 0;
		}
		if (u->l->token)
			wait_for(
			    u, arena_printf(u->r->a, "restoring %s %s", what, u->restore_snapshot),
			    UPGRADE_POLL);
		return 0;
	}
	if (!strcmp(state, "complete")) {
		struct up_write w = {.pending = -1, .current = -1};

		w.reason = arena_printf(u->r->a, "%s %s restored; waiting for the store", what,
					u->restore_snapshot);
		w.restore_status = "complete";
		event(&w, "rollback", "info",
		      arena_printf(u->r->a, "%s %s restored", what, u->restore_snapshot));
		save(u, &w);
		return 0;
	}
	if (!strcmp(state, "failed")) {
		struct up_write w = {.pending = 0, .current = -1};
		char *msg = arena_printf(u->r->a,
					 "rollback to %s failed: restoring %s %s "
					 "failed: %s",
					 u->version, what, u->restore_snapshot, why);

		w.status = STORE_FAILED;
		w.reason = msg;
		w.result = "failed";
		w.rev_reason = msg;
		w.restore_status = "failed";
		w.finished = 1;
		event(&w, "rollback", "error", msg);
		save(u, &w);
		return 0;
	}
	if (since(u, u->applied_at) > config.upgrade_timeout) {
		rollback_failed(u, arena_printf(u->r->a, "restoring %s %s took more than %d s",
						what, u->restore_snapshot, config.upgrade_timeout));
		return 0;
	}
	wait_for(u, arena_printf(u->r->a, "restoring %s %s", what, u->restore_snapshot),
		 UPGRADE_POLL);
	return 0;
}

/* Keep only the Jobs of the normal set (the setup Job): snapshots are judged apart. */
static void keep_set_jobs(struct store *s, const json_t *expected)
{
	size_t i = 0;

	while (i < json_array_size(s->jobs)) {
		const char *name =
		    jstr(json_object_get(json_array_get(s->jobs, i), "metadata"), "name");
		const json_t *x;
		size_t k;
		int keep = 0;

		json_array_foreach(expected, k, x)
			if (!strcmp(jstr(x, "kind"), "Job") &&
			    !strcmp(jstr(json_object_get(x, "metadata"), "name"), name))
				keep = 1;
		if (keep)
			i++;
		else
			json_array_remove(s->jobs, i);
	}
}

/* Every container image in v, added to images (a JSON object used as a set). */
static void add_images(json_t *images, const json_t *v)
{
	const char *k;
	json_t *x;
	size_t i;

	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, x) {
			if (!strcmp(k, "image") && json_is_string(x))
				json_object_set_new(images, json_string_value(x), json_true());
			else
				add_images(images, x);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x)
			add_images(images, x);
	}
}

/*
 * Forget the pods that are going away: terminating, or running an image the
 * set no longer has (the version being left, whose failing pods a real
 * cluster scales down only after the rollout starts).  Judging them would
 * fail a rollback for the very pods it is replacing.
 */
static void keep_current_pods(struct reconcile *r, struct store *s, const json_t *set)
{
	json_t *images = arena_json(r->a, json_object()), *pod, *c;
	size_t i = 0, k;

	add_images(images, set);
	while (i < json_array_size(s->pods)) {
		int keep = 1;

		pod = json_array_get(s->pods, i);
		if (json_object_get(json_object_get(pod, "metadata"), "deletionTimestamp"))
			keep = 0;
		json_array_foreach(json_object_get(json_object_get(pod, "spec"), "containers"), k,
				   c)
			if (!json_object_get(images, jstr(c, "image")))
				keep = 0;
		if (keep)
			i++;
		else
			json_array_remove(s->pods, i);
	}
}

static void phase_verify(struct up *u)
{
	int rollback = !strcmp(u->kind, "rollback");
	struct k8s_err ke;
	char why[512], host[300];
	struct store *s = u->s;
	const char *rev;
	json_t *set;

	if (rollback && !restore(u))
		return;
	set = render(u, u->version, NULL, &ke, why, sizeof(why));
	if (!set) {
		if (!k8s_transient(u, "read the store's credentials", &ke))
			wait_for(u, why, UPGRADE_POLL * 5);
		return;
	}
	/* the live set's revision: what the objects are annotated with */
	rev = blueprint_revision(set);
	memset(&ke, 0, sizeof(ke));
	if (reconcile_fetch_details(u->r, s, &ke) < 0 || reconcile_fetch_jobs(u->r, s, &ke) < 0) {
		if (!k8s_transient(u, "list the store's pods and jobs", &ke))
			wait_for(u, ke.err.msg, UPGRADE_POLL * 5);
		return;
	}
	keep_set_jobs(s, u->eb->expected);
	keep_current_pods(u->r, s, set);
	reconcile_judge(u->r, s, u->eb->expected, 0);
	if (s->hr.health == HEALTH_READY) {
		snprintf(host, sizeof(host), "store-%s.%s", s->id, u->r->cur->domain);
		if (*u->r->cur->ingress &&
		    reconcile_probe(u->r, s->engine, host, why, sizeof(why)) < 0) {
			s->hr.health = HEALTH_PROGRESSING;
			snprintf(s->hr.reason, sizeof(s->hr.reason), "%.300s", why);
		}
	}
	if (s->hr.health == HEALTH_READY) {
		finished(u, rev ? rev : "");
		return;
	}
	if (s->hr.health == HEALTH_FAILED || since(u, u->applied_at) > config.upgrade_timeout) {
		const char *reason = s->hr.health == HEALTH_FAILED
					 ? s->hr.reason
					 : arena_printf(u->r->a, "not ready within %d s: %s",
							config.upgrade_timeout, s->hr.reason);

		if (rollback)
			rollback_failed(u, reason);
		else
			roll_back(u, reason);
		return;
	}
	wait_for(u,
		 arena_printf(u->r->a, "%s %s: %s", rollback ? "rolling back to" : "upgrading to",
			      u->version, s->hr.reason),
		 UPGRADE_POLL);
}

void reconcile_upgrading(struct reconcile *r, struct store *s, struct lease *l)
{
	struct up u = {.r = r, .s = s, .l = l};
	struct err e = ERR_INIT;

	u.eb = reconcile_engine_bp(r, s->engine);
	if (load(&u, &e) < 0) {
		log_error("reconcile: store %s: %s", l->id, e.msg);
		err_clear(&e);
		lease_release(r->a, l, &e);
		return;
	}
	if (!u.eb || !u.eb->bp || !u.eb->expected) {
		const char *why = arena_printf(r->a, "the %s blueprint cannot be loaded: %s",
					       s->engine, u.eb ? u.eb->error : "too many engines");

		if (!strcmp(u.kind, "upgrade") && strcmp(u.result, "verifying"))
			upgrade_failed(&u, why, NULL);
		else
			rollback_failed(&u, why);
		return;
	}
	if (!blueprint_version_known(u.eb->bp, u.version)) {
		/* the chart dropped the version since it was asked for: never render it */
		const char *why = arena_printf(r->a, "version %s is not offered by the %s chart",
					       u.version, s->engine);

		if (!strcmp(u.kind, "upgrade") &&
		    (!strcmp(u.result, "pending") || !strcmp(u.result, "snapshotting")))
			upgrade_failed(&u, why, NULL);
		else if (!strcmp(u.kind, "upgrade"))
			roll_back(&u, why);
		else
			rollback_failed(&u, why);
		return;
	}
	if (!strcmp(u.kind, "upgrade") &&
	    (!strcmp(u.result, "pending") || !strcmp(u.result, "snapshotting")))
		phase_snapshot(&u);
	else if (!strcmp(u.result, "pending") || !strcmp(u.result, "snapshotting") ||
		 !strcmp(u.result, "applying"))
		phase_apply(&u);
	else if (!strcmp(u.result, "verifying"))
		phase_verify(&u);
	else
		/* finished but still pending (cannot happen through this file): settle it */
		finished(&u, NULL);
}

/* ---- revision 1: provisioning ---------------------------------------------------- */

static struct db_stmt st_provision_rev =
    DB_STMT("WITH ins AS ("
	    "  INSERT INTO store_revisions (store_id, revision, kind, engine_version, \"values\","
	    "    actor_id, actor, result, blueprint_revision, finished_at)"
	    "  SELECT s.id, 1, 'provision', $2, $3::jsonb, s.owner_id, u.email, $4,"
	    "    CASE WHEN $4 = 'ready' THEN s.blueprint_revision ELSE '' END,"
	    "    CASE WHEN $4 = 'ready' THEN now() END"
	    "  FROM stores s JOIN users u ON u.id = s.owner_id"
	    "  WHERE s.id = $1 AND NOT EXISTS (SELECT 1 FROM store_revisions r WHERE r.store_id = "
	    "$1)"
	    "  ON CONFLICT DO NOTHING RETURNING revision"
	    ") UPDATE stores SET current_revision = 1"
	    " WHERE id = $1 AND current_revision = 0"
	    "   AND (EXISTS (SELECT 1 FROM ins) OR EXISTS (SELECT 1 FROM store_revisions r"
	    "     WHERE r.store_id = $1 AND r.revision = 1))",
	    4);

static struct db_stmt st_provision_ready =
    DB_STMT("UPDATE store_revisions r SET result = 'ready', blueprint_revision = $2,"
	    " finished_at = now() FROM stores s"
	    " WHERE s.id = $1 AND r.store_id = s.id AND r.revision = s.current_revision"
	    "   AND r.kind = 'provision' AND r.result <> 'ready'",
	    2);

/*
 * Ready stores with no live revision (made before revisions existed, or
 * whose first write was lost) get one, numbered after any they have, in one
 * statement; $1 = {engine: the chart's default version}.  Then provision
 * revisions whose ready mark was lost get it.
 */
static struct db_stmt st_backfill =
    DB_STMT("WITH picked AS ("
	    "  SELECT s.id, s.owner_id, u.email, s.name, s.blueprint_revision,"
	    "    coalesce(nullif(s.engine_version, ''), $1::jsonb ->> s.engine) AS v,"
	    "    (SELECT coalesce(max(r.revision), 0) + 1 FROM store_revisions r"
	    "      WHERE r.store_id = s.id) AS n"
	    "  FROM stores s JOIN users u ON u.id = s.owner_id"
	    "  WHERE s.current_revision = 0 AND s.status IN ('ready', 'degraded')"
	    "    AND $1::jsonb ? s.engine"
	    "  ORDER BY s.id LIMIT 5000"
	    "), ins AS ("
	    "  INSERT INTO store_revisions (store_id, revision, kind, engine_version, \"values\","
	    "    actor_id, actor, result, blueprint_revision, finished_at)"
	    "  SELECT id, n, 'provision', v, jsonb_build_object('version', v, 'store',"
	    "    jsonb_build_object('name', name)), owner_id, email, 'ready', blueprint_revision,"
	    "    now() FROM picked"
	    "  ON CONFLICT DO NOTHING RETURNING store_id, revision"
	    ") UPDATE stores s SET current_revision = ins.revision FROM ins"
	    " WHERE s.id = ins.store_id AND s.current_revision = 0",
	    1);

static struct db_stmt st_backfill_ready =
    DB_STMT("UPDATE store_revisions r SET result = 'ready',"
	    " blueprint_revision = s.blueprint_revision, finished_at = now() FROM stores s"
	    " WHERE s.id = r.store_id AND r.revision = s.current_revision AND r.kind = 'provision'"
	    "   AND r.result <> 'ready' AND s.status IN ('ready', 'degraded')",
	    0);

/* The version a store runs: its pinned one, else its chart's default. */
static const char *effective_version(struct reconcile *r, const char *engine, const char *pinned)
{
	if (pinned && *pinned)
		return pinned;
	return chart_version(reconcile_engine_bp(r, engine));
}

static void provision_revision(struct reconcile *r, const char *id, const char *engine,
			       const char *pinned, const char *name, const char *result)
{
	const char *version = effective_version(r, engine, pinned);
	json_t *values = arena_json(
	    r->a, json_pack("{s:s, s:{s:s}}", "version", version, "store", "name", name));
	const char *text =
	    values ? arena_json_dumps(r->a, values, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	const char *p[] = {id, version, text ? text : "{}", result};
	struct err e = ERR_INIT;

	if (!db_run(r->a, &st_provision_rev, p, &e))
		log_warn("reconcile: store %s: cannot record revision 1: %s", id, e.msg);
}

void reconcile_revision_applied(struct reconcile *r, const struct store *s,
				const struct engine_bp *eb)
{
	(void)eb;
	provision_revision(r, s->id, s->engine, s->version, s->name, "applying");
}

void reconcile_revision_ready(struct reconcile *r, const struct store *s, const char *rev)
{
	const char *p[] = {s->id, rev ? rev : ""};
	struct err e = ERR_INIT;

	if (!db_run(r->a, &st_provision_ready, p, &e))
		log_warn("reconcile: store %s: cannot mark revision 1 ready: %s", s->id, e.msg);
}

void reconcile_revisions_backfill(struct reconcile *r)
{
	struct err e = ERR_INIT;
	json_t *defaults = arena_json(r->a, json_object());
	const char *p[1];

	/* the default cluster's charts (r->cur: the pass sets it before) */
	for (int i = 0; i < r->nstores; i++) {
		const char *v = chart_version(reconcile_engine_bp(r, r->stores[i].engine));

		if (*v && !json_object_get(defaults, r->stores[i].engine))
			json_object_set_new(defaults, r->stores[i].engine, json_string(v));
	}
	/* a pass loads only the stores it judges: the charts this process loaded before count too */
	for (int i = 0; i < r->cur->nbps; i++) {
		const struct engine_bp *eb = &r->cur->bps[i];
		const char *v = chart_version(eb);

		if (*v && !json_object_get(defaults, eb->engine))
			json_object_set_new(defaults, eb->engine, json_string(v));
	}
	if (!(p[0] = arena_json_dumps(r->a, defaults, JSON_COMPACT)))
		die_oom();
	if (!db_run(r->a, &st_backfill, p, &e) || !db_run(r->a, &st_backfill_ready, NULL, &e))
		log_warn("reconcile: revisions: %s", e.msg);
}
