/* quantity.c - resource.Quantity: parse, compare, add and print "5Gi", "500m", "1e3" as Kubernetes
 * does, and canonicalize the quantities of stored objects. */
#include <stdio.h>
#include <string.h>

#include "kubesim.h"

/*
 * A quantity is held exactly as a count of nano-units in 128 bits (1Ei is
 * about 1.2e27 nano), which is the precision the API server keeps: finer
 * values round up to 1n, as ParseQuantity does.  The format (DecimalSI,
 * BinarySI, DecimalExponent) comes from the suffix and decides how the
 * value prints (k8s.io/apimachinery pkg/api/resource, Quantity.String):
 *
 *   BinarySI: an integer of at least 1024 prints with the largest binary
 *     suffix that divides it (2048Mi -> 2Gi, 1536Mi stays); anything else
 *     prints as DecimalSI.
 *   DecimalSI: the value as m * 10^e with e a multiple of 3 and m an
 *     integer without trailing zero groups, then the SI suffix of e
 *     (1500m, 1, 100M, 5k); DecimalExponent writes e as "e<e>".
 *
 * A sum takes the format of its first non-zero operand (Quantity.Add).
 */

#define NANO   1000000000LL
#define QTY_RE "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"

static const char *const bin_suffix[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};

static int mul_ok(ks_int128 *v, ks_int128 by)
{
	return !__builtin_mul_overflow(*v, by, v);
}

static int pow_mul(ks_int128 *v, int base, int times)
{
	while (times-- > 0)
		if (!mul_ok(v, base))
			return -1;
	return 0;
}

int ks_qty_parse(const char *s, struct ks_qty *q, const char **why)
{
	const char *p = s, *num, *den = NULL, *suf;
	size_t nnum, nden = 0;
	int neg = 0, e10 = 0, e2 = 0, fmt;
	ks_int128 v = 0, div = 1;

	q->v = 0;
	q->fmt = KS_QTY_DECIMAL_SI;
	*why = "quantities must match the regular expression '" QTY_RE "'";
	if (!*s)
		return -1;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	num = p;
	while (*p >= '0' && *p <= '9')
		p++;
	nnum = (size_t)(p - num);
	if (*p == '.') {
		den = ++p;
		while (*p >= '0' && *p <= '9')
			p++;
		nden = (size_t)(p - den);
	}
	if (!nnum && !nden && !den)
		return -1;
	suf = p;
	while (*p && strchr("eEinumkKMGTP", *p))
		p++;
	if (*p == '+' || *p == '-')
		p++;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p)
		return -1;
	/* the suffix: binary, decimal SI, or an exponent */
	*why = "unable to parse quantity's suffix";
	fmt = KS_QTY_DECIMAL_SI;
	if (!*suf) {
	} else if (suf[1] == 'i' && !suf[2] && strchr("KMGTPE", suf[0])) {
		e2 = 10 * (int)(strchr("KMGTPE", suf[0]) - "KMGTPE" + 1);
		fmt = KS_QTY_BINARY_SI;
	} else if (!suf[1] && strchr("numkMGTPE", suf[0])) {
		static const int ex[] = {-9, -6, -3, 3, 6, 9, 12, 15, 18};

		e10 = ex[strchr("numkMGTPE", suf[0]) - "numkMGTPE"];
	} else if ((suf[0] == 'e' || suf[0] == 'E') && suf[1]) {
		const char *x = suf + 1;
		int sign = 1, digits = 0;

		if (*x == '+' || *x == '-')
			sign = *x++ == '-' ? -1 : 1;
		for (; *x >= '0' && *x <= '9'; x++, digits++) {
			e10 = e10 * 10 + (*x - '0');
			if (e10 > 1000)
				return -1;
		}
		if (!digits || *x)
			return -1;
		e10 *= sign;
		fmt = KS_QTY_DECIMAL_EXPONENT;
	} else {
		return -1;
	}
	/* the digits, as an integer with the decimal point moved into e10 */
	*why = "unable to parse numeric part of quantity";
	for (const char *d = num; d < num + nnum; d++)
		if (!mul_ok(&v, 10) || __builtin_add_overflow(v, *d - '0', &v))
			return -1;
	for (size_t i = 0; i < nden; i++)
		if (!mul_ok(&v, 10) || __builtin_add_overflow(v, den[i] - '0', &v))
			return -1;
	e10 -= (int)nden;
	e10 += 9; /* nano units */
	if (e10 > 0 && pow_mul(&v, 10, e10) < 0)
		return -1;
	for (; e10 < 0; e10++)
		if (!mul_ok(&div, 10))
			div = 0; /* beyond any value we can hold: rounds to 1n below */
	if (e2 && pow_mul(&v, 2, e2) < 0)
		return -1;
	if (div != 1) {
		/* finer than a nano-unit: round up (away from zero) */
		ks_int128 r = div ? v / div + (v % div != 0) : (v != 0);

		v = r;
	}
	if (fmt == KS_QTY_BINARY_SI && v > 0 && v < NANO)
		fmt = KS_QTY_DECIMAL_SI;
	q->v = neg ? -v : v;
	q->fmt = fmt;
	*why = NULL;
	return 0;
}

static void put_int(struct buf *b, ks_int128 v)
{
	char tmp[48];
	int n = 0;
	int neg = v < 0;

	if (neg)
		v = -v;
	do {
		tmp[n++] = (char)('0' + (int)(v % 10));
		v /= 10;
	} while (v);
	if (neg)
		buf_addch(b, '-');
	while (n--)
		buf_addch(b, tmp[n]);
}

void ks_qty_format(const struct ks_qty *q, struct buf *b)
{
	ks_int128 v = q->v, m;
	int fmt = q->fmt, e = -9;

	if (!v) {
		buf_addch(b, '0');
		return;
	}
	if (fmt == KS_QTY_BINARY_SI) {
		if ((v > -1024 * (ks_int128)NANO && v < 1024 * (ks_int128)NANO) || v % NANO)
			fmt = KS_QTY_DECIMAL_SI;
		else {
			int x = 0;

			m = v / NANO;
			while (x < 6 && m % 1024 == 0) {
				m /= 1024;
				x++;
			}
			put_int(b, m);
			buf_adds(b, bin_suffix[x]);
			return;
		}
	}
	m = v;
	while (m % 10 == 0) {
		m /= 10;
		e++;
	}
	while (((e % 3) + 3) % 3) {
		m *= 10;
		e--;
	}
	put_int(b, m);
	if (fmt == KS_QTY_DECIMAL_SI && e >= -9 && e <= 18) {
		static const char *const si[] = {"n", "u", "m", "", "k", "M", "G", "T", "P", "E"};

		buf_adds(b, si[(e + 9) / 3]);
	} else if (e) {
		buf_addf(b, "e%d", e);
	}
}

const char *ks_qty_str(const struct ks_qty *q, char *out, size_t n)
{
	struct buf b = BUF_INIT;

	ks_qty_format(q, &b);
	snprintf(out, n, "%s", b.s);
	buf_release(&b);
	return out;
}

void ks_qty_add(struct ks_qty *a, const struct ks_qty *b)
{
	if (!a->v)
		a->fmt = b->fmt;
	a->v += b->v;
}

int ks_qty_cmp(const struct ks_qty *a, const struct ks_qty *b)
{
	return a->v < b->v ? -1 : a->v > b->v;
}

int ks_qty_of(const json_t *v, struct ks_qty *q)
{
	const char *why;
	char num[64];

	if (json_is_string(v))
		return ks_qty_parse(json_string_value(v), q, &why);
	if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		return ks_qty_parse(num, q, &why);
	}
	if (json_is_real(v)) {
		snprintf(num, sizeof(num), "%.15g", json_real_value(v));
		return ks_qty_parse(num, q, &why);
	}
	q->v = 0;
	q->fmt = KS_QTY_DECIMAL_SI;
	return -1;
}

/* --- canonical quantities in objects ---------------------------------------- */

static int canon_value(json_t *parent, const char *key, size_t idx, json_t *v, const char **why)
{
	struct ks_qty q;
	char num[64];
	const char *s;
	struct buf b = BUF_INIT;
	json_t *nv;

	if (json_is_string(v)) {
		s = json_string_value(v);
	} else if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		s = num;
	} else if (json_is_real(v)) {
		snprintf(num, sizeof(num), "%.15g", json_real_value(v));
		s = num;
	} else {
		return 0; /* the type check reports other values */
	}
	if (ks_qty_parse(s, &q, why) < 0)
		return -1;
	ks_qty_format(&q, &b);
	if (!json_is_string(v) || strcmp(b.s, json_string_value(v))) {
		nv = json_string(b.s);
		if (key)
			json_object_set_new(parent, key, nv);
		else
			json_array_set_new(parent, idx, nv);
	}
	buf_release(&b);
	return 0;
}

static int canon_walk(int t, json_t *o, int depth, const char **why)
{
	const char *k;
	json_t *v, *item;
	size_t i;

	if (t < 0 || ks_types[t].open || depth > 40 || !json_is_object(o))
		return 0;
	json_object_foreach(o, k, v) {
		const struct ks_field *f = ks_schema_field(t, k);

		if (!f || json_is_null(v))
			continue;
		if (f->kind == KS_OBJECT && f->type >= 0) {
			if (canon_walk(f->type, v, depth + 1, why) < 0)
				return -1;
		} else if (f->kind == KS_MAP && json_is_object(v)) {
			const char *mk;

			json_object_foreach(v, mk, item) {
				if (f->type >= 0 ? canon_walk(f->type, item, depth + 1, why) < 0
						 : f->scalar == KS_QUANTITY &&
						       canon_value(v, mk, 0, item, why) < 0)
					return -1;
			}
		} else if (f->kind == KS_ARRAY && json_is_array(v)) {
			json_array_foreach(v, i, item) {
				if (f->type >= 0 ? canon_walk(f->type, item, depth + 1, why) < 0
						 : f->scalar == KS_QUANTITY &&
						       canon_value(v, NULL, i, item, why) < 0)
					return -1;
			}
		} else if (f->kind == KS_SCALAR && f->scalar == KS_QUANTITY) {
			if (canon_value(o, k, 0, v, why) < 0)
				return -1;
		}
	}
	return 0;
}

int ks_qty_canonicalize(const struct ks_resource *r, json_t *o, const char **why)
{
	*why = NULL;
	return canon_walk(r->type, o, 0, why);
}
