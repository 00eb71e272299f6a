/* view.c - arena-allocated view tree and its streaming JSON writer. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "view.h"

static struct view *view_new(struct arena *a, enum view_type t)
{
	struct view *v = arena_alloc(a, sizeof(*v));

	v->type = t;
	return v;
}

struct view *view_null(struct arena *a)
{
	return view_new(a, VIEW_NULL);
}

struct view *view_bool(struct arena *a, int b)
{
	struct view *v = view_new(a, VIEW_BOOL);

	v->u.b = !!b;
	return v;
}

struct view *view_int(struct arena *a, long long i)
{
	struct view *v = view_new(a, VIEW_INT);

	v->u.i = i;
	return v;
}

struct view *view_real(struct arena *a, double d)
{
	struct view *v = view_new(a, VIEW_REAL);

	v->u.d = d;
	return v;
}

struct view *view_strn(struct arena *a, const char *s, size_t n)
{
	struct view *v = view_new(a, VIEW_STR);

	v->u.str.s = arena_strndup(a, s, n);
	v->u.str.len = n;
	return v;
}

struct view *view_str(struct arena *a, const char *s)
{
	return s ? view_strn(a, s, strlen(s)) : view_null(a);
}

struct view *view_str_ref(struct arena *a, const char *s)
{
	struct view *v;

	if (!s)
		return view_null(a);
	v = view_new(a, VIEW_STR);
	v->u.str.s = s;
	v->u.str.len = strlen(s);
	return v;
}

static struct view *view_list(struct arena *a, enum view_type t)
{
	struct view *v = view_new(a, t);

	v->u.list.a = a;
	v->u.list.head = v->u.list.tail = NULL;
	v->u.list.n = 0;
	return v;
}

struct view *view_obj(struct arena *a)
{
	return view_list(a, VIEW_OBJ);
}

struct view *view_arr(struct arena *a)
{
	return view_list(a, VIEW_ARR);
}

static struct view *list_append(struct view *l, const char *key, struct view *val)
{
	struct view_item *it = arena_alloc(l->u.list.a, sizeof(*it));

	it->next = NULL;
	it->key = key;
	it->val = val;
	if (l->u.list.tail)
		l->u.list.tail->next = it;
	else
		l->u.list.head = it;
	l->u.list.tail = it;
	l->u.list.n++;
	return val;
}

struct view *view_add(struct view *obj, const char *key, struct view *val)
{
	if (obj->type != VIEW_OBJ)
		BUG("view_add on a non-object");
	return list_append(obj, key, val);
}

struct view *view_set(struct view *obj, const char *key, struct view *val)
{
	if (obj->type != VIEW_OBJ)
		BUG("view_set on a non-object");
	for (struct view_item *it = obj->u.list.head; it; it = it->next)
		if (!strcmp(it->key, key)) {
			it->val = val;
			return val;
		}
	return list_append(obj, key, val);
}

void view_set_str(struct view *obj, const char *key, const char *s)
{
	view_set(obj, key, view_str(obj->u.list.a, s));
}

void view_set_str_ref(struct view *obj, const char *key, const char *s)
{
	view_set(obj, key, view_str_ref(obj->u.list.a, s));
}

void view_set_int(struct view *obj, const char *key, long long i)
{
	view_set(obj, key, view_int(obj->u.list.a, i));
}

void view_set_bool(struct view *obj, const char *key, int b)
{
	view_set(obj, key, view_bool(obj->u.list.a, b));
}

void view_add_str_ref(struct view *obj, const char *key, const char *s)
{
	view_add(obj, key, view_str_ref(obj->u.list.a, s));
}

void view_add_int(struct view *obj, const char *key, long long i)
{
	view_add(obj, key, view_int(obj->u.list.a, i));
}

struct view *view_set_obj(struct view *obj, const char *key)
{
	return view_set(obj, key, view_obj(obj->u.list.a));
}

struct view *view_set_arr(struct view *obj, const char *key)
{
	return view_set(obj, key, view_arr(obj->u.list.a));
}

struct view *view_push(struct view *arr, struct view *val)
{
	if (arr->type != VIEW_ARR)
		BUG("view_push on a non-array");
	return list_append(arr, NULL, val);
}

struct view *view_push_obj(struct view *arr)
{
	return view_push(arr, view_obj(arr->u.list.a));
}

struct view *view_get(const struct view *obj, const char *key)
{
	if (!obj || obj->type != VIEW_OBJ)
		return NULL;
	/* (the first bytes compared inline: a template looks up every key of a row, per row) */
	for (struct view_item *it = obj->u.list.head; it; it = it->next)
		if (it->key[0] == key[0] && !strcmp(it->key, key))
			return it->val;
	return NULL;
}

const char *view_get_str(const struct view *obj, const char *key)
{
	struct view *v = view_get(obj, key);

	return v && v->type == VIEW_STR ? v->u.str.s : NULL;
}

int view_truthy(const struct view *v)
{
	if (!v)
		return 0;
	switch (v->type) {
	case VIEW_NULL: return 0;
	case VIEW_BOOL: return v->u.b;
	case VIEW_ARR: return v->u.list.n > 0;
	default: return 1;
	}
}

void view_json(struct buf *b, const struct view *v)
{
	char num[64];

	switch (v->type) {
	case VIEW_NULL:
		buf_add(b, "null", 4);
		break;
	case VIEW_BOOL:
		if (v->u.b)
			buf_add(b, "true", 4);
		else
			buf_add(b, "false", 5);
		break;
	case VIEW_INT:
		buf_add_int(b, v->u.i);
		break;
	case VIEW_REAL:
		if (!isfinite(v->u.d)) {
			buf_add(b, "null", 4);
			break;
		}
		snprintf(num, sizeof(num), "%.17g", v->u.d);
		buf_adds(b, num);
		if (!strpbrk(num, ".eE"))
			buf_add(b, ".0", 2);
		break;
	case VIEW_STR:
		buf_add_json_str(b, v->u.str.s, v->u.str.len);
		break;
	case VIEW_ARR:
	case VIEW_OBJ:
		buf_addch(b, v->type == VIEW_ARR ? '[' : '{');
		for (struct view_item *it = v->u.list.head; it; it = it->next) {
			if (it != v->u.list.head)
				buf_addch(b, ',');
			if (v->type == VIEW_OBJ) {
				buf_add_json_str(b, it->key, strlen(it->key));
				buf_addch(b, ':');
			}
			view_json(b, it->val);
		}
		buf_addch(b, v->type == VIEW_ARR ? ']' : '}');
		break;
	}
}

struct view *view_from_json(struct arena *a, const json_t *j)
{
	struct view *v;
	const char *key;
	json_t *val;
	size_t i;

	switch (json_typeof(j)) {
	case JSON_OBJECT:
		v = view_obj(a);
		json_object_foreach((json_t *)j, key, val)
			view_add(v, arena_strdup(a, key), view_from_json(a, val));
		return v;
	case JSON_ARRAY:
		v = view_arr(a);
		json_array_foreach(j, i, val)
			view_push(v, view_from_json(a, val));
		return v;
	case JSON_STRING:
		return view_strn(a, json_string_value(j), json_string_length(j));
	case JSON_INTEGER:
		return view_int(a, json_integer_value(j));
	case JSON_REAL:
		return view_real(a, json_real_value(j));
	case JSON_TRUE:
		return view_bool(a, 1);
	case JSON_FALSE:
		return view_bool(a, 0);
	default:
		return view_null(a);
	}
}
