/* blueprint.c - load a chart once, render a store's objects from it (format in blueprint.h). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "blueprint.h"
#include "config.h"
#include "y2j.h"

/*
 * Loading does all the slow work once: YAML parsing, value layering and a
 * "check render" of every manifest in which conditions are validated but
 * never omit anything, so every placeholder and condition in the chart is
 * known to resolve before any store is rendered.  Rendering is then one
 * walk over the cached manifest trees that copies them while substituting
 * placeholders, plus labels and a hash.  The per-store values are a small
 * layer consulted before the merged chart values, so nothing big is copied.
 *
 * The hash (the revision) must not see the store's secrets: they are made
 * once per store, so a preview with throwaway ones printed another revision
 * on every run, and a rotated secret would look like a new blueprint.  The
 * walk notes every output scalar that a ${secrets...} placeholder went
 * into; the hash is taken over a copy in which just those scalars are
 * substituted again with stand-ins (${secrets.<name>} for each secret),
 * sharing everything else.  That is the set a render with stand-in secrets
 * would give, for one render's cost.
 */

#define STORE_ID_MAX 40
#define MASK	     "********"

struct blueprint {
	char *engine;
	json_t *values;	      /* values.yaml with every layer but the store's merged in */
	json_t *secret_names; /* ["db_password", ...] */
	json_t *versions;     /* ["6.7.2", "6.8.1"]: what a store may pin */
	json_t *files;	      /* [[doc, doc...], ...]: manifests in file order */
	json_t *keep;	      /* overlay documents, kept so their marks stay meaningful */
	struct y2j_marks *marks;
	int platform; /* values.yaml says platform: true: rendered once, no store */
};

/* --- small helpers */

static void *fail_null(int rc)
{
	(void)rc;
	return NULL;
}

static int valid_name(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;

	if (!n || n > max || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		      s[i] == '_'))
			return 0;
	return 1;
}

static int valid_store_id(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (!n || n > STORE_ID_MAX || s[n - 1] == '-' || s[0] == '-')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "a mapping";
	case JSON_ARRAY:
		return "a list";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "?";
}

/* May an override of type v replace the default d? */
static int same_type(const json_t *d, const json_t *v)
{
	if (json_is_null(d))
		return !json_is_object(v) && !json_is_array(v);
	if (json_is_boolean(d))
		return json_is_boolean(v);
	if (json_is_real(d))
		return json_is_number(v);
	return json_typeof(d) == json_typeof(v);
}

/* Walk a dotted path (a.b.c) through nested objects; NULL if any step is missing. */
static const json_t *get_path(const json_t *root, const char *path, size_t n)
{
	const json_t *cur = root;
	size_t i = 0;

	while (cur && i <= n) {
		const char *dot = memchr(path + i, '.', n - i);
		size_t end = dot ? (size_t)(dot - path) : n;
		char seg[128];

		if (!json_is_object(cur) || end == i || end - i >= sizeof(seg))
			return NULL;
		memcpy(seg, path + i, end - i);
		seg[end - i] = '\0';
		cur = json_object_get(cur, seg);
		if (!dot)
			return cur;
		i = end + 1;
	}
	return NULL;
}

static int valid_path(const char *p, size_t n)
{
	if (!n || p[0] == '.' || p[n - 1] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || (c == '.' && p[i + 1] != '.')))
			return 0;
	}
	return 1;
}

/* --- value layers */

static int merge(struct blueprint *bp, json_t *base, const json_t *over, struct buf *path,
		 const char *file, struct err *e)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)over, k, v) {
		size_t mark = path->len;
		struct y2j_pos op, dp;
		json_t *d = json_object_get(base, k);

		if (path->len)
			buf_addch(path, '.');
		buf_adds(path, k);
		y2j_marks_find(bp->marks, over, k, 0, &op, NULL);
		if (!d)
			return err_set(e, 500,
				       "%s:%u: unknown value '%s' (values.yaml has no such key)",
				       file, op.line, path->s);
		if (!strcmp(path->s, "platform"))
			return err_set(e, 500, "%s:%u: 'platform' is fixed by values.yaml", file,
				       op.line);
		if (!strcmp(path->s, "secrets") || !strncmp(path->s, "secrets.", 8))
			return err_set(e, 500,
				       "%s:%u: '%s': secrets come only from the store, never from "
				       "values files",
				       file, op.line, path->s);
		y2j_marks_find(bp->marks, base, k, 0, &dp, NULL);
		if (json_is_object(d) && json_is_object(v)) {
			if (merge(bp, d, v, path, file, e) < 0)
				return -1;
		} else if (!same_type(d, v)) {
			return err_set(e, 500, "%s:%u: '%s' is %s, but %s:%u has %s", file, op.line,
				       path->s, type_name(v), dp.file, dp.line, type_name(d));
		} else if (json_object_set(base, k, v) < 0) {
			die_oom();
		}
		buf_setlen(path, mark);
	}
	return 0;
}

static int merge_file(struct blueprint *bp, const char *file, int must_exist, struct err *e)
{
	struct y2j_opts o = {.marks = bp->marks};
	struct buf path = BUF_INIT;
	struct stat st;
	json_t *doc;
	int rc;

	if (!must_exist && stat(file, &st) < 0 && errno == ENOENT)
		return 0;
	doc = y2j_load_file1(file, &o, e);
	if (!doc)
		return -1;
	if (json_array_append_new(bp->keep, doc) < 0)
		die_oom();
	if (json_is_null(doc))
		return 0;
	if (!json_is_object(doc))
		return err_set(e, 500, "%s:1: a values file is a mapping of keys", file);
	rc = merge(bp, bp->values, doc, &path, file, e);
	buf_release(&path);
	return rc;
}

/* --- rendering */

/* An output scalar a secret went into, and the template text it came from. */
struct secret_use {
	json_t *out; /* held, so its address cannot be reused during the render */
	const json_t *tpl, *parent;
	const char *key;
	size_t idx;
};

struct secret_uses {
	struct secret_use *v;
	size_t n, alloc;
};

struct rctx {
	const struct blueprint *bp;
	const json_t *layer;	  /* per-store values, consulted first */
	int check;		  /* load-time check: validate conditions, omit nothing */
	struct secret_uses *uses; /* where secrets went (NULL: not noted) */
	struct err *e;
};

/* Is path (n bytes) secrets or secrets.<name>? */
static int secret_path(const char *path, size_t n)
{
	return n >= 7 && !memcmp(path, "secrets", 7) && (n == 7 || path[7] == '.');
}

static void note_secret(const struct rctx *r, json_t *out, const json_t *tpl, const json_t *parent,
			const char *key, size_t idx)
{
	struct secret_uses *u = r->uses;

	if (!u)
		return;
	if (u->n == u->alloc) {
		size_t alloc = u->alloc ? 2 * u->alloc : 16;
		struct secret_use *v = realloc(u->v, alloc * sizeof(*v));

		if (!v)
			die_oom();
		u->v = v;
		u->alloc = alloc;
	}
	u->v[u->n++] = (struct secret_use){json_incref(out), tpl, parent, key, idx};
}

static void secret_uses_release(struct secret_uses *u)
{
	for (size_t i = 0; i < u->n; i++)
		json_decref(u->v[i].out);
	free(u->v);
	*u = (struct secret_uses){0};
}

static const json_t *lookup(const struct rctx *r, const char *path, size_t n)
{
	const json_t *v = r->layer ? get_path(r->layer, path, n) : NULL;

	return v ? v : get_path(r->bp->values, path, n);
}

/* Error at the template node (parent, key|idx): "file:line: ..." */
static int at(const struct rctx *r, const json_t *parent, const char *key, size_t idx,
	      const char *fmt, ...) SF_PRINTF(5, 6);
static int at(const struct rctx *r, const json_t *parent, const char *key, size_t idx,
	      const char *fmt, ...)
{
	struct y2j_pos p;
	char msg[200];
	va_list ap;

	y2j_marks_find(r->bp->marks, parent, key, idx, NULL, &p);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return err_set(r->e, 500, "%s:%u: %s", p.file, p.line, msg);
}

/* 1 keep, 0 omit, -1 error.  cond is "a.b" or "!a.b". */
static int eval_cond(const struct rctx *r, const char *cond, size_t n, const json_t *parent,
		     const char *key, size_t idx)
{
	int neg = n && cond[0] == '!';
	const json_t *v;
	int truth;

	if (neg)
		cond++, n--;
	if (!valid_path(cond, n))
		return at(r, parent, key, idx, "bad condition '%.*s' (want a.b or !a.b)", (int)n,
			  cond);
	v = lookup(r, cond, n);
	if (!v)
		return at(r, parent, key, idx, "unknown value '%.*s' in a condition", (int)n, cond);
	if (json_is_boolean(v))
		truth = json_is_true(v);
	else if (json_is_string(v))
		truth = json_string_length(v) > 0;
	else
		return at(r, parent, key, idx, "condition '%.*s' is %s, not a boolean or string",
			  (int)n, cond, type_name(v));
	if (r->check)
		return 1;
	return truth != neg;
}

static void print_scalar(struct buf *b, const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		buf_add(b, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		buf_addf(b, "%lld", (long long)json_integer_value(v));
		break;
	case JSON_REAL:
		buf_addf(b, "%.17g", json_real_value(v));
		break;
	case JSON_TRUE:
		buf_adds(b, "true");
		break;
	case JSON_FALSE:
		buf_adds(b, "false");
		break;
	default:
		break;
	}
}

/* A string scalar with its placeholders replaced (new reference), or NULL on error. */
static json_t *substitute(const struct rctx *r, const json_t *t, const json_t *parent,
			  const char *key, size_t idx)
{
	const char *s = json_string_value(t);
	size_t n = json_string_length(t), i = 0;
	struct buf b = BUF_INIT;
	json_t *out;
	int secret = 0;

	if (!memchr(s, '$', n))
		return json_incref((json_t *)t);
	/* exactly one placeholder: the value itself, with its type */
	if (n > 3 && s[0] == '$' && s[1] == '{' && s[n - 1] == '}' && !memchr(s + 2, '}', n - 3) &&
	    !memchr(s + 2, '$', n - 3)) {
		const json_t *v;

		if (!valid_path(s + 2, n - 3))
			return fail_null(at(r, parent, key, idx, "bad placeholder '%.*s'",
					    (int)(n > 80 ? 80 : n), s));
		v = lookup(r, s + 2, n - 3);
		if (!v)
			return fail_null(at(r, parent, key, idx, "unknown value '%.*s' (in '%s')",
					    (int)(n - 3), s + 2, key ? key : "list item"));
		if (json_is_null(v))
			return fail_null(at(r, parent, key, idx, "value '%.*s' is not set",
					    (int)(n - 3), s + 2));
		if (r->uses && secret_path(s + 2, n - 3)) {
			/* a node of its own: the hash finds it by its address */
			out = json_is_string(v)
				  ? json_stringn(json_string_value(v), json_string_length(v))
				  : json_deep_copy(v);
			if (!out)
				die_oom();
			note_secret(r, out, t, parent, key, idx);
			return out;
		}
		out = json_is_object(v) || json_is_array(v) ? json_deep_copy(v)
							    : json_incref((json_t *)v);
		if (!out)
			die_oom();
		return out;
	}
	while (i < n) {
		const char *d = memchr(s + i, '$', n - i);
		const char *close;
		const json_t *v;
		size_t start;

		if (!d) {
			buf_add(&b, s + i, n - i);
			break;
		}
		buf_add(&b, s + i, (size_t)(d - (s + i)));
		i = (size_t)(d - s);
		if (i + 2 < n && s[i + 1] == '$' && s[i + 2] == '{') {
			buf_adds(&b, "${");
			i += 3;
			continue;
		}
		if (i + 1 >= n || s[i + 1] != '{') {
			buf_addch(&b, '$');
			i++;
			continue;
		}
		start = i + 2;
		close = memchr(s + start, '}', n - start);
		if (!close) {
			at(r, parent, key, idx, "unterminated placeholder in '%.60s'", s);
			goto fail;
		}
		if (!valid_path(s + start, (size_t)(close - (s + start)))) {
			at(r, parent, key, idx, "bad placeholder '${%.*s}'",
			   (int)(close - (s + start)), s + start);
			goto fail;
		}
		v = lookup(r, s + start, (size_t)(close - (s + start)));
		if (!v) {
			at(r, parent, key, idx, "unknown value '%.*s' (in '%s')",
			   (int)(close - (s + start)), s + start, key ? key : "list item");
			goto fail;
		}
		if (json_is_object(v) || json_is_array(v) || json_is_null(v)) {
			at(r, parent, key, idx,
			   "value '%.*s' is %s; only a whole scalar can be that",
			   (int)(close - (s + start)), s + start, type_name(v));
			goto fail;
		}
		print_scalar(&b, v);
		secret |= secret_path(s + start, (size_t)(close - (s + start)));
		i = (size_t)(close - s) + 1;
	}
	if (b.failed)
		die_oom();
	out = json_stringn(b.s, b.len);
	if (!out) {
		at(r, parent, key, idx, "result is not valid UTF-8");
		goto fail;
	}
	buf_release(&b);
	if (secret)
		note_secret(r, out, t, parent, key, idx);
	return out;
fail:
	buf_release(&b);
	return NULL;
}

/* Render template node t (at parent/key|idx) into *out; *out NULL = omitted. */
static int render_node(const struct rctx *r, const json_t *t, const json_t *parent, const char *key,
		       size_t idx, json_t **out)
{
	*out = NULL;
	if (json_is_object(t)) {
		const json_t *when = json_object_get(t, "$when");
		const char *k;
		json_t *v, *o;

		if (when) {
			int keep;

			if (!json_is_string(when))
				return at(r, t, "$when", 0,
					  "$when takes a condition (a.b or !a.b)");
			keep = eval_cond(r, json_string_value(when), json_string_length(when), t,
					 "$when", 0);
			if (keep <= 0)
				return keep;
		}
		o = json_object();
		if (!o)
			die_oom();
		json_object_foreach((json_t *)t, k, v) {
			const char *q = strchr(k, '?');
			char real[256];
			json_t *c;

			if (!strcmp(k, "$when"))
				continue;
			if (strstr(k, "${")) {
				json_decref(o);
				return at(r, t, k, 0,
					  "placeholders are not allowed in keys ('%.60s')", k);
			}
			if (q) {
				int keep;

				if ((size_t)(q - k) >= sizeof(real) || q == k) {
					json_decref(o);
					return at(r, t, k, 0, "bad conditional key '%.60s'", k);
				}
				keep = eval_cond(r, q + 1, strlen(q + 1), t, k, 0);
				if (keep < 0) {
					json_decref(o);
					return -1;
				}
				if (!keep)
					continue;
				memcpy(real, k, (size_t)(q - k));
				real[q - k] = '\0';
			}
			if (render_node(r, v, t, k, 0, &c) < 0) {
				json_decref(o);
				return -1;
			}
			if (!c)
				continue;
			if (!r->check && json_object_get(o, q ? real : k)) {
				json_decref(c);
				json_decref(o);
				return at(r, t, k, 0, "key '%s' is set twice", q ? real : k);
			}
			if (json_object_set_new(o, q ? real : k, c) < 0)
				die_oom();
		}
		*out = o;
		return 0;
	}
	if (json_is_array(t)) {
		json_t *a = json_array(), *v, *c;
		size_t i;

		if (!a)
			die_oom();
		json_array_foreach((json_t *)t, i, v) {
			if (render_node(r, v, t, NULL, i, &c) < 0) {
				json_decref(a);
				return -1;
			}
			if (c && json_array_append_new(a, c) < 0)
				die_oom();
		}
		*out = a;
		return 0;
	}
	if (json_is_string(t)) {
		*out = substitute(r, t, parent, key, idx);
		return *out ? 0 : -1;
	}
	*out = json_incref((json_t *)t);
	return 0;
}

static const char *const cluster_kinds[] = {"Namespace",
					    "ClusterRole",
					    "ClusterRoleBinding",
					    "PersistentVolume",
					    "StorageClass",
					    "PriorityClass",
					    "IngressClass",
					    "CustomResourceDefinition",
					    NULL};

static int cluster_scoped(const char *kind)
{
	for (const char *const *k = cluster_kinds; *k; k++)
		if (!strcmp(*k, kind))
			return 1;
	return 0;
}

static json_t *child_object(json_t *parent, const char *key)
{
	json_t *o = json_object_get(parent, key);

	if (!json_is_object(o)) {
		o = json_object();
		if (!o || json_object_set_new(parent, key, o) < 0)
			die_oom();
	}
	return o;
}

static void set_str(json_t *o, const char *k, const char *v)
{
	if (json_object_set_new(o, k, json_string(v)) < 0)
		die_oom();
}

/*
 * The labels every object and pod carries; name only on the objects
 * themselves.  Platform objects (id NULL) carry neither managed-by=storefleet
 * nor the store labels: reconcile observes and deletes by those, and must
 * never take storefleet's own namespace for a store's.
 */
static void add_labels(json_t *labels, const char *engine, const char *id, const char *instance,
		       int with_name)
{
	if (id) {
		set_str(labels, "app.kubernetes.io/managed-by", "storefleet");
		set_str(labels, "storefleet.io/store", id);
		set_str(labels, "storefleet.io/engine", engine);
	}
	if (with_name && !json_is_string(json_object_get(labels, "app.kubernetes.io/name")))
		set_str(labels, "app.kubernetes.io/name", engine);
	set_str(labels, "app.kubernetes.io/part-of", "storefleet");
	set_str(labels, "app.kubernetes.io/instance", instance);
}

static json_t *pod_template(json_t *obj)
{
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	json_t *spec = json_object_get(obj, "spec");

	if (!kind || !json_is_object(spec))
		return NULL;
	if (!strcmp(kind, "CronJob"))
		spec = json_object_get(json_object_get(spec, "jobTemplate"), "spec");
	else if (strcmp(kind, "Deployment") && strcmp(kind, "StatefulSet") && strcmp(kind, "Job") &&
		 strcmp(kind, "DaemonSet") && strcmp(kind, "ReplicaSet"))
		return NULL;
	spec = json_object_get(spec, "template");
	return json_is_object(spec) ? spec : NULL;
}

/* Labels, namespace; -1 if the rendered document is not a Kubernetes object. */
static int finish_object(const struct rctx *r, json_t *obj, const json_t *file, size_t di,
			 const char *id, const char *ns, const char *instance)
{
	const char *engine = r->bp->engine;
	json_t *meta = json_object_get(obj, "metadata"), *tpl;
	const char *kind = json_string_value(json_object_get(obj, "kind"));

	if (!json_is_object(obj) || !kind || !json_is_string(json_object_get(obj, "apiVersion")) ||
	    !json_is_object(meta) || !json_is_string(json_object_get(meta, "name")))
		return at(r, file, NULL, di,
			  "a manifest needs apiVersion, kind and metadata.name (strings)");
	if (!cluster_scoped(kind) && !json_object_get(meta, "namespace")) {
		/* name, namespace, then the rest: the order people expect to read */
		json_t *m = json_object(), *v;
		const char *k;

		if (!m)
			die_oom();
		json_object_set(m, "name", json_object_get(meta, "name"));
		set_str(m, "namespace", ns);
		json_object_foreach(meta, k, v)
			if (json_object_set(m, k, v) < 0)
				die_oom();
		if (json_object_set_new(obj, "metadata", m) < 0)
			die_oom();
		meta = m;
	}
	add_labels(child_object(meta, "labels"), engine, id, instance, 1);
	tpl = pod_template(obj);
	if (tpl)
		add_labels(child_object(child_object(tpl, "metadata"), "labels"), engine, id,
			   instance, 0);
	return 0;
}

/* The store layer with every secret as the text ${secrets.<name>} (new reference). */
static json_t *standin_layer(const json_t *layer)
{
	json_t *l = json_copy((json_t *)layer), *sec = json_object(), *v;
	struct buf text = BUF_INIT;
	const char *k;

	if (!l || !sec)
		die_oom();
	json_object_foreach(json_object_get(layer, "secrets"), k, v) {
		buf_reset(&text);
		buf_addf(&text, "${secrets.%s}", k);
		if (text.failed || json_object_set_new(sec, k, json_string(text.s)) < 0)
			die_oom();
	}
	buf_release(&text);
	if (json_object_set_new(l, "secrets", sec) < 0)
		die_oom();
	return l;
}

/*
 * node as the hash sees it: every scalar noted in u substituted again by hr
 * (the stand-in layer).  NULL when node holds none of them, else a new
 * reference: the containers on the way are shallow copies, every other
 * node is shared with the set.
 */
static json_t *hash_view(const struct rctx *hr, const struct secret_uses *u, json_t *node)
{
	json_t *copy = NULL, *v, *c;
	const char *k;
	size_t i;

	for (i = 0; i < u->n; i++) {
		const struct secret_use *s = &u->v[i];

		if (s->out != node)
			continue;
		c = substitute(hr, s->tpl, s->parent, s->key, s->idx);
		if (!c) /* it resolved a moment ago, against the real secrets */
			BUG("blueprint: stand-in secrets do not render: %s", hr->e->msg);
		return c;
	}
	if (json_is_object(node)) {
		json_object_foreach(node, k, v) {
			c = hash_view(hr, u, v);
			if (!c)
				continue;
			if (!copy && !(copy = json_copy(node)))
				die_oom();
			if (json_object_set_new(copy, k, c) < 0)
				die_oom();
		}
	} else if (json_is_array(node)) {
		json_array_foreach(node, i, v) {
			c = hash_view(hr, u, v);
			if (!c)
				continue;
			if (!copy && !(copy = json_copy(node)))
				die_oom();
			if (json_array_set_new(copy, i, c) < 0)
				die_oom();
		}
	}
	return copy;
}

/* The revision of set (before the annotation goes in): 16 hex digits into hex. */
static void revision_of(const struct rctx *r, json_t *set, char hex[17])
{
	unsigned char hash[crypto_hash_sha256_BYTES];
	char full[crypto_hash_sha256_BYTES * 2 + 1];
	json_t *view = NULL;
	char *canon;

	if (r->uses && r->uses->n) {
		struct err e = ERR_INIT;
		json_t *standin = standin_layer(r->layer);
		struct rctx hr = {.bp = r->bp, .layer = standin, .e = &e};

		view = hash_view(&hr, r->uses, set);
		json_decref(standin);
	}
	canon = json_dumps(view ? view : set, JSON_COMPACT | JSON_SORT_KEYS);
	if (!canon)
		die_oom();
	crypto_hash_sha256(hash, (const unsigned char *)canon, strlen(canon));
	free(canon);
	json_decref(view);
	sodium_bin2hex(full, sizeof(full), hash, sizeof(hash));
	memcpy(hex, full, 16);
	hex[16] = '\0';
}

/* Render every manifest with the given store layer (id NULL: a platform chart); NULL on error. */
static json_t *render_all(const struct rctx *r, const char *id, const char *ns)
{
	json_t *set = json_array(), *file, *doc;
	size_t fi, di;
	char instance[64], hex[17];

	if (!set)
		die_oom();
	snprintf(instance, sizeof(instance), "%s", ns);
	json_array_foreach(r->bp->files, fi, file) {
		json_array_foreach(file, di, doc) {
			json_t *o;

			if (json_is_null(doc))
				continue;
			if (render_node(r, doc, file, NULL, di, &o) < 0)
				goto fail;
			if (!o)
				continue;
			if (finish_object(r, o, file, di, id, ns, instance) < 0) {
				json_decref(o);
				goto fail;
			}
			if (json_array_append_new(set, o) < 0)
				die_oom();
		}
	}
	revision_of(r, set, hex);
	json_array_foreach(set, fi, doc)
		set_str(child_object(json_object_get(doc, "metadata"), "annotations"),
			BLUEPRINT_REVISION_ANNOTATION, hex);
	return set;
fail:
	json_decref(set);
	return NULL;
}

/*
 * Charts paste secrets into URLs (postgres://user:pw@...) and configs, so
 * they must be text that needs no escaping anywhere: what a CSPRNG encoded
 * as hex or base64url gives.
 */
static int secret_text_ok(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("._~-", *s)))
			return 0;
	return 1;
}

/*
 * Merge the store's extra values over a copy of the chart's (into dst),
 * with the values files' rules; path names the key in errors.
 */
static int merge_store_values(json_t *dst, const json_t *over, struct buf *path, struct err *e)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)over, k, v) {
		size_t mark = path->len;
		json_t *d = json_object_get(dst, k);

		if (path->len)
			buf_addch(path, '.');
		buf_adds(path, k);
		if (path->failed)
			die_oom();
		if (!d)
			return err_set(e, 400, "store values: unknown value '%.100s'", path->s);
		if (json_is_object(d) && json_is_object(v)) {
			if (merge_store_values(d, v, path, e) < 0)
				return -1;
		} else if (!same_type(d, v)) {
			return err_set(e, 400,
				       "store values: '%.100s' is %s, but values.yaml has %s",
				       path->s, type_name(v), type_name(d));
		} else if (json_object_set(dst, k, v) < 0) {
			die_oom();
		}
		buf_setlen(path, mark);
	}
	return 0;
}

/*
 * The extra per-store values as whole top-level values (the chart's, with
 * the store's merged in), so a placeholder naming a whole mapping sees
 * every key of it.  Added to layer; 0 or -1 with e set.
 */
static int add_store_values(const struct blueprint *bp, json_t *layer, const json_t *values,
			    struct err *e)
{
	static const char *const fixed[] = {"secrets", "store", "version", "platform"};
	struct buf path = BUF_INIT;
	const char *k;
	json_t *v;

	if (!values)
		return 0;
	if (!json_is_object(values))
		return err_set(e, 400, "store values: expected a mapping");
	json_object_foreach((json_t *)values, k, v) {
		json_t *d = json_object_get(bp->values, k), *copy, *over;
		int rc;

		for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
			if (!strcmp(k, fixed[i]))
				return err_set(e, 400, "store values: '%s' cannot be set here", k);
		if (!d)
			return err_set(e, 400, "store values: unknown value '%.100s'", k);
		/* deep: the merge must not write into the chart's own values */
		copy = json_pack("{s:o}", k, json_deep_copy(d));
		over = json_pack("{s:O}", k, v);
		if (!copy || !over)
			die_oom();
		buf_reset(&path);
		rc = merge_store_values(copy, over, &path, e);
		json_decref(over);
		if (rc == 0 && json_object_set(layer, k, json_object_get(copy, k)) < 0)
			die_oom();
		json_decref(copy);
		if (rc < 0) {
			buf_release(&path);
			return -1;
		}
	}
	buf_release(&path);
	return 0;
}

/* The per-store layer: store.*, secrets.*, version. */
static json_t *store_layer(const struct blueprint *bp, const struct blueprint_store *s, int check,
			   struct err *e)
{
	const json_t *domain = json_object_get(bp->values, "domain");
	const json_t *tls = get_path(bp->values, "tls.enabled", 11);
	json_t *layer, *st, *sec, *v;
	char host[512], url[600];
	const char *k;
	size_t i;

	if (!valid_store_id(s->id))
		return fail_null(err_set(e, 400,
					 "store id '%.60s' must be 1-%d of a-z, 0-9 and '-', not "
					 "starting or ending with '-'",
					 s->id ? s->id : "", STORE_ID_MAX));
	snprintf(host, sizeof(host), "store-%s.%s", s->id, json_string_value(domain));
	snprintf(url, sizeof(url), "%s://%s", json_is_true(tls) ? "https" : "http", host);
	st = json_pack("{s:s, s:s+, s:s, s:s, s:s, s:s, s:s}", "id", s->id, "namespace", "store-",
		       s->id, "host", host, "url", url, "name", s->name ? s->name : "",
		       "owner_email", s->owner_email ? s->owner_email : "", "engine", bp->engine);
	if (!st)
		return fail_null(err_set(e, 400, "store name or email is not valid UTF-8"));
	sec = json_object();
	layer = json_pack("{s:o, s:o}", "store", st, "secrets", sec);
	if (!layer)
		die_oom();
	if (s->version) {
		const json_t *dv = json_object_get(bp->values, "version");

		if (!json_is_string(dv)) {
			json_decref(layer);
			return fail_null(err_set(
			    e, 400, "chart '%s' has no string 'version' value to pin", bp->engine));
		}
		if (json_object_set_new(layer, "version", json_string(s->version)) < 0) {
			json_decref(layer);
			return fail_null(err_set(e, 400, "store version is not valid UTF-8"));
		}
	}
	if (add_store_values(bp, layer, s->values, e) < 0) {
		json_decref(layer);
		return NULL;
	}
	json_array_foreach(bp->secret_names, i, v) {
		const char *name = json_string_value(v);
		const json_t *sv = s->secrets ? json_object_get(s->secrets, name) : NULL;

		if (check)
			sv = json_object_get(json_object_get(bp->values, "secrets"), name);
		else if (!json_is_string(sv) || !json_string_length(sv)) {
			json_decref(layer);
			return fail_null(err_set(
			    e, 400, "store %s: secret '%s' is missing or empty", s->id, name));
		}
		if (!check && !secret_text_ok(json_string_value(sv))) {
			json_decref(layer);
			return fail_null(err_set(e, 400,
						 "store %s: secret '%s' must be URL-safe text "
						 "(A-Z a-z 0-9 . _ ~ -)",
						 s->id, name));
		}
		if (json_object_set(sec, name, (json_t *)sv) < 0)
			die_oom();
	}
	json_object_foreach((json_t *)(s->secrets ? s->secrets : sec), k, v)
		if (!json_object_get(json_object_get(bp->values, "secrets"), k)) {
			json_decref(layer);
			return fail_null(
			    err_set(e, 400, "store %s: secret '%s' is not in the chart", s->id, k));
		}
	return layer;
}

/* A platform chart: no store layer; objects go to the namespace value. */
static json_t *render_platform(const struct rctx *r)
{
	const char *ns = json_string_value(json_object_get(r->bp->values, "namespace"));

	if (!valid_store_id(ns))
		return fail_null(err_set(r->e, 500, "chart '%s': namespace '%.60s' is not a name",
					 r->bp->engine, ns ? ns : ""));
	return render_all(r, NULL, ns);
}

json_t *blueprint_render(const struct blueprint *bp, const struct blueprint_store *store,
			 struct err *e)
{
	struct secret_uses uses = {0};
	struct rctx r = {.bp = bp, .e = e};
	json_t *layer, *set;
	char ns[64];

	if (bp->platform && store)
		return fail_null(err_set(e, 400,
					 "chart '%s' is the platform: rendered once, not per store",
					 bp->engine));
	if (bp->platform)
		return render_platform(&r);
	if (!store)
		return fail_null(
		    err_set(e, 400, "chart '%s' renders a store: give one", bp->engine));
	layer = store_layer(bp, store, 0, e);
	if (!layer)
		return NULL;
	r.layer = layer;
	r.uses = &uses; /* a store's secrets stay out of its revision */
	snprintf(ns, sizeof(ns), "store-%s", store->id);
	set = render_all(&r, store->id, ns);
	secret_uses_release(&uses);
	json_decref(layer);
	return set;
}

/* --- loading */

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name); /* not alphasort: no locale in the order */
}

static int is_manifest(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && ((n > 5 && !strcmp(d->d_name + n - 5, ".yaml")) ||
				       (n > 4 && !strcmp(d->d_name + n - 4, ".yml")));
}

static int load_manifests(struct blueprint *bp, const char *dir, struct err *e)
{
	struct y2j_opts o = {.marks = bp->marks};
	struct dirent **ents;
	int n = scandir(dir, &ents, is_manifest, by_name), rc = 0;

	if (n < 0)
		return err_set(e, 500, "cannot list '%s': %s", dir, strerror(errno));
	if (n == 0)
		rc = err_set(e, 500, "'%s' holds no manifests (*.yaml)", dir);
	for (int i = 0; i < n; i++) {
		char path[4096];
		json_t *docs;

		if (!rc && snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name) >=
			       (int)sizeof(path))
			rc = err_set(e, 500, "path too long in '%s'", dir);
		if (!rc) {
			docs = y2j_load_file(path, &o, e);
			if (!docs || json_array_append_new(bp->files, docs) < 0)
				rc = -1;
		}
		free(ents[i]);
	}
	free(ents);
	return rc;
}

static int check_values(struct blueprint *bp, const char *file, struct err *e)
{
	const json_t *secrets = json_object_get(bp->values, "secrets");
	const json_t *platform = json_object_get(bp->values, "platform");
	const char *k;
	json_t *v;

	if (!json_is_object(bp->values))
		return err_set(e, 500, "%s:1: values.yaml must be a mapping", file);
	if (json_object_get(bp->values, "store"))
		return err_set(e, 500, "%s: 'store' is reserved for the per-store values", file);
	if (!json_is_string(json_object_get(bp->values, "domain")) ||
	    !json_is_boolean(get_path(bp->values, "tls.enabled", 11)))
		return err_set(e, 500,
			       "%s: a chart needs 'domain' (string) and 'tls.enabled' (boolean)",
			       file);
	if (secrets && !json_is_object(secrets))
		return err_set(e, 500, "%s: 'secrets' must be a mapping", file);
	if (platform && !json_is_boolean(platform))
		return err_set(e, 500, "%s: 'platform' must be a boolean", file);
	if (json_is_true(platform)) {
		/* nothing per store: no store.* values, no generated secrets */
		if (!json_is_string(json_object_get(bp->values, "namespace")))
			return err_set(e, 500, "%s: a platform chart needs 'namespace' (a string)",
				       file);
		if (json_object_size(secrets))
			return err_set(e, 500,
				       "%s: a platform chart has no generated secrets: reference "
				       "the operator's Secret instead",
				       file);
		bp->platform = 1;
	}
	json_object_foreach((json_t *)secrets, k, v) {
		struct y2j_pos p;

		y2j_marks_find(bp->marks, secrets, k, 0, &p, NULL);
		if (!json_is_string(v) || json_string_length(v))
			return err_set(e, 500,
				       "%s:%u: secret '%s' must be \"\": secrets have no defaults",
				       file, p.line, k);
		if (json_array_append_new(bp->secret_names, json_string(k)) < 0)
			die_oom();
	}
	return 0;
}

/*
 * The versions a store may pin, checked after every layer (an overlay may
 * change the default or the list): each one text that is safe in an image
 * tag, and the default among them.  A chart with a version but no list
 * allows only its default.
 */
static int load_versions(struct blueprint *bp, struct err *e)
{
	const json_t *dv = json_object_get(bp->values, "version");
	const json_t *list = json_object_get(bp->values, "versions"), *v;
	int have_default = 0;
	size_t i;

	bp->versions = json_array();
	if (!bp->versions)
		die_oom();
	if (!json_is_string(dv)) {
		if (list)
			return err_set(e, 500, "chart '%s': 'versions' needs a string 'version'",
				       bp->engine);
		return 0;
	}
	if (!list) {
		if (json_array_append(bp->versions, (json_t *)dv) < 0)
			die_oom();
		return 0;
	}
	if (!json_is_array(list) || !json_array_size(list))
		return err_set(e, 500, "chart '%s': 'versions' must be a non-empty list",
			       bp->engine);
	json_array_foreach(list, i, v) {
		const char *s = json_string_value(v);

		if (!s || !*s || strlen(s) > 64 ||
		    strspn(s, "abcdefghijklmnopqrstuvwxyz"
			      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != strlen(s))
			return err_set(
			    e, 500, "chart '%s': versions[%zu] must be 1-64 of A-Z a-z 0-9 . _ -",
			    bp->engine, i);
		if (!strcmp(s, json_string_value(dv)))
			have_default = 1;
		if (json_array_append(bp->versions, (json_t *)v) < 0)
			die_oom();
	}
	if (!have_default)
		return err_set(e, 500, "chart '%s': version '%s' is not in 'versions'", bp->engine,
			       json_string_value(dv));
	return 0;
}

/* Render every manifest against placeholder store values: finds unknown values early. */
static int check_render(struct blueprint *bp, struct err *e)
{
	struct blueprint_store s = {.id = "check", .name = "check", .owner_email = "check"};
	struct rctx r = {.bp = bp, .check = 1, .e = e};
	json_t *set;

	if (bp->platform) {
		set = render_platform(&r);
		json_decref(set);
		return set ? 0 : -1;
	}
	r.layer = store_layer(bp, &s, 1, e);
	if (!r.layer)
		return -1;
	set = render_all(&r, s.id, "store-check");
	json_decref((json_t *)r.layer);
	if (!set)
		return -1;
	json_decref(set);
	return 0;
}

struct blueprint *blueprint_load(const char *charts_dir, const char *engine, const char *overlay,
				 const char *values_file, struct err *e)
{
	struct blueprint *bp;
	struct y2j_opts o;
	char path[4096];
	struct stat st;

	if (!valid_name(engine, 63))
		return fail_null(
		    err_set(e, 400, "engine '%.60s' is not a chart name", engine ? engine : ""));
	if (overlay && !valid_name(overlay, 63))
		return fail_null(
		    err_set(e, 400, "overlay '%.60s' is not a name (local, prod)", overlay));
	snprintf(path, sizeof(path), "%s/%s/values.yaml", charts_dir, engine);
	if (stat(path, &st) < 0)
		return fail_null(err_set(e, 404, "no engine '%s' (no %s)", engine, path));

	bp = calloc(1, sizeof(*bp));
	if (!bp)
		die_oom();
	bp->engine = strdup(engine);
	bp->marks = y2j_marks_new();
	bp->secret_names = json_array();
	bp->files = json_array();
	bp->keep = json_array();
	if (!bp->engine || !bp->secret_names || !bp->files || !bp->keep)
		die_oom();
	o = (struct y2j_opts){.marks = bp->marks};
	bp->values = y2j_load_file1(path, &o, e);
	if (!bp->values || check_values(bp, path, e) < 0)
		goto fail;
	if (overlay) {
		snprintf(path, sizeof(path), "%s/%s/values-%s.yaml", charts_dir, engine, overlay);
		if (stat(path, &st) < 0) {
			err_set(e, 404, "engine '%s' has no overlay '%s' (no %s)", engine, overlay,
				path);
			goto fail;
		}
		if (merge_file(bp, path, 1, e) < 0)
			goto fail;
	}
	if (values_file && merge_file(bp, values_file, 1, e) < 0)
		goto fail;
	if (load_versions(bp, e) < 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/%s/manifests", charts_dir, engine);
	if (load_manifests(bp, path, e) < 0 || check_render(bp, e) < 0)
		goto fail;
	return bp;
fail:
	blueprint_free(bp);
	return NULL;
}

void blueprint_free(struct blueprint *bp)
{
	if (!bp)
		return;
	free(bp->engine);
	json_decref(bp->values);
	json_decref(bp->secret_names);
	json_decref(bp->versions);
	json_decref(bp->files);
	json_decref(bp->keep);
	y2j_marks_free(bp->marks);
	free(bp);
}

int blueprint_set(struct blueprint *bp, const char *path, const char *value, const char *from,
		  struct err *e)
{
	const char *dot = strrchr(path, '.');
	json_t *parent, *d, *v = NULL;
	struct err why = ERR_INIT;

	if (!valid_path(path, strlen(path)))
		return err_set(e, 500, "%s: '%s' is not a value path", from, path);
	parent = dot ? (json_t *)get_path(bp->values, path, (size_t)(dot - path)) : bp->values;
	d = json_object_get(parent, dot ? dot + 1 : path);
	if (!d)
		return err_set(e, 500, "%s: unknown value '%s'", from, path);
	if (!strncmp(path, "secrets", 7) && (!path[7] || path[7] == '.'))
		return err_set(e, 500, "%s: secrets come only from the store", from);
	if (!strcmp(path, "platform"))
		return err_set(e, 500, "%s: 'platform' is fixed by values.yaml", from);
	if (y2j_resolve_plain(value, strlen(value), &v, &why) < 0)
		return err_set(e, 500, "%s: %s: %s", from, path, why.msg);
	if (!v)
		v = json_string(value);
	if (!v)
		return err_set(e, 500, "%s: %s: not valid UTF-8", from, path);
	if (json_is_string(d) && !json_is_string(v)) {
		json_decref(v);
		v = json_string(value); /* "8080" for a string value is the text 8080 */
	}
	if (!same_type(d, v)) {
		int rc = err_set(e, 500, "%s: '%s' is %s, but values.yaml has %s", from, path,
				 type_name(v), type_name(d));

		json_decref(v);
		return rc;
	}
	if (json_object_set_new(parent, dot ? dot + 1 : path, v) < 0)
		die_oom();
	return 0;
}

int blueprint_configure(struct blueprint *bp, const struct config *c, struct err *e)
{
	const struct {
		const char *path, *from, *value;
	} map[] = {
	    {"domain", "SF_DOMAIN", c->domain},
	    {"ingress.class", "SF_INGRESS_CLASS", c->ingress_class},
	    {"tls.secret_name", "SF_TLS_SECRET", c->tls_secret},
	    {"tls.cluster_issuer", "SF_TLS_ISSUER", c->tls_issuer},
	    {"webhooks.base_url", "SF_PUBLIC_ORIGIN", c->public_origin},
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (!map[i].value || !*map[i].value ||
		    !get_path(bp->values, map[i].path, strlen(map[i].path)))
			continue;
		if (blueprint_set(bp, map[i].path, map[i].value, map[i].from, e) < 0)
			return -1;
	}
	return 0;
}

int blueprint_is_platform(const struct blueprint *bp)
{
	return bp->platform;
}

const char *blueprint_engine(const struct blueprint *bp)
{
	return bp->engine;
}

const json_t *blueprint_values(const struct blueprint *bp)
{
	return bp->values;
}

const json_t *blueprint_versions(const struct blueprint *bp)
{
	return bp->versions;
}

int blueprint_version_known(const struct blueprint *bp, const char *version)
{
	const json_t *v;
	size_t i;

	if (!version)
		return 0;
	json_array_foreach(bp->versions, i, v)
		if (!strcmp(json_string_value(v), version))
			return 1;
	return 0;
}

const json_t *blueprint_secret_names(const struct blueprint *bp)
{
	return bp->secret_names;
}

const char *blueprint_revision(const json_t *set)
{
	const json_t *o = json_array_get(set, 0);

	return json_string_value(
	    json_object_get(json_object_get(json_object_get(o, "metadata"), "annotations"),
			    BLUEPRINT_REVISION_ANNOTATION));
}

void blueprint_mask_secrets(json_t *set)
{
	static const char *const fields[] = {"stringData", "data"};
	size_t i;
	json_t *o;

	json_array_foreach(set, i, o) {
		if (!json_is_string(json_object_get(o, "kind")) ||
		    strcmp(json_string_value(json_object_get(o, "kind")), "Secret"))
			continue;
		for (int f = 0; f < 2; f++) {
			json_t *m = json_object_get(o, fields[f]), *v;
			const char *k;

			json_object_foreach(m, k, v)
				set_str(m, k, f ? "KioqKioqKio=" : MASK); /* base64("********") */
		}
	}
}
