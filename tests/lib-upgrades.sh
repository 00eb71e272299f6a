# lib-upgrades.sh - helpers for the upgrade/rollback request tests t0725-t0729 (sourced after lib.sh, lib-stores.sh).
#
#   up_store ID OWNER_EMAIL VERSION     a WooCommerce store that reconcile brought to ready on
#                                       VERSION: row ready, revision 1 (provision, ready) live
#   up_done ID [SNAPSHOT]               what reconcile writes when the pending revision goes
#                                       live: result ready (snapshot complete when given),
#                                       current = it, pending none, status ready
#   up_revs ID                          "n:kind:version:result" of every revision, newest first

up_store() {
	q "INSERT INTO stores (id, owner_id, name, engine, engine_version, status, step, ready_at,
	                       current_revision)
	   SELECT '$1', id, 'Shop $1', 'woocommerce', '$3', 'ready', 'readiness', now(), 1
	   FROM users WHERE email = '$2';
	   INSERT INTO store_revisions (store_id, revision, kind, engine_version, \"values\", actor,
	                                blueprint_revision, result, finished_at)
	   VALUES ('$1', 1, 'provision', '$3', '{\"version\": \"$3\"}', '$2', 'abcdef0123456789',
	           'ready', now())" >/dev/null
}

up_done() {
	local snap=${2:-}

	q "UPDATE store_revisions r SET result = 'ready', finished_at = now(),
	       snapshot = '$snap', snapshot_status = CASE WHEN '$snap' = '' THEN 'none' ELSE 'complete' END
	   FROM stores s WHERE s.id = '$1' AND r.store_id = s.id AND r.revision = s.pending_revision;
	   UPDATE stores s SET current_revision = s.pending_revision, pending_revision = NULL,
	       status = 'ready', engine_version = r.engine_version
	   FROM store_revisions r WHERE s.id = '$1' AND r.store_id = s.id AND r.revision = s.pending_revision" >/dev/null
}

up_revs() {
	q "SELECT string_agg(revision || ':' || kind || ':' || engine_version || ':' || result, ' '
	                     ORDER BY revision DESC) FROM store_revisions WHERE store_id = '$1'"
}
