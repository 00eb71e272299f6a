/* table.c - meta.k8s.io/v1 Table answers, so `kubectl get` prints the columns a real server gives.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kubesim.h"

/*
 * kubectl asks for Accept: application/json;as=Table;v=v1;g=meta.k8s.io,...
 * on get/list.  The columns follow the API server's printers (pkg/printers/
 * internalversion) for the kinds storefleet uses; other kinds get Name and
 * Age.  Rows carry PartialObjectMetadata, which is what kubectl needs for
 * the NAMESPACE column and for names.
 */

int ks_wants_table(const char *accept)
{
	return accept && strstr(accept, "as=Table") && strstr(accept, "g=meta.k8s.io");
}

static void age(char *out, size_t n, const json_t *o)
{
	const char *ts =
	    json_string_value(json_object_get(json_object_get(o, "metadata"), "creationTimestamp"));
	struct tm tm;
	long d;

	memset(&tm, 0, sizeof(tm));
	if (!ts || !strptime(ts, "%Y-%m-%dT%H:%M:%SZ", &tm)) {
		snprintf(out, n, "<unknown>");
		return;
	}
	d = (long)(time(NULL) - timegm(&tm));
	if (d < 0)
		d = 0;
	if (d < 120)
		snprintf(out, n, "%lds", d);
	else if (d < 600)
		snprintf(out, n, "%ldm%lds", d / 60, d % 60);
	else if (d < 3 * 3600)
		snprintf(out, n, "%ldm", d / 60);
	else if (d < 48 * 3600)
		snprintf(out, n, "%ldh", d / 3600);
	else
		snprintf(out, n, "%ldd", d / 86400);
}

static json_int_t ival(const json_t *o, const char *a, const char *b)
{
	return json_integer_value(json_object_get(json_object_get(o, a), b));
}

static const char *sval(const json_t *o, const char *a, const char *b)
{
	const char *s = json_string_value(json_object_get(json_object_get(o, a), b));

	return s ? s : "";
}

static void columns(json_t *cols, const char *names)
{
	char tmp[256], *tok, *save = NULL;

	snprintf(tmp, sizeof(tmp), "%s", names);
	for (tok = strtok_r(tmp, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		const char *type = *tok == '#' ? "integer" : "string";

		if (*tok == '#')
			tok++;
		json_array_append_new(cols,
				      json_pack("{s:s,s:s,s:s,s:s,s:i}", "name", tok, "type", type,
						"format", !strcmp(tok, "Name") ? "name" : "",
						"description", tok, "priority", 0));
	}
}

static const char *header(const struct ks_resource *r)
{
	const char *p = r->plural;

	if (!strcmp(p, "pods"))
		return "Name,Ready,Status,#Restarts,Age";
	if (!strcmp(p, "deployments"))
		return "Name,Ready,Up-to-date,Available,Age";
	if (!strcmp(p, "statefulsets"))
		return "Name,Ready,Age";
	if (!strcmp(p, "replicasets"))
		return "Name,#Desired,#Current,#Ready,Age";
	if (!strcmp(p, "jobs"))
		return "Name,Status,Completions,Age";
	if (!strcmp(p, "namespaces"))
		return "Name,Status,Age";
	if (!strcmp(p, "services"))
		return "Name,Type,Cluster-IP,External-IP,Port(s),Age";
	if (!strcmp(p, "persistentvolumeclaims"))
		return "Name,Status,Volume,Capacity,Access Modes,Age";
	if (!strcmp(p, "events"))
		return "Last Seen,Type,Reason,Object,Message";
	if (!strcmp(p, "ingresses"))
		return "Name,Hosts,Age";
	if (!strcmp(p, "configmaps"))
		return "Name,#Data,Age";
	if (!strcmp(p, "secrets"))
		return "Name,Type,#Data,Age";
	/* cert-manager's CRDs: their additionalPrinterColumns of priority 0 */
	if (!strcmp(p, "certificates"))
		return "Name,Ready,Secret,Age";
	if (!strcmp(p, "issuers") || !strcmp(p, "clusterissuers"))
		return "Name,Ready,Age";
	/* pkg/printers/internalversion: nodes and storageclasses, priority 0 */
	if (!strcmp(p, "nodes"))
		return "Name,Status,Roles,Age,Version";
	if (!strcmp(p, "storageclasses"))
		return "Name,Provisioner,ReclaimPolicy,VolumeBindingMode,AllowVolumeExpansion,Age";
	return "Name,Age";
}

static json_t *cells(const struct ks_resource *r, const json_t *o)
{
	const char *p = r->plural;
	const char *name = sval(o, "metadata", "name");
	char a[32], buf[256];
	json_t *st = json_object_get(o, "status");

	age(a, sizeof(a), o);
	if (!strcmp(p, "pods")) {
		json_t *cs = json_object_get(st, "containerStatuses"), *c;
		size_t i,
		    ready = 0,
		    n = json_array_size(json_object_get(json_object_get(o, "spec"), "containers"));
		json_int_t restarts = 0;
		const char *status = json_string_value(json_object_get(st, "phase"));

		json_array_foreach(cs, i, c) {
			const char *w = sval(json_object_get(c, "state"), "waiting", "reason");

			ready += json_is_true(json_object_get(c, "ready"));
			restarts += json_integer_value(json_object_get(c, "restartCount"));
			if (*w)
				status = w;
			if (*sval(json_object_get(c, "state"), "terminated", "reason"))
				status = sval(json_object_get(c, "state"), "terminated", "reason");
		}
		if (json_object_get(json_object_get(o, "metadata"), "deletionTimestamp"))
			status = "Terminating";
		snprintf(buf, sizeof(buf), "%zu/%zu", ready, n);
		return json_pack("[s,s,s,I,s]", name, buf, status ? status : "Pending", restarts,
				 a);
	}
	if (!strcmp(p, "deployments") || !strcmp(p, "statefulsets")) {
		json_int_t want = ival(o, "spec", "replicas");

		snprintf(buf, sizeof(buf), "%lld/%lld",
			 (long long)json_integer_value(json_object_get(st, "readyReplicas")),
			 (long long)want);
		if (!strcmp(p, "statefulsets"))
			return json_pack("[s,s,s]", name, buf, a);
		return json_pack("[s,s,I,I,s]", name, buf,
				 json_integer_value(json_object_get(st, "updatedReplicas")),
				 json_integer_value(json_object_get(st, "availableReplicas")), a);
	}
	if (!strcmp(p, "replicasets"))
		return json_pack("[s,I,I,I,s]", name, ival(o, "spec", "replicas"),
				 json_integer_value(json_object_get(st, "replicas")),
				 json_integer_value(json_object_get(st, "readyReplicas")), a);
	if (!strcmp(p, "jobs")) {
		json_t *c;
		size_t i;
		const char *status = "Running";

		json_array_foreach(json_object_get(st, "conditions"), i, c)
			if (!strcmp(json_string_value(json_object_get(c, "status")) ?: "",
				    "True")) {
				const char *t = json_string_value(json_object_get(c, "type")) ?: "";

				if (!strcmp(t, "Complete"))
					status = "Complete";
				else if (!strcmp(t, "Failed"))
					status = "Failed";
			}
		snprintf(buf, sizeof(buf), "%lld/%lld",
			 (long long)json_integer_value(json_object_get(st, "succeeded")),
			 (long long)(ival(o, "spec", "completions") ? ival(o, "spec", "completions")
								    : 1));
		return json_pack("[s,s,s,s]", name, status, buf, a);
	}
	if (!strcmp(p, "namespaces"))
		return json_pack("[s,s,s]", name, sval(o, "status", "phase"), a);
	if (!strcmp(p, "nodes")) {
		json_t *c;
		size_t i;
		const char *ready = "Unknown";

		json_array_foreach(json_object_get(st, "conditions"), i, c)
			if (!strcmp(json_string_value(json_object_get(c, "type")) ?: "", "Ready"))
				ready = !strcmp(json_string_value(json_object_get(c, "status")) ?: "",
						"True")
					    ? "Ready"
					    : "NotReady";
		snprintf(buf, sizeof(buf), "%s%s", ready,
			 json_is_true(json_object_get(json_object_get(o, "spec"), "unschedulable"))
			     ? ",SchedulingDisabled"
			     : "");
		return json_pack("[s,s,s,s,s]", name, buf, "<none>", a,
				 sval(st, "nodeInfo", "kubeletVersion"));
	}
	if (!strcmp(p, "storageclasses")) {
		const char *def = sval(json_object_get(o, "metadata"), "annotations",
				       "storageclass.kubernetes.io/is-default-class");
		const char *rp = json_string_value(json_object_get(o, "reclaimPolicy"));
		const char *vb = json_string_value(json_object_get(o, "volumeBindingMode"));

		snprintf(buf, sizeof(buf), "%s%s", name, !strcmp(def, "true") ? " (default)" : "");
		return json_pack("[s,s,s,s,b,s]", buf,
				 json_string_value(json_object_get(o, "provisioner")) ?: "",
				 rp ? rp : "Delete", vb ? vb : "Immediate",
				 json_is_true(json_object_get(o, "allowVolumeExpansion")), a);
	}
	if (!strcmp(p, "services")) {
		json_t *port;
		size_t i;
		struct buf ports = BUF_INIT;
		json_t *row;

		json_array_foreach(json_object_get(json_object_get(o, "spec"), "ports"), i, port)
			buf_addf(&ports, "%s%lld/%s", i ? "," : "",
				 (long long)json_integer_value(json_object_get(port, "port")),
				 json_string_value(json_object_get(port, "protocol")) ?: "TCP");
		row = json_pack("[s,s,s,s,s,s]", name, sval(o, "spec", "type"),
				sval(o, "spec", "clusterIP"), "<none>",
				ports.len ? ports.s : "<none>", a);
		buf_release(&ports);
		return row;
	}
	if (!strcmp(p, "persistentvolumeclaims"))
		return json_pack(
		    "[s,s,s,s,s,s]", name, sval(o, "status", "phase"),
		    sval(o, "spec", "volumeName"),
		    json_string_value(json_object_get(json_object_get(st, "capacity"), "storage"))
			?: "",
		    json_array_size(json_object_get(json_object_get(o, "spec"), "accessModes"))
			? "RWO"
			: "",
		    a);
	if (!strcmp(p, "events")) {
		snprintf(buf, sizeof(buf), "%s/%s", sval(o, "involvedObject", "kind"),
			 sval(o, "involvedObject", "name"));
		for (char *c = buf; *c && *c != '/'; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
		return json_pack("[s,s,s,s,s]", a,
				 json_string_value(json_object_get(o, "type")) ?: "",
				 json_string_value(json_object_get(o, "reason")) ?: "", buf,
				 json_string_value(json_object_get(o, "message")) ?: "");
	}
	if (!strcmp(p, "ingresses")) {
		json_t *rule;
		size_t i;
		struct buf hosts = BUF_INIT;
		json_t *row;

		json_array_foreach(json_object_get(json_object_get(o, "spec"), "rules"), i, rule)
			buf_addf(&hosts, "%s%s", i ? "," : "",
				 json_string_value(json_object_get(rule, "host")) ?: "*");
		row = json_pack("[s,s,s]", name, hosts.len ? hosts.s : "*", a);
		buf_release(&hosts);
		return row;
	}
	if (!strcmp(p, "configmaps") || !strcmp(p, "secrets")) {
		json_int_t n = (json_int_t)(json_object_size(json_object_get(o, "data")) +
					    json_object_size(json_object_get(o, "binaryData")));

		if (!strcmp(p, "secrets"))
			return json_pack("[s,s,I,s]", name,
					 json_string_value(json_object_get(o, "type")) ?: "Opaque",
					 n, a);
		return json_pack("[s,I,s]", name, n, a);
	}
	if (!strcmp(p, "certificates") || !strcmp(p, "issuers") || !strcmp(p, "clusterissuers")) {
		const char *ready = "";
		json_t *c;
		size_t i;

		json_array_foreach(json_object_get(st, "conditions"), i, c)
			if (!strcmp(json_string_value(json_object_get(c, "type")) ?: "", "Ready"))
				ready = json_string_value(json_object_get(c, "status")) ?: "";
		if (!strcmp(p, "certificates"))
			return json_pack("[s,s,s,s]", name, ready,
					 sval(o, "spec", "secretName"), a);
		return json_pack("[s,s,s]", name, ready, a);
	}
	return json_pack("[s,s]", name, a);
}

static json_t *row(const struct ks_resource *r, const json_t *o)
{
	json_t *md = json_deep_copy(json_object_get(o, "metadata"));

	json_object_del(md, "managedFields");
	return json_pack("{s:o,s:{s:s,s:s,s:o}}", "cells", cells(r, o), "object", "kind",
			 "PartialObjectMetadata", "apiVersion", "meta.k8s.io/v1", "metadata", md);
}

void ks_table(struct ks_req *q, const struct ks_resource *r, struct ks_obj **v, size_t n,
	      const json_t *one, const char *list_rv, const char *cont)
{
	json_t *cols = json_array(), *rows = json_array(), *t;
	size_t i;

	columns(cols, header(r));
	if (one)
		json_array_append_new(rows, row(r, one));
	for (i = 0; i < n; i++)
		json_array_append_new(rows, row(r, v[i]->o));
	t = json_pack("{s:s,s:s,s:{s:s},s:o,s:o}", "kind", "Table", "apiVersion", "meta.k8s.io/v1",
		      "metadata", "resourceVersion", list_rv ? list_rv : "", "columnDefinitions",
		      cols, "rows", rows);
	if (cont && *cont)
		json_object_set_new(json_object_get(t, "metadata"), "continue", json_string(cont));
	ks_send_obj(q, 200, t);
	json_decref(t);
}

json_t *ks_table_event(const struct ks_resource *r, const json_t *o, int with_columns)
{
	json_t *cols = json_array(), *t;
	const char *rv =
	    json_string_value(json_object_get(json_object_get(o, "metadata"), "resourceVersion"));

	if (with_columns)
		columns(cols, header(r));
	t = json_pack("{s:s,s:s,s:{s:s},s:o,s:[o]}", "kind", "Table", "apiVersion",
		      "meta.k8s.io/v1", "metadata", "resourceVersion", rv ? rv : "",
		      "columnDefinitions", cols, "rows", row(r, o));
	return t;
}
