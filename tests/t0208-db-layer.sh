#!/bin/bash
# t0208 - the database layer in C (tests/unit/x-db.c) against a throwaway, migrated PostgreSQL.
. "$SF_ROOT/tests/lib.sh"

pg_start "$T/pg" || bail "cannot start PostgreSQL"
sf_migrate || bail "migrate failed"
# x-db prints its own plan and TAP lines; this script only provides the database.
SF_T_DB=1 exec "$SF_BUILD/tests/x-db"
