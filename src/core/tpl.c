/* tpl.c - Mustache-subset templates compiled once into flat instruction lists, escaped. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "arena.h"
#include "tpl.h"

/*
 * tpl_add() scans the source once and turns it into an array of
 * instructions.  A section is one instruction whose `end` is the index just
 * past its body, so the body is the slice [i + 1, end) and rendering is a
 * loop over a slice that recurses only into sections and partials - no
 * tree, no re-parsing.  Text instructions point into a copy of the source
 * held in the set's arena, together with names and the instruction arrays,
 * so tpl_set_free() is one arena_free().
 *
 * Standalone tags (sections, inverted, comments, partials alone on a line
 * with only blanks around them) are resolved while compiling: the blanks and
 * the line ending are dropped from the neighbouring text, and a standalone
 * partial keeps its leading blanks as the indentation the renderer puts in
 * front of every line of the partial's own text.
 *
 * Everything that could run away is capped: section nesting at compile
 * time, partial depth (a self-including partial) and the number of
 * instructions executed per render (nested lists multiply) at render time,
 * and the output by the caller's buf max.
 */

#define TPL_MAX_NEST	      100	 /* sections open at once in one template */
#define TPL_MAX_PARTIAL_DEPTH 32	 /* partials including partials */
#define TPL_MAX_STEPS	      20000000	 /* instructions executed by one render */
#define TPL_MAX_FILE	      (16 << 20) /* bytes in one template file */

enum tpl_op { OP_TEXT, OP_VAR, OP_RAW, OP_SECTION, OP_INVERTED, OP_PARTIAL };

struct tpl_ins {
	enum tpl_op op;
	int line;
	const char *s; /* TEXT: the bytes; PARTIAL: standalone indentation */
	size_t n;
	const char *name;   /* tag name as written (trimmed), NUL-terminated */
	const char **parts; /* dotted name split at '.'; nparts == 0 means "." */
	size_t nparts;
	size_t end; /* SECTION/INVERTED: index just past the body */
};

struct tpl {
	const char *name;
	const char *file;
	struct tpl_ins *ins;
	size_t n;
};

struct tpl_set {
	struct arena *a; /* everything compiled lives here */
	struct tpl *t;
	size_t n, cap;
	size_t max_steps;
	int plain; /* text/plain output: {{x}} is not HTML-escaped (tpl_set_plain) */
};

struct tpl_set *tpl_set_new(void)
{
	struct tpl_set *ts = calloc(1, sizeof(*ts));

	if (!ts)
		die_oom();
	ts->a = arena_new();
	ts->max_steps = TPL_MAX_STEPS;
	return ts;
}

void tpl_set_plain(struct tpl_set *ts)
{
	ts->plain = 1;
}

void tpl_set_free(struct tpl_set *ts)
{
	if (!ts)
		return;
	arena_free(ts->a);
	free(ts->t);
	free(ts);
}

void tpl_set_max_steps(struct tpl_set *ts, size_t steps)
{
	ts->max_steps = steps ? steps : TPL_MAX_STEPS;
}

static const struct tpl *tpl_find(const struct tpl_set *ts, const char *name)
{
	for (size_t i = 0; i < ts->n; i++)
		if (!strcmp(ts->t[i].name, name))
			return &ts->t[i];
	return NULL;
}

int tpl_exists(const struct tpl_set *ts, const char *name)
{
	return ts && name && tpl_find(ts, name) != NULL;
}

/* --- compiler ------------------------------------------------------------ */

struct tpl_comp {
	struct tpl_set *ts;
	const char *file;
	const char *src; /* the arena copy */
	size_t n;
	struct tpl_ins *ins; /* malloc'd while compiling, copied to the arena at the end */
	size_t nins, cap;
	size_t open[TPL_MAX_NEST];
	int depth;
	int line; /* line number of src[line_pos] */
	size_t line_pos;
	struct err *e;
};

static int comp_line(struct tpl_comp *c, size_t pos)
{
	for (; c->line_pos < pos; c->line_pos++)
		if (c->src[c->line_pos] == '\n')
			c->line++;
	return c->line;
}

static struct tpl_ins *comp_emit(struct tpl_comp *c, enum tpl_op op, int line)
{
	struct tpl_ins *in;

	if (c->nins == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 64;
		struct tpl_ins *p = realloc(c->ins, cap * sizeof(*p));

		if (!p)
			die_oom();
		c->ins = p;
		c->cap = cap;
	}
	in = &c->ins[c->nins++];
	memset(in, 0, sizeof(*in));
	in->op = op;
	in->line = line;
	return in;
}

static void comp_text(struct tpl_comp *c, size_t from, size_t to)
{
	struct tpl_ins *in;

	if (to <= from)
		return;
	in = comp_emit(c, OP_TEXT, comp_line(c, from));
	in->s = c->src + from;
	in->n = to - from;
}

static int name_char(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '_' || ch == '-';
}

/* Check a tag name and split it into parts: "." or name(.name)*; partials: one name. */
static int comp_name(struct tpl_comp *c, struct tpl_ins *in, const char *s, size_t n, int dotted)
{
	size_t k = 0, start = 0;

	in->name = arena_strndup(c->ts->a, s, n);
	if (dotted && n == 1 && s[0] == '.')
		return 0;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || (dotted && s[i] == '.')) {
			if (i == start)
				goto bad;
			k++;
			start = i + 1;
		} else if (!name_char((unsigned char)s[i]) && !(!dotted && s[i] == '.')) {
			goto bad;
		}
	}
	in->parts = arena_alloc(c->ts->a, k * sizeof(*in->parts));
	in->nparts = 0;
	start = 0;
	for (size_t i = 0; i <= n; i++)
		if (i == n || (dotted && s[i] == '.')) {
			in->parts[in->nparts++] = arena_strndup(c->ts->a, s + start, i - start);
			start = i + 1;
		}
	return 0;
bad:
	/* %.*s keeps a hostile name from flooding the message; err truncates anyway. */
	return err_set(c->e, 500, "%s:%d: bad name '%.*s' in tag", c->file, in->line,
		       (int)(n > 64 ? 64 : n), s);
}

static int ends_with_html(const char *s, size_t n)
{
	return n >= 5 && !memcmp(s + n - 5, "_html", 5);
}

static int is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

static int comp_run(struct tpl_comp *c)
{
	const char *src = c->src;
	size_t n = c->n, i = 0, text = 0;

	while (i < n) {
		const char *o = memmem(src + i, n - i, "{{", 2);
		size_t ts, p, nb, ne, te, ls, le, next;
		const char *close, *q;
		char kind;
		int line, standalone;
		struct tpl_ins *in;

		if (!o)
			break;
		ts = (size_t)(o - src);
		p = ts + 2;
		line = comp_line(c, ts);
		kind = p < n ? src[p] : 0;
		close = "}}";
		switch (kind) {
		case '{':
			close = "}}}";
			/* fall through */
		case '&':
		case '#':
		case '^':
		case '/':
		case '!':
		case '>':
		case '=':
			p++;
			break;
		default:
			kind = 0;
		}
		q = p <= n ? memmem(src + p, n - p, close, strlen(close)) : NULL;
		if (!q)
			return err_set(c->e, 500, "%s:%d: unclosed tag (no '%s')", c->file, line,
				       close);
		te = (size_t)(q - src) + strlen(close);
		if (kind == '=')
			return err_set(c->e, 500, "%s:%d: set-delimiter tags are not supported",
				       c->file, line);
		nb = p;
		ne = (size_t)(q - src);
		while (nb < ne && (is_blank(src[nb]) || src[nb] == '\n' || src[nb] == '\r'))
			nb++;
		while (ne > nb &&
		       (is_blank(src[ne - 1]) || src[ne - 1] == '\n' || src[ne - 1] == '\r'))
			ne--;
		if (kind != '!' && nb == ne)
			return err_set(c->e, 500, "%s:%d: empty tag", c->file, line);

		/* Standalone: only blanks between the tag and the line's start and end. */
		standalone = 0;
		next = te;
		ls = ts;
		if (kind && kind != '{' && kind != '&') {
			while (ls > 0 && is_blank(src[ls - 1]))
				ls--;
			le = te;
			while (le < n && is_blank(src[le]))
				le++;
			if (ls == 0 || src[ls - 1] == '\n') {
				if (le == n) {
					standalone = 1, next = n;
				} else if (src[le] == '\n') {
					standalone = 1, next = le + 1;
				} else if (src[le] == '\r' && le + 1 < n && src[le + 1] == '\n') {
					standalone = 1, next = le + 2;
				}
			}
		}
		if (standalone) {
			comp_text(c, text, ls);
		} else {
			comp_text(c, text, ts);
			ls = ts;
		}
		text = i = next;

		switch (kind) {
		case '!':
			break;
		case 0:
			in = comp_emit(c, OP_VAR, line);
			if (comp_name(c, in, src + nb, ne - nb, 1) < 0)
				return -1;
			break;
		case '{':
		case '&':
			in = comp_emit(c, OP_RAW, line);
			if (comp_name(c, in, src + nb, ne - nb, 1) < 0)
				return -1;
			if (!ends_with_html(src + nb, ne - nb))
				return err_set(c->e, 500,
					       "%s:%d: raw output of '%s': only keys ending in "
					       "_html may be unescaped",
					       c->file, line, in->name);
			break;
		case '#':
		case '^':
			if (c->depth == TPL_MAX_NEST)
				return err_set(c->e, 500, "%s:%d: sections nested deeper than %d",
					       c->file, line, TPL_MAX_NEST);
			in = comp_emit(c, kind == '#' ? OP_SECTION : OP_INVERTED, line);
			if (comp_name(c, in, src + nb, ne - nb, 1) < 0)
				return -1;
			c->open[c->depth++] = c->nins - 1;
			break;
		case '/': {
			struct tpl_ins *op;

			if (!c->depth)
				return err_set(c->e, 500,
					       "%s:%d: '{{/%.*s}}' closes no open section", c->file,
					       line, (int)(ne - nb > 64 ? 64 : ne - nb), src + nb);
			op = &c->ins[c->open[c->depth - 1]];
			if (strlen(op->name) != ne - nb || memcmp(op->name, src + nb, ne - nb))
				return err_set(
				    c->e, 500,
				    "%s:%d: '{{/%.*s}}' does not match '{{%c%s}}' opened at "
				    "line %d",
				    c->file, line, (int)(ne - nb > 64 ? 64 : ne - nb), src + nb,
				    op->op == OP_SECTION ? '#' : '^', op->name, op->line);
			op->end = c->nins;
			c->depth--;
			break;
		}
		case '>':
			in = comp_emit(c, OP_PARTIAL, line);
			if (comp_name(c, in, src + nb, ne - nb, 0) < 0)
				return -1;
			if (standalone) {
				in->s = src + ls;
				in->n = ts - ls;
			}
			break;
		}
	}
	comp_text(c, text, n);
	if (c->depth) {
		const struct tpl_ins *op = &c->ins[c->open[c->depth - 1]];

		return err_set(c->e, 500, "%s:%d: unclosed section '{{%c%s}}'", c->file, op->line,
			       op->op == OP_SECTION ? '#' : '^', op->name);
	}
	return 0;
}

int tpl_add(struct tpl_set *ts, const char *name, const char *file, const char *src, size_t n,
	    struct err *e)
{
	struct tpl_comp c = {0};
	struct tpl *t;
	int rc;

	if (!file)
		file = name;
	if (tpl_find(ts, name))
		return err_set(e, 500, "%s: template '%s' defined twice", file, name);
	c.ts = ts;
	c.file = file;
	c.src = arena_memdup(ts->a, src, n);
	c.n = n;
	c.line = 1;
	c.e = e;
	rc = comp_run(&c);
	if (rc == 0) {
		if (ts->n == ts->cap) {
			size_t cap = ts->cap ? 2 * ts->cap : 16;
			struct tpl *p = realloc(ts->t, cap * sizeof(*p));

			if (!p)
				die_oom();
			ts->t = p;
			ts->cap = cap;
		}
		t = &ts->t[ts->n++];
		t->name = arena_strdup(ts->a, name);
		t->file = arena_strdup(ts->a, file);
		t->n = c.nins;
		t->ins = c.nins ? arena_memdup(ts->a, c.ins, c.nins * sizeof(*c.ins)) : NULL;
	}
	free(c.ins);
	return rc;
}

int tpl_check(const struct tpl_set *ts, struct err *e)
{
	for (size_t i = 0; i < ts->n; i++) {
		const struct tpl *t = &ts->t[i];

		for (size_t k = 0; k < t->n; k++)
			if (t->ins[k].op == OP_PARTIAL && !tpl_find(ts, t->ins[k].name))
				return err_set(e, 500, "%s:%d: unknown partial '%s'", t->file,
					       t->ins[k].line, t->ins[k].name);
	}
	return 0;
}

/* --- loading a directory ----------------------------------------------- */

/* NAME + ext, not hidden, NAME not empty. */
static int has_ext(const char *fn, const char *ext)
{
	size_t n = strlen(fn), k = strlen(ext);

	return fn[0] != '.' && n > k && !strcmp(fn + n - k, ext);
}

static int load_file(struct tpl_set *ts, const char *path, const char *name, struct err *e)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	char *data;
	size_t got;
	int rc;

	if (!f)
		return err_set(e, 500, "cannot open '%s': %s", path, strerror(errno));
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > TPL_MAX_FILE) {
		fclose(f);
		return err_set(e, 500, "'%s': not a regular file of at most %d bytes", path,
			       TPL_MAX_FILE);
	}
	data = malloc((size_t)st.st_size + 1);
	if (!data)
		die_oom();
	got = fread(data, 1, (size_t)st.st_size, f);
	if (ferror(f)) {
		free(data);
		fclose(f);
		return err_set(e, 500, "cannot read '%s'", path);
	}
	fclose(f);
	rc = tpl_add(ts, name, path, data, got, e);
	free(data);
	return rc;
}

/* Load every DIR/NAME<ext>; a missing directory is an error only if required. */
static int load_files(struct tpl_set *ts, const char *dir, const char *ext, int required,
		      struct err *e)
{
	struct dirent **ents;
	int k, rc = 0;

	k = scandir(dir, &ents, NULL, alphasort);
	if (k < 0) {
		if (!required && errno == ENOENT)
			return 0;
		return err_set(e, 500, "cannot read template directory '%s': %s", dir,
			       strerror(errno));
	}
	for (int i = 0; i < k; i++) {
		if (rc == 0 && has_ext(ents[i]->d_name, ext)) {
			const char *fn = ents[i]->d_name;
			char *path = arena_printf(ts->a, "%s/%s", dir, fn);
			char *name = arena_strndup(ts->a, fn, strlen(fn) - strlen(ext));

			rc = load_file(ts, path, name, e);
		}
		free(ents[i]);
	}
	free(ents);
	return rc;
}

struct tpl_set *tpl_load_dir(const char *dir, struct err *e)
{
	return tpl_load_dir_ext(dir, ".html", 0, e);
}

struct tpl_set *tpl_load_dir_ext(const char *dir, const char *ext, int plain, struct err *e)
{
	struct tpl_set *ts = tpl_set_new();
	char *partials = arena_printf(ts->a, "%s/partials", dir);

	if (plain)
		tpl_set_plain(ts);
	if (load_files(ts, dir, ext, 1, e) < 0 || load_files(ts, partials, ext, 0, e) < 0 ||
	    tpl_check(ts, e) < 0) {
		tpl_set_free(ts);
		return NULL;
	}
	return ts;
}

/* --- renderer ------------------------------------------------------------ */

/* The context stack lives in the renderer's C frames. */
struct tpl_ctx {
	const struct view *v;
	const struct tpl_ctx *up;
};

struct tpl_run {
	const struct tpl_set *ts;
	struct buf *out;
	struct err *e;
	struct buf indent; /* concatenated indentation of the standalone partials we are in */
	int at_bol;	   /* the partial text is at a line start: indent before the next byte */
	int depth;	   /* partials entered */
	size_t steps;
};

static const struct view *ctx_lookup(const struct tpl_ctx *c, const struct tpl_ins *in)
{
	const struct view *v = NULL;

	if (!in->nparts)
		return c->v;
	/* Only the first part searches up the stack; the rest must resolve in what it found. */
	for (; c; c = c->up)
		if ((v = view_get(c->v, in->parts[0])))
			break;
	for (size_t k = 1; v && k < in->nparts; k++)
		v = view_get(v, in->parts[k]);
	return v;
}

static void run_indent(struct tpl_run *r)
{
	if (r->at_bol && r->indent.len)
		buf_add(r->out, r->indent.s, r->indent.len);
	r->at_bol = 0;
}

static void run_text(struct tpl_run *r, const char *s, size_t n)
{
	const char *nl;

	if (!r->indent.len) {
		buf_add(r->out, s, n);
		return;
	}
	while (n) {
		nl = memchr(s, '\n', n);
		size_t k = nl ? (size_t)(nl - s) + 1 : n;

		run_indent(r);
		buf_add(r->out, s, k);
		r->at_bol = nl != NULL;
		s += k;
		n -= k;
	}
}

/* Shortest %g that reads back as the same double: 1.21 prints as "1.21". */
static void fmt_real(char *num, size_t size, double d)
{
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(num, size, "%.*g", prec, d);
		if (strtod(num, NULL) == d)
			return;
	}
}

static void run_value(struct tpl_run *r, const struct view *v, int escape)
{
	char num[64];

	run_indent(r);
	if (!v)
		return;
	switch (v->type) {
	case VIEW_STR:
		if (escape)
			buf_add_html(r->out, v->u.str.s, v->u.str.len);
		else
			buf_add(r->out, v->u.str.s, v->u.str.len);
		break;
	case VIEW_INT:
		buf_addf(r->out, "%lld", v->u.i);
		break;
	case VIEW_REAL:
		if (isfinite(v->u.d)) {
			fmt_real(num, sizeof(num), v->u.d);
			buf_adds(r->out, num);
		}
		break;
	case VIEW_BOOL:
		buf_adds(r->out, v->u.b ? "true" : "false");
		break;
	default:
		/* null, lists and objects have no text form */
		break;
	}
}

static int run_slice(struct tpl_run *r, const struct tpl *t, size_t from, size_t to,
		     const struct tpl_ctx *c);

static int run_partial(struct tpl_run *r, const struct tpl *t, const struct tpl_ins *in,
		       const struct tpl_ctx *c)
{
	const struct tpl *p = tpl_find(r->ts, in->name);
	size_t saved = r->indent.len;
	int rc;

	if (!p)
		return 0; /* the spec renders a missing partial as nothing; tpl_check catches it */
	if (r->depth == TPL_MAX_PARTIAL_DEPTH)
		return err_set(r->e, 500, "%s:%d: partials nested deeper than %d (recursive '%s'?)",
			       t->file, in->line, TPL_MAX_PARTIAL_DEPTH, in->name);
	if (in->n) {
		buf_add(&r->indent, in->s, in->n);
		r->at_bol = 1;
	}
	r->depth++;
	rc = run_slice(r, p, 0, p->n, c);
	r->depth--;
	buf_setlen(&r->indent, saved);
	return rc;
}

static int run_slice(struct tpl_run *r, const struct tpl *t, size_t from, size_t to,
		     const struct tpl_ctx *c)
{
	size_t i = from;

	while (i < to) {
		const struct tpl_ins *in = &t->ins[i];
		const struct view *v;
		struct tpl_ctx sub;

		if (++r->steps > r->ts->max_steps)
			return err_set(r->e, 500, "%s: rendering took more than %zu steps", t->file,
				       r->ts->max_steps);
		if (r->out->failed)
			return err_set(r->e, 500, "%s: rendered output too large", t->file);
		switch (in->op) {
		case OP_TEXT:
			run_text(r, in->s, in->n);
			i++;
			break;
		case OP_VAR:
		case OP_RAW:
			run_value(r, ctx_lookup(c, in), in->op == OP_VAR && !r->ts->plain);
			i++;
			break;
		case OP_SECTION:
			v = ctx_lookup(c, in);
			sub.up = c;
			if (v && v->type == VIEW_ARR) {
				for (const struct view_item *it = v->u.list.head; it;
				     it = it->next) {
					/* Count iterations too: an empty body must not loop for
					 * free. */
					if (++r->steps > r->ts->max_steps)
						return err_set(
						    r->e, 500,
						    "%s: rendering took more than %zu steps",
						    t->file, r->ts->max_steps);
					sub.v = it->val;
					if (run_slice(r, t, i + 1, in->end, &sub) < 0)
						return -1;
				}
			} else if (view_truthy(v)) {
				sub.v = v;
				if (run_slice(r, t, i + 1, in->end, &sub) < 0)
					return -1;
			}
			i = in->end;
			break;
		case OP_INVERTED:
			if (!view_truthy(ctx_lookup(c, in)) &&
			    run_slice(r, t, i + 1, in->end, c) < 0)
				return -1;
			i = in->end;
			break;
		case OP_PARTIAL:
			if (run_partial(r, t, in, c) < 0)
				return -1;
			i++;
			break;
		}
	}
	return 0;
}

int tpl_render(const struct tpl_set *ts, const char *name, const struct view *v, struct buf *out,
	       struct err *e)
{
	const struct tpl *t = tpl_find(ts, name);
	struct tpl_run r = {ts, out, e, BUF_INIT, 0, 0, 0};
	struct tpl_ctx root = {v, NULL};
	size_t start = out->len;
	int rc;

	if (!t)
		return err_set(e, 500, "no template '%s'", name);
	rc = run_slice(&r, t, 0, t->n, &root);
	if (rc == 0 && (out->failed || r.indent.failed))
		rc = err_set(e, 500, "%s: rendered output too large", t->file);
	buf_release(&r.indent);
	/* Never hand back half a page. */
	if (rc < 0)
		buf_setlen(out, start);
	return rc;
}
