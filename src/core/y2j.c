/* y2j.c - YAML to jansson through libyaml's event parser; the typing rules are in y2j.h. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "y2j.h"

/*
 * The parser is a recursive descent over libyaml events: one call per node,
 * depth capped, so the C stack is bounded by max_depth frames.  Positions
 * go to an optional side table (struct y2j_marks) instead of the values
 * themselves, because json_true()/json_null() are shared singletons and the
 * trees must stay plain JSON for everything downstream.
 */

/* --- marks: an open-addressing hash of (parent, key|index) -> positions */

struct mark {
	const json_t *parent; /* NULL slot = empty */
	char *key;	      /* NULL for array items */
	size_t index;
	const char *file;
	unsigned kline, kcol, vline, vcol;
};

struct y2j_marks {
	struct mark *slots;
	size_t cap, used;
	char **files; /* interned file names */
	size_t nfiles;
	int nonempty_root; /* a root (parent NULL) mark is stored in root */
	struct mark root;
};

struct y2j_marks *y2j_marks_new(void)
{
	struct y2j_marks *m = calloc(1, sizeof(*m));

	if (!m)
		die_oom();
	return m;
}

void y2j_marks_free(struct y2j_marks *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->cap; i++)
		free(m->slots[i].key);
	free(m->slots);
	for (size_t i = 0; i < m->nfiles; i++)
		free(m->files[i]);
	free(m->files);
	free(m);
}

static uint64_t mark_hash(const json_t *parent, const char *key, size_t index)
{
	uint64_t h = (uint64_t)(uintptr_t)parent * 0x9E3779B97F4A7C15ull;

	if (key) {
		for (const unsigned char *p = (const unsigned char *)key; *p; p++)
			h = (h ^ *p) * 0x100000001B3ull;
	} else {
		h ^= (uint64_t)index * 0xC2B2AE3D27D4EB4Full;
	}
	return h ^ (h >> 29);
}

static int mark_same(const struct mark *s, const json_t *parent, const char *key, size_t index)
{
	if (s->parent != parent)
		return 0;
	if (key)
		return s->key && !strcmp(s->key, key);
	return !s->key && s->index == index;
}

static void marks_grow(struct y2j_marks *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 256;
	struct mark *n = calloc(ncap, sizeof(*n));

	if (!n)
		die_oom();
	for (size_t i = 0; i < m->cap; i++) {
		struct mark *s = &m->slots[i];
		size_t j;

		if (!s->parent)
			continue;
		j = mark_hash(s->parent, s->key, s->index) & (ncap - 1);
		while (n[j].parent)
			j = (j + 1) & (ncap - 1);
		n[j] = *s;
	}
	free(m->slots);
	m->slots = n;
	m->cap = ncap;
}

static const char *marks_file(struct y2j_marks *m, const char *name)
{
	char **nf;

	if (m->nfiles && !strcmp(m->files[m->nfiles - 1], name))
		return m->files[m->nfiles - 1];
	nf = realloc(m->files, (m->nfiles + 1) * sizeof(*nf));
	if (!nf)
		die_oom();
	m->files = nf;
	m->files[m->nfiles] = strdup(name);
	if (!m->files[m->nfiles])
		die_oom();
	return m->files[m->nfiles++];
}

static void marks_put(struct y2j_marks *m, const char *file, const json_t *parent, const char *key,
		      size_t index, yaml_mark_t km, yaml_mark_t vm)
{
	struct mark *s;
	size_t j;

	if (!parent) {
		s = &m->root;
		m->nonempty_root = 1;
		free(s->key);
		s->key = NULL;
	} else {
		if ((m->used + 1) * 4 >= m->cap * 3)
			marks_grow(m);
		j = mark_hash(parent, key, index) & (m->cap - 1);
		while (m->slots[j].parent && !mark_same(&m->slots[j], parent, key, index))
			j = (j + 1) & (m->cap - 1);
		s = &m->slots[j];
		if (!s->parent) {
			m->used++;
		} else {
			free(s->key);
		}
		s->parent = parent;
		s->key = NULL;
		if (key) {
			s->key = strdup(key);
			if (!s->key)
				die_oom();
		}
	}
	s->index = index;
	s->file = file;
	s->kline = (unsigned)km.line + 1;
	s->kcol = (unsigned)km.column + 1;
	s->vline = (unsigned)vm.line + 1;
	s->vcol = (unsigned)vm.column + 1;
}

int y2j_marks_find(const struct y2j_marks *m, const json_t *parent, const char *key, size_t index,
		   struct y2j_pos *key_pos, struct y2j_pos *val_pos)
{
	const struct mark *s = NULL;
	struct y2j_pos none = {"?", 0, 0};

	if (m && !parent && m->nonempty_root) {
		s = &m->root;
	} else if (m && parent && m->cap) {
		size_t j = mark_hash(parent, key, index) & (m->cap - 1);

		while (m->slots[j].parent) {
			if (mark_same(&m->slots[j], parent, key, index)) {
				s = &m->slots[j];
				break;
			}
			j = (j + 1) & (m->cap - 1);
		}
	}
	if (key_pos)
		*key_pos = s ? (struct y2j_pos){s->file, s->kline, s->kcol} : none;
	if (val_pos)
		*val_pos = s ? (struct y2j_pos){s->file, s->vline, s->vcol} : none;
	return s ? 0 : -1;
}

/* --- plain scalar typing */

static int in_list(const char *s, size_t n, const char *const *list)
{
	for (; *list; list++)
		if (strlen(*list) == n && !memcmp(*list, s, n))
			return 1;
	return 0;
}

static const char *const nulls[] = {"~", "null", "Null", "NULL", NULL};
static const char *const trues[] = {"y",  "Y",	"yes",	"Yes",	"YES",	"on",
				    "On", "ON", "true", "True", "TRUE", NULL};
static const char *const falses[] = {"n",   "N",   "no",    "No",    "NO",    "off",
				     "Off", "OFF", "false", "False", "FALSE", NULL};
static const char *const infs[] = {".inf",  ".Inf",  ".INF",  "+.inf", "+.Inf",
				   "+.INF", "-.inf", "-.Inf", "-.INF", NULL};
static const char *const nans[] = {".nan", ".NaN", ".NAN", NULL};

/* Digits valid in base b (underscores already removed). */
static int all_digits(const char *s, size_t n, int base)
{
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i], d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return 0;
		if (d >= base)
			return 0;
	}
	return 1;
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static int is_float_syntax(const char *s, size_t n)
{
	size_t i = 0, d;

	if (i < n && (s[i] == '-' || s[i] == '+'))
		i++;
	if (i < n && s[i] == '.') {
		i++;
		for (d = 0; i < n && isdigit((unsigned char)s[i]); i++)
			d++;
		if (!d)
			return 0;
	} else {
		for (d = 0; i < n && isdigit((unsigned char)s[i]); i++)
			d++;
		if (!d)
			return 0;
		if (i < n && s[i] == '.')
			for (i++; i < n && isdigit((unsigned char)s[i]); i++)
				;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '-' || s[i] == '+'))
			i++;
		for (d = 0; i < n && isdigit((unsigned char)s[i]); i++)
			d++;
		if (!d)
			return 0;
	}
	return i == n;
}

int y2j_resolve_plain(const char *s, size_t n, json_t **out, struct err *e)
{
	char clean[80];
	size_t k = 0, i = 0;
	int neg = 0, base = 10;
	const char *digits;
	size_t nd;

	*out = NULL;
	if (n == 0 || in_list(s, n, nulls)) {
		*out = json_null();
		return 0;
	}
	if (in_list(s, n, trues)) {
		*out = json_true();
		return 0;
	}
	if (in_list(s, n, falses)) {
		*out = json_false();
		return 0;
	}
	if (in_list(s, n, infs))
		return err_set(e, 400, "'%.*s': JSON has no infinity", (int)n, s);
	if (in_list(s, n, nans))
		return err_set(e, 400, "'%.*s': JSON has no NaN", (int)n, s);

	/* Only sign, digits, letters, '.', '_' can make a number; anything else is text. */
	if (n >= sizeof(clean)) {
		for (i = 0; i < n; i++)
			if (!isalnum((unsigned char)s[i]) && !(s[i] && strchr("+-._", s[i])))
				return 0;
		if (is_float_syntax(s, n) || all_digits(s + (s[0] == '-' || s[0] == '+'),
							n - (s[0] == '-' || s[0] == '+'), 10))
			return err_set(e, 400, "'%.20s...': number too long", s);
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (s[i] == '_')
			continue;
		if (!isalnum((unsigned char)s[i]) && !(s[i] && strchr("+-.", s[i])))
			return 0;
		clean[k++] = s[i];
	}
	clean[k] = '\0';
	if (!k)
		return 0;

	i = 0;
	if (clean[0] == '-' || clean[0] == '+')
		neg = clean[0] == '-', i = 1;
	digits = clean + i;
	nd = k - i;
	if (nd > 2 && digits[0] == '0' && strchr("xXoObB", digits[1])) {
		base = strchr("xX", digits[1]) ? 16 : strchr("oO", digits[1]) ? 8 : 2;
		digits += 2;
		nd -= 2;
	} else if (nd > 1 && digits[0] == '0' && all_digits(digits, nd, 10)) {
		if (!all_digits(digits, nd, 8))
			return err_set(
			    e, 400,
			    "'%.*s': a leading 0 means octal but it has 8 or 9; quote it "
			    "or drop the 0",
			    (int)n, s);
		base = 8;
	}
	if (all_digits(digits, nd, base)) {
		unsigned long long u;
		char *end;

		errno = 0;
		u = strtoull(digits, &end, base);
		if (errno || *end || u > (unsigned long long)LLONG_MAX + (neg ? 1 : 0))
			return err_set(e, 400, "'%.*s': integer out of range", (int)n, s);
		if (neg)
			*out = json_integer(u == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN
										   : -(long long)u);
		else
			*out = json_integer((long long)u);
		if (!*out)
			die_oom();
		return 0;
	}
	if (base == 10 && is_float_syntax(clean, k)) {
		double d;
		char *end;

		errno = 0;
		d = strtod(clean, &end);
		if (errno == ERANGE && !isfinite(d))
			return err_set(e, 400, "'%.*s': number out of range", (int)n, s);
		*out = json_real(d);
		if (!*out)
			return err_set(e, 400, "'%.*s': not a JSON number", (int)n, s);
		return 0;
	}
	return 0;
}

/* --- the parser */

struct ctx {
	yaml_parser_t p;
	const char *name;
	size_t max_depth;
	size_t depth;
	struct y2j_marks *marks;
	const char *mfile; /* name interned in marks */
	struct err *e;
};

static int at(struct ctx *c, yaml_mark_t m, const char *fmt, ...) SF_PRINTF(3, 4);
static int at(struct ctx *c, yaml_mark_t m, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return err_set(c->e, 400, "%s:%zu:%zu: %s", c->name, m.line + 1, m.column + 1, msg);
}

static int next_event(struct ctx *c, yaml_event_t *ev)
{
	if (yaml_parser_parse(&c->p, ev))
		return 0;
	if (c->p.error == YAML_MEMORY_ERROR)
		die_oom();
	return at(c, c->p.problem_mark, "%s%s%s", c->p.problem ? c->p.problem : "syntax error",
		  c->p.context ? " " : "", c->p.context ? c->p.context : "");
}

#define TAG(t) ("tag:yaml.org,2002:" t)

static const char *tag_short(const char *tag)
{
	if (!strncmp(tag, "tag:yaml.org,2002:", 18)) {
		static __thread char b[64];

		snprintf(b, sizeof(b), "!!%s", tag + 18);
		return b;
	}
	return tag;
}

static json_t *new_string(struct ctx *c, yaml_event_t *ev)
{
	json_t *v = json_stringn((const char *)ev->data.scalar.value, ev->data.scalar.length);

	if (!v)
		at(c, ev->start_mark, "string is not valid UTF-8 text");
	return v;
}

/* The value of a scalar event (new reference), or NULL with the error set. */
static json_t *scalar(struct ctx *c, yaml_event_t *ev)
{
	const char *tag = (const char *)ev->data.scalar.tag;
	const char *s = (const char *)ev->data.scalar.value;
	size_t n = ev->data.scalar.length;
	struct err why = ERR_INIT;
	json_t *v = NULL;

	if (!tag || !strcmp(tag, "!")) {
		if (tag || ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
			return new_string(c, ev);
		if (y2j_resolve_plain(s, n, &v, &why) < 0) {
			at(c, ev->start_mark, "%s", why.msg);
			return NULL;
		}
		return v ? v : new_string(c, ev);
	}
	if (!strcmp(tag, TAG("str")))
		return new_string(c, ev);
	if (strcmp(tag, TAG("int")) && strcmp(tag, TAG("float")) && strcmp(tag, TAG("bool")) &&
	    strcmp(tag, TAG("null"))) {
		at(c, ev->start_mark, "unsupported tag '%s'", tag_short(tag));
		return NULL;
	}
	if (y2j_resolve_plain(s, n, &v, &why) < 0) {
		at(c, ev->start_mark, "%s", why.msg);
		return NULL;
	}
	if (!strcmp(tag, TAG("float")) && v && json_is_integer(v)) {
		json_t *r = json_real((double)json_integer_value(v));

		json_decref(v);
		return r;
	}
	if (v && ((!strcmp(tag, TAG("int")) && json_is_integer(v)) ||
		  (!strcmp(tag, TAG("float")) && json_is_real(v)) ||
		  (!strcmp(tag, TAG("bool")) && json_is_boolean(v)) ||
		  (!strcmp(tag, TAG("null")) && json_is_null(v))))
		return v;
	json_decref(v);
	at(c, ev->start_mark, "'%.*s' is not a valid %s", (int)(n > 40 ? 40 : n), s,
	   tag_short(tag));
	return NULL;
}

/* Mapping keys are text: a plain key is typed, then printed back as sigs.k8s.io/yaml does. */
static char *key_text(struct ctx *c, yaml_event_t *ev)
{
	json_t *v;
	char *k;

	if (ev->type == YAML_ALIAS_EVENT) {
		at(c, ev->start_mark, "aliases are not supported");
		return NULL;
	}
	if (ev->type != YAML_SCALAR_EVENT) {
		at(c, ev->start_mark, "a mapping key must be a scalar");
		return NULL;
	}
	if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !ev->data.scalar.tag &&
	    ev->data.scalar.length == 2 && !memcmp(ev->data.scalar.value, "<<", 2)) {
		at(c, ev->start_mark, "merge keys (<<) are not supported");
		return NULL;
	}
	v = scalar(c, ev);
	if (!v)
		return NULL;
	if (json_is_string(v)) {
		if (strlen(json_string_value(v)) != json_string_length(v)) {
			json_decref(v);
			at(c, ev->start_mark, "a mapping key must not contain NUL");
			return NULL;
		}
		k = strdup(json_string_value(v));
	} else if (json_is_null(v)) {
		k = strdup("null");
	} else if (json_is_boolean(v)) {
		k = strdup(json_is_true(v) ? "true" : "false");
	} else if (json_is_integer(v)) {
		if (asprintf(&k, "%lld", (long long)json_integer_value(v)) < 0)
			k = NULL;
	} else {
		char b[40];
		double d = json_real_value(v);

		for (int prec = 1; prec <= 17; prec++) {
			snprintf(b, sizeof(b), "%.*g", prec, d);
			if (strtod(b, NULL) == d)
				break;
		}
		k = strdup(b);
	}
	json_decref(v);
	if (!k)
		die_oom();
	return k;
}

static json_t *node(struct ctx *c, yaml_event_t *ev);

static json_t *sequence(struct ctx *c, yaml_event_t *start)
{
	json_t *arr = json_array();
	yaml_event_t ev;

	if (!arr)
		die_oom();
	for (size_t i = 0;; i++) {
		yaml_mark_t m;
		json_t *v;

		if (next_event(c, &ev) < 0)
			goto fail;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			return arr;
		}
		m = ev.start_mark;
		v = node(c, &ev);
		if (!v)
			goto fail;
		if (json_array_append_new(arr, v) < 0)
			die_oom();
		if (c->marks)
			marks_put(c->marks, c->mfile, arr, NULL, i, m, m);
	}
fail:
	(void)start;
	json_decref(arr);
	return NULL;
}

static json_t *mapping(struct ctx *c, yaml_event_t *start)
{
	json_t *obj = json_object();
	yaml_event_t ev;

	if (!obj)
		die_oom();
	for (;;) {
		yaml_mark_t km, vm;
		char *k;
		json_t *v;

		if (next_event(c, &ev) < 0)
			goto fail;
		if (ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			return obj;
		}
		km = ev.start_mark;
		k = key_text(c, &ev);
		yaml_event_delete(&ev);
		if (!k)
			goto fail;
		if (json_object_get(obj, k)) {
			at(c, km, "duplicate key '%.100s'", k);
			free(k);
			goto fail;
		}
		if (next_event(c, &ev) < 0) {
			free(k);
			goto fail;
		}
		vm = ev.start_mark;
		v = node(c, &ev);
		if (!v) {
			free(k);
			goto fail;
		}
		if (json_object_set_new(obj, k, v) < 0) {
			at(c, km, "mapping key is not valid UTF-8");
			free(k);
			goto fail;
		}
		if (c->marks)
			marks_put(c->marks, c->mfile, obj, k, 0, km, vm);
		free(k);
	}
fail:
	(void)start;
	json_decref(obj);
	return NULL;
}

static int collection_tag_ok(struct ctx *c, yaml_event_t *ev, const char *tag, const char *want)
{
	if (!tag || !strcmp(tag, "!") || !strcmp(tag, want))
		return 0;
	return at(c, ev->start_mark, "unsupported tag '%s'", tag_short(tag));
}

/* Consumes ev (deletes it) and the events of the node it opens. */
static json_t *node(struct ctx *c, yaml_event_t *ev)
{
	json_t *v = NULL;

	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		v = scalar(c, ev);
		break;
	case YAML_ALIAS_EVENT:
		at(c, ev->start_mark, "aliases are not supported");
		break;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if (c->depth >= c->max_depth) {
			at(c, ev->start_mark, "nested deeper than %zu levels", c->max_depth);
			break;
		}
		if (ev->type == YAML_SEQUENCE_START_EVENT) {
			if (collection_tag_ok(c, ev, (const char *)ev->data.sequence_start.tag,
					      TAG("seq")) < 0)
				break;
			c->depth++;
			v = sequence(c, ev);
		} else {
			if (collection_tag_ok(c, ev, (const char *)ev->data.mapping_start.tag,
					      TAG("map")) < 0)
				break;
			c->depth++;
			v = mapping(c, ev);
		}
		c->depth--;
		break;
	default:
		at(c, ev->start_mark, "unexpected YAML event %d", (int)ev->type);
		break;
	}
	yaml_event_delete(ev);
	return v;
}

static void *fail_null(int rc)
{
	(void)rc;
	return NULL;
}

static json_t *load(const char *src, size_t n, const char *name, const struct y2j_opts *o,
		    int single, struct err *e)
{
	size_t max_size = o && o->max_size ? o->max_size : Y2J_MAX_SIZE_DEFAULT;
	struct ctx c = {.name = name ? name : "<input>", .e = e};
	json_t *docs, *ret = NULL;
	yaml_event_t ev;
	int done = 0;

	c.max_depth = o && o->max_depth > 0 ? (size_t)o->max_depth : Y2J_MAX_DEPTH_DEFAULT;
	c.marks = o ? o->marks : NULL;
	if (n > max_size)
		return fail_null(err_set(e, 413, "%s: %zu bytes is more than the %zu allowed",
					 c.name, n, max_size));
	if (c.marks)
		c.mfile = marks_file(c.marks, c.name);
	docs = json_array();
	if (!docs || !yaml_parser_initialize(&c.p))
		die_oom();
	yaml_parser_set_input_string(&c.p, (const unsigned char *)src, n);
	while (!done) {
		if (next_event(&c, &ev) < 0)
			goto out;
		switch (ev.type) {
		case YAML_STREAM_START_EVENT:
		case YAML_DOCUMENT_END_EVENT:
			yaml_event_delete(&ev);
			break;
		case YAML_STREAM_END_EVENT:
			yaml_event_delete(&ev);
			done = 1;
			break;
		case YAML_DOCUMENT_START_EVENT: {
			yaml_mark_t dm = ev.start_mark;
			json_t *d;

			yaml_event_delete(&ev);
			if (single && json_array_size(docs) == 1) {
				at(&c, dm, "more than one YAML document");
				goto out;
			}
			if (next_event(&c, &ev) < 0)
				goto out;
			dm = ev.start_mark;
			d = node(&c, &ev);
			if (!d)
				goto out;
			if (json_array_append_new(docs, d) < 0)
				die_oom();
			if (c.marks)
				marks_put(c.marks, c.mfile, single ? NULL : docs, NULL,
					  json_array_size(docs) - 1, dm, dm);
			break;
		}
		default:
			at(&c, ev.start_mark, "unexpected YAML event %d", (int)ev.type);
			yaml_event_delete(&ev);
			goto out;
		}
	}
	if (!single) {
		ret = docs;
		docs = NULL;
	} else {
		ret = json_array_size(docs) ? json_incref(json_array_get(docs, 0)) : json_null();
	}
out:
	yaml_parser_delete(&c.p);
	json_decref(docs);
	return ret;
}

json_t *y2j_load_string(const char *src, size_t n, const char *name, const struct y2j_opts *o,
			struct err *e)
{
	return load(src, n, name, o, 0, e);
}

json_t *y2j_load_string1(const char *src, size_t n, const char *name, const struct y2j_opts *o,
			 struct err *e)
{
	return load(src, n, name, o, 1, e);
}

/* Read at most max bytes; more is an error rather than a silent truncation. */
static char *read_file(const char *path, size_t max, size_t *len, struct err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct buf b = BUF_INIT;
	char chunk[65536];
	ssize_t r;

	if (fd < 0)
		return fail_null(err_set(e, 500, "cannot open '%s': %s", path, strerror(errno)));
	buf_init(&b, max + 1);
	while ((r = read(fd, chunk, sizeof(chunk))) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err_set(e, 500, "cannot read '%s': %s", path, strerror(errno));
			goto fail;
		}
		buf_add(&b, chunk, (size_t)r);
		if (b.failed || b.len > max) {
			err_set(e, 413, "%s: more than the %zu bytes allowed", path, max);
			goto fail;
		}
	}
	close(fd);
	*len = b.len;
	return buf_detach(&b, NULL);
fail:
	close(fd);
	buf_release(&b);
	return NULL;
}

static json_t *load_file(const char *path, const struct y2j_opts *o, int single, struct err *e)
{
	size_t max = o && o->max_size ? o->max_size : Y2J_MAX_SIZE_DEFAULT, n;
	char *s = read_file(path, max, &n, e);
	json_t *v;

	if (!s)
		return NULL;
	v = load(s, n, path, o, single, e);
	free(s);
	return v;
}

json_t *y2j_load_file(const char *path, const struct y2j_opts *o, struct err *e)
{
	return load_file(path, o, 0, e);
}

json_t *y2j_load_file1(const char *path, const struct y2j_opts *o, struct err *e)
{
	return load_file(path, o, 1, e);
}

/* --- the emitter */

/* UTF-8 decode one code point at s[*i]; invalid bytes come back as -1 (jansson never holds them).
 */
static long utf8_next(const unsigned char *s, size_t n, size_t *i)
{
	unsigned char c = s[*i];
	long cp;
	int extra;

	if (c < 0x80) {
		(*i)++;
		return c;
	}
	if ((c & 0xE0) == 0xC0)
		cp = c & 0x1F, extra = 1;
	else if ((c & 0xF0) == 0xE0)
		cp = c & 0x0F, extra = 2;
	else if ((c & 0xF8) == 0xF0)
		cp = c & 0x07, extra = 3;
	else {
		(*i)++;
		return -1;
	}
	for (int k = 1; k <= extra; k++) {
		if (*i + (size_t)k >= n || (s[*i + k] & 0xC0) != 0x80) {
			(*i)++;
			return -1;
		}
		cp = (cp << 6) | (s[*i + k] & 0x3F);
	}
	*i += (size_t)extra + 1;
	return cp;
}

/* Characters YAML will not take raw inside a double-quoted or block scalar. */
static int needs_escape(long cp)
{
	return cp < 0 || (cp < 0x20 && cp != '\n') || (cp >= 0x7F && cp <= 0x9F) || cp == 0x2028 ||
	       cp == 0x2029 || cp == 0xFEFF || cp == 0xFFFE || cp == 0xFFFF;
}

static void emit_quoted(struct buf *b, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	buf_addch(b, '"');
	while (i < n) {
		size_t start = i;
		long cp = utf8_next(u, n, &i);

		if (cp == '"' || cp == '\\') {
			buf_addch(b, '\\');
			buf_addch(b, (int)cp);
		} else if (cp == '\n') {
			buf_adds(b, "\\n");
		} else if (cp == '\t') {
			buf_adds(b, "\\t");
		} else if (needs_escape(cp)) {
			if (cp < 0)
				b->failed = 1;
			else
				buf_addf(b, "\\u%04lX", (unsigned long)cp);
		} else {
			buf_add(b, s + start, i - start);
		}
	}
	buf_addch(b, '"');
}

/* Plain only for text that cannot be read back as anything else, by us, go-yaml or PyYAML. */
static int plain_ok(const char *s, size_t n)
{
	json_t *v = NULL;
	struct err e = ERR_INIT;

	if (!n || !(isalpha((unsigned char)s[0]) || s[0] == '/' || s[0] == '_'))
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (isalnum(c) || (c && strchr("._/-=+@%$^()<>;,", c)))
			continue;
		if (c == ':' && i + 1 < n && s[i + 1] != ' ')
			continue;
		if (c == ' ' && i + 1 < n && s[i + 1] != ' ' && s[i + 1] != '#' && s[i - 1] != ':')
			continue;
		return 0;
	}
	if (s[n - 1] == ' ' || s[n - 1] == ':')
		return 0;
	if (y2j_resolve_plain(s, n, &v, &e) < 0)
		return 0;
	if (v) {
		json_decref(v);
		return 0;
	}
	return 1;
}

/* A literal block keeps multi-line text (scripts, config) readable. */
static int literal_ok(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	if (n < 2 || !memchr(s, '\n', n) || s[0] == ' ' || s[0] == '\n' || s[0] == '\t')
		return 0;
	if (n >= 2 && s[n - 1] == '\n' && s[n - 2] == '\n')
		return 0;
	while (i < n) {
		long cp = utf8_next(u, n, &i);

		if (cp == '\t')
			continue;
		if (needs_escape(cp) || cp == '\r')
			return 0;
	}
	/* A line of only spaces would be read back as an empty line. */
	for (i = 0; i < n; i++) {
		if (i == 0 || s[i - 1] == '\n') {
			size_t j = i;

			while (j < n && s[j] == ' ')
				j++;
			if (j > i && (j == n || s[j] == '\n'))
				return 0;
		}
	}
	return 1;
}

static void indent(struct buf *b, int n)
{
	for (int i = 0; i < n; i++)
		buf_addch(b, ' ');
}

static void emit_string(struct buf *b, const char *s, size_t n, int ind)
{
	if (plain_ok(s, n)) {
		buf_add(b, s, n);
	} else if (literal_ok(s, n)) {
		size_t i = 0;

		buf_adds(b, s[n - 1] == '\n' ? "|\n" : "|-\n");
		while (i < n) {
			const char *nl = memchr(s + i, '\n', n - i);
			size_t end = nl ? (size_t)(nl - s) : n;

			if (end > i)
				indent(b, ind);
			buf_add(b, s + i, end - i);
			buf_addch(b, '\n');
			i = end + 1;
		}
		buf_setlen(b, b->len - 1); /* the caller ends the line */
	} else {
		emit_quoted(b, s, n);
	}
}

/*
 * Keys are plain or double-quoted; YAML caps implicit keys at 1024
 * characters, so long ones use the explicit "? key" form.  Returns 1 then.
 */
static int emit_key(struct buf *b, const char *k, int ind)
{
	size_t n = strlen(k);

	if (n > 128) {
		buf_adds(b, "? ");
		emit_quoted(b, k, n);
		buf_addch(b, '\n');
		indent(b, ind);
		return 1;
	}
	if (plain_ok(k, n))
		buf_add(b, k, n);
	else
		emit_quoted(b, k, n);
	return 0;
}

static void emit_real(struct buf *b, double d)
{
	char t[40];

	if (!isfinite(d)) {
		b->failed = 1;
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(t, sizeof(t), "%.*g", prec, d);
		if (strtod(t, NULL) == d)
			break;
	}
	buf_adds(b, t);
	if (!strpbrk(t, ".en"))
		buf_adds(b, ".0");
}

static void emit_scalar(struct buf *b, const json_t *v, int ind)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		emit_string(b, json_string_value(v), json_string_length(v), ind);
		break;
	case JSON_INTEGER:
		buf_addf(b, "%lld", (long long)json_integer_value(v));
		break;
	case JSON_REAL:
		emit_real(b, json_real_value(v));
		break;
	case JSON_TRUE:
		buf_adds(b, "true");
		break;
	case JSON_FALSE:
		buf_adds(b, "false");
		break;
	case JSON_NULL:
		buf_adds(b, "null");
		break;
	default:
		BUG("emit_scalar on a container");
	}
}

static int is_nonempty_container(const json_t *v)
{
	return (json_is_object(v) && json_object_size(v)) ||
	       (json_is_array(v) && json_array_size(v));
}

/*
 * Emit a node whose first line continues the current one (after "key:" or
 * "- ").  ind is the indentation of the node's own lines; inline says the
 * cursor sits after "- " so a mapping may start on the same line.
 */
static void emit_node(struct buf *b, const json_t *v, int ind, int inline_start)
{
	if (json_is_object(v) && json_object_size(v)) {
		const char *k;
		json_t *x;
		int first = 1, explicit;

		json_object_foreach((json_t *)v, k, x) {
			if (!(first && inline_start))
				indent(b, ind);
			first = 0;
			explicit = emit_key(b, k, ind);
			buf_addch(b, ':');
			if (json_is_object(x) && json_object_size(x)) {
				buf_addch(b, '\n');
				emit_node(b, x, ind + 2, 0);
			} else if (json_is_array(x) && json_array_size(x)) {
				buf_addch(b, '\n');
				emit_node(b, x, explicit ? ind + 2 : ind, 0);
			} else {
				buf_addch(b, ' ');
				if (json_is_object(x))
					buf_adds(b, "{}");
				else if (json_is_array(x))
					buf_adds(b, "[]");
				else
					emit_scalar(b, x, ind + 2);
				buf_addch(b, '\n');
			}
		}
	} else if (json_is_array(v) && json_array_size(v)) {
		size_t i;
		json_t *x;
		int first = 1;

		json_array_foreach((json_t *)v, i, x) {
			if (!(first && inline_start))
				indent(b, ind);
			first = 0;
			buf_adds(b, "- ");
			if (is_nonempty_container(x)) {
				emit_node(b, x, ind + 2, 1);
			} else {
				if (json_is_object(x))
					buf_adds(b, "{}");
				else if (json_is_array(x))
					buf_adds(b, "[]");
				else
					emit_scalar(b, x, ind + 2);
				buf_addch(b, '\n');
			}
		}
	} else {
		if (!inline_start)
			indent(b, ind);
		if (json_is_object(v))
			buf_adds(b, "{}");
		else if (json_is_array(v))
			buf_adds(b, "[]");
		else
			emit_scalar(b, v, ind + 2);
		buf_addch(b, '\n');
	}
}

void y2j_emit(struct buf *b, const json_t *v)
{
	emit_node(b, v, 0, 0);
}

void y2j_emit_docs(struct buf *b, const json_t *docs)
{
	size_t i;
	json_t *d;

	json_array_foreach((json_t *)docs, i, d) {
		buf_adds(b, "---\n");
		y2j_emit(b, d);
	}
}
