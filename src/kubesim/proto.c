/* proto.c - decode the application/vnd.kubernetes.protobuf bodies kubectl's typed clients send
 * (kubectl create namespace/configmap/secret/deployment/job...) into the JSON objects kubesim
 * stores. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "kubesim.h"

/*
 * client-go's generated clients for built-in kinds prefer protobuf: a
 * create sends its body as protobuf whatever the server advertises, and
 * only a CBOR body falls back to JSON after a 415 (k8s.io/client-go
 * rest/request.go UseProtobufAsDefault, rest/client.go).  So a server
 * that cannot read protobuf cannot serve `kubectl create deployment`.
 *
 * The wire format (k8s.io/apimachinery pkg/runtime/serializer/protobuf):
 * the 4 bytes "k8s\0", then a runtime.Unknown message: 1 typeMeta
 * {1 apiVersion, 2 kind}, 2 raw (the object's own message), 3
 * contentEncoding, 4 contentType.  An object's message numbers its fields
 * as the struct tags of the Go types say (proto_gen.c, generated from
 * them); what each field holds comes from the OpenAPI schema
 * (schema_gen.c): a scalar, a nested message, a repeated field (one wire
 * entry per item), a map (entries {1 key, 2 value}).  Quantity is a
 * message {1 string}, IntOrString {1 type, 2 intVal, 3 strVal}, Time
 * {1 seconds, 2 nanos}, FieldsV1 {1 raw JSON}.
 *
 * Go marshals every field that is not a pointer, so the wire carries
 * empty strings, zeros and empty messages: like json's omitempty, those
 * are left out unless the field is a pointer.  A non-zero field kubesim
 * has no number for is refused rather than dropped.
 */

struct rd {
	const unsigned char *p, *end;
};

static int varint(struct rd *r, uint64_t *out)
{
	uint64_t v = 0;
	int shift = 0;

	while (r->p < r->end && shift < 64) {
		unsigned char c = *r->p++;

		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*out = v;
			return 0;
		}
		shift += 7;
	}
	return -1;
}

/* One field: its number, wire type and value (varint/fixed in *v, bytes in *b,*n). */
static int next_field(struct rd *r, int *num, int *wire, uint64_t *v, const unsigned char **b,
		      size_t *n)
{
	uint64_t key, len;

	if (varint(r, &key) < 0 || key >> 3 == 0 || key >> 3 > 536870911)
		return -1;
	*num = (int)(key >> 3);
	*wire = (int)(key & 7);
	*b = NULL;
	*n = 0;
	*v = 0;
	switch (*wire) {
	case 0:
		return varint(r, v);
	case 1:
		if (r->end - r->p < 8)
			return -1;
		memcpy(v, r->p, 8);
		r->p += 8;
		return 0;
	case 5: {
		uint32_t x;

		if (r->end - r->p < 4)
			return -1;
		memcpy(&x, r->p, 4);
		*v = x;
		r->p += 4;
		return 0;
	}
	case 2:
		if (varint(r, &len) < 0 || len > (uint64_t)(r->end - r->p))
			return -1;
		*b = r->p;
		*n = (size_t)len;
		r->p += len;
		return 0;
	default:
		return -1;
	}
}

/* Does a length-delimited value hold nothing but zeros (an empty Go struct)? */
static int all_zero(const unsigned char *b, size_t n, int depth)
{
	struct rd r = {b, b + n};

	if (depth > 20)
		return 0;
	while (r.p < r.end) {
		int num, wire;
		uint64_t v;
		const unsigned char *sb;
		size_t sn;

		if (next_field(&r, &num, &wire, &v, &sb, &sn) < 0)
			return 0;
		if ((wire != 2 && v) || (wire == 2 && sn && !all_zero(sb, sn, depth + 1)))
			return 0;
	}
	return 1;
}

/* --- the field table ------------------------------------------------------ */

static const struct ks_proto_field *pfield(const char *type, int num)
{
	int lo = 0, hi = ks_nproto_fields - 1, i;

	/* the table is sorted by type: find the first row of type, then scan its rows */
	while (lo < hi) {
		int mid = (lo + hi) / 2;

		if (strcmp(ks_proto_fields[mid].type, type) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = lo; i < ks_nproto_fields && !strcmp(ks_proto_fields[i].type, type); i++)
		if (ks_proto_fields[i].num == num)
			return &ks_proto_fields[i];
	return NULL;
}

struct dec {
	char *why;
	size_t wn;
	int depth;
};

static int fail(struct dec *d, const char *fmt, ...) SF_PRINTF(2, 3);
static int fail(struct dec *d, const char *fmt, ...)
{
	va_list ap;

	if (d->why[0])
		return -1;
	va_start(ap, fmt);
	vsnprintf(d->why, d->wn, fmt, ap);
	va_end(ap);
	return -1;
}

static int decode_into(struct dec *d, json_t *obj, const char *ptype, int t, const unsigned char *b,
		       size_t n);

static json_t *bytes_string(const unsigned char *b, size_t n)
{
	size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *s = malloc(cap);
	json_t *v;

	if (!s)
		die_oom();
	sodium_bin2base64(s, cap, b, n, sodium_base64_VARIANT_ORIGINAL);
	v = json_string(s);
	free(s);
	return v;
}

static json_t *str_n(const unsigned char *b, size_t n)
{
	return json_stringn((const char *)b, n);
}

/* A nested message (Quantity, IntOrString, Time) as the JSON scalar it stands for. */
static json_t *special(struct dec *d, int kind, const unsigned char *b, size_t n)
{
	struct rd r = {b, b + n};
	int num, wire;
	uint64_t v;
	const unsigned char *sb;
	size_t sn;
	int64_t secs = 0, ios_type = 0, ios_int = 0;
	json_t *ios_str = NULL, *out = NULL;

	while (r.p < r.end) {
		if (next_field(&r, &num, &wire, &v, &sb, &sn) < 0) {
			fail(d, "truncated field");
			json_decref(ios_str);
			return NULL;
		}
		if (kind == 'q' && num == 1 && wire == 2) {
			json_decref(out);
			out = str_n(sb, sn);
		} else if (kind == 't' && num == 1 && wire == 0) {
			secs = (int64_t)v;
		} else if (kind == 'x' && num == 1 && wire == 0) {
			ios_type = (int64_t)v;
		} else if (kind == 'x' && num == 2 && wire == 0) {
			ios_int = (int32_t)v;
		} else if (kind == 'x' && num == 3 && wire == 2) {
			json_decref(ios_str);
			ios_str = str_n(sb, sn);
		}
	}
	if (kind == 't') {
		char ts[40];
		time_t tt = (time_t)secs;
		struct tm tm;

		if (!secs)
			return json_null(); /* the zero Time: left out */
		gmtime_r(&tt, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
		return json_string(ts);
	}
	if (kind == 'x') {
		if (ios_type == 1) {
			out = ios_str ? ios_str : json_string("");
			return out;
		}
		json_decref(ios_str);
		return json_integer(ios_int);
	}
	return out ? out : json_string("0");
}

static int is_zero(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		return !json_string_length(v);
	case JSON_INTEGER:
		return !json_integer_value(v);
	case JSON_REAL:
		return json_real_value(v) == 0;
	case JSON_FALSE:
	case JSON_NULL:
		return 1;
	case JSON_OBJECT:
		return !json_object_size(v);
	case JSON_ARRAY:
		return !json_array_size(v);
	default:
		return 0;
	}
}

/*
 * One value of field f (schema) / pf (wire) into a new JSON value, or NULL
 * with d->why set.  item: decode one item of an array or one map value.
 */
static json_t *value(struct dec *d, const struct ks_field *f, const struct ks_proto_field *pf,
		     int wire, uint64_t v, const unsigned char *b, size_t n, int sub_t, int scalar)
{
	if (strchr(pf->flags, 't'))
		return wire == 2 ? special(d, 't', b, n)
				 : (fail(d, "%s: bad time", pf->name), NULL);
	if (strchr(pf->flags, 'f')) {
		/* FieldsV1 {1 raw} */
		struct rd r = {b, b + n};
		int num, w;
		uint64_t x;
		const unsigned char *sb;
		size_t sn;

		while (r.p < r.end && next_field(&r, &num, &w, &x, &sb, &sn) == 0)
			if (num == 1 && w == 2)
				return json_loadb((const char *)sb, sn, JSON_DECODE_ANY, NULL)
					   ?: json_object();
		return json_object();
	}
	if (sub_t >= 0) {
		json_t *o = json_object();

		if (wire != 2) {
			json_decref(o);
			fail(d, "%s: expected a message", pf->name);
			return NULL;
		}
		if (decode_into(d, o, ks_types[sub_t].name, sub_t, b, n) < 0) {
			json_decref(o);
			return NULL;
		}
		return o;
	}
	switch (scalar) {
	case KS_QUANTITY:
		return wire == 2 ? special(d, 'q', b, n) : json_string("0");
	case KS_INT_OR_STRING:
		return wire == 2 ? special(d, 'x', b, n) : json_integer((json_int_t)v);
	case KS_INTEGER:
		if (wire == 0 || wire == 5 || wire == 1)
			return json_integer(wire == 5 ? (json_int_t)(int32_t)v : (json_int_t)v);
		break;
	case KS_BOOLEAN:
		if (wire == 0)
			return json_boolean(v != 0);
		break;
	case KS_NUMBER:
		if (wire == 1) {
			double x;

			memcpy(&x, &v, sizeof(x));
			return json_real(x);
		}
		if (wire == 0)
			return json_integer((json_int_t)v);
		break;
	default:
		if (wire == 2)
			return strchr(pf->flags, 'b') ? bytes_string(b, n) : str_n(b, n);
		if (wire == 0)
			return json_integer((json_int_t)v);
	}
	(void)f;
	fail(d, "%s: unexpected wire type %d", pf->name, wire);
	return NULL;
}

/* Decode the message b[0..n) of proto type ptype (schema type t) into obj. */
static int decode_into(struct dec *d, json_t *obj, const char *ptype, int t, const unsigned char *b,
		       size_t n)
{
	struct rd r = {b, b + n};

	if (++d->depth > 40)
		return fail(d, "nested too deeply");
	while (r.p < r.end) {
		int num, wire;
		uint64_t v;
		const unsigned char *sb;
		size_t sn;
		const struct ks_proto_field *pf;
		const struct ks_field *f;
		json_t *val, *cur;

		if (next_field(&r, &num, &wire, &v, &sb, &sn) < 0)
			return fail(d, "%s: truncated or malformed field", ptype);
		pf = pfield(ptype, num);
		if (pf && strchr(pf->flags, 'i')) {
			/* an embedded struct whose fields sit in this object's JSON */
			if (wire != 2 || decode_into(d, obj, pf->inl, t, sb, sn) < 0)
				return fail(d, "%s: bad embedded %s", ptype, pf->inl);
			continue;
		}
		f = pf ? ks_schema_field(t, pf->name) : NULL;
		if (!pf || !f) {
			if ((wire == 2 && (!sn || all_zero(sb, sn, 0))) || (wire != 2 && !v))
				continue; /* a zero field kubesim does not model: as good as absent
					   */
			return fail(d, "kubesim cannot decode protobuf field %d of %s%s%s", num,
				    ptype, pf ? " " : "", pf ? pf->name : "");
		}
		if (f->kind == KS_MAP) {
			/* an entry {1 key, 2 value} */
			struct rd er = {sb, sb + sn};
			json_t *key = NULL, *mv = NULL;

			if (wire != 2)
				return fail(d, "%s: expected a map entry", pf->name);
			while (er.p < er.end) {
				int en, ew;
				uint64_t ev;
				const unsigned char *eb;
				size_t esn;

				if (next_field(&er, &en, &ew, &ev, &eb, &esn) < 0) {
					json_decref(key);
					json_decref(mv);
					return fail(d, "%s: bad map entry", pf->name);
				}
				if (en == 1 && ew == 2) {
					json_decref(key);
					key = str_n(eb, esn);
				} else if (en == 2) {
					json_decref(mv);
					mv = value(d, f, pf, ew, ev, eb, esn, f->type, f->scalar);
					if (!mv) {
						json_decref(key);
						return -1;
					}
				}
			}
			if (!mv)
				mv = f->type >= 0 ? json_object()
				     : strchr(pf->flags, 'b') || f->scalar == KS_STRING
					 ? json_string("")
					 : json_string("0");
			cur = json_object_get(obj, pf->name);
			if (!json_is_object(cur)) {
				cur = json_object();
				json_object_set_new(obj, pf->name, cur);
			}
			json_object_set_new(cur, key ? json_string_value(key) : "", mv);
			json_decref(key);
			continue;
		}
		if (f->kind == KS_ARRAY) {
			int it = f->type;

			cur = json_object_get(obj, pf->name);
			if (!json_is_array(cur)) {
				cur = json_array();
				json_object_set_new(obj, pf->name, cur);
			}
			if (it < 0 && wire == 2 &&
			    (f->scalar == KS_INTEGER || f->scalar == KS_BOOLEAN)) {
				/* packed scalars */
				struct rd pr = {sb, sb + sn};
				uint64_t pv;

				while (pr.p < pr.end) {
					if (varint(&pr, &pv) < 0)
						return fail(d, "%s: bad packed list", pf->name);
					json_array_append_new(cur,
							      f->scalar == KS_BOOLEAN
								  ? json_boolean(pv != 0)
								  : json_integer((json_int_t)pv));
				}
				continue;
			}
			val = value(d, f, pf, wire, v, sb, sn, it, f->scalar);
			if (!val)
				return -1;
			json_array_append_new(cur, val);
			continue;
		}
		val = value(
		    d, f, pf, wire, v, sb, sn,
		    f->kind == KS_OBJECT && f->type >= 0 && !ks_types[f->type].open ? f->type : -1,
		    f->scalar);
		if (!val)
			return -1;
		if (f->kind == KS_OBJECT && f->type >= 0 && ks_types[f->type].open &&
		    !strchr(pf->flags, 'f')) {
			json_decref(val);
			if ((wire == 2 && (!sn || all_zero(sb, sn, 0))) || (wire != 2 && !v))
				continue;
			return fail(d, "kubesim cannot decode protobuf field %d of %s %s", num,
				    ptype, pf->name);
		}
		if (is_zero(val) && !strchr(pf->flags, 'p')) {
			json_decref(val);
			json_object_del(obj, pf->name);
			continue;
		}
		json_object_set_new(obj, pf->name, val);
	}
	d->depth--;
	return 0;
}

json_t *ks_proto_decode(const struct ks_resource *r, const void *body, size_t len, char *why,
			size_t wn)
{
	const unsigned char *b = body;
	struct rd env;
	struct dec d = {why, wn, 0};
	json_t *obj = json_object(), *av = NULL, *kind = NULL;
	const unsigned char *raw = NULL;
	size_t rawn = 0;

	why[0] = 0;
	if (len < 4 || memcmp(b, "k8s\0", 4)) {
		snprintf(why, wn,
			 "provided data does not appear to be a protobuf message, expected "
			 "prefix [107 56 115 0]");
		json_decref(obj);
		return NULL;
	}
	env.p = b + 4;
	env.end = b + len;
	while (env.p < env.end) {
		int num, wire;
		uint64_t v;
		const unsigned char *sb;
		size_t sn;

		if (next_field(&env, &num, &wire, &v, &sb, &sn) < 0) {
			snprintf(why, wn, "the protobuf envelope is malformed");
			goto bad;
		}
		if (num == 1 && wire == 2) {
			struct rd tm = {sb, sb + sn};
			int tn, tw;
			uint64_t tv;
			const unsigned char *tb;
			size_t tsn;

			while (tm.p < tm.end && next_field(&tm, &tn, &tw, &tv, &tb, &tsn) == 0) {
				if (tn == 1 && tw == 2) {
					json_decref(av);
					av = str_n(tb, tsn);
				} else if (tn == 2 && tw == 2) {
					json_decref(kind);
					kind = str_n(tb, tsn);
				}
			}
		} else if (num == 2 && wire == 2) {
			raw = sb;
			rawn = sn;
		}
	}
	if (decode_into(&d, obj, ks_types[r->type].name, r->type, raw ? raw : b, raw ? rawn : 0) <
	    0)
		goto bad;
	if (av && json_string_length(av))
		json_object_set(obj, "apiVersion", av);
	if (kind && json_string_length(kind))
		json_object_set(obj, "kind", kind);
	json_decref(av);
	json_decref(kind);
	return obj;
bad:
	json_decref(av);
	json_decref(kind);
	json_decref(obj);
	return NULL;
}
