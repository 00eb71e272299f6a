/* ctl_cluster.c - storefleetctl cluster add|list|drain|undrain|remove: the clusters stores are
 * placed on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "arena.h"
#include "buf.h"
#include "cluster.h"
#include "cluster_registry.h"
#include "config.h"
#include "ctl.h"
#include "db.h"
#include "seal.h"

/*
 * `cluster add` is the one place storefleet checks a cluster before it
 * stores it: the kubeconfig is loaded (its files read, its context
 * resolved), one authenticated request is made to its server
 * (cluster_check: GET /api/v1/namespaces?limit=1) and only then is the
 * context, flattened into a self-contained kubeconfig, sealed under
 * secret_key into clusters.kubeconfig.  Anything that fails on the way is
 * refused with what happened and nothing is stored.  This is why
 * storefleetctl links the fleet's Kubernetes client (docs/design.md
 * section 8); the web app cannot check a kubeconfig and so never adds a
 * cluster.  The kubeconfig's content is never printed or logged.
 */

static const char usage_text[] =
    "usage: storefleetctl cluster add NAME (--kubeconfig FILE [--context CTX] | --in-cluster)\n"
    "           [--region R] [--store-domain D] [--overlay local|prod]\n"
    "           [--max-stores N] [--max-cpu 8|8000m] [--max-memory 16Gi]\n"
    "           [--ingress-address http://HOST[:PORT]]\n"
    "       storefleetctl cluster list\n"
    "       storefleetctl cluster drain|undrain NAME\n"
    "       storefleetctl cluster remove NAME\n";

static int usage(void)
{
	fputs(usage_text, stderr);
	return 2;
}

static int refused(const char *what, const char *name, const char *field, const struct err *e)
{
	fprintf(stderr, "storefleetctl: cluster %s%s%s: %s%s%s%s\n", what, name ? " " : "",
		name ? name : "", field ? "--" : "", field ? field : "", field ? ": " : "", e->msg);
	return 1;
}

static const char *dash(const char *s)
{
	return s && *s ? s : "-";
}

static const char *limit_text(struct arena *a, const struct view *lim, const char *key, int kind)
{
	const struct view *v = view_get(lim, key);

	if (!v || v->type != VIEW_INT)
		return "-";
	return kind == 1   ? cluster_format_cpu(a, v->u.i)
	       : kind == 2 ? cluster_format_memory(a, v->u.i)
			   : arena_printf(a, "%lld", v->u.i);
}

static int list(struct arena *a)
{
	struct err e = ERR_INIT;
	struct view *l;

	if (cluster_registry_list(a, &l, &e) < 0)
		return refused("list", NULL, NULL, &e);
	printf("# name\tregion\tdomain\toverlay\tstate\tconnection\tstores\tmax_stores\tmax_cpu\t"
	       "max_memory\tnodes\tcpu\tmemory\treachable\ttrouble\n");
	for (struct view_item *it = l->u.list.head; it; it = it->next) {
		const struct view *c = it->val, *cap = view_get(c, "capacity"),
				  *lim = view_get(c, "limits"), *r = view_get(c, "reachable"),
				  *n = view_get(c, "stores");
		int has_cap = cap && cap->type == VIEW_OBJ;

		printf("%s\t%s\t%s\t%s\t%s\t%s\t%lld\t%s\t%s\t%s\t", view_get_str(c, "name"),
		       dash(view_get_str(c, "region")), view_get_str(c, "domain"),
		       dash(view_get_str(c, "overlay")), view_get_str(c, "state"),
		       view_get_str(c, "connection"), n ? n->u.i : 0,
		       limit_text(a, lim, "stores", 0), limit_text(a, lim, "cpu_millis", 1),
		       limit_text(a, lim, "memory_bytes", 2));
		printf("%s\t%s\t%s\t%s\t%s\n", has_cap ? limit_text(a, cap, "nodes", 0) : "-",
		       has_cap ? limit_text(a, cap, "cpu_millis", 1) : "-",
		       has_cap ? limit_text(a, cap, "memory_bytes", 2) : "-",
		       !r || r->type != VIEW_BOOL ? "unknown"
		       : r->u.b			  ? "yes"
						  : "no",
		       dash(view_get_str(c, "trouble")));
	}
	return 0;
}

/* The value after argv[*i] (an option that takes one), or NULL. */
static const char *arg(int argc, char **argv, int *i)
{
	return *i + 1 < argc ? argv[++*i] : NULL;
}

/* Load, check against the server, flatten and seal.  OUT: *sealed (arena), *server, *context. */
static int connect_and_seal(struct arena *a, const char *file, const char *context, int in_cluster,
			    const char **sealed, const char **server, const char **ctx_out,
			    struct err *e)
{
	struct kubeconfig kc;
	struct k8s_opts o;
	struct k8s k;
	struct buf box = BUF_INIT;
	struct err le = ERR_INIT;
	char *flat = NULL;
	int r;

	*sealed = NULL;
	r = in_cluster ? kubeconfig_in_cluster(&kc, config.kube_sa_dir, &le)
		       : kubeconfig_load_files(&kc, &file, 1, context, &le);
	if (r < 0)
		return err_set(e, 422, "the %s does not load: %s",
			       in_cluster ? "in-cluster service account" : "kubeconfig", le.msg);
	*server = arena_strdup(a, kc.server);
	*ctx_out = arena_strdup(a, kc.context);
	if (!in_cluster)
		flat = kubeconfig_flatten(&kc);
	k8s_opts_from_config(&o);
	o.max_retries = -1;
	if (k8s_init_kc(&k, &kc, &o, &le) < 0) {
		r = err_set(e, 422, "no client for the kubeconfig: %s", le.msg);
	} else {
		r = cluster_check(&k, &le);
		if (r < 0)
			err_set(e, le.status, "%s", le.msg);
		k8s_release(&k);
	}
	if (r == 0 && flat) {
		if (seal_box(config.secret_key, flat, &box, &le) < 0)
			r = err_set(e, 500, "cannot seal the kubeconfig: %s", le.msg);
		else
			*sealed = arena_strndup(a, box.s, box.len);
	}
	if (flat) {
		sodium_memzero(flat, strlen(flat));
		free(flat);
	}
	buf_release(&box);
	return r;
}

static int add(struct arena *a, int argc, char **argv)
{
	struct admin_actor who = {0, "storefleetctl", NULL};
	struct cluster_new n = {.max_stores = -1, .max_cpu_millis = -1, .max_memory_bytes = -1};
	const char *file = NULL, *context = NULL, *field = NULL, *domain, *v;
	struct err e = ERR_INIT;

	n.name = argv[2];
	for (int i = 3; i < argc; i++) {
		const char *o = argv[i];

		if (!strcmp(o, "--in-cluster")) {
			n.in_cluster = 1;
			continue;
		}
		if (!(v = arg(argc, argv, &i)))
			return usage();
		if (!strcmp(o, "--kubeconfig"))
			file = v;
		else if (!strcmp(o, "--context"))
			context = v;
		else if (!strcmp(o, "--region"))
			n.region = v;
		else if (!strcmp(o, "--store-domain"))
			n.store_domain = v;
		else if (!strcmp(o, "--overlay"))
			n.overlay = v;
		else if (!strcmp(o, "--ingress-address"))
			n.ingress_address = v;
		else if (!strcmp(o, "--max-stores")) {
			field = "max-stores";
			if (!*v || strlen(v) > 9 || strspn(v, "0123456789") != strlen(v)) {
				err_set(&e, 422, "max-stores must be a whole number from 0");
				return refused("add", n.name, field, &e);
			}
			n.max_stores = atoll(v);
		} else if (!strcmp(o, "--max-cpu")) {
			if (cluster_parse_cpu(v, &n.max_cpu_millis, &e) < 0)
				return refused("add", n.name, "max-cpu", &e);
		} else if (!strcmp(o, "--max-memory")) {
			if (cluster_parse_memory(v, &n.max_memory_bytes, &e) < 0)
				return refused("add", n.name, "max-memory", &e);
		} else {
			return usage();
		}
	}
	if (!!file == !!n.in_cluster || (context && !file))
		return usage();
	if (cluster_registry_validate(a, &n, &domain, &field, &e) < 0)
		return refused("add", n.name, field, &e);
	if (file && !*config.secret_key) {
		err_set(&e, 500,
			"secret_key is not set in the configuration: a kubeconfig is stored "
			"sealed under it");
		return refused("add", n.name, NULL, &e);
	}
	if (db_connect(&e) < 0)
		return refused("add", n.name, NULL, &e);
	if (cluster_registry_get(a, n.name, &e)) {
		err_set(&e, 409, "a cluster named '%s' already exists", n.name);
		return refused("add", n.name, NULL, &e);
	}
	if (e.status != 404)
		return refused("add", n.name, NULL, &e);
	err_clear(&e);
	if (connect_and_seal(a, file, context, n.in_cluster, &n.sealed, &n.server, &n.context, &e) <
	    0)
		return refused("add", n.name, n.in_cluster ? "in-cluster" : "kubeconfig", &e);
	if (cluster_registry_add(a, &who, &n, &e) < 0)
		return refused("add", n.name, NULL, &e);
	printf("cluster %s added: server %s, %s%s%s; state active\n", n.name, n.server,
	       n.in_cluster ? "in-cluster service account" : "context ",
	       n.in_cluster ? "" : n.context, n.in_cluster ? "" : " (sealed)");
	return 0;
}

int ctl_cluster(int argc, char **argv)
{
	struct admin_actor who = {0, "storefleetctl", NULL};
	struct err e = ERR_INIT;
	const char *sub = argc > 1 ? argv[1] : "";
	struct arena *a;
	struct view *c;
	int rc = 0, changed;

	if (!(!strcmp(sub, "list") && argc == 2) && !(!strcmp(sub, "add") && argc >= 3) &&
	    !((!strcmp(sub, "drain") || !strcmp(sub, "undrain") || !strcmp(sub, "remove")) &&
	      argc == 3))
		return usage();
	a = arena_new();
	if (!strcmp(sub, "add")) {
		rc = add(a, argc, argv);
	} else if (db_connect(&e) < 0) {
		rc = refused(sub, argc > 2 ? argv[2] : NULL, NULL, &e);
	} else if (!strcmp(sub, "list")) {
		rc = list(a);
	} else if (!strcmp(sub, "remove")) {
		if (cluster_registry_remove(a, &who, argv[2], &e) < 0)
			rc = refused(sub, argv[2], NULL, &e);
		else
			printf("cluster %s removed\n", argv[2]);
	} else {
		int drain = !strcmp(sub, "drain");

		if (cluster_registry_drain(a, &who, argv[2], drain, &c, &changed, &e) < 0)
			rc = refused(sub, argv[2], NULL, &e);
		else
			printf("cluster %s %s%s\n", argv[2], changed ? "is now " : "was already ",
			       view_get_str(c, "state"));
	}
	arena_free(a); /* PQclear before the connection goes */
	db_close();
	return rc;
}
