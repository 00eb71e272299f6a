/* main.c - kubesim: options, the files it writes for clients, the HTTPS API and plain-HTTP ingress
 * servers. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sodium.h>

#include "kubesim.h"

/*
 * kubesim --listen 127.0.0.1:PORT --dir DIR [--ingress-listen 127.0.0.1:PORT2]
 *         [--token T] [--pod-ready-ms N] [--job-complete-ms N] [--pvc-bind-ms N]
 *         [--ns-delete-ms N] [--observed-lag-ms N] [--continue-ttl-ms N] [--fault JSON]...
 *         [--watch-window N] [--watch-queue N] [--watch-bookmark-ms N] [--seed N]
 *         [--cert-ready-ms N] (cert-manager's Certificates: certmanager.c)
 *         [--dns NAME=127.0.0.1:PORT]... [--quiet]
 *         [--job-runner PROGRAM] (backup Jobs' containers run for real: controllers.c)
 *         [--node NAME=CPU,MEMORY[,unschedulable][,notready]]... [--storage-class NAME[=default]]...
 *
 * Nodes and StorageClasses (cluster-scoped, served like every other kind):
 * the cluster starts with the --node ones (default: one node "kubesim-node-1",
 * 16 CPU and 64Gi allocatable, schedulable and Ready, room for every
 * test's stores; also KUBESIM_NODES, the same specs separated by ';') and
 * the --storage-class ones (also KUBESIM_STORAGE_CLASSES, separated by
 * ','; "=default" marks the class storageclass.kubernetes.io/is-default-class,
 * provisioner rancher.io/local-path, reclaimPolicy Delete,
 * volumeBindingMode WaitForFirstConsumer as k3s has it).  Without any, the
 * cluster has k3s's own: local-path, the default class, which the charts'
 * overlays rely on (they name no class) and admission checks is there;
 * "--storage-class none" starts a cluster with no StorageClass at all.
 * A node's status.capacity and status.allocatable both get CPU and MEMORY
 * (quantities: "16", "3500m", "64Gi") and pods "110"; its Ready condition
 * is True unless notready.  Tests add, resize, cordon (spec.unschedulable)
 * or remove nodes with kubectl as on a real cluster (status via
 * --subresource=status).
 *
 * --continue-ttl-ms: a list's continue token is refused (410 Expired) this
 * long after the list's first page (default 300000, etcd's compaction
 * interval; 0 = never).
 *
 * Watches (watch.c): --watch-window keeps the last N changes (default
 * 16384; also KUBESIM_WATCH_WINDOW): a watch from an older resourceVersion
 * gets an ERROR 410 Expired.  --watch-queue: a watcher with more than N
 * events waiting (its client does not read) is dropped (default 1024).
 * --watch-bookmark-ms: BOOKMARK period for allowWatchBookmarks (60000).
 *
 * DIR receives ca.crt, server.crt, client.crt/.key (CN=storefleet-test,
 * O=system:masters), token, kubesim.pid, address, ingress.address and, last,
 * kubeconfig (contexts "kubesim" = token, "kubesim-cert" = client
 * certificate).  Besides the Kubernetes API (api.c) the same HTTPS port
 * serves the control endpoints, with the same authentication:
 *   POST /_sim/faults {scope, type, ...} -> {"id":N}; DELETE /_sim/faults[/ID]
 *     (image_pull, crash_loop, job_fail take an optional "image" (substring of
 *     a container image) and "name" (pod name prefix) to hit only those pods)
 *   GET /_sim/stats, POST /_sim/stats/reset
 *   POST /_sim/bulk {"items":[...], "ready":true} (namespaces first)
 * The ingress port answers plain HTTP by Host header (ks_ingress_ready()),
 * a ready WooCommerce store's /wp-json/ REST API (woo.c, with /_sim/woo/) and a
 * ready Medusa store's /auth/ and /admin/ API (medusa.c, with /_sim/medusa/).
 * A host whose Ingress sends it to an ExternalName Service is forwarded to
 * what --dns says that name resolves to (dns.c): a suspended store's host
 * reaches the platform's paused page that way.
 *
 * Startup order matters to clients: certificates, token, pid and
 * addresses are written first, each atomically (temp file + rename), and
 * the kubeconfig last, so its appearance means "listening and ready".
 * Shutdown: SIGTERM/SIGINT are blocked in every thread and taken by
 * sigwait() in main, which then ends watches, stops the servers and the
 * controllers.
 */

#define BODY_MAX ((size_t)3 << 20)

struct ks_opts ks_opt = {
    .pod_ready_ms = 1500,
    .job_complete_ms = 2000,
    .pvc_bind_ms = 500,
    .cert_ready_ms = 1000,
    .ns_delete_ms = 1000,
    .observed_lag_ms = 200,
    .continue_ttl_ms = 300000, /* etcd compacts every 5 minutes by default */
    .watch_window = 16384,
    .watch_queue = 1024,
    .watch_bookmark_ms = 60000, /* the cacher's bookmarkFrequency */
};
pthread_mutex_t ks_lock = PTHREAD_MUTEX_INITIALIZER;
volatile int ks_stopping;

static uint64_t rng;
static pthread_mutex_t rng_lock = PTHREAD_MUTEX_INITIALIZER;

int64_t ks_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ks_timestamp(char *out)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

uint64_t ks_rand(void)
{
	uint64_t x;

	pthread_mutex_lock(&rng_lock);
	x = rng;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	rng = x;
	pthread_mutex_unlock(&rng_lock);
	return x;
}

void ks_uuid(char *out)
{
	uint64_t a = ks_rand(), b = ks_rand();

	snprintf(out, 37, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(a >> 32),
		 (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xfff,
		 (unsigned)((b >> 48) & 0x3fff) | 0x8000,
		 (unsigned long long)(b & 0xffffffffffffULL));
}

void ks_suffix(char *out, int n)
{
	static const char alnum[] = "bcdfghjklmnpqrstvwxz2456789";
	int i;

	for (i = 0; i < n; i++)
		out[i] = alnum[ks_rand() % 27];
	out[n] = 0;
}

void ks_log(const char *fmt, ...)
{
	va_list ap;
	char ts[40];

	if (ks_opt.quiet)
		return;
	ks_timestamp(ts);
	fprintf(stderr, "%s kubesim: ", ts);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* --- files ------------------------------------------------------------------------ */

static int write_file(const char *dir, const char *name, const char *content, struct err *e)
{
	char tmp[4096], path[4096];
	size_t n = strlen(content), off = 0;
	int fd;

	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_set(e, 500, "cannot create '%s': %s", tmp, strerror(errno));
	while (off < n) {
		ssize_t w = write(fd, content + off, n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			close(fd);
			unlink(tmp);
			return err_set(e, 500, "cannot write '%s': %s", tmp, strerror(errno));
		}
		off += (size_t)w;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		unlink(tmp);
		return err_set(e, 500, "cannot write '%s': %s", path, strerror(errno));
	}
	return 0;
}

static char *b64(const char *s)
{
	size_t n = strlen(s), cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *out = malloc(cap);

	if (!out)
		die_oom();
	sodium_bin2base64(out, cap, (const unsigned char *)s, n, sodium_base64_VARIANT_ORIGINAL);
	return out;
}

static int write_files(const char *dir, const struct ks_pki *p, int port, int iport, struct err *e)
{
	char buf[256];
	struct buf kc = BUF_INIT;
	char *ca = b64(p->ca_crt), *cc = b64(p->client_crt), *ck = b64(p->client_key);
	int rc = -1;

	if (write_file(dir, "ca.crt", p->ca_crt, e) < 0 ||
	    write_file(dir, "server.crt", p->server_crt, e) < 0 ||
	    write_file(dir, "client.crt", p->client_crt, e) < 0 ||
	    write_file(dir, "client.key", p->client_key, e) < 0)
		goto out;
	snprintf(buf, sizeof(buf), "%s\n", ks_opt.token);
	if (write_file(dir, "token", buf, e) < 0)
		goto out;
	snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write_file(dir, "kubesim.pid", buf, e) < 0)
		goto out;
	snprintf(buf, sizeof(buf), "https://127.0.0.1:%d\n", port);
	if (write_file(dir, "address", buf, e) < 0)
		goto out;
	if (iport > 0) {
		snprintf(buf, sizeof(buf), "http://127.0.0.1:%d\n", iport);
		if (write_file(dir, "ingress.address", buf, e) < 0)
			goto out;
	}
	buf_addf(&kc,
		 "apiVersion: v1\n"
		 "kind: Config\n"
		 "current-context: kubesim\n"
		 "clusters:\n"
		 "- name: kubesim\n"
		 "  cluster:\n"
		 "    server: https://127.0.0.1:%d\n"
		 "    certificate-authority-data: %s\n"
		 "users:\n"
		 "- name: token\n"
		 "  user:\n"
		 "    token: %s\n"
		 "- name: cert\n"
		 "  user:\n"
		 "    client-certificate-data: %s\n"
		 "    client-key-data: %s\n"
		 "contexts:\n"
		 "- name: kubesim\n"
		 "  context:\n"
		 "    cluster: kubesim\n"
		 "    user: token\n"
		 "- name: kubesim-cert\n"
		 "  context:\n"
		 "    cluster: kubesim\n"
		 "    user: cert\n",
		 port, ca, ks_opt.token, cc, ck);
	if (kc.failed) {
		err_set(e, 500, "kubeconfig: out of memory");
		goto out;
	}
	rc = write_file(dir, "kubeconfig", kc.s, e);
out:
	buf_release(&kc);
	free(ca);
	free(cc);
	free(ck);
	return rc;
}

/* --- listening sockets ------------------------------------------------------------------ */

static int listen_on(const char *spec, int *port_out, struct err *e)
{
	char host[64];
	const char *colon = strrchr(spec, ':');
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd, one = 1;
	long port;
	char *end;

	if (!colon || (size_t)(colon - spec) >= sizeof(host))
		return err_set(e, 2, "listen address '%s': expected 127.0.0.1:PORT", spec);
	snprintf(host, sizeof(host), "%.*s", (int)(colon - spec), spec);
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 0 || port > 65535)
		return err_set(e, 2, "listen address '%s': bad port", spec);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	if (!strcmp(host, "localhost"))
		snprintf(host, sizeof(host), "127.0.0.1");
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1 ||
	    (ntohl(sin.sin_addr.s_addr) >> 24) != 127)
		return err_set(e, 2, "listen address '%s': only loopback addresses are allowed",
			       spec);
	sin.sin_port = htons((uint16_t)port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_set(e, 2, "socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 128) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0) {
		err_set(e, 2, "cannot listen on '%s': %s", spec, strerror(errno));
		close(fd);
		return -1;
	}
	*port_out = ntohs(sin.sin_port);
	return fd;
}

/* --- the API server --------------------------------------------------------------------- */

struct conn {
	struct buf body;
	int too_big;
};

static void completed(void *cls, struct MHD_Connection *c, void **ctx,
		      enum MHD_RequestTerminationCode toe)
{
	struct conn *cn = *ctx;

	(void)cls;
	(void)c;
	(void)toe;
	if (cn) {
		buf_release(&cn->body);
		free(cn);
		*ctx = NULL;
	}
}

static enum MHD_Result send_buf(struct MHD_Connection *c, int status, const char *ctype,
				const char *body, size_t len, const char *warning,
				const char *retry_after)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", ctype);
	MHD_add_response_header(r, "Cache-Control", "no-cache, private");
	if (warning && *warning)
		MHD_add_response_header(r, "Warning", warning);
	if (retry_after && *retry_after)
		MHD_add_response_header(r, "Retry-After", retry_after);
	ret = MHD_queue_response(c, (unsigned)status, r);
	MHD_destroy_response(r);
	return ret;
}

static ssize_t watch_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	long n = ks_watch_read(cls, buf, max);

	(void)pos;
	if (n == -2)
		return MHD_CONTENT_READER_END_WITH_ERROR; /* the client went away */
	if (n < 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	return n;
}

static void watch_free(void *cls)
{
	ks_watch_free(cls);
}

static int authorized(struct MHD_Connection *c)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	const union MHD_ConnectionInfo *ci;

	if (h && !strncmp(h, "Bearer ", 7)) {
		size_t n = strlen(ks_opt.token);

		return strlen(h + 7) == n && sodium_memcmp(h + 7, ks_opt.token, n) == 0;
	}
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	return ci && ks_tls_client_ok(ci->tls_session);
}

static void path_namespace(const char *path, char *ns, size_t n)
{
	const char *p = strstr(path, "/namespaces/");

	ns[0] = 0;
	if (!p)
		return;
	p += 12;
	snprintf(ns, n, "%.*s", (int)strcspn(p, "/"), p);
}

static enum MHD_Result api(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			   const char *version, const char *upload, size_t *upload_size, void **ctx)
{
	struct conn *cn = *ctx;
	struct ks_req q;
	enum MHD_Result ret;
	const union MHD_ConnectionInfo *ci;
	char ns[256];

	(void)cls;
	(void)version;
	if (!cn) {
		cn = calloc(1, sizeof(*cn));
		if (!cn)
			return MHD_NO;
		buf_init(&cn->body, BODY_MAX);
		*ctx = cn;
		return MHD_YES;
	}
	if (*upload_size) {
		if (!cn->too_big) {
			buf_add(&cn->body, upload, *upload_size);
			if (cn->body.failed)
				cn->too_big = 1;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	memset(&q, 0, sizeof(q));
	buf_init(&q.out, 0);
	q.method = method;
	q.path = url;
	{
		/* libmicrohttpd gives the path without the query: rebuild the raw query */
		static __thread char qs[8192];
		struct buf b = BUF_INIT;
		const char *keys[] = {"labelSelector",
				      "fieldSelector",
				      "limit",
				      "continue",
				      "fieldManager",
				      "force",
				      "fieldValidation",
				      "dryRun",
				      "propagationPolicy",
				      "watch",
				      "resourceVersion",
				      "timeoutSeconds",
				      "resourceVersionMatch",
				      "orphanDependents",
				      "allowWatchBookmarks",
				      "gracePeriodSeconds",
				      "sendInitialEvents",
				      NULL};
		int i;

		for (i = 0; keys[i]; i++) {
			const char *v =
			    MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, keys[i]);

			if (!v)
				continue;
			buf_addf(&b, "%s%s=", b.len ? "&" : "", keys[i]);
			buf_add_urlenc(&b, v, strlen(v));
		}
		snprintf(qs, sizeof(qs), "%s", b.s);
		buf_release(&b);
		q.query = qs;
	}
	q.ctype = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
	q.ua = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "User-Agent");
	q.accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept");
	q.body = cn->body.s;
	q.body_len = cn->body.len;

	if (!authorized(c)) {
		ks_status(&q, 401, "Unauthorized", "Unauthorized", NULL);
		goto send;
	}
	if (cn->too_big) {
		ks_status(&q, 413, "RequestEntityTooLarge",
			  "Request entity too large: limit is 3145728", NULL);
		goto send;
	}
	if (strncmp(url, "/_sim/", 6)) {
		int ra = 0, f;

		path_namespace(url, ns, sizeof(ns));
		f = ks_fault_request(method, *ns ? ns : NULL, &ra);
		if (f == 1) {
			buf_release(&q.out);
			return MHD_NO; /* drop the connection unanswered */
		}
		if (f == 429) {
			q.status = 429;
			q.resp_ctype = "text/plain; charset=utf-8";
			buf_adds(&q.out, "Too many requests, please try again later.\n");
			snprintf(q.retry_after, sizeof(q.retry_after), "%d", ra > 0 ? ra : 1);
			goto send;
		}
		if (f >= 500) {
			json_t *d = ra > 0 ? json_pack("{s:i}", "retryAfterSeconds", ra) : NULL;

			ks_status(&q, f, f == 503 ? "ServiceUnavailable" : "InternalError",
				  f == 503 ? "the server is currently unable to handle the request"
					   : "Internal error occurred: injected fault",
				  d);
			if (ra > 0)
				snprintf(q.retry_after, sizeof(q.retry_after), "%d", ra);
			goto send;
		}
	}
	pthread_mutex_lock(&ks_lock);
	ks_api_handle(&q);
	pthread_mutex_unlock(&ks_lock);
	if (q.watch) {
		struct MHD_Response *r = MHD_create_response_from_callback(
		    MHD_SIZE_UNKNOWN, 32 * 1024, watch_reader, q.watch, watch_free);

		buf_release(&q.out);
		if (!r) {
			ks_watch_free(q.watch);
			return MHD_NO;
		}
		ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		ks_watch_set_fd(q.watch, ci ? ci->connect_fd : -1);
		MHD_add_response_header(r, "Content-Type", "application/json");
		MHD_add_response_header(r, "Transfer-Encoding", "chunked");
		ret = MHD_queue_response(c, 200, r);
		MHD_destroy_response(r);
		return ret;
	}
send:
	ks_log("%s %s -> %d", method, url, q.status);
	ret =
	    send_buf(c, q.status ? q.status : 500, q.resp_ctype ? q.resp_ctype : "application/json",
		     q.out.s, q.out.len, q.warning, q.retry_after);
	buf_release(&q.out);
	return ret;
}

/* --- the ingress ------------------------------------------------------------------------- */

static enum MHD_Result ingress(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *upload,
			       size_t *upload_size, void **ctx)
{
	const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
	char h[256], ns[256] = "", body[700], ext[256] = "";
	int rc, ext_port = 0;

	(void)cls;
	(void)version;
	if (!strncmp(url, "/wp-json/", 9)) /* the store's WooCommerce REST API (woo.c) */
		return ks_woo_ingress(c, url, method, upload, upload_size, ctx);
	if (!strncmp(url, "/auth/", 6) || !strncmp(url, "/admin/", 7)) /* Medusa's (medusa.c) */
		return ks_medusa_ingress(c, url, method, upload, upload_size, ctx);
	if (!*ctx) {
		*ctx = (void *)1;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0;
		return MHD_YES;
	}
	snprintf(h, sizeof(h), "%s", host ? host : "");
	h[strcspn(h, ":")] = 0;
	pthread_mutex_lock(&ks_lock);
	rc = ks_ingress_ready(h, ns, sizeof(ns), ext, sizeof(ext), &ext_port);
	pthread_mutex_unlock(&ks_lock);
	if (rc == 2) { /* an ExternalName backend: forward, Host kept (dns.c) */
		struct ks_proxied p;
		struct err e = ERR_INIT;
		enum MHD_Result ret;

		if (ks_dns_proxy(ext, ext_port, method, url, host ? host : h, &p, &e) < 0) {
			ks_log("ingress: %s -> %s: %s", h, ext, e.msg);
			ks_proxied_release(&p);
			snprintf(body, sizeof(body),
				 "<html><body><h1>%d Bad Gateway</h1></body></html>\n", e.status);
			return send_buf(c, e.status, "text/html", body, strlen(body), NULL, NULL);
		}
		ret = send_buf(c, p.status, *p.ctype ? p.ctype : "application/octet-stream", p.body,
			       p.len, NULL, p.retry_after);
		ks_proxied_release(&p);
		return ret;
	}
	if (rc < 0) {
		snprintf(body, sizeof(body), "404 page not found\n");
		return send_buf(c, 404, "text/plain; charset=utf-8", body, strlen(body), NULL,
				NULL);
	}
	if (!rc) {
		snprintf(
		    body, sizeof(body),
		    "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>\n");
		return send_buf(c, 503, "text/html", body, strlen(body), NULL, NULL);
	}
	{
		struct buf b = BUF_INIT;
		enum MHD_Result ret;

		buf_adds(&b, "<!doctype html><html><head><title>");
		buf_add_html(&b, h, strlen(h));
		buf_adds(&b, "</title></head><body><h1>Store ");
		buf_add_html(&b, ns, strlen(ns));
		buf_adds(&b, "</h1><p>served by kubesim for ");
		buf_add_html(&b, h, strlen(h));
		buf_adds(&b, "</p></body></html>\n");
		ret = send_buf(c, 200, "text/html; charset=utf-8", b.s, b.len, NULL, NULL);
		buf_release(&b);
		return ret;
	}
}

/* --- main ----------------------------------------------------------------------------------- */

static void usage(void)
{
	fprintf(
	    stderr,
	    "usage: kubesim --listen 127.0.0.1:PORT --dir DIR [--ingress-listen 127.0.0.1:PORT2]\n"
	    "               [--token TOKEN] [--pod-ready-ms N] [--job-complete-ms N] "
	    "[--pvc-bind-ms N]\n"
	    "               [--ns-delete-ms N] [--observed-lag-ms N] [--continue-ttl-ms N]\n"
	    "               [--watch-window N] [--watch-queue N] [--watch-bookmark-ms N]\n"
	    "               [--cert-ready-ms N] [--job-runner PROGRAM]\n"
	    "               [--fault SPEC]... [--seed N] [--dns NAME=127.0.0.1:PORT]... "
	    "[--quiet]\n"
	    "               [--node NAME=CPU,MEMORY[,unschedulable][,notready]]... "
	    "[--storage-class NAME[=default] | --storage-class none]...\n");
}

static void seed_object(const char *kind, const char *name)
{
	const struct ks_resource *r = ks_resource_by_kind(kind);
	json_t *o = json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind", kind, "metadata",
			      "name", name);
	char uid[40], ts[40];

	ks_uuid(uid);
	ks_timestamp(ts);
	json_object_set_new(json_object_get(o, "metadata"), "uid", json_string(uid));
	json_object_set_new(json_object_get(o, "metadata"), "creationTimestamp", json_string(ts));
	ks_ctl_on_create(r, o, 1);
	ks_store_add(r, o);
}

static void seed_add(const char *kind, json_t *o)
{
	const struct ks_resource *r = ks_resource_by_kind(kind);
	json_t *md = json_object_get(o, "metadata");
	char uid[40], ts[40];

	ks_uuid(uid);
	ks_timestamp(ts);
	json_object_set_new(md, "uid", json_string(uid));
	json_object_set_new(md, "creationTimestamp", json_string(ts));
	ks_ctl_on_create(r, o, 1);
	ks_store_add(r, o);
}

/* One --node spec: NAME=CPU,MEMORY[,unschedulable][,notready]. */
static int seed_node(const char *spec, struct err *e)
{
	char buf[256], *name = buf, *cpu, *mem, *flag, *save = NULL;
	struct ks_qty q;
	int unsched = 0, ready = 1;
	json_t *o, *res, *qcpu, *qmem;
	char ts[40];

	if (snprintf(buf, sizeof(buf), "%s", spec) >= (int)sizeof(buf) || !(cpu = strchr(buf, '=')))
		return err_set(e, 400, "--node %s: want NAME=CPU,MEMORY", spec);
	*cpu++ = 0;
	cpu = strtok_r(cpu, ",", &save);
	mem = strtok_r(NULL, ",", &save);
	if (!*name || !cpu || !mem)
		return err_set(e, 400, "--node %s: want NAME=CPU,MEMORY", spec);
	qcpu = json_string(cpu);
	qmem = json_string(mem);
	if (ks_qty_of(qcpu, &q) < 0 || ks_qty_of(qmem, &q) < 0) {
		json_decref(qcpu);
		json_decref(qmem);
		return err_set(e, 400, "--node %s: CPU and MEMORY must be quantities", spec);
	}
	while ((flag = strtok_r(NULL, ",", &save))) {
		if (!strcmp(flag, "unschedulable"))
			unsched = 1;
		else if (!strcmp(flag, "notready"))
			ready = 0;
		else {
			json_decref(qcpu);
			json_decref(qmem);
			return err_set(e, 400, "--node %s: unknown flag '%s'", spec, flag);
		}
	}
	ks_timestamp(ts);
	res = json_pack("{s:o,s:o,s:s}", "cpu", qcpu, "memory", qmem, "pods", "110");
	o = json_pack("{s:s,s:s,s:{s:s,s:{s:s}},s:{},s:{s:o,s:o,s:[{s:s,s:s,s:s,s:s,s:s,s:s}]}}",
		      "apiVersion", "v1", "kind", "Node", "metadata", "name", name, "labels",
		      "kubernetes.io/hostname", name, "spec", "status", "capacity", json_deep_copy(res),
		      "allocatable", res, "conditions", "type", "Ready", "status",
		      ready ? "True" : "False", "reason",
		      ready ? "KubeletReady" : "KubeletNotReady", "message",
		      ready ? "kubelet is posting ready status" : "container runtime is down",
		      "lastHeartbeatTime", ts, "lastTransitionTime", ts);
	if (!o)
		return err_set(e, 500, "--node %s: out of memory", spec);
	json_object_set_new(json_object_get(o, "status"), "nodeInfo",
			    json_pack("{s:s,s:s,s:s}", "kubeletVersion", "v1.36.3-kubesim",
				      "operatingSystem", "linux", "architecture", "amd64"));
	if (unsched)
		json_object_set_new(json_object_get(o, "spec"), "unschedulable", json_true());
	seed_add("Node", o);
	return 0;
}

static int seed_cluster(const char **nodes, int nn, const char **classes, int nc, struct err *e)
{
	char envbuf[4096], *tok, *save = NULL;
	const char *env;

	if (!nn && (env = getenv("KUBESIM_NODES")) && *env) {
		snprintf(envbuf, sizeof(envbuf), "%s", env);
		for (tok = strtok_r(envbuf, ";", &save); tok; tok = strtok_r(NULL, ";", &save))
			if (seed_node(tok, e) < 0)
				return -1;
	} else if (!nn) {
		if (seed_node("kubesim-node-1=16,64Gi", e) < 0)
			return -1;
	}
	for (int i = 0; i < nn; i++)
		if (seed_node(nodes[i], e) < 0)
			return -1;
	if (!nc && (env = getenv("KUBESIM_STORAGE_CLASSES")) && *env) {
		save = NULL;
		snprintf(envbuf, sizeof(envbuf), "%s", env);
		for (tok = strtok_r(envbuf, ",", &save); tok && nc < 32; tok = strtok_r(NULL, ",", &save))
			classes[nc++] = tok;
	}
	if (!nc) /* k3s's own */
		classes[nc++] = "local-path=default";
	if (nc == 1 && !strcmp(classes[0], "none"))
		nc = 0;
	for (int i = 0; i < nc; i++) {
		char name[254];
		const char *eq = strchr(classes[i], '=');
		size_t n = eq ? (size_t)(eq - classes[i]) : strlen(classes[i]);
		json_t *o;

		if (!n || n >= sizeof(name) || (eq && strcmp(eq + 1, "default")))
			return err_set(e, 400, "--storage-class %s: want NAME or NAME=default",
				       classes[i]);
		memcpy(name, classes[i], n);
		name[n] = 0;
		o = json_pack("{s:s,s:s,s:{s:s},s:s,s:s,s:s}", "apiVersion", "storage.k8s.io/v1",
			      "kind", "StorageClass", "metadata", "name", name, "provisioner",
			      "rancher.io/local-path", "reclaimPolicy", "Delete",
			      "volumeBindingMode", "WaitForFirstConsumer");
		if (eq)
			json_object_set_new(
			    json_object_get(o, "metadata"), "annotations",
			    json_pack("{s:s}", "storageclass.kubernetes.io/is-default-class", "true"));
		seed_add("StorageClass", o);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"listen", required_argument, NULL, 'l'},
	    {"ingress-listen", required_argument, NULL, 'i'},
	    {"dir", required_argument, NULL, 'd'},
	    {"token", required_argument, NULL, 't'},
	    {"pod-ready-ms", required_argument, NULL, 1},
	    {"job-complete-ms", required_argument, NULL, 2},
	    {"pvc-bind-ms", required_argument, NULL, 3},
	    {"ns-delete-ms", required_argument, NULL, 4},
	    {"observed-lag-ms", required_argument, NULL, 5},
	    {"continue-ttl-ms", required_argument, NULL, 6},
	    {"watch-window", required_argument, NULL, 7},
	    {"watch-queue", required_argument, NULL, 8},
	    {"watch-bookmark-ms", required_argument, NULL, 9},
	    {"cert-ready-ms", required_argument, NULL, 11},
	    {"job-runner", required_argument, NULL, 12},
	    {"fault", required_argument, NULL, 'f'},
	    {"seed", required_argument, NULL, 's'},
	    {"dns", required_argument, NULL, 10},
	    {"quiet", no_argument, NULL, 'q'},
	    {"node", required_argument, NULL, 'n'},
	    {"storage-class", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *listen_spec = NULL, *ingress_spec = NULL, *dir = NULL;
	const char *faults[32], *nodes[64], *classes[32];
	int nn = 0, nc = 0;
	int nf = 0, opt, port = 0, iport = 0, fd, ifd = -1, sig, i;
	struct ks_pki pki;
	struct err e = ERR_INIT;
	struct MHD_Daemon *d, *id = NULL;
	sigset_t set;
	int seeded = 0;

	if (sodium_init() < 0)
		return 1;
	if (getenv("KUBESIM_WATCH_WINDOW"))
		ks_opt.watch_window = atoi(getenv("KUBESIM_WATCH_WINDOW"));
	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (opt) {
		case 'l':
			listen_spec = optarg;
			break;
		case 'i':
			ingress_spec = optarg;
			break;
		case 'd':
			dir = optarg;
			break;
		case 't':
			snprintf(ks_opt.token, sizeof(ks_opt.token), "%s", optarg);
			break;
		case 1:
			ks_opt.pod_ready_ms = atoi(optarg);
			break;
		case 2:
			ks_opt.job_complete_ms = atoi(optarg);
			break;
		case 3:
			ks_opt.pvc_bind_ms = atoi(optarg);
			break;
		case 4:
			ks_opt.ns_delete_ms = atoi(optarg);
			break;
		case 5:
			ks_opt.observed_lag_ms = atoi(optarg);
			break;
		case 12:
			ks_opt.job_runner = optarg;
			break;
		case 6:
			ks_opt.continue_ttl_ms = atoi(optarg);
			break;
		case 7:
			ks_opt.watch_window = atoi(optarg);
			break;
		case 8:
			ks_opt.watch_queue = atoi(optarg);
			break;
		case 9:
			ks_opt.watch_bookmark_ms = atoi(optarg);
			break;
		case 11:
			ks_opt.cert_ready_ms = atoi(optarg);
			break;
		case 'f':
			if (nf < 32)
				faults[nf++] = optarg;
			break;
		case 10:
			if (ks_dns_add(optarg, &e) < 0) {
				fprintf(stderr, "kubesim: %s\n", e.msg);
				return 2;
			}
			break;
		case 's':
			ks_opt.seed = (unsigned)strtoul(optarg, NULL, 10);
			seeded = 1;
			break;
		case 'q':
			ks_opt.quiet = 1;
			break;
		case 'n':
			if (nn < 64)
				nodes[nn++] = optarg;
			break;
		case 'c':
			if (nc < 32)
				classes[nc++] = optarg;
			break;
		case 'h':
			usage();
			return 0;
		default:
			usage();
			return 2;
		}
	}
	if (!listen_spec || !dir || optind != argc || ks_opt.watch_window < 1 ||
	    ks_opt.watch_queue < 1 || ks_opt.watch_bookmark_ms < 1) {
		usage();
		return 2;
	}
	if (seeded)
		rng = 0x9e3779b97f4a7c15ULL ^ ks_opt.seed;
	else
		randombytes_buf(&rng, sizeof(rng));
	if (!rng)
		rng = 88172645463325252ULL;
	if (!ks_opt.token[0]) {
		unsigned char raw[24];

		randombytes_buf(raw, sizeof(raw));
		sodium_bin2hex(ks_opt.token, sizeof(ks_opt.token), raw, sizeof(raw));
	}
	for (i = 0; i < nf; i++)
		if (ks_fault_add_str(faults[i], &e) < 0) {
			fprintf(stderr, "kubesim: --fault: %s\n", e.msg);
			return 2;
		}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "kubesim: cannot create '%s': %s\n", dir, strerror(errno));
		return 1;
	}
	fd = listen_on(listen_spec, &port, &e);
	if (fd < 0 || (ingress_spec && (ifd = listen_on(ingress_spec, &iport, &e)) < 0)) {
		fprintf(stderr, "kubesim: %s\n", e.msg);
		return 2;
	}
	if (ks_tls_generate(&pki, &e) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		return 1;
	}
	ks_store_init();
	seed_object("Namespace", "default");
	seed_object("Namespace", "kube-system");
	seed_object("Namespace", "kube-public");
	seed_object("Namespace", "kube-node-lease");
	if (seed_cluster(nodes, nn, classes, nc, &e) < 0) {
		fprintf(stderr, "kubesim: %s\n", e.msg);
		return 2;
	}

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	d = MHD_start_daemon(
	    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS, 0, NULL,
	    NULL, api, NULL, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_HTTPS_MEM_KEY, pki.server_key,
	    MHD_OPTION_HTTPS_MEM_CERT, pki.server_crt, MHD_OPTION_HTTPS_MEM_TRUST, pki.ca_crt,
	    MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned)300, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "kubesim: cannot start the HTTPS server\n");
		return 1;
	}
	if (ifd >= 0) {
		id = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, ingress, NULL,
				      MHD_OPTION_LISTEN_SOCKET, ifd, MHD_OPTION_CONNECTION_TIMEOUT,
				      (unsigned)30, MHD_OPTION_END);
		if (!id) {
			fprintf(stderr, "kubesim: cannot start the ingress server\n");
			return 1;
		}
	}
	if (ks_ctl_start() < 0) {
		fprintf(stderr, "kubesim: cannot start the controllers\n");
		return 1;
	}
	if (write_files(dir, &pki, port, iport, &e) < 0) {
		fprintf(stderr, "kubesim: %s\n", e.msg);
		return 1;
	}
	ks_log("listening on https://127.0.0.1:%d%s", port, ingress_spec ? " (+ingress)" : "");
	while (sigwait(&set, &sig) != 0)
		;
	ks_log("signal %d: stopping", sig);
	ks_stopping = 1;
	if (id)
		MHD_stop_daemon(id);
	MHD_stop_daemon(d);
	ks_ctl_stop();
	ks_tls_free(&pki);
	return 0;
}
