/* t-kubeconfig.c - kubeconfig and in-cluster loading: every supported field, every refusal. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "kubeconfig.h"
#include "tap.h"

static char dir[64];

static const char ca_pem[] = "-----BEGIN CERTIFICATE-----\nQ0E=\n-----END CERTIFICATE-----\n";
static const char cert_pem[] = "-----BEGIN CERTIFICATE-----\nQ0VSVA==\n-----END CERTIFICATE-----\n";
static const char key_pem[] = "-----BEGIN EC PRIVATE KEY-----\nS0VZ\n-----END EC PRIVATE KEY-----\n";

static char *path_of(const char *name)
{
	static char p[8][256];
	static int i;

	i = (i + 1) % 8;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

static void write_file(const char *name, const char *text)
{
	FILE *f = fopen(path_of(name), "w");

	if (!f) {
		perror(name);
		exit(1);
	}
	fputs(text, f);
	fclose(f);
}

static char *b64(const char *s)
{
	static char out[8][512];
	static int i;

	i = (i + 1) % 8;
	sodium_bin2base64(out[i], sizeof(out[i]), (const unsigned char *)s, strlen(s),
			  sodium_base64_VARIANT_ORIGINAL);
	return out[i];
}

/* A kubeconfig with one cluster (extra cluster lines) and one user (extra user lines). */
static void write_kc(const char *name, const char *cluster_extra, const char *user_extra)
{
	char text[4096];

	snprintf(text, sizeof(text),
		 "apiVersion: v1\n"
		 "kind: Config\n"
		 "current-context: main\n"
		 "clusters:\n"
		 "- name: c1\n"
		 "  cluster:\n"
		 "    server: https://127.0.0.1:6443/\n"
		 "%s"
		 "users:\n"
		 "- name: u1\n"
		 "  user:\n"
		 "%s"
		 "contexts:\n"
		 "- name: main\n"
		 "  context: {cluster: c1, user: u1, namespace: store-system}\n"
		 "- name: other\n"
		 "  context:\n"
		 "    cluster: c1\n"
		 "- name: broken\n"
		 "  context: {cluster: nope, user: u1}\n"
		 "- name: nouser\n"
		 "  context: {cluster: c1, user: ghost}\n",
		 cluster_extra, user_extra);
	write_file(name, text);
}

static int load(struct kubeconfig *kc, const char *name, const char *ctx, struct err *e)
{
	err_clear(e);
	return kubeconfig_load(kc, path_of(name), ctx, NULL, e);
}

#define has(s, sub) (strstr((s), (sub)) != NULL)

static void basic_tests(void)
{
	struct kubeconfig kc;
	struct err e = ERR_INIT;
	char text[1024];

	write_kc("token.yaml", "", "    token: abc.def\n");
	ok(load(&kc, "token.yaml", NULL, &e) == 0, "token kubeconfig loads (%s)", e.msg);
	is_str(kc.context, "main", "current-context used");
	is_str(kc.server, "https://127.0.0.1:6443", "server without trailing slash");
	is_str(kc.namespace, "store-system", "context namespace");
	is_str(kc.token, "abc.def", "token");
	ok(kc.ca == NULL && !kc.insecure, "no CA: system CAs, verified");
	is_str(kc.source, path_of("token.yaml"), "source names the file");
	kubeconfig_release(&kc);
	kubeconfig_release(&kc);

	ok(load(&kc, "token.yaml", "other", &e) == 0, "named context loads (%s)", e.msg);
	is_str(kc.context, "other", "named context chosen");
	is_str(kc.user, "", "context without a user: anonymous");
	is_str(kc.token, "", "no token for anonymous");
	kubeconfig_release(&kc);

	ok(load(&kc, "token.yaml", "missing", &e) < 0 && has(e.msg, "context 'missing' not found"),
	   "unknown context: %s", e.msg);
	ok(load(&kc, "token.yaml", "broken", &e) < 0 && has(e.msg, "cluster 'nope' not found"),
	   "unknown cluster: %s", e.msg);
	ok(load(&kc, "token.yaml", "nouser", &e) < 0 && has(e.msg, "user 'ghost' not found"),
	   "unknown user: %s", e.msg);

	snprintf(text, sizeof(text), "    certificate-authority-data: %s\n    tls-server-name: kubernetes\n",
		 b64(ca_pem));
	write_kc("cadata.yaml", text, "    token: t\n");
	ok(load(&kc, "cadata.yaml", NULL, &e) == 0, "CA data loads (%s)", e.msg);
	ok(kc.ca && kc.ca_len == strlen(ca_pem) && !memcmp(kc.ca, ca_pem, kc.ca_len), "CA bytes decoded");
	is_str(kc.tls_server_name, "kubernetes", "tls-server-name");
	kubeconfig_release(&kc);

	mkdir(path_of("sub"), 0700);
	write_file("sub/ca.crt", ca_pem);
	write_file("sub/client.crt", cert_pem);
	write_file("sub/client.key", key_pem);
	write_kc("sub/files.yaml", "    certificate-authority: ca.crt\n",
		 "    client-certificate: client.crt\n    client-key: ./client.key\n");
	ok(load(&kc, "sub/files.yaml", NULL, &e) == 0, "file paths relative to the kubeconfig (%s)", e.msg);
	ok(kc.ca && kc.ca_len == strlen(ca_pem), "CA read from the file");
	ok(kc.cert && !memcmp(kc.cert, cert_pem, kc.cert_len), "client certificate read");
	ok(kc.key && !memcmp(kc.key, key_pem, kc.key_len), "client key read");
	kubeconfig_release(&kc);

	snprintf(text, sizeof(text), "    client-certificate-data: %s\n    client-key-data: %s\n",
		 b64(cert_pem), b64(key_pem));
	write_kc("certdata.yaml", "    insecure-skip-tls-verify: true\n", text);
	ok(load(&kc, "certdata.yaml", NULL, &e) == 0, "client cert data + insecure loads (%s)", e.msg);
	ok(kc.insecure, "insecure-skip-tls-verify read");
	ok(kc.cert_len == strlen(cert_pem) && kc.key_len == strlen(key_pem), "cert and key decoded");
	kubeconfig_release(&kc);
}

static void refusal_tests(void)
{
	struct kubeconfig kc;
	struct err e = ERR_INIT;
	char text[1024];

	snprintf(text, sizeof(text), "    certificate-authority-data: %s\n    insecure-skip-tls-verify: true\n",
		 b64(ca_pem));
	write_kc("insecure-ca.yaml", text, "    token: t\n");
	ok(load(&kc, "insecure-ca.yaml", NULL, &e) < 0 &&
		   has(e.msg, "root certificates file with the insecure flag is not allowed"),
	   "insecure + CA refused like client-go: %s", e.msg);
	ok(has(e.msg, "insecure-ca.yaml:") && has(e.msg, "cluster 'c1'"), "message has file:line and the cluster");

	write_kc("exec.yaml", "",
		 "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: aws\n");
	ok(load(&kc, "exec.yaml", NULL, &e) < 0 && has(e.msg, "user 'u1'") && has(e.msg, "exec") &&
		   has(e.msg, "not supported") && has(e.msg, "'aws'"),
	   "exec user refused by name: %s", e.msg);
	write_kc("authp.yaml", "", "    auth-provider:\n      name: oidc\n");
	ok(load(&kc, "authp.yaml", NULL, &e) < 0 && has(e.msg, "auth-provider 'oidc' is not supported"),
	   "auth-provider refused: %s", e.msg);
	write_kc("basic.yaml", "", "    username: admin\n    password: secret\n");
	ok(load(&kc, "basic.yaml", NULL, &e) < 0 && has(e.msg, "basic auth") && !has(e.msg, "secret"),
	   "username/password refused, password not echoed: %s", e.msg);
	write_kc("as.yaml", "", "    token: t\n    as: admin\n");
	ok(load(&kc, "as.yaml", NULL, &e) < 0 && has(e.msg, "impersonation"), "impersonation refused: %s", e.msg);

	snprintf(text, sizeof(text), "    client-certificate-data: %s\n", b64(cert_pem));
	write_kc("nokey.yaml", "", text);
	ok(load(&kc, "nokey.yaml", NULL, &e) < 0 && has(e.msg, "client-certificate without client-key"),
	   "certificate without key refused: %s", e.msg);
	write_kc("badb64.yaml", "    certificate-authority-data: '%%%not base64'\n", "    token: t\n");
	ok(load(&kc, "badb64.yaml", NULL, &e) < 0 && has(e.msg, "not valid base64"), "bad base64: %s", e.msg);
	snprintf(text, sizeof(text), "    certificate-authority-data: %s\n", b64("hello"));
	write_kc("notpem.yaml", text, "    token: t\n");
	ok(load(&kc, "notpem.yaml", NULL, &e) < 0 && has(e.msg, "PEM"), "base64 of a non-PEM: %s", e.msg);
	write_kc("noca.yaml", "    certificate-authority: /nonexistent/ca.crt\n", "    token: t\n");
	ok(load(&kc, "noca.yaml", NULL, &e) < 0 && has(e.msg, "/nonexistent/ca.crt") &&
		   has(e.msg, "No such file"),
	   "missing CA file named: %s", e.msg);
	write_kc("numtoken.yaml", "", "    token: 12345\n");
	ok(load(&kc, "numtoken.yaml", NULL, &e) < 0 && has(e.msg, "token must be a string"),
	   "a token YAML reads as a number is refused, not dropped: %s", e.msg);
	write_kc("notoken.yaml", "", "    tokenFile: missing-token\n");
	ok(load(&kc, "notoken.yaml", NULL, &e) < 0 && has(e.msg, "missing-token"), "missing token file: %s", e.msg);

	write_file("noserver.yaml", "current-context: a\nclusters:\n- name: c\n  cluster: {}\n"
				    "contexts:\n- name: a\n  context: {cluster: c}\n");
	ok(load(&kc, "noserver.yaml", NULL, &e) < 0 && has(e.msg, "no server") &&
		   has(e.msg, "noserver.yaml:4"),
	   "cluster without server, with its line: %s", e.msg);
	write_file("nocur.yaml", "clusters: []\ncontexts: []\n");
	ok(load(&kc, "nocur.yaml", NULL, &e) < 0 && has(e.msg, "no current-context"), "no current-context: %s", e.msg);
	write_file("ftp.yaml", "current-context: a\nclusters:\n- name: c\n  cluster: {server: 'ftp://x'}\n"
			       "contexts:\n- name: a\n  context: {cluster: c}\n");
	ok(load(&kc, "ftp.yaml", NULL, &e) < 0 && has(e.msg, "not an http(s):// URL"), "non-HTTP server: %s", e.msg);

	write_file("bad.yaml", "apiVersion: v1\nclusters:\n- name: c\n  cluster:\n    server: [unclosed\n");
	ok(load(&kc, "bad.yaml", NULL, &e) < 0, "malformed YAML refused");
	ok(has(e.msg, path_of("bad.yaml")) && strstr(e.msg, "bad.yaml:") && strchr(strstr(e.msg, "bad.yaml:") + 9, ':'),
	   "malformed YAML: file:line:col (%s)", e.msg);
	write_file("dup.yaml", "current-context: a\ncurrent-context: b\n");
	ok(load(&kc, "dup.yaml", NULL, &e) < 0 && has(e.msg, "dup.yaml:2"), "duplicate key with its line: %s", e.msg);
	write_file("list.yaml", "- a\n- b\n");
	ok(load(&kc, "list.yaml", NULL, &e) < 0 && has(e.msg, "not a mapping"), "not a mapping: %s", e.msg);
	ok(load(&kc, "does-not-exist.yaml", NULL, &e) < 0 && has(e.msg, "does-not-exist.yaml") &&
		   has(e.msg, "No such file"),
	   "missing kubeconfig named: %s", e.msg);
}

static void token_file_tests(void)
{
	struct kubeconfig kc;
	struct err e = ERR_INIT;
	struct timespec later[2] = {{0, UTIME_OMIT}, {0, 0}};

	write_file("tok", "first-token\n");
	write_kc("tokfile.yaml", "", "    token: static\n    tokenFile: tok\n");
	ok(load(&kc, "tokfile.yaml", NULL, &e) == 0, "tokenFile loads (%s)", e.msg);
	is_str(kc.token, "first-token", "tokenFile wins over token, newline trimmed");
	is_str(kc.token_file, path_of("tok"), "token file path resolved");
	is_int(kubeconfig_refresh_token(&kc, 0, &e), 0, "unchanged file: no re-read");
	write_file("tok", "second-token");
	/* a different mtime even within the same clock tick */
	clock_gettime(CLOCK_REALTIME, &later[1]);
	later[1].tv_sec += 5;
	utimensat(AT_FDCWD, path_of("tok"), later, 0);
	is_int(kubeconfig_refresh_token(&kc, 0, &e), 1, "rotated file: re-read");
	is_str(kc.token, "second-token", "new token in use");
	is_int(kubeconfig_refresh_token(&kc, 1, &e), 0, "forced re-read of the same token: unchanged");
	unlink(path_of("tok"));
	ok(kubeconfig_refresh_token(&kc, 1, &e) < 0, "vanished token file: error");
	is_str(kc.token, "second-token", "old token kept");
	kubeconfig_release(&kc);
}

static void list_tests(void)
{
	struct kubeconfig kc;
	struct err e = ERR_INIT;
	char env[1024];

	/* first file: the context; second: cluster and user; client-go merges them */
	write_file("a.yaml", "current-context: split\ncontexts:\n- name: split\n  context: {cluster: c2, user: u2}\n"
			     "users:\n- name: u2\n  user: {token: from-a}\n");
	write_file("b.yaml", "current-context: ignored\nclusters:\n- name: c2\n  cluster: {server: 'https://10.0.0.1:6443'}\n"
			     "users:\n- name: u2\n  user: {token: from-b}\n");
	snprintf(env, sizeof(env), "%s:%s:%s", path_of("missing.yaml"), path_of("a.yaml"), path_of("b.yaml"));
	setenv("KUBECONFIG", env, 1);
	ok(kubeconfig_load(&kc, "", NULL, NULL, &e) == 0, "KUBECONFIG list loads (%s)", e.msg);
	is_str(kc.context, "split", "current-context from the first file that sets it");
	is_str(kc.server, "https://10.0.0.1:6443", "cluster from the second file");
	is_str(kc.token, "from-a", "first file wins for the user");
	kubeconfig_release(&kc);

	setenv("KUBECONFIG", path_of("missing.yaml"), 1);
	setenv("HOME", path_of("home"), 1);
	unsetenv("KUBERNETES_SERVICE_HOST");
	err_clear(&e);
	ok(kubeconfig_load(&kc, NULL, NULL, NULL, &e) < 0 && has(e.msg, "none of the files in KUBECONFIG"),
	   "KUBECONFIG with no existing file: %s", e.msg);
	unsetenv("KUBECONFIG");
	mkdir(path_of("home"), 0700);
	mkdir(path_of("home/.kube"), 0700);
	write_kc("home/.kube/config", "", "    token: home\n");
	err_clear(&e);
	ok(kubeconfig_load(&kc, NULL, NULL, NULL, &e) == 0, "~/.kube/config used (%s)", e.msg);
	is_str(kc.token, "home", "token from ~/.kube/config");
	kubeconfig_release(&kc);
	unlink(path_of("home/.kube/config"));
	err_clear(&e);
	ok(kubeconfig_load(&kc, NULL, NULL, NULL, &e) < 0 && has(e.msg, "no configuration found"),
	   "nothing configured: %s", e.msg);
}

static void in_cluster_tests(void)
{
	struct kubeconfig kc;
	struct err e = ERR_INIT;

	mkdir(path_of("sa"), 0700);
	write_file("sa/token", "sa-token\n");
	write_file("sa/ca.crt", ca_pem);
	write_file("sa/namespace", "storefleet-system");
	unsetenv("KUBERNETES_SERVICE_HOST");
	ok(kubeconfig_in_cluster(&kc, path_of("sa"), &e) < 0 &&
		   has(e.msg, "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined"),
	   "in-cluster without the variables: %s", e.msg);
	setenv("KUBERNETES_SERVICE_HOST", "10.43.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	err_clear(&e);
	ok(kubeconfig_in_cluster(&kc, path_of("sa"), &e) == 0, "in-cluster loads (%s)", e.msg);
	is_str(kc.server, "https://10.43.0.1:443", "server from the service variables");
	is_str(kc.token, "sa-token", "service-account token");
	is_str(kc.namespace, "storefleet-system", "service-account namespace");
	is_str(kc.context, "in-cluster", "context named in-cluster");
	ok(kc.ca_len == strlen(ca_pem), "service-account CA");
	kubeconfig_release(&kc);
	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	ok(kubeconfig_load(&kc, "in-cluster", NULL, path_of("sa"), &e) == 0, "forced in-cluster loads");
	is_str(kc.server, "https://[fd00::1]:443", "IPv6 host in brackets");
	kubeconfig_release(&kc);
	unlink(path_of("sa/ca.crt"));
	ok(kubeconfig_in_cluster(&kc, path_of("sa"), &e) < 0 && has(e.msg, "ca.crt"), "missing ca.crt: %s", e.msg);
	unsetenv("KUBERNETES_SERVICE_HOST");
}

/* In-memory text (a cluster's sealed kubeconfig) and the flattened form sealed at cluster add. */
static void text_tests(void)
{
	struct kubeconfig kc, back;
	struct err e = ERR_INIT;
	char text[2048];
	char *flat;

	/* files resolved when read from disk, then flattened: nothing refers to a file any more */
	write_file("tok2", "from-file\n");
	write_kc("sub/flat.yaml", "    certificate-authority: ca.crt\n    tls-server-name: kube\n",
		 "    client-certificate: client.crt\n    client-key: client.key\n    tokenFile: ../tok2\n");
	ok(load(&kc, "sub/flat.yaml", NULL, &e) == 0, "file-based kubeconfig loads (%s)", e.msg);
	flat = kubeconfig_flatten(&kc);
	ok(!has(flat, "ca.crt") && !has(flat, "tokenFile") && has(flat, "certificate-authority-data"),
	   "flattened: certificates inline, no file names");
	err_clear(&e);
	ok(kubeconfig_load_text(&back, flat, strlen(flat), "cluster:x", NULL, &e) == 0,
	   "the flattened text loads from memory (%s)", e.msg);
	is_str(back.server, kc.server, "same server");
	is_str(back.token, "from-file", "token inline");
	is_str(back.namespace, "store-system", "same namespace");
	is_str(back.tls_server_name, "kube", "same tls-server-name");
	ok(back.ca_len == kc.ca_len && !memcmp(back.ca, kc.ca, kc.ca_len), "same CA bytes");
	ok(back.cert_len == kc.cert_len && back.key_len == kc.key_len &&
		   !memcmp(back.key, kc.key, kc.key_len),
	   "same client certificate and key");
	is_str(back.token_file, "", "no token file");
	kubeconfig_release(&back);
	kubeconfig_release(&kc);
	free(flat);

	snprintf(text, sizeof(text),
		 "apiVersion: v1\nkind: Config\ncurrent-context: a\n"
		 "clusters: [{name: c, cluster: {server: 'https://h:1', certificate-authority: /etc/ca}}]\n"
		 "contexts: [{name: a, context: {cluster: c}}, {name: b, context: {cluster: c, user: u}}]\n"
		 "users: [{name: u, user: {tokenFile: /run/tok}}]\n");
	err_clear(&e);
	ok(kubeconfig_load_text(&kc, text, strlen(text), "cluster:y", NULL, &e) < 0 &&
		   has(e.msg, "certificate-authority names a file"),
	   "text naming a CA file refused: %s", e.msg);
	snprintf(text, sizeof(text),
		 "apiVersion: v1\nkind: Config\ncurrent-context: a\n"
		 "clusters: [{name: c, cluster: {server: 'https://h:1'}}]\n"
		 "contexts: [{name: a, context: {cluster: c, user: u}}]\n"
		 "users: [{name: u, user: {tokenFile: /run/tok}}]\n");
	err_clear(&e);
	ok(kubeconfig_load_text(&kc, text, strlen(text), "cluster:y", NULL, &e) < 0 &&
		   has(e.msg, "tokenFile names a file"),
	   "text naming a token file refused: %s", e.msg);
	err_clear(&e);
	ok(kubeconfig_load_text(&kc, "a: [", 4, "cluster:z", NULL, &e) < 0 && has(e.msg, "cluster:z"),
	   "malformed text refused, named: %s", e.msg);
	err_clear(&e);
	ok(kubeconfig_load_text(&kc, text, strlen(text), "cluster:y", "nope", &e) < 0 &&
		   has(e.msg, "context 'nope' not found"),
	   "missing context in text: %s", e.msg);
}

int main(void)
{
	char cmd[128];

	snprintf(dir, sizeof(dir), "/tmp/t-kubeconfig.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	basic_tests();
	refusal_tests();
	token_file_tests();
	list_tests();
	in_cluster_tests();
	text_tests();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		diag("cannot remove %s", dir);
	return done_testing();
}
