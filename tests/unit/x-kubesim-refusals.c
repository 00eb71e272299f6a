/* x-kubesim-refusals.c - the product's Kubernetes client meets kubesim's refusals: quota (403),
 * immutable fields (422), an expired continue token (410) (t0464 runs it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "k8s.h"
#include "tap.h"

/*
 * Needs a kubesim started with --continue-ttl-ms 1000 and KUBECONFIG
 * pointing at its kubeconfig: tests/t0464-kubesim-client.sh provides it
 * and runs this program (an x-*.c "driven" test).  Every object goes
 * through k8s_apply, as reconcile sends them; each refusal must come back
 * parsed (code, reason, message, details, causes) and classified so that
 * reconcile gives up (K8S_HARD) or re-reads (K8S_REREAD).
 */

#define has(s, sub) (strstr((s), (sub)) != NULL)

static json_t *obj(const char *text)
{
	json_error_t je;
	json_t *o = json_loads(text, 0, &je);

	if (!o) {
		printf("Bail out! bad test JSON: %s\n", je.text);
		exit(1);
	}
	return o;
}

/* Apply text; returns the stored object (caller frees) or NULL with ke filled. */
static json_t *apply(struct k8s *k, const char *text, struct k8s_err *ke)
{
	json_t *o = obj(text), *r;

	memset(ke, 0, sizeof(*ke));
	r = k8s_apply(k, o, NULL, NULL, ke);
	json_decref(o);
	return r;
}

static const struct k8s_cause *cause_of(const struct k8s_status *st, const char *field)
{
	int i;

	for (i = 0; i < st->ncauses; i++)
		if (!strcmp(st->causes[i].field, field))
			return &st->causes[i];
	return NULL;
}

static void quota_tests(struct k8s *k)
{
	struct k8s_err ke;
	json_t *r;

	json_decref(apply(
	    k, "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"cq\"}}",
	    &ke));
	r = apply(k,
		  "{\"apiVersion\":\"v1\",\"kind\":\"ResourceQuota\",\"metadata\":{\"name\":"
		  "\"store-quota\","
		  "\"namespace\":\"cq\"},\"spec\":{\"hard\":{\"requests.storage\":\"10Gi\","
		  "\"pods\":\"1\","
		  "\"limits.cpu\":\"1\"}}}",
		  &ke);
	ok(r != NULL, "quota applied (%s)", ke.err.msg);
	json_decref(r);
	r = apply(
	    k,
	    "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolumeClaim\",\"metadata\":{\"name\":"
	    "\"db\","
	    "\"namespace\":\"cq\"},\"spec\":{\"accessModes\":[\"ReadWriteOnce\"],\"resources\":{"
	    "\"requests\":{\"storage\":\"8Gi\"}}}}",
	    &ke);
	ok(r != NULL, "a claim within the quota (%s)", ke.err.msg);
	json_decref(r);
	r = apply(
	    k,
	    "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolumeClaim\",\"metadata\":{\"name\":"
	    "\"files\","
	    "\"namespace\":\"cq\"},\"spec\":{\"accessModes\":[\"ReadWriteOnce\"],\"resources\":{"
	    "\"requests\":{\"storage\":\"4Gi\"}}}}",
	    &ke);
	ok(!r && ke.st.code == 403, "a claim over requests.storage: 403");
	is_str(ke.st.reason, "Forbidden", "reason Forbidden");
	is_str(ke.st.message,
	       "persistentvolumeclaims \"files\" is forbidden: exceeded quota: store-quota, "
	       "requested: "
	       "requests.storage=4Gi, used: requests.storage=8Gi, limited: requests.storage=10Gi",
	       "the API server's message");
	is_str(ke.st.kind, "persistentvolumeclaims", "details.kind");
	is_str(ke.st.name, "files", "details.name");
	is_int(ke.klass, K8S_HARD, "a quota refusal is hard (no retry)");
	is_int(ke.attempts, 1, "and was not retried");
	ok(has(ke.err.msg, "403") && has(ke.err.msg, "exceeded quota"),
	   "the client's error names the status and the reason (%s)", ke.err.msg);
	r = apply(k,
		  "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\","
		  "\"namespace\":\"cq\"},"
		  "\"spec\":{\"containers\":[{\"name\":\"app\",\"image\":\"x\"}]}}",
		  &ke);
	ok(!r && ke.st.code == 403, "a pod without limits.cpu: 403");
	is_str(
	    ke.st.message,
	    "pods \"p\" is forbidden: failed quota: store-quota: must specify limits.cpu for: app",
	    "failed quota: must specify");
}

static void immutable_tests(struct k8s *k)
{
	static const char job[] =
	    "{\"apiVersion\":\"batch/"
	    "v1\",\"kind\":\"Job\",\"metadata\":{\"name\":\"setup\",\"namespace\":"
	    "\"ci\"},\"spec\":{\"template\":{\"spec\":{\"restartPolicy\":\"Never\",\"containers\":["
	    "{"
	    "\"name\":\"s\",\"image\":\"example/setup:%d\"}]}}}}";
	static const char svc[] =
	    "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"web\","
	    "\"namespace\":"
	    "\"ci\"},\"spec\":{\"clusterIP\":\"%s\",\"ports\":[{\"port\":80}]}}";
	static const char dep[] =
	    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"app\","
	    "\"namespace\":\"ci\"},\"spec\":{\"selector\":{\"matchLabels\":{\"app\":\"%s\"}},"
	    "\"template\":"
	    "{\"metadata\":{\"labels\":{\"app\":\"%s\"}},\"spec\":{\"containers\":[{\"name\":\"a\","
	    "\"image\":\"x\"}]}}}}";
	struct k8s_err ke;
	const struct k8s_cause *c;
	char text[1024];
	json_t *r;

	json_decref(apply(
	    k, "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"ci\"}}",
	    &ke));
	snprintf(text, sizeof(text), job, 1);
	r = apply(k, text, &ke);
	ok(r != NULL, "a Job applied (%s)", ke.err.msg);
	json_decref(r);
	r = apply(k, text, &ke);
	ok(r != NULL, "the same Job again: accepted (%s)", ke.err.msg);
	json_decref(r);
	snprintf(text, sizeof(text), job, 2);
	r = apply(k, text, &ke);
	ok(!r && ke.st.code == 422, "another pod template: 422");
	is_str(ke.st.reason, "Invalid", "reason Invalid");
	is_str(ke.st.kind, "Job", "details.kind is the Kind");
	c = cause_of(&ke.st, "spec.template");
	ok(c && !strcmp(c->reason, "FieldValueInvalid") &&
	       !strncmp(c->message, "Invalid value: core.PodTemplateSpec", 35),
	   "cause spec.template FieldValueInvalid: Invalid value: core.PodTemplateSpec...");
	ok(has(ke.st.message, ": field is immutable"), "the message ends in: field is immutable");
	ok(!strncmp(ke.st.message,
		    "Job.batch \"setup\" is invalid: spec.template: Invalid value: ", 60),
	   "message: Job.batch \"setup\" is invalid: spec.template: ... (%.80s)", ke.st.message);
	is_int(ke.klass, K8S_HARD, "422 is hard: reconcile must delete and recreate the Job");

	snprintf(text, sizeof(text), svc, "10.96.77.7");
	r = apply(k, text, &ke);
	ok(r != NULL, "a Service with its cluster IP (%s)", ke.err.msg);
	json_decref(r);
	snprintf(text, sizeof(text), svc, "10.96.77.8");
	r = apply(k, text, &ke);
	ok(!r && ke.st.code == 422, "another clusterIP: 422");
	is_str(ke.st.message,
	       "Service \"web\" is invalid: spec.clusterIPs[0]: Invalid value: [\"10.96.77.8\"]: "
	       "may not "
	       "change once set",
	       "the dual-stack message on spec.clusterIPs[0]");

	snprintf(text, sizeof(text), dep, "a", "a");
	json_decref(apply(k, text, &ke));
	snprintf(text, sizeof(text), dep, "b", "b");
	r = apply(k, text, &ke);
	ok(!r && ke.st.code == 422, "another Deployment selector: 422");
	c = cause_of(&ke.st, "spec.selector");
	ok(c && !strcmp(c->message,
			"Invalid value: {\"matchLabels\":{\"app\":\"b\"}}: field is immutable"),
	   "cause spec.selector: Invalid value: {\"matchLabels\":{\"app\":\"b\"}}: field is "
	   "immutable");

	r = apply(
	    k,
	    "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolumeClaim\",\"metadata\":{\"name\":"
	    "\"d\","
	    "\"namespace\":\"ci\"},\"spec\":{\"accessModes\":[\"ReadWriteOnce\"],\"resources\":{"
	    "\"requests\":{\"storage\":\"1Gi\"}}}}",
	    &ke);
	json_decref(r);
	r = apply(
	    k,
	    "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolumeClaim\",\"metadata\":{\"name\":"
	    "\"d\","
	    "\"namespace\":\"ci\"},\"spec\":{\"accessModes\":[\"ReadWriteMany\"],\"resources\":{"
	    "\"requests\":{\"storage\":\"1Gi\"}}}}",
	    &ke);
	ok(!r && ke.st.code == 422, "a claim's access modes: 422");
	c = cause_of(&ke.st, "spec");
	/* the client flattens the message's newlines (they end up in logs) */
	ok(c && !strcmp(c->reason, "FieldValueForbidden") &&
	       has(c->message,
		   "Forbidden: spec is immutable after creation except resources.requests "
		   "and volumeAttributesClassName for bound claims @@ -1,6 +1,6 @@ "),
	   "cause spec FieldValueForbidden: spec is immutable ... (and the diff) [%s]",
	   c ? c->message : "");
}

static void continue_tests(struct k8s *k)
{
	struct k8s_err ke;
	struct k8s_list l;
	struct k8s_list_opts lo = {.path = "/api/v1/namespaces", .limit = 2};
	char path[1200];
	int code = 0;
	json_t *j;
	const char *tok;

	j = k8s_request(k, "GET", "/api/v1/namespaces?limit=2", NULL, NULL, &code, &ke);
	tok = json_string_value(json_object_get(json_object_get(j, "metadata"), "continue"));
	ok(tok && *tok, "a first page with a continue token");
	snprintf(path, sizeof(path), "/api/v1/namespaces?limit=2&continue=%s", tok ? tok : "");
	json_decref(j);
	usleep(1300 * 1000);
	memset(&ke, 0, sizeof(ke));
	j = k8s_request(k, "GET", path, NULL, NULL, &code, &ke);
	ok(!j && ke.st.code == 410, "past the TTL: 410");
	is_str(ke.st.reason, "Expired", "reason Expired");
	ok(has(ke.st.message,
	       "The provided continue parameter is too old to display a consistent "
	       "list result. You can start a new list without the continue parameter, "
	       "or use the continue token in this response"),
	   "the API server's message (%.80s)", ke.st.message);
	is_int(ke.klass, K8S_REREAD, "an expired token: re-read (list again)");

	ok(k8s_list(k, &lo, &l, &ke) == 0, "k8s_list pages through within the TTL (%s)",
	   ke.err.msg);
	is_int(l.restarts, 0, "without a restart");
	ok(json_array_size(l.items) >= 6, "every namespace (%zu)", json_array_size(l.items));
	k8s_list_release(&l);
}

int main(void)
{
	struct k8s k;
	struct k8s_opts o = {0};
	struct err e = ERR_INIT;

	o.kubeconfig = getenv("KUBECONFIG");
	if (!o.kubeconfig || k8s_init(&k, &o, &e) < 0) {
		printf("Bail out! no kubesim (KUBECONFIG): %s\n", e.msg);
		return 1;
	}
	quota_tests(&k);
	immutable_tests(&k);
	continue_tests(&k);
	k8s_release(&k);
	return done_testing();
}
