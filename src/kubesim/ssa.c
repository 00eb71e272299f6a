/* ssa.c - server-side apply: field sets (managedFields fieldsV1), ownership, conflicts, merge. */
#include <stdio.h>
#include <string.h>

#include "kubesim.h"

/*
 * A field set is the fieldsV1 tree itself ({"f:spec":{"f:replicas":{}}}):
 * "f:<name>" for object fields and map keys, "k:<json>" for list-map items
 * (which also carry "." for the item itself), "v:<json>" for set items.  A
 * path is a JSON array of those segments.  Only leaves are compared for
 * conflicts, as structured-merge-diff does for scalar fields.
 */

void ks_list_key(struct buf *b, const json_t *item, const char *keys);

static const char *const SKIP_META[] = {"name",
					"namespace",
					"uid",
					"resourceVersion",
					"generation",
					"creationTimestamp",
					"managedFields",
					"deletionTimestamp",
					"deletionGracePeriodSeconds",
					"selfLink",
					NULL};

static int skip_meta(const char *k)
{
	int i;

	for (i = 0; SKIP_META[i]; i++)
		if (!strcmp(SKIP_META[i], k))
			return 1;
	return 0;
}

static char *item_key(const json_t *item, const char *keys)
{
	json_t *k = json_object();
	const char *p = keys;
	char name[64], *s;

	while (*p) {
		size_t n = strcspn(p, ",");
		json_t *v;

		snprintf(name, sizeof(name), "%.*s", (int)n, p);
		v = json_object_get(item, name);
		if (!v && !strcmp(name, "protocol"))
			json_object_set_new(k, name, json_string("TCP"));
		else if (v)
			json_object_set(k, name, v);
		p += n;
		if (*p == ',')
			p++;
	}
	s = json_dumps(k, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(k);
	return s;
}

static json_t *set_of(int t, const json_t *o, int top);

static json_t *set_value(const struct ks_field *f, const json_t *v)
{
	json_t *s = json_object(), *item;
	size_t i;
	const char *k;
	char seg[1024];

	if (!f || json_is_null(v))
		return s;
	if (f->kind == KS_OBJECT && f->type >= 0 && !ks_types[f->type].open && json_is_object(v)) {
		json_decref(s);
		return set_of(f->type, v, 0);
	}
	if (f->kind == KS_MAP && json_is_object(v)) {
		json_object_foreach((json_t *)v, k, item) {
			snprintf(seg, sizeof(seg), "f:%s", k);
			json_object_set_new(
			    s, seg, f->type >= 0 ? set_of(f->type, item, 0) : json_object());
		}
		return s;
	}
	if (f->kind == KS_ARRAY && json_is_array(v) && f->list == KS_LIST_MAP && *f->keys) {
		json_array_foreach(v, i, item) {
			char *key = item_key(item, f->keys);
			json_t *sub = f->type >= 0 ? set_of(f->type, item, 0) : json_object();

			json_object_set_new(sub, ".", json_object());
			snprintf(seg, sizeof(seg), "k:%s", key ? key : "{}");
			free(key);
			json_object_set_new(s, seg, sub);
		}
		return s;
	}
	if (f->kind == KS_ARRAY && json_is_array(v) && f->list == KS_LIST_SET) {
		json_array_foreach(v, i, item) {
			char *d = json_dumps(item, JSON_COMPACT | JSON_ENCODE_ANY);

			snprintf(seg, sizeof(seg), "v:%s", d ? d : "null");
			free(d);
			json_object_set_new(s, seg, json_object());
		}
		return s;
	}
	return s;
}

static json_t *set_of(int t, const json_t *o, int top)
{
	json_t *s = json_object(), *v;
	const char *k;
	char seg[600];

	json_object_foreach((json_t *)o, k, v) {
		const struct ks_field *f = ks_schema_field(t, k);
		json_t *sub;

		if (top && (!strcmp(k, "apiVersion") || !strcmp(k, "kind") || !strcmp(k, "status")))
			continue;
		if (json_is_null(v))
			continue;
		if (top && !strcmp(k, "metadata")) {
			json_t *m = json_object(), *mv;
			const char *mk;

			json_object_foreach(v, mk, mv) {
				if (skip_meta(mk))
					continue;
				snprintf(seg, sizeof(seg), "f:%s", mk);
				json_object_set_new(
				    m, seg, set_value(ks_schema_field(f ? f->type : -1, mk), mv));
			}
			if (json_object_size(m))
				json_object_set_new(s, "f:metadata", m);
			else
				json_decref(m);
			continue;
		}
		sub = set_value(f, v);
		snprintf(seg, sizeof(seg), "f:%s", k);
		json_object_set_new(s, seg, sub);
	}
	return s;
}

json_t *ks_ssa_fieldset(const struct ks_resource *r, const json_t *o)
{
	return set_of(r->type, o, 1);
}

/* --- paths ---------------------------------------------------------------- */

static void leaves(const json_t *set, json_t *prefix, json_t *out)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)set, k, v) {
		size_t n = json_object_size(v);

		if (!strcmp(k, "."))
			continue;
		json_array_append_new(prefix, json_string(k));
		if (n == 0 || json_object_get(v, "."))
			json_array_append_new(out, json_deep_copy(prefix));
		if (n)
			leaves(v, prefix, out);
		json_array_remove(prefix, json_array_size(prefix) - 1);
	}
}

static json_t *set_leaves(const json_t *set)
{
	json_t *out = json_array(), *prefix = json_array();

	leaves(set, prefix, out);
	json_decref(prefix);
	return out;
}

static int set_has(const json_t *set, const json_t *path)
{
	size_t i;
	json_t *seg;

	json_array_foreach(path, i, seg) {
		set = json_object_get(set, json_string_value(seg));
		if (!set)
			return 0;
	}
	return 1;
}

static void set_remove(json_t *set, const json_t *path, size_t i)
{
	const char *seg = json_string_value(json_array_get(path, i));
	json_t *child = json_object_get(set, seg);

	if (!child)
		return;
	if (i + 1 == json_array_size(path)) {
		json_t *dot = json_object_get(child, ".");

		if (dot && json_object_size(child) > 1)
			json_object_del(child, ".");
		else if (!json_object_size(child) || dot)
			json_object_del(set, seg);
		return;
	}
	set_remove(child, path, i + 1);
	if (!json_object_size(child))
		json_object_del(set, seg);
}

static void set_add(json_t *set, const json_t *path)
{
	size_t i, n = json_array_size(path);

	for (i = 0; i < n; i++) {
		const char *seg = json_string_value(json_array_get(path, i));
		json_t *child = json_object_get(set, seg);

		if (!child) {
			child = json_object();
			json_object_set_new(set, seg, child);
		}
		if (i + 1 == n && !strncmp(seg, "k:", 2) && json_object_size(child))
			json_object_set_new(child, ".", json_object());
		set = child;
	}
}

static int item_matches(const json_t *item, const char *seg)
{
	json_t *k;
	const char *key;
	json_t *v;
	int ok = 1;

	if (!strncmp(seg, "v:", 2)) {
		json_t *want = json_loads(seg + 2, JSON_DECODE_ANY, NULL);

		ok = want && json_equal(want, item);
		json_decref(want);
		return ok;
	}
	k = json_loads(seg + 2, 0, NULL);
	if (!k || !json_is_object(item)) {
		json_decref(k);
		return 0;
	}
	json_object_foreach(k, key, v) {
		json_t *have = json_object_get(item, key);

		if (!have && !strcmp(key, "protocol") && json_is_string(v) &&
		    !strcmp(json_string_value(v), "TCP"))
			continue;
		if (!have || !json_equal(have, v))
			ok = 0;
	}
	json_decref(k);
	return ok;
}

/* The value at path in o (borrowed), or NULL. */
static json_t *value_at(const json_t *o, const json_t *path, json_t **parent, size_t *idx)
{
	size_t i, j;
	json_t *seg, *cur = (json_t *)o, *item;

	json_array_foreach(path, i, seg) {
		const char *s = json_string_value(seg);
		json_t *next = NULL;

		if (parent)
			*parent = cur;
		if (!strncmp(s, "f:", 2)) {
			next = json_is_object(cur) ? json_object_get(cur, s + 2) : NULL;
		} else if (json_is_array(cur)) {
			json_array_foreach(cur, j, item)
				if (item_matches(item, s)) {
					next = item;
					if (idx)
						*idx = j;
					break;
				}
		}
		if (!next)
			return NULL;
		cur = next;
	}
	return cur;
}

static void delete_at(json_t *o, const json_t *path)
{
	json_t *parent = NULL;
	size_t idx = 0;
	const char *last = json_string_value(json_array_get(path, json_array_size(path) - 1));

	if (!value_at(o, path, &parent, &idx))
		return;
	if (json_is_object(parent))
		json_object_del(parent, last + 2);
	else if (json_is_array(parent))
		json_array_remove(parent, idx);
}

static void path_string(struct buf *b, const json_t *path)
{
	size_t i;
	json_t *seg;

	json_array_foreach(path, i, seg) {
		const char *s = json_string_value(seg);

		if (!strncmp(s, "f:", 2)) {
			buf_addf(b, ".%s", s + 2);
		} else if (!strncmp(s, "v:", 2)) {
			buf_addf(b, "[%s]", s + 2);
		} else {
			json_t *k = json_loads(s + 2, 0, NULL), *v;
			const char *key;
			int first = 1;

			buf_addch(b, '[');
			json_object_foreach(k, key, v) {
				char *d = json_dumps(v, JSON_ENCODE_ANY);

				buf_addf(b, "%s%s=%s", first ? "" : ",", key, d ? d : "null");
				free(d);
				first = 0;
			}
			buf_addch(b, ']');
			json_decref(k);
		}
	}
}

/* --- merge ---------------------------------------------------------------- */

static void merge(int t, json_t *dst, const json_t *src)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)src, k, v) {
		const struct ks_field *f = ks_schema_field(t, k);
		json_t *cur = json_object_get(dst, k);

		if (k[0] == '$')
			continue; /* strategic-merge directives ($setElementOrder, $retainKeys...)
				   */
		if (json_is_null(v)) {
			json_object_del(dst, k);
			continue;
		}
		if (f && json_is_object(v) && json_is_object(cur) &&
		    ((f->kind == KS_OBJECT && f->type >= 0 && !ks_types[f->type].open) ||
		     f->kind == KS_MAP)) {
			if (f->kind == KS_MAP) {
				const char *mk;
				json_t *mv;

				json_object_foreach(v, mk, mv) {
					json_t *c2 = json_object_get(cur, mk);

					if (f->type >= 0 && json_is_object(c2) &&
					    json_is_object(mv))
						merge(f->type, c2, mv);
					else
						json_object_set(cur, mk, mv);
				}
			} else {
				merge(f->type, cur, v);
			}
			continue;
		}
		if (f && f->kind == KS_ARRAY && f->list == KS_LIST_MAP && *f->keys &&
		    json_is_array(v) && json_is_array(cur)) {
			size_t i, j;
			json_t *item, *out = json_array();

			/* the applied order first, then items only others own */
			json_array_foreach(v, i, item) {
				char *key;
				char seg[1024];
				json_t *old = NULL, *x;

				/* strategic merge: {"$patch":"delete", key...} drops the item */
				if (json_is_string(json_object_get(item, "$patch")))
					continue;
				key = item_key(item, f->keys);
				snprintf(seg, sizeof(seg), "k:%s", key ? key : "{}");
				free(key);
				json_array_foreach(cur, j, x)
					if (item_matches(x, seg)) {
						old = x;
						break;
					}
				if (old && f->type >= 0) {
					json_t *m = json_deep_copy(old);

					merge(f->type, m, item);
					json_array_append_new(out, m);
				} else {
					json_array_append(out, item);
				}
			}
			json_array_foreach(cur, j, item) {
				size_t n;
				json_t *x;
				int found = 0;
				char *key = item_key(item, f->keys);
				char seg[1024];

				snprintf(seg, sizeof(seg), "k:%s", key ? key : "{}");
				free(key);
				json_array_foreach(v, n, x)
					if (item_matches(x, seg))
						found = 1;
				if (!found)
					json_array_append(out, item);
			}
			json_object_set_new(dst, k, out);
			continue;
		}
		json_object_set(dst, k, v);
	}
}

void ks_ssa_merge(const struct ks_resource *r, json_t *dst, const json_t *patch)
{
	merge(r->type, dst, patch);
}

/* --- managedFields -------------------------------------------------------- */

static void manager_desc(struct buf *b, const json_t *entry)
{
	const char *op = json_string_value(json_object_get(entry, "operation"));
	const char *sub = json_string_value(json_object_get(entry, "subresource"));

	buf_addf(b, "\"%s\"", json_string_value(json_object_get(entry, "manager")));
	if (op && !strcmp(op, "Update"))
		buf_addf(b, " using %s", json_string_value(json_object_get(entry, "apiVersion")));
	else if (sub && *sub)
		buf_addf(b, " with subresource \"%s\"", sub);
}

static json_t *entry_new(const struct ks_resource *r, const char *manager, const char *op,
			 json_t *set)
{
	char ts[40];

	ks_timestamp(ts);
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:o}", "manager", manager, "operation", op,
			 "apiVersion", ks_api_version(r), "time", ts, "fieldsType", "FieldsV1",
			 "fieldsV1", set);
}

static json_t *managed_of(json_t *o)
{
	json_t *md = json_object_get(o, "metadata");
	json_t *mf;

	if (!json_is_object(md)) {
		md = json_object();
		json_object_set_new(o, "metadata", md);
	}
	mf = json_object_get(md, "managedFields");
	if (!json_is_array(mf)) {
		mf = json_array();
		json_object_set_new(md, "managedFields", mf);
	}
	return mf;
}

static void drop_empty(json_t *mf)
{
	size_t i;

	for (i = json_array_size(mf); i-- > 0;)
		if (!json_object_size(json_object_get(json_array_get(mf, i), "fieldsV1")))
			json_array_remove(mf, i);
}

int ks_ssa_apply(struct ks_req *q, const struct ks_resource *r, const json_t *live,
		 const json_t *patch, const char *manager, int force, json_t **result)
{
	json_t *applied = json_deep_copy(patch), *newset, *newleaves, *res, *mf, *e;
	json_t *conflicts = json_array(), *oldset = NULL;
	size_t i, j;
	json_t *p;
	int mine = -1;

	*result = NULL;
	if (r->has_status)
		json_object_del(applied, "status");
	newset = ks_ssa_fieldset(r, applied);
	newleaves = set_leaves(newset);
	res = live ? json_deep_copy(live) : json_object();
	mf = managed_of(res);

	json_array_foreach(mf, i, e) {
		const char *m = json_string_value(json_object_get(e, "manager"));
		const char *op = json_string_value(json_object_get(e, "operation"));

		if (m && !strcmp(m, manager) && op && !strcmp(op, "Apply") &&
		    !json_object_get(e, "subresource")) {
			mine = (int)i;
			oldset = json_object_get(e, "fieldsV1");
			continue;
		}
		json_array_foreach(newleaves, j, p) {
			json_t *fs = json_object_get(e, "fieldsV1");
			json_t *a, *b;

			if (!set_has(fs, p))
				continue;
			a = value_at(live, p, NULL, NULL);
			b = value_at(applied, p, NULL, NULL);
			if (a && b && json_equal(a, b) && !json_is_object(b))
				continue;
			if (a && b && json_is_object(a) && json_is_object(b))
				continue;
			if (force)
				set_remove(fs, p, 0);
			else
				json_array_append_new(
				    conflicts, json_pack("{s:i,s:O}", "entry", (int)i, "path", p));
		}
	}
	if (json_array_size(conflicts)) {
		struct buf msg = BUF_INIT, d = BUF_INIT, ps = BUF_INIT;
		json_t *causes = json_array(), *c;
		size_t n = json_array_size(conflicts);

		buf_addf(&msg, "Apply failed with %zu conflict%s: ", n, n > 1 ? "s" : "");
		json_array_foreach(conflicts, i, c) {
			json_t *ent = json_array_get(
			    mf, (size_t)json_integer_value(json_object_get(c, "entry")));

			buf_reset(&d);
			buf_reset(&ps);
			manager_desc(&d, ent);
			path_string(&ps, json_object_get(c, "path"));
			if (n == 1) {
				buf_addf(&msg, "conflict with %s: %s", d.s, ps.s);
			} else {
				size_t k;
				int seen = 0;

				for (k = 0; k < i; k++)
					if (json_equal(json_object_get(json_array_get(conflicts, k),
								       "entry"),
						       json_object_get(c, "entry")))
						seen = 1;
				if (!seen) {
					size_t m;
					json_t *c2;

					buf_addf(&msg, "%sconflicts with %s:", i ? "\n" : "", d.s);
					json_array_foreach(conflicts, m, c2) {
						struct buf p2 = BUF_INIT;

						if (!json_equal(json_object_get(c2, "entry"),
								json_object_get(c, "entry")))
							continue;
						path_string(&p2, json_object_get(c2, "path"));
						buf_addf(&msg, "\n- %s", p2.s);
						buf_release(&p2);
					}
				}
			}
			json_array_append_new(
			    causes,
			    json_pack("{s:s,s:o,s:s}", "reason", "FieldManagerConflict", "message",
				      json_sprintf("conflict with %s", d.s), "field", ps.s));
		}
		ks_status(q, 409, "Conflict", msg.s, json_pack("{s:o}", "causes", causes));
		buf_release(&msg);
		buf_release(&d);
		buf_release(&ps);
		json_decref(conflicts);
		json_decref(applied);
		json_decref(newset);
		json_decref(newleaves);
		json_decref(res);
		return 409;
	}
	json_decref(conflicts);

	/* fields this manager applied before and dropped now go, unless shared */
	if (oldset && live) {
		json_t *olds = set_leaves(oldset);

		json_array_foreach(olds, i, p) {
			int shared = set_has(newset, p);

			json_array_foreach(mf, j, e)
				if ((int)j != mine && set_has(json_object_get(e, "fieldsV1"), p))
					shared = 1;
			if (!shared)
				delete_at(res, p);
		}
		json_decref(olds);
	}
	{
		json_t *md = json_object_get(res, "metadata");
		json_t *pmd = json_incref(json_object_get(applied, "metadata"));
		json_t *keep_mf = json_incref(mf);

		json_object_del(applied, "metadata");
		if (!json_is_object(md)) {
			md = json_object();
			json_object_set_new(res, "metadata", md);
		}
		merge(r->type, res, applied);
		if (json_is_object(pmd)) {
			json_t *wrap = json_pack("{s:O}", "metadata", pmd);

			merge(r->type, res, wrap);
			json_decref(wrap);
		}
		json_decref(pmd);
		md = json_object_get(res, "metadata");
		json_object_set_new(md, "managedFields", keep_mf);
	}
	if (mine >= 0) {
		e = json_array_get(mf, (size_t)mine);
		if (!json_equal(newset, oldset)) {
			char ts[40];

			ks_timestamp(ts);
			json_object_set_new(e, "time", json_string(ts));
		}
		json_object_set(e, "fieldsV1", newset);
	} else {
		json_array_append_new(mf, entry_new(r, manager, "Apply", json_incref(newset)));
	}
	drop_empty(mf);
	json_decref(newset);
	json_decref(newleaves);
	json_decref(applied);
	*result = res;
	return 0;
}

void ks_ssa_update_managed(const struct ks_resource *r, const json_t *old, json_t *o,
			   const char *manager, const char *op)
{
	json_t *newset = ks_ssa_fieldset(r, o), *nl = set_leaves(newset), *mine = json_object();
	json_t *mf, *e, *p;
	size_t i, j;
	int found = 0;

	json_array_foreach(nl, i, p) {
		json_t *a = old ? value_at(old, p, NULL, NULL) : NULL;
		json_t *b = value_at(o, p, NULL, NULL);

		if (!old || !a || !b || (!json_equal(a, b) && !json_is_object(b)))
			set_add(mine, p);
	}
	if (old) {
		json_t *omf = json_object_get(json_object_get(old, "metadata"), "managedFields");

		json_object_set_new(json_object_get(o, "metadata"), "managedFields",
				    json_is_array(omf) ? json_deep_copy(omf) : json_array());
	}
	mf = managed_of(o);
	{
		json_t *ml = set_leaves(mine);

		json_array_foreach(mf, i, e) {
			const char *m = json_string_value(json_object_get(e, "manager"));
			const char *eop = json_string_value(json_object_get(e, "operation"));

			if (m && eop && !strcmp(m, manager) && !strcmp(eop, op)) {
				json_array_foreach(ml, j, p)
					set_add(json_object_get(e, "fieldsV1"), p);
				found = 1;
				continue;
			}
			json_array_foreach(ml, j, p)
				set_remove(json_object_get(e, "fieldsV1"), p, 0);
		}
		json_decref(ml);
	}
	if (!found && json_object_size(mine))
		json_array_append_new(mf, entry_new(r, manager, op, json_incref(mine)));
	drop_empty(mf);
	if (!json_array_size(mf))
		json_object_del(json_object_get(o, "metadata"), "managedFields");
	json_decref(mine);
	json_decref(newset);
	json_decref(nl);
}
