/* tpl.h - Mustache-subset templates, compiled once at start, escaped by default. */
#ifndef SF_TPL_H
#define SF_TPL_H

#include <stddef.h>

#include "buf.h"
#include "err.h"
#include "view.h"

/*
 * Supported: {{name}} and {{a.b.c}} (HTML-escaped & < > " '), {{.}},
 * sections {{#x}}...{{/x}} (lists iterate, objects push context, truthy
 * scalars render once), inverted {{^x}}...{{/x}}, comments {{! ... }},
 * partials {{> name}} (with standalone-line indentation), standalone-tag
 * whitespace rules of the spec.  Raw output {{{x_html}}} / {{& x_html}} is
 * allowed only for keys ending in "_html", so every raw insertion can be
 * found with grep; any other triple mustache is a compile error.
 * Left out on purpose: set-delimiter tags, lambdas.
 *
 * Values: strings as they are (escaped), integers in decimal, reals in the
 * shortest form that reads back (1.21), booleans as true/false; null,
 * missing keys, lists and objects print nothing.  Truthiness is
 * view_truthy(): only null, false and empty lists are falsey.
 *
 * Limits: sections nest at most 100 deep (compile error), partials 32 deep
 * (render error: a self-including partial fails instead of crashing), and
 * a render executes at most tpl_set_max_steps() instructions.
 *
 * A set owns compiled templates by name ("login" for templates/login.html,
 * partials by the base name of templates/partials/x.html -> "x").
 */
struct tpl_set;

struct tpl_set *tpl_set_new(void);				/* OUT: free with tpl_set_free */
void tpl_set_free(struct tpl_set *ts);

/*
 * Make the set render text/plain (the plain part of an email): {{x}} then
 * prints values as they are, since HTML escaping would only garble text
 * that no browser interprets.  Everything else (raw keys, limits) is the
 * same.  Never use it for anything served as HTML.
 */
void tpl_set_plain(struct tpl_set *ts);

/*
 * Compile src (n bytes, copied) under name; `file` is used in error messages
 * ("file:line: problem").  Errors (500): syntax, raw output of a key not
 * ending in _html, bad names, a name already in the set.  On error the set
 * is unchanged.
 */
int tpl_add(struct tpl_set *ts, const char *name, const char *file, const char *src, size_t n,
	    struct err *e);

/*
 * Compile every DIR/NAME.html and DIR/partials/NAME.html (both named NAME),
 * then tpl_check; the first error stops (file:line).  OUT: free with tpl_set_free.
 */
struct tpl_set *tpl_load_dir(const char *dir, struct err *e);

/* tpl_load_dir for DIR/NAME<ext> (".txt"), made plain (tpl_set_plain) when plain is set. */
struct tpl_set *tpl_load_dir_ext(const char *dir, const char *ext, int plain, struct err *e);

/* Check that every {{> partial}} used by the set exists (call after loading). */
int tpl_check(const struct tpl_set *ts, struct err *e);

int tpl_exists(const struct tpl_set *ts, const char *name);

/*
 * Cap the instructions one render may execute (0 = the default, 20 million):
 * nested sections over lists multiply, so the cap bounds CPU per page.  The
 * fuzz target lowers it.
 */
void tpl_set_max_steps(struct tpl_set *ts, size_t steps);

/*
 * Render template name with view v appended to out.  Errors (500, out left as
 * it was): unknown name, partials nested deeper than 32, the step cap, output
 * past out->max.  A {{> partial}} missing at render time renders as nothing
 * (the spec's rule); tpl_check is what refuses it at start.
 */
int tpl_render(const struct tpl_set *ts, const char *name, const struct view *v,
	       struct buf *out, struct err *e);

#endif
