#!/bin/bash
# t0208 - the database layer in C (tests/unit/x-db.c) against a throwaway, migrated PostgreSQL.
. "$SF_ROOT/tests/lib.sh"

pg_start "$T/pg" || bail "cannot start PostgreSQL"
sf_migrate || bail "migrate failed"
# x-db prints its own plan and TAP lines; this script only provides the database.
# Not `exec`: the EXIT trap must still run to stop PostgreSQL and remove $T.
SF_T_DB=1 "$SF_BUILD/tests/x-db"
exit $?
