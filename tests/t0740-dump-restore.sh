#!/bin/bash
# t0740-dump-restore.sh - the snapshot and restore Jobs' scripts, exactly as rendered, against real MariaDB and PostgreSQL: every row comes back, and a damaged snapshot is refused with the database left as it was.
#
# The work is tools/check-dumps.sh (TAP, also run on its own); this test is
# how `make test` runs it.  SF_KEEP=1 keeps its temp folder and the Jobs' logs.
: "${SF_ROOT:?SF_ROOT must point at the repository}"
: "${SF_BUILD:=$SF_ROOT/build}"
export SF_ROOT SF_BUILD
exec "$SF_ROOT/tools/check-dumps.sh"
