#!/bin/bash
# t0741-backup-woocommerce-restore.sh - WooCommerce: backup to S3 (s3rver) and restore, round trip with equal checksums of the database and every uploaded file; corrupted objects and untrusted manifests refused, the store untouched.
#
# The backup and restore Jobs of charts/woocommerce/manifests/75-backup.yaml, exactly as rendered, run
# against real servers on loopback; the work is tools/check-backups.sh (TAP, also run on its own).
: "${SF_ROOT:?SF_ROOT must point at the repository}"
: "${SF_BUILD:=$SF_ROOT/build}"
export SF_ROOT SF_BUILD
exec "$SF_ROOT/tools/check-backups.sh" woocommerce restore
