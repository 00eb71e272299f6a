/* cluster.c - a registered cluster's Kubernetes connection: configuration, sealed kubeconfig or
 * in-cluster. */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "cluster.h"
#include "config.h"
#include "db.h"
#include "seal.h"

static struct db_stmt st_conn = DB_STMT("SELECT kubeconfig, context, in_cluster FROM clusters "
					"WHERE name = $1",
					1);

int cluster_kubeconfig(struct arena *a, const char *name, struct kubeconfig *kc, struct err *e)
{
	const char *p[1] = {name};
	struct buf plain = BUF_INIT;
	struct err se = ERR_INIT;
	char label[96];
	PGresult *res;
	int r;

	memset(kc, 0, sizeof(*kc));
	if (!strcmp(name, CLUSTER_DEFAULT))
		return kubeconfig_load(kc, config.kubeconfig, config.kube_context,
				       config.kube_sa_dir, e);
	if (!(res = db_run(a, &st_conn, p, e)))
		return -1;
	if (!db_rows(res))
		return err_set(e, 404, "cluster '%s' does not exist", name);
	if (db_get_bool(res, 0, 2))
		return kubeconfig_in_cluster(kc, config.kube_sa_dir, e);
	if (PQgetisnull(res, 0, 0))
		return err_set(e, 500, "cluster '%s' has no kubeconfig", name);
	if (seal_open(config.secret_key, db_get(res, 0, 0), &plain, &se) < 0) {
		buf_release(&plain);
		return err_set(e, 500, "cluster '%s': its sealed kubeconfig does not open: %s",
			       name, se.msg);
	}
	snprintf(label, sizeof(label), "cluster:%s", name);
	r = kubeconfig_load_text(kc, plain.s ? plain.s : "", plain.len, label, db_get(res, 0, 1),
				 e);
	if (plain.s)
		sodium_memzero(plain.s, plain.len);
	buf_release(&plain);
	return r;
}

int cluster_k8s_init(struct arena *a, const char *name, struct k8s *k, const struct k8s_opts *o,
		     struct err *e)
{
	struct k8s_opts def;
	struct kubeconfig kc;

	memset(k, 0, sizeof(*k));
	if (!o) {
		k8s_opts_from_config(&def);
		o = &def;
	}
	if (cluster_kubeconfig(a, name, &kc, e) < 0)
		return -1;
	return k8s_init_kc(k, &kc, o, e);
}

int cluster_check(struct k8s *k, struct err *e)
{
	struct k8s_err ke;
	json_t *v;
	int saved = k->max_retries;

	memset(&ke, 0, sizeof(ke));
	k->max_retries = 0;
	v = k8s_request(k, "GET", "/api/v1/namespaces?limit=1", NULL, NULL, NULL, &ke);
	k->max_retries = saved;
	if (v) {
		json_decref(v);
		return 0;
	}
	switch (ke.st.code) {
	case 0: {
		const char *why = *k->curlerr ? k->curlerr : ke.err.msg;

		/* CURLE_SSL_CONNECT_ERROR, _PEER_FAILED_VERIFICATION, certificate problems */
		if (ke.curl_code == 35 || ke.curl_code == 51 || ke.curl_code == 53 ||
		    ke.curl_code == 58 || ke.curl_code == 59 || ke.curl_code == 60 ||
		    ke.curl_code == 77 || ke.curl_code == 80 || ke.curl_code == 83 ||
		    ke.curl_code == 90 || ke.curl_code == 91)
			return err_set(e, 502, "server %s: the TLS handshake failed: %s",
				       k->kc.server, why);
		return err_set(e, 502, "server %s cannot be reached: %s", k->kc.server, why);
	}
	case 401:
		return err_set(e, 422,
			       "server %s refused the credentials (401 Unauthorized): the token or "
			       "client certificate is wrong or expired",
			       k->kc.server);
	case 403:
		return err_set(e, 422,
			       "server %s knows user '%s' but forbids listing namespaces (403 "
			       "Forbidden), which storefleet needs: %s",
			       k->kc.server, k->kc.user, ke.st.message);
	default:
		return err_set(e, 502, "server %s answered GET /api/v1/namespaces with %d: %s",
			       k->kc.server, ke.st.code, ke.err.msg);
	}
}
