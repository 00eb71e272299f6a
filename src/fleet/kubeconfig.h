/* kubeconfig.h - where the Kubernetes API is and how to authenticate: kubeconfig or in-cluster. */
#ifndef SF_KUBECONFIG_H
#define SF_KUBECONFIG_H

#include <stddef.h>
#include <time.h>

#include "err.h"

/*
 * The resolved connection settings of one context, the way client-go's
 * clientcmd flattens them: certificates are held as PEM bytes (handed to
 * curl as blobs, never written to temporary files), relative paths are
 * already resolved against the directory of the kubeconfig that named them.
 *
 * Supported: server, certificate-authority(-data), insecure-skip-tls-verify,
 * tls-server-name, proxy-url; client-certificate(-data) + client-key(-data),
 * token, tokenFile.  Refused with an error naming the user: exec plugins,
 * auth-provider, username/password, impersonation (as/as-groups).
 *
 * All strings are malloc'd and owned by the struct; kubeconfig_release()
 * frees them.  Unset strings are "" (never NULL) after a successful load.
 */
struct kubeconfig {
	char *source;		/* file it came from, or "in-cluster" */
	char *context;		/* context name ("in-cluster" for the service account) */
	char *cluster;		/* cluster name */
	char *user;		/* user name ("" = anonymous) */
	char *server;		/* https://host:port, no trailing slash */
	char *namespace;	/* the context's namespace, "" if none */
	char *tls_server_name;	/* verify the server as this name (SNI too) */
	char *proxy_url;
	int insecure;		/* insecure-skip-tls-verify */

	unsigned char *ca;	/* PEM bundle, NULL = the system's CAs */
	size_t ca_len;
	unsigned char *cert;	/* client certificate PEM, NULL = none */
	size_t cert_len;
	unsigned char *key;	/* client key PEM (with cert) */
	size_t key_len;

	char *token;		/* bearer token ("" = none); from token_file when that is set */
	char *token_file;	/* absolute path, re-read when its mtime changes */
	struct timespec token_mtime;
};

/*
 * Default directory of the service-account files in a pod; tests point
 * kubeconfig_in_cluster() elsewhere.
 */
#define KUBECONFIG_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/*
 * Find and load the configuration, in client-go's order:
 *   path       if non-empty (the special value "in-cluster" forces in-cluster);
 *   $KUBECONFIG a colon-separated list; the existing files are merged the
 *              way client-go merges them: for current-context and for each
 *              named context, cluster and user the first file that has it
 *              wins (relative paths resolve against that file's directory);
 *   ~/.kube/config if it exists;
 *   in-cluster  if KUBERNETES_SERVICE_HOST is set (files under sa_dir,
 *               NULL or "" = KUBECONFIG_SA_DIR).
 * context: the context to use, NULL or "" = current-context.
 * On error kc is released and e names the file, context, cluster or user and
 * what is wrong (malformed YAML: file:line:col from y2j).
 */
int kubeconfig_load(struct kubeconfig *kc, const char *path, const char *context,
		    const char *sa_dir, struct err *e);

/* Load from an explicit list of kubeconfig files (merged as above; missing files are skipped
 * unless none exists). */
int kubeconfig_load_files(struct kubeconfig *kc, const char *const *paths, size_t n,
			  const char *context, struct err *e);

/*
 * Load from kubeconfig text held in memory (a cluster's sealed kubeconfig,
 * cluster.h): the same rules as a file, except that it may name no file
 * (certificate-authority, client-certificate, client-key, tokenFile must be
 * given inline, as -data or token).  name appears in messages in place of a
 * file name.
 */
int kubeconfig_load_text(struct kubeconfig *kc, const char *text, size_t len, const char *name,
			 const char *context, struct err *e);

/*
 * kc as a self-contained kubeconfig (`kubectl config view --flatten
 * --minify`): kc's context, cluster and user under their own names (the
 * context is current-context), certificates as -data, the token (read from tokenFile if that is where it
 * came from) inline.  JSON, which is YAML.  OUT: malloc'd; it holds
 * credentials, so the caller wipes it (sodium_memzero) before free().
 */
char *kubeconfig_flatten(const struct kubeconfig *kc);

/*
 * In-cluster configuration: KUBERNETES_SERVICE_HOST / _PORT (IPv6 in
 * brackets) and sa_dir/{token,ca.crt,namespace} (sa_dir NULL = default).
 */
int kubeconfig_in_cluster(struct kubeconfig *kc, const char *sa_dir, struct err *e);

/*
 * Re-read token_file if its mtime changed (force: always).  Returns 1 when
 * the token changed, 0 when not (or no token file), -1 on error (the old
 * token is kept).
 */
int kubeconfig_refresh_token(struct kubeconfig *kc, int force, struct err *e);

/* Free everything; kc is zeroed (safe to call twice). */
void kubeconfig_release(struct kubeconfig *kc);

#endif
