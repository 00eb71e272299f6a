#!/bin/bash
# t0201 - storefleetctl migrate (idempotent, refuses edited history), user add|list|role, token create.
. "$SF_ROOT/tests/lib.sh"

CTL=$SF_BUILD/bin/storefleetctl
pg_start "$T/pg" || bail "cannot start PostgreSQL"
q() { psql -XAtqc "$1"; }

out=$("$CTL" migrate 2>&1)
ok "migrate applies the schema" test $? -eq 0
like "$out" 'applied 001_accounts\.sql' "migrate names what it applied"
rows=$(q "select count(*) from schema_migrations")
out=$("$CTL" migrate 2>&1)
ok "migrate again succeeds" test $? -eq 0
like "$out" 'up to date' "second run applies nothing"
is "$(q "select count(*) from schema_migrations")" "$rows" "no new schema_migrations rows"
is "$(q "select sha256 from schema_migrations where version = 1")" \
	"$(sha256sum "$SF_ROOT/sql/001_accounts.sql" | cut -d' ' -f1)" "checksum recorded"

# An edited, already applied migration is refused before anything else runs.
mkdir "$T/sql"
cp "$SF_ROOT"/sql/*.sql "$T/sql/"
echo "-- edited after release" >>"$T/sql/001_accounts.sql"
printf 'CREATE TABLE t0201_new (x int);\n' >"$T/sql/999_t0201.sql"
out=$(SF_SQL_DIR=$T/sql "$CTL" migrate 2>&1)
is "$?" 1 "modified migration: exit 1"
like "$out" "001_accounts\.sql.*modified" "the message names the modified file"
is "$(q "select count(*) from pg_tables where tablename = 't0201_new'")" 0 \
	"nothing applied after the refusal"

# A failing new migration leaves no trace (its own transaction).
cp "$SF_ROOT"/sql/001_accounts.sql "$T/sql/"
printf 'CREATE TABLE t0201_half (x int);\nSELECT 1/0;\n' >"$T/sql/999_t0201.sql"
SF_SQL_DIR=$T/sql "$CTL" migrate >/dev/null 2>&1
is "$?" 1 "failing migration: exit 1"
is "$(q "select count(*) from pg_tables where tablename = 't0201_half'")" 0 \
	"the failed migration was rolled back"
is "$(q "select count(*) from schema_migrations where version = 999")" 0 "and not recorded"

# Two deploys at once: the advisory lock serialises them, each file applied once.
createdb -h "$PGHOST" -U storefleet race || bail "createdb"
race="host=$PGHOST port=$PGPORT user=storefleet dbname=race"
SF_DATABASE_URL=$race "$CTL" migrate >"$T/m1" 2>&1 &
p1=$!
SF_DATABASE_URL=$race "$CTL" migrate >"$T/m2" 2>&1 &
p2=$!
wait $p1; r1=$?
wait $p2; r2=$?
is "$r1 $r2" "0 0" "two concurrent migrate runs both succeed"
is "$(cat "$T/m1" "$T/m2" | grep -c '^applied 001_accounts')" 1 "001 was applied exactly once"
is "$(psql -XAtq -d race -c 'select count(*) from schema_migrations')" "$rows" "all migrations recorded once"

# Users.
is "$("$CTL" user list)" "" "user list prints nothing on an empty database"
out=$("$CTL" user add Admin@Example.com)
ok "user add succeeds" test $? -eq 0
like "$out" 'role: admin' "the first user becomes admin even without --admin"
pw=$(printf '%s\n' "$out" | sed -n 's/^password: //p')
like "$pw" '^[A-Za-z0-9_-]{20,}$' "a generated password is printed"
unlike "$(q "select password_hash from users")" "$pw" "the password is not stored"
like "$(q "select password_hash from users")" '^\$argon2id\$v=19\$m=19456,t=2,p=1\$' \
	"stored as argon2id (m=19 MiB, t=2)"
out=$("$CTL" user add bob@example.com)
like "$out" 'role: tenant' "the second user is a tenant"
out=$("$CTL" user add carol@example.com --admin)
like "$out" 'role: admin' "--admin makes an admin"
out=$("$CTL" user add BOB@EXAMPLE.COM 2>&1)
is "$?" 1 "duplicate email (other case) refused"
like "$out" 'already exists' "duplicate: clear message"
out=$("$CTL" user add not-an-email 2>&1)
is "$?" 1 "invalid email refused"
"$CTL" user add >/dev/null 2>&1
is "$?" 2 "user add without EMAIL is a usage error"
list=$("$CTL" user list)
is "$(printf '%s\n' "$list" | wc -l)" 3 "user list shows 3 users"
like "$list" $'bob@example.com\ttenant' "list shows bob as tenant"

out=$("$CTL" user role bob@example.com admin)
ok "user role succeeds" test $? -eq 0
like "$("$CTL" user list)" $'bob@example.com\tadmin' "bob is now admin"
"$CTL" user role nobody@example.com admin >/dev/null 2>&1
is "$?" 1 "role for an unknown user fails"
"$CTL" user role bob@example.com root >/dev/null 2>&1
is "$?" 2 "an unknown role is a usage error"
is "$(q "select details->>'from' || '>' || (details->>'to') from audit_log where action = 'user.role'")" \
	"tenant>admin" "role change audited with from/to"

# Tokens.
tok=$("$CTL" token create bob@example.com --name ci)
ok "token create succeeds" test $? -eq 0
like "$tok" '^[A-Za-z0-9_-]{43}$' "the token is printed once (43 base64url chars)"
is "$(q "select name from api_tokens")" "ci" "stored with its name"
is "$(q "select encode(token_sha256, 'hex') from api_tokens")" \
	"$(printf %s "$tok" | sha256sum | cut -d' ' -f1)" "only the SHA-256 of the token is stored"
is "$(q "select count(*) from api_tokens where position('$tok' in encode(token_sha256, 'escape')) > 0")" 0 \
	"the token itself is nowhere in the row"
"$CTL" token create nobody@example.com >/dev/null 2>&1
is "$?" 1 "token for an unknown user fails"
is "$(q "select count(*) from audit_log where action = 'token.create' and target = 'bob@example.com'")" 1 \
	"token create audited"
is "$(q "select count(*) from audit_log where details::text like '%$tok%' or details::text like '%$pw%'")" 0 \
	"no token or password in the audit log"
done_testing
