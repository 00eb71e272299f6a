/* backup_manifest.h - the manifest.json a store's backup Job writes last (charts/<engine>/manifests/75-backup.yaml), parsed as untrusted input. */
#ifndef SF_BACKUP_MANIFEST_H
#define SF_BACKUP_MANIFEST_H

#include <stddef.h>

#include "err.h"

#define BACKUP_MANIFEST_MAX 65536 /* bytes; the restore Job refuses a larger one too */
#define BACKUP_OBJECTS_MAX 2	  /* the dump and files.tar.gz */
#define BACKUP_SIZE_MAX 1099511627776LL /* 1 TiB: any larger size is taken as a lie */

struct backup_object {
	char name[32]; /* database.sql.gz, database.dump or files.tar.gz */
	long long size;
	char sha256[65]; /* 64 lowercase hex digits */
};

struct backup_manifest {
	int format;	     /* 1 */
	char store[41];	     /* [a-z0-9-] */
	char backup[64];     /* [a-z0-9-] */
	char engine[32];     /* woocommerce | medusa */
	char version[64];    /* [A-Za-z0-9._-] */
	char revision[64];   /* [A-Za-z0-9._-], may be empty */
	char started[21];    /* YYYY-MM-DDTHH:MM:SSZ */
	char finished[21];   /* YYYY-MM-DDTHH:MM:SSZ, not before started */
	struct backup_object objects[BACKUP_OBJECTS_MAX];
	int nobjects;
};

/*
 * Parse manifest.json (len bytes, at most BACKUP_MANIFEST_MAX) into m and
 * check it is the manifest of backup_id of store_id: every field present
 * with its type and shape, the engine's two objects exactly (the dump the
 * engine makes and files.tar.gz), each named once, sizes 0..1 TiB, SHA-256
 * in hex.  0, or -1 with e set (422) saying what is wrong.  Nothing in it
 * ever becomes a path: callers build keys from the names checked here.
 */
int backup_manifest_parse(const char *text, size_t len, const char *store_id, const char *backup_id,
			  struct backup_manifest *m, struct err *e);

/* The dump's object name of an engine's backup, NULL for an unknown engine. */
const char *backup_dump_name(const char *engine);

#endif
