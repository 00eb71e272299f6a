/* storage.c - StorageClasses as the API server's admission uses them: the default class of a new
 * claim and whether a claim may grow. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kubesim.h"

/*
 * Two admission plugins of k8s.io/kubernetes plugin/pkg/admission/storage:
 *
 *   DefaultStorageClass (mutating, on create): a claim without
 *     spec.storageClassName gets the default StorageClass, the one annotated
 *     storageclass.kubernetes.io/is-default-class: "true" (the newest when
 *     several are, as since 1.26; of those created in the same second, the
 *     first by name, as GetDefaultClass sorts them).  An explicit "" stays
 *     "" (no class).
 *   PersistentVolumeClaimResize (validating, on update): a claim whose
 *     spec.resources.requests.storage grows must name a class, the same as
 *     before, that exists and has allowVolumeExpansion: true; otherwise 403
 *     Forbidden "persistentvolumeclaims \"x\" is forbidden: only dynamically
 *     provisioned pvc can be resized and the storageclass that provisions
 *     the pvc must support resize".  (k3s's local-path class has no
 *     allowVolumeExpansion, so its claims never grow.)
 *
 * The resize itself (status.allocatedResources, allocatedResourceStatuses,
 * the Resizing and FileSystemResizePending conditions, then capacity) is
 * the controllers' (controllers.c pvc_resize_step).
 */

static const struct ks_resource *sc_res(void)
{
	return ks_resource_find("storage.k8s.io", "v1", "storageclasses");
}

static const char *class_of(const json_t *pvc)
{
	return json_string_value(json_object_get(json_object_get(pvc, "spec"), "storageClassName"));
}

void ks_pvc_default_class(json_t *pvc)
{
	json_t *spec = json_object_get(pvc, "spec");
	struct ks_obj **v;
	size_t n, i;
	const char *best = NULL, *best_ts = "";

	if (!json_is_object(spec) || json_object_get(spec, "storageClassName"))
		return;
	n = ks_store_select(sc_res(), "", NULL, &v);
	for (i = 0; i < n; i++) {
		json_t *md = json_object_get(v[i]->o, "metadata");
		const char *d = json_string_value(
		    json_object_get(json_object_get(md, "annotations"),
				    "storageclass.kubernetes.io/is-default-class"));
		const char *ts = json_string_value(json_object_get(md, "creationTimestamp")) ?: "";
		int cmp = best ? strcmp(ts, best_ts) : 1;

		if (d && !strcmp(d, "true") &&
		    (cmp > 0 || (cmp == 0 && strcmp(v[i]->name, best) < 0))) {
			best = v[i]->name;
			best_ts = ts;
		}
	}
	if (best)
		json_object_set_new(spec, "storageClassName", json_string(best));
	free(v);
}

int ks_pvc_resize_admit(const char *name, const json_t *o, const json_t *old, struct buf *msg)
{
	const json_t *nq = json_object_get(
	    json_object_get(json_object_get(json_object_get(o, "spec"), "resources"), "requests"),
	    "storage");
	const json_t *oq = json_object_get(
	    json_object_get(json_object_get(json_object_get(old, "spec"), "resources"), "requests"),
	    "storage");
	const char *cls = class_of(o), *was = class_of(old);
	struct ks_qty a, b;
	struct ks_obj *sc;

	if (ks_qty_of(nq, &a) < 0 || ks_qty_of(oq, &b) < 0 || ks_qty_cmp(&a, &b) <= 0)
		return 0; /* not an expansion */
	if (cls && *cls && was && !strcmp(cls, was) && (sc = ks_store_get(sc_res(), "", cls)) &&
	    json_is_true(json_object_get(sc->o, "allowVolumeExpansion")))
		return 0;
	buf_addf(msg,
		 "persistentvolumeclaims \"%s\" is forbidden: only dynamically provisioned pvc can "
		 "be resized and the storageclass that provisions the pvc must support resize",
		 name);
	return -1;
}
