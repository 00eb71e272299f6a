/* smp.c - strategic merge patch (application/strategic-merge-patch+json), driven by the schema's
 * x-kubernetes-patch-strategy and x-kubernetes-patch-merge-key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kubesim.h"

/*
 * What kubectl edit, patch, label, annotate and client-side apply send
 * (k8s.io/apimachinery pkg/util/strategicpatch, mergeMap/mergeSlice):
 *
 *   maps merge key by key, null deletes; {"$patch":"replace"} replaces a
 *   map, {"$patch":"delete"} removes it; "$retainKeys":[...] drops the
 *   keys not listed (a retainKeys field such as a Deployment's strategy);
 *   a list whose strategy is "merge" merges: items of a list of objects
 *   are matched by the merge key (containers by name, ports by
 *   containerPort...), {"name":"x","$patch":"delete"} removes one, a
 *   {"$patch":"replace"} item replaces the whole list; a list of scalars
 *   is a union, "$deleteFromPrimitiveList/<field>" removes values;
 *   "$setElementOrder/<field>" gives the merged list's order;
 *   any other list (and any field of a replace strategy) is replaced.
 *
 * Unknown fields and open maps (labels, annotations, data) merge like a
 * JSON merge patch.
 */

static int is_directive(const char *k)
{
	return k[0] == '$';
}

/* A copy of v without directive keys (what a patch value becomes when the original lacks it). */
static json_t *strip(const json_t *v)
{
	if (json_is_object(v)) {
		json_t *o = json_object(), *x;
		const char *k;

		json_object_foreach((json_t *)v, k, x) {
			if (is_directive(k) || json_is_null(x))
				continue;
			json_object_set_new(o, k, strip(x));
		}
		return o;
	}
	if (json_is_array(v)) {
		json_t *a = json_array(), *x;
		size_t i;

		json_array_foreach(v, i, x) {
			if (json_is_object(x) && json_is_string(json_object_get(x, "$patch")))
				continue;
			json_array_append_new(a, strip(x));
		}
		return a;
	}
	return json_deep_copy(v);
}

static void merge_map(int t, json_t *dst, const json_t *patch);

static int same_key(const json_t *a, const json_t *b, const char *key)
{
	json_t *x = json_object_get(a, key), *y = json_object_get(b, key);

	return x && y && json_equal(x, y);
}

static void order_by(json_t *list, const json_t *order, const char *key)
{
	json_t *out = json_array(), *o, *it;
	size_t i, j, n = json_array_size(list);
	char *used = calloc(n + 1, 1);

	if (!used)
		die_oom();
	json_array_foreach(order, i, o) {
		json_array_foreach(list, j, it) {
			if (used[j])
				continue;
			if (key ? json_is_object(o) && same_key(it, o, key) : json_equal(it, o)) {
				json_array_append(out, it);
				used[j] = 1;
				break;
			}
		}
	}
	/* items the patch did not mention keep their order after those it ordered */
	json_array_foreach(list, j, it)
		if (!used[j])
			json_array_append(out, it);
	json_array_clear(list);
	json_array_extend(list, out);
	json_decref(out);
	free(used);
}

/* Merge patch list p into list dst of field f. Returns the list to store (new ref). */
static json_t *merge_list(const struct ks_field *f, const json_t *dst, const json_t *p,
			  const json_t *order, const json_t *del_prims)
{
	json_t *out = json_is_array(dst) ? json_deep_copy(dst) : json_array(), *it;
	size_t i, j;
	const char *key = f->pkey && *f->pkey ? f->pkey : NULL;

	if (f->type < 0) {
		/* a list of scalars: union, minus "$deleteFromPrimitiveList" */
		json_array_foreach(p, i, it) {
			int have = 0;
			json_t *x;

			json_array_foreach(out, j, x)
				if (json_equal(x, it))
					have = 1;
			if (!have)
				json_array_append(out, it);
		}
		json_array_foreach(del_prims, i, it)
			for (j = json_array_size(out); j-- > 0;)
				if (json_equal(json_array_get(out, j), it))
					json_array_remove(out, j);
		if (json_array_size(order))
			order_by(out, order, NULL);
		return out;
	}
	json_array_foreach(p, i, it) {
		const char *pd = json_string_value(json_object_get(it, "$patch"));

		if (pd && !strcmp(pd, "replace")) {
			/* the list is the patch's, minus the directive item */
			json_decref(out);
			return strip(p);
		}
	}
	json_array_foreach(p, i, it) {
		const char *pd = json_string_value(json_object_get(it, "$patch"));
		int found = -1;
		json_t *x;

		if (!json_is_object(it) || !key) {
			json_array_append_new(out, strip(it));
			continue;
		}
		json_array_foreach(out, j, x)
			if (same_key(x, it, key)) {
				found = (int)j;
				break;
			}
		if (pd && !strcmp(pd, "delete")) {
			if (found >= 0)
				json_array_remove(out, (size_t)found);
			continue;
		}
		if (found >= 0)
			merge_map(f->type, json_array_get(out, (size_t)found), it);
		else
			json_array_append_new(out, strip(it));
	}
	if (json_array_size(order))
		order_by(out, order, key);
	return out;
}

static void merge_map(int t, json_t *dst, const json_t *patch)
{
	const char *k, *pd = json_string_value(json_object_get(patch, "$patch"));
	json_t *v, *keep = json_object_get(patch, "$retainKeys");

	if (!json_is_object(dst))
		return;
	if (pd && !strcmp(pd, "replace")) {
		json_t *n = strip(patch);

		json_object_clear(dst);
		json_object_update(dst, n);
		json_decref(n);
		return;
	}
	if (json_is_array(keep)) {
		json_t *x;
		size_t i;
		void *tmp;

		json_object_foreach_safe(dst, tmp, k, v)
		{
			int listed = 0;

			json_array_foreach(keep, i, x)
				if (json_is_string(x) && !strcmp(json_string_value(x), k))
					listed = 1;
			if (!listed)
				json_object_del(dst, k);
		}
	}
	json_object_foreach((json_t *)patch, k, v) {
		const struct ks_field *f;
		json_t *cur;

		if (is_directive(k))
			continue;
		f = ks_schema_field(t, k);
		cur = json_object_get(dst, k);
		if (json_is_null(v)) {
			json_object_del(dst, k);
			continue;
		}
		if (json_is_object(v) && json_is_string(json_object_get(v, "$patch")) &&
		    !strcmp(json_string_value(json_object_get(v, "$patch")), "delete")) {
			json_object_del(dst, k);
			continue;
		}
		if (!cur || json_is_null(cur)) {
			json_object_set_new(dst, k, strip(v));
			continue;
		}
		if (f && (f->pstrat & KS_PATCH_REPLACE)) {
			json_object_set_new(dst, k, strip(v));
			continue;
		}
		if (json_is_object(v) && json_is_object(cur)) {
			if (f && f->kind == KS_MAP) {
				const char *mk;
				json_t *mv;

				json_object_foreach(v, mk, mv) {
					json_t *c2 = json_object_get(cur, mk);

					if (is_directive(mk))
						continue;
					if (json_is_null(mv))
						json_object_del(cur, mk);
					else if (f->type >= 0 && json_is_object(c2) &&
						 json_is_object(mv))
						merge_map(f->type, c2, mv);
					else
						json_object_set_new(cur, mk, strip(mv));
				}
			} else {
				merge_map(f && f->kind == KS_OBJECT ? f->type : -1, cur, v);
			}
			continue;
		}
		if (json_is_array(v) && json_is_array(cur) && f && f->kind == KS_ARRAY &&
		    (f->pstrat & KS_PATCH_MERGE)) {
			char dk[160];
			json_t *order, *del;

			snprintf(dk, sizeof(dk), "$setElementOrder/%s", k);
			order = json_object_get(patch, dk);
			snprintf(dk, sizeof(dk), "$deleteFromPrimitiveList/%s", k);
			del = json_object_get(patch, dk);
			json_object_set_new(dst, k, merge_list(f, cur, v, order, del));
			continue;
		}
		json_object_set_new(dst, k, strip(v));
	}
	/* directives about lists the patch did not otherwise touch */
	json_object_foreach((json_t *)patch, k, v) {
		const char *field = NULL;
		const struct ks_field *f;
		json_t *cur;

		if (!strncmp(k, "$deleteFromPrimitiveList/", 25))
			field = k + 25;
		else if (!strncmp(k, "$setElementOrder/", 17))
			field = k + 17;
		if (!field || json_object_get(patch, field))
			continue;
		f = ks_schema_field(t, field);
		cur = json_object_get(dst, field);
		if (!f || f->kind != KS_ARRAY || !json_is_array(cur))
			continue;
		if (k[1] == 'd') {
			json_object_set_new(dst, field, merge_list(f, cur, NULL, NULL, v));
		} else {
			json_t *c = json_deep_copy(cur);

			order_by(c, v, f->pkey && *f->pkey ? f->pkey : NULL);
			json_object_set_new(dst, field, c);
		}
	}
}

void ks_smp_apply(const struct ks_resource *r, json_t *dst, const json_t *patch)
{
	merge_map(r->type, dst, patch);
}
