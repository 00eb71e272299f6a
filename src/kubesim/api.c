/* api.c - the simulator's REST routing: discovery, CRUD, server-side apply, lists, /_sim control
 * endpoints. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kubesim.h"
#include "y2j.h"

/*
 * One request at a time holds ks_lock for its whole handling, so each
 * handler sees a consistent store.  Every error answer is a v1 Status
 * built by ks_status(), except unknown paths (plain-text 404, like Go's
 * http.NotFound).  Paths follow k8s-api-semantics.md section 1.
 */

#define MAX_LIMIT 100000

static json_t *stats_req, *stats_created;
static long long stats_total;

void ks_stats_count(const char *verb, const char *resource)
{
	char k[160];
	json_t *v;

	if (!stats_req)
		stats_req = json_object();
	snprintf(k, sizeof(k), "%s %s", verb, resource);
	v = json_object_get(stats_req, k);
	json_object_set_new(stats_req, k, json_integer(v ? json_integer_value(v) + 1 : 1));
	stats_total++;
}

void ks_stats_created(const char *kind)
{
	json_t *v;

	if (!stats_created)
		stats_created = json_object();
	v = json_object_get(stats_created, kind);
	json_object_set_new(stats_created, kind, json_integer(v ? json_integer_value(v) + 1 : 1));
}

/* --- small helpers ------------------------------------------------------ */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int ks_query(const char *query, const char *key, char *out, size_t n)
{
	const char *p = query;
	size_t kl = strlen(key);

	while (p && *p) {
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);

		if (len >= kl && !strncmp(p, key, kl) && (len == kl || p[kl] == '=')) {
			const char *v = len == kl ? p + len : p + kl + 1;
			size_t o = 0;

			while (v < p + len && o + 1 < n) {
				if (*v == '%' && v + 2 < p + len + 1 && hexval(v[1]) >= 0 &&
				    hexval(v[2]) >= 0) {
					out[o++] = (char)(hexval(v[1]) * 16 + hexval(v[2]));
					v += 3;
				} else {
					out[o++] = *v == '+' ? ' ' : *v;
					v++;
				}
			}
			out[o] = 0;
			return 1;
		}
		p = amp ? amp + 1 : NULL;
	}
	if (n)
		out[0] = 0;
	return 0;
}

int ks_qbool(const struct ks_req *q, const char *key)
{
	char v[16];

	return ks_query(q->query, key, v, sizeof(v)) &&
	       (!*v || !strcmp(v, "true") || !strcmp(v, "1"));
}

void ks_send_obj(struct ks_req *q, int code, const json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);

	q->status = code;
	q->resp_ctype = "application/json";
	buf_reset(&q->out);
	if (s)
		buf_adds(&q->out, s);
	free(s);
}

json_t *ks_details(const struct ks_resource *r, const char *name, int kind_is_kind)
{
	json_t *d = json_object();

	if (name && *name)
		json_object_set_new(d, "name", json_string(name));
	if (r && *r->group)
		json_object_set_new(d, "group", json_string(r->group));
	if (r)
		json_object_set_new(d, "kind", json_string(kind_is_kind ? r->kind : r->plural));
	return d;
}

void ks_status(struct ks_req *q, int code, const char *reason, const char *msg, json_t *details)
{
	json_t *s = json_pack("{s:s,s:s,s:{},s:s,s:s}", "kind", "Status", "apiVersion", "v1",
			      "metadata", "status", "Failure", "message", msg ? msg : "");

	if (reason && *reason)
		json_object_set_new(s, "reason", json_string(reason));
	if (details && json_object_size(details))
		json_object_set_new(s, "details", details);
	else
		json_decref(details);
	json_object_set_new(s, "code", json_integer(code));
	ks_send_obj(q, code, s);
	json_decref(s);
}

static void status_fmt(struct ks_req *q, int code, const char *reason, json_t *details,
		       const char *fmt, ...) SF_PRINTF(5, 6);
static void status_fmt(struct ks_req *q, int code, const char *reason, json_t *details,
		       const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	ks_status(q, code, reason, b.s, details);
	buf_release(&b);
}

static void gr_name(struct buf *b, const struct ks_resource *r)
{
	buf_reset(b);
	ks_group_resource(b, r);
}

static void not_found(struct ks_req *q, const struct ks_resource *r, const char *name)
{
	struct buf gr = BUF_INIT;

	gr_name(&gr, r);
	status_fmt(q, 404, "NotFound", ks_details(r, name, 0), "%s \"%s\" not found", gr.s, name);
	buf_release(&gr);
}

static void plain_404(struct ks_req *q)
{
	q->status = 404;
	q->resp_ctype = "text/plain; charset=utf-8";
	buf_reset(&q->out);
	buf_adds(&q->out, "404 page not found\n");
}

static void add_warning(struct ks_req *q, const char *text)
{
	size_t n = strlen(q->warning);

	snprintf(q->warning + n, sizeof(q->warning) - n, "%s299 - \"%s\"", n ? ", " : "", text);
}

static int has_scale(const struct ks_resource *r);

/* --- discovery ------------------------------------------------------------ */

static void discovery_resources(struct ks_req *q, const char *group, const char *version)
{
	json_t *list = json_array(), *out;
	int i, any = 0;
	char gv[80];

	snprintf(gv, sizeof(gv), "%s%s%s", group, *group ? "/" : "", version);
	for (i = 0; i < ks_nresources; i++) {
		const struct ks_resource *r = &ks_resources[i];
		json_t *verbs, *res;
		char v[128], *tok, *save = NULL;

		if (strcmp(r->group, group) || strcmp(r->version, version))
			continue;
		any = 1;
		verbs = json_array();
		snprintf(v, sizeof(v), "%s", r->verbs);
		for (tok = strtok_r(v, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
			json_array_append_new(verbs, json_string(tok));
		{
			char singular[64];

			snprintf(singular, sizeof(singular), "%s", r->kind);
			for (char *c = singular; *c; c++)
				*c = (char)tolower((unsigned char)*c);
			res =
			    json_pack("{s:s,s:s,s:b,s:s,s:o,s:s}", "name", r->plural,
				      "singularName", singular, "namespaced", r->namespaced, "kind",
				      r->kind, "verbs", verbs, "storageVersionHash", "kubesim");
		}
		if (*r->shortnames) {
			/* space-separated in the table (cert-manager's Certificate has two) */
			json_t *names = json_array();

			for (const char *p = r->shortnames; *p;) {
				size_t n = strcspn(p, " ");

				json_array_append_new(names, json_stringn(p, n));
				p += n;
				p += strspn(p, " ");
			}
			json_object_set_new(res, "shortNames", names);
		}
		if (!strcmp(r->plural, "pods") || !strcmp(r->plural, "deployments") ||
		    !strcmp(r->plural, "services") || !strcmp(r->plural, "statefulsets") ||
		    !strcmp(r->plural, "jobs") || !strcmp(r->plural, "configmaps") ||
		    !strcmp(r->plural, "secrets") || !strcmp(r->plural, "ingresses") ||
		    !strcmp(r->plural, "persistentvolumeclaims") ||
		    !strcmp(r->plural, "serviceaccounts"))
			json_object_set_new(res, "categories", json_pack("[s]", "all"));
		json_array_append_new(list, res);
		if (r->has_status) {
			char sub[96];

			snprintf(sub, sizeof(sub), "%s/status", r->plural);
			json_array_append_new(list, json_pack("{s:s,s:s,s:b,s:s,s:[sss]}", "name",
							      sub, "singularName", "", "namespaced",
							      r->namespaced, "kind", r->kind,
							      "verbs", "get", "patch", "update"));
		}
		if (has_scale(r)) {
			char sub[96];

			snprintf(sub, sizeof(sub), "%s/scale", r->plural);
			json_array_append_new(
			    list, json_pack("{s:s,s:s,s:b,s:s,s:s,s:s,s:[sss]}", "name", sub,
					    "singularName", "", "namespaced", r->namespaced,
					    "group", "autoscaling", "version", "v1", "kind",
					    "Scale", "verbs", "get", "patch", "update"));
		}
		if (!strcmp(r->plural, "namespaces"))
			json_array_append_new(list, json_pack("{s:s,s:s,s:b,s:s,s:[s]}", "name",
							      "namespaces/finalize", "singularName",
							      "", "namespaced", 0, "kind",
							      "Namespace", "verbs", "update"));
	}
	if (!any) {
		json_decref(list);
		plain_404(q);
		return;
	}
	out = json_pack("{s:s,s:s,s:s,s:o}", "kind", "APIResourceList", "apiVersion", "v1",
			"groupVersion", gv, "resources", list);
	ks_send_obj(q, 200, out);
	json_decref(out);
}

static json_t *group_obj(const char *g)
{
	char gv[80];

	snprintf(gv, sizeof(gv), "%s/v1", g);
	return json_pack("{s:s,s:[{s:s,s:s}],s:{s:s,s:s}}", "name", g, "versions", "groupVersion",
			 gv, "version", "v1", "preferredVersion", "groupVersion", gv, "version",
			 "v1");
}

static int group_known(const char *g)
{
	int i;

	for (i = 0; i < ks_nresources; i++)
		if (*g && !strcmp(ks_resources[i].group, g))
			return 1;
	return 0;
}

static void discovery_groups(struct ks_req *q)
{
	json_t *groups = json_array(), *out;
	const char *seen[16];
	int n = 0, i, j;

	for (i = 0; i < ks_nresources; i++) {
		const char *g = ks_resources[i].group;

		if (!*g)
			continue;
		for (j = 0; j < n; j++)
			if (!strcmp(seen[j], g))
				break;
		if (j < n || n == 16)
			continue;
		seen[n++] = g;
		json_array_append_new(groups, group_obj(g));
	}
	out = json_pack("{s:s,s:s,s:o}", "kind", "APIGroupList", "apiVersion", "v1", "groups",
			groups);
	ks_send_obj(q, 200, out);
	json_decref(out);
}

/*
 * OpenAPI v3, only as much as kubectl reads: the index of group-versions,
 * and per group-version the PATCH operations with their GVK extension and
 * query parameters (kubectl checks that fieldValidation is supported before
 * leaving validation to the server).  Unknown group-versions are 404.
 */
static void openapi_v3(struct ks_req *q, int n, char **seg)
{
	json_t *out, *paths = json_object();
	int i;

	if (n == 2) {
		for (i = 0; i < ks_nresources; i++) {
			const struct ks_resource *r = &ks_resources[i];
			char key[96], url[160];

			if (*r->group)
				snprintf(key, sizeof(key), "apis/%s/%s", r->group, r->version);
			else
				snprintf(key, sizeof(key), "api/%s", r->version);
			snprintf(url, sizeof(url), "/openapi/v3/%s?hash=kubesim1", key);
			json_object_set_new(paths, key,
					    json_pack("{s:s}", "serverRelativeURL", url));
		}
		out = json_pack("{s:o}", "paths", paths);
		ks_send_obj(q, 200, out);
		json_decref(out);
		return;
	}
	{
		const char *group = "", *version;

		if (n == 4 && !strcmp(seg[2], "api")) {
			version = seg[3];
		} else if (n == 5 && !strcmp(seg[2], "apis")) {
			group = seg[3];
			version = seg[4];
		} else {
			json_decref(paths);
			plain_404(q);
			return;
		}
		for (i = 0; i < ks_nresources; i++) {
			const struct ks_resource *r = &ks_resources[i];
			char path[256];
			json_t *params;
			static const char *const qp[] = {
			    "dryRun", "fieldManager", "fieldValidation", "force", "pretty", NULL};
			int k;

			if (strcmp(r->group, group) || strcmp(r->version, version))
				continue;
			params = json_array();
			snprintf(path, sizeof(path), "/%s%s%s/%s/%s%s/{name}",
				 *group ? "apis/" : "api", group, *group ? "" : "", version,
				 r->namespaced ? "namespaces/{namespace}/" : "", r->plural);
			for (k = 0; qp[k]; k++)
				json_array_append_new(
				    params, json_pack("{s:s,s:s,s:{s:s}}", "name", qp[k], "in",
						      "query", "schema", "type", "string"));
			json_object_set_new(paths, path,
					    json_pack("{s:{s:s,s:o,s:{s:s,s:s,s:s},s:{s:{s:s}}}}",
						      "patch", "operationId", r->plural,
						      "parameters", params,
						      "x-kubernetes-group-version-kind", "group",
						      group, "version", version, "kind", r->kind,
						      "responses", "200", "description", "OK"));
		}
		if (!json_object_size(paths)) {
			json_decref(paths);
			plain_404(q);
			return;
		}
		out = json_pack("{s:s,s:{s:s,s:s},s:o,s:{s:{}}}", "openapi", "3.0.0", "info",
				"title", "Kubernetes", "version", "v1.36.3", "paths", paths,
				"components", "schemas");
		ks_send_obj(q, 200, out);
		json_decref(out);
	}
}

/* --- body parsing ----------------------------------------------------------- */

static json_t *parse_body(struct ks_req *q, int allow_yaml)
{
	json_error_t je;
	json_t *o;

	if (q->ctype && !strncmp(q->ctype, "application/vnd.kubernetes.protobuf", 35) && q->res) {
		/* what kubectl's typed clients send (proto.c) */
		char why[300];

		o = ks_proto_decode(q->res, q->body, q->body_len, why, sizeof(why));
		if (!o)
			status_fmt(q, 400, "BadRequest", NULL, "%s", why);
		return o;
	}
	if (q->ctype && !strncmp(q->ctype, "application/vnd.kubernetes.protobuf", 35)) {
		ks_status(q, 415, "UnsupportedMediaType",
			  "the body of the request was in an unknown format - accepted media types "
			  "include: application/json, application/yaml",
			  NULL);
		return NULL;
	}
	if (!q->body_len) {
		ks_status(q, 400, "BadRequest",
			  "the body of the request was in an unknown format - accepted media types "
			  "include: application/json, application/yaml, "
			  "application/vnd.kubernetes.protobuf",
			  NULL);
		return NULL;
	}
	o = json_loadb(q->body, q->body_len, JSON_REJECT_DUPLICATES, &je);
	if (!o && allow_yaml) {
		struct err e = ERR_INIT;

		o = y2j_load_string1(q->body, q->body_len, "body", NULL, &e);
		if (!o) {
			status_fmt(q, 400, "BadRequest", NULL, "error decoding YAML: %s", e.msg);
			return NULL;
		}
	}
	if (!o) {
		status_fmt(q, 400, "BadRequest", NULL,
			   "json: cannot unmarshal request body: %s (line %d column %d)", je.text,
			   je.line, je.column);
		return NULL;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		ks_status(q, 400, "BadRequest",
			  "json: cannot unmarshal non-object into Go value of type "
			  "map[string]interface {}",
			  NULL);
		return NULL;
	}
	return o;
}

static const char *manager_of(struct ks_req *q, char *buf, size_t n, const char *ua)
{
	if (ks_query(q->query, "fieldManager", buf, n) && *buf)
		return buf;
	snprintf(buf, n, "%s", ua && *ua ? ua : "unknown");
	buf[strcspn(buf, "/ ")] = 0;
	return buf;
}

/* --- objects ------------------------------------------------------------------ */

static int has_scale(const struct ks_resource *r)
{
	return !strcmp(r->plural, "deployments") || !strcmp(r->plural, "statefulsets") ||
	       !strcmp(r->plural, "replicasets");
}

static int has_spec(const struct ks_resource *r)
{
	return ks_schema_field(r->type, "spec") != NULL;
}

static struct ks_obj *ns_get(const char *ns)
{
	return ks_store_get(ks_resource_find("", "v1", "namespaces"), "", ns);
}

static int ns_terminating(const struct ks_obj *ns)
{
	return json_object_get(json_object_get(ns->o, "metadata"), "deletionTimestamp") != NULL;
}

/* Namespace admission for a create: 0 ok, else the Status is written. */
static int admit_create(struct ks_req *q, const struct ks_resource *r, const char *ns,
			const char *name)
{
	struct ks_obj *n;
	struct buf gr = BUF_INIT;

	if (!r->namespaced)
		return 0;
	n = ns_get(ns);
	if (!n) {
		status_fmt(q, 404, "NotFound",
			   json_pack("{s:s,s:s}", "name", ns, "kind", "namespaces"),
			   "namespaces \"%s\" not found", ns);
		return -1;
	}
	if (ns_terminating(n)) {
		gr_name(&gr, r);
		json_t *d = ks_details(r, name, 0);

		json_object_set_new(d, "causes",
				    json_pack("[{s:s,s:s,s:s}]", "reason", "NamespaceTerminating",
					      "message", "", "field", "metadata.namespace"));
		json_object_set_new(json_array_get(json_object_get(d, "causes"), 0), "message",
				    json_sprintf("namespace %s is being terminated", ns));
		status_fmt(q, 403, "Forbidden", d,
			   "%s \"%s\" is forbidden: unable to create new content in namespace %s "
			   "because it is being terminated",
			   gr.s, name, ns);
		buf_release(&gr);
		return -1;
	}
	return 0;
}

/* Unknown fields: 0 go on, -1 answered (Strict). Adds warnings otherwise. */
static int check_unknown(struct ks_req *q, const struct ks_resource *r, const json_t *o)
{
	json_t *unknown = json_array(), *dups = json_array(), *types = json_array(), *u;
	char fv[32];
	size_t i;

	ks_query(q->query, "fieldValidation", fv, sizeof(fv));
	ks_schema_check(r, o, unknown, dups, types);
	if (json_array_size(types)) {
		/* a value of the wrong type fails the typed decoding whatever fieldValidation says
		 */
		status_fmt(q, 400, "BadRequest", NULL,
			   "%s in version \"%s\" cannot be handled as a %s: %s", r->kind,
			   r->version, r->kind, json_string_value(json_array_get(types, 0)) + 1);
		json_decref(unknown);
		json_decref(dups);
		json_decref(types);
		return -1;
	}
	json_decref(types);
	if (json_array_size(unknown) && !strcmp(fv, "Strict")) {
		struct buf m = BUF_INIT;

		buf_addf(&m,
			 "%s in version \"%s\" cannot be handled as a %s: strict decoding error: ",
			 r->kind, r->version, r->kind);
		json_array_foreach(unknown, i, u)
			buf_addf(&m, "%sunknown field \"%s\"", i ? ", " : "",
				 json_string_value(u) + 1);
		ks_status(q, 400, "BadRequest", m.s, NULL);
		buf_release(&m);
		json_decref(unknown);
		json_decref(dups);
		return -1;
	}
	if (strcmp(fv, "Ignore")) {
		json_array_foreach(unknown, i, u) {
			char w[300];

			snprintf(w, sizeof(w), "unknown field \\\"%s\\\"",
				 json_string_value(u) + 1);
			add_warning(q, w);
		}
	}
	json_decref(unknown);
	json_decref(dups);
	return 0;
}

/*
 * Validation as the strategy runs it: the object's own rules, then on an
 * update (old != NULL) the fields it may not change (immutable.c), all in
 * one 422 Invalid (a Service's immutable fields come first, as
 * ValidateServiceUpdate checks them before ValidateService).
 */
static int check_valid(struct ks_req *q, const struct ks_resource *r, const json_t *old, json_t *o)
{
	json_t *causes = ks_validate(r, o);
	const char *name =
	    json_string_value(json_object_get(json_object_get(o, "metadata"), "name"));
	struct buf m = BUF_INIT;
	json_t *d;

	if (old) {
		json_t *upd = ks_validate_update(r, old, o);

		if (!strcmp(r->plural, "services")) {
			json_array_extend(upd, causes);
			json_decref(causes);
			causes = upd;
		} else {
			json_array_extend(causes, upd);
			json_decref(upd);
		}
	}
	if (!json_array_size(causes)) {
		json_decref(causes);
		return 0;
	}
	ks_invalid_message(&m, r, name, causes);
	d = ks_details(r, name, 1);
	json_object_set_new(d, "causes", causes);
	ks_status(q, 422, "Invalid", m.s, d);
	buf_release(&m);
	return -1;
}

/*
 * Quantities are stored in their canonical text; one that does not parse
 * fails the typed decoding (400).  0 ok, -1 answered.
 */
static int check_quantities(struct ks_req *q, const struct ks_resource *r, json_t *o)
{
	const char *why;

	if (ks_qty_canonicalize(r, o, &why) == 0)
		return 0;
	status_fmt(q, 400, "BadRequest", NULL, "%s in version \"%s\" cannot be handled as a %s: %s",
		   r->kind, r->version, r->kind, why);
	return -1;
}

/*
 * Validating admission of a write that got this far: ResourceQuota (a
 * create, or a claim's update).  name is what the refusal calls the
 * object.  0 ok, -1 answered (403 Forbidden).
 */
static int admit_quota(struct ks_req *q, const struct ks_resource *r, const char *ns,
		       const char *name, const json_t *o, const json_t *old)
{
	struct buf m = BUF_INIT;

	/* PersistentVolumeClaimResize runs before ResourceQuota (storage.c) */
	if (old && !strcmp(r->plural, "persistentvolumeclaims") &&
	    ks_pvc_resize_admit(name, o, old, &m) < 0) {
		ks_status(q, 403, "Forbidden", m.s, ks_details(r, name, 0));
		buf_release(&m);
		return -1;
	}
	if (!r->namespaced || ks_quota_admit(r, ns, name, o, old, &m) == 0) {
		buf_release(&m);
		return 0;
	}
	ks_status(q, 403, "Forbidden", m.s, ks_details(r, name, 0));
	buf_release(&m);
	return -1;
}

static void fill_new_meta(const struct ks_resource *r, json_t *o, const char *ns)
{
	json_t *md = json_object_get(o, "metadata");
	char uid[40], ts[40];

	ks_uuid(uid);
	ks_timestamp(ts);
	json_object_set_new(md, "uid", json_string(uid));
	json_object_set_new(md, "creationTimestamp", json_string(ts));
	if (r->namespaced)
		json_object_set_new(md, "namespace", json_string(ns));
	else
		json_object_del(md, "namespace");
	if (has_spec(r))
		json_object_set_new(md, "generation", json_integer(1));
	json_object_del(md, "resourceVersion");
	json_object_del(md, "deletionTimestamp");
	json_object_set_new(o, "apiVersion", json_string(ks_api_version(r)));
	json_object_set_new(o, "kind", json_string(r->kind));
}

/* Shared checks of a body against the URL: 0 ok, -1 answered. */
static int check_identity(struct ks_req *q, const struct ks_resource *r, json_t *o, const char *ns,
			  const char *url_name)
{
	json_t *md = json_object_get(o, "metadata");
	const char *av = json_string_value(json_object_get(o, "apiVersion"));
	const char *kind = json_string_value(json_object_get(o, "kind"));
	const char *bns, *name;

	if (!json_is_object(md)) {
		md = json_object();
		json_object_set_new(o, "metadata", md);
	}
	if ((av && strcmp(av, ks_api_version(r))) || (kind && strcmp(kind, r->kind))) {
		status_fmt(
		    q, 400, "BadRequest", NULL,
		    "the API version in the data (%s) does not match the expected API version (%s)",
		    av ? av : "", ks_api_version(r));
		return -1;
	}
	bns = json_string_value(json_object_get(md, "namespace"));
	if (r->namespaced && bns && *bns && strcmp(bns, ns)) {
		ks_status(q, 400, "BadRequest",
			  "the namespace of the provided object does not match the namespace sent "
			  "on the request",
			  NULL);
		return -1;
	}
	if (r->namespaced)
		json_object_set_new(md, "namespace", json_string(ns));
	name = json_string_value(json_object_get(md, "name"));
	if (url_name && name && strcmp(name, url_name)) {
		status_fmt(q, 400, "BadRequest", NULL,
			   "the name of the object (%s) does not match the name on the URL (%s)",
			   name, url_name);
		return -1;
	}
	if (url_name && !name)
		json_object_set_new(md, "name", json_string(url_name));
	return 0;
}

/*
 * Create, in the API server's order: decode (unknown fields, types,
 * quantities), PrepareForCreate and defaults (fill_new_meta,
 * ks_ctl_on_create, a pod's LimitRange defaults), validation, namespace
 * lifecycle, AlreadyExists, ResourceQuota, store.
 */
static void do_create(struct ks_req *q, const struct ks_resource *r, const char *ns, const char *ua)
{
	json_t *o = parse_body(q, 1), *md;
	const char *name;
	struct ks_obj *x;
	char mgr[140], dry[16], shown[300];

	if (!o)
		return;
	if (check_identity(q, r, o, ns, NULL) < 0)
		goto out;
	md = json_object_get(o, "metadata");
	name = json_string_value(json_object_get(md, "name"));
	snprintf(shown, sizeof(shown), "%s", name ? name : "");
	if ((!name || !*name) && json_is_string(json_object_get(md, "generateName"))) {
		char sfx[8], nm[320];

		/* admission names a generated object by its prefix */
		snprintf(shown, sizeof(shown), "%s",
			 json_string_value(json_object_get(md, "generateName")));
		ks_suffix(sfx, 5);
		snprintf(nm, sizeof(nm), "%s%s", shown, sfx);
		json_object_set_new(md, "name", json_string(nm));
	}
	name = json_string_value(json_object_get(md, "name"));
	if (check_unknown(q, r, o) < 0 || check_quantities(q, r, o) < 0)
		goto out;
	json_object_del(md, "managedFields");
	fill_new_meta(r, o, ns);
	ks_ctl_on_create(r, o, 0);
	if (!strcmp(r->plural, "pods"))
		ks_pod_defaults(ns, o);
	if (!strcmp(r->plural, "persistentvolumeclaims"))
		ks_pvc_default_class(o);
	if (check_valid(q, r, NULL, o) < 0)
		goto out;
	if (admit_create(q, r, ns, name) < 0)
		goto out;
	x = ks_store_get(r, ns, name);
	if (x) {
		struct buf gr = BUF_INIT;
		int dying =
		    json_object_get(json_object_get(x->o, "metadata"), "deletionTimestamp") != NULL;

		gr_name(&gr, r);
		status_fmt(q, 409, "AlreadyExists", ks_details(r, name, 0),
			   "%s%s \"%s\" already exists", dying ? "object is being deleted: " : "",
			   gr.s, name);
		buf_release(&gr);
		goto out;
	}
	if (admit_quota(q, r, ns, shown, o, NULL) < 0)
		goto out;
	ks_ssa_update_managed(r, NULL, o, manager_of(q, mgr, sizeof(mgr), ua), "Update");
	if (ks_query(q->query, "dryRun", dry, sizeof(dry)) && !strcmp(dry, "All")) {
		ks_send_obj(q, 201, o);
		goto out;
	}
	x = ks_store_add(r, json_incref(o));
	ks_stats_created(r->kind);
	ks_ctl_watch(x);
	ks_send_obj(q, 201, x->o);
out:
	json_decref(o);
}

/* Fields a write through the main resource may not change, and vice versa. */
static void carry_over(const struct ks_resource *r, const json_t *old, json_t *o, int status_sub)
{
	json_t *md = json_object_get(o, "metadata"), *omd = json_object_get(old, "metadata");
	static const char *const keep[] = {
	    "uid", "creationTimestamp", "generation", "deletionTimestamp", "namespace", "name",
	    NULL};
	int i;

	for (i = 0; keep[i]; i++) {
		json_t *v = json_object_get(omd, keep[i]);

		if (v)
			json_object_set(md, keep[i], v);
		else
			json_object_del(md, keep[i]);
	}
	if (status_sub) {
		json_t *st = json_object_get(o, "status");
		json_t *copy = json_deep_copy(old);

		if (st)
			json_object_set(copy, "status", st);
		json_object_set(copy, "metadata", md);
		json_object_clear(o);
		json_object_update(o, copy);
		json_decref(copy);
		return;
	}
	if (r->has_status) {
		json_t *st = json_object_get(old, "status");

		if (st)
			json_object_set(o, "status", st);
		else
			json_object_del(o, "status");
	}
	if (!strcmp(r->plural, "namespaces")) {
		json_t *fin = json_object_get(json_object_get(old, "spec"), "finalizers");

		if (fin) {
			json_t *spec = json_object_get(o, "spec");

			if (!json_is_object(spec)) {
				spec = json_object();
				json_object_set_new(o, "spec", spec);
			}
			json_object_set(spec, "finalizers", fin);
		}
	}
	if (!strcmp(r->plural, "services")) {
		/* patchAllocatedValues: an allocated clusterIP a client left out (or "") stays */
		json_t *os = json_object_get(old, "spec"), *spec = json_object_get(o, "spec");
		json_t *ip = json_object_get(os, "clusterIP"),
		       *ips = json_object_get(os, "clusterIPs");
		const char *nip = json_string_value(json_object_get(spec, "clusterIP"));

		if (ip && json_is_object(spec) && (!nip || !*nip))
			json_object_set(spec, "clusterIP", ip);
		if (ips && json_is_object(spec) &&
		    !json_array_size(json_object_get(spec, "clusterIPs")))
			json_object_set(spec, "clusterIPs", ips);
	}
	if (!strcmp(r->plural, "persistentvolumeclaims")) {
		/* the binder's volumeName stays when a client leaves it out */
		json_t *vn = json_object_get(json_object_get(old, "spec"), "volumeName");
		json_t *spec = json_object_get(o, "spec");

		if (vn && json_is_object(spec) && !json_object_get(spec, "volumeName"))
			json_object_set(spec, "volumeName", vn);
	}
	json_object_set_new(o, "apiVersion", json_string(ks_api_version(r)));
	json_object_set_new(o, "kind", json_string(r->kind));
}

/*
 * The checks of an update of old into o (PUT, PATCH; sub: "status" or
 * NULL): decoding, validation with the immutable fields, and the quota a
 * bigger claim needs.  0 ok, -1 answered.
 */
static int check_update(struct ks_req *q, const struct ks_resource *r, const json_t *old, json_t *o,
			const char *sub)
{
	const char *name =
	    json_string_value(json_object_get(json_object_get(o, "metadata"), "name"));

	if (check_unknown(q, r, o) < 0 || check_quantities(q, r, o) < 0 ||
	    check_valid(q, r, sub ? NULL : old, o) < 0)
		return -1;
	if (!sub && admit_quota(q, r,
				json_string_value(
				    json_object_get(json_object_get(o, "metadata"), "namespace"))
				    ?: "",
				name ? name : "", o, old) < 0)
		return -1;
	return 0;
}

/* Store an updated object (o: new ref taken) and answer 200; no-op keeps rv. */
static void commit_update(struct ks_req *q, struct ks_obj *x, json_t *o)
{
	const struct ks_resource *r = x->res;
	json_t *md = json_object_get(o, "metadata");
	char dry[16];

	json_object_set(md, "resourceVersion",
			json_object_get(json_object_get(x->o, "metadata"), "resourceVersion"));
	if (has_spec(r) && !json_equal(json_object_get(o, "spec"), json_object_get(x->o, "spec"))) {
		json_int_t g = json_integer_value(json_object_get(md, "generation"));

		json_object_set_new(md, "generation", json_integer(g + 1));
		x->gen_ms = ks_now_ms();
	}
	if (ks_query(q->query, "dryRun", dry, sizeof(dry)) && !strcmp(dry, "All")) {
		ks_send_obj(q, 200, o);
		json_decref(o);
		return;
	}
	if (json_equal(o, x->o)) {
		json_decref(o);
		ks_send_obj(q, 200, x->o);
		return;
	}
	ks_store_update(x, o);
	ks_ctl_watch(x);
	ks_send_obj(q, 200, x->o);
}

/* --- the scale subresource ------------------------------------------------------ */

/* "a=b,c in (d,e)": a LabelSelector as metav1.FormatLabelSelector prints it. */
static void selector_string(struct buf *b, const json_t *sel)
{
	json_t *ml = json_object_get(sel, "matchLabels"), *e, *v;
	const char *k;
	size_t i, j;

	json_object_foreach(ml, k, v)
		buf_addf(b, "%s%s=%s", b->len ? "," : "", k, json_string_value(v) ?: "");
	json_array_foreach(json_object_get(sel, "matchExpressions"), i, e) {
		const char *op = json_string_value(json_object_get(e, "operator")) ?: "";
		const char *key = json_string_value(json_object_get(e, "key")) ?: "";

		if (b->len)
			buf_addch(b, ',');
		if (!strcmp(op, "Exists")) {
			buf_adds(b, key);
			continue;
		}
		if (!strcmp(op, "DoesNotExist")) {
			buf_addf(b, "!%s", key);
			continue;
		}
		buf_addf(b, "%s %s (", key, !strcmp(op, "In") ? "in" : "notin");
		json_array_foreach(json_object_get(e, "values"), j, v)
			buf_addf(b, "%s%s", j ? "," : "", json_string_value(v) ?: "");
		buf_addch(b, ')');
	}
}

/* The autoscaling/v1 Scale of a Deployment, StatefulSet or ReplicaSet. */
static json_t *scale_of(const struct ks_obj *x)
{
	json_t *md = json_object_get(x->o, "metadata");
	struct buf sel = BUF_INIT;
	json_t *s;

	selector_string(&sel, json_object_get(json_object_get(x->o, "spec"), "selector"));
	s = json_pack(
	    "{s:s,s:s,s:{s:O,s:O,s:O,s:O,s:O},s:{s:I},s:{s:I,s:s}}", "kind", "Scale", "apiVersion",
	    "autoscaling/v1", "metadata", "name", json_object_get(md, "name"), "namespace",
	    json_object_get(md, "namespace"), "uid", json_object_get(md, "uid"), "resourceVersion",
	    json_object_get(md, "resourceVersion"), "creationTimestamp",
	    json_object_get(md, "creationTimestamp"), "spec", "replicas",
	    json_integer_value(json_object_get(json_object_get(x->o, "spec"), "replicas")),
	    "status", "replicas",
	    json_integer_value(json_object_get(json_object_get(x->o, "status"), "replicas")),
	    "selector", sel.s);
	buf_release(&sel);
	return s;
}

/* Write the replicas of a (patched or PUT) Scale to x and answer the new Scale. */
static void scale_commit(struct ks_req *q, struct ks_obj *x, const json_t *scale,
			 const char *manager)
{
	json_t *rep = json_object_get(json_object_get(scale, "spec"), "replicas"), *o;
	const char *rv = json_string_value(
	    json_object_get(json_object_get(scale, "metadata"), "resourceVersion"));
	const char *name = x->name;

	if (rv && *rv && strtoull(rv, NULL, 10) != x->rv) {
		struct buf gr = BUF_INIT;

		gr_name(&gr, x->res);
		status_fmt(
		    q, 409, "Conflict", ks_details(x->res, name, 0),
		    "Operation cannot be fulfilled on %s \"%s\": the object has been "
		    "modified; please apply your changes to the latest version and try again",
		    gr.s, name);
		buf_release(&gr);
		return;
	}
	if (!json_is_integer(rep) || json_integer_value(rep) < 0) {
		char v[40];
		json_t *causes;
		struct buf m = BUF_INIT;

		snprintf(v, sizeof(v), "%lld", (long long)json_integer_value(rep));
		buf_addf(&m, "Invalid value: %s: must be greater than or equal to 0", v);
		causes = json_pack("[{s:s,s:s,s:s}]", "reason", "FieldValueInvalid", "message", m.s,
				   "field", "spec.replicas");
		buf_reset(&m);
		buf_addf(&m, "Scale.autoscaling \"%s\" is invalid: spec.replicas: %s", name,
			 json_string_value(json_object_get(json_array_get(causes, 0), "message")));
		ks_status(q, 422, "Invalid", m.s,
			  json_pack("{s:s,s:s,s:s,s:o}", "name", name, "group", "autoscaling",
				    "kind", "Scale", "causes", causes));
		buf_release(&m);
		return;
	}
	o = json_deep_copy(x->o);
	json_object_set(json_object_get(o, "spec"), "replicas", rep);
	if (check_update(q, x->res, x->o, o, NULL) < 0) {
		json_decref(o);
		return;
	}
	ks_ssa_update_managed(x->res, x->o, o, manager, "Update");
	commit_update(q, x, o);
	if (q->status == 200) {
		json_t *s = scale_of(x);

		ks_send_obj(q, 200, s);
		json_decref(s);
	}
}

static void do_update(struct ks_req *q, const struct ks_resource *r, const char *ns,
		      const char *name, const char *sub, const char *ua)
{
	struct ks_obj *x = ks_store_get(r, ns, name);
	json_t *o, *old;
	const char *rv;
	char mgr[140];

	if (!x) {
		not_found(q, r, name);
		return;
	}
	o = parse_body(q, 1);
	if (!o)
		return;
	if (sub && !strcmp(sub, "scale")) {
		scale_commit(q, x, o, manager_of(q, mgr, sizeof(mgr), ua));
		goto out;
	}
	if (check_identity(q, r, o, ns, name) < 0)
		goto out;
	rv = json_string_value(json_object_get(json_object_get(o, "metadata"), "resourceVersion"));
	if (rv && *rv && strtoull(rv, NULL, 10) != x->rv) {
		struct buf gr = BUF_INIT;

		gr_name(&gr, r);
		status_fmt(
		    q, 409, "Conflict", ks_details(r, name, 0),
		    "Operation cannot be fulfilled on %s \"%s\": the object has been modified; "
		    "please apply your changes to the latest version and try again",
		    gr.s, name);
		buf_release(&gr);
		goto out;
	}
	old = x->o;
	if (sub && !strcmp(sub, "finalize")) {
		json_t *copy = json_deep_copy(old);
		json_t *fin = json_object_get(json_object_get(o, "spec"), "finalizers");

		json_object_set_new(json_object_get(copy, "spec"), "finalizers",
				    fin ? json_incref(fin) : json_array());
		json_decref(o);
		o = copy;
	} else {
		carry_over(r, old, o, sub != NULL);
		if (check_update(q, r, old, o, sub) < 0)
			goto out;
	}
	ks_ssa_update_managed(r, old, o, manager_of(q, mgr, sizeof(mgr), ua), "Update");
	commit_update(q, x, json_incref(o));
out:
	json_decref(o);
}

static void merge_patch(json_t *dst, const json_t *p)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)p, k, v) {
		json_t *cur = json_object_get(dst, k);

		if (json_is_null(v))
			json_object_del(dst, k);
		else if (json_is_object(v) && json_is_object(cur))
			merge_patch(cur, v);
		else
			json_object_set(dst, k, v);
	}
}

static void do_apply(struct ks_req *q, const struct ks_resource *r, const char *ns,
		     const char *name)
{
	json_t *p = parse_body(q, 1), *res = NULL, *md, *unknown, *dups, *types;
	struct ks_obj *x = ks_store_get(r, ns, name);
	char mgr[160], force[8], dry[16];
	const char *av, *bname, *bns;

	if (!p)
		return;
	if (!ks_query(q->query, "fieldManager", mgr, sizeof(mgr)) || !*mgr) {
		ks_status(q, 422, "Invalid",
			  "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: "
			  "is required for apply patch",
			  json_pack("{s:s,s:s,s:[{s:s,s:s,s:s}]}", "group", "meta.k8s.io", "kind",
				    "PatchOptions", "causes", "reason", "FieldValueRequired",
				    "message", "Required value: is required for apply patch",
				    "field", "fieldManager"));
		goto out;
	}
	if (strlen(mgr) > 128) {
		ks_status(q, 422, "Invalid",
			  "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Too long: may "
			  "not be more than 128 bytes",
			  json_pack("{s:s,s:s}", "group", "meta.k8s.io", "kind", "PatchOptions"));
		goto out;
	}
	av = json_string_value(json_object_get(p, "apiVersion"));
	if (!av || strcmp(av, ks_api_version(r))) {
		status_fmt(q, 400, "BadRequest", NULL,
			   "Incorrect version specified in apply patch. Specified patch version: "
			   "%s, expected: %s",
			   av ? av : "", ks_api_version(r));
		goto out;
	}
	md = json_object_get(p, "metadata");
	if (json_object_get(md, "managedFields")) {
		ks_status(q, 400, "BadRequest", "metadata.managedFields must be nil", NULL);
		goto out;
	}
	bname = json_string_value(json_object_get(md, "name"));
	if (!bname || strcmp(bname, name)) {
		status_fmt(q, 400, "BadRequest", NULL,
			   "the name of the object (%s) does not match the name on the URL (%s)",
			   bname ? bname : "", name);
		goto out;
	}
	bns = json_string_value(json_object_get(md, "namespace"));
	if (r->namespaced && bns && strcmp(bns, ns)) {
		status_fmt(q, 400, "BadRequest", NULL,
			   "the namespace of the object (%s) does not match the namespace on the "
			   "request (%s)",
			   bns, ns);
		goto out;
	}
	unknown = json_array();
	dups = json_array();
	types = json_array();
	ks_schema_check(r, p, unknown, dups, types);
	if (json_array_size(unknown) || json_array_size(dups) || json_array_size(types)) {
		struct buf m = BUF_INIT;

		buf_addf(&m, "failed to create typed patch object (%s%s%s; %s, Kind=%s): ",
			 r->namespaced ? ns : "", r->namespaced ? "/" : "", name, ks_api_version(r),
			 r->kind);
		if (json_array_size(unknown))
			buf_addf(&m, "%s: field not declared in schema",
				 json_string_value(json_array_get(unknown, 0)));
		else if (json_array_size(types))
			buf_adds(&m, json_string_value(json_array_get(types, 0)));
		else
			buf_adds(&m, json_string_value(json_array_get(dups, 0)));
		ks_status(q, 500, NULL, m.s, NULL);
		buf_release(&m);
		json_decref(unknown);
		json_decref(dups);
		json_decref(types);
		goto out;
	}
	json_decref(unknown);
	json_decref(dups);
	json_decref(types);
	{
		const char *prv = json_string_value(json_object_get(md, "resourceVersion"));

		if (prv && x && strtoull(prv, NULL, 10) != x->rv) {
			struct buf gr = BUF_INIT;

			gr_name(&gr, r);
			status_fmt(q, 409, "Conflict", ks_details(r, name, 0),
				   "Operation cannot be fulfilled on %s \"%s\": the object has "
				   "been modified; please apply your changes to the latest version "
				   "and try again",
				   gr.s, name);
			buf_release(&gr);
			goto out;
		}
		json_object_del(md, "resourceVersion");
	}
	if (!x && admit_create(q, r, ns, name) < 0)
		goto out;
	ks_query(q->query, "force", force, sizeof(force));
	if (ks_ssa_apply(q, r, x ? x->o : NULL, p, mgr, !strcmp(force, "true"), &res))
		goto out;
	if (x) {
		carry_over(r, x->o, res, 0);
		if (check_quantities(q, r, res) < 0 || check_update(q, r, x->o, res, NULL) < 0)
			goto out;
	} else {
		json_object_set_new(json_object_get(res, "metadata"), "name", json_string(name));
		if (check_quantities(q, r, res) < 0)
			goto out;
		/* an apply that creates is a create: defaults, validation, quota */
		fill_new_meta(r, res, ns);
		ks_ctl_on_create(r, res, 0);
		if (!strcmp(r->plural, "pods"))
			ks_pod_defaults(ns, res);
		if (!strcmp(r->plural, "persistentvolumeclaims"))
			ks_pvc_default_class(res);
		if (check_valid(q, r, NULL, res) < 0 || admit_quota(q, r, ns, name, res, NULL) < 0)
			goto out;
	}
	if (!x) {
		if (ks_query(q->query, "dryRun", dry, sizeof(dry)) && !strcmp(dry, "All")) {
			ks_send_obj(q, 201, res);
			goto out;
		}
		x = ks_store_add(r, json_incref(res));
		ks_stats_created(r->kind);
		ks_ctl_watch(x);
		ks_send_obj(q, 201, x->o);
		goto out;
	}
	commit_update(q, x, json_incref(res));
out:
	json_decref(res);
	json_decref(p);
}

/* RFC 6902 on o (add, remove, replace, test). Returns 0, or -1 with why filled. */
static int json_patch(json_t *o, const json_t *ops, char *why, size_t n)
{
	size_t i;
	json_t *op;

	if (!json_is_array(ops))
		return snprintf(why, n, "json patch must be an array"), -1;
	json_array_foreach(ops, i, op) {
		const char *kind = json_string_value(json_object_get(op, "op"));
		const char *path = json_string_value(json_object_get(op, "path"));
		json_t *val = json_object_get(op, "value"), *parent = o, *cur;
		char seg[256], *end;
		const char *p;
		int last;

		if (!kind || !path || *path != '/')
			return snprintf(why, n, "json patch operation %zu: op and path required",
					i),
			       -1;
		for (p = path + 1;; p += strcspn(p, "/") + 1) {
			size_t k = 0, len = strcspn(p, "/");
			const char *c;

			for (c = p; c < p + len && k + 1 < sizeof(seg); c++) {
				if (*c == '~' && c + 1 < p + len && (c[1] == '0' || c[1] == '1')) {
					seg[k++] = c[1] == '0' ? '~' : '/';
					c++;
				} else {
					seg[k++] = *c;
				}
			}
			seg[k] = 0;
			last = p[len] == 0;
			if (json_is_object(parent)) {
				cur = json_object_get(parent, seg);
			} else if (json_is_array(parent)) {
				long idx = !strcmp(seg, "-") ? (long)json_array_size(parent)
							     : strtol(seg, &end, 10);

				if (strcmp(seg, "-") && (*end || !*seg || idx < 0 ||
							 (size_t)idx > json_array_size(parent)))
					return snprintf(why, n,
							"json patch: bad index '%s' in '%s'", seg,
							path),
					       -1;
				if (last) {
					int rc = 0;

					if (!strcmp(kind, "add"))
						rc = val ? json_array_insert(parent, (size_t)idx,
									     val)
							 : -1;
					else if (!strcmp(kind, "remove"))
						rc = json_array_remove(parent, (size_t)idx);
					else if (!strcmp(kind, "replace"))
						rc = val ? json_array_set(parent, (size_t)idx, val)
							 : -1;
					else if (!strcmp(kind, "test"))
						rc = json_equal(json_array_get(parent, (size_t)idx),
								val)
							 ? 0
							 : -1;
					else
						rc = -1;
					if (rc)
						return snprintf(why, n,
								"json patch: %s '%s' failed", kind,
								path),
						       -1;
					break;
				}
				cur = json_array_get(parent, (size_t)idx);
			} else {
				return snprintf(why, n, "json patch: '%s' does not exist", path),
				       -1;
			}
			if (last) {
				if (!strcmp(kind, "add") || (!strcmp(kind, "replace") && cur)) {
					if (!val)
						return snprintf(why, n,
								"json patch: %s needs a value",
								kind),
						       -1;
					json_object_set(parent, seg, val);
				} else if (!strcmp(kind, "remove") && cur) {
					json_object_del(parent, seg);
				} else if (!strcmp(kind, "test") && cur && json_equal(cur, val)) {
				} else {
					return snprintf(why, n, "json patch: %s '%s' failed", kind,
							path),
					       -1;
				}
				break;
			}
			if (!cur)
				return snprintf(why, n, "json patch: '%s' does not exist", path),
				       -1;
			parent = cur;
		}
	}
	return 0;
}

static void do_patch(struct ks_req *q, const struct ks_resource *r, const char *ns,
		     const char *name, const char *sub, const char *ua)
{
	char ct[128], mgr[140];
	struct ks_obj *x;
	json_t *p, *o;
	int scale = sub && !strcmp(sub, "scale");

	snprintf(ct, sizeof(ct), "%s", q->ctype ? q->ctype : "");
	ct[strcspn(ct, "; ")] = 0;
	if (!strcmp(ct, "application/apply-patch+yaml") && !sub) {
		do_apply(q, r, ns, name);
		return;
	}
	if (strcmp(ct, "application/merge-patch+json") &&
	    strcmp(ct, "application/strategic-merge-patch+json") &&
	    strcmp(ct, "application/json-patch+json")) {
		status_fmt(
		    q, 415, "UnsupportedMediaType", NULL,
		    "the body of the request was in an unknown format - accepted media types "
		    "include: application/json-patch+json, application/merge-patch+json, "
		    "application/apply-patch+yaml, application/strategic-merge-patch+json");
		return;
	}
	if (ks_query(q->query, "force", mgr, sizeof(mgr))) {
		ks_status(q, 422, "Invalid",
			  "PatchOptions.meta.k8s.io \"\" is invalid: force: Forbidden: may not be "
			  "specified for non-apply patch",
			  json_pack("{s:s,s:s,s:[{s:s,s:s,s:s}]}", "group", "meta.k8s.io", "kind",
				    "PatchOptions", "causes", "reason", "FieldValueForbidden",
				    "message",
				    "Forbidden: may not be specified for non-apply patch", "field",
				    "force"));
		return;
	}
	x = ks_store_get(r, ns, name);
	if (!x) {
		not_found(q, r, name);
		return;
	}
	if (!strcmp(ct, "application/json-patch+json")) {
		json_error_t je;
		char why[300];

		p = json_loadb(q->body, q->body_len, 0, &je);
		if (!p) {
			status_fmt(q, 400, "BadRequest", NULL,
				   "json: cannot unmarshal request body: %s", je.text);
			return;
		}
		o = scale ? scale_of(x) : json_deep_copy(x->o);
		if (json_patch(o, p, why, sizeof(why)) < 0) {
			json_decref(p);
			json_decref(o);
			ks_status(q, 422, "Invalid", why, NULL);
			return;
		}
		json_decref(p);
	} else {
		p = parse_body(q, 0);
		if (!p)
			return;
		o = scale ? scale_of(x) : json_deep_copy(x->o);
		if (!strcmp(ct, "application/strategic-merge-patch+json") && !scale)
			ks_smp_apply(r, o, p);
		else
			merge_patch(o, p);
		json_decref(p);
	}
	if (scale) {
		scale_commit(q, x, o, manager_of(q, mgr, sizeof(mgr), ua));
		json_decref(o);
		return;
	}
	carry_over(r, x->o, o, sub != NULL);
	if (check_update(q, r, x->o, o, sub) < 0) {
		json_decref(o);
		return;
	}
	ks_ssa_update_managed(r, x->o, o, manager_of(q, mgr, sizeof(mgr), ua), "Update");
	commit_update(q, x, o);
}

static void do_delete(struct ks_req *q, const struct ks_resource *r, const char *ns,
		      const char *name)
{
	struct ks_obj *x = ks_store_get(r, ns, name);
	char pol[32], dry[16], ts[40];
	json_t *body = NULL, *copy;

	if (!x) {
		not_found(q, r, name);
		return;
	}
	ks_query(q->query, "propagationPolicy", pol, sizeof(pol));
	if (!*pol && q->body_len) {
		body = json_loadb(q->body, q->body_len, 0, NULL);
		snprintf(pol, sizeof(pol), "%s",
			 json_string_value(json_object_get(body, "propagationPolicy"))
			     ? json_string_value(json_object_get(body, "propagationPolicy"))
			     : "");
		if (json_is_false(json_object_get(body, "orphanDependents")))
			snprintf(pol, sizeof(pol), "Background");
		else if (json_is_true(json_object_get(body, "orphanDependents")))
			snprintf(pol, sizeof(pol), "Orphan");
	}
	if (*pol && strcmp(pol, "Background") && strcmp(pol, "Foreground") &&
	    strcmp(pol, "Orphan")) {
		status_fmt(q, 422, "Invalid", NULL,
			   "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: "
			   "Unsupported value: \"%s\": supported values: \"Foreground\", "
			   "\"Background\", \"Orphan\", \"nil\"",
			   pol);
		goto out;
	}
	{
		json_t *pre = json_object_get(body, "preconditions");
		const char *uid = json_string_value(json_object_get(pre, "uid"));
		const char *rv = json_string_value(json_object_get(pre, "resourceVersion"));
		const char *myuid =
		    json_string_value(json_object_get(json_object_get(x->o, "metadata"), "uid"));

		if ((uid && strcmp(uid, myuid)) || (rv && strtoull(rv, NULL, 10) != x->rv)) {
			struct buf gr = BUF_INIT;

			gr_name(&gr, r);
			status_fmt(q, 409, "Conflict", ks_details(r, name, 0),
				   "Operation cannot be fulfilled on %s \"%s\": Precondition "
				   "failed: UID in precondition: %s, UID in object meta: %s",
				   gr.s, name, uid ? uid : "", myuid);
			buf_release(&gr);
			goto out;
		}
	}
	if (!strcmp(r->plural, "namespaces")) {
		if (!strcmp(name, "default") || !strcmp(name, "kube-system") ||
		    !strcmp(name, "kube-public")) {
			status_fmt(
			    q, 403, "Forbidden", ks_details(r, name, 0),
			    "namespaces \"%s\" is forbidden: this namespace may not be deleted",
			    name);
			goto out;
		}
		if (!(ks_query(q->query, "dryRun", dry, sizeof(dry)) && !strcmp(dry, "All")))
			ks_ns_terminate(x);
		ks_send_obj(q, 200, x->o);
		goto out;
	}
	if (ks_query(q->query, "dryRun", dry, sizeof(dry)) && !strcmp(dry, "All")) {
		ks_send_obj(q, 200, x->o);
		goto out;
	}
	copy = json_deep_copy(x->o);
	ks_timestamp(ts);
	if (!strcmp(r->plural, "jobs") && !*pol) {
		add_warning(q, "child pods are preserved by default when jobs are deleted; set "
			       "propagationPolicy=Background to remove them or set "
			       "propagationPolicy=Orphan to suppress this warning");
		snprintf(pol, sizeof(pol), "Orphan");
	}
	if (!strcmp(pol, "Orphan") || !strcmp(pol, "Foreground") || !strcmp(r->plural, "pods")) {
		json_t *md = json_object_get(copy, "metadata");

		json_object_set_new(md, "deletionTimestamp", json_string(ts));
		if (!strcmp(r->plural, "pods"))
			json_object_set_new(md, "deletionGracePeriodSeconds", json_integer(30));
		else
			json_object_set_new(md, "finalizers",
					    json_pack("[s]", !strcmp(pol, "Orphan")
								 ? "orphan"
								 : "foregroundDeletion"));
		ks_send_obj(q, 200, copy);
	} else if (!strcmp(r->plural, "services")) {
		ks_send_obj(q, 200, copy);
	} else {
		json_t *d = ks_details(r, name, 0);
		json_t *s;

		json_object_set(d, "uid",
				json_object_get(json_object_get(copy, "metadata"), "uid"));
		s = json_pack("{s:s,s:s,s:{},s:s,s:o}", "kind", "Status", "apiVersion", "v1",
			      "metadata", "status", "Success", "details", d);
		ks_send_obj(q, 200, s);
		json_decref(s);
	}
	json_decref(copy);
	if (!strcmp(pol, "Orphan")) {
		struct ks_obj **v;
		size_t n = ks_store_select(NULL, x->ns, NULL, &v), i;
		const char *uid =
		    json_string_value(json_object_get(json_object_get(x->o, "metadata"), "uid"));

		for (i = 0; i < n; i++) {
			json_t *refs = json_object_get(json_object_get(v[i]->o, "metadata"),
						       "ownerReferences");
			json_t *ref;
			size_t j;

			json_array_foreach(refs, j, ref)
				if (!strcmp(json_string_value(json_object_get(ref, "uid")) ?: "",
					    uid)) {
					json_t *c = json_deep_copy(v[i]->o);

					json_object_del(json_object_get(c, "metadata"),
							"ownerReferences");
					ks_store_update(v[i], c);
					break;
				}
		}
		free(v);
		ks_store_del(x);
	} else {
		ks_delete_cascade(x);
	}
out:
	json_decref(body);
}

/* --- lists ------------------------------------------------------------------ */

/* Field selectors a real server supports for these kinds, beyond metadata.name/namespace. */
static const char *const FIELDS[] = {
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "status.phase",
    "status.podIP",
    "status.nominatedNodeName",
    NULL,
};

/* Value of a dotted field path in o ("source" is source.component), or "" if unset. */
static const char *field_value(const json_t *o, const char *path)
{
	char tmp[128], *tok, *save = NULL;
	const json_t *cur = o;

	if (!strcmp(path, "source"))
		path = "source.component";
	snprintf(tmp, sizeof(tmp), "%s", path);
	for (tok = strtok_r(tmp, ".", &save); tok && cur; tok = strtok_r(NULL, ".", &save))
		cur = json_object_get(cur, tok);
	return json_is_string(cur) ? json_string_value(cur) : "";
}

int ks_fields_match(const json_t *terms, const json_t *o)
{
	size_t i;
	json_t *t;

	json_array_foreach(terms, i, t) {
		int eq = !strcmp(field_value(o, json_string_value(json_array_get(t, 0))),
				 json_string_value(json_array_get(t, 1)));

		if (eq == json_is_true(json_array_get(t, 2)))
			return 0;
	}
	return 1;
}

int ks_field_sel(struct ks_req *q, const char *fs, char *name, size_t nn, char *fns, size_t nf,
		 int *neg, json_t *terms)
{
	char tmp[512], *tok, *save = NULL;

	snprintf(tmp, sizeof(tmp), "%s", fs);
	for (tok = strtok_r(tmp, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strstr(tok, "!=");
		char *val;
		int isneg = eq != NULL;

		if (!eq)
			eq = strchr(tok, '=');
		if (!eq) {
			status_fmt(q, 400, "BadRequest", NULL,
				   "invalid selector: '%s'; can't understand '%s'", fs, tok);
			return -1;
		}
		*eq = 0;
		val = eq + (isneg ? 2 : 1);
		if (*val == '=')
			val++;
		if (!strcmp(tok, "metadata.name")) {
			snprintf(name, nn, "%s", val);
			*neg = isneg;
		} else if (!strcmp(tok, "metadata.namespace")) {
			snprintf(fns, nf, "%s", val);
		} else {
			int k;

			for (k = 0; FIELDS[k] && strcmp(FIELDS[k], tok); k++)
				;
			if (!FIELDS[k]) {
				status_fmt(q, 400, "BadRequest", NULL,
					   "field label not supported: %s", tok);
				return -1;
			}
			json_array_append_new(terms, json_pack("[s,s,b]", tok, val, isneg));
		}
	}
	return 0;
}

/*
 * A continue token is the hex of "rv|t0|ns|name|plural": the list's
 * resourceVersion, when its first page was served (ms, monotonic), and the
 * last object returned.  Past --continue-ttl-ms it has "expired" as the
 * etcd revision behind a real token is compacted: 410 Expired with a new
 * token (rv -1) that continues from the same place at the latest version
 * (handleCompactedErrorForPaging, k8s.io/apiserver pkg/storage/etcd3).
 */
struct cont {
	long long rv, t0;
};

static void cont_encode(struct buf *b, long long rv, long long t0, const char *ns, const char *name,
			const char *plural)
{
	char raw[700];
	size_t i;

	snprintf(raw, sizeof(raw), "%lld|%lld|%s|%s|%s", rv, t0, ns, name, plural);
	for (i = 0; raw[i]; i++)
		buf_addf(b, "%02x", (unsigned char)raw[i]);
}

static int cont_decode(const char *s, struct cont *c, char *ns, char *name, char *plural)
{
	char raw[700];
	size_t i, n = strlen(s);

	if (n % 2 || n / 2 >= sizeof(raw))
		return -1;
	for (i = 0; i < n / 2; i++) {
		int a = hexval(s[2 * i]), b = hexval(s[2 * i + 1]);

		if (a < 0 || b < 0)
			return -1;
		raw[i] = (char)(a * 16 + b);
	}
	raw[n / 2] = 0;
	if (sscanf(raw, "%lld|%lld|%199[^|]|%299[^|]|%99s", &c->rv, &c->t0, ns, name, plural) !=
	    5) {
		if (sscanf(raw, "%lld|%lld||%299[^|]|%99s", &c->rv, &c->t0, name, plural) != 4)
			return -1;
		ns[0] = 0;
	}
	return 0;
}

/* 410 Expired for a stale token, carrying the token to continue inconsistently with. */
static void cont_expired(struct ks_req *q, const char *ns, const char *name, const char *plural)
{
	struct buf tok = BUF_INIT;
	json_t *s;

	cont_encode(&tok, -1, 0, ns, name, plural);
	s = json_pack("{s:s,s:s,s:{s:s},s:s,s:s,s:s,s:i}", "kind", "Status", "apiVersion", "v1",
		      "metadata", "continue", tok.s, "status", "Failure", "message",
		      "The provided continue parameter is too old to display a consistent list "
		      "result. You can start a new list without the continue parameter, or use "
		      "the continue token in this response to retrieve the remainder of the "
		      "results. Continuing with the provided token results in an inconsistent "
		      "list - objects that were created, modified, or deleted between the time "
		      "the first chunk was returned and now may show up in the list.",
		      "reason", "Expired", "code", 410);
	ks_send_obj(q, 410, s);
	json_decref(s);
	buf_release(&tok);
}

/*
 * Append v as json_dumps(v, JSON_COMPACT) writes it, byte for byte (jansson
 * 2.14's dump.c: keys in insertion order, \" \\ \b \f \n \r \t and \u00XX
 * for the other control characters, '/' and non-ASCII as they are), but
 * into b directly and without the loop check, which costs a pointer-keyed
 * hash insert per object: a LIST of 5,000 deployments writes ~100 objects
 * each.  Stored trees share subtrees but have no cycles.  A real number is
 * rare; jansson writes it.
 */
static void compact_string(struct buf *b, const char *s, size_t n)
{
	size_t i, run = 0;

	buf_addch(b, '"');
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *esc;
		char u[8];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		buf_add(b, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"':
			esc = "\\\"";
			break;
		case '\\':
			esc = "\\\\";
			break;
		case '\b':
			esc = "\\b";
			break;
		case '\f':
			esc = "\\f";
			break;
		case '\n':
			esc = "\\n";
			break;
		case '\r':
			esc = "\\r";
			break;
		case '\t':
			esc = "\\t";
			break;
		default:
			snprintf(u, sizeof(u), "\\u%04X", c);
			esc = u;
		}
		buf_adds(b, esc);
	}
	buf_add(b, s + run, n - run);
	buf_addch(b, '"');
}

static void compact_json(struct buf *b, const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *sep = "";

		buf_addch(b, '{');
		for (void *it = json_object_iter((json_t *)v); it;
		     it = json_object_iter_next((json_t *)v, it)) {
			buf_adds(b, sep);
			compact_string(b, json_object_iter_key(it), json_object_iter_key_len(it));
			buf_addch(b, ':');
			compact_json(b, json_object_iter_value(it));
			sep = ",";
		}
		buf_addch(b, '}');
		break;
	}
	case JSON_ARRAY:
		buf_addch(b, '[');
		for (size_t i = 0; i < json_array_size(v); i++) {
			if (i)
				buf_addch(b, ',');
			compact_json(b, json_array_get(v, i));
		}
		buf_addch(b, ']');
		break;
	case JSON_STRING:
		compact_string(b, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		buf_addf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_TRUE:
		buf_adds(b, "true");
		break;
	case JSON_FALSE:
		buf_adds(b, "false");
		break;
	case JSON_NULL:
		buf_adds(b, "null");
		break;
	default: {
		char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

		if (s)
			buf_adds(b, s);
		free(s);
	}
	}
}

/* A LIST's field selector terms other than metadata.namespace (ks_store_page's keep). */
struct list_fields {
	const char *name; /* metadata.name (or "") */
	int neg;	  /* metadata.name!= */
	const json_t *terms;
};

static int list_keep(const struct ks_obj *x, void *arg)
{
	const struct list_fields *f = arg;

	if (*f->name && (!strcmp(x->name, f->name)) == f->neg)
		return 0;
	return !json_array_size(f->terms) || ks_fields_match(f->terms, x->o);
}

/*
 * A LIST, paged as the API server's etcd3 store does (GetList): the
 * objects in key order, a page starting after its continue token's key,
 * remainingItemCount only for a list without selectors (ListMeta: with
 * one, the count is unknown).
 */
static void do_list(struct ks_req *q, const struct ks_resource *r, const char *ns)
{
	struct ks_sel *sel = NULL;
	struct err e = ERR_INIT;
	char ls[1024], fs[512], fname[300] = "", fns[100] = "", lim[24], cont[1400];
	char cns[200] = "", cname[300] = "", cpl[100] = "";
	const char *after = NULL;
	int neg = 0, more = 0;
	long limit = 0;
	struct ks_obj **page = NULL;
	size_t np, rest = 0, i;
	unsigned long long list_rv = ks_store_rv();
	long long t0 = ks_now_ms();
	struct buf *b = &q->out, token = BUF_INIT;
	json_t *terms = json_array();
	struct list_fields lf = {fname, 0, terms};

	ks_query(q->query, "labelSelector", ls, sizeof(ls));
	ks_query(q->query, "fieldSelector", fs, sizeof(fs));
	if (ks_sel_parse(ls, &sel, &e) < 0) {
		ks_status(q, 400, "BadRequest", e.msg, NULL);
		json_decref(terms);
		return;
	}
	if (*fs && ks_field_sel(q, fs, fname, sizeof(fname), fns, sizeof(fns), &neg, terms) < 0)
		goto out;
	lf.neg = neg;
	if (*fns) {
		if (ns && strcmp(ns, fns))
			ns = "\x01";
		else
			ns = fns;
	}
	if (ks_query(q->query, "limit", lim, sizeof(lim)) && *lim) {
		limit = strtol(lim, NULL, 10);
		if (limit < 0)
			limit = 0;
		if (limit > MAX_LIMIT)
			limit = MAX_LIMIT;
	}
	if (ks_query(q->query, "continue", cont, sizeof(cont)) && *cont) {
		struct cont c;

		if (cont_decode(cont, &c, cns, cname, cpl) < 0) {
			ks_status(q, 400, "BadRequest",
				  "continue key is not valid: illegal base64 data at input byte 0",
				  NULL);
			goto out;
		}
		if (c.rv >= 0 && ks_opt.continue_ttl_ms > 0 &&
		    ks_now_ms() - c.t0 > ks_opt.continue_ttl_ms) {
			cont_expired(q, cns, cname, cpl);
			goto out;
		}
		if (c.rv >= 0) {
			list_rv = (unsigned long long)c.rv;
			t0 = c.t0;
		}
		after = cname;
	}
	np = ks_store_page(r, ns, sel, cns, after, (size_t)limit,
			   *fname || json_array_size(terms) ? list_keep : NULL, &lf, &page, &more,
			   &rest);
	q->status = 200;
	q->resp_ctype = "application/json";
	buf_reset(b);
	buf_addf(
	    b,
	    "{\"kind\":\"%sList\",\"apiVersion\":\"%s\",\"metadata\":{\"resourceVersion\":\"%llu\"",
	    r->kind, ks_api_version(r), list_rv);
	if (more && np)
		cont_encode(&token, (long long)list_rv, t0, page[np - 1]->ns, page[np - 1]->name,
			    r->plural);
	if (ks_wants_table(q->accept)) {
		char rv[32];

		snprintf(rv, sizeof(rv), "%llu", list_rv);
		ks_table(q, r, page, np, NULL, rv, token.s);
	} else {
		if (token.len) {
			buf_addf(b, ",\"continue\":\"%s\"", token.s);
			if (!sel && !*fs)
				buf_addf(b, ",\"remainingItemCount\":%zu", rest);
		}
		buf_adds(b, "},\"items\":[");
		for (i = 0; i < np; i++) {
			if (i)
				buf_addch(b, ',');
			compact_json(b, page[i]->o);
		}
		buf_adds(b, "]}");
	}
out:
	buf_release(&token);
	free(page);
	ks_sel_free(sel);
	json_decref(terms);
}

/* --- /_sim ------------------------------------------------------------------ */

static void sim_bulk(struct ks_req *q)
{
	json_t *body = parse_body(q, 0), *items, *it;
	int ready, pass;
	size_t i, created = 0, skipped = 0;

	if (!body)
		return;
	items = json_object_get(body, "items");
	ready = json_is_true(json_object_get(body, "ready"));
	for (pass = 0; pass < 2; pass++) {
		json_array_foreach(items, i, it) {
			const char *kind = json_string_value(json_object_get(it, "kind"));
			const struct ks_resource *r = ks_resource_by_kind(kind);
			json_t *o, *md;
			const char *ns, *name;

			if (!r || (pass == 0) != !strcmp(r->plural, "namespaces"))
				continue;
			md = json_object_get(it, "metadata");
			name = json_string_value(json_object_get(md, "name"));
			ns = json_string_value(json_object_get(md, "namespace"));
			if (!name || (r->namespaced && (!ns || !ns_get(ns))) ||
			    ks_store_get(r, ns ? ns : "", name)) {
				skipped++;
				continue;
			}
			o = json_incref(it); /* the body is ours: its items are stored, not copied */
			fill_new_meta(r, o, ns ? ns : "");
			ks_ctl_on_create(r, o, ready || json_is_true(json_object_get(it, "ready")));
			{
				struct ks_obj *x = ks_store_add(r, o);

				x->ready_seed = ready;
				ks_stats_created(r->kind);
				if (!ready)
					ks_ctl_watch(x);
			}
			created++;
		}
	}
	json_decref(body);
	body = json_pack("{s:I,s:I,s:I}", "created", (json_int_t)created, "skipped",
			 (json_int_t)skipped, "objects", (json_int_t)ks_store_count());
	ks_send_obj(q, 201, body);
	json_decref(body);
}

static void send_empty(struct ks_req *q)
{
	json_t *o = json_object();

	ks_send_obj(q, 200, o);
	json_decref(o);
}

static void sim_handle(struct ks_req *q, const char *rest)
{
	if (!strcmp(rest, "faults") && !strcmp(q->method, "POST")) {
		json_t *body = parse_body(q, 0), *out;
		struct err e = ERR_INIT;
		int id;

		if (!body)
			return;
		id = ks_fault_add(body, &e);
		json_decref(body);
		if (id < 0) {
			ks_status(q, 400, "BadRequest", e.msg, NULL);
			return;
		}
		out = json_pack("{s:i}", "id", id);
		ks_send_obj(q, 201, out);
		json_decref(out);
	} else if (!strcmp(rest, "faults") && !strcmp(q->method, "DELETE")) {
		ks_fault_clear();
		send_empty(q);
	} else if (!strncmp(rest, "faults/", 7) && !strcmp(q->method, "DELETE")) {
		if (ks_fault_del(atoi(rest + 7)) < 0)
			ks_status(q, 404, "NotFound", "fault not found", NULL);
		else
			send_empty(q);
	} else if (!strncmp(rest, "woo/", 4)) {
		ks_woo_sim(q, rest + 4);
	} else if (!strncmp(rest, "medusa/", 7)) {
		ks_medusa_sim(q, rest + 7);
	} else if (!strcmp(rest, "stats") && !strcmp(q->method, "GET")) {
		json_t *empty = json_object();
		json_t *out = json_pack(
		    "{s:O,s:I,s:O,s:I,s:I,s:o}", "requests", stats_req ? stats_req : empty, "total",
		    (json_int_t)stats_total, "creates", stats_created ? stats_created : empty,
		    "objects", (json_int_t)ks_store_count(), "shared_nodes",
		    (json_int_t)ks_store_shared(), "watches", ks_watch_stats());

		json_decref(empty);
		ks_send_obj(q, 200, out);
		json_decref(out);
	} else if (!strcmp(rest, "stats/reset") && !strcmp(q->method, "POST")) {
		json_decref(stats_req);
		json_decref(stats_created);
		stats_req = stats_created = NULL;
		stats_total = 0;
		send_empty(q);
	} else if (!strcmp(rest, "bulk") && !strcmp(q->method, "POST")) {
		sim_bulk(q);
	} else {
		plain_404(q);
	}
}

/*
 * GET pods/{name}/log: no containers run here, so the text says what the
 * simulated kubelet did, in the shape of a container log (plain text).
 */
static void pod_log(struct ks_req *q, const struct ks_resource *r, const char *ns, const char *name)
{
	struct ks_obj *x = ks_store_get(r, ns, name);
	json_t *cs, *c;
	size_t i;

	if (!x) {
		not_found(q, r, name);
		return;
	}
	cs = json_object_get(json_object_get(x->o, "status"), "containerStatuses");
	q->status = 200;
	q->resp_ctype = "text/plain";
	buf_reset(&q->out);
	json_array_foreach(cs, i, c) {
		json_t *st = json_object_get(c, "state");
		const char *image = json_string_value(json_object_get(c, "image"));
		const char *wait =
		    json_string_value(json_object_get(json_object_get(st, "waiting"), "reason"));

		if (wait && (!strcmp(wait, "ErrImagePull") || !strcmp(wait, "ImagePullBackOff") ||
			     !strcmp(wait, "ContainerCreating"))) {
			/* a container that never started has no log: the API answers 400 */
			status_fmt(q, 400, "BadRequest", NULL,
				   "container \"%s\" in pod \"%s\" is waiting to start: %s",
				   json_string_value(json_object_get(c, "name")) ?: "", name,
				   !strcmp(wait, "ContainerCreating")
				       ? "ContainerCreating"
				       : "trying and failing to pull image");
			return;
		}
		buf_addf(&q->out, "kubesim: started %s\n", image ? image : "");
		if (json_integer_value(json_object_get(c, "restartCount")) > 0)
			buf_adds(&q->out, "kubesim: simulated crash: exit code 1\n");
		if (json_object_get(st, "terminated"))
			buf_addf(&q->out, "kubesim: finished: %s\n",
				 json_string_value(
				     json_object_get(json_object_get(st, "terminated"), "reason"))
				     ?: "");
	}
}

/* --- routing ----------------------------------------------------------------- */

#define MAXSEG 12

static void route(struct ks_req *q);

void ks_api_handle(struct ks_req *q)
{
	route(q);
	ks_quota_sync(); /* what the request changed shows in its namespace's quotas at once */
}

static void route(struct ks_req *q)
{
	const char *ua = q->ua;
	char path[1024], *seg[MAXSEG], *save = NULL, *t;
	int n = 0, i;
	const char *group, *version;
	const struct ks_resource *r;
	const char *ns = NULL, *name = NULL, *sub = NULL, *verb;

	if (!strncmp(q->path, "/_sim/", 6)) {
		sim_handle(q, q->path + 6);
		return;
	}
	snprintf(path, sizeof(path), "%s", q->path);
	for (t = strtok_r(path, "/", &save); t && n < MAXSEG; t = strtok_r(NULL, "/", &save))
		seg[n++] = t;
	if (t) {
		plain_404(q);
		return;
	}
	if (n == 1 && !strcmp(seg[0], "version")) {
		json_t *v =
		    json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "major", "1", "minor", "36",
			      "gitVersion", "v1.36.3-kubesim", "gitCommit", "kubesim",
			      "gitTreeState", "clean", "buildDate", "2026-05-05T00:00:00Z",
			      "goVersion", "go1.24", "compiler", "gc", "platform", "linux/amd64");

		ks_send_obj(q, 200, v);
		json_decref(v);
		return;
	}
	if (n >= 2 && !strcmp(seg[0], "openapi") && !strcmp(seg[1], "v3") &&
	    !strcmp(q->method, "GET")) {
		openapi_v3(q, n, seg);
		return;
	}
	if (n == 1 && !strcmp(seg[0], "api")) {
		json_t *v = json_pack("{s:s,s:[s],s:[{s:s,s:s}]}", "kind", "APIVersions",
				      "versions", "v1", "serverAddressByClientCIDRs", "clientCIDR",
				      "0.0.0.0/0", "serverAddress", "127.0.0.1");

		ks_send_obj(q, 200, v);
		json_decref(v);
		return;
	}
	if (n == 1 && !strcmp(seg[0], "apis")) {
		discovery_groups(q);
		return;
	}
	if (n == 2 && !strcmp(seg[0], "apis")) {
		if (!group_known(seg[1])) {
			plain_404(q);
			return;
		}
		json_t *g = group_obj(seg[1]);

		json_object_set_new(g, "kind", json_string("APIGroup"));
		json_object_set_new(g, "apiVersion", json_string("v1"));
		ks_send_obj(q, 200, g);
		json_decref(g);
		return;
	}
	if (n >= 2 && !strcmp(seg[0], "api")) {
		group = "";
		version = seg[1];
		i = 2;
	} else if (n >= 3 && !strcmp(seg[0], "apis")) {
		group = seg[1];
		version = seg[2];
		i = 3;
	} else {
		plain_404(q);
		return;
	}
	if (i == n) {
		if (strcmp(q->method, "GET"))
			plain_404(q);
		else
			discovery_resources(q, group, version);
		return;
	}
	if (n - i >= 3 && !strcmp(seg[i], "namespaces") &&
	    (r = ks_resource_find(group, version, seg[i + 2])) && r->namespaced) {
		ns = seg[i + 1];
		i += 3;
	} else {
		r = ks_resource_find(group, version, seg[i]);
		i += 1;
		if (!r) {
			plain_404(q);
			return;
		}
	}
	if (i < n)
		name = seg[i++];
	if (i < n)
		sub = seg[i++];
	if (i < n) {
		plain_404(q);
		return;
	}
	if (sub && !strcmp(sub, "log") && !strcmp(r->plural, "pods") && ns &&
	    !strcmp(q->method, "GET")) {
		pod_log(q, r, ns, name);
		return;
	}
	if (sub && !(strcmp(sub, "status") == 0 && r->has_status) &&
	    !(strcmp(sub, "finalize") == 0 && !strcmp(r->plural, "namespaces")) &&
	    !(strcmp(sub, "scale") == 0 && has_scale(r))) {
		plain_404(q);
		return;
	}
	if (r->namespaced && name && !ns) {
		plain_404(q);
		return;
	}
	if (!r->namespaced)
		ns = "";
	q->res = r;
	verb = q->method;
	if (!name && !strcmp(verb, "GET"))
		verb = ks_qbool(q, "watch") ? "WATCH" : "LIST";
	ks_stats_count(verb, r->plural);
	if (!name) {
		if (!strcmp(verb, "LIST"))
			do_list(q, r, ns && *ns ? ns : (r->namespaced ? NULL : ""));
		else if (!strcmp(verb, "WATCH"))
			ks_watch_begin(q, r, ns && *ns ? ns : (r->namespaced ? NULL : ""));
		else if (!strcmp(verb, "POST") && (!r->namespaced || ns))
			do_create(q, r, ns, ua);
		else if (!strcmp(verb, "DELETE") && ns && strcmp(r->plural, "namespaces")) {
			struct ks_obj **v;
			struct ks_sel *sel = NULL;
			struct err e = ERR_INIT;
			char ls[1024];
			size_t k, cnt;
			json_t *out;

			ks_query(q->query, "labelSelector", ls, sizeof(ls));
			if (ks_sel_parse(ls, &sel, &e) < 0) {
				ks_status(q, 400, "BadRequest", e.msg, NULL);
				return;
			}
			cnt = ks_store_select(r, *ns ? ns : NULL, sel, &v);
			for (k = 0; k < cnt; k++)
				ks_delete_cascade(v[k]);
			free(v);
			ks_sel_free(sel);
			out = json_pack("{s:s,s:s,s:{},s:s}", "kind", "Status", "apiVersion", "v1",
					"metadata", "status", "Success");
			ks_send_obj(q, 200, out);
			json_decref(out);
		} else {
			status_fmt(
			    q, 405, "MethodNotAllowed", NULL,
			    "the server does not allow this method on the requested resource");
		}
		return;
	}
	if (!strcmp(verb, "GET")) {
		struct ks_obj *x = ks_store_get(r, ns, name);

		if (!x) {
			not_found(q, r, name);
		} else if (sub && !strcmp(sub, "scale")) {
			json_t *sc = scale_of(x);

			ks_send_obj(q, 200, sc);
			json_decref(sc);
		} else if (ks_wants_table(q->accept) && !sub) {
			char rv[32];

			snprintf(rv, sizeof(rv), "%llu", (unsigned long long)x->rv);
			ks_table(q, r, NULL, 0, x->o, rv, NULL);
		} else {
			ks_send_obj(q, 200, x->o);
		}
	} else if (!strcmp(verb, "PUT")) {
		do_update(q, r, ns, name, sub, ua);
	} else if (!strcmp(verb, "PATCH")) {
		do_patch(q, r, ns, name, sub, ua);
	} else if (!strcmp(verb, "DELETE") && !sub) {
		do_delete(q, r, ns, name);
	} else {
		status_fmt(q, 405, "MethodNotAllowed", NULL,
			   "the server does not allow this method on the requested resource");
	}
}
