/* blueprint.h - a store's Kubernetes objects, rendered from charts/<engine>/ and layered values. */
#ifndef SF_BLUEPRINT_H
#define SF_BLUEPRINT_H

#include <jansson.h>

#include "buf.h"
#include "err.h"

/*
 * A chart is a folder charts/<engine>/ with values.yaml (every value and
 * its type), optional overlays values-<overlay>.yaml, and manifests/<name>.yaml
 * (applied in file-name order, documents in file order).  The format is
 * described for chart authors in charts/README.md; in short:
 *
 *   ${a.b}          inside a string scalar: the value at a.b.  A scalar that
 *                   is exactly one placeholder takes the value's type (and
 *                   may be a mapping or list from values.yaml); inside a
 *                   longer string the value is printed into the text.
 *                   $${ is a literal ${.  Placeholders are never looked for
 *                   in keys, so no value can add a key, item or document.
 *   key?cond: v     the key is kept only if cond holds
 *   $when: cond     in a mapping (a document, a list item, a value): the
 *                   mapping is kept only if cond holds; the key is removed
 *   cond            a value path (a.b) or its negation (!a.b); the value
 *                   must be a boolean, or a string (true when non-empty)
 *
 * Values, later layers winning: values.yaml < values-<overlay>.yaml <
 * operator file < per-store values.  Every later layer may only set keys
 * values.yaml has, with the same type (an int where values.yaml has an
 * int...); a list replaces the whole list.  The per-store layer is made by
 * the renderer from struct blueprint_store:
 *
 *   store.id store.namespace (store-<id>) store.host (store-<id>.<domain>)
 *   store.url (http or https from tls.enabled) store.name store.owner_email
 *   store.engine, secrets.<name> for every key under secrets: in values.yaml,
 *   and version (when the store pins one).
 *
 * Every rendered object gets metadata.namespace (except cluster-scoped
 * kinds), the labels app.kubernetes.io/managed-by=storefleet,
 * storefleet.io/store, storefleet.io/engine, app.kubernetes.io/name (the
 * manifest's own, else the engine), app.kubernetes.io/part-of=storefleet,
 * app.kubernetes.io/instance=store-<id> (pod templates get them too, minus
 * name), and the annotation storefleet.io/blueprint-revision: the first 16
 * hex digits of the SHA-256 of the canonical JSON (sorted keys, compact) of
 * the rendered set without that annotation and with every secret replaced
 * by its placeholder text ${secrets.<name>} (wherever it went: a whole
 * scalar, inside a longer one, the whole secrets mapping).  So the revision
 * moves with the chart, the values, the version and the store's fields,
 * never with its secrets: a rotated secret is no new revision.  Same
 * inputs, same bytes.
 *
 * A platform chart (values.yaml has `platform: true`, which no later layer
 * may change; charts/platform is storefleet's own Deployment, CronJob and
 * RBAC) is rendered once, with no store: no store.* or secrets.* values,
 * namespaced objects default to the `namespace` value, and the labels are
 * only app.kubernetes.io/name, part-of=storefleet and instance=<namespace>
 * (never managed-by=storefleet or storefleet.io/store, which reconcile
 * selects stores by).
 */

struct blueprint;

#define BLUEPRINT_REVISION_ANNOTATION "storefleet.io/blueprint-revision"

/*
 * Load and check a chart once: every file parsed, the value layers merged
 * and type-checked, every placeholder and condition resolved against the
 * values (so an unknown placeholder fails here, naming file:line).
 * overlay and values_file may be NULL.  OUT: free with blueprint_free.
 * Errors: NULL, e says "file:line: problem" (status 500, or 400 for a
 * malformed engine/overlay name, 404 for an engine with no chart).
 */
struct blueprint *blueprint_load(const char *charts_dir, const char *engine, const char *overlay,
				 const char *values_file, struct err *e);
void blueprint_free(struct blueprint *bp);

/*
 * Set one value after loading, with the same rules as a values file (the
 * key must exist, same type).  For settings that come from the program's
 * configuration (domain, ingress class).  value is YAML scalar text
 * ("8080", "true", "x") typed by y2j's rules; from names the source in
 * errors.  Returns 0, or -1 with e filled (the blueprint is unchanged).
 */
int blueprint_set(struct blueprint *bp, const char *path, const char *value, const char *from,
		  struct err *e);

/*
 * Apply the program's settings that charts share, after the values files:
 * domain <- SF_DOMAIN, ingress.class <- SF_INGRESS_CLASS, and when set,
 * tls.secret_name <- SF_TLS_SECRET, tls.cluster_issuer <- SF_TLS_ISSUER,
 * webhooks.base_url <- SF_PUBLIC_ORIGIN (where WooCommerce delivers).
 * A chart without one of those keys is left alone.  reconcile and
 * `storefleetctl render` both call this, so render prints what reconcile
 * applies, and store hosts agree with what the web app shows.
 */
struct config;
int blueprint_configure(struct blueprint *bp, const struct config *c, struct err *e);

/* 1 for a platform chart (rendered with store NULL), 0 for a store engine. */
int blueprint_is_platform(const struct blueprint *bp);

/* The engine name, and the values after every layer but the per-store one (borrowed). */
const char *blueprint_engine(const struct blueprint *bp);
const json_t *blueprint_values(const struct blueprint *bp);

/*
 * The engine versions a store of this chart may run (upgrade or roll back
 * to): the `versions` list of values.yaml (after the overlays), which
 * always holds the default `version`.  Borrowed JSON array of strings,
 * oldest first as the chart lists them; an empty array for a chart with
 * no `version` (the platform).  blueprint_version_known says whether
 * version is one of them (0 for NULL).  The web side refuses any other
 * version with 422; reconcile renders only these.
 */
const json_t *blueprint_versions(const struct blueprint *bp);
int blueprint_version_known(const struct blueprint *bp, const char *version);

/*
 * The names of the secrets a store of this chart needs (borrowed JSON
 * array of strings, from the keys of secrets: in values.yaml).  The caller
 * generates each once per store from a CSPRNG and keeps them: the renderer
 * never invents a secret.
 */
const json_t *blueprint_secret_names(const struct blueprint *bp);

/* What varies per store; every string borrowed for the duration of the call. */
struct blueprint_store {
	const char *id;		 /* [a-z0-9]([a-z0-9-]*[a-z0-9])?, at most 40 chars */
	const char *name;	 /* display name, any text */
	const char *owner_email; /* any text */
	const char *version;	 /* engine version; NULL = the chart's */
	const json_t *secrets;	 /* object: every secret name -> non-empty [A-Za-z0-9._~-]+ */
	/*
	 * More per-store values (NULL = none): an object of keys values.yaml
	 * has, with the same types (nested objects merge, lists replace), never
	 * secrets, store, version or platform.  Reconcile sets snapshot.* here
	 * to render a store's snapshot and restore Jobs.
	 */
	const json_t *values;
};

/*
 * Render one store (store NULL for a platform chart, and only then: the
 * other way round is a 400).  OUT: a new JSON array of objects in apply order
 * (namespace, isolation, secrets, database, app, jobs, ingress: the
 * manifests' file order), caller owns it.  Thread-compatible: bp is only
 * read.  Errors: NULL and nothing else (no partial set); e names the
 * manifest file:line and the key for a missing value or bad store field.
 * Objects and arrays in the set are new; scalars may be shared with the
 * chart, so change the set by replacing values (json_object_set), never by
 * editing a string in place (json_string_set).
 */
json_t *blueprint_render(const struct blueprint *bp, const struct blueprint_store *store,
			 struct err *e);

/*
 * The revision annotation of a rendered set (borrowed from it), or NULL.
 * Two renders of a store that differ only in secrets have the same one.
 */
const char *blueprint_revision(const json_t *set);

/*
 * Replace every value under data and stringData of each Secret in set with
 * a fixed mask (base64 of it under data), in place.  For printing.
 */
void blueprint_mask_secrets(json_t *set);

#endif
