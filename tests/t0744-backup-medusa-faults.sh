#!/bin/bash
# t0744-backup-medusa-faults.sh - Medusa: backups that fail (bucket missing, wrong key, object storage gone mid-upload) say why and leave no manifest.
#
# The backup and restore Jobs of charts/medusa/manifests/75-backup.yaml, exactly as rendered, run
# against real servers on loopback; the work is tools/check-backups.sh (TAP, also run on its own).
: "${SF_ROOT:?SF_ROOT must point at the repository}"
: "${SF_BUILD:=$SF_ROOT/build}"
export SF_ROOT SF_BUILD
exec "$SF_ROOT/tools/check-backups.sh" medusa faults
