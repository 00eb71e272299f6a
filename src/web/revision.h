/* revision.h - upgrade and rollback requests (web and storefleetctl), a store's revisions. */
#ifndef SF_REVISION_H
#define SF_REVISION_H

#include "arena.h"
#include "err.h"
#include "view.h"

struct store_who; /* store.h */

/*
 * The asking side of sql/003_revisions.sql: a request is one transaction
 * that locks the store row (FOR UPDATE, with the same ownership condition
 * as store_get, so a foreign store is the same 404 as a missing one),
 * checks the rules below against committed rows, inserts revision
 * max + 1 with result 'pending', points stores.pending_revision at it with
 * status 'upgrading', writes a store event and an audit row, and NOTIFYs
 * reconcile, which carries the revision out (snapshot, apply, verify).
 *
 * Upgrade to version V: V is one of the engine's chart versions (422
 * field "version"), the store is ready or degraded (409 with the reason),
 * and V is newer than the version it runs (422: the same version, or an
 * older one, compared part by part, chart_version_cmp - the engines
 * migrate their data forwards only, so going back is a rollback, which
 * restores the data).  The new revision renders with the running
 * revision's per-store values with "version" replaced.
 *
 * Rollback to revision K: K is still in the history (at most the last
 * REVISION_KEEP), older than the running revision and reached ready (422
 * field "revision"); the snapshot taken before K + 1 - the data as it was
 * while K was live - exists and completed (409 saying which of those
 * failed); the store is ready or degraded (409).  The new revision
 * re-applies K's engine version and values and restores that snapshot.
 *
 * A request while another is pending is a 409 naming it ("An upgrade to
 * 6.8.1 is already in progress."), so a repeated click changes nothing.
 *
 * who->id 0 is the command line: the revision's actor_id is NULL and its
 * actor who->email ("storefleetctl"); who->is_admin must then be 1.
 */

#define REVISION_KEEP 10 /* the history the store_revisions_prune trigger keeps */

/*
 * An upgrade or rollback request.  IN: version (upgrade) or revision
 * (rollback: K).  OUT on success: store (the store's view, now upgrading),
 * created (the new revision's number); on 422: field ("version" or
 * "revision").
 */
struct revision_req {
	const char *version;
	long long revision;
	struct view *store;
	int created;
	const char *field;
};

/* 0, or -1 with e: 404 (not visible), 409, 422, 503. */
int revision_upgrade(struct arena *a, const struct store_who *who, const char *id,
		     struct revision_req *q, struct err *e);
int revision_rollback(struct arena *a, const struct store_who *who, const char *id,
		      struct revision_req *q, struct err *e);

/*
 * A store's history for its page, the API and storefleetctl, in one query.
 *
 * revisions: newest first, each {revision, kind, engine_version,
 * blueprint_revision, actor, source_revision, snapshot, snapshot_status,
 * result, reason, created_at, finished_at, restore_snapshot, restore_status,
 * can_rollback, rollback_unavailable} (empty strings and SQL NULLs as null;
 * rollback_unavailable is the plain-words reason a rollback to it would be
 * refused now, null when can_rollback).  current and pending: the running
 * and the pending revision (0 = none); pending_view the pending one's item.
 * version: what the store runs (the running revision's engine version, else
 * the chart's); upgrades: the chart's versions newer than that, each
 * {value}, empty unless the store can be upgraded now.  All arena memory.
 * 0, or -1 with e: 404 (not visible), 503.
 */
struct revision_history {
	struct view *revisions;
	int current, pending;
	struct view *pending_view;
	const char *status, *version;
	struct view *upgrades;
};

int revision_history(struct arena *a, const struct store_who *who, const char *id,
		     struct revision_history *h, struct err *e);

/* What a pending revision's result means for a person ("Backing up the database before the upgrade"). */
const char *revision_phase_label(const char *result);

#endif
