/* ctl_db.c - storefleetctl migrate: apply sql/NNN_*.sql in order, once each, checksummed. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "arena.h"
#include "buf.h"
#include "config.h"
#include "ctl.h"
#include "db.h"

/*
 * Each file runs in its own transaction together with the row recording it
 * in schema_migrations (version, name, sha256), so a failed file leaves no
 * trace and a later run starts from it again.  A session advisory lock
 * keeps two migrate runs (two hosts deploying at once) from interleaving.
 * Before applying anything, every applied file is checked against its
 * recorded checksum: editing an applied migration is refused, because the
 * databases that already ran it would silently differ from new ones.
 */

#define MIGRATE_LOCK	  "7302002"
#define MIGRATE_MAX_FILES 1000
#define MIGRATE_MAX_BYTES (4L << 20)

struct migration {
	int version;
	char *name; /* file name, e.g. 001_accounts.sql */
	char *sql;
	char sha[65];
};

/* clang-format off */
static const char sql_schema[] =
	"CREATE TABLE IF NOT EXISTS schema_migrations ("
	" version integer PRIMARY KEY,"
	" name text NOT NULL,"
	" sha256 text NOT NULL,"
	" applied_at timestamptz NOT NULL DEFAULT now())";
/* clang-format on */

static const char sql_applied[] =
    "SELECT version, name, sha256 FROM schema_migrations ORDER BY version";

/* clang-format off */
static const char sql_record[] =
	"INSERT INTO schema_migrations (version, name, sha256) VALUES ($1::int, $2, $3)";
/* clang-format on */

/* NNN_name.sql: three or more digits, '_', a name, ".sql". */
static int migration_version(const char *name)
{
	size_t n = strlen(name), digits = strspn(name, "0123456789");

	if (digits < 3 || digits > 6 || name[digits] != '_' || n < digits + 6 ||
	    strcmp(name + n - 4, ".sql"))
		return -1;
	return atoi(name);
}

static int read_file(const char *path, char **out, struct err *e)
{
	FILE *f = fopen(path, "rb");
	struct buf b = BUF_INIT;
	char chunk[8192];
	size_t n;

	if (!f)
		return err_set(e, 500, "cannot open '%s': %s", path, strerror(errno));
	buf_init(&b, MIGRATE_MAX_BYTES);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, n);
	if (ferror(f) || b.failed) {
		fclose(f);
		buf_release(&b);
		return err_set(e, 500, "cannot read '%s' (larger than 4 MiB?)", path);
	}
	fclose(f);
	if (memchr(b.s, 0, b.len)) {
		buf_release(&b);
		return err_set(e, 500, "'%s' contains a NUL byte", path);
	}
	*out = buf_detach(&b, NULL);
	return 0;
}

static int cmp_migration(const void *x, const void *y)
{
	const struct migration *a = x, *b = y;

	return (a->version > b->version) - (a->version < b->version);
}

static void free_migrations(struct migration *m, int n)
{
	for (int i = 0; i < n; i++) {
		free(m[i].name);
		free(m[i].sql);
	}
	free(m);
}

/* OUT: *out sorted by version (caller frees with free_migrations), count returned; -1 on error. */
static int load_migrations(const char *dir, struct migration **out, struct err *e)
{
	struct migration *m = NULL;
	struct dirent *de;
	int n = 0;
	DIR *d = opendir(dir);

	if (!d)
		return err_set(e, 500, "cannot open '%s': %s", dir, strerror(errno));
	while ((de = readdir(d))) {
		int v = migration_version(de->d_name);
		char path[4096];

		if (v < 0)
			continue;
		if (n == MIGRATE_MAX_FILES) {
			err_set(e, 500, "'%s': more than %d migrations", dir, MIGRATE_MAX_FILES);
			goto fail;
		}
		m = realloc(m, (size_t)(n + 1) * sizeof(*m));
		if (!m)
			die_oom();
		memset(&m[n], 0, sizeof(m[n]));
		m[n].version = v;
		m[n].name = strdup(de->d_name);
		if (!m[n].name)
			die_oom();
		n++;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (read_file(path, &m[n - 1].sql, e) < 0)
			goto fail;
		{
			unsigned char h[crypto_hash_sha256_BYTES];

			crypto_hash_sha256(h, (unsigned char *)m[n - 1].sql, strlen(m[n - 1].sql));
			sodium_bin2hex(m[n - 1].sha, sizeof(m[n - 1].sha), h, sizeof(h));
		}
	}
	closedir(d);
	d = NULL;
	if (n)
		qsort(m, (size_t)n, sizeof(*m), cmp_migration);
	for (int i = 1; i < n; i++)
		if (m[i].version == m[i - 1].version) {
			err_set(e, 500, "'%s' and '%s' have the same version %d", m[i - 1].name,
				m[i].name, m[i].version);
			goto fail;
		}
	*out = m;
	return n;
fail:
	if (d)
		closedir(d);
	free_migrations(m, n);
	return -1;
}

static int apply_one(struct arena *a, const struct migration *m, struct err *e)
{
	char v[16];
	const char *p[3] = {v, m->name, m->sha};

	snprintf(v, sizeof(v), "%d", m->version);
	if (db_begin(e) < 0)
		return -1;
	if (db_script(m->sql, e) < 0 || !db_exec(a, sql_record, 3, p, e) || db_commit(e) < 0) {
		db_rollback();
		return -1;
	}
	return 0;
}

static int migrate(struct arena *a, struct err *e)
{
	struct migration *m = NULL;
	PGresult *res;
	int n, applied = 0, rc = -1;

	n = load_migrations(config.sql_dir, &m, e);
	if (n < 0)
		return -1;
	if (!db_exec(a, "SELECT pg_advisory_lock(" MIGRATE_LOCK ")", 0, NULL, e) ||
	    db_script(sql_schema, e) < 0)
		goto out;
	res = db_exec(a, sql_applied, 0, NULL, e);
	if (!res)
		goto out;

	/* Refuse before changing anything if history was rewritten. */
	for (int r = 0; r < db_rows(res); r++) {
		int v = (int)db_get_ll(res, r, 0), found = 0;

		for (int i = 0; i < n; i++)
			if (m[i].version == v) {
				found = 1;
				if (strcmp(m[i].sha, db_get(res, r, 2))) {
					err_set(e, 1,
						"migration '%s' was modified after it was applied "
						"(sha256 %.12s... recorded, %.12s... on disk); "
						"add a new migration instead",
						m[i].name, db_get(res, r, 2), m[i].sha);
					goto out;
				}
			}
		if (!found)
			fprintf(stderr,
				"storefleetctl: migrate: warning: applied migration '%s' "
				"is not in '%s'\n",
				db_get(res, r, 1), config.sql_dir);
	}

	for (int i = 0; i < n; i++) {
		int done = 0;

		for (int r = 0; r < db_rows(res); r++)
			if (db_get_ll(res, r, 0) == m[i].version)
				done = 1;
		if (done)
			continue;
		if (apply_one(a, &m[i], e) < 0) {
			struct err ctx = ERR_INIT;

			err_set(&ctx, e->status, "'%s': %s", m[i].name, e->msg);
			*e = ctx;
			goto out;
		}
		printf("applied %s\n", m[i].name);
		applied++;
	}
	if (!applied)
		printf("up to date (%d migrations)\n", n);
	rc = 0;
out:
	free_migrations(m, n);
	return rc;
}

int ctl_migrate(int argc, char **argv)
{
	struct err e = ERR_INIT;
	struct arena *a;
	int rc;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: storefleetctl migrate\n");
		return 2;
	}
	if (sodium_init() < 0 || db_connect(&e) < 0) {
		fprintf(stderr, "storefleetctl: migrate: %s\n",
			e.msg[0] ? e.msg : "cannot initialise libsodium");
		return 1;
	}
	a = arena_new();
	rc = migrate(a, &e);
	arena_free(a);
	db_close();
	if (rc < 0) {
		fprintf(stderr, "storefleetctl: migrate: %s\n", e.msg);
		return 1;
	}
	return 0;
}
