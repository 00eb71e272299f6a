/* t-k8s.c - the Kubernetes client's pure parts: Status parsing, classification, backoff, paths, pod reasons. */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "config.h"
#include "k8s.h"
#include "tap.h"

/* parse a literal body */
static void ps(struct k8s_status *st, int code, const char *body, const char *ct, const char *ra)
{
	k8s_parse_status(st, code, body, strlen(body), ct, ra);
}

static void status_tests(void)
{
	struct k8s_status st;
	const char *invalid =
		"{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
		"\"message\":\"Namespace \\\"Store_1\\\" is invalid: metadata.name: Invalid value\","
		"\"reason\":\"Invalid\",\"details\":{\"name\":\"Store_1\",\"kind\":\"Namespace\","
		"\"causes\":[{\"reason\":\"FieldValueInvalid\",\"message\":\"Invalid value: "
		"\\\"Store_1\\\"\",\"field\":\"metadata.name\"},{\"reason\":\"FieldValueRequired\","
		"\"message\":\"Required value\",\"field\":\"spec.x\"}]},\"code\":422}";
	const char *conflict =
		"{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
		"\"message\":\"Apply failed with 1 conflict: conflict with \\\"kubectl-edit\\\" using "
		"apps/v1: .spec.replicas\",\"reason\":\"Conflict\",\"details\":{\"causes\":[{\"reason\":"
		"\"FieldManagerConflict\",\"message\":\"conflict with \\\"kubectl-edit\\\" using apps/v1\","
		"\"field\":\".spec.replicas\"}]},\"code\":409}";
	const char *busy = "{\"kind\":\"Status\",\"code\":503,\"reason\":\"ServiceUnavailable\","
			   "\"message\":\"try again\",\"details\":{\"retryAfterSeconds\":5}}";
	const char *typed = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
			    "\"Failure\",\"message\":\"failed to create typed patch object (ns/web; "
			    "apps/v1, Kind=Deployment): .spec.replica: field not declared in schema\","
			    "\"code\":500}";
	char *many;

	k8s_parse_status(&st, 422, invalid, strlen(invalid), "application/json", NULL);
	is_int(st.code, 422, "Invalid: code");
	is_str(st.reason, "Invalid", "Invalid: reason");
	is_str(st.kind, "Namespace", "Invalid: details.kind is the Kind");
	is_str(st.name, "Store_1", "Invalid: details.name");
	is_int(st.ncauses, 2, "Invalid: two causes");
	is_str(st.causes[0].reason, "FieldValueInvalid", "cause reason");
	is_str(st.causes[0].field, "metadata.name", "cause field");
	is_str(st.causes[1].field, "spec.x", "second cause field");
	is_int(st.retry_after, -1, "no Retry-After");
	is_int(k8s_classify(&st, 0), K8S_HARD, "422 is hard");

	k8s_parse_status(&st, 409, conflict, strlen(conflict), "application/json", NULL);
	is_str(st.reason, "Conflict", "SSA conflict reason");
	is_str(st.causes[0].reason, "FieldManagerConflict", "SSA conflict cause");
	is_str(st.causes[0].field, ".spec.replicas", "SSA conflict field");
	is_int(k8s_classify(&st, 0), K8S_REREAD, "409 Conflict: re-read");
	ok(k8s_has_cause(&st, "FieldManagerConflict") && !k8s_has_cause(&st, "Other"), "k8s_has_cause");

	ps(&st, 409, "{\"kind\":\"Status\",\"reason\":\"AlreadyExists\",\"code\":409}", "application/json", NULL);
	is_int(k8s_classify(&st, 0), K8S_ADOPT, "409 AlreadyExists: adopt");

	k8s_parse_status(&st, 503, busy, strlen(busy), "application/json", NULL);
	is_int(st.retry_after, 5, "details.retryAfterSeconds read");
	is_int(k8s_classify(&st, 0), K8S_RETRY, "503: retry");
	k8s_parse_status(&st, 503, busy, strlen(busy), "application/json", "2");
	is_int(st.retry_after, 2, "the Retry-After header wins over details");

	ps(&st, 404, "404 page not found\n", "text/plain; charset=utf-8", NULL);
	is_str(st.reason, "NotFound", "plain-text 404: reason from the code");
	is_str(st.message, "404 page not found", "plain-text 404: message is the body's first line");
	is_int(k8s_classify(&st, 0), K8S_HARD, "404 is hard");

	ps(&st, 429, "Too many requests, please try again later.\n", "text/plain",
			 "3");
	is_str(st.reason, "TooManyRequests", "APF 429: reason");
	is_int(st.retry_after, 3, "APF 429: Retry-After seconds");
	is_int(k8s_classify(&st, 0), K8S_WAIT, "429: wait");
	ps(&st, 429, "", NULL, "Wed, 21 Oct 2015 07:28:00 GMT");
	is_int(st.retry_after, 0, "Retry-After as a past HTTP-date: 0 s");
	ps(&st, 429, "", NULL, "99999");
	is_int(st.retry_after, 60, "Retry-After capped at 60 s");
	ps(&st, 429, "", NULL, "soon");
	is_int(st.retry_after, -1, "garbage Retry-After ignored");

	ps(&st, 502, "<html><body>Bad Gateway</body></html>", "text/html", NULL);
	ok(strstr(st.message, "text/html") != NULL, "HTML error page: message names the content type");
	is_int(k8s_classify(&st, 0), K8S_RETRY, "502 from a proxy: retry");
	ps(&st, 502, "<html>\r\n<head><title>502 Bad Gateway</title></head>", "text/html", NULL);
	is_str(st.message, "(text/html answer) 502 Bad Gateway", "HTML error page: its title");

	k8s_parse_status(&st, 500, typed, strlen(typed), "application/json", NULL);
	is_str(st.reason, "", "SSA schema error has no reason");
	is_int(k8s_classify(&st, 0), K8S_HARD, "SSA schema 500 is hard (retrying cannot help)");
	ps(&st, 500, "{\"kind\":\"Status\",\"reason\":\"InternalError\",\"code\":500}", "application/json", NULL);
	is_int(k8s_classify(&st, 0), K8S_RETRY, "500 InternalError: retry");

	ps(&st, 410, "{\"kind\":\"Status\",\"reason\":\"Expired\",\"code\":410}", "application/json", NULL);
	is_int(k8s_classify(&st, 0), K8S_REREAD, "410 Expired: re-read");
	ps(&st, 401, "{\"kind\":\"Status\",\"reason\":\"Unauthorized\"", "application/json", NULL);
	is_str(st.reason, "Unauthorized", "truncated Status body: reason from the code");
	is_int(k8s_classify(&st, 0), K8S_HARD, "401 is hard");
	ps(&st, 403, "{\"kind\":\"Status\",\"reason\":\"Forbidden\",\"message\":\"x\\r\\ny\"}", "application/json", NULL);
	is_str(st.message, "x  y", "control characters in messages are blanked");

	/* more causes than fit */
	many = malloc(20000);
	strcpy(many, "{\"kind\":\"Status\",\"details\":{\"causes\":[");
	for (int i = 0; i < 50; i++)
		strcat(many, i ? ",{\"reason\":\"R\"}" : "{\"reason\":\"R\"}");
	strcat(many, "]}}");
	k8s_parse_status(&st, 422, many, strlen(many), "application/json", NULL);
	is_int(st.ncauses, K8S_CAUSES_MAX, "causes capped");
	free(many);

	st.code = 0;
	is_int(k8s_classify(&st, CURLE_PEER_FAILED_VERIFICATION), K8S_HARD, "TLS verify failure: hard");
	is_int(k8s_classify(&st, CURLE_SSL_CONNECT_ERROR), K8S_HARD, "TLS handshake failure: hard");
	is_int(k8s_classify(&st, CURLE_OPERATION_TIMEDOUT), K8S_RETRY, "timeout: retry");
	is_int(k8s_classify(&st, CURLE_RECV_ERROR), K8S_RETRY, "reset: retry");
	is_int(k8s_classify(&st, CURLE_GOT_NOTHING), K8S_RETRY, "empty reply: retry");
	is_int(k8s_classify(&st, CURLE_COULDNT_CONNECT), K8S_RETRY, "refused: retry");
	is_int(k8s_classify(&st, CURLE_WRITE_ERROR), K8S_HARD, "answer over the cap: hard");
	is_str(k8s_class_name(K8S_WAIT), "wait", "class names");
}

static void json_tests(void)
{
	struct err e = ERR_INIT;
	json_t *j;

	j = k8s_parse_json("{\"a\":1}", 7, "application/json", &e);
	ok(json_is_object(j), "JSON object parsed");
	json_decref(j);
	j = k8s_parse_json("{\"a\":1}", 7, "application/json; charset=utf-8", &e);
	ok(json_is_object(j), "JSON with a charset parameter parsed");
	json_decref(j);
	j = k8s_parse_json("", 0, "application/json", &e);
	ok(json_is_null(j), "empty body is null");
	json_decref(j);

	j = k8s_parse_json("{\"items\":[{\"a\":", 15, "application/json", &e);
	ok(!j, "truncated JSON refused");
	ok(strstr(e.msg, "truncated JSON") != NULL, "truncated JSON: message says so (%s)", e.msg);
	err_clear(&e);
	j = k8s_parse_json("{\"a\":1} x", 9, "application/json", &e);
	ok(!j && strstr(e.msg, "invalid JSON"), "trailing garbage refused (%s)", e.msg);
	err_clear(&e);
	j = k8s_parse_json("<html>hi</html>", 15, "text/html; charset=utf-8", &e);
	ok(!j, "HTML answer refused");
	ok(strstr(e.msg, "'text/html; charset=utf-8'") != NULL, "HTML: message quotes the content type (%s)",
		e.msg);
	err_clear(&e);
	j = k8s_parse_json("{\"a\":1}", 7, "application/jsonx", &e);
	ok(!j, "application/jsonx is not JSON");
}

static void backoff_tests(void)
{
	long sum = 0, max0 = 0;
	int inrange = 1, nonzero = 0;

	for (int a = 0; a < 40; a++)
		for (int i = 0; i < 200; i++) {
			long ceil = 100L << (a < 10 ? a : 10), v = k8s_backoff_range(a, 100, 5000);

			if (ceil > 5000)
				ceil = 5000;
			if (v < 0 || v > ceil)
				inrange = 0;
			nonzero += v > 0;
		}
	ok(inrange, "backoff within [0, min(cap, base*2^attempt)]");
	ok(nonzero > 7000, "backoff is rarely zero");
	for (int i = 0; i < 2000; i++) {
		long v = k8s_backoff(20);

		sum += v;
		if (v > max0)
			max0 = v;
	}
	ok(max0 <= 60000, "k8s_backoff capped at 60 s");
	ok(sum / 2000 > 20000 && sum / 2000 < 40000, "full jitter: mean near cap/2 (%ld)", sum / 2000);
	ok(k8s_backoff(0) <= 500, "first backoff at most the base");
	ok(k8s_backoff_range(1000000, 100, 5000) <= 5000, "huge attempt numbers do not overflow");
}

static void path_tests(void)
{
	struct buf b = BUF_INIT;
	struct err e = ERR_INIT;
	json_t *obj;

	ok(k8s_path(&b, "apps/v1", "Deployment", "store-1", "web", &e) == 0, "deployment path");
	is_str(b.s, "/apis/apps/v1/namespaces/store-1/deployments/web", "deployment object path");
	buf_reset(&b);
	k8s_path(&b, "v1", "Namespace", NULL, "store-1", &e);
	is_str(b.s, "/api/v1/namespaces/store-1", "namespace path (cluster-scoped)");
	buf_reset(&b);
	k8s_path(&b, "v1", "Pod", "", NULL, &e);
	is_str(b.s, "/api/v1/pods", "all-namespaces collection");
	buf_reset(&b);
	k8s_path(&b, "networking.k8s.io/v1", "Ingress", "s", NULL, &e);
	is_str(b.s, "/apis/networking.k8s.io/v1/namespaces/s/ingresses", "namespaced collection");
	buf_reset(&b);
	k8s_path(&b, "v1", "ConfigMap", "a b", "x/y?z", &e);
	is_str(b.s, "/api/v1/namespaces/a%20b/configmaps/x%2Fy%3Fz", "segments are escaped");
	buf_reset(&b);

	ok(k8s_path(&b, "v1", "Widget", "s", "x", &e) < 0 && strstr(e.msg, "unknown kind 'Widget'"),
	   "unknown kind refused (%s)", e.msg);
	err_clear(&e);
	ok(k8s_path(&b, "extensions/v1beta1", "Ingress", "s", "x", &e) < 0 &&
		   strstr(e.msg, "networking.k8s.io/v1"),
	   "wrong apiVersion names the right one (%s)", e.msg);
	err_clear(&e);
	ok(k8s_path(&b, "v1", "Namespace", "s", "x", &e) < 0, "cluster-scoped kind with a namespace refused");
	err_clear(&e);
	ok(k8s_path(&b, "apps/v1", "Deployment", NULL, "x", &e) < 0, "namespaced object without namespace refused");
	err_clear(&e);
	is_int(k8s_kind_namespaced("v1", "Namespace"), 0, "Namespace is cluster-scoped");
	is_int(k8s_kind_namespaced("batch/v1", "Job"), 1, "Job is namespaced");
	is_int(k8s_kind_namespaced("batch/v1", "Nope"), -1, "unknown kind");

	buf_reset(&b);
	obj = json_pack("{s:s,s:s,s:{s:s,s:s}}", "apiVersion", "batch/v1", "kind", "Job", "metadata",
			"name", "setup", "namespace", "store-9");
	ok(k8s_object_path(&b, obj, &e) == 0, "object path from an object");
	is_str(b.s, "/apis/batch/v1/namespaces/store-9/jobs/setup", "job object path");
	json_decref(obj);
	obj = json_pack("{s:s,s:s,s:{}}", "apiVersion", "v1", "kind", "Secret", "metadata");
	ok(k8s_object_path(&b, obj, &e) < 0 && strstr(e.msg, "metadata.name"), "object without a name refused");
	json_decref(obj);
	buf_release(&b);
}

static void init_tests(void)
{
	struct kubeconfig kc;
	struct k8s k;
	struct err e = ERR_INIT;

	memset(&kc, 0, sizeof(kc));
	kc.context = strdup("c");
	kc.cluster = strdup("c");
	kc.user = strdup("");
	kc.source = strdup("");
	kc.server = strdup("https://[::1]:6443/prefix");
	kc.namespace = strdup("");
	kc.tls_server_name = strdup("kubernetes.default.svc");
	kc.proxy_url = strdup("");
	kc.token = strdup("t");
	kc.token_file = strdup("");
	ok(k8s_init_kc(&k, &kc, NULL, &e) == 0, "client from a kubeconfig struct (%s)", e.msg);
	is_str(k.base, "https://kubernetes.default.svc:6443/prefix", "tls-server-name becomes the URL host");
	is_str(k.connect_to, "kubernetes.default.svc:6443:[::1]:6443", "and connects to the real address");
	is_int(k.timeout_ms, 10000, "default timeout 10 s");
	is_int(k.deadline_ms, 30000, "default deadline 30 s");
	is_int(k.max_retries, 10, "default 10 retries, like client-go");
	ok(k.body_max == (size_t)32 << 20, "default body cap 32 MiB");
	k8s_release(&k);
	ok(k.curl == NULL && k.kc.server == NULL, "release clears the client");
}

static void config_tests(void)
{
	struct k8s_opts o;
	struct err e = ERR_INIT;

	setenv("SF_KUBECONFIG", "/etc/storefleet/kubeconfig", 1);
	setenv("SF_KUBE_CONTEXT", "prod", 1);
	setenv("SF_KUBE_TIMEOUT", "3", 1);
	setenv("SF_KUBE_BODY_MAX", "8192", 1);
	setenv("SF_KUBE_SA_DIR", "/tmp/sa", 1);
	ok(config_load(&config, &e) == 0, "configuration loads (%s)", e.msg);
	k8s_opts_from_config(&o);
	is_str(o.kubeconfig, "/etc/storefleet/kubeconfig", "SF_KUBECONFIG");
	is_str(o.context, "prod", "SF_KUBE_CONTEXT");
	is_int(o.timeout_ms, 3000, "SF_KUBE_TIMEOUT in seconds");
	is_int(o.body_max, 8192, "SF_KUBE_BODY_MAX");
	is_str(o.sa_dir, "/tmp/sa", "SF_KUBE_SA_DIR");
	config_release(&config);
	setenv("SF_KUBE_BODY_MAX", "10", 1);
	ok(config_load(&config, &e) < 0 && strstr(e.msg, "SF_KUBE_BODY_MAX"), "a tiny body cap is refused (%s)",
	   e.msg);
	config_release(&config);
}

int main(void)
{
	status_tests();
	json_tests();
	backoff_tests();
	path_tests();
	init_tests();
	config_tests();
	return done_testing();
}
