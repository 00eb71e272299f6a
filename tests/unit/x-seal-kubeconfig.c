/* x-seal-kubeconfig.c - a kubeconfig's context flattened and sealed, as a clusters row holds it
 * (t0565 and t0566 register a second cluster with it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "kubeconfig.h"
#include "seal.h"

/*
 *   x-seal-kubeconfig KUBECONFIG CONTEXT     (the key in SF_SECRET_KEY)
 *
 * Loads CONTEXT of the file KUBECONFIG (kubeconfig.h), flattens it
 * (kubeconfig_flatten: certificates and token inline) and prints it sealed
 * under SF_SECRET_KEY (seal.h): the "\x<hex>" text a clusters.kubeconfig
 * bytea takes (sql/018_clusters.sql), what cluster_kubeconfig() opens.  A
 * test program, never part of storefleet: the operator's way is
 * `storefleetctl cluster add`.
 */
int main(int argc, char **argv)
{
	const char *key = getenv("SF_SECRET_KEY");
	struct kubeconfig kc;
	struct buf sealed = BUF_INIT;
	struct err e = ERR_INIT;
	char *flat;

	if (argc != 3 || !key) {
		fprintf(stderr, "usage: SF_SECRET_KEY=HEX x-seal-kubeconfig KUBECONFIG CONTEXT\n");
		return 2;
	}
	if (kubeconfig_load(&kc, argv[1], argv[2], NULL, &e) < 0) {
		fprintf(stderr, "x-seal-kubeconfig: %s\n", e.msg);
		return 1;
	}
	flat = kubeconfig_flatten(&kc);
	kubeconfig_release(&kc);
	if (!flat || seal_box(key, flat, &sealed, &e) < 0) {
		fprintf(stderr, "x-seal-kubeconfig: %s\n", flat ? e.msg : "cannot flatten");
		return 1;
	}
	sodium_memzero(flat, strlen(flat));
	free(flat);
	printf("%s\n", sealed.s);
	buf_release(&sealed);
	return 0;
}
