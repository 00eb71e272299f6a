/* validate.c - what the API server refuses: unknown fields, list-map duplicates, names, labels,
 * workload rules. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "kubesim.h"

/*
 * Messages follow k8s.io/apimachinery/pkg/util/validation and
 * the per-kind validation packages closely enough that a client matching on them
 * (or a human reading them) sees what a real server would say.
 */

const struct ks_field *ks_schema_field(int t, const char *name)
{
	int i;

	if (t < 0 || t >= ks_ntypes)
		return NULL;
	for (i = 0; i < ks_types[t].nfields; i++)
		if (!strcmp(ks_fields[ks_types[t].first + i].name, name))
			return &ks_fields[ks_types[t].first + i];
	return NULL;
}

const struct ks_resource *ks_resource_find(const char *group, const char *version,
					   const char *plural)
{
	int i;

	for (i = 0; i < ks_nresources; i++)
		if (!strcmp(ks_resources[i].group, group) &&
		    !strcmp(ks_resources[i].version, version) &&
		    !strcmp(ks_resources[i].plural, plural))
			return &ks_resources[i];
	return NULL;
}

const struct ks_resource *ks_resource_by_kind(const char *kind)
{
	int i;

	for (i = 0; kind && i < ks_nresources; i++)
		if (!strcmp(ks_resources[i].kind, kind))
			return &ks_resources[i];
	return NULL;
}

const char *ks_api_version(const struct ks_resource *r)
{
	static char gv[64][64];
	int i = (int)(r - ks_resources);

	if (!gv[i][0])
		snprintf(gv[i], sizeof(gv[i]), "%s%s%s", r->group, *r->group ? "/" : "",
			 r->version);
	return gv[i];
}

void ks_group_resource(struct buf *b, const struct ks_resource *r)
{
	buf_adds(b, r->plural);
	if (*r->group)
		buf_addf(b, ".%s", r->group);
}

/* --- schema walk -------------------------------------------------------- */

static void key_desc(struct buf *b, const json_t *item, const char *keys, int with_default)
{
	char k[64];
	const char *p = keys;
	int first = 1;

	buf_addch(b, '[');
	while (*p) {
		size_t n = strcspn(p, ",");

		snprintf(k, sizeof(k), "%.*s", (int)n, p);
		if (!first)
			buf_addch(b, ',');
		first = 0;
		buf_addf(b, "%s=", k);
		if (with_default && !json_object_get(item, k) && !strcmp(k, "protocol"))
			buf_adds(b, "\"TCP\"");
		else if (json_is_string(json_object_get(item, k)))
			buf_addf(b, "\"%s\"", json_string_value(json_object_get(item, k)));
		else if (json_is_integer(json_object_get(item, k)))
			buf_addf(b, "%lld",
				 (long long)json_integer_value(json_object_get(item, k)));
		else
			buf_adds(b, "null");
		p += n;
		if (*p == ',')
			p++;
	}
	buf_addch(b, ']');
}

/* Appends "[k=v,...]" identifying a list-map item (the SSA path syntax). */
void ks_list_key(struct buf *b, const json_t *item, const char *keys);
void ks_list_key(struct buf *b, const json_t *item, const char *keys)
{
	key_desc(b, item, keys, 1);
}

struct sink {
	json_t *unknown, *dups, *types;
};

static void walk(int t, const json_t *o, struct buf *path, const struct sink *k, int depth);

static const char *jtype(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "map";
	case JSON_ARRAY:
		return "list";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
		return "integer";
	case JSON_REAL:
		return "float";
	case JSON_TRUE:
	case JSON_FALSE:
		return "boolean";
	default:
		return "null";
	}
}

/* A scalar of the wrong JSON type: the typed decoding fails, as it does in the API server. */
static void check_scalar(int want, const json_t *v, const struct buf *path, json_t *types)
{
	static const char *const names[] = {"any",     "string",	"integer", "boolean",
					    "numeric", "int or string", "quantity"};
	int ok;

	if (json_is_null(v))
		return;
	switch (want) {
	case KS_STRING:
		ok = json_is_string(v);
		break;
	case KS_INTEGER:
		ok = json_is_integer(v) ||
		     (json_is_real(v) &&
		      json_real_value(v) == (double)(long long)json_real_value(v));
		break;
	case KS_BOOLEAN:
		ok = json_is_boolean(v);
		break;
	case KS_NUMBER:
	case KS_QUANTITY:
		ok = json_is_number(v) || (want == KS_QUANTITY && json_is_string(v));
		break;
	case KS_INT_OR_STRING:
		ok = json_is_integer(v) || json_is_string(v);
		break;
	default:
		ok = 1;
	}
	if (!ok)
		json_array_append_new(
		    types, json_sprintf("%s: expected %s, got %s", path->s, names[want], jtype(v)));
}

static void walk_value(const struct ks_field *f, const json_t *v, struct buf *path,
		       const struct sink *k2, int depth)
{
	size_t i, len = path->len;
	json_t *item;
	const char *k;

	if (json_is_null(v))
		return;
	switch (f->kind) {
	case KS_OBJECT:
		if (f->type >= 0 && json_is_object(v))
			walk(f->type, v, path, k2, depth + 1);
		else if (f->type >= 0 && !ks_types[f->type].open)
			json_array_append_new(
			    k2->types, json_sprintf("%s: expected map, got %s", path->s, jtype(v)));
		else if (f->type < 0)
			check_scalar(f->scalar, v, path, k2->types);
		break;
	case KS_MAP:
		if (!json_is_object(v)) {
			json_array_append_new(
			    k2->types, json_sprintf("%s: expected map, got %s", path->s, jtype(v)));
			break;
		}
		json_object_foreach((json_t *)v, k, item) {
			buf_addf(path, ".%s", k);
			if (f->type >= 0)
				walk(f->type, item, path, k2, depth + 1);
			else
				check_scalar(f->scalar, item, path, k2->types);
			buf_setlen(path, len);
		}
		break;
	case KS_ARRAY:
		if (!json_is_array(v)) {
			json_array_append_new(k2->types, json_sprintf("%s: expected list, got %s",
								      path->s, jtype(v)));
			break;
		}
		json_array_foreach(v, i, item) {
			if (f->list == KS_LIST_MAP && *f->keys && json_is_object(item)) {
				size_t j;
				struct buf a = BUF_INIT, b2 = BUF_INIT;

				key_desc(&a, item, f->keys, 1);
				for (j = 0; j < i; j++) {
					buf_reset(&b2);
					key_desc(&b2, json_array_get(v, j), f->keys, 1);
					if (!strcmp(a.s, b2.s)) {
						json_array_append_new(
						    k2->dups,
						    json_sprintf("%s: duplicate entries for key %s",
								 path->s, a.s));
						break;
					}
				}
				buf_adds(path, a.s);
				buf_release(&a);
				buf_release(&b2);
			} else {
				buf_addf(path, "[%zu]", i);
			}
			if (f->type >= 0 && json_is_object(item))
				walk(f->type, item, path, k2, depth + 1);
			else if (f->type >= 0 && !json_is_null(item))
				json_array_append_new(
				    k2->types,
				    json_sprintf("%s: expected map, got %s", path->s, jtype(item)));
			else if (f->type < 0)
				check_scalar(f->scalar, item, path, k2->types);
			buf_setlen(path, len);
		}
		break;
	default:
		check_scalar(f->scalar, v, path, k2->types);
		break;
	}
}

static void walk(int t, const json_t *o, struct buf *path, const struct sink *k2, int depth)
{
	const char *k;
	json_t *v;
	size_t len = path->len;

	if (t < 0 || ks_types[t].open || depth > 40 || !json_is_object(o))
		return;
	json_object_foreach((json_t *)o, k, v) {
		const struct ks_field *f = ks_schema_field(t, k);

		buf_addf(path, ".%s", k);
		if (!f)
			json_array_append_new(k2->unknown, json_string(path->s));
		else
			walk_value(f, v, path, k2, depth);
		buf_setlen(path, len);
	}
}

void ks_schema_check(const struct ks_resource *r, const json_t *o, json_t *unknown, json_t *dups,
		     json_t *types)
{
	struct buf path = BUF_INIT;
	struct sink k2 = {unknown, dups, types};

	buf_adds(&path, "");
	walk(r->type, o, &path, &k2, 0);
	buf_release(&path);
}

/* --- field validation --------------------------------------------------- */

static const char DNS1123_LABEL[] =
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
    "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
    "'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
static const char DNS1123_SUB[] =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
    "'-' or '.', and must start and end with an alphanumeric character (e.g. "
    "'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
static const char DNS1035[] =
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start "
    "with an alphabetic character, and end with an alphanumeric character (e.g. "
    "'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
static const char QNAME[] =
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start "
    "and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', "
    "regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
static const char LVALUE[] =
    "a valid label must be an empty string or consist of alphanumeric characters, '-', "
    "'_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  "
    "or 'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

static int is_label(const char *s, int first_alpha)
{
	size_t n = strlen(s), i;

	if (!n || n > 63)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!(islower((unsigned char)c) || isdigit((unsigned char)c) || c == '-'))
			return 0;
	}
	if (s[0] == '-' || s[n - 1] == '-')
		return 0;
	if (first_alpha && !islower((unsigned char)s[0]))
		return 0;
	return 1;
}

static int is_subdomain(const char *s)
{
	size_t n = strlen(s), i;

	if (!n || n > 253)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!(islower((unsigned char)c) || isdigit((unsigned char)c) || c == '-' ||
		      c == '.'))
			return 0;
		if (c == '.' || c == '-') {
			if (i == 0 || i == n - 1)
				return 0;
			if (c == '.' && (s[i - 1] == '.' || s[i - 1] == '-' || s[i + 1] == '-'))
				return 0;
		}
	}
	return isalnum((unsigned char)s[0]) && isalnum((unsigned char)s[n - 1]);
}

static int is_qname_part(const char *s, size_t n)
{
	size_t i;

	if (!n || n > 63)
		return 0;
	for (i = 0; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '-' || s[i] == '_' || s[i] == '.'))
			return 0;
	return isalnum((unsigned char)s[0]) && isalnum((unsigned char)s[n - 1]);
}

static void cause(json_t *causes, const char *reason, const char *field, const char *fmt, ...)
    SF_PRINTF(4, 5);
static void cause(json_t *causes, const char *reason, const char *field, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	size_t i;
	json_t *c;

	/* one cause per field: the first (most basic) problem wins */
	json_array_foreach(causes, i, c)
		if (!strcmp(json_string_value(json_object_get(c, "field")) ?: "", field))
			return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_array_append_new(
	    causes, json_pack("{s:s,s:s,s:s}", "reason", reason, "message", msg, "field", field));
}

static void check_qualified_key(json_t *causes, const char *field, const char *k)
{
	const char *slash = strrchr(k, '/');
	const char *name = slash ? slash + 1 : k;

	if (slash) {
		char prefix[300];

		snprintf(prefix, sizeof(prefix), "%.*s", (int)(slash - k), k);
		if (!is_subdomain(prefix))
			cause(causes, "FieldValueInvalid", field,
			      "Invalid value: \"%s\": prefix part %s", k, DNS1123_SUB);
	}
	if (!is_qname_part(name, strlen(name)))
		cause(causes, "FieldValueInvalid", field, "Invalid value: \"%s\": %s", k,
		      strlen(name) > 63 ? "name part must be no more than 63 bytes" : QNAME);
}

static void check_meta(const struct ks_resource *r, const json_t *md, json_t *causes)
{
	const char *name = json_string_value(json_object_get(md, "name"));
	const char *k;
	json_t *v;
	size_t total = 0;

	if (!name || !*name) {
		cause(causes, "FieldValueRequired", "metadata.name",
		      "Required value: name or generateName is required");
	} else if (!strcmp(r->plural, "namespaces")) {
		if (!is_label(name, 0))
			cause(causes, "FieldValueInvalid", "metadata.name",
			      "Invalid value: \"%s\": %s", name,
			      strlen(name) > 63 ? "must be no more than 63 characters"
						: DNS1123_LABEL);
	} else if (!strcmp(r->plural, "services")) {
		if (!is_label(name, 1))
			cause(causes, "FieldValueInvalid", "metadata.name",
			      "Invalid value: \"%s\": %s", name,
			      strlen(name) > 63 ? "must be no more than 63 characters" : DNS1035);
	} else if (!strcmp(r->group, "rbac.authorization.k8s.io")) {
		if (!strcmp(name, ".") || !strcmp(name, "..") || strpbrk(name, "/%"))
			cause(causes, "FieldValueInvalid", "metadata.name",
			      "Invalid value: \"%s\": may not contain '/' or '%%'", name);
	} else if (!is_subdomain(name)) {
		cause(causes, "FieldValueInvalid", "metadata.name", "Invalid value: \"%s\": %s",
		      name,
		      strlen(name) > 253 ? "must be no more than 253 characters" : DNS1123_SUB);
	} else if (!strcmp(r->plural, "jobs") && strlen(name) > 63) {
		cause(causes, "FieldValueInvalid", "spec.template.labels",
		      "Invalid value: \"%s\": must be no more than 63 characters", name);
	}
	json_object_foreach((json_t *)json_object_get(md, "labels"), k, v) {
		const char *s = json_string_value(v);

		check_qualified_key(causes, "metadata.labels", k);
		if (!s) {
			cause(causes, "FieldValueInvalid", "metadata.labels",
			      "Invalid value: \"%s\": label values must be strings", k);
			continue;
		}
		if (*s && !is_qname_part(s, strlen(s)))
			cause(causes, "FieldValueInvalid", "metadata.labels",
			      "Invalid value: \"%s\": %s", s,
			      strlen(s) > 63 ? "must be no more than 63 bytes" : LVALUE);
	}
	json_object_foreach((json_t *)json_object_get(md, "annotations"), k, v) {
		char low[320];
		size_t i;

		snprintf(low, sizeof(low), "%s", k);
		for (i = 0; low[i]; i++)
			low[i] = (char)tolower((unsigned char)low[i]);
		check_qualified_key(causes, "metadata.annotations", low);
		total += strlen(k) + (json_is_string(v) ? json_string_length(v) : 0);
	}
	if (total > 256 * 1024)
		cause(causes, "FieldValueTooLong", "metadata.annotations",
		      "Too long: may not be more than 262144 bytes");
}

static void check_podspec(const json_t *spec, const char *prefix, json_t *causes,
			  const char *need_restart)
{
	json_t *cs = json_object_get(spec, "containers"), *c;
	const char *rp = json_string_value(json_object_get(spec, "restartPolicy"));
	char field[256];
	size_t i;

	if (!json_array_size(cs)) {
		snprintf(field, sizeof(field), "%s.containers", prefix);
		cause(causes, "FieldValueRequired", field, "Required value");
	}
	json_array_foreach(cs, i, c) {
		const char *name = json_string_value(json_object_get(c, "name"));
		const char *image = json_string_value(json_object_get(c, "image"));

		snprintf(field, sizeof(field), "%s.containers[%zu].name", prefix, i);
		if (!name || !*name)
			cause(causes, "FieldValueRequired", field, "Required value");
		else if (!is_label(name, 0))
			cause(causes, "FieldValueInvalid", field, "Invalid value: \"%s\": %s", name,
			      DNS1123_LABEL);
		snprintf(field, sizeof(field), "%s.containers[%zu].image", prefix, i);
		if (!image || !*image)
			cause(causes, "FieldValueRequired", field, "Required value");
	}
	snprintf(field, sizeof(field), "%s.restartPolicy", prefix);
	if (need_restart && !strcmp(need_restart, "job")) {
		if (!rp || (strcmp(rp, "Never") && strcmp(rp, "OnFailure")))
			cause(
			    causes, "FieldValueNotSupported", field,
			    "Unsupported value: \"%s\": supported values: \"OnFailure\", \"Never\"",
			    rp ? rp : "Always");
	} else if (need_restart && rp && strcmp(rp, "Always")) {
		cause(causes, "FieldValueNotSupported", field,
		      "Unsupported value: \"%s\": supported values: \"Always\"", rp);
	}
}

static void check_workload(const struct ks_resource *r, const json_t *o, json_t *causes)
{
	json_t *spec = json_object_get(o, "spec");
	json_t *tmpl = json_object_get(spec, "template");
	json_t *sel = json_object_get(spec, "selector");
	json_t *tl = json_object_get(json_object_get(tmpl, "metadata"), "labels");
	int job = !strcmp(r->plural, "jobs");

	if (!job || json_is_true(json_object_get(spec, "manualSelector"))) {
		if (!json_is_object(sel) ||
		    (!json_object_size(json_object_get(sel, "matchLabels")) &&
		     !json_array_size(json_object_get(sel, "matchExpressions"))))
			cause(causes, job ? "FieldValueRequired" : "FieldValueInvalid",
			      "spec.selector",
			      job ? "Required value"
				  : "Invalid value: \"null\": empty selector is invalid for "
				    "deployment");
		else if (!ks_labelselector_match(sel, tl))
			cause(causes, "FieldValueInvalid", "spec.template.metadata.labels",
			      "Invalid value: %s: `selector` does not match template `labels`",
			      "map[string]string{...}");
	} else if (json_is_object(sel)) {
		/*
		 * ValidateGeneratedSelector: the generated selector (ks_ctl_on_create)
		 * selects this Job's controller-uid and job-name labels and nothing else
		 */
		json_t *md = json_object_get(o, "metadata");
		json_t *want = json_pack("{s:s,s:s}", "batch.kubernetes.io/controller-uid",
					 json_string_value(json_object_get(md, "uid")) ?: "",
					 "batch.kubernetes.io/job-name",
					 json_string_value(json_object_get(md, "name")) ?: "");

		if (!ks_labelselector_match(sel, want)) {
			struct buf v = BUF_INIT;

			ks_selector_json(&v, sel);
			cause(causes, "FieldValueInvalid", "spec.selector",
			      "Invalid value: %s: `selector` not auto-generated", v.s);
			buf_release(&v);
		} else if (!ks_labelselector_match(sel, tl)) {
			cause(causes, "FieldValueInvalid", "spec.template.metadata.labels",
			      "Invalid value: %s: `selector` does not match template `labels`",
			      "map[string]string{...}");
		}
		json_decref(want);
	} else {
		cause(causes, "FieldValueRequired", "spec.selector", "Required value");
	}
	if (!json_is_object(tmpl))
		cause(causes, "FieldValueRequired", "spec.template", "Required value");
	else
		check_podspec(json_object_get(tmpl, "spec"), "spec.template.spec", causes,
			      job ? "job" : "always");
}

/* Required fields (the schema's "required" lists), with the server's index paths. */
static void required_walk(int t, const json_t *o, struct buf *path, json_t *causes, int depth)
{
	const char *p, *k;
	json_t *v;
	size_t len = path->len;

	if (t < 0 || ks_types[t].open || depth > 40 || !json_is_object(o))
		return;
	for (p = ks_types[t].required; *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ',')) {
		char name[64];
		json_t *have;

		snprintf(name, sizeof(name), "%.*s", (int)strcspn(p, ","), p);
		have = json_object_get(o, name);
		if (!have || json_is_null(have)) {
			buf_addf(path, "%s%s", path->len ? "." : "", name);
			cause(causes, "FieldValueRequired", path->s, "Required value");
			buf_setlen(path, len);
		}
	}
	json_object_foreach((json_t *)o, k, v) {
		const struct ks_field *f = ks_schema_field(t, k);
		size_t i, l2;
		json_t *item;
		const char *mk;

		if (!f || f->type < 0 || json_is_null(v))
			continue;
		if (!depth && !strcmp(k, "status"))
			continue; /* status is the controllers', not validated with the object */
		buf_addf(path, "%s%s", path->len ? "." : "", k);
		l2 = path->len;
		if (f->kind == KS_OBJECT) {
			required_walk(f->type, v, path, causes, depth + 1);
		} else if (f->kind == KS_ARRAY && json_is_array(v)) {
			json_array_foreach(v, i, item) {
				buf_addf(path, "[%zu]", i);
				required_walk(f->type, item, path, causes, depth + 1);
				buf_setlen(path, l2);
			}
		} else if (f->kind == KS_MAP && json_is_object(v)) {
			json_object_foreach(v, mk, item) {
				buf_addf(path, "[%s]", mk);
				required_walk(f->type, item, path, causes, depth + 1);
				buf_setlen(path, l2);
			}
		}
		buf_setlen(path, len);
	}
}

json_t *ks_validate(const struct ks_resource *r, const json_t *o)
{
	json_t *causes = json_array();
	json_t *md = json_object_get(o, "metadata");
	struct buf path = BUF_INIT;

	buf_adds(&path, "");
	required_walk(r->type, o, &path, causes, 0);
	buf_release(&path);

	check_meta(r, md, causes);
	if (r->namespaced) {
		const char *ns = json_string_value(json_object_get(md, "namespace"));

		if (ns && !is_label(ns, 0))
			cause(causes, "FieldValueInvalid", "metadata.namespace",
			      "Invalid value: \"%s\": %s", ns, DNS1123_LABEL);
	}
	if (!strcmp(r->plural, "deployments") || !strcmp(r->plural, "statefulsets") ||
	    !strcmp(r->plural, "replicasets") || !strcmp(r->plural, "jobs"))
		check_workload(r, o, causes);
	else if (!strcmp(r->plural, "pods"))
		check_podspec(json_object_get(o, "spec"), "spec", causes, NULL);
	else if (!strcmp(r->plural, "services")) {
		json_t *ports = json_object_get(json_object_get(o, "spec"), "ports"), *p;
		size_t i;

		json_array_foreach(ports, i, p) {
			char field[64];

			snprintf(field, sizeof(field), "spec.ports[%zu].port", i);
			if (!json_is_integer(json_object_get(p, "port")))
				cause(causes, "FieldValueRequired", field, "Required value");
		}
	}
	return causes;
}

void ks_invalid_message(struct buf *b, const struct ks_resource *r, const char *name,
			const json_t *causes)
{
	size_t i, n = json_array_size(causes);
	json_t *c;

	buf_addf(b, "%s%s%s \"%s\" is invalid: ", r->kind, *r->group ? "." : "", r->group,
		 name ? name : "");
	if (n > 1)
		buf_addch(b, '[');
	json_array_foreach(causes, i, c) {
		if (i)
			buf_adds(b, ", ");
		buf_addf(b, "%s: %s", json_string_value(json_object_get(c, "field")),
			 json_string_value(json_object_get(c, "message")));
	}
	if (n > 1)
		buf_addch(b, ']');
}
