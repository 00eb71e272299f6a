/* quota.c - the API server's LimitRanger defaults and ResourceQuota admission, and the quota
 * controller's status.used. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kubesim.h"

/*
 * Usage is what k8s.io/kubernetes pkg/quota/v1/evaluator/core charges an
 * object: a pod (not Succeeded or Failed) counts "pods" and its effective
 * requests and limits (the sum over containers, or the largest init
 * container if that is more) under cpu/requests.cpu, memory/
 * requests.memory, limits.cpu, limits.memory and the ephemeral-storage
 * names; a PersistentVolumeClaim counts "persistentvolumeclaims" and
 * requests.storage (also per storage class); every object counts
 * "count/<resource>[.<group>]".  Quotas with scopes or scope selectors
 * are not modelled: they are left alone.
 *
 * Admission follows k8s.io/apiserver pkg/admission/plugin/resourcequota
 * (controller.go, checkRequest): for each quota of the namespace, a pod
 * must first name every compute resource the quota limits ("failed quota:
 * q: must specify limits.cpu for: c"); then the object's usage (on update:
 * what it adds) is added to the quota's usage and compared with hard:
 * "exceeded quota: q, requested: ..., used: ..., limited: ...", the
 * resources sorted and the quantities printed canonically.  Usage is
 * recomputed from the store rather than read from status, which the sync
 * keeps equal to it.
 */

#define QL_MAX 32

struct qlist {
	int n;
	struct {
		char name[128];
		struct ks_qty q;
	} e[QL_MAX];
};

static struct ks_qty *ql_find(struct qlist *l, const char *name)
{
	int i;

	for (i = 0; i < l->n; i++)
		if (!strcmp(l->e[i].name, name))
			return &l->e[i].q;
	return NULL;
}

/* Add q under name (a new entry starts as a zero DecimalSI, as the quota code's sums do). */
static void ql_add(struct qlist *l, const char *name, const struct ks_qty *q)
{
	struct ks_qty *have = ql_find(l, name);

	if (!have) {
		if (l->n == QL_MAX)
			return;
		snprintf(l->e[l->n].name, sizeof(l->e[l->n].name), "%s", name);
		have = &l->e[l->n].q;
		have->v = 0;
		have->fmt = KS_QTY_DECIMAL_SI;
		l->n++;
	}
	ks_qty_add(have, q);
}

static void ql_one(struct qlist *l, const char *name)
{
	struct ks_qty one = {1000000000, KS_QTY_DECIMAL_SI};

	ql_add(l, name, &one);
}

static const struct ks_resource *R(const char *group, const char *plural)
{
	return ks_resource_find(group, "v1", plural);
}

static int is(const struct ks_resource *r, const char *plural)
{
	return !strcmp(r->plural, plural);
}

/* --- usage ------------------------------------------------------------------ */

static const char *const POD_COMPUTE[] = {"cpu", "memory", "ephemeral-storage", NULL};

/* The pod's effective requests (or limits): containers summed, init containers as a floor. */
static void pod_sum(const json_t *spec, const char *which, struct qlist *out)
{
	json_t *c;
	size_t i;
	int k;

	json_array_foreach(json_object_get(spec, "containers"), i, c) {
		json_t *rl = json_object_get(json_object_get(c, "resources"), which), *v;
		const char *rk;

		json_object_foreach(rl, rk, v) {
			struct ks_qty q;

			if (ks_qty_of(v, &q) == 0)
				ql_add(out, rk, &q);
		}
	}
	json_array_foreach(json_object_get(spec, "initContainers"), i, c) {
		json_t *rl = json_object_get(json_object_get(c, "resources"), which);

		for (k = 0; POD_COMPUTE[k]; k++) {
			struct ks_qty q, *have;

			if (ks_qty_of(json_object_get(rl, POD_COMPUTE[k]), &q) < 0)
				continue;
			have = ql_find(out, POD_COMPUTE[k]);
			if (!have)
				ql_add(out, POD_COMPUTE[k], &q);
			else if (ks_qty_cmp(&q, have) > 0)
				*have = q;
		}
	}
}

static int pod_terminal(const json_t *pod)
{
	const char *ph =
	    json_string_value(json_object_get(json_object_get(pod, "status"), "phase"));

	return ph && (!strcmp(ph, "Succeeded") || !strcmp(ph, "Failed"));
}

/* podComputeUsageHelper: the quota names one container's (or pod's) resources give. */
static void compute_names(const struct qlist *req, const struct qlist *lim, struct qlist *out)
{
	static const char *const map[][3] = {
	    {"cpu", "requests.cpu", "limits.cpu"},
	    {"memory", "requests.memory", "limits.memory"},
	    {"ephemeral-storage", "requests.ephemeral-storage", "limits.ephemeral-storage"},
	};
	size_t k;

	ql_one(out, "pods");
	for (k = 0; k < sizeof(map) / sizeof(map[0]); k++) {
		struct ks_qty *q = ql_find((struct qlist *)req, map[k][0]);
		struct ks_qty *l = ql_find((struct qlist *)lim, map[k][0]);

		if (q) {
			ql_add(out, map[k][0], q);
			ql_add(out, map[k][1], q);
		}
		if (l)
			ql_add(out, map[k][2], l);
	}
}

static void group_count_name(char *out, size_t n, const struct ks_resource *r)
{
	snprintf(out, n, "count/%s%s%s", r->plural, *r->group ? "." : "", r->group);
}

/* What obj (a stored or incoming object of r) charges against a quota. */
static void usage_of(const struct ks_resource *r, const json_t *obj, struct qlist *out)
{
	char name[160];
	json_t *spec = json_object_get(obj, "spec");

	out->n = 0;
	group_count_name(name, sizeof(name), r);
	ql_one(out, name);
	if (is(r, "pods")) {
		struct qlist req = {0}, lim = {0};

		if (pod_terminal(obj))
			return;
		pod_sum(spec, "requests", &req);
		pod_sum(spec, "limits", &lim);
		compute_names(&req, &lim, out);
	} else if (is(r, "persistentvolumeclaims")) {
		const char *sc = json_string_value(json_object_get(spec, "storageClassName"));
		struct ks_qty q;

		ql_one(out, "persistentvolumeclaims");
		if (sc && *sc) {
			snprintf(name, sizeof(name),
				 "%s.storageclass.storage.k8s.io/persistentvolumeclaims", sc);
			ql_one(out, name);
		}
		if (ks_qty_of(json_object_get(
				  json_object_get(json_object_get(spec, "resources"), "requests"),
				  "storage"),
			      &q) == 0) {
			ql_add(out, "requests.storage", &q);
			if (sc && *sc) {
				snprintf(name, sizeof(name),
					 "%s.storageclass.storage.k8s.io/requests.storage", sc);
				ql_add(out, name, &q);
			}
		}
	} else if (is(r, "services")) {
		const char *type = json_string_value(json_object_get(spec, "type"));
		size_t ports = json_array_size(json_object_get(spec, "ports")), i;

		ql_one(out, "services");
		if (type && !strcmp(type, "LoadBalancer"))
			ql_one(out, "services.loadbalancers");
		if (type && (!strcmp(type, "NodePort") || !strcmp(type, "LoadBalancer")))
			for (i = 0; i < ports; i++)
				ql_one(out, "services.nodeports");
	} else if (!*r->group && (is(r, "configmaps") || is(r, "secrets") ||
				  is(r, "resourcequotas") || is(r, "replicationcontrollers"))) {
		ql_one(out, r->plural);
	}
}

/* Does a quota on name concern objects of r (evaluator.MatchingResources)? */
static int matches(const struct ks_resource *r, const char *name)
{
	char cn[160];

	group_count_name(cn, sizeof(cn), r);
	if (!strcmp(name, cn))
		return 1;
	if (is(r, "pods")) {
		static const char *const names[] = {"pods",
						    "cpu",
						    "memory",
						    "ephemeral-storage",
						    "requests.cpu",
						    "requests.memory",
						    "requests.ephemeral-storage",
						    "limits.cpu",
						    "limits.memory",
						    "limits.ephemeral-storage",
						    NULL};
		int i;

		for (i = 0; names[i]; i++)
			if (!strcmp(names[i], name))
				return 1;
		return 0;
	}
	if (is(r, "persistentvolumeclaims"))
		return !strcmp(name, "persistentvolumeclaims") ||
		       !strcmp(name, "requests.storage") ||
		       (strstr(name, ".storageclass.storage.k8s.io/") &&
			(strstr(name, "/requests.storage") ||
			 strstr(name, "/persistentvolumeclaims")));
	if (is(r, "services"))
		return !strcmp(name, "services") || !strcmp(name, "services.loadbalancers") ||
		       !strcmp(name, "services.nodeports");
	if (!*r->group && !strcmp(name, r->plural) &&
	    (is(r, "configmaps") || is(r, "secrets") || is(r, "resourcequotas") ||
	     is(r, "replicationcontrollers")))
		return 1;
	return 0;
}

static int scoped(const json_t *quota)
{
	json_t *spec = json_object_get(quota, "spec");

	return json_array_size(json_object_get(spec, "scopes")) ||
	       json_object_get(spec, "scopeSelector");
}

/* Quotas of ns that are modelled (no scopes), sorted by name. OUT: malloc'd array. */
static size_t quotas_of(const char *ns, struct ks_obj ***out)
{
	struct ks_obj **v;
	size_t n = ks_store_select(R("", "resourcequotas"), ns, NULL, &v), i, j = 0;

	for (i = 0; i < n; i++)
		if (!scoped(v[i]->o))
			v[j++] = v[i];
	*out = v;
	return j;
}

/* Sum of what every stored object of r in ns charges under name into sum. */
static void used_by(const struct ks_resource *r, const char *ns, const char *name,
		    struct ks_qty *sum)
{
	struct ks_obj **v;
	size_t n = ks_store_select(r, ns, NULL, &v), i;

	for (i = 0; i < n; i++) {
		struct qlist u;
		struct ks_qty *q;

		usage_of(r, v[i]->o, &u);
		q = ql_find(&u, name);
		if (q)
			ks_qty_add(sum, q);
	}
	free(v);
}

/* The resource a quota name is about, or NULL (an unknown count/x). */
static const struct ks_resource *resource_of(const char *name)
{
	int i;

	for (i = 0; i < ks_nresources; i++)
		if (ks_resources[i].namespaced && matches(&ks_resources[i], name))
			return &ks_resources[i];
	return NULL;
}

/* Current usage of ns under name, from the store. */
static struct ks_qty used_now(const char *ns, const char *name)
{
	struct ks_qty sum = {0, KS_QTY_DECIMAL_SI};
	const struct ks_resource *r = resource_of(name);

	if (r)
		used_by(r, ns, name, &sum);
	return sum;
}

/* --- admission ----------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "a=1,b=2" of the names in names[0..n) taken from l (names missing from l are skipped). */
static void pretty(struct buf *b, struct qlist *l, const char **names, int n)
{
	int i, first = 1;
	char num[64];

	for (i = 0; i < n; i++) {
		struct ks_qty *q = ql_find(l, names[i]);

		if (!q)
			continue;
		buf_addf(b, "%s%s=%s", first ? "" : ",", names[i], ks_qty_str(q, num, sizeof(num)));
		first = 0;
	}
}

/* Pod constraints: every container names the compute resources the quota limits. */
static int pod_constraints(const json_t *pod, const json_t *hard, struct buf *why)
{
	static const char *const validated[] = {
	    "cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory"};
	const char *missing[6][64];
	int nmiss[6] = {0}, k, any = 0;
	const char *lists[] = {"containers", "initContainers"};
	size_t li;

	for (li = 0; li < 2; li++) {
		json_t *c;
		size_t i;

		json_array_foreach(json_object_get(json_object_get(pod, "spec"), lists[li]), i, c) {
			struct qlist req = {0}, lim = {0}, names = {0};
			json_t *res = json_object_get(c, "resources"), *v;
			const char *rk;

			json_object_foreach(json_object_get(res, "requests"), rk, v) {
				struct ks_qty q;

				if (ks_qty_of(v, &q) == 0)
					ql_add(&req, rk, &q);
			}
			json_object_foreach(json_object_get(res, "limits"), rk, v) {
				struct ks_qty q;

				if (ks_qty_of(v, &q) == 0)
					ql_add(&lim, rk, &q);
			}
			compute_names(&req, &lim, &names);
			for (k = 0; k < 6; k++) {
				const char *cn =
				    json_string_value(json_object_get(c, "name")) ?: "";
				int j, dup = 0;

				if (!json_object_get(hard, validated[k]) ||
				    ql_find(&names, validated[k]))
					continue;
				for (j = 0; j < nmiss[k]; j++)
					if (!strcmp(missing[k][j], cn))
						dup = 1;
				if (!dup && nmiss[k] < 64)
					missing[k][nmiss[k]++] = cn;
				any = 1;
			}
		}
	}
	if (!any)
		return 0;
	{
		/* resources sorted, then the containers of each sorted */
		int order[6], n = 0, i, j;

		for (k = 0; k < 6; k++)
			if (nmiss[k])
				order[n++] = k;
		for (i = 1; i < n; i++)
			for (j = i;
			     j > 0 && strcmp(validated[order[j - 1]], validated[order[j]]) > 0;
			     j--) {
				int t = order[j];

				order[j] = order[j - 1];
				order[j - 1] = t;
			}
		buf_adds(why, "must specify ");
		for (i = 0; i < n; i++) {
			k = order[i];
			qsort(missing[k], (size_t)nmiss[k], sizeof(missing[k][0]), cmp_str);
			buf_addf(why, "%s%s for: ", i ? "; " : "", validated[k]);
			for (j = 0; j < nmiss[k]; j++)
				buf_addf(why, "%s%s", j ? "," : "", missing[k][j]);
		}
	}
	return -1;
}

int ks_quota_admit(const struct ks_resource *r, const char *ns, const char *name, const json_t *obj,
		   const json_t *old, struct buf *msg)
{
	struct ks_obj **qs;
	size_t nq = quotas_of(ns, &qs), i;
	struct qlist delta, prev;
	struct buf why = BUF_INIT, gr = BUF_INIT;
	int rc = 0, k;

	if (!nq || !r->namespaced) {
		free(qs);
		return 0;
	}
	ks_group_resource(&gr, r);
	/* constraints first, quota by quota */
	for (i = 0; i < nq && !rc; i++) {
		json_t *hard = json_object_get(json_object_get(qs[i]->o, "spec"), "hard");

		if (is(r, "pods") && !old && pod_constraints(obj, hard, &why) < 0) {
			buf_addf(msg, "%s \"%s\" is forbidden: failed quota: %s: %s", gr.s, name,
				 qs[i]->name, why.s);
			rc = -1;
		}
	}
	if (rc)
		goto out;
	if (old && !is(r, "persistentvolumeclaims"))
		goto out; /* only a claim's update can charge more (pods: scope changes only) */
	usage_of(r, obj, &delta);
	if (old) {
		/* SubtractWithNonNegativeResult: what the update adds */
		usage_of(r, old, &prev);
		for (k = 0; k < delta.n; k++) {
			struct ks_qty *p = ql_find(&prev, delta.e[k].name);

			if (p)
				delta.e[k].q.v -= p->v;
			if (delta.e[k].q.v < 0)
				delta.e[k].q.v = 0;
		}
	}
	for (i = 0; i < nq && !rc; i++) {
		json_t *hard = json_object_get(json_object_get(qs[i]->o, "spec"), "hard"), *hv;
		const char *hk;
		struct qlist req = {0}, used = {0}, lim = {0};
		const char *exceeded[QL_MAX];
		int nex = 0;

		json_object_foreach(hard, hk, hv) {
			struct ks_qty *d = ql_find(&delta, hk), h, u;

			if (!d || !d->v || !matches(r, hk) || ks_qty_of(hv, &h) < 0)
				continue;
			u = used_now(ns, hk);
			ql_add(&req, hk, d);
			ql_add(&used, hk, &u);
			ql_add(&lim, hk, &h);
			{
				struct ks_qty sum = u;

				ks_qty_add(&sum, d);
				if (ks_qty_cmp(&sum, &h) > 0 && nex < QL_MAX)
					exceeded[nex++] = hk;
			}
		}
		if (!nex)
			continue;
		qsort(exceeded, (size_t)nex, sizeof(exceeded[0]), cmp_str);
		buf_addf(msg, "%s \"%s\" is forbidden: exceeded quota: %s, requested: ", gr.s, name,
			 qs[i]->name);
		pretty(msg, &req, exceeded, nex);
		buf_adds(msg, ", used: ");
		pretty(msg, &used, exceeded, nex);
		buf_adds(msg, ", limited: ");
		pretty(msg, &lim, exceeded, nex);
		rc = -1;
	}
out:
	free(qs);
	buf_release(&why);
	buf_release(&gr);
	return rc;
}

/* --- LimitRange defaults ---------------------------------------------------------- */

static void ensure_map(json_t *parent, const char *key, json_t **out)
{
	json_t *v = json_object_get(parent, key);

	if (!json_is_object(v)) {
		v = json_object();
		json_object_set_new(parent, key, v);
	}
	*out = v;
}

/* Fill the resources missing from res[which] from defaults; "cpu, memory" (sorted) of those set. */
static void set_defaults(json_t *res, const char *which, const json_t *defaults, struct buf *set)
{
	const char *names[QL_MAX], *k;
	json_t *have, *v;
	int n = 0, i;

	json_object_foreach((json_t *)defaults, k, v) {
		ensure_map(res, which, &have);
		if (json_object_get(have, k) || n == QL_MAX)
			continue;
		json_object_set(have, k, v);
		names[n++] = k;
	}
	qsort(names, (size_t)n, sizeof(names[0]), cmp_str);
	for (i = 0; i < n; i++)
		buf_addf(set, "%s%s", i ? ", " : "", names[i]);
}

void ks_pod_defaults(const char *ns, json_t *pod)
{
	json_t *spec = json_object_get(pod, "spec"), *c, *lrs_req, *lrs_lim;
	struct ks_obj **lr;
	size_t nlr = ks_store_select(R("", "limitranges"), ns, NULL, &lr), i, li;
	const char *lists[] = {"initContainers", "containers"};
	struct buf note = BUF_INIT;

	/* the defaults of every Container item of every LimitRange (later ones win) */
	lrs_req = json_object();
	lrs_lim = json_object();
	for (i = 0; i < nlr; i++) {
		json_t *item;
		size_t j;

		json_array_foreach(json_object_get(json_object_get(lr[i]->o, "spec"), "limits"), j,
				   item) {
			const char *t = json_string_value(json_object_get(item, "type"));

			if (!t || strcmp(t, "Container"))
				continue;
			json_object_update(lrs_req, json_object_get(item, "defaultRequest"));
			json_object_update(lrs_lim, json_object_get(item, "default"));
		}
	}
	free(lr);
	for (li = 0; li < 2; li++) {
		json_array_foreach(json_object_get(spec, lists[li]), i, c) {
			json_t *res, *req, *lim, *v;
			const char *k;
			struct buf set_req = BUF_INIT, set_lim = BUF_INIT;
			const char *cname = json_string_value(json_object_get(c, "name")) ?: "";
			const char *kind = li ? "container" : "init container";

			if (!json_is_object(c))
				continue;
			ensure_map(c, "resources", &res);
			lim = json_object_get(res, "limits");
			/* API defaulting (SetDefaults_Pod): a limit without a request is the
			 * request */
			json_object_foreach(lim, k, v) {
				ensure_map(res, "requests", &req);
				if (!json_object_get(req, k))
					json_object_set(req, k, v);
			}
			if (!nlr)
				continue;
			set_defaults(res, "limits", lrs_lim, &set_lim);
			set_defaults(res, "requests", lrs_req, &set_req);
			if (set_req.len)
				buf_addf(&note, "%s%s request for %s %s", note.len ? "; " : "",
					 set_req.s, kind, cname);
			if (set_lim.len)
				buf_addf(&note, "%s%s limit for %s %s", note.len ? "; " : "",
					 set_lim.s, kind, cname);
			buf_release(&set_req);
			buf_release(&set_lim);
		}
	}
	if (note.len) {
		json_t *md = json_object_get(pod, "metadata"), *ann;

		ensure_map(md, "annotations", &ann);
		json_object_set_new(ann, "kubernetes.io/limit-ranger",
				    json_sprintf("LimitRanger plugin set: %s", note.s));
	}
	buf_release(&note);
	json_decref(lrs_req);
	json_decref(lrs_lim);
}

/* --- status ------------------------------------------------------------------------ */

static char **dirty;
static size_t ndirty, capdirty;
static int in_sync;

void ks_quota_touch(const char *ns)
{
	size_t i;

	if (in_sync || !ns || !*ns)
		return;
	/* writes come in runs per namespace: a short look back keeps the list small (a repeat
	 * only costs a second, idempotent sync) without a quadratic scan on bulk loads */
	for (i = ndirty; i-- > 0 && ndirty - i <= 8;)
		if (!strcmp(dirty[i], ns))
			return;
	if (ndirty == capdirty) {
		capdirty = capdirty ? capdirty * 2 : 16;
		dirty = realloc(dirty, capdirty * sizeof(*dirty));
		if (!dirty)
			die_oom();
	}
	dirty[ndirty] = strdup(ns);
	if (!dirty[ndirty])
		die_oom();
	ndirty++;
}

static void sync_ns(const char *ns)
{
	struct ks_obj **v;
	size_t n = ks_store_select(R("", "resourcequotas"), ns, NULL, &v), i;

	for (i = 0; i < n; i++) {
		json_t *hard = json_object_get(json_object_get(v[i]->o, "spec"), "hard"), *hv;
		json_t *st = json_pack("{s:o,s:o}", "hard", json_object(), "used", json_object());
		const char *hk;

		json_object_foreach(hard, hk, hv) {
			struct ks_qty h, u = {0, KS_QTY_DECIMAL_SI};
			char num[64];

			if (ks_qty_of(hv, &h) < 0)
				continue;
			json_object_set_new(json_object_get(st, "hard"), hk,
					    json_string(ks_qty_str(&h, num, sizeof(num))));
			if (!scoped(v[i]->o))
				u = used_now(ns, hk);
			json_object_set_new(json_object_get(st, "used"), hk,
					    json_string(ks_qty_str(&u, num, sizeof(num))));
		}
		if (!json_equal(st, json_object_get(v[i]->o, "status"))) {
			json_t *o = json_deep_copy(v[i]->o);

			json_object_set_new(o, "status", st);
			ks_store_update(v[i], o);
		} else {
			json_decref(st);
		}
	}
	free(v);
}

void ks_quota_sync(void)
{
	size_t i;

	if (!ndirty)
		return;
	in_sync = 1;
	for (i = 0; i < ndirty; i++) {
		sync_ns(dirty[i]);
		free(dirty[i]);
	}
	ndirty = 0;
	in_sync = 0;
}
