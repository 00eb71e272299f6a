/* y2j.h - YAML to jansson (libyaml events), with limits and fixed plain-scalar typing; and back. */
#ifndef SF_Y2J_H
#define SF_Y2J_H

#include <stddef.h>

#include <jansson.h>

#include "buf.h"
#include "err.h"

/*
 * The reader turns a YAML stream into jansson values the way Kubernetes
 * (sigs.k8s.io/yaml, i.e. go-yaml v2 then JSON) reads manifests, so what we
 * render and what kubectl would read from the same file agree.
 *
 * Plain (unquoted, untagged) scalars are typed by these rules, in order:
 *
 *   null    empty, ~, null, Null, NULL
 *   bool    y Y yes Yes YES on On ON true True TRUE            -> true
 *           n N no No NO off Off OFF false False FALSE         -> false
 *           (YAML 1.1, as go-yaml v2: "country: no" is false, quote it)
 *   int     optional sign, then decimal digits, 0x/0X hex, 0o/0O octal or
 *           0b/0B binary; underscores are ignored (1_000 = 1000).
 *           A leading 0 means octal as in YAML 1.1 and Kubernetes
 *           (014 = 12, defaultMode: 0644 = 420); a leading-0 number with
 *           an 8 or 9 in it (09) is an error rather than a guess.
 *           Out of the int64 range: an error.
 *   float   [-+]?(.D+|D+(.D*)?)([eE][-+]?D+)?  -> JSON real (1e3 = 1000.0)
 *           .inf/-.inf/.nan (any common case): an error, because JSON has
 *           no infinity or NaN and Kubernetes objects never need them.
 *   string  everything else (timestamps stay strings, as go-yaml v2 does
 *           when decoding into an interface).
 *
 * Quoted scalars and block scalars (| >) are always strings.  Tags:
 * !!str !!int !!float !!bool !!null !!map !!seq and the non-specific "!"
 * (= string) are honoured; a typed tag whose text does not parse as that
 * type is an error; any other tag (!!binary, !!set, local tags) is refused.
 *
 * Mapping keys must be scalars; a plain key is typed as above and then
 * turned back into text as sigs.k8s.io/yaml does (yes: -> "true",
 * 0x10: -> "16", ~: -> "null").  Duplicate keys (after that conversion)
 * are errors, and so is the merge key <<.
 *
 * Limits: input size (default 8 MiB), nesting depth (default 64).
 * Anchors are accepted and ignored; aliases (*x) are refused, which rules
 * out "billion laughs" expansion without an alias budget to tune.
 *
 * Errors read "name:line:col: problem" with 1-based line and column, e.g.
 * "charts/woocommerce/db.yaml:12:3: duplicate key 'image'".
 */

struct y2j_marks;

struct y2j_opts {
	size_t max_size;	 /* bytes; 0 = 8 MiB */
	int max_depth;		 /* nested collections; 0 = 64 */
	struct y2j_marks *marks; /* optional: record where every node came from */
};

#define Y2J_MAX_SIZE_DEFAULT  ((size_t)8 << 20)
#define Y2J_MAX_DEPTH_DEFAULT 64

/*
 * Parse a whole stream.  OUT: a new JSON array with one element per
 * document (an empty "---" document is null; a stream with no documents
 * gives []); the caller owns it (json_decref).  name is used only in
 * error messages.  o may be NULL (defaults).  Errors: NULL, e filled.
 */
json_t *y2j_load_string(const char *src, size_t n, const char *name, const struct y2j_opts *o,
			struct err *e);
json_t *y2j_load_file(const char *path, const struct y2j_opts *o, struct err *e);

/*
 * The same for a stream that must hold at most one document.  OUT: the
 * document (json null for an empty stream), caller owns it.  Several
 * documents are an error pointing at the second one.
 */
json_t *y2j_load_string1(const char *src, size_t n, const char *name, const struct y2j_opts *o,
			 struct err *e);
json_t *y2j_load_file1(const char *path, const struct y2j_opts *o, struct err *e);

/*
 * Positions of nodes, recorded while parsing when opts.marks is set.  A
 * node is named by its parent container and its key (objects) or index
 * (arrays, key == NULL); a document by the array the multi-document
 * loaders return and its index (the single-document loaders record the
 * root under parent NULL, index 0).  Entries refer to json_t pointers, so
 * they are meaningful only while those containers are alive and unchanged.
 * One marks table may collect several files.
 */
struct y2j_pos {
	const char *file;   /* borrowed from the marks table */
	unsigned line, col; /* 1-based */
};

struct y2j_marks *y2j_marks_new(void);	  /* OUT: free with y2j_marks_free */
void y2j_marks_free(struct y2j_marks *m); /* NULL is fine */

/*
 * Look up a node.  key_pos (may be NULL) gets the key's position (the
 * item's for arrays), val_pos (may be NULL) the value's.  Returns 0, or
 * -1 if nothing was recorded (then both are set to file "?", line 0).
 */
int y2j_marks_find(const struct y2j_marks *m, const json_t *parent, const char *key, size_t index,
		   struct y2j_pos *key_pos, struct y2j_pos *val_pos);

/*
 * Typing of one plain scalar by the rules above.  OUT: *out gets a new
 * reference to the typed value, or NULL if it is a string.  Returns 0, or
 * -1 with a reason in e (no position) for .inf/.nan/out of range/09.
 */
int y2j_resolve_plain(const char *s, size_t n, json_t **out, struct err *e);

/*
 * The other direction: append v as block-style YAML to b (one document,
 * no "---").  Strings are written plain only when reading them back by the
 * rules above (and by PyYAML/go-yaml) gives the same string; otherwise
 * they are double-quoted ("no", "1e3", "0o14", "", "a: b") or, when they
 * span lines, a literal block.  Keys keep the object's order.  Reals
 * must be finite.  Errors land in b->failed (checked by the caller).
 */
void y2j_emit(struct buf *b, const json_t *v);

/* Every element of the array docs as its own document, each opened by "---". */
void y2j_emit_docs(struct buf *b, const json_t *docs);

#endif
