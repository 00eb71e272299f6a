/* k8s_resources.c - the kinds storefleet uses and their REST paths (k8s-schema/resources.json). */
#include <string.h>

#include "k8s.h"

struct kind {
	const char *api_version;
	const char *kind;
	const char *plural;
	int namespaced;
};

static const struct kind kinds[] = {
	{"v1", "Namespace", "namespaces", 0},
	{"v1", "ResourceQuota", "resourcequotas", 1},
	{"v1", "LimitRange", "limitranges", 1},
	{"v1", "Secret", "secrets", 1},
	{"v1", "ConfigMap", "configmaps", 1},
	{"v1", "ServiceAccount", "serviceaccounts", 1},
	{"v1", "Service", "services", 1},
	{"v1", "PersistentVolumeClaim", "persistentvolumeclaims", 1},
	{"v1", "Pod", "pods", 1},
	{"v1", "Event", "events", 1},
	{"networking.k8s.io/v1", "NetworkPolicy", "networkpolicies", 1},
	{"networking.k8s.io/v1", "Ingress", "ingresses", 1},
	{"apps/v1", "Deployment", "deployments", 1},
	{"apps/v1", "StatefulSet", "statefulsets", 1},
	{"apps/v1", "ReplicaSet", "replicasets", 1},
	{"batch/v1", "Job", "jobs", 1},
	{"batch/v1", "CronJob", "cronjobs", 1},
	{"policy/v1", "PodDisruptionBudget", "poddisruptionbudgets", 1},
	{"rbac.authorization.k8s.io/v1", "Role", "roles", 1},
	{"rbac.authorization.k8s.io/v1", "RoleBinding", "rolebindings", 1},
	/* cert-manager (custom domains: reconcile_domain.c) */
	{"cert-manager.io/v1", "Certificate", "certificates", 1},
};

static const struct kind *find_kind(const char *api_version, const char *kind)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(kinds[i].kind, kind) && !strcmp(kinds[i].api_version, api_version))
			return &kinds[i];
	return NULL;
}

int k8s_kind_namespaced(const char *api_version, const char *kind)
{
	const struct kind *k;

	if (!api_version || !kind)
		return -1;
	k = find_kind(api_version, kind);
	return k ? k->namespaced : -1;
}

int k8s_path(struct buf *out, const char *api_version, const char *kind, const char *ns,
	     const char *name, struct err *e)
{
	const struct kind *k;

	if (!api_version || !*api_version || !kind || !*kind)
		return err_set(e, 400, "kubernetes: object without apiVersion or kind");
	k = find_kind(api_version, kind);
	if (!k) {
		for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
			if (!strcmp(kinds[i].kind, kind))
				return err_set(e, 400,
					       "kubernetes: kind '%s' is served as '%s', not '%s'",
					       kind, kinds[i].api_version, api_version);
		return err_set(e, 400, "kubernetes: unknown kind '%s' (apiVersion '%s')", kind,
			       api_version);
	}
	if (ns && !*ns)
		ns = NULL;
	if (name && !*name)
		return err_set(e, 400, "kubernetes: %s with an empty name", kind);
	if (!k->namespaced && ns)
		return err_set(e, 400,
			       "kubernetes: %s is cluster-scoped but namespace '%s' was given",
			       kind, ns);
	if (k->namespaced && name && !ns)
		return err_set(e, 400, "kubernetes: %s '%s' needs a namespace", kind, name);

	buf_adds(out, strchr(api_version, '/') ? "/apis/" : "/api/");
	buf_adds(out, api_version);	/* from the table: safe */
	if (ns) {
		buf_adds(out, "/namespaces/");
		buf_add_urlenc(out, ns, strlen(ns));
	}
	buf_addch(out, '/');
	buf_adds(out, k->plural);
	if (name) {
		buf_addch(out, '/');
		buf_add_urlenc(out, name, strlen(name));
	}
	if (out->failed)
		return err_set(e, 500, "kubernetes: path too long");
	return 0;
}

int k8s_object_path(struct buf *out, const json_t *obj, struct err *e)
{
	const json_t *md = json_object_get(obj, "metadata");
	const char *av = json_string_value(json_object_get(obj, "apiVersion"));
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	const char *name = json_string_value(json_object_get(md, "name"));
	const char *ns = json_string_value(json_object_get(md, "namespace"));

	if (!json_is_object(obj))
		return err_set(e, 400, "kubernetes: object is not a JSON object");
	if (!name || !*name)
		return err_set(e, 400, "kubernetes: %s without metadata.name",
			       kind ? kind : "object");
	return k8s_path(out, av, kind, ns, name, e);
}
