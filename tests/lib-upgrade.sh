# lib-upgrade.sh - helpers for the upgrade tests (sourced after lib.sh and lib-reconcile.sh).
#
#   up_request ID VERSION        ask for an upgrade exactly as the web side does (sql/003's
#                                contract: a pending revision + status upgrading, one transaction);
#                                prints the new revision number
#   up_rollback ID K             ask for a manual rollback to revision K (restoring the snapshot
#                                taken before K+1); prints the new revision number
#   up_rev ID REV COLS           psql row of store_revisions (COLS a SQL list, '|'-separated)
#   up_events ID                 the store's upgrade/rollback event messages, one a line, in order
#   up_job ID NAME               the Job as JSON (kubectl), or nothing
#   up_image ID DEPLOYMENT       the first container image of a Deployment

up_request() {
	rc_sql "BEGIN;
		INSERT INTO store_revisions (store_id, revision, kind, engine_version, \"values\", actor_id, actor)
		SELECT s.id, coalesce((SELECT max(revision) FROM store_revisions WHERE store_id = s.id), 0) + 1,
		       'upgrade', '$2', jsonb_build_object('version', '$2'), s.owner_id, u.email
		  FROM stores s JOIN users u ON u.id = s.owner_id WHERE s.id = '$1';
		UPDATE stores SET status = 'upgrading', status_reason = 'upgrade to $2 requested',
		       pending_revision = (SELECT max(revision) FROM store_revisions WHERE store_id = '$1'),
		       next_attempt_at = now()
		 WHERE id = '$1';
		COMMIT;
		SELECT pending_revision FROM stores WHERE id = '$1'"
}

up_rollback() {
	rc_sql "BEGIN;
		INSERT INTO store_revisions (store_id, revision, kind, engine_version, \"values\", actor_id,
		       actor, source_revision, restore_snapshot)
		SELECT s.id, (SELECT max(revision) FROM store_revisions WHERE store_id = s.id) + 1,
		       'rollback', k.engine_version, k.\"values\", s.owner_id, u.email, k.revision, n.snapshot
		  FROM stores s JOIN users u ON u.id = s.owner_id
		  JOIN store_revisions k ON k.store_id = s.id AND k.revision = $2
		  JOIN store_revisions n ON n.store_id = s.id AND n.revision = $2 + 1
		 WHERE s.id = '$1';
		UPDATE stores SET status = 'upgrading', status_reason = 'rollback to revision $2 requested',
		       pending_revision = (SELECT max(revision) FROM store_revisions WHERE store_id = '$1'),
		       next_attempt_at = now()
		 WHERE id = '$1';
		COMMIT;
		SELECT pending_revision FROM stores WHERE id = '$1'"
}

up_rev() {
	rc_sql "SELECT $3 FROM store_revisions WHERE store_id = '$1' AND revision = $2"
}

up_events() {
	rc_sql "SELECT message FROM store_events WHERE store_id = '$1' AND step IN ('upgrade', 'rollback')
		ORDER BY id"
}

up_job() {
	kubectl get job "$2" -n "store-$1" -o json 2>/dev/null
}

up_image() {
	kubectl get deployment "$2" -n "store-$1" -o jsonpath='{.spec.template.spec.containers[0].image}'
}
