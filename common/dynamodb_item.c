/* dynamodb_item.c — DynamoDB items: a small attribute list (S, N, SS, BOOL,
 * NULL; other types kept as raw JSON) and its wire form
 * {"name":{"S":"v"},...} in both directions. */
#include "dynamodb.h"
#include "err.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
kin_ddb_item_init(struct kin_ddb_item *it)
{
	memset(it, 0, sizeof *it);
}

static void
attr_clear(struct kin_ddb_attr *a)
{
	free(a->s);
	for (size_t i = 0; i < a->nss; i++)
		free(a->ss[i]);
	free(a->ss);
	a->s = NULL;
	a->ss = NULL;
	a->nss = 0;
}

void
kin_ddb_item_release(struct kin_ddb_item *it)
{
	for (size_t i = 0; i < it->n; i++) {
		attr_clear(&it->a[i]);
		free(it->a[i].name);
	}
	free(it->a);
	memset(it, 0, sizeof *it);
}

void
kin_ddb_items_free(struct kin_ddb_item *v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		kin_ddb_item_release(&v[i]);
	free(v);
}

const struct kin_ddb_attr *
kin_ddb_get(const struct kin_ddb_item *it, const char *name)
{
	for (size_t i = 0; i < it->n; i++)
		if (strcmp(it->a[i].name, name) == 0)
			return &it->a[i];
	return NULL;
}

const char *
kin_ddb_get_s(const struct kin_ddb_item *it, const char *name)
{
	const struct kin_ddb_attr *a = kin_ddb_get(it, name);

	return a != NULL && a->type == KIN_DDB_S ? a->s : NULL;
}

int
kin_ddb_get_n(const struct kin_ddb_item *it, const char *name, int64_t *out)
{
	const struct kin_ddb_attr *a = kin_ddb_get(it, name);
	char *end;
	long long v;

	if (a == NULL || a->type != KIN_DDB_N || a->s == NULL || *a->s == '\0')
		return -1;
	errno = 0;
	v = strtoll(a->s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

/* The attribute called name, emptied, or a new one; NULL when out of
 * memory. */
static struct kin_ddb_attr *
slot(struct kin_ddb_item *it, const char *name, char *err)
{
	struct kin_ddb_attr *a;

	for (size_t i = 0; i < it->n; i++)
		if (strcmp(it->a[i].name, name) == 0) {
			attr_clear(&it->a[i]);
			return &it->a[i];
		}
	if (it->n == it->cap) {
		size_t nc = it->cap ? it->cap * 2 : 8;
		void *p = realloc(it->a, nc * sizeof *it->a);
		if (p == NULL) {
			kin_seterr(err, "dynamodb: out of memory");
			return NULL;
		}
		it->a = p;
		it->cap = nc;
	}
	a = &it->a[it->n];
	memset(a, 0, sizeof *a);
	if ((a->name = strdup(name)) == NULL) {
		kin_seterr(err, "dynamodb: out of memory");
		return NULL;
	}
	it->n++;
	return a;
}

static int
set_text(struct kin_ddb_item *it, const char *name, enum kin_ddb_type t,
    const char *v, size_t len, char *err)
{
	struct kin_ddb_attr *a = slot(it, name, err);

	if (a == NULL)
		return -1;
	a->type = t;
	if ((a->s = strndup(v, len)) == NULL)
		return kin_seterr(err, "dynamodb: out of memory");
	return 0;
}

int
kin_ddb_set_s(struct kin_ddb_item *it, const char *name, const char *v,
    char *err)
{
	return set_text(it, name, KIN_DDB_S, v, strlen(v), err);
}

int
kin_ddb_set_n(struct kin_ddb_item *it, const char *name, int64_t v,
    char *err)
{
	char num[24];
	int k = snprintf(num, sizeof num, "%" PRId64, v);

	return set_text(it, name, KIN_DDB_N, num, (size_t)k, err);
}

int
kin_ddb_set_ss(struct kin_ddb_item *it, const char *name,
    const char *const *v, size_t n, char *err)
{
	struct kin_ddb_attr *a = slot(it, name, err);

	if (a == NULL)
		return -1;
	a->type = KIN_DDB_SS;
	if (n > 0 && (a->ss = calloc(n, sizeof *a->ss)) == NULL)
		return kin_seterr(err, "dynamodb: out of memory");
	for (size_t i = 0; i < n; i++) {
		if ((a->ss[i] = strdup(v[i])) == NULL)
			return kin_seterr(err, "dynamodb: out of memory");
		a->nss++;
	}
	return 0;
}

/* ---- wire form ---- */

static int
put_value(struct kin_buf *b, const struct kin_ddb_attr *a, char *err)
{
	switch (a->type) {
	case KIN_DDB_S:
		return kin_buf_adds(b, "{\"S\":", err) < 0 ||
		    kin_json_put_str(b, a->s, strlen(a->s), err) < 0 ||
		    kin_buf_addc(b, '}', err) < 0 ? -1 : 0;
	case KIN_DDB_N:
		return kin_buf_adds(b, "{\"N\":", err) < 0 ||
		    kin_json_put_str(b, a->s, strlen(a->s), err) < 0 ||
		    kin_buf_addc(b, '}', err) < 0 ? -1 : 0;
	case KIN_DDB_SS:
		if (kin_buf_adds(b, "{\"SS\":[", err) < 0)
			return -1;
		for (size_t i = 0; i < a->nss; i++)
			if ((i > 0 && kin_buf_addc(b, ',', err) < 0) ||
			    kin_json_put_str(b, a->ss[i], strlen(a->ss[i]),
			    err) < 0)
				return -1;
		return kin_buf_adds(b, "]}", err);
	case KIN_DDB_BOOL:
		return kin_buf_printf(b, err, "{\"BOOL\":%s}",
		    strcmp(a->s, "true") == 0 ? "true" : "false");
	case KIN_DDB_NULL:
		return kin_buf_adds(b, "{\"NULL\":true}", err);
	case KIN_DDB_OTHER:
		return kin_buf_adds(b, a->s, err);
	}
	return kin_seterr(err, "dynamodb: attribute '%s' has no type", a->name);
}

int
kin_ddb_item_json(struct kin_buf *b, const struct kin_ddb_item *it,
    char *err)
{
	if (kin_buf_addc(b, '{', err) < 0)
		return -1;
	for (size_t i = 0; i < it->n; i++) {
		const struct kin_ddb_attr *a = &it->a[i];
		if ((i > 0 && kin_buf_addc(b, ',', err) < 0) ||
		    kin_json_put_str(b, a->name, strlen(a->name), err) < 0 ||
		    kin_buf_addc(b, ':', err) < 0 || put_value(b, a, err) < 0)
			return -1;
	}
	return kin_buf_addc(b, '}', err);
}

/* One attribute: name at key token k, value object {"T": v} at k+1. */
static int
parse_attr(const struct kin_json *j, int k, struct kin_ddb_item *it,
    struct kin_buf *tmp, char *err)
{
	int v = k + 1, tk = v + 1, tv = v + 2;
	struct kin_ddb_attr *a;
	const char *raw;
	size_t len;

	kin_buf_reset(tmp);
	if (kin_json_str(j, k, tmp, err) < 0)
		return -1;
	if (j->tok[v].type != JSMN_OBJECT || j->tok[v].size != 1)
		return kin_seterr(err, "attribute '%s': not a typed value",
		    tmp->p ? tmp->p : "");
	if (kin_json_eq(j, tk, "S") || kin_json_eq(j, tk, "N")) {
		enum kin_ddb_type t = kin_json_eq(j, tk, "S") ? KIN_DDB_S :
		    KIN_DDB_N;
		char *name, *s;
		if (j->tok[tv].type != JSMN_STRING)
			return kin_seterr(err, "attribute '%s': bad value",
			    tmp->p);
		if ((name = strdup(tmp->p)) == NULL)
			return kin_seterr(err, "dynamodb: out of memory");
		if ((s = kin_json_strdup(j, tv, err)) == NULL) {
			free(name);
			return -1;
		}
		a = slot(it, name, err);
		free(name);
		if (a == NULL) {
			free(s);
			return -1;
		}
		a->type = t;
		a->s = s;
		return 0;
	}
	if (kin_json_eq(j, tk, "SS") && j->tok[tv].type == JSMN_ARRAY) {
		int n = j->tok[tv].size;
		if ((a = slot(it, tmp->p, err)) == NULL)
			return -1;
		a->type = KIN_DDB_SS;
		if (n > 0 && (a->ss = calloc((size_t)n, sizeof *a->ss)) == NULL)
			return kin_seterr(err, "dynamodb: out of memory");
		for (int i = 0; i < n; i++) {
			int e = kin_json_at(j, tv, i);
			if (e < 0 || j->tok[e].type != JSMN_STRING)
				return kin_seterr(err, "attribute '%s': bad set",
				    a->name);
			if ((a->ss[i] = kin_json_strdup(j, e, err)) == NULL)
				return -1;
			a->nss++;
		}
		return 0;
	}
	if (kin_json_eq(j, tk, "BOOL") || kin_json_eq(j, tk, "NULL")) {
		int b = 0;
		if (kin_json_bool(j, tv, &b, err) < 0)
			return -1;
		if (kin_json_eq(j, tk, "NULL"))
			return set_text(it, tmp->p, KIN_DDB_NULL, "true", 4,
			    err);
		return set_text(it, tmp->p, KIN_DDB_BOOL, b ? "true" : "false",
		    b ? 4 : 5, err);
	}
	raw = kin_json_raw(j, v, &len);
	return set_text(it, tmp->p, KIN_DDB_OTHER, raw, len, err);
}

int
kin_ddb_item_parse(const struct kin_json *j, int obj, struct kin_ddb_item *it,
    char *err)
{
	struct kin_buf tmp;
	int n, k, rc = 0;

	if (obj < 0 || obj >= j->ntok || j->tok[obj].type != JSMN_OBJECT)
		return kin_seterr(err, "item is not an object");
	kin_buf_init(&tmp, 64 * 1024);
	n = j->tok[obj].size;
	k = obj + 1;
	for (int m = 0; m < n && rc == 0; m++) {
		if (k + 3 >= j->ntok)
			rc = kin_seterr(err, "item: truncated");
		else
			rc = parse_attr(j, k, it, &tmp, err);
		k = kin_json_skip(j, k + 1);
	}
	kin_buf_release(&tmp);
	return rc;
}
