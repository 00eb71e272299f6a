#!/bin/bash
# t0745-s3-client.sh - reconcile's S3 client (src/fleet/s3.c: GET with a cap, HEAD, paged LIST, DELETE, signed with libcurl's SigV4) against s3rver on loopback: answers, errors with the server's reason, no key in any message (tests/unit/x-s3.c).
. "$SF_ROOT/tests/lib.sh"

command -v rclone >/dev/null 2>&1 || "$SF_ROOT/tools/deps.sh" rclone >&2 || bail "rclone is missing"
s3_start "$T/s3" stores || bail "cannot start s3rver"
unset AWS_CA_BUNDLE
# the bucket's contents, put by rclone (the Jobs' client)
mkdir -p "$T/put/s1/backups/b1" "$T/put/s1/many" "$T/put/s2/backups/b1"
printf '{"hello": 1}\n' >"$T/put/s1/backups/b1/manifest.json"
head -c 100000 /dev/urandom >"$T/put/s1/backups/b1/files.tar.gz"
cp "$T/put/s1/backups/b1/manifest.json" "$T/put/s2/backups/b1/manifest.json"
for i in $(seq -f '%04g' 0 1000); do printf 'x\n' >"$T/put/s1/many/f$i"; done
env RCLONE_CONFIG=/dev/null RCLONE_CONFIG_T_TYPE=s3 RCLONE_CONFIG_T_PROVIDER=Other RCLONE_CONFIG_T_ENDPOINT="$S3_ENDPOINT" \
	RCLONE_CONFIG_T_REGION=us-east-1 RCLONE_CONFIG_T_FORCE_PATH_STYLE=true RCLONE_CONFIG_T_ACCESS_KEY_ID="$S3_ACCESS_KEY" \
	RCLONE_CONFIG_T_SECRET_ACCESS_KEY="$S3_SECRET_KEY" RCLONE_S3_NO_CHECK_BUCKET=true \
	rclone -q --transfers 16 copy "$T/put" t:stores/stores >"$T/rclone.log" 2>&1 || bail "rclone could not fill the bucket: $(tail -n 3 "$T/rclone.log")"
S3_BUCKET=stores S3_DOWN_ENDPOINT=http://127.0.0.1:$(free_port) "$SF_BUILD/tests/x-s3"
exit $?
