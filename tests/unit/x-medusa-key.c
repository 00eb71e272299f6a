/* x-medusa-key.c - reconcile's own read of a Medusa store's publishable key, against any Medusa
 * (t0320 runs it on the real one). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "arena.h"
#include "config.h"
#include "reconcile_medusa.h"
#include "storehttp.h"

/*
 *   x-medusa-key BASE_URL HOST EMAIL      (the password in SF_MEDUSA_ADMIN_PASSWORD)
 *
 * Calls medusa_read_key (src/fleet/reconcile_medusa.c), the function
 * reconcile calls for every ready Medusa store, with config.ingress_address
 * set to BASE_URL (where reconcile would reach the ingress) and HOST as the
 * Host header, and prints the key on stdout (exit 0), or why not on stderr
 * (exit 1).  tools/check-engines-medusa.sh points it at the real Medusa, so
 * the requests reconcile makes are proven against Medusa itself, not only
 * against kubesim's copy.  The password goes through the environment, not
 * argv, as reconcile never shows it either.  A test program: never part of
 * storefleet (an x-*.c driven test, built with the unit tests).
 */
int main(int argc, char **argv)
{
	const char *pw = getenv("SF_MEDUSA_ADMIN_PASSWORD"), *key = NULL;
	struct err e = ERR_INIT;
	struct storehttp *h;
	struct arena *a;
	char why[300];
	int rc;

	if (argc != 4 || !pw) {
		fprintf(stderr,
			"usage: SF_MEDUSA_ADMIN_PASSWORD=... x-medusa-key BASE_URL HOST EMAIL\n");
		return 2;
	}
	if (config_load(&config, &e) < 0 ||
	    config_set(&config, "ingress_address", argv[1], "argv", &e) < 0) {
		fprintf(stderr, "x-medusa-key: %s\n", e.msg);
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	a = arena_new();
	h = storehttp_new();
	rc = medusa_read_key(h, a, argv[2], argv[3], pw, &key, why, sizeof(why));
	if (rc == 0)
		printf("%s\n", key);
	else
		fprintf(stderr, "x-medusa-key: %s\n", why);
	storehttp_free(h);
	arena_free(a);
	config_release(&config);
	curl_global_cleanup();
	return rc == 0 ? 0 : 1;
}
