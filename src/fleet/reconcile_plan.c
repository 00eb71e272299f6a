/* reconcile_plan.c - a store's plan change: the new quota and limits, and bigger volumes where
 * the StorageClass lets them grow (or the change put back with the reason). */
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "audit.h"
#include "blueprint.h"
#include "config.h"
#include "log.h"
#include "plan.h"
#include "reconcile_int.h"

/*
 * The web app records a change as stores.plan != plan_applied
 * (sql/013_plans.sql) on a ready store; a pass claims it (decide_running)
 * and carries it out here in one claim:
 *
 *  1. the store's set rendered with the new plan's values;
 *  2. every data volume of the set (the PVCs, and the claims of each
 *     StatefulSet's volumeClaimTemplates, <template>-<set>-<ordinal>) read
 *     back: a volume that would shrink refuses the change (the web app
 *     refuses it first; this is for a plans file edited meanwhile), and
 *     one that grows needs its StorageClass to exist with
 *     allowVolumeExpansion: true, else the change is refused in plain
 *     words before anything is applied, so the quota stays as it was;
 *  3. the set applied (ResourceQuota and LimitRange first, in the
 *     blueprint's order; the StatefulSets keep their claim templates, which
 *     the API server does not let change), then each StatefulSet claim
 *     that grows patched (merge patch of spec.resources.requests.storage);
 *  4. plan_applied = plan, an event saying what changed and an audit row
 *     (store.plan_applied); or, refused, plan = plan_applied, a warning
 *     event with the reason and an audit row (store.plan_refused).  The
 *     store stays ready either way.  A refusal by the API server itself
 *     (403, e.g. the PersistentVolumeClaimResize admission) after the
 *     quota went in puts the old plan's set back before saying so.
 *
 * A transient Kubernetes error is cluster trouble: the change waits for
 * the next claim, nothing is put back.  The volumes then resize on their
 * own (status.allocatedResourceStatuses, the FileSystemResizePending
 * condition until a pod mounts them: docs/k8s-semantics.md).
 */

json_t *reconcile_values(struct reconcile *r, const struct store *s, const char *plan,
			 const json_t *more, char *why, size_t n)
{
	struct err e = ERR_INIT;
	const struct plans *ps = plans_get(&e);
	const json_t *p;

	if (!ps) {
		snprintf(why, n, "the plans file cannot be loaded (see the log)");
		return NULL;
	}
	p = plans_find(ps, plan ? plan : s->plan_applied);
	if (!p) {
		snprintf(why, n,
			 "the store's plan '%s' is not in the plans file (the plans are %s)",
			 plan ? plan : s->plan_applied, plans_names(ps));
		return NULL;
	}
	return arena_json(r->a, plan_store_values(p, s->engine, more));
}

/* The path of a namespaced object of the store; arena string. */
static const char *obj_path(struct reconcile *r, const struct store *s, const char *api_version,
			    const char *kind, const char *name)
{
	struct buf b = BUF_INIT;
	struct err e = ERR_INIT;
	char ns[64];
	const char *out;

	snprintf(ns, sizeof(ns), "store-%s", s->id);
	if (k8s_path(&b, api_version, kind, ns, name, &e) < 0)
		BUG("path: %s", e.msg);
	out = arena_strdup(r->a, b.s);
	buf_release(&b);
	return out;
}

/* GET one object: the object (arena), NULL with *gone = 1 on 404, NULL with ke otherwise. */
static json_t *get_obj(struct reconcile *r, const char *path, int *gone, struct k8s_err *ke)
{
	json_t *o;

	memset(ke, 0, sizeof(*ke));
	*gone = 0;
	o = arena_json(r->a, k8s_get(r->k, path, ke));
	if (!o && ke->st.code == 404)
		*gone = 1;
	return o;
}

static const json_t *claim_storage(const json_t *spec)
{
	return jpath(json_object_get(spec, "resources"), "requests", "storage");
}

int reconcile_keep_claim_templates(struct reconcile *r, const struct store *s, json_t *set,
				   struct k8s_err *ke)
{
	json_t *o;
	size_t i;

	json_array_foreach(set, i, o) {
		json_t *live, *t;
		size_t k;
		int gone;

		if (strcmp(jstr(o, "kind"), "StatefulSet") ||
		    !json_array_size(jpath(o, "spec", "volumeClaimTemplates")))
			continue;
		live = get_obj(r,
			       obj_path(r, s, "apps/v1", "StatefulSet",
					jstr(json_object_get(o, "metadata"), "name")),
			       &gone, ke);
		if (!live && gone)
			continue;
		if (!live)
			return -1;
		json_array_foreach(jpath(o, "spec", "volumeClaimTemplates"), k, t) {
			const char *tn = jstr(json_object_get(t, "metadata"), "name");
			json_t *lt, *req = json_object_get(
					json_object_get(json_object_get(t, "spec"), "resources"),
					"requests");
			size_t j;

			json_array_foreach(jpath(live, "spec", "volumeClaimTemplates"), j, lt) {
				const json_t *was = claim_storage(json_object_get(lt, "spec"));

				if (!strcmp(tn, jstr(json_object_get(lt, "metadata"), "name")) &&
				    was && json_is_object(req))
					json_object_set(req, "storage", (json_t *)was);
			}
		}
	}
	return 0;
}

/* One data volume of the new set: its claim, and what the plan asks of it. */
struct vol {
	const char *name;  /* the PersistentVolumeClaim */
	const char *want;  /* storage the new plan asks for */
	const char *have;  /* storage the claim asks for now */
	const char *cls;   /* its StorageClass ("" = none) */
	int from_template; /* a StatefulSet's claim: patched, not applied */
	int grows;
};

#define VOL_MAX	    16
#define MERGE_PATCH "application/merge-patch+json"

/* The data volumes of set, in the set's order (at most VOL_MAX). */
static int volumes(struct reconcile *r, json_t *set, struct vol *v)
{
	json_t *o, *t;
	size_t i, k;
	int n = 0;

	json_array_foreach(set, i, o) {
		const char *name = jstr(json_object_get(o, "metadata"), "name");

		if (!strcmp(jstr(o, "kind"), "PersistentVolumeClaim") && n < VOL_MAX) {
			v[n] = (struct vol){
			    .name = name,
			    .want = json_string_value(claim_storage(json_object_get(o, "spec")))};
			n++;
		}
		if (strcmp(jstr(o, "kind"), "StatefulSet"))
			continue;
		json_array_foreach(jpath(o, "spec", "volumeClaimTemplates"), k, t) {
			json_int_t replicas = json_integer_value(jpath(o, "spec", "replicas"));

			if (!json_object_get(json_object_get(o, "spec"), "replicas"))
				replicas = 1;
			for (json_int_t ord = 0; ord < replicas && n < VOL_MAX; ord++) {
				v[n] =
				    (struct vol){.name = arena_printf(
						     r->a, "%s-%s-%lld",
						     jstr(json_object_get(t, "metadata"), "name"),
						     name, (long long)ord),
						 .want = json_string_value(
						     claim_storage(json_object_get(t, "spec"))),
						 .from_template = 1};
				n++;
			}
		}
	}
	return n;
}

/* Save the outcome; refused = why the change was put back (NULL = applied). */
static void finish(struct reconcile *r, struct store *s, struct lease *l, const char *refused,
		   const char *what)
{
	struct lease_save w = {0};
	struct view *d = view_obj(r->a);
	struct err e = ERR_INIT;
	const char *msg;

	w.attempts = 0;
	w.release = 1;
	if (refused) {
		msg =
		    arena_printf(r->a, "Plan change to %s refused: %s. The store stays on plan %s.",
				 s->plan, refused, s->plan_applied);
		w.plan = s->plan_applied;
		lease_event(&w, "plan", "warn", msg);
	} else {
		msg = arena_printf(r->a, "Plan changed from %s to %s: %s.", s->plan_applied,
				   s->plan, what);
		w.plan_applied = s->plan;
		lease_event(&w, "plan", "info", msg);
	}
	if (reconcile_save(r, l, &w) <= 0)
		return;
	r->transitions++;
	view_set_str(d, "from", s->plan_applied);
	view_set_str(d, "to", s->plan);
	if (refused)
		view_set_str(d, "reason", refused);
	if (audit_record(r->a, 0, "storefleet", NULL,
			 refused ? "store.plan_refused" : "store.plan_applied", s->id, d, &e) < 0)
		log_error("reconcile: store %s: audit: %s", s->id, e.msg);
	log_info("reconcile: store %s: %s", s->id, msg);
}

/* Apply the set rendered on plan (for putting the old plan back); 0 or -1. */
static int apply_plan(struct reconcile *r, struct store *s, const struct engine_bp *eb,
		      const json_t *creds, const char *plan, struct k8s_err *ke)
{
	char why[400];
	json_t *values = reconcile_values(r, s, plan, NULL, why, sizeof(why)), *set;
	struct blueprint_store bs = {s->id, s->name, s->email, *s->version ? s->version : NULL,
				     creds, values};
	struct err e = ERR_INIT;

	memset(ke, 0, sizeof(*ke));
	if (!values || !(set = arena_json(r->a, blueprint_render(eb->bp, &bs, &e))))
		return -1;
	if (reconcile_keep_claim_templates(r, s, set, ke) < 0)
		return -1;
	return k8s_apply_all(r->k, set, NULL, NULL, NULL, ke);
}

void reconcile_plan_change(struct reconcile *r, struct store *s, struct lease *l)
{
	struct engine_bp *eb = reconcile_engine_bp(r, s->engine);
	struct vol v[VOL_MAX];
	struct k8s_err ke;
	struct err e = ERR_INIT;
	struct buf grown = BUF_INIT;
	json_t *creds = NULL, *values, *set, *live;
	char why[600];
	int generated = 0, n, gone;
	const char *what;

	memset(&ke, 0, sizeof(ke));
	if (!eb || !eb->bp) {
		finish(r, s, l, arena_printf(r->a, "the %s blueprint cannot be loaded", s->engine),
		       NULL);
		return;
	}
	if (!(values = reconcile_values(r, s, s->plan, NULL, why, sizeof(why)))) {
		finish(r, s, l, arena_strdup(r->a, why), NULL);
		return;
	}
	if (reconcile_credentials(r, s, eb, 0, &creds, &generated, &ke) < 0)
		goto k8s;
	{
		struct blueprint_store bs = {
		    s->id, s->name, s->email, *s->version ? s->version : NULL, creds, values};

		set = arena_json(r->a, blueprint_render(eb->bp, &bs, &e));
	}
	if (!set) {
		finish(r, s, l,
		       arena_printf(r->a, "the %s blueprint cannot be rendered on it: %s",
				    s->engine, e.msg),
		       NULL);
		return;
	}

	/* 2: every volume read back; a shrink or a class that cannot grow refuses it here */
	n = volumes(r, set, v);
	for (int i = 0; i < n; i++) {
		long long want = plan_quantity_bytes(v[i].want), have;

		live = get_obj(r, obj_path(r, s, "v1", "PersistentVolumeClaim", v[i].name), &gone,
			       &ke);
		if (!live && gone)
			continue; /* made at the new size when it is made */
		if (!live)
			goto k8s;
		v[i].have = json_string_value(claim_storage(json_object_get(live, "spec")));
		v[i].cls = jstr(json_object_get(live, "spec"), "storageClassName");
		have = plan_quantity_bytes(v[i].have);
		if (want < 0 || have < 0) {
			finish(r, s, l,
			       arena_printf(r->a,
					    "the size of volume %s cannot be compared (%s, %s)",
					    v[i].name, v[i].have ? v[i].have : "none",
					    v[i].want ? v[i].want : "none"),
			       NULL);
			return;
		}
		if (want < have) {
			finish(
			    r, s, l,
			    arena_printf(r->a,
					 "storage cannot shrink: volume %s has %s, the plan gives "
					 "it %s",
					 v[i].name, v[i].have, v[i].want),
			    NULL);
			return;
		}
		v[i].grows = want > have;
		if (!v[i].grows)
			continue;
		if (!*v[i].cls) {
			finish(r, s, l,
			       arena_printf(r->a,
					    "volume %s has no StorageClass, and only a volume a "
					    "StorageClass provisioned can grow",
					    v[i].name),
			       NULL);
			return;
		}
		live = get_obj(
		    r, arena_printf(r->a, "/apis/storage.k8s.io/v1/storageclasses/%s", v[i].cls),
		    &gone, &ke);
		if (!live && !gone)
			goto k8s;
		if (!live || !json_is_true(json_object_get(live, "allowVolumeExpansion"))) {
			finish(r, s, l,
			       arena_printf(r->a,
					    "volume %s cannot grow from %s to %s: its StorageClass "
					    "\"%s\" %s",
					    v[i].name, v[i].have, v[i].want, v[i].cls,
					    live ? "does not allow volume expansion "
						   "(allowVolumeExpansion is not true)"
						 : "does not exist"),
			       NULL);
			return;
		}
	}

	/* 3: the set (quota and limits first), then the StatefulSets' claims */
	if (reconcile_keep_claim_templates(r, s, set, &ke) < 0)
		goto k8s;
	if (k8s_apply_all(r->k, set, NULL, NULL, NULL, &ke) < 0)
		goto refused_by_api;
	for (int i = 0; i < n; i++) {
		if (!v[i].grows)
			continue;
		if (v[i].from_template) {
			const char *body = arena_printf(
			    r->a, "{\"spec\":{\"resources\":{\"requests\":{\"storage\":\"%s\"}}}}",
			    v[i].want);
			const char *path = obj_path(r, s, "v1", "PersistentVolumeClaim", v[i].name);
			json_t *got;

			memset(&ke, 0, sizeof(ke));
			got = k8s_request(r->k, "PATCH", path, body, MERGE_PATCH, NULL, &ke);
			if (!arena_json(r->a, got))
				goto refused_by_api;
		}
		buf_addf(&grown, "%s%s %s to %s", grown.len ? ", " : "", v[i].name, v[i].have,
			 v[i].want);
	}
	what = grown.len ? arena_printf(r->a, "new quota and limits applied; volumes growing: %s",
					grown.s)
			 : "new quota and limits applied; no volume grows";
	buf_release(&grown);
	finish(r, s, l, NULL, what);
	return;

refused_by_api:
	buf_release(&grown);
	if (k8s_transient_err(&ke))
		goto k8s;
	snprintf(why, sizeof(why), "kubernetes refused it: %.400s",
		 *ke.st.message ? ke.st.message : ke.err.msg);
	{
		struct k8s_err back;

		/* the old plan's quota and limits back (a volume that grew stays grown) */
		if (apply_plan(r, s, eb, creds, s->plan_applied, &back) < 0)
			log_error("reconcile: store %s: putting plan %s back: %s", s->id,
				  s->plan_applied,
				  *back.st.message ? back.st.message : back.err.msg);
	}
	finish(r, s, l, arena_strdup(r->a, why), NULL);
	return;
k8s:
	buf_release(&grown);
	if (k8s_transient_err(&ke)) {
		reconcile_trouble(r, l, "change the store's plan", &ke);
		return;
	}
	finish(r, s, l,
	       arena_printf(r->a, "kubernetes refused it: %.400s",
			    *ke.st.message ? ke.st.message : ke.err.msg),
	       NULL);
}
