/* kubeconfig.c - kubeconfig files or the in-cluster service account, resolved to one context. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "kubeconfig.h"
#include "y2j.h"

/* Certificates, keys and tokens are small; a larger file is a mistake. */
#define FILE_MAX (1 << 20)

static char *xstrdup(const char *s)
{
	char *p = strdup(s ? s : "");

	if (!p)
		die_oom();
	return p;
}

static void set_str(char **dst, const char *s)
{
	free(*dst);
	*dst = xstrdup(s);
}

void kubeconfig_release(struct kubeconfig *kc)
{
	free(kc->source);
	free(kc->context);
	free(kc->cluster);
	free(kc->user);
	free(kc->server);
	free(kc->namespace);
	free(kc->tls_server_name);
	free(kc->proxy_url);
	if (kc->key)
		sodium_memzero(kc->key, kc->key_len);
	free(kc->ca);
	free(kc->cert);
	free(kc->key);
	if (kc->token)
		sodium_memzero(kc->token, strlen(kc->token));
	free(kc->token);
	free(kc->token_file);
	memset(kc, 0, sizeof(*kc));
}

static void kc_init(struct kubeconfig *kc)
{
	memset(kc, 0, sizeof(*kc));
	kc->source = xstrdup("");
	kc->context = xstrdup("");
	kc->cluster = xstrdup("");
	kc->user = xstrdup("");
	kc->server = xstrdup("");
	kc->namespace = xstrdup("");
	kc->tls_server_name = xstrdup("");
	kc->proxy_url = xstrdup("");
	kc->token = xstrdup("");
	kc->token_file = xstrdup("");
}

/* Read a whole small file.  OUT: malloc'd, NUL-terminated (len excludes it). */
static int read_file(const char *path, unsigned char **out, size_t *len, struct timespec *mtime,
		     const char *what, struct err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	unsigned char *p;
	size_t n = 0;

	if (fd < 0)
		return err_set(e, 500, "cannot read %s '%s': %s", what, path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > FILE_MAX) {
		close(fd);
		return err_set(e, 500, "cannot read %s '%s': %s", what, path,
			       S_ISREG(st.st_mode) ? "larger than 1 MiB" : "not a regular file");
	}
	p = malloc((size_t)st.st_size + 1);
	if (!p)
		die_oom();
	while (n < (size_t)st.st_size) {
		ssize_t r = read(fd, p + n, (size_t)st.st_size - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	p[n] = '\0';
	*out = p;
	*len = n;
	if (mtime)
		*mtime = st.st_mtim;
	return 0;
}

/* A token file holds the token, maybe followed by a newline. */
static void trim_space(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
}

int kubeconfig_refresh_token(struct kubeconfig *kc, int force, struct err *e)
{
	struct stat st;
	unsigned char *p;
	size_t n;
	struct timespec mt;
	int changed;

	if (!kc->token_file || !*kc->token_file)
		return 0;
	if (!force && stat(kc->token_file, &st) == 0 &&
	    st.st_mtim.tv_sec == kc->token_mtime.tv_sec &&
	    st.st_mtim.tv_nsec == kc->token_mtime.tv_nsec)
		return 0;
	if (read_file(kc->token_file, &p, &n, &mt, "token file", e) < 0)
		return -1;
	trim_space((char *)p);
	if (!*p) {
		free(p);
		return err_set(e, 500, "token file '%s' is empty", kc->token_file);
	}
	changed = strcmp((char *)p, kc->token) != 0;
	sodium_memzero(kc->token, strlen(kc->token));
	free(kc->token);
	kc->token = (char *)p;
	kc->token_mtime = mt;
	return changed;
}

/* ---- kubeconfig files ---------------------------------------------------- */

struct kfile {
	char *path;
	char *dir;	/* for relative paths */
	json_t *doc;
	struct y2j_marks *marks;	/* where each node came from, for messages */
};

/* "kubeconfig FILE:LINE" of doc[...]{key} (the list item's value), or just the file. */
static void where(char *out, size_t n, const struct kfile *f, const json_t *item, const char *key)
{
	struct y2j_pos pos;

	if (item && y2j_marks_find(f->marks, item, key, 0, NULL, &pos) == 0 && pos.line)
		snprintf(out, n, "kubeconfig %s:%u", f->path, pos.line);
	else
		snprintf(out, n, "kubeconfig '%s'", f->path);
}

/* A path from the file, resolved against the file's directory.  OUT: malloc'd. */
static char *resolve(const struct kfile *f, const char *p)
{
	char *out;

	if (p[0] == '/')
		return xstrdup(p);
	if (p[0] == '~' && p[1] == '/' && getenv("HOME")) {
		if (asprintf(&out, "%s/%s", getenv("HOME"), p + 2) < 0)
			die_oom();
		return out;
	}
	if (asprintf(&out, "%s/%s", f->dir, p) < 0)
		die_oom();
	return out;
}

/* Find {name: X, <field>: {...}} in doc[list]; returns the inner object. */
static json_t *named(const json_t *doc, const char *list, const char *field, const char *name,
		     json_t *empty, json_t **item)
{
	json_t *arr = json_object_get(doc, list), *it;
	size_t i;

	if (!json_is_array(arr))
		return NULL;
	json_array_foreach(arr, i, it) {
		const char *n = json_string_value(json_object_get(it, "name"));

		if (n && !strcmp(n, name)) {
			json_t *in = json_object_get(it, field);

			*item = it;
			/* "user: {}" may be written as "user:" (null) */
			return json_is_object(in) ? in : empty;
		}
	}
	return NULL;
}

/* The first file that names it wins (client-go's merge rule).  empty: borrowed {} */
static json_t *find_named(struct kfile *fs, size_t nf, const char *list, const char *field,
			  const char *name, json_t *empty, const struct kfile **from, json_t **item)
{
	for (size_t i = 0; i < nf; i++) {
		json_t *o = named(fs[i].doc, list, field, name, empty, item);

		if (o) {
			*from = &fs[i];
			return o;
		}
	}
	return NULL;
}

/*
 * YAML types plain scalars: "token: 12345" is a number and "server: yes" a
 * boolean.  Refuse them instead of reading "" and quietly going anonymous.
 */
static int check_strings(const json_t *o, const char *const *keys, const char *msg,
			 struct err *e)
{
	for (; *keys; keys++) {
		json_t *v = json_object_get(o, *keys);

		if (v && !json_is_string(v) && !json_is_null(v))
			return err_set(e, 500, "%s: %s must be a string (quote it)", msg, *keys);
	}
	return 0;
}

static const char *str_field(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* A *-data field: base64 of PEM bytes. */
static int decode_data(const char *b64, unsigned char **out, size_t *len)
{
	size_t n = strlen(b64), bl;
	unsigned char *p = malloc(n + 1);

	if (!p)
		die_oom();
	if (sodium_base642bin(p, n, b64, n, " \t\r\n", &bl, NULL, sodium_base64_VARIANT_ORIGINAL) ||
	    bl == 0) {
		free(p);
		return -1;
	}
	p[bl] = '\0';
	*out = p;
	*len = bl;
	return 0;
}

static int is_pem(const unsigned char *p, size_t n)
{
	return n > 10 && memmem(p, n, "-----BEGIN ", 11) != NULL;
}

/*
 * One PEM item from FIELD-data (base64) or FIELD (a path); data wins, as in
 * client-go.  Returns 1 if set, 0 if neither is given, -1 on error.
 */
static int pem_item(const struct kfile *f, const json_t *o, const char *field, const char *what,
		    unsigned char **out, size_t *len, const char *ctx_msg, struct err *e)
{
	char key[64];
	const char *data, *path;

	snprintf(key, sizeof(key), "%s-data", field);
	data = str_field(o, key);
	path = str_field(o, field);
	if (*data) {
		if (decode_data(data, out, len) < 0)
			return err_set(e, 500, "%s: %s is not valid base64", ctx_msg, key);
		if (!is_pem(*out, *len))
			return err_set(e, 500, "%s: %s does not hold a PEM %s", ctx_msg, key, what);
		return 1;
	}
	if (*path) {
		char *full;

		if (!f->dir)
			return err_set(e, 500, "%s: %s names a file; a stored kubeconfig holds %s inline",
				       ctx_msg, field, key);
		full = resolve(f, path);
		struct err fe = ERR_INIT;
		int r = read_file(full, out, len, NULL, what, &fe);

		if (r < 0) {
			err_set(e, 500, "%s: %s", ctx_msg, fe.msg);
			free(full);
			return -1;
		}
		if (!is_pem(*out, *len)) {
			err_set(e, 500, "%s: %s '%s' does not hold a PEM %s", ctx_msg, field, full,
				what);
			free(full);
			return -1;
		}
		free(full);
		return 1;
	}
	return 0;
}

static const char *const cluster_strings[] = {
	"server", "certificate-authority", "certificate-authority-data", "tls-server-name",
	"proxy-url", NULL};
static const char *const user_strings[] = {
	"token", "tokenFile", "client-certificate", "client-certificate-data", "client-key",
	"client-key-data", "username", "password", NULL};

static int load_cluster(struct kubeconfig *kc, const struct kfile *f, const json_t *item,
			const json_t *c, struct err *e)
{
	char msg[200], at[120];
	const char *server = str_field(c, "server");
	json_t *ins = json_object_get(c, "insecure-skip-tls-verify");
	int r;

	where(at, sizeof(at), f, item, "cluster");
	snprintf(msg, sizeof(msg), "%s: context '%s': cluster '%s'", at, kc->context, kc->cluster);
	if (check_strings(c, cluster_strings, msg, e) < 0)
		return -1;
	if (!*server)
		return err_set(e, 500, "%s: no server", msg);
	if (strncmp(server, "https://", 8) && strncmp(server, "http://", 7))
		return err_set(e, 500, "%s: server '%s' is not an http(s):// URL", msg, server);
	set_str(&kc->server, server);
	{
		size_t n = strlen(kc->server);

		while (n > 8 && kc->server[n - 1] == '/')
			kc->server[--n] = '\0';
	}
	if (ins && !json_is_boolean(ins))
		return err_set(e, 500, "%s: insecure-skip-tls-verify must be true or false", msg);
	kc->insecure = json_is_true(ins);
	set_str(&kc->tls_server_name, str_field(c, "tls-server-name"));
	set_str(&kc->proxy_url, str_field(c, "proxy-url"));
	r = pem_item(f, c, "certificate-authority", "certificate", &kc->ca, &kc->ca_len, msg, e);
	if (r < 0)
		return -1;
	if (r > 0 && kc->insecure)
		/* client-go refuses the same combination (transport.go) */
		return err_set(e, 500,
			       "%s: specifying a root certificates file with the insecure flag "
			       "is not allowed",
			       msg);
	return 0;
}

static int load_user(struct kubeconfig *kc, const struct kfile *f, const json_t *item,
		     const json_t *u, struct err *e)
{
	char msg[200], at[120];
	const char *tf;
	int rc, rk;

	where(at, sizeof(at), f, item, "user");
	snprintf(msg, sizeof(msg), "%s: context '%s': user '%s'", at, kc->context, kc->user);
	if (check_strings(u, user_strings, msg, e) < 0)
		return -1;
	if (json_object_get(u, "exec")) {
		const char *cmd = str_field(json_object_get(u, "exec"), "command");

		return err_set(e, 500,
			       "%s: exec credential plugins ('%s') are not supported; use a token, "
			       "tokenFile or client certificate",
			       msg, cmd);
	}
	if (json_object_get(u, "auth-provider")) {
		const char *name = str_field(json_object_get(u, "auth-provider"), "name");

		return err_set(e, 500,
			       "%s: auth-provider '%s' is not supported; use a token, tokenFile or "
			       "client certificate",
			       msg, name);
	}
	if (*str_field(u, "username") || *str_field(u, "password"))
		return err_set(e, 500, "%s: username/password (basic auth) is not supported", msg);
	if (json_object_get(u, "as") || json_object_get(u, "as-groups") ||
	    json_object_get(u, "as-uid") || json_object_get(u, "as-user-extra"))
		return err_set(e, 500, "%s: impersonation (as, as-groups) is not supported", msg);

	rc = pem_item(f, u, "client-certificate", "certificate", &kc->cert, &kc->cert_len, msg, e);
	if (rc < 0)
		return -1;
	rk = pem_item(f, u, "client-key", "key", &kc->key, &kc->key_len, msg, e);
	if (rk < 0)
		return -1;
	if (rc != rk)
		return err_set(e, 500, "%s: %s without %s", msg,
			       rc ? "client-certificate" : "client-key",
			       rc ? "client-key" : "client-certificate");

	set_str(&kc->token, str_field(u, "token"));
	tf = str_field(u, "tokenFile");
	if (*tf) {
		struct err te = ERR_INIT;

		if (!f->dir)
			return err_set(e, 500, "%s: tokenFile names a file; a stored kubeconfig holds "
				       "the token inline", msg);

		/* as in client-go, a token file takes precedence and is re-read */
		free(kc->token_file);
		kc->token_file = resolve(f, tf);
		if (kubeconfig_refresh_token(kc, 1, &te) < 0)
			return err_set(e, 500, "%s: %s", msg, te.msg);
	}
	return 0;
}

/* The context (NULL or "" = current-context) of the merged files fs[0..nf), into kc. */
static int load_context(struct kubeconfig *kc, struct kfile *fs, size_t nf, const char *context,
			struct err *e)
{
	const struct kfile *cf, *uf, *xf;
	const char *ctxname = context && *context ? context : NULL;
	const char *cname, *uname;
	json_t *ctx, *cl, *us, *item = NULL, *empty = json_object();
	int ret = -1;

	set_str(&kc->source, fs[0].path);
	for (size_t i = 0; i < nf && !ctxname; i++) {
		const char *cc = str_field(fs[i].doc, "current-context");

		if (*cc)
			ctxname = cc;
	}
	if (!ctxname) {
		err_set(e, 500,
			"kubeconfig '%s': no current-context and no context chosen (kube_context)",
			fs[0].path);
		goto out;
	}
	set_str(&kc->context, ctxname);
	ctx = find_named(fs, nf, "contexts", "context", ctxname, empty, &xf, &item);
	if (!ctx) {
		err_set(e, 500, "kubeconfig '%s': context '%s' not found", fs[0].path, ctxname);
		goto out;
	}
	set_str(&kc->source, xf->path);
	cname = str_field(ctx, "cluster");
	uname = str_field(ctx, "user");
	set_str(&kc->namespace, str_field(ctx, "namespace"));
	if (!*cname) {
		err_set(e, 500, "kubeconfig '%s': context '%s' names no cluster", xf->path,
			ctxname);
		goto out;
	}
	set_str(&kc->cluster, cname);
	set_str(&kc->user, uname);
	cl = find_named(fs, nf, "clusters", "cluster", cname, empty, &cf, &item);
	if (!cl) {
		err_set(e, 500, "kubeconfig '%s': context '%s': cluster '%s' not found", xf->path,
			ctxname, cname);
		goto out;
	}
	if (load_cluster(kc, cf, item, cl, e) < 0)
		goto out;
	if (*uname) {
		us = find_named(fs, nf, "users", "user", uname, empty, &uf, &item);
		if (!us) {
			err_set(e, 500, "kubeconfig '%s': context '%s': user '%s' not found",
				xf->path, ctxname, uname);
			goto out;
		}
		if (load_user(kc, uf, item, us, e) < 0)
			goto out;
	}
	ret = 0;
out:
	json_decref(empty);
	return ret;
}

static void kfiles_free(struct kfile *fs, size_t nf)
{
	for (size_t i = 0; i < nf; i++) {
		free(fs[i].path);
		free(fs[i].dir);
		json_decref(fs[i].doc);
		y2j_marks_free(fs[i].marks);
	}
	free(fs);
}

int kubeconfig_load_files(struct kubeconfig *kc, const char *const *paths, size_t n,
			  const char *context, struct err *e)
{
	struct kfile *fs = calloc(n ? n : 1, sizeof(*fs));
	size_t nf = 0;
	int ret = -1;

	if (!fs)
		die_oom();
	kc_init(kc);
	for (size_t i = 0; i < n; i++) {
		struct err ye = ERR_INIT;
		struct y2j_opts opts = {0};
		char *slash;
		json_t *doc;

		if (!paths[i] || !*paths[i] || access(paths[i], F_OK) < 0)
			continue;
		fs[nf].marks = y2j_marks_new();
		opts.marks = fs[nf].marks;
		doc = y2j_load_file1(paths[i], &opts, &ye);
		if (!doc) {
			y2j_marks_free(fs[nf].marks);
			fs[nf].marks = NULL;
			err_set(e, 500, "kubeconfig %s", ye.msg);
			goto out;
		}
		if (!json_is_object(doc)) {
			json_decref(doc);
			y2j_marks_free(fs[nf].marks);
			fs[nf].marks = NULL;
			err_set(e, 500,
				"kubeconfig '%s': not a mapping (apiVersion: v1, kind: Config)",
				paths[i]);
			goto out;
		}
		fs[nf].path = xstrdup(paths[i]);
		fs[nf].dir = xstrdup(paths[i]);
		slash = strrchr(fs[nf].dir, '/');
		if (slash == fs[nf].dir)
			slash[1] = '\0';
		else if (slash)
			*slash = '\0';
		else
			set_str(&fs[nf].dir, ".");
		fs[nf].doc = doc;
		nf++;
	}
	if (!nf) {
		err_set(e, 500, "kubeconfig '%s': %s", n ? paths[0] : "", strerror(ENOENT));
		goto out;
	}
	ret = load_context(kc, fs, nf, context, e);
out:
	kfiles_free(fs, nf);
	if (ret < 0)
		kubeconfig_release(kc);
	return ret;
}

int kubeconfig_load_text(struct kubeconfig *kc, const char *text, size_t len, const char *name,
			 const char *context, struct err *e)
{
	struct kfile *fs = calloc(1, sizeof(*fs));
	struct y2j_opts opts = {0};
	struct err ye = ERR_INIT;
	size_t nf = 0;
	int ret = -1;

	if (!fs)
		die_oom();
	kc_init(kc);
	fs[0].marks = y2j_marks_new();
	opts.marks = fs[0].marks;
	fs[0].doc = y2j_load_string1(text, len, name, &opts, &ye);
	fs[0].path = xstrdup(name);
	nf = 1;
	if (!fs[0].doc) {
		err_set(e, 500, "kubeconfig %s", ye.msg);
		goto out;
	}
	if (!json_is_object(fs[0].doc)) {
		err_set(e, 500, "kubeconfig '%s': not a mapping (apiVersion: v1, kind: Config)",
			name);
		goto out;
	}
	ret = load_context(kc, fs, nf, context, e);
out:
	kfiles_free(fs, nf);
	if (ret < 0)
		kubeconfig_release(kc);
	return ret;
}

/* base64 of p[0..n) as a new JSON string. */
static json_t *b64_json(const unsigned char *p, size_t n)
{
	size_t cap = sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
	char *s = malloc(cap);
	json_t *j;

	if (!s)
		die_oom();
	sodium_bin2base64(s, cap, p, n, sodium_base64_VARIANT_ORIGINAL);
	j = json_string(s);
	sodium_memzero(s, cap);
	free(s);
	return j;
}

char *kubeconfig_flatten(const struct kubeconfig *kc)
{
	json_t *cl = json_object(), *us = json_object(), *ctx = json_object(), *doc;
	char *out;

	json_object_set_new(cl, "server", json_string(kc->server));
	if (kc->insecure)
		json_object_set_new(cl, "insecure-skip-tls-verify", json_true());
	if (*kc->tls_server_name)
		json_object_set_new(cl, "tls-server-name", json_string(kc->tls_server_name));
	if (*kc->proxy_url)
		json_object_set_new(cl, "proxy-url", json_string(kc->proxy_url));
	if (kc->ca)
		json_object_set_new(cl, "certificate-authority-data", b64_json(kc->ca, kc->ca_len));
	if (kc->cert) {
		json_object_set_new(us, "client-certificate-data", b64_json(kc->cert, kc->cert_len));
		json_object_set_new(us, "client-key-data", b64_json(kc->key, kc->key_len));
	}
	if (*kc->token)
		json_object_set_new(us, "token", json_string(kc->token));
	json_object_set_new(ctx, "cluster", json_string(kc->cluster));
	if (*kc->user)
		json_object_set_new(ctx, "user", json_string(kc->user));
	if (*kc->namespace)
		json_object_set_new(ctx, "namespace", json_string(kc->namespace));
	doc = json_pack("{s:s, s:s, s:s, s:[{s:s, s:o}], s:[{s:s, s:o}], s:[{s:s, s:o}]}",
			"apiVersion", "v1", "kind", "Config", "current-context", kc->context,
			"clusters", "name", kc->cluster, "cluster", cl, "users", "name",
			*kc->user ? kc->user : "-", "user", us, "contexts", "name", kc->context,
			"context", ctx);
	if (!doc || !(out = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER)))
		die_oom();
	json_decref(doc);
	return out;
}

/* ---- in-cluster ---------------------------------------------------------- */

int kubeconfig_in_cluster(struct kubeconfig *kc, const char *sa_dir, struct err *e)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	char *path = NULL, *server = NULL;
	unsigned char *ns;
	size_t n;
	struct err fe = ERR_INIT;

	if (!sa_dir || !*sa_dir)
		sa_dir = KUBECONFIG_SA_DIR;
	if (!host || !*host || !port || !*port)
		return err_set(e, 500,
			       "unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST "
			       "and KUBERNETES_SERVICE_PORT must be defined");
	kc_init(kc);
	set_str(&kc->source, "in-cluster");
	set_str(&kc->context, "in-cluster");
	set_str(&kc->cluster, "in-cluster");
	/* net.JoinHostPort: an IPv6 literal needs brackets */
	if (asprintf(&server,
		     strchr(host, ':') && host[0] != '[' ? "https://[%s]:%s" : "https://%s:%s",
		     host, port) < 0)
		die_oom();
	free(kc->server);
	kc->server = server;

	if (asprintf(&path, "%s/ca.crt", sa_dir) < 0)
		die_oom();
	if (read_file(path, &kc->ca, &kc->ca_len, NULL, "service-account CA", &fe) < 0 ||
	    !is_pem(kc->ca, kc->ca_len)) {
		err_set(e, 500, "in-cluster server '%s': %s", kc->server,
			fe.status ? fe.msg : "ca.crt does not hold a PEM certificate");
		free(path);
		kubeconfig_release(kc);
		return -1;
	}
	free(path);
	if (asprintf(&path, "%s/token", sa_dir) < 0)
		die_oom();
	free(kc->token_file);
	kc->token_file = path;
	if (kubeconfig_refresh_token(kc, 1, &fe) < 0) {
		err_set(e, 500, "in-cluster server '%s': %s", kc->server, fe.msg);
		kubeconfig_release(kc);
		return -1;
	}
	if (asprintf(&path, "%s/namespace", sa_dir) < 0)
		die_oom();
	if (read_file(path, &ns, &n, NULL, "namespace", &fe) == 0) {
		trim_space((char *)ns);
		free(kc->namespace);
		kc->namespace = (char *)ns;
	}
	free(path);
	set_str(&kc->user, "serviceaccount");
	return 0;
}

/* ---- resolution ---------------------------------------------------------- */

int kubeconfig_load(struct kubeconfig *kc, const char *path, const char *context,
		    const char *sa_dir, struct err *e)
{
	const char *env = getenv("KUBECONFIG"), *home = getenv("HOME");
	const char **list = NULL;
	char *copy = NULL, *tok, *save = NULL, *homecfg = NULL;
	size_t n = 0, any = 0;
	int r;

	if (path && !strcmp(path, "in-cluster"))
		return kubeconfig_in_cluster(kc, sa_dir, e);
	if (path && *path)
		return kubeconfig_load_files(kc, &path, 1, context, e);
	if (env && *env) {
		copy = xstrdup(env);
		list = calloc(strlen(env) + 1, sizeof(*list));
		if (!list)
			die_oom();
		for (tok = strtok_r(copy, ":", &save); tok; tok = strtok_r(NULL, ":", &save)) {
			list[n++] = tok;
			any |= access(tok, F_OK) == 0;
		}
		if (any) {
			r = kubeconfig_load_files(kc, list, n, context, e);
			free(list);
			free(copy);
			return r;
		}
		free(list);
		free(copy);
	}
	if (home && *home) {
		if (asprintf(&homecfg, "%s/.kube/config", home) < 0)
			die_oom();
		if (access(homecfg, F_OK) == 0) {
			const char *p = homecfg;

			r = kubeconfig_load_files(kc, &p, 1, context, e);
			free(homecfg);
			return r;
		}
		free(homecfg);
	}
	if (getenv("KUBERNETES_SERVICE_HOST"))
		return kubeconfig_in_cluster(kc, sa_dir, e);
	if (env && *env)
		return err_set(e, 500, "kubeconfig: none of the files in KUBECONFIG ('%s') exists",
			       env);
	return err_set(e, 500,
		       "kubeconfig: no configuration found (kubeconfig setting, KUBECONFIG, "
		       "~/.kube/config, or in-cluster KUBERNETES_SERVICE_HOST)");
}
