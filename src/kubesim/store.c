/* store.c - the simulator's object store: objects by key, per-resource vectors, a label index,
 * selectors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kubesim.h"

/*
 * Two chained hash tables: "plural/ns/name" -> object, and "key=value" ->
 * vector of objects carrying that label.  A list by label picks the
 * smallest vector among the selector's equality terms and filters it, so
 * "store=abc" among 150,000 objects touches only that store's objects.
 * Those vectors are unordered (swap-remove).  A third table, namespace ->
 * vector, bounds a namespaced selection the same way.  Every change to a
 * namespaced object (events aside) tells the quota code, which recomputes
 * that namespace's quota usage.
 *
 * Each kind keeps its objects in key order (struct kind), the order of
 * the API server's etcd keys "<namespace>/<name>": a page of a LIST is a
 * binary search for its continue key and a scan forward until it has
 * `limit` matching objects (ks_store_page), as etcd reads a key range,
 * not a sort of the whole kind per page.
 */

struct vec {
	struct ks_obj **v;
	size_t n, cap;
};

struct ent {
	struct ent *next;
	char *key;
	void *val;
};

struct hmap {
	struct ent **b;
	size_t nb, n;
};

static struct hmap objs, label_ix, ns_ix; /* ns_ix: namespace -> its objects */

/*
 * The change log: the last ks_opt.watch_window changes by sequence number,
 * in resourceVersion order (every resourceVersion is one change), for
 * watches that start from a resourceVersion.  Each change is also handed
 * to the live watches as it is logged (ks_watch_dispatch).
 */
static struct ks_change *ring;
static size_t ring_cap;
static uint64_t ring_seq;

static void log_change(int type, const struct ks_obj *x, json_t *prev)
{
	struct ks_change *c = &ring[ring_seq % ring_cap];

	free(c->ns);
	free(c->name);
	json_decref(c->o);
	json_decref(c->prev);
	c->type = type;
	c->res = x->res;
	c->ns = strdup(x->ns);
	c->name = strdup(x->name);
	c->rv = x->rv;
	c->o = json_incref(x->o);
	c->prev = json_incref(prev);
	if (!c->ns || !c->name)
		die_oom();
	ring_seq++;
	ks_watch_dispatch(c);
}

uint64_t ks_store_seq(void)
{
	return ring_seq;
}

uint64_t ks_store_first_seq(void)
{
	return ring_seq > ring_cap ? ring_seq - ring_cap : 0;
}

const struct ks_change *ks_store_change(uint64_t seq)
{
	if (seq >= ring_seq || seq < ks_store_first_seq())
		return NULL;
	return &ring[seq % ring_cap];
}

uint64_t ks_store_seq_after(uint64_t rv)
{
	uint64_t lo = ks_store_first_seq(), hi = ring_seq;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (ring[mid % ring_cap].rv > rv)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/*
 * One kind's objects: `sorted` in key order (key_cmp), and `added`, the
 * ones created since the kind was last read in order, unordered.  The
 * first ordered read after creations sorts `added` and merges it in
 * (kind_sorted): seeding 50,000 stores costs one sort per kind, not a
 * memmove per object.  A delete finds the object by binary search.
 */
struct kind {
	struct vec sorted, added;
};

static struct kind by_res[64];
static uint64_t cur_rv = 1000;

/*
 * Shared subtrees.  Stored trees are never changed in place (kubesim.h),
 * so equal subtrees of stored objects can be one json_t: ten thousand
 * stores rendered from the same chart hold their container specs, probes,
 * scripts, label keys and values once instead of ten thousand times (a
 * jansson tree costs about ten times its compact JSON).  intern() walks a
 * tree being stored bottom-up, hashing each node over its content (object
 * key order included: it shows in the JSON written), and swaps each child
 * for the equal node already in the table, or enters it.  The table holds
 * one reference per node; a sweep, when it has doubled since the last one,
 * drops the nodes only it still holds, so memory follows the live objects.
 * true, false and null are jansson's singletons and are left alone.
 */
struct shared {
	uint64_t h;
	json_t *v;
};

static struct shared *shtab;
static size_t sh_cap, sh_n, sh_sweep_at = 1 << 16;

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ULL;
	return h ^ (h >> 27);
}

static uint64_t hash_bytes(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	while (n--)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

/* Same content, children compared by pointer (they are shared already). */
static int sh_equal(json_t *a, json_t *b)
{
	if (a == b)
		return 1;
	if (json_typeof(a) != json_typeof(b))
		return 0;
	switch (json_typeof(a)) {
	case JSON_STRING:
		return json_string_length(a) == json_string_length(b) &&
		       !memcmp(json_string_value(a), json_string_value(b), json_string_length(a));
	case JSON_INTEGER:
		return json_integer_value(a) == json_integer_value(b);
	case JSON_REAL: {
		double x = json_real_value(a), y = json_real_value(b);

		return !memcmp(&x, &y, sizeof(x));
	}
	case JSON_ARRAY:
		if (json_array_size(a) != json_array_size(b))
			return 0;
		for (size_t i = 0; i < json_array_size(a); i++)
			if (json_array_get(a, i) != json_array_get(b, i))
				return 0;
		return 1;
	case JSON_OBJECT: {
		void *i = json_object_iter(a), *j = json_object_iter(b);

		if (json_object_size(a) != json_object_size(b))
			return 0;
		for (; i && j; i = json_object_iter_next(a, i), j = json_object_iter_next(b, j))
			if (json_object_iter_key_len(i) != json_object_iter_key_len(j) ||
			    memcmp(json_object_iter_key(i), json_object_iter_key(j),
				   json_object_iter_key_len(i)) ||
			    json_object_iter_value(i) != json_object_iter_value(j))
				return 0;
		return !i && !j;
	}
	default:
		return 0;
	}
}

static void sh_place(struct shared *tab, size_t cap, uint64_t h, json_t *v)
{
	size_t i = h & (cap - 1);

	while (tab[i].v)
		i = (i + 1) & (cap - 1);
	tab[i].h = h;
	tab[i].v = v;
}

/* Rebuild into cap slots, dropping (when sweep) the nodes only the table holds. */
static size_t sh_rebuild(size_t cap, int sweep)
{
	struct shared *old = shtab, *tab = calloc(cap, sizeof(*tab));
	size_t oldcap = sh_cap, dropped = 0;

	if (!tab)
		die_oom();
	sh_n = 0;
	for (size_t i = 0; i < oldcap; i++) {
		json_t *v = old[i].v;

		if (!v)
			continue;
		if (sweep && __atomic_load_n(&v->refcount, __ATOMIC_ACQUIRE) == 1) {
			json_decref(v);
			dropped++;
			continue;
		}
		sh_place(tab, cap, old[i].h, v);
		sh_n++;
	}
	free(old);
	shtab = tab;
	sh_cap = cap;
	return dropped;
}

static void sh_sweep(void)
{
	/* a dropped node lets go of its children: sweep until nothing more goes */
	while (sh_rebuild(sh_cap, 1))
		;
	while (sh_cap > 1024 && sh_n * 4 < sh_cap)
		sh_rebuild(sh_cap / 2, 0);
	sh_sweep_at = sh_n * 2 > ((size_t)1 << 16) ? sh_n * 2 : (size_t)1 << 16;
}

/* The shared node equal to v (v itself when it is the first such): borrowed. */
static json_t *sh_lookup(json_t *v, uint64_t h)
{
	size_t i;

	if (sh_n * 2 >= sh_cap)
		sh_rebuild(sh_cap ? sh_cap * 2 : 1024, 0);
	for (i = h & (sh_cap - 1); shtab[i].v; i = (i + 1) & (sh_cap - 1))
		if (shtab[i].h == h && sh_equal(shtab[i].v, v))
			return shtab[i].v;
	shtab[i].h = h;
	shtab[i].v = json_incref(v);
	sh_n++;
	return v;
}

/* Share v's children (not v: the caller's root stays its own); OUT: *hp v's hash. */
static void intern_children(json_t *v, uint64_t *hp)
{
	uint64_t h = (uint64_t)json_typeof(v) + 1, ch;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		for (void *it = json_object_iter(v); it; it = json_object_iter_next(v, it)) {
			json_t *c = json_object_iter_value(it), *s;

			intern_children(c, &ch);
			s = json_is_object(c) || json_is_array(c) || json_is_string(c) ||
				    json_is_number(c)
				? sh_lookup(c, ch)
				: c;
			if (s != c)
				json_object_iter_set(v, it, s);
			h = mix(mix(h, hash_bytes(json_object_iter_key(it),
						  json_object_iter_key_len(it))),
				ch);
		}
		break;
	case JSON_ARRAY:
		for (size_t i = 0; i < json_array_size(v); i++) {
			json_t *c = json_array_get(v, i), *s;

			intern_children(c, &ch);
			s = json_is_object(c) || json_is_array(c) || json_is_string(c) ||
				    json_is_number(c)
				? sh_lookup(c, ch)
				: c;
			if (s != c)
				json_array_set(v, i, s);
			h = mix(h, ch);
		}
		break;
	case JSON_STRING:
		h = mix(h, hash_bytes(json_string_value(v), json_string_length(v)));
		break;
	case JSON_INTEGER:
		h = mix(h, (uint64_t)json_integer_value(v));
		break;
	case JSON_REAL: {
		double d = json_real_value(v);
		uint64_t u;

		memcpy(&u, &d, sizeof(u));
		h = mix(h, u);
		break;
	}
	default:
		break;
	}
	*hp = h;
}

/* Share what o (about to be stored) has in common with the stored objects. */
static void intern(json_t *o)
{
	uint64_t h;

	if (sh_n >= sh_sweep_at)
		sh_sweep();
	intern_children(o, &h);
}

/* How many nodes the stored objects share among them (for /_sim/stats). */
size_t ks_store_shared(void)
{
	return sh_n;
}

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

static void hm_grow(struct hmap *m)
{
	size_t nb = m->nb ? m->nb * 2 : 1024, i;
	struct ent **b = calloc(nb, sizeof(*b));

	if (!b)
		die_oom();
	for (i = 0; i < m->nb; i++) {
		struct ent *e = m->b[i], *next;

		for (; e; e = next) {
			size_t h = hash(e->key) & (nb - 1);

			next = e->next;
			e->next = b[h];
			b[h] = e;
		}
	}
	free(m->b);
	m->b = b;
	m->nb = nb;
}

static struct ent **hm_slot(struct hmap *m, const char *key)
{
	struct ent **p;

	if (!m->nb)
		hm_grow(m);
	for (p = &m->b[hash(key) & (m->nb - 1)]; *p; p = &(*p)->next)
		if (!strcmp((*p)->key, key))
			break;
	return p;
}

static void *hm_get(struct hmap *m, const char *key)
{
	struct ent **p = hm_slot(m, key);

	return *p ? (*p)->val : NULL;
}

static void hm_put(struct hmap *m, const char *key, void *val)
{
	struct ent **p = hm_slot(m, key), *e;

	if (*p) {
		(*p)->val = val;
		return;
	}
	e = malloc(sizeof(*e));
	if (!e || !(e->key = strdup(key)))
		die_oom();
	e->val = val;
	e->next = NULL;
	*p = e;
	if (++m->n > m->nb)
		hm_grow(m);
}

static void hm_del(struct hmap *m, const char *key)
{
	struct ent **p = hm_slot(m, key), *e = *p;

	if (!e)
		return;
	*p = e->next;
	free(e->key);
	free(e);
	m->n--;
}

static void vec_push(struct vec *v, struct ks_obj *x)
{
	if (v->n == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 8;
		v->v = realloc(v->v, v->cap * sizeof(*v->v));
		if (!v->v)
			die_oom();
	}
	v->v[v->n++] = x;
}

static void vec_remove(struct vec *v, struct ks_obj *x)
{
	size_t i;

	for (i = v->n; i-- > 0;)
		if (v->v[i] == x) {
			v->v[i] = v->v[--v->n];
			return;
		}
}

/*
 * etcd's key order within a kind: "<namespace>/<name>" byte by byte
 * (cluster-scoped: "<name>").  The end of a namespace is its '/', so the
 * namespace "a-b" (0x2d) sorts before "a" (then 0x2f), which an order by
 * namespace, then name would not.  A namespace holds no '/'; were one to,
 * its end still sorts just below '/' and the order stays total.
 */
static int key_cmp(const char *ans, const char *an, const char *bns, const char *bn)
{
	size_t i = 0;
	int x, y;

	while (ans[i] && ans[i] == bns[i])
		i++;
	if (ans[i] == bns[i])
		return strcmp(an, bn);
	x = ans[i] ? 2 * (unsigned char)ans[i] : 2 * '/' - 1;
	y = bns[i] ? 2 * (unsigned char)bns[i] : 2 * '/' - 1;
	return x - y;
}

static int cmp_key(const void *a, const void *b)
{
	const struct ks_obj *x = *(struct ks_obj *const *)a, *y = *(struct ks_obj *const *)b;

	return key_cmp(x->ns, x->name, y->ns, y->name);
}

/* The first of v[lo..hi) whose key is above (ns, name) (at or above when eq). */
static size_t key_bound(const struct vec *v, size_t lo, size_t hi, const char *ns, const char *name,
			int eq)
{
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = key_cmp(v->v[mid]->ns, v->v[mid]->name, ns, name);

		if (c < 0 || (c == 0 && !eq))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The end of namespace ns's run in sorted v, which starts at lo. */
static size_t ns_end(const struct vec *v, size_t lo, const char *ns)
{
	size_t hi = v->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (!strcmp(v->v[mid]->ns, ns))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* r's objects in key order (merges the ones added since the last call). */
static struct vec *kind_sorted(const struct ks_resource *r)
{
	struct kind *k = &by_res[r - ks_resources];
	struct vec *s = &k->sorted, *a = &k->added;
	size_t i, j, w;

	if (!a->n)
		return s;
	qsort(a->v, a->n, sizeof(*a->v), cmp_key);
	if (s->n + a->n > s->cap) {
		s->cap = s->n + a->n > 2 * s->cap ? s->n + a->n : 2 * s->cap;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		if (!s->v)
			die_oom();
	}
	/* merge from the back, in place */
	i = s->n;
	j = a->n;
	w = s->n + a->n;
	while (j > 0) {
		if (i > 0 && cmp_key(&s->v[i - 1], &a->v[j - 1]) > 0)
			s->v[--w] = s->v[--i];
		else
			s->v[--w] = a->v[--j];
	}
	s->n += a->n;
	free(a->v);
	memset(a, 0, sizeof(*a));
	return s;
}

static void kind_remove(struct ks_obj *x)
{
	struct kind *k = &by_res[x->all_pos];
	struct vec *s = &k->sorted;
	size_t i = key_bound(s, 0, s->n, x->ns, x->name, 1);

	if (i < s->n && s->v[i] == x) {
		memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof(*s->v));
		s->n--;
		return;
	}
	vec_remove(&k->added, x);
}

static void obj_key(char *out, size_t n, const struct ks_resource *r, const char *ns,
		    const char *name)
{
	snprintf(out, n, "%s.%s/%s/%s", r->plural, r->group, ns ? ns : "", name);
}

static void label_key(char *out, size_t n, const char *k, const char *v)
{
	snprintf(out, n, "%s=%s", k, v);
}

static void index_ns(struct ks_obj *x, int add)
{
	struct vec *vec;

	if (!*x->ns)
		return;
	vec = hm_get(&ns_ix, x->ns);
	if (add) {
		if (!vec) {
			vec = calloc(1, sizeof(*vec));
			if (!vec)
				die_oom();
			hm_put(&ns_ix, x->ns, vec);
		}
		vec_push(vec, x);
	} else if (vec) {
		vec_remove(vec, x);
		if (!vec->n) {
			free(vec->v);
			free(vec);
			hm_del(&ns_ix, x->ns);
		}
	}
}

/* Changes that can move a namespace's quota usage. */
static void touch(const struct ks_obj *x)
{
	if (*x->ns && strcmp(x->res->plural, "events"))
		ks_quota_touch(x->ns);
}

static void index_labels(struct ks_obj *x, int add)
{
	json_t *l = json_object_get(json_object_get(x->o, "metadata"), "labels");
	const char *k;
	json_t *v;
	char key[600];

	json_object_foreach(l, k, v) {
		struct vec *vec;

		if (!json_is_string(v))
			continue;
		label_key(key, sizeof(key), k, json_string_value(v));
		vec = hm_get(&label_ix, key);
		if (add) {
			if (!vec) {
				vec = calloc(1, sizeof(*vec));
				if (!vec)
					die_oom();
				hm_put(&label_ix, key, vec);
			}
			vec_push(vec, x);
		} else if (vec) {
			vec_remove(vec, x);
			if (!vec->n) {
				free(vec->v);
				free(vec);
				hm_del(&label_ix, key);
			}
		}
	}
}

void ks_store_init(void)
{
	ring_cap = ks_opt.watch_window > 0 ? (size_t)ks_opt.watch_window : 1;
	ring = calloc(ring_cap, sizeof(*ring));
	if (!ring)
		die_oom();
	hm_grow(&objs);
	hm_grow(&label_ix);
	hm_grow(&ns_ix);
}

uint64_t ks_store_rv(void)
{
	return cur_rv;
}

uint64_t ks_store_next_rv(void)
{
	return ++cur_rv;
}

size_t ks_store_count(void)
{
	return objs.n;
}

struct ks_obj *ks_store_get(const struct ks_resource *r, const char *ns, const char *name)
{
	char key[700];

	obj_key(key, sizeof(key), r, r->namespaced ? ns : "", name);
	return hm_get(&objs, key);
}

static void set_rv(struct ks_obj *x)
{
	char rv[32];

	x->rv = ks_store_next_rv();
	snprintf(rv, sizeof(rv), "%llu", (unsigned long long)x->rv);
	json_object_set_new(json_object_get(x->o, "metadata"), "resourceVersion", json_string(rv));
}

struct ks_obj *ks_store_add(const struct ks_resource *r, json_t *o)
{
	struct ks_obj *x = calloc(1, sizeof(*x));
	json_t *md = json_object_get(o, "metadata");
	const char *ns = json_string_value(json_object_get(md, "namespace"));
	char key[700];

	if (!x)
		die_oom();
	x->res = r;
	x->ns = strdup(r->namespaced && ns ? ns : "");
	x->name = strdup(json_string_value(json_object_get(md, "name")));
	if (!x->ns || !x->name)
		die_oom();
	x->o = o;
	x->born_ms = x->gen_ms = x->phase_ms = ks_now_ms();
	set_rv(x);
	intern(x->o);
	obj_key(key, sizeof(key), r, x->ns, x->name);
	hm_put(&objs, key, x);
	x->all_pos = (size_t)(r - ks_resources);
	vec_push(&by_res[x->all_pos].added, x);
	index_labels(x, 1);
	index_ns(x, 1);
	log_change(KS_ADDED, x, NULL);
	touch(x);
	return x;
}

void ks_store_update(struct ks_obj *x, json_t *o)
{
	json_t *prev = x->o;

	index_labels(x, 0);
	x->o = o;
	set_rv(x);
	intern(x->o);
	index_labels(x, 1);
	log_change(KS_MODIFIED, x, prev);
	json_decref(prev);
	touch(x);
}

void ks_store_del(struct ks_obj *x)
{
	char key[700];

	ks_ctl_forget(x);
	touch(x);
	index_labels(x, 0);
	index_ns(x, 0);
	kind_remove(x);
	obj_key(key, sizeof(key), x->res, x->ns, x->name);
	hm_del(&objs, key);
	{
		json_t *last = json_deep_copy(x->o);
		char rv[32];

		x->rv = ks_store_next_rv();
		snprintf(rv, sizeof(rv), "%llu", (unsigned long long)x->rv);
		json_object_set_new(json_object_get(last, "metadata"), "resourceVersion",
				    json_string(rv));
		json_decref(x->o);
		x->o = last;
		log_change(KS_DELETED, x, NULL);
	}
	json_decref(x->o);
	free(x->ns);
	free(x->name);
	free(x->why);
	free(x);
}

/* --- selectors ---------------------------------------------------------- */

enum op { OP_EQ, OP_NE, OP_IN, OP_NOTIN, OP_EXISTS, OP_NOTEXISTS };

struct req {
	char *key;
	enum op op;
	char **vals;
	size_t nvals;
};

struct ks_sel {
	struct req *r;
	size_t n;
};

void ks_sel_free(struct ks_sel *s)
{
	size_t i, j;

	if (!s)
		return;
	for (i = 0; i < s->n; i++) {
		free(s->r[i].key);
		for (j = 0; j < s->r[i].nvals; j++)
			free(s->r[i].vals[j]);
		free(s->r[i].vals);
	}
	free(s->r);
	free(s);
}

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static int is_lchar(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.' || c == '/';
}

static char *word(const char **pp)
{
	const char *p = skip_ws(*pp), *s = p;
	char *w;

	while (is_lchar((unsigned char)*p))
		p++;
	w = strndup(s, (size_t)(p - s));
	if (!w)
		die_oom();
	*pp = skip_ws(p);
	return w;
}

static void add_val(struct req *r, char *v)
{
	r->vals = realloc(r->vals, (r->nvals + 1) * sizeof(*r->vals));
	if (!r->vals)
		die_oom();
	r->vals[r->nvals++] = v;
}

int ks_sel_parse(const char *s, struct ks_sel **out, struct err *e)
{
	struct ks_sel *sel;
	const char *p = skip_ws(s ? s : "");

	*out = NULL;
	if (!*p)
		return 0;
	sel = calloc(1, sizeof(*sel));
	if (!sel)
		die_oom();
	for (;;) {
		struct req r = {0};

		p = skip_ws(p);
		if (*p == '!') {
			p++;
			r.op = OP_NOTEXISTS;
			r.key = word(&p);
		} else {
			r.key = word(&p);
			if (!strncmp(p, "==", 2) || *p == '=' || !strncmp(p, "!=", 2)) {
				r.op = *p == '!' ? OP_NE : OP_EQ;
				p += (*p == '=' && p[1] != '=') ? 1 : 2;
				add_val(&r, word(&p));
			} else if (!strncmp(p, "in", 2) || !strncmp(p, "notin", 5)) {
				r.op = *p == 'i' ? OP_IN : OP_NOTIN;
				p = skip_ws(p + (r.op == OP_IN ? 2 : 5));
				if (*p != '(')
					goto bad_free;
				p++;
				for (;;) {
					add_val(&r, word(&p));
					if (*p == ',') {
						p++;
						continue;
					}
					if (*p == ')') {
						p = skip_ws(p + 1);
						break;
					}
					goto bad_free;
				}
			} else {
				r.op = OP_EXISTS;
			}
		}
		if (!*r.key)
			goto bad_free;
		sel->r = realloc(sel->r, (sel->n + 1) * sizeof(*sel->r));
		if (!sel->r)
			die_oom();
		sel->r[sel->n++] = r;
		if (!*p)
			break;
		if (*p != ',')
			goto bad;
		p++;
		continue;
	bad_free:
		sel->r = realloc(sel->r, (sel->n + 1) * sizeof(*sel->r));
		if (!sel->r)
			die_oom();
		sel->r[sel->n++] = r;
	bad:
		ks_sel_free(sel);
		return err_set(e, 400,
			       "unable to parse requirement: found '%.40s', expected: "
			       "',', '=', '!=', '==', 'in', notin'",
			       p);
	}
	*out = sel;
	return 0;
}

static int req_match(const struct req *r, const json_t *labels)
{
	const char *v = json_string_value(json_object_get(labels, r->key));
	size_t i;

	switch (r->op) {
	case OP_EXISTS:
		return v != NULL;
	case OP_NOTEXISTS:
		return v == NULL;
	case OP_EQ:
		return v && !strcmp(v, r->vals[0]);
	case OP_NE:
		return !v || strcmp(v, r->vals[0]);
	case OP_IN:
	case OP_NOTIN:
		for (i = 0; v && i < r->nvals; i++)
			if (!strcmp(v, r->vals[i]))
				return r->op == OP_IN;
		return r->op == OP_NOTIN;
	}
	return 0;
}

int ks_sel_match(const struct ks_sel *s, const json_t *labels)
{
	size_t i;

	for (i = 0; s && i < s->n; i++)
		if (!req_match(&s->r[i], labels))
			return 0;
	return 1;
}

int ks_labelselector_match(const json_t *sel, const json_t *labels)
{
	const char *k;
	json_t *v, *e;
	size_t i, j;

	if (!json_is_object(sel))
		return 0;
	json_object_foreach(json_object_get(sel, "matchLabels"), k, v) {
		const char *have = json_string_value(json_object_get(labels, k));

		if (!have || !json_is_string(v) || strcmp(have, json_string_value(v)))
			return 0;
	}
	json_array_foreach(json_object_get(sel, "matchExpressions"), i, e) {
		const char *key = json_string_value(json_object_get(e, "key"));
		const char *op = json_string_value(json_object_get(e, "operator"));
		const char *have = key ? json_string_value(json_object_get(labels, key)) : NULL;
		json_t *vals = json_object_get(e, "values"), *x;
		int in = 0;

		if (!key || !op)
			return 0;
		json_array_foreach(vals, j, x)
			if (have && json_is_string(x) && !strcmp(have, json_string_value(x)))
				in = 1;
		if ((!strcmp(op, "In") && !in) || (!strcmp(op, "NotIn") && in) ||
		    (!strcmp(op, "Exists") && !have) || (!strcmp(op, "DoesNotExist") && have))
			return 0;
	}
	return 1;
}

/* Key order, then the resource (a selection across kinds). */
static int cmp_obj(const void *a, const void *b)
{
	const struct ks_obj *x = *(struct ks_obj *const *)a, *y = *(struct ks_obj *const *)b;
	int c = key_cmp(x->ns, x->name, y->ns, y->name);

	return c ? c : strcmp(x->res->plural, y->res->plural);
}

/*
 * The smallest label-index vector among sel's equality terms (NULL if it
 * has none); *none when a term's label is on no object at all.
 */
static struct vec *label_cand(const struct ks_sel *sel, int *none)
{
	struct vec *cand = NULL;
	char key[600];

	*none = 0;
	for (size_t i = 0; sel && i < sel->n; i++) {
		struct vec *v;

		if (sel->r[i].op != OP_EQ && !(sel->r[i].op == OP_IN && sel->r[i].nvals == 1))
			continue;
		label_key(key, sizeof(key), sel->r[i].key, sel->r[i].vals[0]);
		v = hm_get(&label_ix, key);
		if (!v) {
			*none = 1;
			return NULL;
		}
		if (!cand || v->n < cand->n)
			cand = v;
	}
	return cand;
}

/* r's objects in ns (NULL = all): OUT: [*lo, *hi) of the returned vector, in key order. */
static struct vec *kind_range(const struct ks_resource *r, const char *ns, size_t *lo, size_t *hi)
{
	struct vec *v = kind_sorted(r);

	*lo = 0;
	*hi = v->n;
	if (ns) {
		*lo = key_bound(v, 0, v->n, ns, "", 1);
		*hi = ns_end(v, *lo, ns);
	}
	return v;
}

static int sel_ok(const struct ks_sel *sel, const struct ks_obj *x)
{
	return !sel ||
	       ks_sel_match(sel, json_object_get(json_object_get(x->o, "metadata"), "labels"));
}

/* How many objects of r there are (without ordering them). */
static size_t kind_n(const struct ks_resource *r)
{
	return by_res[r - ks_resources].sorted.n + by_res[r - ks_resources].added.n;
}

/*
 * The candidates of a selection of r (NULL = every kind) in ns: the
 * smallest of sel's label vectors and ns's vector, or NULL for the
 * kind's own objects in key order (r given, and nothing smaller).
 * *none when nothing can match.  A namespace's vector is taken when it
 * is the smaller, as before the kinds were ordered: a controller looking
 * into one namespace right after creating an object there must not pay
 * for merging the kind's new objects into its order (kind_sorted).
 */
static struct vec *candidates(const struct ks_resource *r, const char *ns, const struct ks_sel *sel,
			      int *none)
{
	struct vec *cand = label_cand(sel, none);

	if (*none)
		return NULL;
	if (ns && *ns) {
		struct vec *nv = hm_get(&ns_ix, ns);

		if (!nv) {
			*none = 1;
			return NULL;
		}
		if (!cand || nv->n < cand->n)
			cand = nv;
	}
	/* "managed-by=storefleet" holds every object: the kind may be smaller */
	if (r && (!cand || kind_n(r) <= cand->n))
		return NULL;
	return cand;
}

size_t ks_store_select(const struct ks_resource *r, const char *ns, const struct ks_sel *sel,
		       struct ks_obj ***out)
{
	struct vec res = {0}, all = {0}, *cand;
	size_t i;
	int none;

	*out = NULL;
	cand = candidates(r, ns, sel, &none);
	if (none)
		return 0;
	if (r && !cand) {
		/* the kind's objects (in ns: a binary search), in key order already */
		size_t lo, hi;
		struct vec *kv = kind_range(r, ns, &lo, &hi);

		for (i = lo; i < hi; i++)
			if (sel_ok(sel, kv->v[i]))
				vec_push(&res, kv->v[i]);
		*out = res.v;
		return res.n;
	}
	if (!cand) {
		for (i = 0; i < (size_t)ks_nresources; i++) {
			size_t j;

			for (j = 0; j < by_res[i].sorted.n; j++)
				vec_push(&all, by_res[i].sorted.v[j]);
			for (j = 0; j < by_res[i].added.n; j++)
				vec_push(&all, by_res[i].added.v[j]);
		}
		cand = &all;
	}
	for (i = 0; i < cand->n; i++) {
		struct ks_obj *x = cand->v[i];

		if (r && x->res != r)
			continue;
		if (ns && strcmp(x->ns, ns))
			continue;
		if (!sel_ok(sel, x))
			continue;
		vec_push(&res, x);
	}
	free(all.v);
	if (res.n > 1)
		qsort(res.v, res.n, sizeof(*res.v), cmp_obj);
	*out = res.v;
	return res.n;
}

size_t ks_store_page(const struct ks_resource *r, const char *ns, const struct ks_sel *sel,
		     const char *after_ns, const char *after_name, size_t limit,
		     int (*keep)(const struct ks_obj *x, void *arg), void *arg,
		     struct ks_obj ***out, int *more, size_t *rest)
{
	struct vec res = {0}, few = {0}, *cand;
	struct ks_obj **seq;
	size_t n, i;
	int none, check_sel = 1;

	*out = NULL;
	*more = 0;
	*rest = 0;
	cand = candidates(r, ns, sel, &none);
	if (none)
		return 0;
	if (cand && cand->n < kind_n(r) / 4) {
		/* a label few objects carry ("store=abc"), or a namespace: those after the key */
		for (i = 0; i < cand->n; i++) {
			struct ks_obj *x = cand->v[i];

			if (x->res != r || (ns && strcmp(x->ns, ns)) ||
			    (after_name && key_cmp(x->ns, x->name, after_ns, after_name) <= 0) ||
			    !sel_ok(sel, x))
				continue;
			vec_push(&few, x);
		}
		if (few.n > 1)
			qsort(few.v, few.n, sizeof(*few.v), cmp_key);
		seq = few.v;
		n = few.n;
		check_sel = 0;
	} else {
		/* the kind's objects in ns from just after the key: binary searches */
		size_t lo, hi, start;
		struct vec *kv = kind_range(r, ns, &lo, &hi);

		start = after_name ? key_bound(kv, lo, hi, after_ns, after_name, 0) : lo;
		seq = kv->v + start;
		n = hi - start;
	}
	for (i = 0; i < n; i++) {
		struct ks_obj *x = seq[i];

		if ((check_sel && !sel_ok(sel, x)) || (keep && !keep(x, arg)))
			continue;
		if (limit && res.n == limit) {
			*more = 1;
			if (!sel)
				*rest = n - i; /* seq holds every object of r in ns after the key */
			break;
		}
		vec_push(&res, x);
	}
	free(few.v);
	*out = res.v;
	return res.n;
}
