/* reconcile_capacity.c - a cluster's nodes and StorageClasses into cluster_capacity (sql/018). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "db.h"
#include "k8s.h"
#include "log.h"
#include "plan.h"
#include "reconcile_capacity.h"

/* clang-format off */
static struct db_stmt st_due = DB_STMT(
	"SELECT 1 FROM cluster_capacity WHERE cluster = $1 "
	"AND observed_at > now() - make_interval(secs => $2::integer)", 2);
/*
 * the reading and the classes ([{"name":..,"default":bool}]) in one
 * statement: the web app never sees half of it
 */
static struct db_stmt st_write = DB_STMT(
	"WITH cap AS (INSERT INTO cluster_capacity (cluster, nodes, cpu_millis, memory_bytes, "
	"  observed_at) VALUES ($1, $2::integer, $3::bigint, $4::bigint, now()) "
	"  ON CONFLICT (cluster) DO UPDATE SET nodes = EXCLUDED.nodes, "
	"  cpu_millis = EXCLUDED.cpu_millis, memory_bytes = EXCLUDED.memory_bytes, "
	"  observed_at = EXCLUDED.observed_at), "
	"gone AS (DELETE FROM cluster_storage_classes WHERE cluster = $1 "
	"  AND name NOT IN (SELECT x->>'name' FROM json_array_elements($5::json) x)) "
	"INSERT INTO cluster_storage_classes (cluster, name, is_default, observed_at) "
	"SELECT $1, x->>'name', (x->>'default')::boolean, now() FROM json_array_elements($5::json) x "
	"ON CONFLICT (cluster, name) DO UPDATE SET is_default = EXCLUDED.is_default, "
	"observed_at = EXCLUDED.observed_at", 5);
/* clang-format on */

/* 1 when the node takes new pods: not cordoned, and its Ready condition is True. */
static int node_schedulable(const json_t *node)
{
	const json_t *conds =
	    json_object_get(json_object_get(node, "status"), "conditions"), *c;
	size_t i;

	if (json_is_true(json_object_get(json_object_get(node, "spec"), "unschedulable")))
		return 0;
	json_array_foreach(conds, i, c)
	{
		const char *t = json_string_value(json_object_get(c, "type"));
		const char *s = json_string_value(json_object_get(c, "status"));

		if (t && !strcmp(t, "Ready"))
			return s && !strcmp(s, "True");
	}
	return 0;
}

/*
 * 1 when a StorageClass's metadata marks it the cluster's default: the
 * annotation storageclass.kubernetes.io/is-default-class "true", or its
 * beta name, which the API server's DefaultStorageClass admission still
 * honours (k8s.io/component-helpers storage/volume IsDefaultAnnotation).
 */
static int class_is_default(const json_t *md)
{
	const json_t *ann = json_object_get(md, "annotations");
	const char *v = json_string_value(
	    json_object_get(ann, "storageclass.kubernetes.io/is-default-class"));
	const char *b = json_string_value(
	    json_object_get(ann, "storageclass.beta.kubernetes.io/is-default-class"));

	return (v && !strcmp(v, "true")) || (b && !strcmp(b, "true"));
}

int capacity_observe(struct k8s *client, struct arena *a, const char *cluster, int every,
		     int *observed, struct err *e)
{
	struct k8s_list_opts no = {.path = "/api/v1/nodes"};
	struct k8s_list_opts so = {.path = "/apis/storage.k8s.io/v1/storageclasses"};
	struct k8s_list nodes, classes;
	struct k8s_err ke;
	char every_s[16], n_s[16], cpu_s[24], mem_s[24];
	const char *p[5];
	long long cpu = 0, mem = 0;
	int n = 0;
	json_t *names, *it;
	char *names_s;
	size_t i;
	PGresult *res;

	*observed = 0;
	snprintf(every_s, sizeof(every_s), "%d", every);
	p[0] = cluster;
	p[1] = every_s;
	if (every > 0) {
		if (!(res = db_run(a, &st_due, p, e)))
			return -1;
		if (db_rows(res) > 0)
			return 0;
	}
	if (k8s_list(client, &no, &nodes, &ke) < 0)
		return err_set(e, ke.err.status, "cluster %s: listing nodes: %s", cluster,
			       ke.err.msg);
	if (k8s_list(client, &so, &classes, &ke) < 0) {
		k8s_list_release(&nodes);
		return err_set(e, ke.err.status, "cluster %s: listing StorageClasses: %s", cluster,
			       ke.err.msg);
	}
	json_array_foreach(nodes.items, i, it)
	{
		const json_t *al = json_object_get(json_object_get(it, "status"), "allocatable");
		long long c = plan_quantity_milli(json_string_value(json_object_get(al, "cpu")));
		long long m = plan_quantity_milli(json_string_value(json_object_get(al, "memory")));

		if (!node_schedulable(it))
			continue;
		if (c < 0 || m < 0) {
			log_warn("reconcile: cluster %s: node %s: allocatable cpu/memory unreadable; "
				 "not counted",
				 cluster,
				 json_string_value(json_object_get(json_object_get(it, "metadata"),
								   "name")) ?: "?");
			continue;
		}
		n++;
		cpu += c;
		mem += m / 1000;
	}
	names = json_array();
	json_array_foreach(classes.items, i, it)
	{
		const json_t *md = json_object_get(it, "metadata");
		const json_t *nm = json_object_get(md, "name");

		if (json_is_string(nm))
			json_array_append_new(names, json_pack("{s:O,s:b}", "name", nm, "default",
							       class_is_default(md)));
	}
	names_s = json_dumps(names, JSON_COMPACT);
	snprintf(n_s, sizeof(n_s), "%d", n);
	snprintf(cpu_s, sizeof(cpu_s), "%lld", cpu);
	snprintf(mem_s, sizeof(mem_s), "%lld", mem);
	p[1] = n_s;
	p[2] = cpu_s;
	p[3] = mem_s;
	p[4] = names_s ? names_s : "[]";
	res = db_run(a, &st_write, p, e);
	log_debug("reconcile: cluster %s: %d schedulable nodes, %lld mCPU, %lld bytes, %zu "
		  "StorageClasses",
		  cluster, n, cpu, mem, json_array_size(names));
	free(names_s);
	json_decref(names);
	k8s_list_release(&nodes);
	k8s_list_release(&classes);
	if (!res)
		return -1;
	*observed = 1;
	return 0;
}
