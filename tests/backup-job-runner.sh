#!/bin/bash
# backup-job-runner.sh DIR - kubesim's --job-runner in the backup tests (t0746-t0748): runs a
# backup Job's container, its command and environment exactly as kubesim resolved them from the
# Job (DIR/argv, DIR/env, NUL-separated; secretKeyRef read from the namespace's Secret backup-s3),
# so the chart's own script uploads to s3rver with Debian's rclone, reads each object back and
# writes manifest.json last.  What a node would give the pod and this machine cannot: WORK (the
# emptyDir) is DIR/work, FILES (the uploads on the wordpress volume) is $SF_JOB_FILES, and
# mysqldump and mysql are tests/fixtures/backup-bin/ (a small dump of, and a load into, the
# database kept as files under $SF_JOB_DB: the real dump and load against MariaDB are t0741's).
# The restore Job (restore-backup-<tag>) runs the same way (t0749).  Test hooks, files under $SF_JOB_HOOKS:
#   corrupt   after the Job succeeded, files.tar.gz in s3rver's folder loses its last bytes
#             (object storage damaging what was verified: reconcile's check must see it)
#   lose      after the Job succeeded, its manifest.json is gone from s3rver's folder
set -u
dir=$1
mapfile -d '' argv <"$dir/argv"
mapfile -d '' envs <"$dir/env"
mkdir -p "$dir/work"
env -i PATH="$SF_ROOT/tests/fixtures/backup-bin:/usr/local/bin:/usr/bin:/bin" HOME="$dir" LANG=C.UTF-8 \
	"${envs[@]}" WORK="$dir/work" FILES="${SF_JOB_FILES:?}" SF_JOB_DB="${SF_JOB_DB:-}" "${argv[@]}"
rc=$?
if [ "$rc" -eq 0 ] && [ -e "${SF_JOB_HOOKS:?}/corrupt" ]; then
	rm -f "$SF_JOB_HOOKS/corrupt"
	for f in "$S3_DIR"/*/stores/*/backups/*/files.tar.gz._S3rver_object; do
		[ "$f" -nt "$dir/argv" ] || continue
		truncate -s -3 "$f" && echo "runner: corrupted $f"
	done
fi
if [ "$rc" -eq 0 ] && [ -e "$SF_JOB_HOOKS/lose" ]; then
	rm -f "$SF_JOB_HOOKS/lose"
	for f in "$S3_DIR"/*/stores/*/backups/*/manifest.json._S3rver_object; do
		[ "$f" -nt "$dir/argv" ] || continue
		rm -f "$f" "${f%._S3rver_object}._S3rver_metadata.json" && echo "runner: lost $f"
	done
fi
exit "$rc"
