#!/bin/bash
# kubesim-job-runner.sh DIR - kubesim's --job-runner (`make run`, tools/run.sh, and the backup
# tests t0746-t0749, t0121, t0754): runs a backup or restore Job's container, its command and
# environment exactly as kubesim resolved them from the Job (DIR/argv, DIR/env, NUL-separated;
# secretKeyRef read from the namespace's Secret backup-s3), so the chart's own script uploads to
# object storage (s3rver on loopback, or whatever the configuration names) with Debian's rclone,
# reads each object back and writes manifest.json last.  What a node would give the pod and this
# machine cannot: WORK (the emptyDir) is DIR/work; FILES (the uploads on the store's volume) and
# the database are folders of this machine:
#   SF_JOB_FILES, SF_JOB_DB   one store's (the tests), or else
#   SF_JOB_VAR                every store's own, SF_JOB_VAR/<store id>/uploads and .../db
#                             (make run: var/stores)
# mysqldump and mysql are tools/kubesim-job-bin/ (a small dump of, and a load into, the database
# kept as files under the db folder: the real dump and load against MariaDB are t0741's).  A
# Medusa store's database (the Job's PGHOST, the Service "postgres") is a real PostgreSQL when
# SF_JOB_PGHOST is set: SF_JOB_PGHOST, SF_JOB_PGPORT and SF_JOB_PGUSER, database sfjob_<store id>
# (made when missing), so pg_dump, pg_restore and psql run for real; the pod's /tmp is DIR/tmp.
# Test hooks, files under $SF_JOB_HOOKS (unset: none):
#   corrupt   after the Job succeeded, files.tar.gz in s3rver's folder loses its last bytes
#             (object storage damaging what was verified: reconcile's check must see it)
#   lose      after the Job succeeded, its manifest.json is gone from s3rver's folder
#   env       NAME=VALUE lines added to the container's environment (e.g. RCLONE_BWLIMIT=4M)
set -u
dir=$1
: "${SF_ROOT:=$(cd "$(dirname "$0")/.." && pwd)}"
mapfile -d '' argv <"$dir/argv"
mapfile -d '' envs <"$dir/env"
hooks=${SF_JOB_HOOKS:-}
if [ -n "$hooks" ] && [ -s "$hooks/env" ]; then
	mapfile -t extra <"$hooks/env"
	envs+=("${extra[@]}")
fi
store="" pghost=""
for e in "${envs[@]}"; do
	case $e in
	STORE_ID=*) store=${e#STORE_ID=} ;;
	PGHOST=*) pghost=${e#PGHOST=} ;;
	esac
done
case $store in
'' | *[!a-z0-9-]*)
	echo "runner: the Job names no store (STORE_ID '$store')" >&2
	exit 1
	;;
esac
pg=()
if [ -n "$pghost" ] && [ -n "${SF_JOB_PGHOST:-}" ]; then
	pgdb=sfjob_${store//-/_}
	pg=(PGHOST="$SF_JOB_PGHOST" PGPORT="${SF_JOB_PGPORT:-5432}" PGUSER="${SF_JOB_PGUSER:-postgres}" PGDATABASE="$pgdb")
	if [ "$(env "${pg[@]}" PGDATABASE=postgres psql -XAtqc "SELECT 1 FROM pg_database WHERE datname = '$pgdb'")" != 1 ]; then
		env "${pg[@]}" PGDATABASE=postgres psql -XAtqc "CREATE DATABASE $pgdb" >/dev/null || exit 1
	fi
fi
files=${SF_JOB_FILES:-} db=${SF_JOB_DB:-}
if [ -z "$files" ]; then
	[ -n "${SF_JOB_VAR:-}" ] || {
		echo "runner: neither SF_JOB_FILES nor SF_JOB_VAR is set" >&2
		exit 1
	}
	files=$SF_JOB_VAR/$store/uploads db=$SF_JOB_VAR/$store/db
	mkdir -p "$files" "$db"
fi
mkdir -p "$dir/work" "$dir/tmp"
argv=("${argv[@]//\/tmp\//$dir/tmp/}")
env -i PATH="$SF_ROOT/tools/kubesim-job-bin:${PGBIN:+$PGBIN:}/usr/local/bin:/usr/bin:/bin" HOME="$dir" LANG=C.UTF-8 \
	"${envs[@]}" "${pg[@]}" WORK="$dir/work" FILES="$files" SF_JOB_DB="$db" "${argv[@]}"
rc=$?
if [ "$rc" -eq 0 ] && [ -n "$hooks" ] && [ -e "$hooks/corrupt" ]; then
	rm -f "$hooks/corrupt"
	for f in "$S3_DIR"/*/stores/*/backups/*/files.tar.gz._S3rver_object; do
		[ "$f" -nt "$dir/argv" ] || continue
		truncate -s -3 "$f" && echo "runner: corrupted $f"
	done
fi
if [ "$rc" -eq 0 ] && [ -n "$hooks" ] && [ -e "$hooks/lose" ]; then
	rm -f "$hooks/lose"
	for f in "$S3_DIR"/*/stores/*/backups/*/manifest.json._S3rver_object; do
		[ "$f" -nt "$dir/argv" ] || continue
		rm -f "$f" "${f%._S3rver_object}._S3rver_metadata.json" && echo "runner: lost $f"
	done
fi
exit "$rc"
