/* readiness.c - the rules of docs/readiness.md as one pure function. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "readiness.h"

/*
 * Order matters: failures are looked for first, anywhere in the store, so a
 * crash-looping app is reported even while the database is still starting;
 * then progress is judged in the order the steps run (database, app,
 * setup), so "waiting for ..." names the earliest thing not done yet.
 */

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static long long num(const json_t *o, const char *key, long long def)
{
	const json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? json_integer_value(v) : def;
}

static const json_t *meta(const json_t *o)
{
	return json_object_get(o, "metadata");
}

static const char *name_of(const json_t *o)
{
	return str(meta(o), "name");
}

static const json_t *find_named(const json_t *list, const char *name)
{
	size_t i;
	const json_t *it;

	json_array_foreach(list, i, it)
		if (!strcmp(name_of(it), name))
			return it;
	return NULL;
}

/* The condition of the given type in status.conditions, or NULL. */
static const json_t *condition(const json_t *o, const char *type)
{
	const json_t *conds = json_object_get(json_object_get(o, "status"), "conditions");
	const json_t *c;
	size_t i;

	json_array_foreach(conds, i, c)
		if (!strcmp(str(c, "type"), type))
			return c;
	return NULL;
}

static int condition_is(const json_t *o, const char *type, const char *status)
{
	const json_t *c = condition(o, type);

	return c && !strcmp(str(c, "status"), status);
}

long long readiness_parse_time(const char *s)
{
	struct tm tm;
	int n = 0, oh = 0, om = 0;
	long long t;
	const char *p;

	if (!s)
		return -1;
	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 || n != 19)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = (long long)timegm(&tm);
	p = s + n;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	if (*p == 'Z' && !p[1])
		return t;
	if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d", &oh, &om) == 2 && !p[6])
		return *p == '+' ? t - (oh * 3600 + om * 60) : t + (oh * 3600 + om * 60);
	return -1;
}

static long long age(const struct observed *o, const json_t *obj)
{
	long long t = readiness_parse_time(str(meta(obj), "creationTimestamp"));

	return t < 0 ? 0 : o->now - t;
}

/*
 * The API server's quota refusal ("pods \"x\" is forbidden: exceeded quota:
 * NAME, requested: R, used: U, limited: L", 403) said as a person would.
 * 1 and out filled when msg is one; 0 otherwise.
 */
int readiness_quota_words(const char *msg, char *out, size_t n)
{
	const char *q = strstr(msg, " is forbidden: exceeded quota: "), *obj, *name, *req, *used, *lim;

	if (!q)
		return 0;
	/* the object refused: the text after the last ": " before q (a controller's event
	 * wraps the API's message in its own words) */
	for (obj = q; obj > msg && !(obj[-1] == ' ' && obj - msg >= 2 && obj[-2] == ':'); obj--)
		;
	name = q + strlen(" is forbidden: exceeded quota: ");
	req = strstr(name, ", requested: ");
	used = req ? strstr(req, ", used: ") : NULL;
	lim = used ? strstr(used, ", limited: ") : NULL;
	if (!lim)
		return 0;
	/* "resource quota refused" is what sql/005_metrics.sql counts as reason "quota" */
	snprintf(out, n,
		 "the store's resource quota refused %.*s: it asks for %.*s, and %.*s of %.120s "
		 "is in use already (quota %.*s)",
		 (int)(q - obj) > 160 ? 160 : (int)(q - obj), obj,
		 (int)(used - req - strlen(", requested: ")) > 120
		     ? 120
		     : (int)(used - req - strlen(", requested: ")),
		 req + strlen(", requested: "),
		 (int)(lim - used - strlen(", used: ")) > 120 ? 120
							       : (int)(lim - used - strlen(", used: ")),
		 used + strlen(", used: "), lim + strlen(", limited: "),
		 (int)(req - name) > 63 ? 63 : (int)(req - name), name);
	return 1;
}

static void set(struct health_report *r, enum health h, const char *step, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void set(struct health_report *r, enum health h, const char *step, const char *fmt, ...)
{
	va_list ap;

	r->health = h;
	snprintf(r->step, sizeof(r->step), "%s", step);
	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	va_end(ap);
}

/* ---- pods ---------------------------------------------------------------- */

static int normal_waiting(const char *reason)
{
	return !strcmp(reason, "ContainerCreating") || !strcmp(reason, "PodInitializing");
}

/*
 * Hand every problem of one pod to visit(p, ctx), in the order of
 * readiness_pod_problems, until visit returns non-zero.  *p is reused
 * between calls: a visitor keeps a copy.
 */
static void pod_visit(const json_t *pod, int (*visit)(const struct pod_problem *p, void *ctx),
		      void *ctx)
{
	static const char *const lists[] = {"initContainerStatuses", "containerStatuses"};
	const json_t *st = json_object_get(pod, "status"), *sched = condition(pod, "PodScheduled");
	const json_t *cs;
	struct pod_problem p = {.pod = name_of(pod), .container = "", .image = ""};
	size_t i;

	if (!strcmp(str(st, "phase"), "Failed")) {
		p.kind = POD_FAILED;
		p.reason = str(st, "reason");
		p.message = str(st, "message");
		if (visit(&p, ctx))
			return;
	}
	if (sched && !strcmp(str(sched, "status"), "False")) {
		p.kind = POD_UNSCHEDULED;
		p.reason = str(sched, "reason");
		p.message = str(sched, "message");
		if (visit(&p, ctx))
			return;
	}
	for (size_t k = 0; k < 2; k++) {
		json_array_foreach(json_object_get(st, lists[k]), i, cs) {
			const json_t *state = json_object_get(cs, "state");
			const json_t *w = json_object_get(state, "waiting");
			const json_t *t = json_object_get(state, "terminated");

			if (*str(w, "reason") && !normal_waiting(str(w, "reason"))) {
				p.kind = POD_WAITING;
				p.reason = str(w, "reason");
				p.message = str(w, "message");
			} else if (json_is_string(json_object_get(t, "reason")) &&
				   num(t, "exitCode", 0) != 0) {
				p.kind = POD_TERMINATED;
				p.reason = str(t, "reason");
				p.message = str(t, "message");
			} else {
				continue;
			}
			p.container = str(cs, "name");
			p.image = str(cs, "image");
			p.restarts = (int)num(cs, "restartCount", 0);
			if (visit(&p, ctx))
				return;
		}
	}
}

struct pod_list {
	struct pod_problem *out;
	int max, n;
};

static int pod_list_add(const struct pod_problem *p, void *ctx)
{
	struct pod_list *l = ctx;

	if (l->n < l->max)
		l->out[l->n] = *p;
	l->n++;
	return 0;
}

int readiness_pod_problems(const json_t *pods, struct pod_problem *out, int max)
{
	struct pod_list l = {out, max, 0};
	const json_t *pod;
	size_t i;

	json_array_foreach(pods, i, pod)
		pod_visit(pod, pod_list_add, &l);
	return l.n;
}

/* A container waiting for one of these past the grace window has failed. */
static const char *const bad_waiting[] = {
	"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull",
	"CrashLoopBackOff", "CreateContainerConfigError", "CreateContainerError",
	"RunContainerError",
};

/* The problems that fail a pod: the first bad wait, else an Unschedulable pod. */
struct pod_fatal {
	struct pod_problem wait, sched;
	int has_wait, has_sched;
};

static int pod_fatal_note(const struct pod_problem *p, void *ctx)
{
	struct pod_fatal *f = ctx;

	if (p->kind == POD_UNSCHEDULED && !strcmp(p->reason, "Unschedulable")) {
		f->sched = *p;
		f->has_sched = 1;
	}
	if (p->kind != POD_WAITING)
		return 0;
	for (size_t b = 0; b < sizeof(bad_waiting) / sizeof(bad_waiting[0]); b++) {
		if (!strcmp(p->reason, bad_waiting[b])) {
			f->wait = *p;
			f->has_wait = 1;
			return 1;
		}
	}
	return 0;
}

static int pod_failure(const struct observed *o, const json_t *pod, struct health_report *r)
{
	struct pod_fatal f = {.has_wait = 0};
	const struct pod_problem *p = &f.wait;

	if (age(o, pod) < o->grace)
		return 0;
	pod_visit(pod, pod_fatal_note, &f);
	if (f.has_wait && strstr(p->reason, "Image"))
		set(r, HEALTH_FAILED, "app", "image %s could not be pulled: %s", p->image,
		    p->reason);
	else if (f.has_wait && !strcmp(p->reason, "CrashLoopBackOff"))
		set(r, HEALTH_FAILED, "app",
		    "container %s in pod %s keeps crashing (CrashLoopBackOff)", p->container,
		    p->pod);
	else if (f.has_wait)
		set(r, HEALTH_FAILED, "app", "container %s in pod %s cannot start: %s: %s",
		    p->container, p->pod, p->reason, p->message);
	else if (f.has_sched)
		set(r, HEALTH_FAILED, "app", "pod %s cannot be scheduled: %s", f.sched.pod,
		    f.sched.message);
	else
		return 0;
	return 1;
}

static int find_failure(const struct observed *o, struct health_report *r)
{
	const json_t *it, *c;
	size_t i;

	json_array_foreach(o->jobs, i, it) {
		if (!condition_is(it, "Failed", "True"))
			continue;
		/*
		 * A backup's or a restore's Job (75-backup.yaml) failing is that
		 * backup's or restore's reason (reconcile_backup.c), not the
		 * store's: a clone's refused restore Job runs while the new store
		 * is provisioning (sql/025_clones.sql).
		 */
		if (!strcmp(str(json_object_get(meta(it), "labels"), "app.kubernetes.io/component"),
			    "backup"))
			continue;
		c = condition(it, "Failed");
		set(r, HEALTH_FAILED, "setup", "setup job %s failed: %s%s%s", name_of(it),
		    str(c, "reason"), *str(c, "message") ? ": " : "", str(c, "message"));
		return 1;
	}
	json_array_foreach(o->deployments, i, it) {
		c = condition(it, "Progressing");
		if (c && !strcmp(str(c, "status"), "False") &&
		    !strcmp(str(c, "reason"), "ProgressDeadlineExceeded")) {
			set(r, HEALTH_FAILED, "app",
			    "deployment %s made no progress before its deadline "
			    "(ProgressDeadlineExceeded)", name_of(it));
			return 1;
		}
		if (condition_is(it, "ReplicaFailure", "True")) {
			c = condition(it, "ReplicaFailure");
			set(r, HEALTH_FAILED, "app", "pods for deployment %s could not be created: %s",
			    name_of(it), str(c, "message"));
			return 1;
		}
	}
	json_array_foreach(o->events, i, it) {
		if (!strcmp(str(it, "reason"), "FailedCreate") &&
		    strstr(str(it, "message"), "exceeded quota")) {
			char words[512];

			if (readiness_quota_words(str(it, "message"), words, sizeof(words)))
				set(r, HEALTH_FAILED, "app", "%s", words);
			else
				set(r, HEALTH_FAILED, "app",
				    "the store's resource quota refused a pod: %s", str(it, "message"));
			return 1;
		}
	}
	json_array_foreach(o->pods, i, it)
		if (pod_failure(o, it, r))
			return 1;
	json_array_foreach(o->pvcs, i, it) {
		const char *phase = str(json_object_get(it, "status"), "phase");

		if (!strcmp(phase, "Lost")) {
			set(r, HEALTH_FAILED, "database", "volume claim %s lost its volume (Lost)",
			    name_of(it));
			return 1;
		}
		if (strcmp(phase, "Bound") && age(o, it) >= 2LL * o->grace && o->grace > 0) {
			set(r, HEALTH_FAILED, "database",
			    "volume claim %s is still %s after %lld s (no storage could be provided)",
			    name_of(it), *phase ? phase : "Pending", age(o, it));
			return 1;
		}
	}
	return 0;
}

static int generation_current(const json_t *obj)
{
	long long gen = num(meta(obj), "generation", 0);
	long long seen = num(json_object_get(obj, "status"), "observedGeneration", 0);

	return seen >= gen && seen > 0;
}

/* kubectl rollout status for a StatefulSet. */
static const char *statefulset_waiting(const json_t *s, char *buf, size_t n)
{
	const json_t *st = json_object_get(s, "status");
	long long want = num(json_object_get(s, "spec"), "replicas", 1);
	long long ready = num(st, "readyReplicas", 0);

	if (!generation_current(s))
		return "its controller has not seen the latest change yet";
	if (ready < want) {
		snprintf(buf, n, "%lld/%lld replicas ready", ready, want);
		return buf;
	}
	if (*str(st, "updateRevision") && strcmp(str(st, "currentRevision"), str(st, "updateRevision")))
		return "an update is rolling out";
	return NULL;
}

/* kubectl rollout status for a Deployment. */
static const char *deployment_waiting(const json_t *d, char *buf, size_t n)
{
	const json_t *st = json_object_get(d, "status");
	long long want = num(json_object_get(d, "spec"), "replicas", 1);
	long long updated = num(st, "updatedReplicas", 0);
	long long avail = num(st, "availableReplicas", 0);

	if (!generation_current(d))
		return "its controller has not seen the latest change yet";
	if (updated < want) {
		snprintf(buf, n, "%lld/%lld replicas updated", updated, want);
		return buf;
	}
	if (num(st, "replicas", 0) > updated)
		return "old replicas are still terminating";
	if (avail < updated) {
		snprintf(buf, n, "%lld/%lld replicas available", avail, updated);
		return buf;
	}
	return NULL;
}

void readiness_evaluate(const struct observed *o, struct health_report *r)
{
	static const struct {
		const char *kind, *step, *label;
	} order[] = {
		{"PersistentVolumeClaim", "database", "volume claim"},
		{"StatefulSet", "database", "statefulset"},
		{"Deployment", "app", "deployment"},
		{"Job", "setup", "setup job"},
	};
	const json_t *exp, *obj;
	char buf[96];
	size_t i, k;

	memset(r, 0, sizeof(*r));
	if (!o->ns) {
		set(r, HEALTH_PROGRESSING, "namespace", "waiting for the namespace to be created");
		return;
	}
	if (json_object_get(meta(o->ns), "deletionTimestamp") ||
	    !strcmp(str(json_object_get(o->ns, "status"), "phase"), "Terminating")) {
		if (o->deleting)
			set(r, HEALTH_PROGRESSING, "namespace", "namespace %s is terminating",
			    name_of(o->ns));
		else
			set(r, HEALTH_FAILED, "namespace",
			    "namespace %s is being deleted by someone else", name_of(o->ns));
		return;
	}
	if (find_failure(o, r))
		return;

	for (k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
		const json_t *list = !strcmp(order[k].kind, "PersistentVolumeClaim") ? o->pvcs
				     : !strcmp(order[k].kind, "StatefulSet")	 ? o->statefulsets
				     : !strcmp(order[k].kind, "Deployment")	 ? o->deployments
										 : o->jobs;

		json_array_foreach(o->expected, i, exp) {
			const char *name = name_of(exp), *why = NULL;

			if (strcmp(str(exp, "kind"), order[k].kind))
				continue;
			obj = find_named(list, name);
			if (!obj) {
				set(r, HEALTH_PROGRESSING, order[k].step, "waiting for %s %s to be created",
				    order[k].label, name);
				return;
			}
			if (json_object_get(meta(obj), "deletionTimestamp")) {
				set(r, HEALTH_PROGRESSING, order[k].step,
				    "waiting for the old %s %s to be deleted", order[k].label, name);
				return;
			}
			if (!strcmp(order[k].kind, "PersistentVolumeClaim")) {
				const char *phase = str(json_object_get(obj, "status"), "phase");

				if (strcmp(phase, "Bound"))
					why = *phase ? phase : "Pending";
			} else if (!strcmp(order[k].kind, "StatefulSet")) {
				why = statefulset_waiting(obj, buf, sizeof(buf));
			} else if (!strcmp(order[k].kind, "Deployment")) {
				why = deployment_waiting(obj, buf, sizeof(buf));
			} else if (!condition_is(obj, "Complete", "True")) {
				why = "still running";
			}
			if (why) {
				set(r, HEALTH_PROGRESSING, order[k].step, "waiting for %s %s: %s",
				    order[k].label, name, why);
				return;
			}
		}
	}
	set(r, HEALTH_READY, "ingress", "every workload is ready; checking the store answers");
}
