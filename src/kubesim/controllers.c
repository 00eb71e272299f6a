/* controllers.c - simulated kube-controller-manager and kubelet: workloads progress, namespaces
 * purge, quotas, events. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kubesim.h"

/*
 * Objects that still have work to do sit on a watch list.  A thread wakes
 * every 50 ms, takes ks_lock and runs each listed object's handler; a
 * handler returns 1 to stay listed (not settled yet) or 0 to leave.  Status
 * is written only when it changes, so settled objects keep their
 * resourceVersion.  Delays come from the --*-ms options; faults are looked
 * up per namespace on every step, so clearing a fault lets things resume.
 */

static struct ks_obj **wl;
static size_t wl_n, wl_cap;
static struct ks_obj **snapshot; /* the list being walked (entries nulled on delete) */
static size_t snapshot_n;
static pthread_t thread;
static volatile int stopping;
static int started;

static const struct ks_resource *R(const char *group, const char *plural)
{
	return ks_resource_find(group, "v1", plural);
}

static int watched_kind(const struct ks_resource *r)
{
	static const char *const k[] = {
	    "deployments", "replicasets", "statefulsets", "jobs", "persistentvolumeclaims",
	    "pods",	   "certificates", "issuers", "clusterissuers", NULL};
	int i;

	for (i = 0; k[i]; i++)
		if (!strcmp(r->plural, k[i]))
			return 1;
	return 0;
}

void ks_ctl_watch(struct ks_obj *x)
{
	if (x->watched)
		return;
	if (!watched_kind(x->res) &&
	    !(!strcmp(x->res->plural, "namespaces") &&
	      json_object_get(json_object_get(x->o, "metadata"), "deletionTimestamp")))
		return;
	if (wl_n == wl_cap) {
		wl_cap = wl_cap ? wl_cap * 2 : 64;
		wl = realloc(wl, wl_cap * sizeof(*wl));
		if (!wl)
			die_oom();
	}
	wl[wl_n++] = x;
	x->watched = 1;
}

void ks_ctl_forget(struct ks_obj *x)
{
	size_t i;

	for (i = 0; i < snapshot_n; i++)
		if (snapshot[i] == x)
			snapshot[i] = NULL;
	if (!x->watched)
		return;
	for (i = 0; i < wl_n; i++)
		if (wl[i] == x) {
			wl[i] = wl[--wl_n];
			break;
		}
	x->watched = 0;
}

/* --- helpers ---------------------------------------------------------------- */

/* A new reference to v, or a new empty array. */
static json_t *or_array(json_t *v)
{
	return v ? json_incref(v) : json_array();
}

static json_t *md_of(const json_t *o)
{
	return json_object_get(o, "metadata");
}

static const char *uid_of(const json_t *o)
{
	const char *u = json_string_value(json_object_get(md_of(o), "uid"));

	return u ? u : "";
}

static json_t *ensure_obj(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	if (!json_is_object(v)) {
		v = json_object();
		json_object_set_new(o, k, v);
	}
	return v;
}

static void set_status(struct ks_obj *x, json_t *status)
{
	if (json_equal(json_object_get(x->o, "status"), status)) {
		json_decref(status);
		return;
	}
	json_t *o = json_deep_copy(x->o);

	json_object_set_new(o, "status", status);
	ks_store_update(x, o);
}

static json_t *cond(const char *type, const char *status, const char *reason, const char *msg,
		    const json_t *old_conds, int with_update)
{
	char ts[40];
	size_t i;
	json_t *c, *n;

	ks_timestamp(ts);
	/* keep transition times stable while the condition does not change */
	json_array_foreach(old_conds, i, c) {
		const char *t = json_string_value(json_object_get(c, "type"));
		const char *s = json_string_value(json_object_get(c, "status"));
		const char *rs = json_string_value(json_object_get(c, "reason"));
		const char *m = json_string_value(json_object_get(c, "message"));

		if (t && !strcmp(t, type) && s && !strcmp(s, status) && rs && !strcmp(rs, reason) &&
		    m && !strcmp(m, msg))
			return json_incref(c);
	}
	n = json_pack("{s:s,s:s,s:s,s:s}", "type", type, "status", status, "reason", reason,
		      "message", msg);
	if (with_update == 1)
		json_object_set_new(n, "lastUpdateTime", json_string(ts));
	else if (with_update == 0)
		json_object_set_new(n, "lastProbeTime", json_null());
	json_object_set_new(n, "lastTransitionTime", json_string(ts));
	return n;
}

static int owned_by(const struct ks_obj *x, const char *uid)
{
	json_t *refs = json_object_get(md_of(x->o), "ownerReferences"), *r;
	size_t i;

	json_array_foreach(refs, i, r) {
		const char *u = json_string_value(json_object_get(r, "uid"));

		if (u && !strcmp(u, uid))
			return 1;
	}
	return 0;
}

/* Objects of resource r in ns owned by uid. OUT: malloc'd array. */
static size_t children(const struct ks_resource *r, const char *ns, const char *uid,
		       struct ks_obj ***out)
{
	struct ks_obj **v;
	size_t n = ks_store_select(r, ns, NULL, &v), i, j = 0;

	for (i = 0; i < n; i++)
		if (owned_by(v[i], uid))
			v[j++] = v[i];
	*out = v;
	return j;
}

static unsigned long fnv(const char *s)
{
	unsigned long h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

static void template_hash(const json_t *tmpl, char *out)
{
	static const char alnum[] = "bcdfghjklmnpqrstvwxz2456789";
	char *s = json_dumps(tmpl, JSON_COMPACT | JSON_SORT_KEYS);
	unsigned long h = fnv(s ? s : "");
	int i;

	free(s);
	for (i = 0; i < 10; i++) {
		out[i] = alnum[h % 27];
		h /= 27;
		if (!h)
			h = fnv(out) + (unsigned long)i;
	}
	out[10] = 0;
}

void ks_event(const json_t *obj, const char *type, const char *reason, const char *msg)
{
	const struct ks_resource *r = R("", "events");
	const char *ns = json_string_value(json_object_get(md_of(obj), "namespace"));
	const char *name = json_string_value(json_object_get(md_of(obj), "name"));
	char ename[400], ts[40], uid[40];
	struct ks_obj *x;
	json_t *e;

	if (!ns || !name)
		return;
	snprintf(ename, sizeof(ename), "%s.%08lx", name, fnv(reason) ^ fnv(name));
	ks_timestamp(ts);
	x = ks_store_get(r, ns, ename);
	if (x) {
		json_t *o = json_deep_copy(x->o);

		json_object_set_new(
		    o, "count", json_integer(json_integer_value(json_object_get(o, "count")) + 1));
		json_object_set_new(o, "lastTimestamp", json_string(ts));
		json_object_set_new(o, "message", json_string(msg));
		ks_store_update(x, o);
		return;
	}
	ks_uuid(uid);
	e = json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:s},s:{s:s,s:s,s:s,s:s,s:s},s:s,s:s,s:s,s:{s:s},"
		      "s:s,s:s,s:i,s:s,s:s}",
		      "apiVersion", "v1", "kind", "Event", "metadata", "name", ename, "namespace",
		      ns, "uid", uid, "creationTimestamp", ts, "involvedObject", "kind",
		      json_string_value(json_object_get(obj, "kind")) ?: "", "namespace", ns,
		      "name", name, "uid", uid_of(obj), "apiVersion",
		      json_string_value(json_object_get(obj, "apiVersion")) ?: "v1", "reason",
		      reason, "message", msg, "type", type, "source", "component", "kubesim",
		      "firstTimestamp", ts, "lastTimestamp", ts, "count", 1, "reportingComponent",
		      "kubesim", "reportingInstance", "kubesim");
	ks_store_add(r, e);
	ks_stats_created("Event");
}

/* --- creation defaults -------------------------------------------------------------- */

static json_t *ready_conditions_deploy(const char *rsname)
{
	char m[400];

	snprintf(m, sizeof(m), "ReplicaSet \"%s\" has successfully progressed.", rsname);
	return json_pack("[o,o]",
			 cond("Available", "True", "MinimumReplicasAvailable",
			      "Deployment has minimum availability.", NULL, 1),
			 cond("Progressing", "True", "NewReplicaSetAvailable", m, NULL, 1));
}

static void pod_running(json_t *pod, int ready);

void ks_ctl_on_create(const struct ks_resource *r, json_t *o, int ready)
{
	json_t *md = ensure_obj(o, "metadata"), *spec;
	const char *name = json_string_value(json_object_get(md, "name"));
	json_int_t replicas;

	if (!strcmp(r->plural, "namespaces")) {
		spec = ensure_obj(o, "spec");
		json_object_set_new(spec, "finalizers", json_pack("[s]", "kubernetes"));
		json_object_set_new(ensure_obj(md, "labels"), "kubernetes.io/metadata.name",
				    json_string(name));
		json_object_set_new(o, "status", json_pack("{s:s}", "phase", "Active"));
		return;
	}
	if (!strcmp(r->plural, "services")) {
		static unsigned next_ip = 10;
		char ip[32];
		json_t *p;
		size_t i;

		spec = ensure_obj(o, "spec");
		if (!json_object_get(spec, "type"))
			json_object_set_new(spec, "type", json_string("ClusterIP"));
		if (!json_object_get(spec, "clusterIP")) {
			next_ip++;
			snprintf(ip, sizeof(ip), "10.96.%u.%u", (next_ip >> 8) & 255,
				 next_ip & 255);
			json_object_set_new(spec, "clusterIP", json_string(ip));
			json_object_set_new(spec, "clusterIPs", json_pack("[s]", ip));
		} else if (!json_object_get(spec, "clusterIPs")) {
			/* normalizeClusterIPs: a client that set clusterIP alone */
			json_object_set_new(spec, "clusterIPs",
					    json_pack("[O]", json_object_get(spec, "clusterIP")));
		}
		if (!json_object_get(spec, "sessionAffinity"))
			json_object_set_new(spec, "sessionAffinity", json_string("None"));
		json_array_foreach(json_object_get(spec, "ports"), i, p) {
			if (!json_object_get(p, "protocol"))
				json_object_set_new(p, "protocol", json_string("TCP"));
			if (!json_object_get(p, "targetPort"))
				json_object_set(p, "targetPort", json_object_get(p, "port"));
		}
		json_object_set_new(o, "status", json_pack("{s:{}}", "loadBalancer"));
		return;
	}
	if (!strcmp(r->plural, "deployments") || !strcmp(r->plural, "statefulsets") ||
	    !strcmp(r->plural, "replicasets")) {
		spec = ensure_obj(o, "spec");
		if (!json_object_get(spec, "replicas"))
			json_object_set_new(spec, "replicas", json_integer(1));
		replicas = json_integer_value(json_object_get(spec, "replicas"));
		if (!strcmp(r->plural, "deployments")) {
			if (!json_object_get(spec, "progressDeadlineSeconds"))
				json_object_set_new(spec, "progressDeadlineSeconds",
						    json_integer(600));
			if (!json_object_get(spec, "revisionHistoryLimit"))
				json_object_set_new(spec, "revisionHistoryLimit", json_integer(10));
			if (!json_object_get(spec, "strategy"))
				json_object_set_new(spec, "strategy",
						    json_pack("{s:s,s:{s:s,s:s}}", "type",
							      "RollingUpdate", "rollingUpdate",
							      "maxUnavailable", "25%", "maxSurge",
							      "25%"));
		}
		if (!strcmp(r->plural, "statefulsets")) {
			if (!json_object_get(spec, "podManagementPolicy"))
				json_object_set_new(spec, "podManagementPolicy",
						    json_string("OrderedReady"));
			if (!json_object_get(spec, "updateStrategy"))
				json_object_set_new(spec, "updateStrategy",
						    json_pack("{s:s,s:{s:i}}", "type",
							      "RollingUpdate", "rollingUpdate",
							      "partition", 0));
		}
		if (!ready) {
			json_object_set_new(o, "status", json_object());
			return;
		}
		if (!strcmp(r->plural, "deployments")) {
			char rs[300];

			snprintf(rs, sizeof(rs), "%s-seeded", name);
			json_object_set_new(o, "status",
					    json_pack("{s:i,s:I,s:I,s:I,s:I,s:o}",
						      "observedGeneration", 1, "replicas", replicas,
						      "updatedReplicas", replicas, "readyReplicas",
						      replicas, "availableReplicas", replicas,
						      "conditions", ready_conditions_deploy(rs)));
		} else {
			char rev[300];

			snprintf(rev, sizeof(rev), "%s-seeded", name);
			json_object_set_new(
			    o, "status",
			    json_pack("{s:i,s:I,s:I,s:I,s:I,s:I,s:s,s:s,s:i}", "observedGeneration",
				      1, "replicas", replicas, "readyReplicas", replicas,
				      "currentReplicas", replicas, "updatedReplicas", replicas,
				      "availableReplicas", replicas, "currentRevision", rev,
				      "updateRevision", rev, "collisionCount", 0));
		}
		return;
	}
	if (!strcmp(r->plural, "jobs")) {
		json_t *tl;

		spec = ensure_obj(o, "spec");
		if (!json_object_get(spec, "backoffLimit"))
			json_object_set_new(spec, "backoffLimit", json_integer(6));
		if (!json_object_get(spec, "completions"))
			json_object_set_new(spec, "completions", json_integer(1));
		if (!json_object_get(spec, "parallelism"))
			json_object_set_new(spec, "parallelism", json_integer(1));
		if (!json_is_true(json_object_get(spec, "manualSelector"))) {
			/*
			 * generateSelector (pkg/registry/batch/job/strategy.go): the
			 * template gets the job-name and controller-uid labels (unless
			 * set), the selector matches the uid
			 */
			static const char *const nl[] = {"job-name",
							 "batch.kubernetes.io/job-name"};
			static const char *const ul[] = {"controller-uid",
							 "batch.kubernetes.io/controller-uid"};
			const char *uid = uid_of(o);
			json_t *ml;
			int i;

			tl = ensure_obj(ensure_obj(ensure_obj(spec, "template"), "metadata"),
					"labels");
			for (i = 0; i < 2; i++) {
				if (!json_object_get(tl, nl[i]))
					json_object_set_new(tl, nl[i], json_string(name));
				if (!json_object_get(tl, ul[i]))
					json_object_set_new(tl, ul[i], json_string(uid));
			}
			ml = ensure_obj(ensure_obj(spec, "selector"), "matchLabels");
			if (!json_object_get(ml, ul[1]))
				json_object_set_new(ml, ul[1], json_string(uid));
		}
		if (ready) {
			char ts[40];

			ks_timestamp(ts);
			json_object_set_new(
			    o, "status",
			    json_pack("{s:s,s:s,s:i,s:i,s:i,s:[o,o]}", "startTime", ts,
				      "completionTime", ts, "succeeded", 1, "active", 0, "ready", 0,
				      "conditions",
				      cond("SuccessCriteriaMet", "True", "CompletionsReached",
					   "Reached expected number of succeeded pods", NULL, 0),
				      cond("Complete", "True", "CompletionsReached",
					   "Reached expected number of succeeded pods", NULL, 0)));
		} else {
			json_object_set_new(o, "status", json_object());
		}
		return;
	}
	if (!strcmp(r->plural, "persistentvolumeclaims")) {
		if (ready) {
			json_t *req = json_object_get(
			    json_object_get(json_object_get(o, "spec"), "resources"), "requests");

			json_object_set_new(
			    o, "status",
			    json_pack("{s:s,s:o,s:o}", "phase", "Bound", "capacity",
				      req ? json_incref(req) : json_object(), "accessModes",
				      or_array(json_object_get(json_object_get(o, "spec"),
							       "accessModes"))));
		} else {
			json_object_set_new(o, "status", json_pack("{s:s}", "phase", "Pending"));
		}
		return;
	}
	if (!strcmp(r->plural, "pods")) {
		spec = ensure_obj(o, "spec");
		if (!json_object_get(spec, "restartPolicy"))
			json_object_set_new(spec, "restartPolicy", json_string("Always"));
		if (ready)
			pod_running(o, 1);
		else
			json_object_set_new(
			    o, "status", json_pack("{s:s,s:[]}", "phase", "Pending", "conditions"));
		return;
	}
	if (!strcmp(r->plural, "resourcequotas")) {
		json_t *hard = json_object_get(json_object_get(o, "spec"), "hard");
		json_t *used = json_object(), *v;
		const char *k;

		json_object_foreach(hard, k, v)
			json_object_set_new(used, k, json_string("0"));
		json_object_set_new(o, "status",
				    json_pack("{s:o,s:o}", "hard",
					      hard ? json_incref(hard) : json_object(), "used",
					      used));
		return;
	}
	if (!strcmp(r->plural, "ingresses")) {
		json_object_set_new(o, "status", json_pack("{s:{}}", "loadBalancer"));
		return;
	}
	if (!strcmp(r->plural, "secrets") && !json_object_get(o, "type")) {
		json_object_set_new(o, "type", json_string("Opaque")); /* SetDefaults_Secret */
		return;
	}
}

/* --- pods --------------------------------------------------------------------------- */

static void container_statuses(json_t *pod, json_t *st, const char *state, const char *reason,
			       const char *msg, int restarts, int ready)
{
	json_t *cs = json_array(), *c;
	size_t i;
	char ts[40];

	ks_timestamp(ts);
	json_array_foreach(json_object_get(json_object_get(pod, "spec"), "containers"), i, c) {
		const char *image = json_string_value(json_object_get(c, "image"));
		json_t *s = json_pack("{s:s,s:b,s:b,s:i,s:s,s:s}", "name",
				      json_string_value(json_object_get(c, "name")) ?: "", "ready",
				      ready, "started", !strcmp(state, "running"), "restartCount",
				      restarts, "image", image ? image : "", "imageID", "");
		json_t *stt;

		if (!strcmp(state, "running"))
			stt = json_pack("{s:{s:s}}", "running", "startedAt", ts);
		else if (!strcmp(state, "terminated")) {
			stt = json_pack("{s:{s:i,s:s,s:s,s:s}}", "terminated", "exitCode",
					!strcmp(reason, "Completed") ? 0 : 1, "reason", reason,
					"startedAt", ts, "finishedAt", ts);
			if (msg && *msg)
				json_object_set_new(json_object_get(stt, "terminated"), "message",
						    json_string(msg));
		} else
			stt =
			    json_pack("{s:{s:s,s:s}}", "waiting", "reason", reason, "message", msg);
		json_object_set_new(s, "state", stt);
		if (restarts)
			json_object_set_new(s, "lastState",
					    json_pack("{s:{s:i,s:s,s:s,s:s}}", "terminated",
						      "exitCode", 1, "reason", "Error", "startedAt",
						      ts, "finishedAt", ts));
		else
			json_object_set_new(s, "lastState", json_object());
		if (image && strstr(image, "@sha256:") == NULL && strcmp(state, "waiting"))
			json_object_set_new(
			    s, "imageID",
			    json_sprintf("docker.io/library/%s@sha256:%064lx", image, 0UL));
		json_array_append_new(cs, s);
	}
	json_object_set_new(st, "containerStatuses", cs);
}

static json_t *pod_conditions(int scheduled, int ready, const json_t *old)
{
	const char *r = ready ? "True" : "False";

	return json_pack(
	    "[o,o,o,o,o]",
	    cond("PodReadyToStartContainers", scheduled ? "True" : "False", "", "", old, 0),
	    cond("Initialized", "True", "", "", old, 0),
	    cond("Ready", r, ready ? "" : "ContainersNotReady",
		 ready ? "" : "containers with unready status", old, 0),
	    cond("ContainersReady", r, ready ? "" : "ContainersNotReady",
		 ready ? "" : "containers with unready status", old, 0),
	    cond("PodScheduled", "True", "", "", old, 0));
}

static void pod_running(json_t *pod, int ready)
{
	json_t *st = json_pack("{s:s,s:s,s:s,s:[s]}", "phase", "Running", "hostIP", "127.0.0.1",
			       "podIP", "10.244.0.10", "podIPs", "ip");

	json_object_set_new(json_array_get(json_object_get(st, "podIPs"), 0), "ip",
			    json_string("10.244.0.10"));
	json_array_set_new(json_object_get(st, "podIPs"), 0,
			   json_pack("{s:s}", "ip", "10.244.0.10"));
	json_object_set_new(st, "conditions", pod_conditions(1, ready, NULL));
	container_statuses(pod, st, "running", "", "", 0, ready);
	json_object_set_new(st, "qosClass", json_string("BestEffort"));
	json_object_set_new(pod, "status", st);
}

static int pod_is_job(const struct ks_obj *x)
{
	json_t *refs = json_object_get(md_of(x->o), "ownerReferences");
	const char *k = json_string_value(json_object_get(json_array_get(refs, 0), "kind"));

	return k && !strcmp(k, "Job");
}

/* nftw callback: remove one entry of a finished pod's folder, deepest first, links not followed. */
static int remove_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

/*
 * Backup and restore Jobs' pods (component backup, Job backup-<id> or
 * restore-backup-<tag>), run for
 * real when kubesim has --job-runner: the container's command and its
 * environment (value and secretKeyRef, from the namespace's Secrets) are
 * written NUL-separated to DIR/argv and DIR/env, and `RUNNER DIR` runs
 * them with kubesim's own environment (the runner maps the volumes to
 * folders; tools/kubesim-job-runner.sh).  Synchronous: the simulator waits
 * (a test server).  Its exit status is the pod's, the last lines of its
 * output the container's termination message (as
 * terminationMessagePolicy FallbackToLogsOnError gives it).
 */
static int pod_is_backup(const struct ks_obj *x)
{
	const json_t *labels = json_object_get(md_of(x->o), "labels");
	const char *c = json_string_value(json_object_get(labels, "app.kubernetes.io/component"));
	const char *job = json_string_value(json_object_get(
	    json_array_get(json_object_get(md_of(x->o), "ownerReferences"), 0), "name"));

	/* backup-<id> and restore-backup-<tag> (75-backup.yaml); not the snapshot's Jobs */
	return c && !strcmp(c, "backup") && job &&
	       (!strncmp(job, "backup-", 7) || !strncmp(job, "restore-backup-", 15));
}

static int write_nul(const char *path, json_t *arr)
{
	FILE *f = fopen(path, "wb");
	const json_t *v;
	size_t i;

	if (!f)
		return -1;
	json_array_foreach(arr, i, v) {
		const char *s = json_string_value(v);

		fwrite(s ? s : "", 1, strlen(s ? s : ""), f);
		fputc(0, f);
	}
	return fclose(f);
}

static int run_backup_pod(struct ks_obj *x, char *tail, size_t n)
{
	const json_t *c =
	    json_array_get(json_object_get(json_object_get(x->o, "spec"), "containers"), 0);
	const json_t *e, *v;
	json_t *argv = json_array(), *env = json_array();
	char dir[] = "/tmp/kubesim-job.XXXXXX", path[600], buf[8320];
	size_t i;
	int rc = 1, status;
	pid_t pid;
	FILE *f;

	json_array_foreach(json_object_get(c, "command"), i, v)
		json_array_append(argv, (json_t *)v);
	json_array_foreach(json_object_get(c, "args"), i, v)
		json_array_append(argv, (json_t *)v);
	json_array_foreach(json_object_get(c, "env"), i, e) {
		const char *name = json_string_value(json_object_get(e, "name"));
		const json_t *ref =
		    json_object_get(json_object_get(e, "valueFrom"), "secretKeyRef");
		char val[4096] = "";

		if (!name)
			continue;
		if (ref) {
			struct ks_obj *sec =
			    ks_store_get(R("", "secrets"), x->ns,
					 json_string_value(json_object_get(ref, "name")) ?: "");
			const char *b64 =
			    sec ? json_string_value(json_object_get(
				      json_object_get(sec->o, "data"),
				      json_string_value(json_object_get(ref, "key")) ?: ""))
				: NULL;
			const char *plain =
			    sec ? json_string_value(json_object_get(
				      json_object_get(sec->o, "stringData"),
				      json_string_value(json_object_get(ref, "key")) ?: ""))
				: NULL;
			size_t len = 0;

			if (plain && !b64) {
				snprintf(val, sizeof(val), "%s", plain);
				len = strlen(val);
			} else if (!b64 || sodium_base642bin((unsigned char *)val, sizeof(val) - 1,
							     b64, strlen(b64), NULL, &len, NULL,
							     sodium_base64_VARIANT_ORIGINAL) < 0) {
				snprintf(tail, n, "Error: couldn't find key %s in Secret %s/%s",
					 json_string_value(json_object_get(ref, "key")) ?: "",
					 x->ns,
					 json_string_value(json_object_get(ref, "name")) ?: "");
				goto out;
			}
			val[len] = 0;
		} else {
			snprintf(val, sizeof(val), "%s",
				 json_string_value(json_object_get(e, "value")) ?: "");
		}
		if (snprintf(buf, sizeof(buf), "%s=%s", name, val) >= (int)sizeof(buf)) {
			snprintf(tail, n, "kubesim: env %.64s is too long", name);
			goto out;
		}
		json_array_append_new(env, json_string(buf));
	}
	if (!mkdtemp(dir)) {
		snprintf(tail, n, "kubesim: mkdtemp: %s", strerror(errno));
		goto out;
	}
	snprintf(path, sizeof(path), "%s/argv", dir);
	if (write_nul(path, argv) < 0)
		goto out;
	snprintf(path, sizeof(path), "%s/env", dir);
	if (write_nul(path, env) < 0)
		goto out;
	snprintf(path, sizeof(path), "%s/log", dir);
	pid = fork();
	if (pid == 0) {
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execl(ks_opt.job_runner, ks_opt.job_runner, dir, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		goto out;
	rc = !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* the output's last lines, as the kubelet keeps them for the termination message */
	if ((f = fopen(path, "rb"))) {
		size_t got;

		fseek(f, 0, SEEK_END);
		if (ftell(f) > (long)n - 1)
			fseek(f, -(long)(n - 1), SEEK_END);
		else
			rewind(f);
		got = fread(tail, 1, n - 1, f);
		tail[got] = 0;
		while (got && tail[got - 1] == '\n')
			tail[--got] = 0;
		fclose(f);
	}
	if (!ks_opt.quiet)
		fprintf(stderr, "kubesim: backup pod %s/%s ran: exit %d\n", x->ns, x->name,
			WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	if (nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
		fprintf(stderr, "kubesim: cannot remove %s: %s\n", dir, strerror(errno));
out:
	json_decref(argv);
	json_decref(env);
	return rc;
}

static int pod_step(struct ks_obj *x, int64_t now)
{
	json_t *old = json_object_get(x->o, "status");
	const json_t *oldc = json_object_get(old, "conditions");
	const char *phase = json_string_value(json_object_get(old, "phase"));
	int64_t age = now - x->born_ms;
	json_t *o = json_deep_copy(x->o), *st;
	int keep = 1;
	const char *ev_reason = NULL;
	char ev_msg[400] = "";

	if (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"))) {
		json_decref(o);
		return 0;
	}
	st = json_pack("{s:s,s:s}", "phase", "Pending", "hostIP", "127.0.0.1");
	json_object_set(st, "startTime", json_object_get(old, "startTime") ?: json_null());
	if (json_is_null(json_object_get(st, "startTime"))) {
		char ts[40];

		ks_timestamp(ts);
		json_object_set_new(st, "startTime", json_string(ts));
	}
	if (ks_fault_active_pod(KF_IMAGE_PULL, x->ns, x->o)) {
		const char *image = json_string_value(json_object_get(
		    json_array_get(json_object_get(json_object_get(o, "spec"), "containers"), 0),
		    "image"));
		int backoff = age > ks_opt.pod_ready_ms / 2;
		char m[400];

		if (backoff)
			snprintf(m, sizeof(m), "Back-off pulling image \"%s\"", image ? image : "");
		else
			snprintf(m, sizeof(m),
				 "failed to pull and unpack image \"%s\": failed to resolve "
				 "reference: not found",
				 image ? image : "");
		container_statuses(o, st, "waiting", backoff ? "ImagePullBackOff" : "ErrImagePull",
				   m, 0, 0);
		json_object_set_new(st, "conditions", pod_conditions(1, 0, oldc));
		ev_reason = backoff ? "BackOff" : "Failed";
		snprintf(ev_msg, sizeof(ev_msg), "%s", m);
	} else if (ks_fault_active_pod(KF_CRASH_LOOP, x->ns, x->o) &&
		   age > ks_opt.pod_ready_ms / 2) {
		char m[400];
		int restarts = (int)(age / 1000) + 1;

		snprintf(m, sizeof(m), "back-off %ds restarting failed container=%s pod=%s_%s(%s)",
			 restarts < 5 ? 10 << (restarts - 1) : 300,
			 json_string_value(json_object_get(
			     json_array_get(
				 json_object_get(json_object_get(o, "spec"), "containers"), 0),
			     "name"))
			     ?: "",
			 x->name, x->ns, uid_of(x->o));
		json_object_set_new(st, "phase", json_string("Running"));
		container_statuses(o, st, "waiting", "CrashLoopBackOff", m, restarts, 0);
		json_object_set_new(st, "conditions", pod_conditions(1, 0, oldc));
		ev_reason = "BackOff";
		snprintf(ev_msg, sizeof(ev_msg), "Back-off restarting failed container");
	} else if (pod_is_job(x) && age >= ks_opt.job_complete_ms) {
		int fail = ks_fault_active_pod(KF_JOB_FAIL, x->ns, x->o);
		char tail[1024] = "";

		if (!fail && ks_opt.job_runner && pod_is_backup(x))
			fail = run_backup_pod(x, tail, sizeof(tail));
		json_object_set_new(st, "phase", json_string(fail ? "Failed" : "Succeeded"));
		container_statuses(o, st, "terminated", fail ? "Error" : "Completed", tail, 0, 0);
		json_object_set_new(st, "conditions", pod_conditions(1, 0, oldc));
		keep = 0;
	} else if (age >= ks_opt.pod_ready_ms) {
		json_object_set_new(st, "phase", json_string("Running"));
		json_object_set_new(st, "podIP", json_string("10.244.0.10"));
		json_object_set_new(st, "podIPs", json_pack("[{s:s}]", "ip", "10.244.0.10"));
		container_statuses(o, st, "running", "", "", 0, 1);
		json_object_set_new(st, "conditions", pod_conditions(1, 1, oldc));
		keep = pod_is_job(x);
	} else {
		container_statuses(o, st, "waiting", "ContainerCreating", "", 0, 0);
		json_object_set_new(st, "conditions", pod_conditions(0, 0, oldc));
	}
	json_object_set_new(st, "qosClass", json_string("BestEffort"));
	/* container timestamps change every step; compare without them */
	{
		json_t *a = json_deep_copy(st), *b = json_deep_copy(old ? old : json_null());
		size_t i;
		json_t *c;
		int same;

		json_array_foreach(json_object_get(a, "containerStatuses"), i, c) {
			json_object_del(c, "state");
			json_object_del(c, "lastState");
		}
		json_array_foreach(json_object_get(b, "containerStatuses"), i, c) {
			json_object_del(c, "state");
			json_object_del(c, "lastState");
		}
		same =
		    json_equal(a, b) &&
		    json_equal(json_object_get(
				   json_object_get(
				       json_array_get(json_object_get(st, "containerStatuses"), 0),
				       "state"),
				   "waiting"),
			       json_object_get(
				   json_object_get(
				       json_array_get(json_object_get(old, "containerStatuses"), 0),
				       "state"),
				   "waiting")) &&
		    !!json_object_get(
			json_object_get(json_array_get(json_object_get(st, "containerStatuses"), 0),
					"state"),
			"running") ==
			!!json_object_get(
			    json_object_get(
				json_array_get(json_object_get(old, "containerStatuses"), 0),
				"state"),
			    "running");
		json_decref(a);
		json_decref(b);
		if (same) {
			json_decref(st);
			json_decref(o);
			return keep;
		}
	}
	json_object_set_new(o, "status", st);
	ks_store_update(x, o);
	if (ev_reason)
		ks_event(x->o, "Warning", ev_reason, ev_msg);
	return keep;
}

static int pod_ready(const struct ks_obj *p)
{
	json_t *c;
	size_t i;

	json_array_foreach(json_object_get(json_object_get(p->o, "status"), "conditions"), i, c)
		if (!strcmp(json_string_value(json_object_get(c, "type")) ?: "", "Ready"))
			return !strcmp(json_string_value(json_object_get(c, "status")) ?: "",
				       "True");
	return 0;
}

static json_t *owner_ref(const json_t *owner)
{
	return json_pack("[{s:s,s:s,s:s,s:s,s:b,s:b}]", "apiVersion",
			 json_string_value(json_object_get(owner, "apiVersion")) ?: "", "kind",
			 json_string_value(json_object_get(owner, "kind")) ?: "", "name",
			 json_string_value(json_object_get(md_of(owner), "name")) ?: "", "uid",
			 uid_of(owner), "controller", 1, "blockOwnerDeletion", 1);
}

/*
 * Create a pod from owner's template, through the admission a real pod
 * create gets (LimitRange defaults, ResourceQuota).  gen is the
 * generateName the controller uses ("web-5d4f8-", NULL for a StatefulSet's
 * fixed names): the API server's refusal names the pod by it.  Returns 0,
 * or -1 with the Forbidden message in why (the caller reports FailedCreate),
 * or -2 with the same message while a refused create backs off (1 s, no
 * new event).
 */
static int make_pod(struct ks_obj *owner, const json_t *tmpl, const char *name, const char *gen,
		    json_t *extra_labels, char *why, size_t whyn)
{
	const struct ks_resource *pr = R("", "pods");
	json_t *pod, *md, *spec = json_deep_copy(json_object_get(tmpl, "spec"));
	json_t *ann = json_object_get(json_object_get(tmpl, "metadata"), "annotations");
	char uid[40], ts[40];
	struct ks_obj *x;
	struct buf msg = BUF_INIT;

	if (owner->why && ks_now_ms() < owner->retry_ms) {
		snprintf(why, whyn, "%s", owner->why);
		json_decref(spec);
		json_decref(extra_labels);
		return -2;
	}
	if (!json_is_object(spec))
		spec = json_object();
	ks_uuid(uid);
	ks_timestamp(ts);
	md = json_pack("{s:s,s:s,s:s,s:s,s:o}", "name", name, "namespace", owner->ns, "uid", uid,
		       "creationTimestamp", ts, "ownerReferences", owner_ref(owner->o));
	if (gen)
		json_object_set_new(md, "generateName", json_string(gen));
	json_object_set_new(
	    md, "labels",
	    json_deep_copy(json_object_get(json_object_get(tmpl, "metadata"), "labels"))
		?: json_object());
	if (!json_is_object(json_object_get(md, "labels")))
		json_object_set_new(md, "labels", json_object());
	json_object_update(json_object_get(md, "labels"), extra_labels);
	json_decref(extra_labels);
	if (json_is_object(ann))
		json_object_set_new(md, "annotations", json_deep_copy(ann));
	if (!json_object_get(spec, "restartPolicy"))
		json_object_set_new(spec, "restartPolicy", json_string("Always"));
	pod = json_pack("{s:s,s:s,s:o,s:o}", "apiVersion", "v1", "kind", "Pod", "metadata", md,
			"spec", spec);
	ks_pod_defaults(owner->ns, pod);
	if (ks_fault_active(KF_QUOTA, owner->ns))
		buf_addf(&msg,
			 "pods \"%s\" is forbidden: exceeded quota: store-quota, requested: "
			 "pods=1, used: pods=0, limited: pods=0",
			 gen ? gen : name);
	if (msg.len || ks_quota_admit(pr, owner->ns, gen ? gen : name, pod, NULL, &msg) < 0) {
		snprintf(why, whyn, "%s", msg.s);
		free(owner->why);
		owner->why = strdup(msg.s);
		owner->retry_ms = ks_now_ms() + 1000;
		buf_release(&msg);
		json_decref(pod);
		return -1;
	}
	buf_release(&msg);
	free(owner->why);
	owner->why = NULL;
	json_object_set_new(spec, "nodeName", json_string("kubesim-node"));
	json_object_set_new(pod, "status",
			    json_pack("{s:s,s:[]}", "phase", "Pending", "conditions"));
	x = ks_store_add(pr, pod);
	ks_stats_created("Pod");
	ks_ctl_watch(x);
	return 0;
}

/* The event a workload controller records when the API server refuses its pod. */
static void failed_create(struct ks_obj *owner, const char *why)
{
	struct buf m = BUF_INIT;

	buf_addf(&m, "Error creating: %s", why);
	ks_event(owner->o, "Warning", "FailedCreate", m.s);
	buf_release(&m);
}

/* --- replica sets and deployments ------------------------------------------------------ */

static int rs_step(struct ks_obj *rs, int64_t now, int *failed, char *why, size_t whyn)
{
	json_int_t want =
	    json_integer_value(json_object_get(json_object_get(rs->o, "spec"), "replicas"));
	struct ks_obj **pods;
	size_t n = children(R("", "pods"), rs->ns, uid_of(rs->o), &pods), i, ready = 0;
	json_t *conds = json_array();
	const json_t *oldc = json_object_get(json_object_get(rs->o, "status"), "conditions");

	(void)now;
	*failed = 0;
	for (i = 0; i < n; i++)
		ready += pod_ready(pods[i]);
	while ((json_int_t)n < want) {
		char name[400], gen[400], sfx[8];
		int rc;
		const char *hash = json_string_value(
		    json_object_get(json_object_get(md_of(rs->o), "labels"), "pod-template-hash"));

		ks_suffix(sfx, 5);
		snprintf(name, sizeof(name), "%s-%s", rs->name, sfx);
		snprintf(gen, sizeof(gen), "%s-", rs->name);
		rc = make_pod(rs, json_object_get(json_object_get(rs->o, "spec"), "template"), name,
			      gen, json_pack("{s:s}", "pod-template-hash", hash ? hash : ""), why,
			      whyn);
		if (rc < 0) {
			*failed = 1;
			if (rc == -1)
				failed_create(rs, why);
			json_array_append_new(
			    conds, cond("ReplicaFailure", "True", "FailedCreate", why, oldc, 0));
			break;
		}
		n++;
	}
	if ((json_int_t)n > want) {
		struct ks_obj **again;
		size_t m = children(R("", "pods"), rs->ns, uid_of(rs->o), &again), k;

		for (k = (size_t)want; k < m; k++)
			ks_store_del(again[k]);
		free(again);
		n = (size_t)want;
		ready = ready > n ? n : ready;
	}
	free(pods);
	set_status(rs, json_pack("{s:I,s:I,s:I,s:I,s:I,s:o}", "replicas", (json_int_t)n,
				 "fullyLabeledReplicas", (json_int_t)n, "readyReplicas",
				 (json_int_t)ready, "availableReplicas", (json_int_t)ready,
				 "observedGeneration",
				 json_integer_value(json_object_get(md_of(rs->o), "generation")),
				 "conditions", conds));
	return (json_int_t)ready != want || *failed;
}

static int deploy_step(struct ks_obj *d, int64_t now)
{
	json_t *spec = json_object_get(d->o, "spec"), *tmpl = json_object_get(spec, "template");
	json_int_t want = json_integer_value(json_object_get(spec, "replicas"));
	json_int_t gen = json_integer_value(json_object_get(md_of(d->o), "generation"));
	json_t *old = json_object_get(d->o, "status");
	const json_t *oldc = json_object_get(old, "conditions");
	json_int_t obs = json_integer_value(json_object_get(old, "observedGeneration"));
	char hash[16], rsname[400], why[1200] = "", m[600];
	struct ks_obj *rs, **rss;
	size_t n, i;
	int failed = 0, unsettled;
	json_t *st, *conds;
	json_int_t total = 0, ready = 0, updated = 0;

	if (gen > obs && now - d->gen_ms < ks_opt.observed_lag_ms)
		return 1;
	template_hash(tmpl, hash);
	snprintf(rsname, sizeof(rsname), "%s-%s", d->name, hash);
	rs = ks_store_get(R("apps", "replicasets"), d->ns, rsname);
	if (!rs) {
		json_t *rtmpl = json_deep_copy(tmpl), *o;
		char uid[40], ts[40];

		json_object_set_new(ensure_obj(ensure_obj(rtmpl, "metadata"), "labels"),
				    "pod-template-hash", json_string(hash));
		ks_uuid(uid);
		ks_timestamp(ts);
		o = json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:s,s:i,s:o,s:O},s:{s:I,s:o,s:o},s:{}}",
			      "apiVersion", "apps/v1", "kind", "ReplicaSet", "metadata", "name",
			      rsname, "namespace", d->ns, "uid", uid, "creationTimestamp", ts,
			      "generation", 1, "ownerReferences", owner_ref(d->o), "labels",
			      json_object_get(json_object_get(rtmpl, "metadata"), "labels"), "spec",
			      "replicas", want, "selector",
			      json_pack("{s:o}", "matchLabels",
					json_deep_copy(json_object_get(
					    json_object_get(rtmpl, "metadata"), "labels"))),
			      "template", rtmpl, "status");
		rs = ks_store_add(R("apps", "replicasets"), o);
		ks_stats_created("ReplicaSet");
		snprintf(m, sizeof(m), "Scaled up replica set %s from 0 to %lld", rsname,
			 (long long)want);
		ks_event(d->o, "Normal", "ScalingReplicaSet", m);
	} else if (json_integer_value(
		       json_object_get(json_object_get(rs->o, "spec"), "replicas")) != want) {
		json_t *o = json_deep_copy(rs->o);

		json_object_set_new(json_object_get(o, "spec"), "replicas", json_integer(want));
		ks_store_update(rs, o);
	}
	/* old replica sets scale to zero */
	n = children(R("apps", "replicasets"), d->ns, uid_of(d->o), &rss);
	for (i = 0; i < n; i++) {
		struct ks_obj **pods;
		size_t np, k;

		if (rss[i] == rs)
			continue;
		np = children(R("", "pods"), d->ns, uid_of(rss[i]->o), &pods);
		for (k = 0; k < np; k++)
			ks_store_del(pods[k]);
		free(pods);
		if (json_integer_value(
			json_object_get(json_object_get(rss[i]->o, "spec"), "replicas"))) {
			json_t *o = json_deep_copy(rss[i]->o);

			json_object_set_new(json_object_get(o, "spec"), "replicas",
					    json_integer(0));
			ks_store_update(rss[i], o);
			set_status(rss[i],
				   json_pack("{s:i,s:i}", "replicas", 0, "observedGeneration", 1));
		}
	}
	free(rss);
	unsettled = rs_step(rs, now, &failed, why, sizeof(why));
	ready =
	    json_integer_value(json_object_get(json_object_get(rs->o, "status"), "readyReplicas"));
	total = updated =
	    json_integer_value(json_object_get(json_object_get(rs->o, "status"), "replicas"));
	st = json_pack("{s:I,s:I,s:I,s:I,s:I}", "observedGeneration", gen, "replicas", total,
		       "updatedReplicas", updated, "readyReplicas", ready, "availableReplicas",
		       ready);
	if (want - ready > 0)
		json_object_set_new(st, "unavailableReplicas", json_integer(want - ready));
	conds = json_array();
	json_array_append_new(
	    conds, ready >= want ? cond("Available", "True", "MinimumReplicasAvailable",
					"Deployment has minimum availability.", oldc, 1)
				 : cond("Available", "False", "MinimumReplicasUnavailable",
					"Deployment does not have minimum availability.", oldc, 1));
	{
		json_int_t pds =
		    json_integer_value(json_object_get(spec, "progressDeadlineSeconds"));

		if (ready >= want) {
			snprintf(m, sizeof(m), "ReplicaSet \"%s\" has successfully progressed.",
				 rsname);
			json_array_append_new(conds, cond("Progressing", "True",
							  "NewReplicaSetAvailable", m, oldc, 1));
		} else if (pds > 0 && now - d->gen_ms > pds * 1000) {
			snprintf(m, sizeof(m), "ReplicaSet \"%s\" has timed out progressing.",
				 rsname);
			json_array_append_new(conds, cond("Progressing", "False",
							  "ProgressDeadlineExceeded", m, oldc, 1));
		} else {
			snprintf(m, sizeof(m), "ReplicaSet \"%s\" is progressing.", rsname);
			json_array_append_new(
			    conds, cond("Progressing", "True", "ReplicaSetUpdated", m, oldc, 1));
		}
	}
	if (failed)
		json_array_append_new(conds,
				      cond("ReplicaFailure", "True", "FailedCreate", why, oldc, 1));
	json_object_set_new(st, "conditions", conds);
	set_status(d, st);
	return unsettled || gen > json_integer_value(json_object_get(
				      json_object_get(d->o, "status"), "observedGeneration"));
}

/* --- statefulsets ------------------------------------------------------------------------- */

static int sts_step(struct ks_obj *s, int64_t now)
{
	json_t *spec = json_object_get(s->o, "spec"), *tmpl = json_object_get(spec, "template");
	json_int_t want = json_integer_value(json_object_get(spec, "replicas"));
	json_int_t gen = json_integer_value(json_object_get(md_of(s->o), "generation"));
	json_int_t obs = json_integer_value(
	    json_object_get(json_object_get(s->o, "status"), "observedGeneration"));
	char hash[16], rev[400], why[1200];
	json_int_t i, ready = 0, have = 0;
	json_t *vct, *t;
	size_t k;

	if (gen > obs && now - s->gen_ms < ks_opt.observed_lag_ms)
		return 1;
	template_hash(tmpl, hash);
	snprintf(rev, sizeof(rev), "%s-%s", s->name, hash);
	vct = json_object_get(spec, "volumeClaimTemplates");
	for (i = 0; i < want; i++) {
		char pname[400];
		struct ks_obj *p;

		snprintf(pname, sizeof(pname), "%s-%lld", s->name, (long long)i);
		p = ks_store_get(R("", "pods"), s->ns, pname);
		if (!p) {
			int claims_ok = !(s->why && now < s->retry_ms);

			json_array_foreach(vct, k, t) {
				char cname[600];
				const char *tn =
				    json_string_value(json_object_get(md_of(t), "name"));
				const struct ks_resource *pvc = R("", "persistentvolumeclaims");

				if (!claims_ok)
					break;
				snprintf(cname, sizeof(cname), "%s-%s", tn ? tn : "data", pname);
				if (!ks_store_get(pvc, s->ns, cname)) {
					json_t *o = json_deep_copy(t);
					struct ks_obj *x;
					char uid[40], ts[40];
					struct buf msg = BUF_INIT, m = BUF_INIT;

					ks_uuid(uid);
					ks_timestamp(ts);
					json_object_set_new(o, "apiVersion", json_string("v1"));
					json_object_set_new(o, "kind",
							    json_string("PersistentVolumeClaim"));
					json_object_set_new(ensure_obj(o, "metadata"), "name",
							    json_string(cname));
					json_object_set_new(md_of(o), "namespace",
							    json_string(s->ns));
					ks_pvc_default_class(o);
					if (ks_quota_admit(pvc, s->ns, cname, o, NULL, &msg) < 0) {
						/* recordClaimEvent in stateful_pod_control.go */
						buf_addf(&m,
							 "create Claim %s Pod %s in StatefulSet %s "
							 "failed error: %s",
							 cname, pname, s->name, msg.s);
						ks_event(s->o, "Warning", "FailedCreate", m.s);
						buf_release(&m);
						free(s->why);
						s->why = strdup(msg.s);
						s->retry_ms = now + 1000;
						buf_release(&msg);
						json_decref(o);
						claims_ok = 0;
						break;
					}
					buf_release(&msg);
					json_object_set_new(md_of(o), "uid", json_string(uid));
					json_object_set_new(md_of(o), "creationTimestamp",
							    json_string(ts));
					json_object_set_new(o, "status",
							    json_pack("{s:s}", "phase", "Pending"));
					x = ks_store_add(pvc, o);
					ks_stats_created("PersistentVolumeClaim");
					ks_ctl_watch(x);
				}
			}
			/* each claim template is a volume of the pod (stateful_set_utils.go
			 * updateStorage) */
			json_t *ptmpl = json_deep_copy(tmpl), *pvols;

			if (!json_is_object(ptmpl))
				ptmpl = json_object();
			pvols = json_object_get(ensure_obj(ptmpl, "spec"), "volumes");
			if (!json_is_array(pvols)) {
				pvols = json_array();
				json_object_set_new(json_object_get(ptmpl, "spec"), "volumes",
						    pvols);
			}
			json_array_foreach(vct, k, t) {
				const char *tn =
				    json_string_value(json_object_get(md_of(t), "name"));
				char cname[600];
				size_t vi;
				json_t *vol;

				snprintf(cname, sizeof(cname), "%s-%s", tn ? tn : "data", pname);
				json_array_foreach(pvols, vi, vol) {
					if (!strcmp(json_string_value(json_object_get(vol, "name"))
							?: "",
						    tn ? tn : "data")) {
						json_array_remove(pvols, vi);
						break;
					}
				}
				json_array_append_new(
				    pvols, json_pack("{s:s,s:{s:s}}", "name", tn ? tn : "data",
						     "persistentVolumeClaim", "claimName", cname));
			}
			if (claims_ok && make_pod(s, ptmpl, pname, NULL,
						  json_pack("{s:s,s:s,s:s}",
							    "statefulset.kubernetes.io/pod-name",
							    pname, "controller-revision-hash", rev,
							    "apps.kubernetes.io/pod-index", ""),
						  why, sizeof(why)) == -1) {
				struct buf m = BUF_INIT;

				/* recordPodEvent in stateful_pod_control.go */
				buf_addf(&m, "create Pod %s in StatefulSet %s failed error: %s",
					 pname, s->name, why);
				ks_event(s->o, "Warning", "FailedCreate", m.s);
				buf_release(&m);
			}
			json_decref(ptmpl);
			p = ks_store_get(R("", "pods"), s->ns, pname);
			if (p) {
				json_t *o = json_deep_copy(p->o);
				char idx[24];

				snprintf(idx, sizeof(idx), "%lld", (long long)i);
				json_object_set_new(json_object_get(md_of(o), "labels"),
						    "apps.kubernetes.io/pod-index",
						    json_string(idx));
				ks_store_update(p, o);
				have++;
			}
			break; /* OrderedReady: one at a time */
		}
		have++;
		if (!pod_ready(p))
			break;
		ready++;
	}
	for (i = want;; i++) {
		char pname[400];
		struct ks_obj *p;

		snprintf(pname, sizeof(pname), "%s-%lld", s->name, (long long)i);
		p = ks_store_get(R("", "pods"), s->ns, pname);
		if (!p)
			break;
		ks_store_del(p);
	}
	{
		struct ks_obj **pods;
		size_t np = children(R("", "pods"), s->ns, uid_of(s->o), &pods);

		free(pods);
		have = (json_int_t)np;
	}
	set_status(s,
		   json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:s,s:s,s:i}", "observedGeneration", gen,
			     "replicas", have, "readyReplicas", ready, "currentReplicas", have,
			     "updatedReplicas", have, "availableReplicas", ready, "currentRevision",
			     rev, "updateRevision", rev, "collisionCount", 0));
	return ready < want;
}

/* --- jobs ------------------------------------------------------------------------------------ */

static int job_step(struct ks_obj *j, int64_t now)
{
	json_t *old = json_object_get(j->o, "status"), *st;
	const json_t *oldc = json_object_get(old, "conditions");
	struct ks_obj **pods;
	size_t n, i;
	int succeeded = 0, failed = 0, active = 0, ready = 0;
	char ts[40], why[1200];

	(void)now;
	if (json_array_size(oldc) >= 2)
		return 0; /* finished */
	n = children(R("", "pods"), j->ns, uid_of(j->o), &pods);
	for (i = 0; i < n; i++) {
		const char *ph = json_string_value(
		    json_object_get(json_object_get(pods[i]->o, "status"), "phase"));

		if (ph && !strcmp(ph, "Succeeded"))
			succeeded++;
		else if (ph && !strcmp(ph, "Failed"))
			failed++;
		else {
			active++;
			ready += pod_ready(pods[i]);
		}
	}
	free(pods);
	if (!n) {
		char name[400], gen[400], sfx[8];

		ks_suffix(sfx, 5);
		snprintf(name, sizeof(name), "%s-%s", j->name, sfx);
		snprintf(gen, sizeof(gen), "%s-", j->name);
		int rc = make_pod(j, json_object_get(json_object_get(j->o, "spec"), "template"),
				  name, gen, json_pack("{s:s}", "controller-uid", uid_of(j->o)),
				  why, sizeof(why));

		if (rc == 0)
			active = 1;
		else if (rc == -1)
			failed_create(j, why); /* the Job has no condition for it: only the event */
	}
	ks_timestamp(ts);
	st = json_pack("{s:i,s:i}", "active", active, "ready", ready);
	json_object_set_new(st, "startTime",
			    json_object_get(old, "startTime")
				? json_incref(json_object_get(old, "startTime"))
				: json_string(ts));
	if (json_is_string(json_object_get(st, "startTime")) && !json_object_get(old, "startTime"))
		json_object_set_new(st, "startTime", json_string(ts));
	if (succeeded) {
		json_object_set_new(st, "succeeded", json_integer(succeeded));
		json_object_set_new(st, "completionTime", json_string(ts));
		json_object_set_new(
		    st, "conditions",
		    json_pack("[o,o]",
			      cond("SuccessCriteriaMet", "True", "CompletionsReached",
				   "Reached expected number of succeeded pods", oldc, 0),
			      cond("Complete", "True", "CompletionsReached",
				   "Reached expected number of succeeded pods", oldc, 0)));
		ks_event(j->o, "Normal", "Completed", "Job completed");
	} else if (failed) {
		json_object_set_new(st, "failed", json_integer(failed));
		json_object_set_new(
		    st, "conditions",
		    json_pack("[o,o]",
			      cond("FailureTarget", "True", "BackoffLimitExceeded",
				   "Job has reached the specified backoff limit", oldc, 0),
			      cond("Failed", "True", "BackoffLimitExceeded",
				   "Job has reached the specified backoff limit", oldc, 0)));
		ks_event(j->o, "Warning", "BackoffLimitExceeded",
			 "Job has reached the specified backoff limit");
	}
	{
		/* keep startTime stable once set */
		if (json_object_get(old, "startTime"))
			json_object_set(st, "startTime", json_object_get(old, "startTime"));
	}
	set_status(j, st);
	return !(succeeded || failed);
}

/* --- pvcs, namespaces ---------------------------------------------------------------------------
 */

/* Does a running pod of the claim's namespace mount it (the kubelet that grows its file system)? */
static int pvc_mounted(const struct ks_obj *p)
{
	struct ks_obj **v;
	size_t n = ks_store_select(R("", "pods"), p->ns, NULL, &v), i, k;
	int found = 0;
	json_t *vol;

	for (i = 0; i < n && !found; i++) {
		const char *ph =
		    json_string_value(json_object_get(json_object_get(v[i]->o, "status"), "phase"));

		if (!ph || strcmp(ph, "Running"))
			continue;
		json_array_foreach(json_object_get(json_object_get(v[i]->o, "spec"), "volumes"), k,
				   vol) {
			const char *c = json_string_value(json_object_get(
			    json_object_get(vol, "persistentVolumeClaim"), "claimName"));

			if (c && !strcmp(c, p->name))
				found = 1;
		}
	}
	free(v);
	return found;
}

/*
 * A bound claim whose spec.resources.requests.storage grew past
 * status.capacity (storage.c admitted it): the resize as the external
 * resizer and the kubelet report it (KEP-1790, RecoverVolumeExpansionFailure
 * GA): at once status.allocatedResources.storage = the request,
 * allocatedResourceStatuses.storage = ControllerResizeInProgress and a
 * Resizing condition; pvc_bind_ms after the change the controller is done:
 * NodeResizePending and FileSystemResizePending ("Waiting for user to
 * (re-)start a pod to finish file system resize of volume on node."); then,
 * once a running pod mounts the claim, the kubelet grows the file system:
 * capacity = the request, the statuses and conditions gone.  1 while there
 * is more to do.
 */
static int pvc_resize_step(struct ks_obj *p, int64_t now)
{
	json_t *req = json_object_get(
	    json_object_get(json_object_get(json_object_get(p->o, "spec"), "resources"),
			    "requests"),
	    "storage");
	json_t *st = json_object_get(p->o, "status");
	json_t *cap = json_object_get(json_object_get(st, "capacity"), "storage");
	const char *rs = json_string_value(
	    json_object_get(json_object_get(st, "allocatedResourceStatuses"), "storage"));
	struct ks_qty a, b;
	json_t *o, *nst;
	char ts[40];

	if (ks_qty_of(req, &a) < 0 || ks_qty_of(cap, &b) < 0 || ks_qty_cmp(&a, &b) <= 0)
		return 0;
	o = json_deep_copy(p->o);
	nst = json_object_get(o, "status");
	ks_timestamp(ts);
	if (!rs ||
	    !json_equal(json_object_get(json_object_get(st, "allocatedResources"), "storage"),
			req)) {
		json_object_set_new(nst, "allocatedResources", json_pack("{s:O}", "storage", req));
		json_object_set_new(nst, "allocatedResourceStatuses",
				    json_pack("{s:s}", "storage", "ControllerResizeInProgress"));
		json_object_set_new(nst, "conditions",
				    json_pack("[{s:s,s:s,s:n,s:s}]", "type", "Resizing", "status",
					      "True", "lastProbeTime", "lastTransitionTime", ts));
		p->gen_ms = now;
	} else if (!strcmp(rs, "ControllerResizeInProgress")) {
		if (now - p->gen_ms < ks_opt.pvc_bind_ms) {
			json_decref(o);
			return 1;
		}
		json_object_set_new(nst, "allocatedResourceStatuses",
				    json_pack("{s:s}", "storage", "NodeResizePending"));
		json_object_set_new(
		    nst, "conditions",
		    json_pack(
			"[{s:s,s:s,s:n,s:s,s:s}]", "type", "FileSystemResizePending", "status",
			"True", "lastProbeTime", "lastTransitionTime", ts, "message",
			"Waiting for user to (re-)start a pod to finish file system resize of "
			"volume on node."));
		p->gen_ms = now;
	} else if (now - p->gen_ms >= ks_opt.pvc_bind_ms && pvc_mounted(p)) {
		json_object_set(json_object_get(nst, "capacity"), "storage", req);
		json_object_del(nst, "allocatedResourceStatuses");
		json_object_del(nst, "conditions");
	} else {
		json_decref(o);
		return 1;
	}
	ks_store_update(p, o);
	return 1;
}

static int pvc_step(struct ks_obj *p, int64_t now)
{
	json_t *spec = json_object_get(p->o, "spec");
	const char *phase =
	    json_string_value(json_object_get(json_object_get(p->o, "status"), "phase"));

	if (phase && !strcmp(phase, "Bound"))
		return pvc_resize_step(p, now);
	if (ks_fault_active(KF_PVC_PENDING, p->ns))
		return 1;
	if (now - p->born_ms < ks_opt.pvc_bind_ms)
		return 1;
	{
		json_t *o = json_deep_copy(p->o);
		char vol[64];
		json_t *req = json_object_get(json_object_get(spec, "resources"), "requests");

		snprintf(vol, sizeof(vol), "pvc-%s", uid_of(p->o));
		json_object_set_new(ensure_obj(o, "spec"), "volumeName", json_string(vol));
		json_object_set_new(o, "status",
				    json_pack("{s:s,s:o,s:o}", "phase", "Bound", "capacity",
					      req ? json_incref(req) : json_object(), "accessModes",
					      or_array(json_object_get(spec, "accessModes"))));
		ks_store_update(p, o);
	}
	return 0;
}

void ks_ns_terminate(struct ks_obj *x)
{
	json_t *o;
	char ts[40];

	if (json_object_get(md_of(x->o), "deletionTimestamp"))
		return;
	o = json_deep_copy(x->o);
	ks_timestamp(ts);
	json_object_set_new(md_of(o), "deletionTimestamp", json_string(ts));
	json_object_set_new(md_of(o), "deletionGracePeriodSeconds", json_integer(0));
	json_object_set_new(ensure_obj(o, "status"), "phase", json_string("Terminating"));
	ks_store_update(x, o);
	x->phase_ms = ks_now_ms();
	ks_ctl_watch(x);
}

static int ns_step(struct ks_obj *x, int64_t now)
{
	struct ks_obj **v;
	size_t n, i;

	int finalized =
	    !json_array_size(json_object_get(json_object_get(x->o, "spec"), "finalizers"));

	/* finalizers emptied through /finalize: the namespace goes at once */
	if (!finalized && now - x->phase_ms < ks_opt.ns_delete_ms)
		return 1;
	if (!finalized && ks_fault_active(KF_NS_STUCK, x->name)) {
		json_t *st = json_pack("{s:s}", "phase", "Terminating");
		const json_t *oldc = json_object_get(json_object_get(x->o, "status"), "conditions");

		json_object_set_new(
		    st, "conditions",
		    json_pack(
			"[o,o,o,o,o]",
			cond("NamespaceDeletionDiscoveryFailure", "False", "ResourcesDiscovered",
			     "All resources successfully discovered", oldc, 2),
			cond("NamespaceDeletionGroupVersionParsingFailure", "False",
			     "ParsedGroupVersions", "All legacy kube types successfully parsed",
			     oldc, 2),
			cond("NamespaceDeletionContentFailure", "False", "ContentDeleted",
			     "All content successfully deleted, may be waiting on finalization",
			     oldc, 2),
			cond("NamespaceContentRemaining", "True", "SomeResourcesRemain",
			     "Some resources are remaining: persistentvolumeclaims. has 1 resource "
			     "instances",
			     oldc, 2),
			cond("NamespaceFinalizersRemaining", "True", "SomeFinalizersRemain",
			     "Some content in the namespace has finalizers remaining: "
			     "kubernetes.io/pvc-protection in 1 resource instances",
			     oldc, 2)));
		set_status(x, st);
		return 1;
	}
	n = ks_store_select(NULL, x->name, NULL, &v);
	for (i = 0; i < n; i++)
		if (v[i]->res->namespaced)
			ks_store_del(v[i]);
	free(v);
	ks_store_del(x);
	return -1; /* gone */
}

/* --- delete with dependents ------------------------------------------------------------------ */

void ks_delete_cascade(struct ks_obj *x)
{
	struct ks_obj **v, **todo;
	size_t n, i, j, k, ntodo = 1;
	char ns[256];
	json_t *owner =
	    json_incref(json_array_get(json_object_get(md_of(x->o), "ownerReferences"), 0));

	/* collect the whole dependent tree first: deleting while walking would free what we walk */
	snprintf(ns, sizeof(ns), "%s", x->ns);
	n = x->res->namespaced ? ks_store_select(NULL, x->ns, NULL, &v) : 0;
	if (!x->res->namespaced)
		v = NULL;
	todo = malloc((n + 1) * sizeof(*todo));
	if (!todo)
		die_oom();
	todo[0] = x;
	for (i = 0; i < ntodo; i++) {
		const char *uid = uid_of(todo[i]->o);

		for (j = 0; *uid && j < n; j++) {
			if (!v[j] || !owned_by(v[j], uid))
				continue;
			for (k = 0; k < ntodo; k++)
				if (todo[k] == v[j])
					break;
			if (k == ntodo)
				todo[ntodo++] = v[j];
			v[j] = NULL;
		}
	}
	free(v);
	for (i = ntodo; i-- > 1;)
		ks_store_del(todo[i]);
	free(todo);
	ks_store_del(x);
	if (owner) {
		/* a controller replaces what it owned */
		const struct ks_resource *r =
		    ks_resource_by_kind(json_string_value(json_object_get(owner, "kind")));
		struct ks_obj *o =
		    r ? ks_store_get(r, ns, json_string_value(json_object_get(owner, "name")) ?: "")
		      : NULL;

		if (o)
			ks_ctl_watch(o);
		if (o && !strcmp(o->res->plural, "replicasets")) {
			json_t *o2 =
			    json_array_get(json_object_get(md_of(o->o), "ownerReferences"), 0);
			struct ks_obj *d =
			    ks_store_get(R("apps", "deployments"), ns,
					 json_string_value(json_object_get(o2, "name")) ?: "");

			if (d)
				ks_ctl_watch(d);
		}
		json_decref(owner);
	}
}

/* --- ingress readiness ------------------------------------------------------------------------ */

static int workloads_ready(const char *ns)
{
	struct ks_obj **v;
	size_t n, i;
	int ok = 1;

	n = ks_store_select(R("apps", "deployments"), ns, NULL, &v);
	for (i = 0; i < n && ok; i++) {
		json_t *st = json_object_get(v[i]->o, "status");
		json_int_t want = json_integer_value(
		    json_object_get(json_object_get(v[i]->o, "spec"), "replicas"));

		if (json_integer_value(json_object_get(st, "observedGeneration")) <
			json_integer_value(json_object_get(md_of(v[i]->o), "generation")) ||
		    json_integer_value(json_object_get(st, "availableReplicas")) < want)
			ok = 0;
	}
	free(v);
	n = ks_store_select(R("apps", "statefulsets"), ns, NULL, &v);
	for (i = 0; i < n && ok; i++) {
		json_t *st = json_object_get(v[i]->o, "status");
		json_int_t want = json_integer_value(
		    json_object_get(json_object_get(v[i]->o, "spec"), "replicas"));

		if (json_integer_value(json_object_get(st, "readyReplicas")) < want)
			ok = 0;
	}
	free(v);
	n = ks_store_select(ks_resource_find("batch", "v1", "jobs"), ns, NULL, &v);
	for (i = 0; i < n && ok; i++) {
		json_t *c;
		size_t k;
		int done = 0;

		json_array_foreach(
		    json_object_get(json_object_get(v[i]->o, "status"), "conditions"), k, c)
			if (!strcmp(json_string_value(json_object_get(c, "type")) ?: "",
				    "Complete") &&
			    !strcmp(json_string_value(json_object_get(c, "status")) ?: "", "True"))
				done = 1;
		if (!done)
			ok = 0;
	}
	free(v);
	return ok;
}

/*
 * Does a Deployment or StatefulSet of ns ask for a replica?  0 when every
 * one asks for none (a store scaled to zero: its Service has no endpoint);
 * 1 too when ns has no workload at all (nothing to say).
 */
static int any_replica(const char *ns)
{
	static const char *const kinds[] = {"deployments", "statefulsets"};
	int any = 0, seen = 0;

	for (size_t k = 0; k < 2 && !any; k++) {
		struct ks_obj **v;
		size_t n = ks_store_select(R("apps", kinds[k]), ns, NULL, &v);

		seen += n > 0;
		for (size_t i = 0; i < n && !any; i++) {
			json_t *rep = json_object_get(json_object_get(v[i]->o, "spec"), "replicas");

			if (!rep || json_integer_value(rep) > 0)
				any = 1;
		}
		free(v);
	}
	return any || !seen;
}

/* The Service the first path of rule sends to, if it is an ExternalName: 1 with ext, port. */
static int external_backend(const char *ns, const json_t *rule, char *ext, size_t next, int *port)
{
	const json_t *path =
	    json_array_get(json_object_get(json_object_get(rule, "http"), "paths"), 0);
	const json_t *svc = json_object_get(json_object_get(path, "backend"), "service");
	const char *name = json_string_value(json_object_get(svc, "name"));
	const char *type, *en;
	struct ks_obj *x;
	const json_t *p;
	size_t i;

	if (!name || !(x = ks_store_get(R("", "services"), ns, name)))
		return 0;
	type = json_string_value(json_object_get(json_object_get(x->o, "spec"), "type"));
	en = json_string_value(json_object_get(json_object_get(x->o, "spec"), "externalName"));
	if (!type || strcmp(type, "ExternalName") || !en)
		return 0;
	snprintf(ext, next, "%s", en);
	*port = 80;
	json_array_foreach(json_object_get(json_object_get(x->o, "spec"), "ports"), i, p)
		if (i == 0)
			*port = (int)json_integer_value(json_object_get(p, "port"));
	return 1;
}

int ks_ingress_ready(const char *host, char *ns_out, size_t nout, char *ext_out, size_t next,
		     int *ext_port)
{
	struct ks_obj **v;
	size_t n = ks_store_select(ks_resource_find("networking.k8s.io", "v1", "ingresses"), NULL,
				   NULL, &v),
	       i, k;
	int rc = -1;

	for (i = 0; i < n && rc < 0; i++) {
		json_t *rule;

		json_array_foreach(json_object_get(json_object_get(v[i]->o, "spec"), "rules"), k,
				   rule) {
			const char *h = json_string_value(json_object_get(rule, "host"));

			if (h && !strcasecmp(h, host)) {
				snprintf(ns_out, nout, "%s", v[i]->ns);
				if (external_backend(v[i]->ns, rule, ext_out, next, ext_port))
					rc = 2;
				else
					rc = workloads_ready(v[i]->ns) && any_replica(v[i]->ns);
				break;
			}
		}
	}
	free(v);
	return rc;
}

/* --- the loop -----------------------------------------------------------------------------------
 */

static void tick(void)
{
	int64_t now = ks_now_ms();
	size_t i;

	snapshot_n = wl_n;
	snapshot = malloc((wl_n + 1) * sizeof(*snapshot));
	if (!snapshot)
		die_oom();
	if (wl_n)
		memcpy(snapshot, wl, wl_n * sizeof(*wl));
	for (i = 0; i < snapshot_n; i++) {
		struct ks_obj *x = snapshot[i];
		const char *p;
		int keep = 0;

		if (!x)
			continue;
		p = x->res->plural;
		if (!strcmp(p, "deployments"))
			keep = deploy_step(x, now);
		else if (!strcmp(p, "statefulsets"))
			keep = sts_step(x, now);
		else if (!strcmp(p, "jobs"))
			keep = job_step(x, now);
		else if (!strcmp(p, "pods"))
			keep = pod_step(x, now);
		else if (!strcmp(p, "persistentvolumeclaims"))
			keep = pvc_step(x, now);
		else if (!strcmp(p, "namespaces"))
			keep = ns_step(x, now);
		else if (!strcmp(p, "certificates"))
			keep = ks_cert_step(x, now);
		else if (!strcmp(p, "issuers") || !strcmp(p, "clusterissuers"))
			keep = ks_issuer_step(x, now);
		else if (!strcmp(p, "replicasets")) {
			/* owned sets are driven by their deployment */
			keep = 0;
		}
		if (keep == 0 && snapshot[i])
			ks_ctl_forget(x);
	}
	free(snapshot);
	snapshot = NULL;
	snapshot_n = 0;
	ks_quota_sync();
}

static void *loop(void *arg)
{
	(void)arg;
	while (!stopping) {
		struct timespec ts = {0, 50 * 1000 * 1000};

		nanosleep(&ts, NULL);
		pthread_mutex_lock(&ks_lock);
		tick();
		pthread_mutex_unlock(&ks_lock);
	}
	return NULL;
}

int ks_ctl_start(void)
{
	if (pthread_create(&thread, NULL, loop, NULL))
		return -1;
	started = 1;
	return 0;
}

void ks_ctl_stop(void)
{
	if (!started)
		return;
	stopping = 1;
	pthread_join(thread, NULL);
	started = 0;
}
