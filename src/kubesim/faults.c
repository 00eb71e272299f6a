/* faults.c - injected faults: workload failures per namespace, and transport faults per request. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kubesim.h"

/*
 * Faults live in a small fixed table under their own mutex (transport
 * faults are decided before the request takes ks_lock, and latency/stall
 * sleep with no lock held).  A fault with a count expires after that many
 * triggers; workload faults count a trigger each time a controller acts on
 * them.
 */

#define MAX_FAULTS 64

struct fault {
	int id;
	enum ks_fault_type type;
	char scope[64]; /* "*" or a namespace */
	int status;	/* http_error */
	double rate;
	int retry_after;
	int ms;
	char methods[64]; /* " GET PUT " or "" for all */
	int count;	  /* remaining triggers, -1 = unlimited */
	/* workload faults only: "" = any pod, else a substring of one of the
	 * pod's container images / a prefix of the pod's name (Job pods are
	 * <job>-<suffix>), so a test can fail one version or one Job */
	char image[128];
	char name[128];
};

static struct fault faults[MAX_FAULTS];
static int nfaults, next_id = 1;
static pthread_mutex_t flock = PTHREAD_MUTEX_INITIALIZER;

static const char *const names[KF_NTYPES] = {
    "image_pull", "crash_loop", "job_fail", "pvc_pending", "ns_stuck",
    "quota",	  "http_error", "latency",  "reset",	   "stall",
    "cert_rate_limit", "cert_challenge", "cert_dns",
};

static double rnd(void)
{
	return (double)(ks_rand() >> 11) / 9007199254740992.0;
}

int ks_fault_add(const json_t *spec, struct err *e)
{
	struct fault f;
	const char *type = json_string_value(json_object_get(spec, "type"));
	const char *scope = json_string_value(json_object_get(spec, "scope"));
	json_t *m, *v;
	size_t i;
	int t, id;

	if (!json_is_object(spec))
		return err_set(e, 400, "fault: expected a JSON object");
	memset(&f, 0, sizeof(f));
	for (t = 0; t < KF_NTYPES; t++)
		if (type && !strcmp(type, names[t]))
			break;
	if (t == KF_NTYPES)
		return err_set(e, 400, "fault: unknown type '%.40s'", type ? type : "");
	f.type = (enum ks_fault_type)t;
	snprintf(f.scope, sizeof(f.scope), "%s", scope && *scope ? scope : "*");
	f.status = (int)json_integer_value(json_object_get(spec, "status"));
	if (f.type == KF_HTTP_ERROR && f.status != 500 && f.status != 503 && f.status != 429)
		return err_set(e, 400, "fault: http_error status must be 500, 503 or 429");
	v = json_object_get(spec, "rate");
	f.rate = v ? json_number_value(v) : 1.0;
	if (f.rate < 0 || f.rate > 1)
		return err_set(e, 400, "fault: rate must be within 0..1");
	f.retry_after = (int)json_integer_value(json_object_get(spec, "retry_after"));
	f.ms = (int)json_integer_value(json_object_get(spec, "ms"));
	if (f.ms < 0 || f.ms > 600000)
		return err_set(e, 400, "fault: ms must be within 0..600000");
	m = json_object_get(spec, "methods");
	if (json_array_size(m)) {
		snprintf(f.methods, sizeof(f.methods), " ");
		json_array_foreach(m, i, v)
			if (json_is_string(v) &&
			    strlen(f.methods) + json_string_length(v) + 2 < sizeof(f.methods)) {
				strcat(f.methods, json_string_value(v));
				strcat(f.methods, " ");
			}
	}
	m = json_object_get(spec, "image");
	if (m && (!json_is_string(m) || json_string_length(m) >= sizeof(f.image)))
		return err_set(e, 400, "fault: image must be a string under %zu bytes",
			       sizeof(f.image));
	snprintf(f.image, sizeof(f.image), "%s", m ? json_string_value(m) : "");
	m = json_object_get(spec, "name");
	if (m && (!json_is_string(m) || json_string_length(m) >= sizeof(f.name)))
		return err_set(e, 400, "fault: name must be a string under %zu bytes",
			       sizeof(f.name));
	snprintf(f.name, sizeof(f.name), "%s", m ? json_string_value(m) : "");
	if ((*f.image || *f.name) && t != KF_IMAGE_PULL && t != KF_CRASH_LOOP && t != KF_JOB_FAIL)
		return err_set(e, 400,
			       "fault: image and name apply to image_pull, crash_loop "
			       "and job_fail only");
	v = json_object_get(spec, "count");
	f.count = json_is_integer(v) && json_integer_value(v) > 0 ? (int)json_integer_value(v) : -1;
	pthread_mutex_lock(&flock);
	if (nfaults == MAX_FAULTS) {
		pthread_mutex_unlock(&flock);
		return err_set(e, 400, "fault: too many faults (%d)", MAX_FAULTS);
	}
	f.id = id = next_id++;
	faults[nfaults++] = f;
	pthread_mutex_unlock(&flock);
	ks_log("fault %d added: %s scope %s%s%s%s%s", id, names[t], f.scope,
	       *f.image ? " image " : "", f.image, *f.name ? " name " : "", f.name);
	return id;
}

int ks_fault_add_str(const char *spec, struct err *e)
{
	json_error_t je;
	json_t *j = json_loads(spec, 0, &je);
	int id;

	if (!j)
		return err_set(e, 400, "fault: bad JSON: %s", je.text);
	id = ks_fault_add(j, e);
	json_decref(j);
	return id;
}

void ks_fault_clear(void)
{
	pthread_mutex_lock(&flock);
	nfaults = 0;
	pthread_mutex_unlock(&flock);
}

static void remove_at(int i)
{
	memmove(&faults[i], &faults[i + 1], (size_t)(nfaults - i - 1) * sizeof(faults[0]));
	nfaults--;
}

int ks_fault_del(int id)
{
	int i, rc = -1;

	pthread_mutex_lock(&flock);
	for (i = 0; i < nfaults; i++)
		if (faults[i].id == id) {
			remove_at(i);
			rc = 0;
			break;
		}
	pthread_mutex_unlock(&flock);
	return rc;
}

static int scope_ok(const struct fault *f, const char *ns)
{
	return !strcmp(f->scope, "*") || (ns && !strcmp(f->scope, ns));
}

/* A fault with an image or name match applies only to a pod that has it. */
static int pod_ok(const struct fault *f, const json_t *pod)
{
	const json_t *spec = json_object_get(pod, "spec"), *c;
	const char *name =
	    json_string_value(json_object_get(json_object_get(pod, "metadata"), "name"));
	size_t i;
	int hit = 0;

	if (!*f->image && !*f->name)
		return 1;
	if (!pod)
		return 0;
	if (*f->name && (!name || strncmp(name, f->name, strlen(f->name))))
		return 0;
	if (!*f->image)
		return 1;
	json_array_foreach(json_object_get(spec, "initContainers"), i, c) {
		const char *img = json_string_value(json_object_get(c, "image"));

		hit |= img && strstr(img, f->image) != NULL;
	}
	json_array_foreach(json_object_get(spec, "containers"), i, c) {
		const char *img = json_string_value(json_object_get(c, "image"));

		hit |= img && strstr(img, f->image) != NULL;
	}
	return hit;
}

int ks_fault_active(enum ks_fault_type t, const char *ns)
{
	return ks_fault_active_pod(t, ns, NULL);
}

int ks_fault_active_pod(enum ks_fault_type t, const char *ns, const json_t *pod)
{
	int i, hit = 0;

	pthread_mutex_lock(&flock);
	for (i = 0; i < nfaults; i++)
		if (faults[i].type == t && scope_ok(&faults[i], ns) && pod_ok(&faults[i], pod)) {
			hit = 1;
			if (faults[i].count > 0 && --faults[i].count == 0)
				remove_at(i);
			break;
		}
	pthread_mutex_unlock(&flock);
	return hit;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0)
		;
}

int ks_fault_request(const char *method, const char *ns, int *retry_after)
{
	int i, delay = 0, result = 0;
	char m[16];

	*retry_after = 0;
	snprintf(m, sizeof(m), " %s ", method);
	pthread_mutex_lock(&flock);
	for (i = 0; i < nfaults; i++) {
		struct fault *f = &faults[i];
		int fire;

		if (f->type < KF_HTTP_ERROR || !scope_ok(f, ns))
			continue;
		if (*f->methods && !strstr(f->methods, m))
			continue;
		fire = rnd() < f->rate;
		if (!fire)
			continue;
		switch (f->type) {
		case KF_LATENCY:
		case KF_STALL:
			delay += f->ms;
			break;
		case KF_RESET:
			if (!result)
				result = 1;
			break;
		case KF_HTTP_ERROR:
			if (!result) {
				result = f->status;
				*retry_after = f->retry_after;
			}
			break;
		default:
			break;
		}
		if (f->count > 0 && --f->count == 0)
			remove_at(i--);
	}
	pthread_mutex_unlock(&flock);
	if (delay)
		sleep_ms(delay);
	return result;
}
