# lib-backups.sh - the stack of the backup lifecycle tests (t0746-t0748), sourced after lib.sh,
# lib-stores.sh and lib-reconcile.sh.
#
#   bk_stack [KUBESIM ARGS...]  PostgreSQL, s3rver (bucket "stores"), kubesim running backup Jobs'
#                               containers (tools/kubesim-job-runner.sh; a Medusa store's database
#                               is sfjob_<id> in this PostgreSQL), web app + nginx; storefleet
#                               configured for s3rver.  The Jobs' uploads and database are one set of
#                               folders, $SF_JOB_FILES and $SF_JOB_DB; with BK_PER_STORE=1 each store
#                               has its own, $SF_JOB_VAR/<id>/uploads and .../db (t0752)
#   bk_ready_store TOKEN NAME   a woocommerce store made through the API and reconciled to ready;
#                               prints its id
#   bk_pass                     one reconcile pass
#   bk_until SECS SQLCOND       passes until SQLCOND holds
#   bk_object STORE ID NAME     the file s3rver keeps for object NAME of backup ID (b<n>)
#   bk_row NUMBER COLS          psql of backups row NUMBER

bk_stack() {
	export SF_SECRET_KEY=$RC_KEY SF_CREATE_COOLDOWN=0 SF_CREATES_PER_HOUR=100
	export SF_JOB_HOOKS=$T/hooks
	mkdir -p "$SF_JOB_HOOKS"
	if [ "${BK_PER_STORE:-}" ]; then # each store its own folders: $SF_JOB_VAR/<id>/uploads, .../db
		export SF_JOB_VAR=$T/stores
		unset SF_JOB_FILES SF_JOB_DB
	else
		export SF_JOB_FILES=$T/uploads SF_JOB_DB=$T/db
		mkdir -p "$SF_JOB_FILES/2026/12" "$SF_JOB_DB"
		printf 'a picture\n' >"$SF_JOB_FILES/2026/12/shoe.jpg"
		printf 'no name\n' >"$SF_JOB_FILES/with space é.txt"
	fi
	# PostgreSQL first: a Medusa store's database in the Jobs is a database of it (the runner's
	# SF_JOB_PG*), and kubesim (the runner's parent) must know where it is
	export SF_COOKIE_SECURE=false SF_REGISTRATION_OPEN=${SF_REGISTRATION_OPEN:-true}
	pg_start "$T/pg" || bail "cannot start PostgreSQL"
	export SF_JOB_PGHOST=$PGHOST SF_JOB_PGPORT=$PGPORT SF_JOB_PGUSER=$PGUSER
	s3_start "$T/s3" stores || bail "cannot start s3rver"
	kubesim_start "$T/kubesim" --pod-ready-ms 50 --job-complete-ms 50 --pvc-bind-ms 20 \
		--ns-delete-ms 50 --observed-lag-ms 10 --job-runner "$SF_ROOT/tools/kubesim-job-runner.sh" "$@" ||
		bail "cannot start kubesim"
	export SF_INGRESS_ADDRESS=$KUBESIM_INGRESS SF_FAILURE_GRACE=1 SF_RECONCILE_INTERVAL=1
	export SF_BACKUP_ENDPOINT=$S3_ENDPOINT SF_BACKUP_BUCKET=stores SF_BACKUP_ACCESS_KEY=$S3_ACCESS_KEY
	export SF_BACKUP_SECRET_KEY=$S3_SECRET_KEY SF_BACKUP_EGRESS_PORT=$S3_PORT
	export SF_BACKUP_INTERVAL=${SF_BACKUP_INTERVAL:-0} SF_METRICS_CACHE=0
	sf_migrate || bail "migrate failed"
	app_start "$T" "${SF_TEST_WORKERS:-2}" || bail "cannot start storefleet.fcgi"
	nginx_start "$T" || bail "cannot start nginx"
}

bk_pass() {
	"$SF_BUILD/bin/storefleet-reconcile" --once --no-lock "$@" >>"$T/reconcile.log" 2>&1
}

bk_until() {
	local secs=$1 cond=$2 deadline

	deadline=$(($(date +%s%N) + secs * 1000000000))
	while :; do
		[ "$(q "SELECT ($cond)")" = t ] && return 0
		[ "$(date +%s%N)" -lt "$deadline" ] || return 1
		bk_pass
	done
}

bk_ready_store() {
	local id

	api_json POST /api/v1/stores "$1" "{\"name\":\"$2\",\"engine\":\"woocommerce\"}"
	id=$(json_get 'j["store"]["id"]') || return 1
	bk_until 30 "(SELECT status = 'ready' FROM stores WHERE id = '$id')" || return 1
	echo "$id"
}

bk_object() {
	echo "$S3_DIR/stores/stores/$1/backups/$2/$3._S3rver_object"
}

bk_row() {
	q "SELECT $2 FROM backups WHERE id = $1"
}
