#!/bin/bash
# t0320-medusa-run.sh - the real Medusa, built from charts/medusa/image and run with the rendered chart's commands and environment (tools/check-engines-medusa.sh); only with SF_CHECK_ENGINES=1.
#
# It needs the npm registry the first time (Node.js and the recipe's
# packages, cached under build/engines/ afterwards) and a few minutes, so the
# normal suite skips it; `make check-engines` runs the tool itself.
: "${SF_ROOT:?SF_ROOT must point at the repository}"
if [ "${SF_CHECK_ENGINES:-0}" != 1 ]; then
	echo "1..0 # SKIP the real Medusa runs with SF_CHECK_ENGINES=1 (make check-engines)"
	exit 0
fi
exec "$SF_ROOT/tools/check-engines-medusa.sh"
