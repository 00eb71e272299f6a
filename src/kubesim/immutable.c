/* immutable.c - what an update may not change: a Job's template and selector, a Deployment's
 * selector, a Service's cluster IPs, a claim's spec (422 Invalid with the API server's texts). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kubesim.h"

/*
 * The checks of the API server's update validation (k8s.io/kubernetes
 * pkg/apis/{batch,apps,core}/validation and the apps strategies), for the
 * fields a storefleet client can trip over:
 *
 *   Job: spec.selector and spec.template (ValidateJobSpecUpdate);
 *   Deployment: spec.selector (deployment strategy ValidateUpdate);
 *   StatefulSet: everything in spec but replicas, ordinals, template,
 *     updateStrategy, persistentVolumeClaimRetentionPolicy, minReadySeconds;
 *   Service: spec.clusterIPs[0] "may not change once set" (clusterIP and
 *     clusterIPs are one field since dual-stack: a changed clusterIP
 *     becomes clusterIPs[0], validateUpgradeDowngradeClusterIPs);
 *   PersistentVolumeClaim: the spec, except resources.requests.storage of
 *     a bound claim, volumeAttributesClassName and a first volumeName
 *     (ValidatePersistentVolumeClaimUpdate).  The claim's message carries,
 *     as 1.36's does, a unified diff of the internal spec's JSON
 *     (k8s.io/apimachinery pkg/util/diff: json.MarshalIndent with one
 *     space, go-difflib with 3 lines of context).
 *
 * Values print as field.Error does since 1.34: strings quoted, other
 * values as JSON; an internal type (the Job's core.PodTemplateSpec) is
 * shown as its type name followed by its JSON, standing in for Go's %#v.
 */

static json_t *spec_of(const json_t *o)
{
	return json_object_get(o, "spec");
}

static void add_cause(json_t *causes, const char *reason, const char *field, const char *msg)
{
	json_array_append_new(
	    causes, json_pack("{s:s,s:s,s:s}", "reason", reason, "message", msg, "field", field));
}

/* --- Go's JSON of a few types ------------------------------------------------------------- */

/* A JSON string as encoding/json writes it (HTML characters escaped). */
static void go_string(struct buf *b, const char *s)
{
	buf_addch(b, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			buf_addf(b, "\\%c", c);
		else if (c == '\n')
			buf_adds(b, "\\n");
		else if (c == '\t')
			buf_adds(b, "\\t");
		else if (c == '\r')
			buf_adds(b, "\\r");
		else if (c < 0x20 || c == '<' || c == '>' || c == '&')
			buf_addf(b, "\\u%04x", c);
		else
			buf_addch(b, (char)c);
	}
	buf_addch(b, '"');
}

static void nl(struct buf *b, int pretty, int depth)
{
	if (!pretty)
		return;
	buf_addch(b, '\n');
	while (depth-- > 0)
		buf_addch(b, ' ');
}

/* Any JSON value, maps with sorted keys (a Go map), compact or MarshalIndent("", " "). */
static void go_json(struct buf *b, const json_t *v, int pretty, int depth)
{
	size_t i, n;

	if (json_is_object(v)) {
		const char **keys;
		const char *k;
		json_t *x;

		n = json_object_size(v);
		if (!n) {
			buf_adds(b, "{}");
			return;
		}
		keys = malloc(n * sizeof(*keys));
		if (!keys)
			die_oom();
		i = 0;
		json_object_foreach((json_t *)v, k, x)
			keys[i++] = k;
		for (i = 1; i < n; i++)
			for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
				const char *t = keys[j];

				keys[j] = keys[j - 1];
				keys[j - 1] = t;
			}
		buf_addch(b, '{');
		for (i = 0; i < n; i++) {
			if (i)
				buf_addch(b, ',');
			nl(b, pretty, depth + 1);
			go_string(b, keys[i]);
			buf_adds(b, pretty ? ": " : ":");
			go_json(b, json_object_get(v, keys[i]), pretty, depth + 1);
		}
		nl(b, pretty, depth);
		buf_addch(b, '}');
		free(keys);
	} else if (json_is_array(v)) {
		n = json_array_size(v);
		if (!n) {
			buf_adds(b, "[]");
			return;
		}
		buf_addch(b, '[');
		for (i = 0; i < n; i++) {
			if (i)
				buf_addch(b, ',');
			nl(b, pretty, depth + 1);
			go_json(b, json_array_get(v, i), pretty, depth + 1);
		}
		nl(b, pretty, depth);
		buf_addch(b, ']');
	} else if (json_is_string(v)) {
		go_string(b, json_string_value(v));
	} else if (!v || json_is_null(v)) {
		buf_adds(b, "null");
	} else {
		char *s = json_dumps(v, JSON_ENCODE_ANY);

		buf_adds(b, s ? s : "null");
		free(s);
	}
}

/* Fields in Go's declaration order: {"name", value-or-NULL-for-omitempty-zero}. */
struct gofield {
	const char *name;
	json_t *v; /* borrowed; NULL = left out (omitempty) */
	int keep_null;
};

static void go_struct(struct buf *b, const struct gofield *f, int n, int pretty, int depth)
{
	int i, first = 1;

	for (i = 0; i < n; i++)
		if (f[i].v || f[i].keep_null)
			break;
	if (i == n) {
		buf_adds(b, "{}");
		return;
	}
	buf_addch(b, '{');
	for (i = 0; i < n; i++) {
		if (!f[i].v && !f[i].keep_null)
			continue;
		if (!first)
			buf_addch(b, ',');
		first = 0;
		nl(b, pretty, depth + 1);
		go_string(b, f[i].name);
		buf_adds(b, pretty ? ": " : ":");
		go_json(b, f[i].v, pretty, depth + 1);
	}
	nl(b, pretty, depth);
	buf_addch(b, '}');
}

static json_t *nonempty(json_t *v)
{
	if (json_is_object(v) && !json_object_size(v))
		return NULL;
	if (json_is_array(v) && !json_array_size(v))
		return NULL;
	return json_is_null(v) ? NULL : v;
}

/* A *metav1.LabelSelector as json.Marshal writes it (matchLabels, matchExpressions). */
void ks_selector_json(struct buf *b, const json_t *sel)
{
	json_t *exprs = json_object_get(sel, "matchExpressions"), *e, *conv = NULL;
	size_t i;
	struct gofield f[2];

	if (!json_is_object(sel)) {
		buf_adds(b, "null");
		return;
	}
	if (json_array_size(exprs)) {
		conv = json_array();
		json_array_foreach(exprs, i, e) {
			struct buf one = BUF_INIT;
			struct gofield g[3] = {
			    {"key", json_object_get(e, "key") ?: json_string(""), 0},
			    {"operator", json_object_get(e, "operator") ?: json_string(""), 0},
			    {"values", nonempty(json_object_get(e, "values")), 0},
			};

			go_struct(&one, g, 3, 0, 0);
			json_array_append_new(conv, json_string(one.s));
			buf_release(&one);
		}
	}
	f[0] = (struct gofield){"matchLabels", nonempty(json_object_get(sel, "matchLabels")), 0};
	f[1] = (struct gofield){"matchExpressions", NULL, 0};
	if (!conv) {
		go_struct(b, f, 2, 0, 0);
		return;
	}
	/* the expressions are pre-rendered: splice them in by hand */
	buf_addch(b, '{');
	if (f[0].v) {
		buf_adds(b, "\"matchLabels\":");
		go_json(b, f[0].v, 0, 0);
		buf_addch(b, ',');
	}
	buf_adds(b, "\"matchExpressions\":[");
	json_array_foreach(conv, i, e) {
		if (i)
			buf_addch(b, ',');
		buf_adds(b, json_string_value(e));
	}
	buf_adds(b, "]}");
	json_decref(conv);
}

/* "Invalid value: <v>: field is immutable" for field, v a selector. */
static void immutable_selector(json_t *causes, const char *field, const json_t *sel)
{
	struct buf m = BUF_INIT;

	buf_adds(&m, "Invalid value: ");
	ks_selector_json(&m, sel);
	buf_adds(&m, ": field is immutable");
	add_cause(causes, "FieldValueInvalid", field, m.s);
	buf_release(&m);
}

/* --- Job, Deployment, Service ----------------------------------------------------------------- */

static void job_update(const json_t *old, const json_t *o, json_t *causes)
{
	const json_t *a = json_object_get(spec_of(old), "selector");
	const json_t *b = json_object_get(spec_of(o), "selector");

	if (!json_equal(a, b) && !(!a && json_is_null(b)) && !(!b && json_is_null(a)))
		immutable_selector(causes, "spec.selector", b);
	a = json_object_get(spec_of(old), "template");
	b = json_object_get(spec_of(o), "template");
	if (!json_equal(a, b)) {
		struct buf m = BUF_INIT;
		char *text = json_dumps(b ? b : json_null(),
					JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);

		/* the real message prints the Go struct; its JSON stands in */
		buf_addf(&m, "Invalid value: core.PodTemplateSpec%.200s%s: field is immutable",
			 text ? text : "{}", text && strlen(text) > 200 ? "..." : "");
		free(text);
		add_cause(causes, "FieldValueInvalid", "spec.template", m.s);
		buf_release(&m);
	}
}

static void deployment_update(const json_t *old, const json_t *o, json_t *causes)
{
	const json_t *a = json_object_get(spec_of(old), "selector");
	const json_t *b = json_object_get(spec_of(o), "selector");

	if (!json_equal(a, b))
		immutable_selector(causes, "spec.selector", b);
}

/*
 * StatefulSet: only replicas, ordinals, template, updateStrategy,
 * persistentVolumeClaimRetentionPolicy and minReadySeconds may change
 * (apps validation ValidateStatefulSetUpdate): a volumeClaimTemplate's size
 * among the rest, so a bigger volume is asked of the claim itself.
 */
static void statefulset_update(const json_t *old, const json_t *o, json_t *causes)
{
	static const char *const may[] = {"replicas",
					  "ordinals",
					  "template",
					  "updateStrategy",
					  "persistentVolumeClaimRetentionPolicy",
					  "minReadySeconds"};
	json_t *a = json_deep_copy(spec_of(old)), *b = json_deep_copy(spec_of(o));

	if (!json_is_object(a))
		a = json_object();
	if (!json_is_object(b))
		b = json_object();
	for (size_t i = 0; i < sizeof(may) / sizeof(may[0]); i++) {
		json_object_del(a, may[i]);
		json_object_del(b, may[i]);
	}
	if (!json_equal(a, b))
		add_cause(
		    causes, "FieldValueForbidden", "spec",
		    "Forbidden: updates to statefulset spec for fields other than 'replicas', "
		    "'ordinals', 'template', 'updateStrategy', "
		    "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are "
		    "forbidden");
	json_decref(a);
	json_decref(b);
}

static int headless(const json_t *ips)
{
	return json_array_size(ips) == 1 &&
	       !strcmp(json_string_value(json_array_get(ips, 0)) ?: "", "None");
}

static void service_update(const json_t *old, json_t *o, json_t *causes)
{
	json_t *os = spec_of(old), *ns = spec_of(o);
	const char *ot = json_string_value(json_object_get(os, "type"));
	const char *nt = json_string_value(json_object_get(ns, "type"));
	json_t *oips = json_object_get(os, "clusterIPs"), *nips;
	const char *oip = json_string_value(json_object_get(os, "clusterIP")) ?: "";
	const char *nip = json_string_value(json_object_get(ns, "clusterIP")) ?: "";
	struct buf m = BUF_INIT, v = BUF_INIT;

	if (!json_is_object(ns))
		return;
	if (!json_array_size(oips) && *oip)
		oips = json_pack("[s]", oip); /* stored before clusterIPs was filled in */
	else
		json_incref(oips);
	/* normalizeClusterIPs: a client that changed only clusterIP changed clusterIPs[0] */
	if (strcmp(oip, nip) && *nip &&
	    (!json_object_get(ns, "clusterIPs") ||
	     json_equal(json_object_get(ns, "clusterIPs"), oips)))
		json_object_set_new(ns, "clusterIPs", json_pack("[s]", nip));
	nips = json_object_get(ns, "clusterIPs");
	if ((ot && !strcmp(ot, "ExternalName")) || (nt && !strcmp(nt, "ExternalName")) ||
	    (headless(oips) && headless(nips))) {
		json_decref(oips);
		return;
	}
	go_json(&v, nips, 0, 0);
	if (json_array_size(oips) && json_array_size(nips) &&
	    strcmp(json_string_value(json_array_get(oips, 0)) ?: "",
		   json_string_value(json_array_get(nips, 0)) ?: "")) {
		buf_addf(&m, "Invalid value: %s: may not change once set", v.s);
		add_cause(causes, "FieldValueInvalid", "spec.clusterIPs[0]", m.s);
	} else if (json_array_size(oips) && !json_array_size(nips)) {
		buf_addf(&m, "Invalid value: %s: primary clusterIP can not be unset", v.s);
		add_cause(causes, "FieldValueInvalid", "spec.clusterIPs[0]", m.s);
	}
	json_decref(oips);
	buf_release(&m);
	buf_release(&v);
}

/* --- PersistentVolumeClaim -----------------------------------------------------------------------
 */

/* The internal core.PersistentVolumeClaimSpec as json.MarshalIndent("", " ") writes it. */
static void pvc_spec_json(struct buf *b, const json_t *spec)
{
	json_t *res = json_object_get(spec, "resources"), *rr, *ds, *dsr;
	json_t *vm = json_object_get(spec, "volumeMode");
	struct buf sel = BUF_INIT, resb = BUF_INIT, dsb = BUF_INIT, dsrb = BUF_INIT;
	json_t *selj, *resj, *dsj = NULL, *dsrj = NULL;
	struct gofield f[9];

	ks_selector_json(&sel, json_object_get(spec, "selector"));
	selj = json_loads(sel.s, JSON_DECODE_ANY, NULL);
	{
		struct gofield r[2] = {
		    {"Limits", nonempty(json_object_get(res, "limits")), 1},
		    {"Requests", nonempty(json_object_get(res, "requests")), 1},
		};

		/* an empty map set by the client is {} in Go, a missing one null */
		if (json_is_object(json_object_get(res, "limits")))
			r[0].v = json_object_get(res, "limits");
		if (json_is_object(json_object_get(res, "requests")))
			r[1].v = json_object_get(res, "requests");
		go_struct(&resb, r, 2, 0, 0);
		rr = json_loads(resb.s, JSON_DECODE_ANY, NULL);
	}
	resj = rr;
	ds = json_object_get(spec, "dataSource");
	if (json_is_object(ds)) {
		struct gofield d[3] = {
		    {"APIGroup", json_object_get(ds, "apiGroup"), 1},
		    {"Kind", json_object_get(ds, "kind") ?: json_string(""), 0},
		    {"Name", json_object_get(ds, "name") ?: json_string(""), 0},
		};

		go_struct(&dsb, d, 3, 0, 0);
		dsj = json_loads(dsb.s, JSON_DECODE_ANY, NULL);
	}
	dsr = json_object_get(spec, "dataSourceRef");
	if (json_is_object(dsr)) {
		struct gofield d[4] = {
		    {"APIGroup", json_object_get(dsr, "apiGroup"), 1},
		    {"Kind", json_object_get(dsr, "kind") ?: json_string(""), 0},
		    {"Name", json_object_get(dsr, "name") ?: json_string(""), 0},
		    {"Namespace", json_object_get(dsr, "namespace"), 1},
		};

		go_struct(&dsrb, d, 4, 0, 0);
		dsrj = json_loads(dsrb.s, JSON_DECODE_ANY, NULL);
	}
	f[0] = (struct gofield){"AccessModes", nonempty(json_object_get(spec, "accessModes")), 1};
	if (json_is_array(json_object_get(spec, "accessModes")))
		f[0].v = json_object_get(spec, "accessModes");
	f[1] = (struct gofield){"Selector", json_is_null(selj) ? NULL : selj, 1};
	f[2] = (struct gofield){"Resources", resj, 1};
	f[3] = (struct gofield){"VolumeName", json_object_get(spec, "volumeName"), 0};
	f[4] = (struct gofield){"StorageClassName", json_object_get(spec, "storageClassName"), 1};
	f[5] = (struct gofield){"VolumeMode", vm, 1};
	f[6] = (struct gofield){"DataSource", dsj, 1};
	f[7] = (struct gofield){"DataSourceRef", dsrj, 1};
	f[8] = (struct gofield){"VolumeAttributesClassName",
				json_object_get(spec, "volumeAttributesClassName"), 1};
	if (!f[3].v) {
		json_t *empty = json_string("");

		f[3].v = empty;
		go_struct(b, f, 9, 1, 0);
		json_decref(empty);
	} else {
		go_struct(b, f, 9, 1, 0);
	}
	json_decref(selj);
	json_decref(resj);
	json_decref(dsj);
	json_decref(dsrj);
	buf_release(&sel);
	buf_release(&resb);
	buf_release(&dsb);
	buf_release(&dsrb);
}

/* Split s into lines that keep their "\n" (the last one gets one), as go-difflib's SplitLines. */
static size_t split_lines(char *s, char ***out)
{
	size_t n = 1, i = 0;
	char *p;
	char **v;

	for (p = s; *p; p++)
		n += *p == '\n';
	v = malloc((n + 1) * sizeof(*v));
	if (!v)
		die_oom();
	for (p = s; *p;) {
		char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		char *line = malloc(len + 2);

		if (!line)
			die_oom();
		memcpy(line, p, len);
		line[len] = '\n';
		line[len + 1] = 0;
		v[i++] = line;
		p += len + (e != NULL);
	}
	*out = v;
	return i;
}

static void range_unified(struct buf *b, size_t start, size_t stop)
{
	size_t begin = start + 1, len = stop - start;

	if (len == 1)
		buf_addf(b, "%zu", begin);
	else
		buf_addf(b, "%zu,%zu", len ? begin : begin - 1, len);
}

struct op {
	char tag; /* 'e' equal, 'r' replace, 'd' delete, 'i' insert */
	size_t i1, i2, j1, j2;
};

/* One hunk: its header and lines. */
static void emit_group(struct buf *out, const struct op *grp, size_t ng, char **la, char **lb)
{
	size_t g, x;

	buf_adds(out, "@@ -");
	range_unified(out, grp[0].i1, grp[ng - 1].i2);
	buf_adds(out, " +");
	range_unified(out, grp[0].j1, grp[ng - 1].j2);
	buf_adds(out, " @@\n");
	for (g = 0; g < ng; g++) {
		if (grp[g].tag == 'e') {
			for (x = grp[g].i1; x < grp[g].i2; x++)
				buf_addf(out, " %s", la[x]);
			continue;
		}
		for (x = grp[g].i1; x < grp[g].i2; x++)
			buf_addf(out, "-%s", la[x]);
		for (x = grp[g].j1; x < grp[g].j2; x++)
			buf_addf(out, "+%s", lb[x]);
	}
}

/*
 * A unified diff of a and b with 3 lines of context, without file headers,
 * as go-difflib's GetUnifiedDiffString writes it.  The matching is a
 * longest common subsequence, which agrees with difflib's on texts this
 * small.
 */
static void unified_diff(struct buf *out, char *a, char *b)
{
	char **la, **lb;
	size_t na = split_lines(a, &la), nb = split_lines(b, &lb), i, j, nops = 0, k;
	unsigned short *t;
	struct op *ops;

	if (na > 2000 || nb > 2000)
		goto done;
	t = calloc((na + 1) * (nb + 1), sizeof(*t));
	ops = calloc(na + nb + 2, sizeof(*ops));
	if (!t || !ops)
		die_oom();
#define T(x, y) t[(x) * (nb + 1) + (y)]
	for (i = na; i-- > 0;)
		for (j = nb; j-- > 0;)
			T(i, j) = !strcmp(la[i], lb[j])	       ? T(i + 1, j + 1) + 1
				  : T(i + 1, j) >= T(i, j + 1) ? T(i + 1, j)
							       : T(i, j + 1);
	/* opcodes: runs of equal lines, and what lies between them */
	i = j = 0;
	while (i < na || j < nb) {
		size_t i0 = i, j0 = j;

		if (i < na && j < nb && !strcmp(la[i], lb[j])) {
			while (i < na && j < nb && !strcmp(la[i], lb[j])) {
				i++;
				j++;
			}
			ops[nops++] = (struct op){'e', i0, i, j0, j};
			continue;
		}
		while ((i < na || j < nb) && !(i < na && j < nb && !strcmp(la[i], lb[j]) &&
					       T(i, j) == T(i + 1, j + 1) + 1)) {
			if (j >= nb || (i < na && T(i + 1, j) >= T(i, j + 1)))
				i++;
			else
				j++;
		}
		ops[nops++] = (struct op){i > i0 && j > j0 ? 'r'
					  : i > i0	   ? 'd'
							   : 'i',
					  i0, i, j0, j};
	}
#undef T
	free(t);
	if (!nops)
		ops[nops++] = (struct op){'e', 0, 1, 0, 1};
	/* get_grouped_opcodes(3): trim the ends, split equal runs longer than 6 */
	if (ops[0].tag == 'e') {
		ops[0].i1 = ops[0].i2 > ops[0].i1 + 3 ? ops[0].i2 - 3 : ops[0].i1;
		ops[0].j1 = ops[0].j2 > ops[0].j1 + 3 ? ops[0].j2 - 3 : ops[0].j1;
	}
	if (ops[nops - 1].tag == 'e') {
		struct op *l = &ops[nops - 1];

		l->i2 = l->i1 + 3 < l->i2 ? l->i1 + 3 : l->i2;
		l->j2 = l->j1 + 3 < l->j2 ? l->j1 + 3 : l->j2;
	}
	{
		struct op *grp = calloc(nops + 2, sizeof(*grp));
		size_t ng = 0;

		if (!grp)
			die_oom();
		for (k = 0; k < nops; k++) {
			struct op o = ops[k];

			if (o.tag == 'e' && o.i2 - o.i1 > 6) {
				grp[ng++] = (struct op){'e', o.i1, o.i1 + 3, o.j1, o.j1 + 3};
				emit_group(out, grp, ng, la, lb);
				ng = 0;
				o.i1 = o.i2 - 3;
				o.j1 = o.j2 - 3;
			}
			grp[ng++] = o;
		}
		if (ng && !(ng == 1 && grp[0].tag == 'e'))
			emit_group(out, grp, ng, la, lb);
		free(grp);
	}
	free(ops);
done:
	for (i = 0; i < na; i++)
		free(la[i]);
	for (i = 0; i < nb; i++)
		free(lb[i]);
	free(la);
	free(lb);
}

static const json_t *storage_of(const json_t *o, const char *where)
{
	if (!strcmp(where, "capacity"))
		return json_object_get(json_object_get(json_object_get(o, "status"), "capacity"),
				       "storage");
	return json_object_get(
	    json_object_get(json_object_get(spec_of(o), "resources"), "requests"), "storage");
}

static void pvc_update(const json_t *old, const json_t *o, json_t *causes)
{
	json_t *os = json_deep_copy(spec_of(old)), *ns = json_deep_copy(spec_of(o));
	const char *phase =
	    json_string_value(json_object_get(json_object_get(o, "status"), "phase"));
	int bound = phase && !strcmp(phase, "Bound");
	struct ks_qty oldq, newq, capq;

	if (!json_is_object(os))
		os = json_object();
	if (!json_is_object(ns))
		ns = json_object();
	/* what the decoder defaults */
	if (!json_object_get(ns, "volumeMode"))
		json_object_set_new(ns, "volumeMode", json_string("Filesystem"));
	if (!json_object_get(os, "volumeMode"))
		json_object_set_new(os, "volumeMode", json_string("Filesystem"));
	/* a first volumeName is allowed (the binder sets it) */
	if (!*(json_string_value(json_object_get(os, "volumeName")) ?: ""))
		json_object_set(os, "volumeName", json_object_get(ns, "volumeName") ?: json_null());
	if (json_is_null(json_object_get(os, "volumeName")))
		json_object_del(os, "volumeName");
	/* volumeAttributesClassName may change */
	if (json_object_get(ns, "volumeAttributesClassName"))
		json_object_set(os, "volumeAttributesClassName",
				json_object_get(ns, "volumeAttributesClassName"));
	else
		json_object_del(os, "volumeAttributesClassName");
	/* a bound claim may change its storage request */
	if (bound &&
	    json_is_object(json_object_get(json_object_get(ns, "resources"), "requests"))) {
		json_t *req = json_object_get(json_object_get(ns, "resources"), "requests");
		const json_t *was = storage_of(old, "spec");

		if (was)
			json_object_set(req, "storage", (json_t *)was);
		else
			json_object_del(req, "storage");
	}
	if (!json_equal(os, ns)) {
		struct buf a = BUF_INIT, b = BUF_INIT, m = BUF_INIT;

		pvc_spec_json(&a, os);
		pvc_spec_json(&b, ns);
		buf_adds(&m,
			 "Forbidden: spec is immutable after creation except resources.requests "
			 "and volumeAttributesClassName for bound claims\n");
		unified_diff(&m, a.s, b.s);
		add_cause(causes, "FieldValueForbidden", "spec", m.s);
		buf_release(&a);
		buf_release(&b);
		buf_release(&m);
	}
	if (ks_qty_of(storage_of(o, "spec"), &newq) == 0 &&
	    ks_qty_of(storage_of(old, "spec"), &oldq) == 0 && ks_qty_cmp(&newq, &oldq) < 0) {
		/* RecoverVolumeExpansionFailure (GA): down to status.capacity, not below */
		if (ks_qty_of(storage_of(old, "capacity"), &capq) < 0)
			capq.v = 0;
		if (ks_qty_cmp(&newq, &capq) <= 0)
			add_cause(causes, "FieldValueForbidden", "spec.resources.requests.storage",
				  "Forbidden: field can not be less than status.capacity");
	}
	json_decref(os);
	json_decref(ns);
}

json_t *ks_validate_update(const struct ks_resource *r, const json_t *old, json_t *o)
{
	json_t *causes = json_array();

	if (!strcmp(r->plural, "jobs"))
		job_update(old, o, causes);
	else if (!strcmp(r->plural, "deployments"))
		deployment_update(old, o, causes);
	else if (!strcmp(r->plural, "statefulsets"))
		statefulset_update(old, o, causes);
	else if (!strcmp(r->plural, "services"))
		service_update(old, o, causes);
	else if (!strcmp(r->plural, "persistentvolumeclaims"))
		pvc_update(old, o, causes);
	return causes;
}
