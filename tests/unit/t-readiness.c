/* t-readiness.c - every rule of docs/readiness.md, on fixture objects. */
#include <string.h>

#include "err.h"
#include "readiness.h"
#include "tap.h"

#define NOW 1800000000LL	/* 2027-01-15T08:00:00Z */
#define OLD "2027-01-15T07:00:00Z"	/* an hour before NOW */
#define NEW "2027-01-15T07:59:50Z"	/* ten seconds before NOW */

static json_t *J(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, 0, &e);

	if (!j)
		BUG("fixture: %s: %s", e.text, s);
	return j;
}

static json_t *expected, *ns, *pvcs, *sts, *deps, *jobs, *pods, *events;

static void reset_fixtures(void)
{
	json_decref(pvcs);
	json_decref(sts);
	json_decref(deps);
	json_decref(jobs);
	json_decref(pods);
	json_decref(events);
	pvcs = J("[{\"metadata\":{\"name\":\"data\",\"creationTimestamp\":\"" OLD "\"},"
		 "\"status\":{\"phase\":\"Bound\"}}]");
	sts = J("[{\"metadata\":{\"name\":\"db\",\"generation\":1},\"spec\":{\"replicas\":1},"
		"\"status\":{\"observedGeneration\":1,\"readyReplicas\":1,"
		"\"currentRevision\":\"r1\",\"updateRevision\":\"r1\"}}]");
	deps = J("[{\"metadata\":{\"name\":\"web\",\"generation\":2},\"spec\":{\"replicas\":1},"
		 "\"status\":{\"observedGeneration\":2,\"replicas\":1,\"updatedReplicas\":1,"
		 "\"readyReplicas\":1,\"availableReplicas\":1,\"conditions\":["
		 "{\"type\":\"Available\",\"status\":\"True\"},"
		 "{\"type\":\"Progressing\",\"status\":\"True\",\"reason\":\"NewReplicaSetAvailable\"}]}}]");
	jobs = J("[{\"metadata\":{\"name\":\"setup\"},\"status\":{\"conditions\":["
		 "{\"type\":\"SuccessCriteriaMet\",\"status\":\"True\"},"
		 "{\"type\":\"Complete\",\"status\":\"True\"}]}}]");
	pods = J("[{\"metadata\":{\"name\":\"web-1\",\"creationTimestamp\":\"" OLD "\"},"
		 "\"status\":{\"phase\":\"Running\",\"containerStatuses\":[{\"name\":\"web\","
		 "\"image\":\"wordpress:6.9-apache\",\"ready\":true,\"state\":{\"running\":{}}}]}}]");
	events = J("[]");
}

static struct health_report judge(int deleting)
{
	struct observed o = {expected, ns, pvcs, sts, deps, jobs, pods, events, NOW, 60, deleting};
	struct health_report r;

	readiness_evaluate(&o, &r);
	return r;
}

static void set_path(json_t *list, const char *obj_json, const char *key)
{
	json_object_set_new(json_array_get(list, 0), key, J(obj_json));
}

/* The pod problems (moved here with the rules from k8s.c: the same fixture and assertions). */
static void pod_tests(void)
{
	struct pod_problem p[4];
	json_error_t je;
	json_t *podlist = json_loads(
	    "[{\"metadata\":{\"name\":\"web-1\"},\"status\":{\"phase\":\"Pending\","
	    "\"containerStatuses\":[{\"name\":\"app\",\"restartCount\":0,"
	    "\"state\":{\"waiting\":{\"reason\":\"ImagePullBackOff\","
	    "\"message\":\"Back-off pulling image \\\"x\\\"\"}}},"
	    "{\"name\":\"side\",\"state\":{\"waiting\":{\"reason\":\"ContainerCreating\"}}}]}},"
	    "{\"metadata\":{\"name\":\"db-0\"},\"status\":{\"phase\":\"Running\","
	    "\"containerStatuses\":[{\"name\":\"db\",\"restartCount\":4,"
	    "\"state\":{\"waiting\":{\"reason\":\"CrashLoopBackOff\"}}}]}},"
	    "{\"metadata\":{\"name\":\"big\"},\"status\":{\"phase\":\"Pending\","
	    "\"conditions\":[{\"type\":\"PodScheduled\",\"status\":\"False\","
	    "\"reason\":\"Unschedulable\",\"message\":\"0/1 nodes\"}]}},"
	    "{\"metadata\":{\"name\":\"ok\"},\"status\":{\"phase\":\"Running\","
	    "\"containerStatuses\":[{\"name\":\"a\",\"state\":{\"running\":{}}}]}},"
	    "{\"metadata\":{\"name\":\"oom\"},\"status\":{\"phase\":\"Running\","
	    "\"initContainerStatuses\":[{\"name\":\"init\","
	    "\"state\":{\"terminated\":{\"reason\":\"OOMKilled\",\"exitCode\":137}}}]}},"
	    "{\"metadata\":{\"name\":\"ev\"},\"status\":{\"phase\":\"Failed\","
	    "\"reason\":\"Evicted\"}}]",
	    0, &je);
	int n;

	ok(podlist != NULL, "pod fixture parses (%s)", je.text);
	n = readiness_pod_problems(podlist, p, 4);
	is_int(n, 5, "five problems found, normal startup ignored");
	is_str(p[0].reason, "ImagePullBackOff", "image pull back-off");
	is_str(p[0].pod, "web-1", "problem names the pod");
	is_str(p[0].container, "app", "problem names the container");
	is_str(p[1].reason, "CrashLoopBackOff", "crash loop");
	is_int(p[1].restarts, 4, "restart count kept");
	is_str(p[2].reason, "Unschedulable", "unschedulable pod");
	is_str(p[3].reason, "OOMKilled", "init container killed");
	json_decref(podlist);
	podlist = json_array();
	is_int(readiness_pod_problems(podlist, p, 4), 0, "no pods, no problems");
	json_decref(podlist);
}

/* The API server's quota refusal, alone and inside a controller's event, in plain words. */
static void test_quota_words(void)
{
	char out[512] = "untouched";

	is_int(readiness_quota_words(
		   "persistentvolumeclaims \"data\" is forbidden: exceeded quota: store-quota, "
		   "requested: requests.storage=25Gi, used: requests.storage=5Gi, limited: "
		   "requests.storage=20Gi",
		   out, sizeof(out)),
	       1, "a quota refusal is recognised");
	is_str(out,
	       "the store's resource quota refused persistentvolumeclaims \"data\": it asks for "
	       "requests.storage=25Gi, and requests.storage=5Gi of requests.storage=20Gi is in use "
	       "already (quota store-quota)",
	       "... and said in plain words");
	is_int(readiness_quota_words(
		   "Error creating: pods \"web-5d4f-x\" is forbidden: exceeded quota: q, requested: "
		   "limits.cpu=2,pods=1, used: limits.cpu=5,pods=3, limited: limits.cpu=6,pods=10",
		   out, sizeof(out)),
	       1, "inside a FailedCreate event");
	is_str(out,
	       "the store's resource quota refused pods \"web-5d4f-x\": it asks for "
	       "limits.cpu=2,pods=1, and limits.cpu=5,pods=3 of limits.cpu=6,pods=10 is in use "
	       "already (quota q)",
	       "... the refused object is the API's, not the event's wrapper");
	strcpy(out, "untouched");
	is_int(readiness_quota_words("pods \"x\" is forbidden: User cannot create", out,
				     sizeof(out)),
	       0, "another 403 is not a quota refusal");
	is_int(readiness_quota_words("x is forbidden: exceeded quota: q, requested: a=1", out,
				     sizeof(out)),
	       0, "a truncated refusal is not said half");
	is_str(out, "untouched", "... and out is left alone");
}

int main(void)
{
	struct health_report r;

	test_quota_words();

	expected = J("[{\"kind\":\"Namespace\",\"metadata\":{\"name\":\"store-a\"}},"
		     "{\"kind\":\"PersistentVolumeClaim\",\"metadata\":{\"name\":\"data\"}},"
		     "{\"kind\":\"StatefulSet\",\"metadata\":{\"name\":\"db\"}},"
		     "{\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\"}},"
		     "{\"kind\":\"Job\",\"metadata\":{\"name\":\"setup\"}}]");
	ns = J("{\"metadata\":{\"name\":\"store-a\"},\"status\":{\"phase\":\"Active\"}}");

	is_int(readiness_parse_time("2027-01-15T08:00:00Z"), NOW, "RFC 3339 UTC");
	is_int(readiness_parse_time("2027-01-15T09:00:00.123+01:00"), NOW, "fraction and offset");
	is_int(readiness_parse_time("2027-01-15 08:00:00"), -1, "not RFC 3339 -> -1");

	reset_fixtures();
	r = judge(0);
	is_int(r.health, HEALTH_READY, "everything healthy -> ready (probe next)");

	{
		struct observed o = {expected, NULL, pvcs, sts, deps, jobs, pods, events, NOW, 60, 0};

		readiness_evaluate(&o, &r);
		is_int(r.health, HEALTH_PROGRESSING, "no namespace yet -> progressing");
		is_str(r.step, "namespace", "... at the namespace step");
	}

	json_array_remove(deps, 0);
	r = judge(0);
	is_int(r.health, HEALTH_PROGRESSING, "missing deployment -> progressing");
	is_str(r.reason, "waiting for deployment web to be created", "... saying which");

	reset_fixtures();
	set_path(sts, "{\"observedGeneration\":1,\"readyReplicas\":0}", "status");
	r = judge(0);
	is_str(r.step, "database", "statefulset not ready -> database step");
	is_str(r.reason, "waiting for statefulset db: 0/1 replicas ready", "... with counts");

	reset_fixtures();
	set_path(deps, "{\"observedGeneration\":1,\"replicas\":1,\"updatedReplicas\":1,"
		       "\"availableReplicas\":1}", "status");
	r = judge(0);
	ok(r.health == HEALTH_PROGRESSING && strstr(r.reason, "not seen the latest change"),
	   "observedGeneration behind generation -> progressing (%s)", r.reason);

	reset_fixtures();
	set_path(deps, "{\"observedGeneration\":2,\"replicas\":2,\"updatedReplicas\":1,"
		       "\"availableReplicas\":1}", "status");
	r = judge(0);
	is_str(r.reason, "waiting for deployment web: old replicas are still terminating",
	       "old replicas left -> progressing");

	reset_fixtures();
	set_path(jobs, "{\"active\":1}", "status");
	r = judge(0);
	is_str(r.reason, "waiting for setup job setup: still running",
	       "a running job is not done");

	reset_fixtures();
	set_path(jobs, "{\"conditions\":[{\"type\":\"FailureTarget\",\"status\":\"True\"},"
		       "{\"type\":\"Failed\",\"status\":\"True\",\"reason\":\"BackoffLimitExceeded\","
		       "\"message\":\"Job has reached the specified backoff limit\"}]}", "status");
	r = judge(0);
	is_int(r.health, HEALTH_FAILED, "job Failed -> failed");
	is_str(r.reason,
	       "setup job setup failed: BackoffLimitExceeded: Job has reached the specified "
	       "backoff limit", "... with the reason in words");

	reset_fixtures();
	set_path(pods, "{\"phase\":\"Pending\",\"containerStatuses\":[{\"name\":\"web\","
		       "\"image\":\"wordpress:6.9-apache\",\"state\":{\"waiting\":"
		       "{\"reason\":\"ImagePullBackOff\",\"message\":\"Back-off pulling image\"}}}]}",
		 "status");
	r = judge(0);
	is_int(r.health, HEALTH_FAILED, "ImagePullBackOff past the grace window -> failed");
	is_str(r.reason, "image wordpress:6.9-apache could not be pulled: ImagePullBackOff",
	       "... named like readiness.md asks");
	json_object_set_new(json_object_get(json_array_get(pods, 0), "metadata"),
			    "creationTimestamp", json_string(NEW));
	r = judge(0);
	ok(r.health != HEALTH_FAILED, "ImagePullBackOff within the grace window is not a failure");

	reset_fixtures();
	set_path(pods, "{\"phase\":\"Running\",\"containerStatuses\":[{\"name\":\"web\","
		       "\"image\":\"x\",\"state\":{\"waiting\":{\"reason\":\"CrashLoopBackOff\"}}}]}",
		 "status");
	r = judge(0);
	is_str(r.reason, "container web in pod web-1 keeps crashing (CrashLoopBackOff)",
	       "crash loop -> failed");

	reset_fixtures();
	set_path(pods, "{\"phase\":\"Pending\",\"conditions\":[{\"type\":\"PodScheduled\","
		       "\"status\":\"False\",\"reason\":\"Unschedulable\",\"message\":"
		       "\"0/1 nodes are available: 1 Insufficient cpu.\"}]}", "status");
	r = judge(0);
	is_str(r.reason, "pod web-1 cannot be scheduled: 0/1 nodes are available: 1 Insufficient cpu.",
	       "unschedulable -> failed");

	reset_fixtures();
	set_path(deps, "{\"observedGeneration\":2,\"conditions\":[{\"type\":\"ReplicaFailure\","
		       "\"status\":\"True\",\"reason\":\"FailedCreate\",\"message\":"
		       "\"pods \\\"web-1\\\" is forbidden: exceeded quota: store\"}]}", "status");
	r = judge(0);
	is_int(r.health, HEALTH_FAILED, "ReplicaFailure -> failed");
	ok(strstr(r.reason, "could not be created: pods \"web-1\" is forbidden: exceeded quota") !=
		   NULL, "... quoting the quota message (%s)", r.reason);

	reset_fixtures();
	set_path(deps, "{\"observedGeneration\":2,\"conditions\":[{\"type\":\"Progressing\","
		       "\"status\":\"False\",\"reason\":\"ProgressDeadlineExceeded\"}]}", "status");
	r = judge(0);
	ok(r.health == HEALTH_FAILED && strstr(r.reason, "ProgressDeadlineExceeded"),
	   "progress deadline -> failed");

	reset_fixtures();
	json_array_append_new(events, J("{\"reason\":\"FailedCreate\",\"message\":"
					"\"Error creating: pods is forbidden: exceeded quota: q\"}"));
	r = judge(0);
	ok(r.health == HEALTH_FAILED && strstr(r.reason, "quota refused a pod"),
	   "quota event -> failed");

	reset_fixtures();
	set_path(pvcs, "{\"phase\":\"Lost\"}", "status");
	r = judge(0);
	is_str(r.reason, "volume claim data lost its volume (Lost)", "PVC Lost -> failed");
	set_path(pvcs, "{\"phase\":\"Pending\"}", "status");
	r = judge(0);
	ok(r.health == HEALTH_FAILED && strstr(r.reason, "still Pending after 3600 s"),
	   "PVC Pending past twice the grace window -> failed (%s)", r.reason);
	json_object_set_new(json_object_get(json_array_get(pvcs, 0), "metadata"),
			    "creationTimestamp", json_string(NEW));
	r = judge(0);
	is_str(r.reason, "waiting for volume claim data: Pending", "fresh Pending PVC -> wait");

	reset_fixtures();
	json_object_set_new(json_object_get(ns, "status"), "phase", json_string("Terminating"));
	r = judge(0);
	is_int(r.health, HEALTH_FAILED, "namespace Terminating that we did not delete -> failed");
	r = judge(1);
	is_int(r.health, HEALTH_PROGRESSING, "... and progressing while we delete it");

	json_decref(expected);
	json_decref(ns);
	expected = ns = NULL;
	reset_fixtures();
	json_decref(pvcs);
	json_decref(sts);
	json_decref(deps);
	json_decref(jobs);
	json_decref(pods);
	json_decref(events);
	pod_tests();
	return done_testing();
}
