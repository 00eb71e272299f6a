/* t-blueprint.c - chart loading and rendering: layers, types, placeholders, conditions, hostile
 * values. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "blueprint.h"
#include "tap.h"
#include "y2j.h"

static char tmp[] = "/tmp/t-blueprint-XXXXXX";
static char root[4200]; /* $SF_ROOT/charts */

static void put(const char *rel, const char *text)
{
	char path[4300], dir[4300], *slash;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	snprintf(dir, sizeof(dir), "%s", path);
	for (slash = strchr(dir + strlen(tmp) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(dir, 0755);
		*slash = '/';
	}
	f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		printf("Bail out! cannot write %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

static const char *base_values = "domain: example.test\n"
				 "tls:\n"
				 "  enabled: false\n"
				 "replicas: 1\n"
				 "image: app:1.0\n"
				 "feature: false\n"
				 "label: \"\"\n"
				 "nested:\n"
				 "  port: 80\n"
				 "  name: web\n"
				 "  res:\n"
				 "    cpu: 100m\n"
				 "list: [a, b]\n"
				 "nothing: ~\n"
				 "secrets:\n"
				 "  pw: \"\"\n";

static const char *base_manifest = "apiVersion: v1\n"
				   "kind: ConfigMap\n"
				   "metadata:\n"
				   "  name: cfg\n"
				   "data:\n"
				   "  image: ${image}\n"
				   "  where: \"http://${store.host}:${nested.port}/x\"\n"
				   "  literal: \"$${not.a.placeholder} and $HOME\"\n"
				   "  pw: ${secrets.pw}\n"
				   "---\n"
				   "apiVersion: apps/v1\n"
				   "kind: Deployment\n"
				   "metadata:\n"
				   "  name: app\n"
				   "spec:\n"
				   "  replicas: ${replicas}\n"
				   "  selector:\n"
				   "    matchLabels: {app: x}\n"
				   "  template:\n"
				   "    metadata:\n"
				   "      labels: {app: x}\n"
				   "    spec:\n"
				   "      containers:\n"
				   "      - name: c\n"
				   "        image: ${image}\n"
				   "        resources:\n"
				   "          requests: ${nested.res}\n"
				   "        env:\n"
				   "        - name: ALWAYS\n"
				   "          value: x\n"
				   "        - $when: feature\n"
				   "          name: FEATURE\n"
				   "          value: on-value\n"
				   "        - $when: \"!feature\"\n"
				   "          name: NO_FEATURE\n"
				   "          value: off-value\n"
				   "        ports?feature:\n"
				   "        - containerPort: ${nested.port}\n"
				   "        args?label: [\"${label}\"]\n"
				   "---\n"
				   "$when: feature\n"
				   "apiVersion: v1\n"
				   "kind: Service\n"
				   "metadata: {name: svc}\n";

static void chart(const char *values, const char *manifest)
{
	put("c/t/values.yaml", values ? values : base_values);
	put("c/t/values-local.yaml", "replicas: 2\n");
	put("c/t/manifests/10-all.yaml", manifest ? manifest : base_manifest);
}

static char chartdir[4300];

static struct blueprint *load(const char *overlay, const char *ops, struct err *e)
{
	char path[4300];

	err_clear(e);
	snprintf(path, sizeof(path), "%s/ops.yaml", tmp);
	if (ops)
		put("ops.yaml", ops);
	return blueprint_load(chartdir, "t", overlay, ops ? path : NULL, e);
}

/* Every secret of bp as "<prefix>-<name>-0123456789" (new reference). */
static json_t *secrets_with(const struct blueprint *bp, const char *prefix)
{
	json_t *s = json_object(), *n;
	size_t i;

	json_array_foreach(blueprint_secret_names(bp), i, n) {
		char v[64];

		snprintf(v, sizeof(v), "%s-%s-0123456789", prefix, json_string_value(n));
		json_object_set_new(s, json_string_value(n), json_string(v));
	}
	return s;
}

static json_t *secrets_for(const struct blueprint *bp)
{
	return secrets_with(bp, "test");
}

static json_t *render(const struct blueprint *bp, const char *id, const char *name, struct err *e)
{
	json_t *sec = secrets_for(bp), *set;
	struct blueprint_store s = {
	    .id = id, .name = name, .owner_email = "o@example.com", .secrets = sec};

	err_clear(e);
	set = blueprint_render(bp, &s, e);
	json_decref(sec);
	return set;
}

static const json_t *find(const json_t *set, const char *kind, const char *name)
{
	size_t i;
	json_t *o;

	json_array_foreach(set, i, o)
		if (!strcmp(json_string_value(json_object_get(o, "kind")), kind) &&
		    !strcmp(
			json_string_value(json_object_get(json_object_get(o, "metadata"), "name")),
			name))
			return o;
	return NULL;
}

static const char *str_at(const json_t *o, const char *path)
{
	char buf[256], *save, *seg;
	const json_t *cur = o;

	snprintf(buf, sizeof(buf), "%s", path);
	for (seg = strtok_r(buf, "/", &save); seg && cur; seg = strtok_r(NULL, "/", &save))
		cur = json_is_array(cur) ? json_array_get(cur, (size_t)atoi(seg))
					 : json_object_get(cur, seg);
	return json_string_value(cur);
}

static void test_layers_and_placeholders(void)
{
	struct err e = ERR_INIT;
	struct blueprint *bp;
	json_t *set;
	const json_t *cm, *dep, *c;

	chart(NULL, NULL);
	bp = load("local", "image: app:2.0\nnested:\n  port: 8080\n", &e);
	ok(bp != NULL, "chart loads with overlay and operator file (%s)", e.msg);
	if (!bp)
		return;
	set = render(bp, "abc", "Shop", &e);
	ok(set != NULL, "renders (%s)", e.msg);
	cm = find(set, "ConfigMap", "cfg");
	dep = find(set, "Deployment", "app");
	is_str(str_at(cm, "data/image"), "app:2.0", "operator file wins over values.yaml");
	is_int(json_integer_value(json_object_get(json_object_get(dep, "spec"), "replicas")), 2,
	       "overlay wins over values.yaml, and a whole placeholder keeps the integer type");
	is_str(str_at(cm, "data/where"), "http://store-abc.example.test:8080/x",
	       "placeholders inside text are printed into it");
	is_str(str_at(cm, "data/literal"), "${not.a.placeholder} and $HOME",
	       "$${ is a literal ${, a lone $ stays");
	is_str(str_at(cm, "data/pw"), "test-pw-0123456789", "secrets come from the store");
	is_str(str_at(cm, "metadata/namespace"), "store-abc", "namespace set on namespaced kinds");
	c = json_array_get(
	    json_object_get(
		json_object_get(json_object_get(json_object_get(dep, "spec"), "template"), "spec"),
		"containers"),
	    0);
	is_str(str_at(c, "resources/requests/cpu"), "100m", "a whole placeholder can be a mapping");
	is_str(str_at(c, "env/1/name"), "NO_FEATURE", "$when drops a list item, !cond keeps one");
	ok(json_array_size(json_object_get(c, "env")) == 2, "exactly two env items");
	ok(!json_object_get(c, "ports"), "key?cond omits a key when false");
	ok(!json_object_get(c, "args"), "a string condition is false when empty");
	ok(!find(set, "Service", "svc"), "$when omits a whole document");
	json_decref(set);
	ok(blueprint_set(bp, "feature", "yes", "test", &e) == 0, "blueprint_set a boolean");
	ok(blueprint_set(bp, "label", "lbl", "test", &e) == 0, "blueprint_set a string");
	set = render(bp, "abc", "Shop", &e);
	dep = find(set, "Deployment", "app");
	c = json_array_get(
	    json_object_get(
		json_object_get(json_object_get(json_object_get(dep, "spec"), "template"), "spec"),
		"containers"),
	    0);
	is_str(str_at(c, "env/1/name"), "FEATURE", "condition true keeps the item");
	ok(json_is_integer(
	       json_object_get(json_array_get(json_object_get(c, "ports"), 0), "containerPort")),
	   "key?cond keeps the key when true");
	is_str(str_at(c, "args/0"), "lbl", "non-empty string condition is true");
	ok(find(set, "Service", "svc") != NULL, "$when keeps the document when true");
	json_decref(set);

	err_clear(&e);
	ok(blueprint_set(bp, "replicas", "many", "SF_X", &e) < 0, "blueprint_set type mismatch");
	is_str(e.msg, "SF_X: 'replicas' is a string, but values.yaml has an integer",
	       "blueprint_set error");
	err_clear(&e);
	ok(blueprint_set(bp, "nope", "1", "SF_X", &e) < 0, "blueprint_set unknown key");
	err_clear(&e);
	ok(blueprint_set(bp, "secrets.pw", "x", "SF_X", &e) < 0, "blueprint_set refuses secrets");
	blueprint_free(bp);
}

static void test_value_errors(void)
{
	struct err e = ERR_INIT;
	char want[600];

	chart(NULL, NULL);
	ok(!load(NULL, "replicas: \"3\"\n", &e), "string where values.yaml has an int");
	snprintf(want, sizeof(want),
		 "%s/ops.yaml:1: 'replicas' is a string, but %s/c/t/values.yaml:4 has an integer",
		 tmp, tmp);
	is_str(e.msg, want, "type mismatch names both files, lines and the key");

	ok(!load(NULL, "# ops\nnested:\n  name: x\n  bogus: 1\n", &e), "unknown operator key");
	snprintf(want, sizeof(want),
		 "%s/ops.yaml:4: unknown value 'nested.bogus' (values.yaml has no such key)", tmp);
	is_str(e.msg, want, "unknown key error names file, line and dotted key");

	ok(!load(NULL, "nested: 5\n", &e), "scalar where values.yaml has a mapping");
	ok(strstr(e.msg, "'nested' is an integer, but") != NULL, "%s", e.msg);
	ok(!load(NULL, "feature: \"yes\"\n", &e), "quoted yes is a string, not a boolean");
	ok(!load(NULL, "secrets:\n  pw: x\n", &e), "secrets cannot come from a values file");
	ok(strstr(e.msg, "ops.yaml:1: 'secrets': secrets come only from the store") != NULL, "%s",
	   e.msg);
	ok(!load(NULL, "a: 1\na: 2\n", &e), "duplicate key in operator file");
	ok(strstr(e.msg, "ops.yaml:2:1: duplicate key 'a'") != NULL, "%s", e.msg);
	ok(!load(NULL, "image: [\n", &e), "YAML error in operator file");
	ok(strstr(e.msg, "ops.yaml:2:1: ") != NULL, "%s", e.msg);
	{
		struct blueprint *bp = load(NULL, "list: [x, y, z]\nnothing: 3\n", &e);

		ok(bp != NULL, "a list replaces a list; null accepts any scalar (%s)", e.msg);
		blueprint_free(bp);
	}
	ok(!load("staging", NULL, &e), "unknown overlay");
	ok(strstr(e.msg, "has no overlay 'staging'") != NULL, "%s", e.msg);
	ok(!load("../x", NULL, &e), "overlay name with a slash refused");
	err_clear(&e);
	ok(!blueprint_load(chartdir, "../t", NULL, NULL, &e), "engine name with a slash refused");
	err_clear(&e);
	ok(!blueprint_load(chartdir, "none", NULL, NULL, &e) && e.status == 404, "missing engine");

	chart("domain: x\ntls: {enabled: false}\nsecrets: {pw: preset}\n", "kind: X\n");
	ok(!load(NULL, NULL, &e), "a secret with a default is refused");
	ok(strstr(e.msg, "values.yaml:3: secret 'pw' must be \"\"") != NULL, "%s", e.msg);
	chart("tls: {enabled: false}\n", "kind: X\n");
	ok(!load(NULL, NULL, &e), "a chart without domain is refused");
	chart("domain: x\ntls: {enabled: false}\nstore: {}\n", "kind: X\n");
	ok(!load(NULL, NULL, &e), "values.yaml may not define store");
}

static void test_manifest_errors(void)
{
	static const struct {
		const char *manifest, *want;
	} cases[] = {
	    {"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: ${nope.x}\n",
	     ":6: unknown value 'nope.x' (in 'a')"},
	    {"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  a: \"pre ${imagee} "
	     "post\"\n",
	     ":5: unknown value 'imagee' (in 'a')"},
	    {"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  a: \"${nothing}\"\n",
	     ":5: value 'nothing' is not set"},
	    {"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  a: \"x ${nested} "
	     "y\"\n",
	     ":5: value 'nested' is a mapping; only a whole scalar can be that"},
	    {"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  a: \"x ${image\"\n",
	     ":5: unterminated placeholder"},
	    {"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  a: \"${a..b}\"\n",
	     ":5: bad placeholder"},
	    {"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  \"${image}\": x\n",
	     ":5: placeholders are not allowed in keys"},
	    {"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  a?nope: x\n",
	     ":5: unknown value 'nope' in a condition"},
	    {"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  a?replicas: x\n",
	     ":5: condition 'replicas' is an integer, not a boolean or string"},
	    {"$when: 5\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
	     ":1: $when takes a condition"},
	    {"apiVersion: v1\nkind: ConfigMap\n",
	     ":1: a manifest needs apiVersion, kind and metadata.name"},
	    {"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\n- x\n",
	     ":5: a manifest needs apiVersion"},
	    {"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  a: 1\n  a: 2\n",
	     ":6:3: duplicate key 'a'"},
	    {"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: *x}\n",
	     ":4:11: aliases are not supported"},
	    {"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x\n", ":4:"},
	};
	struct err e = ERR_INIT;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char want[600];

		chart(NULL, cases[i].manifest);
		ok(!load(NULL, NULL, &e), "bad manifest %zu refused at load", i);
		snprintf(want, sizeof(want), "%s/c/t/manifests/10-all.yaml%s", tmp, cases[i].want);
		if (!ok(!strncmp(e.msg, want, strlen(want)), "error %zu names file and line", i))
			diag("got '%s'\n#  want prefix '%s'", e.msg, want);
	}
}

static void test_store_errors(void)
{
	struct err e = ERR_INIT;
	struct blueprint *bp;
	json_t *sec;
	struct blueprint_store s = {.id = "abc", .name = "n", .owner_email = "e"};

	chart(NULL, NULL);
	bp = load(NULL, NULL, &e);
	ok(bp != NULL, "chart loads");
	if (!bp)
		return;
	ok(!render(bp, "Bad_ID", "n", &e), "upper case / underscore store id refused");
	ok(!render(bp, "-x", "n", &e), "leading dash refused");
	ok(!render(bp, "x2345678901234567890123456789012345678901", "n", &e), "41 chars refused");
	ok(!render(bp, "", "n", &e), "empty id refused");

	err_clear(&e);
	ok(!blueprint_render(bp, &s, &e), "missing secrets refused");
	is_str(e.msg, "store abc: secret 'pw' is missing or empty", "missing secret message");
	sec = json_pack("{s:s}", "pw", "has space");
	s.secrets = sec;
	err_clear(&e);
	ok(!blueprint_render(bp, &s, &e), "secret that needs escaping refused");
	json_decref(sec);
	sec = json_pack("{s:s, s:s}", "pw", "ok", "other", "x");
	s.secrets = sec;
	err_clear(&e);
	ok(!blueprint_render(bp, &s, &e), "secret unknown to the chart refused");
	is_str(e.msg, "store abc: secret 'other' is not in the chart", "unknown secret message");
	json_decref(sec);
	sec = json_pack("{s:s}", "pw", "ok");
	s.secrets = sec;
	s.version = "2.0";
	err_clear(&e);
	ok(!blueprint_render(bp, &s, &e), "version pin on a chart without version refused");
	json_decref(sec);
	blueprint_free(bp);
}

/* Label k is a string equal to want (any string if want is NULL). */
static int lbl_is(const json_t *labels, const char *k, const char *want)
{
	const char *v = json_string_value(json_object_get(labels, k));

	return v && (!want || !strcmp(v, want));
}

/*
 * Replace, in every string under v, each secret of secrets_for() by its
 * stand-in ${secrets.<name>}: the set the revision is the hash of.
 */
static void standins(json_t *v, const json_t *names)
{
	size_t i;
	const char *k;
	json_t *x, *n;

	if (json_is_string(v)) {
		struct buf b = BUF_INIT;

		buf_adds(&b, json_string_value(v));
		json_array_foreach(names, i, n) {
			char secret[64], standin[80], *at;

			snprintf(secret, sizeof(secret), "test-%s-0123456789",
				 json_string_value(n));
			snprintf(standin, sizeof(standin), "${secrets.%s}", json_string_value(n));
			while ((at = strstr(b.s, secret))) {
				struct buf r = BUF_INIT;

				buf_add(&r, b.s, (size_t)(at - b.s));
				buf_adds(&r, standin);
				buf_adds(&r, at + strlen(secret));
				buf_release(&b);
				b = r;
			}
		}
		json_string_set(v, b.s);
		buf_release(&b);
	}
	json_array_foreach(v, i, x)
		standins(x, names);
	json_object_foreach(v, k, x)
		standins(x, names);
}

/*
 * What blueprint.h says the revision of set is (made with secrets_for()):
 * the SHA-256 of the canonical set without the annotation, every secret as
 * its stand-in.  16 hex digits into hex.
 */
static void revision_by_hand(const json_t *set, const json_t *names, char hex[17])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	char full[2 * crypto_hash_sha256_BYTES + 1];
	json_t *copy = json_deep_copy(set), *o;
	char *canon;
	size_t i;

	json_array_foreach(copy, i, o) {
		json_t *a = json_object_get(json_object_get(o, "metadata"), "annotations");

		json_object_del(a, BLUEPRINT_REVISION_ANNOTATION);
		if (!json_object_size(a))
			json_object_del(json_object_get(o, "metadata"), "annotations");
	}
	standins(copy, names);
	canon = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
	crypto_hash_sha256(h, (unsigned char *)canon, strlen(canon));
	sodium_bin2hex(full, sizeof(full), h, sizeof(h));
	memcpy(hex, full, 16);
	hex[16] = '\0';
	free(canon);
	json_decref(copy);
}

/* Every object of a real chart: labels, annotation, namespace; and the revision is what it says. */
static void check_set(const char *engine, const json_t *set, const char *id, const json_t *names)
{
	size_t i;
	json_t *o;
	int labels_ok = 1, ann_ok = 1;
	const char *rev = blueprint_revision(set);
	char hex[17];
	char inst[64];

	snprintf(inst, sizeof(inst), "store-%s", id);
	json_array_foreach(set, i, o) {
		json_t *l = json_object_get(json_object_get(o, "metadata"), "labels");
		json_t *a = json_object_get(json_object_get(o, "metadata"), "annotations");

		if (!lbl_is(l, "app.kubernetes.io/managed-by", "storefleet") ||
		    !lbl_is(l, "storefleet.io/store", id) ||
		    !lbl_is(l, "storefleet.io/engine", engine) ||
		    !lbl_is(l, "app.kubernetes.io/name", NULL) ||
		    !lbl_is(l, "app.kubernetes.io/part-of", "storefleet") ||
		    !lbl_is(l, "app.kubernetes.io/instance", inst))
			labels_ok = 0;
		if (!rev || !json_is_string(json_object_get(a, BLUEPRINT_REVISION_ANNOTATION)) ||
		    strcmp(json_string_value(json_object_get(a, BLUEPRINT_REVISION_ANNOTATION)),
			   rev))
			ann_ok = 0;
	}
	ok(labels_ok, "%s: every object has the six labels", engine);
	{
		int pods = 0, pods_ok = 1;

		json_array_foreach(set, i, o) {
			const json_t *tpl = json_object_get(json_object_get(o, "spec"), "template");
			const json_t *l =
			    json_object_get(json_object_get(tpl, "metadata"), "labels");

			if (!tpl)
				continue;
			pods++;
			if (!lbl_is(l, "storefleet.io/store", id) ||
			    !lbl_is(l, "app.kubernetes.io/managed-by", "storefleet") ||
			    !lbl_is(l, "app.kubernetes.io/instance", inst))
				pods_ok = 0;
		}
		ok(pods >= 3 && pods_ok, "%s: %d pod templates carry the store labels", engine,
		   pods);
	}
	ok(ann_ok && rev && strlen(rev) == 16, "%s: every object has the same revision", engine);

	revision_by_hand(set, names, hex);
	is_str(rev, hex, "%s: revision = sha256 of the canonical set, secrets as ${secrets.<name>}",
	       engine);
}

/* Does any string in v (outside Secret objects) contain needle? */
static int leaks(const json_t *v, const char *needle)
{
	size_t i;
	const char *k;
	json_t *x;

	if (json_is_string(v))
		return strstr(json_string_value(v), needle) != NULL;
	if (json_is_array(v)) {
		json_array_foreach((json_t *)v, i, x)
			if (leaks(x, needle))
				return 1;
	}
	if (json_is_object(v)) {
		if (json_is_string(json_object_get(v, "kind")) &&
		    !strcmp(json_string_value(json_object_get(v, "kind")), "Secret"))
			return 0;
		json_object_foreach((json_t *)v, k, x)
			if (leaks(x, needle))
				return 1;
	}
	return 0;
}

/*
 * The revision of one render of store "r1" (a copy: free it), with every
 * secret "<prefix>-<name>-0123456789", at version (NULL: the chart's) with
 * values (NULL: none); NULL when it does not render.
 */
static char *rev_with(const struct blueprint *bp, const char *prefix, const char *version,
		      const char *values_json)
{
	struct err e = ERR_INIT;
	json_t *sec = secrets_with(bp, prefix), *set;
	json_t *values = values_json ? json_loads(values_json, 0, NULL) : NULL;
	struct blueprint_store s = {.id = "r1",
				    .name = "Shop",
				    .owner_email = "o@example.com",
				    .version = version,
				    .secrets = sec,
				    .values = values};
	char *rev = NULL;

	set = blueprint_render(bp, &s, &e);
	if (set && blueprint_revision(set))
		rev = strdup(blueprint_revision(set));
	else
		diag("render: %s", e.msg);
	json_decref(set);
	json_decref(sec);
	json_decref(values);
	return rev;
}

static int same(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

/*
 * Regression: the revision was the hash of the set with its secrets in, so
 * `storefleetctl render`, with throwaway secrets, printed another revision
 * on every run.  It hashes the set with ${secrets.<name>} in their place:
 * the blueprint, the version and the other values move it, secrets never.
 */
static void test_revision_real(struct blueprint *bp, const char *engine)
{
	const json_t *versions = blueprint_versions(bp);
	const char *def = json_string_value(json_object_get(blueprint_values(bp), "version"));
	const char *older = json_string_value(json_array_get(versions, 0));
	char *a = rev_with(bp, "test", NULL, NULL), *b = rev_with(bp, "other", NULL, NULL);
	char *pinned = rev_with(bp, "test", def, NULL), *v = rev_with(bp, "test", older, NULL);
	char *val = rev_with(bp, "other", NULL, "{\"quota\": {\"requests_cpu\": \"999m\"}}");
	char *val2 = rev_with(bp, "test", NULL, "{\"quota\": {\"requests_cpu\": \"999m\"}}");
	char *chart = NULL;
	struct err e = ERR_INIT;

	ok(same(a, b), "%s: other secret values, the same revision", engine);
	ok(same(a, pinned), "%s: pinning the default version changes nothing", engine);
	ok(older && strcmp(older, def) && a && v && !same(a, v),
	   "%s: another version (%s), another revision", engine, older ? older : "?");
	ok(a && val && !same(a, val), "%s: another store value, another revision", engine);
	ok(same(val, val2), "%s: ... and again the same whatever the secrets", engine);
	if (blueprint_set(bp, "quota.requests_cpu", "998m", "test", &e) == 0)
		chart = rev_with(bp, "test", NULL, NULL);
	ok(a && chart && !same(a, chart) && !same(val, chart),
	   "%s: another chart value, another revision (%s)", engine, e.msg);
	free(a);
	free(b);
	free(pinned);
	free(v);
	free(val);
	free(val2);
	free(chart);
}

static void test_real_chart(const char *engine)
{
	struct err e = ERR_INIT;
	struct blueprint *bp;
	json_t *set, *again, *other, *hostile, *back;
	struct buf y1 = BUF_INIT, y2 = BUF_INIT;
	char *big, *j1, *j2;
	const char *evil[] = {
	    "line1\nline2",	   "key: value", "{a: b}",	"---\nkind: Secret",
	    "\"quoted\" 'single'", "- item",	 "${store.id}", "$(ADMIN_PASSWORD)",
	    "# comment",	   "a\tb\r\nc",	 NULL};

	bp = blueprint_load(root, engine, "prod", NULL, &e);
	if (!ok(bp != NULL, "%s: real chart loads (%s)", engine, e.msg))
		return;
	set = render(bp, "s1", "My Shop", &e);
	again = render(bp, "s1", "My Shop", &e);
	other = render(bp, "s2", "My Shop", &e);
	ok(set && again && other, "%s: renders", engine);
	j1 = json_dumps(set, JSON_COMPACT);
	j2 = json_dumps(again, JSON_COMPACT);
	is_str(j1, j2, "%s: same input, same JSON", engine);
	y2j_emit_docs(&y1, set);
	y2j_emit_docs(&y2, again);
	ok(y1.len && y1.len == y2.len && !memcmp(y1.s, y2.s, y1.len), "%s: same YAML bytes",
	   engine);
	ok(strcmp(blueprint_revision(set), blueprint_revision(other)),
	   "%s: another store, another revision", engine);
	check_set(engine, set, "s1", blueprint_secret_names(bp));
	ok(!leaks(set, "test-"), "%s: no secret appears outside Secret objects", engine);
	free(j1);
	free(j2);

	/* Hostile display names: each stays one scalar, the object set keeps its shape. */
	big = malloc(10241);
	memset(big, 'x', 10240);
	memcpy(big + 100, "\n---\nkind: Secret\n: {\"", 22);
	big[10240] = '\0';
	for (int i = 0; i == 0 || evil[i - 1]; i++) {
		const char *name = evil[i] ? evil[i] : big;
		const json_t *cm;
		struct err e2 = ERR_INIT;

		hostile = render(bp, "s1", name, &e);
		cm = find(hostile, "ConfigMap", "store-info");
		ok(hostile && json_array_size(hostile) == json_array_size(set),
		   "%s: hostile name %d: same number of objects", engine, i);
		is_str(str_at(cm, "data/title"), name,
		       "%s: hostile name %d is one scalar, verbatim", engine, i);
		buf_reset(&y1);
		y2j_emit_docs(&y1, hostile);
		back = y2j_load_string(y1.s, y1.len, "emitted", NULL, &e2);
		ok(back && json_equal(back, hostile), "%s: hostile name %d survives YAML (%s)",
		   engine, i, e2.msg);
		json_decref(back);
		json_decref(hostile);
	}
	{
		double t0, t;
		struct timespec ts;
		int n = 200;
		json_t *sec = secrets_for(bp);
		struct blueprint_store s = {
		    .id = "bench", .name = "b", .owner_email = "e", .secrets = sec};

		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
		t0 = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
		for (int i = 0; i < n; i++)
			json_decref(blueprint_render(bp, &s, &e));
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
		t = ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9 - t0) / n;
		diag("%s: %.3f ms CPU per store render", engine, t * 1e3);
#ifdef ARENA_DEBUG
		ok(t < 0.050, "%s: render under 50 ms CPU (sanitizer build)", engine);
#else
		ok(t < 0.002, "%s: render under 2 ms CPU", engine);
#endif
		json_decref(sec);
	}
	free(big);
	buf_release(&y1);
	buf_release(&y2);
	json_decref(set);
	json_decref(again);
	json_decref(other);
	test_revision_real(bp, engine); /* last: it changes a chart value */
	blueprint_free(bp);
}

/*
 * Every way a secret can reach the set: a whole scalar, inside text, the
 * whole secrets mapping, a label the renderer then overwrites; the
 * revision ignores all of them and is still the hash by hand.
 */
static void test_revision_secrets(void)
{
	static const char *manifest =
	    "apiVersion: v1\n"
	    "kind: Secret\n"
	    "metadata:\n"
	    "  name: s\n"
	    "  labels:\n"
	    "    app.kubernetes.io/instance: ${secrets.pw}\n"
	    "stringData:\n"
	    "  pw: ${secrets.pw}\n"
	    "  url: \"db://u:${secrets.pw}@${store.host}/${secrets.key}\"\n"
	    "  all: ${secrets}\n"
	    "---\n"
	    "apiVersion: v1\n"
	    "kind: ConfigMap\n"
	    "metadata: {name: c}\n"
	    "data:\n"
	    "  has?secrets.pw: yes\n"
	    "  port: \"${nested.port}\"\n";
	struct err e = ERR_INIT;
	struct blueprint *bp;
	json_t *sec1, *sec2, *set1, *set2;
	char vals[2048], hex[17];

	snprintf(vals, sizeof(vals), "%s  key: \"\"\n", base_values);
	chart(vals, manifest);
	bp = load(NULL, NULL, &e);
	if (!ok(bp != NULL, "revision: chart with secrets everywhere loads (%s)", e.msg)) {
		chart(NULL, NULL);
		return;
	}
	sec1 = secrets_for(bp);
	sec2 = secrets_with(bp, "other");
	{
		struct blueprint_store s1 = {
		    .id = "x", .name = "n", .owner_email = "e", .secrets = sec1};
		struct blueprint_store s2 = {
		    .id = "x", .name = "n", .owner_email = "e", .secrets = sec2};

		set1 = blueprint_render(bp, &s1, &e);
		set2 = blueprint_render(bp, &s2, &e);
	}
	ok(set1 && set2, "revision: both render (%s)", e.msg);
	is_str(str_at(json_array_get(set1, 0), "stringData/url"),
	       "db://u:test-pw-0123456789@store-x.example.test/test-key-0123456789",
	       "revision: the real secrets are in the set");
	is_str(str_at(json_array_get(set2, 0), "stringData/all/key"), "other-key-0123456789",
	       "revision: the whole mapping too");
	is_str(blueprint_revision(set1), blueprint_revision(set2),
	       "revision: the same for other secrets");
	revision_by_hand(set1, blueprint_secret_names(bp), hex);
	is_str(blueprint_revision(set1), hex, "revision: the hash of the set with stand-ins");
	json_decref(set1);
	json_decref(set2);
	json_decref(sec1);
	json_decref(sec2);
	blueprint_free(bp);
	chart(NULL, NULL);
}

static void test_mask(void)
{
	json_t *set =
	    json_loads("[{\"kind\":\"Secret\",\"stringData\":{\"a\":\"s1\"},\"data\":{\"b\":"
		       "\"czI=\"}},{\"kind\":\"ConfigMap\",\"data\":{\"c\":\"v\"}}]",
		       0, NULL);

	blueprint_mask_secrets(set);
	is_str(str_at(json_array_get(set, 0), "stringData/a"), "********", "stringData masked");
	is_str(str_at(json_array_get(set, 0), "data/b"), "KioqKioqKio=", "data masked as base64");
	is_str(str_at(json_array_get(set, 1), "data/c"), "v", "ConfigMap untouched");
	json_decref(set);
}

/* The versions list: what the web side checks an upgrade against. */
static void test_versions(void)
{
	struct err e = ERR_INIT;
	struct blueprint *bp;
	char vals[2048];

	chart(NULL, NULL);
	bp = load(NULL, NULL, &e);
	if (ok(bp != NULL, "versions: chart without version loads")) {
		is_int(json_array_size(blueprint_versions(bp)), 0, "no version, no versions");
		ok(!blueprint_version_known(bp, "1.0"), "no version is known");
		blueprint_free(bp);
	}
	snprintf(vals, sizeof(vals), "%sversion: \"2.0\"\n", base_values);
	chart(vals, NULL);
	bp = load(NULL, NULL, &e);
	if (ok(bp != NULL, "versions: version without a list loads (%s)", e.msg)) {
		ok(blueprint_version_known(bp, "2.0"), "the default alone is known");
		ok(!blueprint_version_known(bp, "1.0"), "another is not");
		ok(!blueprint_version_known(bp, NULL), "NULL is not");
		blueprint_free(bp);
	}
	snprintf(vals, sizeof(vals), "%sversion: \"2.0\"\nversions: [\"1.0\", \"2.0\"]\n",
		 base_values);
	chart(vals, NULL);
	bp = load(NULL, NULL, &e);
	if (ok(bp != NULL, "versions: list loads (%s)", e.msg)) {
		is_int(json_array_size(blueprint_versions(bp)), 2, "two versions");
		ok(blueprint_version_known(bp, "1.0") && blueprint_version_known(bp, "2.0"),
		   "both known");
		ok(!blueprint_version_known(bp, "3.0"), "3.0 unknown");
		blueprint_free(bp);
	}
	bp = load(NULL, "version: \"1.0\"\n", &e);
	ok(bp != NULL, "an operator file may pick another listed default (%s)", e.msg);
	blueprint_free(bp);
	bp = load(NULL, "version: \"9.9\"\n", &e);
	ok(!bp, "a default outside the list is refused");
	is_str(e.msg, "chart 't': version '9.9' is not in 'versions'", "and says so");
	blueprint_free(bp);
	snprintf(vals, sizeof(vals), "%sversion: \"2.0\"\nversions: [\"2.0\", \"a b\"]\n",
		 base_values);
	chart(vals, NULL);
	bp = load(NULL, NULL, &e);
	ok(!bp, "a version that is no image tag is refused");
	ok(strstr(e.msg, "versions[1]") != NULL, "naming the item (%s)", e.msg);
	blueprint_free(bp);
	for (int i = 0; i < 2; i++) {
		const char *engine = i ? "medusa" : "woocommerce";
		const json_t *def;

		err_clear(&e);
		bp = blueprint_load(root, engine, NULL, NULL, &e);
		if (!ok(bp != NULL, "%s: loads (%s)", engine, e.msg))
			continue;
		def = json_object_get(blueprint_values(bp), "version");
		ok(json_array_size(blueprint_versions(bp)) >= 2,
		   "%s: at least two versions to move between", engine);
		ok(blueprint_version_known(bp, json_string_value(def)), "%s: default listed",
		   engine);
		is_str(json_string_value(json_array_get(
			   blueprint_versions(bp), json_array_size(blueprint_versions(bp)) - 1)),
		       json_string_value(def), "%s: the default is the newest (last)", engine);
		blueprint_free(bp);
	}
	chart(NULL, NULL);
}

/* struct blueprint_store.values: more per-store values, checked like a values file. */
static void test_store_values(void)
{
	struct err e = ERR_INIT;
	struct blueprint *bp;
	json_t *sec, *set, *v;
	struct blueprint_store s = {.id = "abc", .name = "n", .owner_email = "e"};

	chart(NULL, NULL);
	bp = load(NULL, NULL, &e);
	if (!ok(bp != NULL, "store values: chart loads"))
		return;
	sec = secrets_for(bp);
	s.secrets = sec;
	v = json_pack("{s:{s:i}}", "nested", "port", 8080);
	s.values = v;
	set = blueprint_render(bp, &s, &e);
	ok(set && strstr(str_at(json_array_get(set, 0), "data/where"), ":8080/"),
	   "a nested value set for one store is rendered (%s)", e.msg);
	json_decref(set);
	json_decref(v);
	s.values = NULL;
	set = blueprint_render(bp, &s, &e);
	ok(set && strstr(str_at(json_array_get(set, 0), "data/where"), ":80/"),
	   "the chart's own value is untouched for the next store");
	json_decref(set);
	{
		static const struct {
			const char *json, *msg;
		} bad[] = {
		    {"{\"nested\": {\"port\": \"x\"}}",
		     "store values: 'nested.port' is a string, but values.yaml has an integer"},
		    {"{\"nested\": {\"nope\": 1}}", "store values: unknown value 'nested.nope'"},
		    {"{\"nope\": 1}", "store values: unknown value 'nope'"},
		    {"{\"secrets\": {\"pw\": \"x\"}}",
		     "store values: 'secrets' cannot be set here"},
		    {"{\"version\": \"1\"}", "store values: 'version' cannot be set here"},
		    {"[1]", "store values: expected a mapping"},
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			v = json_loads(bad[i].json, JSON_DECODE_ANY, NULL);
			s.values = v;
			err_clear(&e);
			set = blueprint_render(bp, &s, &e);
			ok(!set, "store values %s refused", bad[i].json);
			is_str(e.msg, bad[i].msg, "  with its message");
			json_decref(set);
			json_decref(v);
		}
	}
	json_decref(sec);
	blueprint_free(bp);
}

int main(void)
{
	const char *sf = getenv("SF_ROOT");

	if (sodium_init() < 0 || !mkdtemp(tmp)) {
		printf("Bail out! setup\n");
		return 1;
	}
	snprintf(chartdir, sizeof(chartdir), "%s/c", tmp);
	snprintf(root, sizeof(root), "%s/charts", sf ? sf : ".");
	test_layers_and_placeholders();
	test_value_errors();
	test_manifest_errors();
	test_store_errors();
	test_real_chart("woocommerce");
	test_real_chart("medusa");
	test_revision_secrets();
	test_mask();
	test_versions();
	test_store_values();
	{
		char cmd[200];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
		if (system(cmd) != 0)
			diag("could not remove %s", tmp);
	}
	return done_testing();
}
