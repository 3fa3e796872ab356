/* aggio.c — aggregate state in state files: one JSON value per aggregate
 * that has state, doubles with all 17 digits (inf and nan as strings),
 * kept values and records in base64 so any bytes come back exact. */
#include "aggst.h"
#include "json.h"
#include "base64.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int
put_d(struct kin_buf *b, double d, char *err)
{
	if (isnan(d))
		return kin_buf_adds(b, "\"nan\"", err);
	if (isinf(d))
		return kin_buf_adds(b, d > 0 ? "\"inf\"" : "\"-inf\"", err);
	return kin_buf_printf(b, err, "%.17g", d);
}

static int
put_rv(struct kin_buf *b, const struct rv *r, char *err)
{
	/* Base64: records may hold any bytes, and must come back exact. */
	if (r->n == 0)
		return kin_buf_adds(b, "null", err);
	if (kin_buf_addc(b, '"', err) < 0 ||
	    kin_b64_encode(b, r->p, r->n, err) < 0)
		return -1;
	return kin_buf_addc(b, '"', err);
}

int
agg_save(const struct aggs *g, const unsigned char *st, struct kin_buf *b,
    char *err)
{
	unsigned char *s = (unsigned char *)(uintptr_t)st;
	int first = 1;

	for (int i = 0; i < g->n; i++) {
		const struct aggspec *a = &g->a[i];
		int rc = 0;

		if (a->fn == AG_COUNT || (a->fn == AG_PCT && a->sketch != i))
			continue;
		if (!first && kin_buf_addc(b, ',', err) < 0)
			return -1;
		first = 0;
		switch (a->fn) {
		case AG_COUNT:
			break;
		case AG_SUM: case AG_AVG: case AG_MIN: case AG_MAX:
		case AG_HIGH: case AG_LOW:
			rc = put_d(b, *AT(s, a, double), err);
			break;
		case AG_FIRST: case AG_LAST: {
			struct st_first *f = AT(s, a, struct st_first);

			rc = kin_buf_printf(b, err, "[%llu,",
			    (unsigned long long)f->seq);
			if (rc == 0)
				rc = put_rv(b, &f->v, err);
			if (rc == 0)
				rc = kin_buf_addc(b, ']', err);
			break;
		}
		case AG_OPEN: case AG_CLOSE: {
			struct st_oc *o = AT(s, a, struct st_oc);

			rc = kin_buf_printf(b, err, "[%lld,%llu,",
			    (long long)o->ts, (unsigned long long)o->seq);
			if (rc == 0)
				rc = put_d(b, o->v, err);
			if (rc == 0)
				rc = kin_buf_addc(b, ']', err);
			break;
		}
		case AG_VWAP: case AG_STDDEV: {
			struct st_pair *p = AT(s, a, struct st_pair);

			rc = kin_buf_addc(b, '[', err);
			if (rc == 0)
				rc = put_d(b, p->a, err);
			if (rc == 0)
				rc = kin_buf_addc(b, ',', err);
			if (rc == 0)
				rc = put_d(b, p->b, err);
			if (rc == 0)
				rc = kin_buf_addc(b, ']', err);
			break;
		}
		case AG_PCT:
			rc = sketch_save(*AT(s, a, struct sketch *), b, err);
			break;
		case AG_MAXBY: case AG_MINBY: {
			struct st_by *x = AT(s, a, struct st_by);

			rc = kin_buf_addc(b, '[', err);
			if (rc == 0)
				rc = put_d(b, x->v, err);
			if (rc == 0)
				rc = kin_buf_printf(b, err, ",%llu,",
				    (unsigned long long)x->seq);
			if (rc == 0)
				rc = put_rv(b, &x->rec, err);
			if (rc == 0)
				rc = kin_buf_addc(b, ']', err);
			break;
		}
		}
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int
get_d(const struct kin_json *j, int t, double *d)
{
	char err[KIN_ERRLEN];
	size_t n;
	const char *p;

	if (t < 0)
		return -1;
	if (j->tok[t].type == JSMN_STRING) {
		p = kin_json_raw(j, t, &n);
		if (n == 3 && memcmp(p, "nan", 3) == 0)
			*d = NAN;
		else if (n == 3 && memcmp(p, "inf", 3) == 0)
			*d = INFINITY;
		else if (n == 4 && memcmp(p, "-inf", 4) == 0)
			*d = -INFINITY;
		else
			return -1;
		return 0;
	}
	return kin_json_num(j, t, d, err);
}

static int
get_u(const struct kin_json *j, int t, uint64_t *u)
{
	char err[KIN_ERRLEN];
	int64_t v;

	if (t < 0 || kin_json_int64(j, t, &v, err) < 0 || v < 0)
		return -1;
	*u = (uint64_t)v;
	return 0;
}

static int
get_rv(const struct kin_json *j, int t, struct rv *r)
{
	struct kin_buf b;
	char err[KIN_ERRLEN];

	if (t < 0)
		return -1;
	if (j->tok[t].type == JSMN_PRIMITIVE)
		return 0;    /* null: empty */
	kin_buf_init(&b, KW_LINE_MAX);
	const char *p;
	size_t n;

	p = kin_json_raw(j, t, &n);
	if (j->tok[t].type != JSMN_STRING ||
	    kin_b64_decode(&b, p, n, err) < 0) {
		kin_buf_release(&b);
		return -1;
	}
	rv_set(r, b.p ? b.p : "", b.len);
	kin_buf_release(&b);
	return 0;
}

int
agg_load(const struct aggs *g, unsigned char *st, const struct kin_json *j,
    int arr, char *err)
{
	int k = 0;

	for (int i = 0; i < g->n; i++) {
		const struct aggspec *a = &g->a[i];
		int t, rc = 0;

		if (a->fn == AG_COUNT || (a->fn == AG_PCT && a->sketch != i))
			continue;
		t = kin_json_at(j, arr, k++);
		if (t < 0)
			return kin_seterr(err, "too few aggregate values");
		switch (a->fn) {
		case AG_COUNT:
			break;
		case AG_SUM: case AG_AVG: case AG_MIN: case AG_MAX:
		case AG_HIGH: case AG_LOW:
			rc = get_d(j, t, AT(st, a, double));
			break;
		case AG_FIRST: case AG_LAST: {
			struct st_first *f = AT(st, a, struct st_first);

			rc = get_u(j, kin_json_at(j, t, 0), &f->seq);
			if (rc == 0)
				rc = get_rv(j, kin_json_at(j, t, 1), &f->v);
			break;
		}
		case AG_OPEN: case AG_CLOSE: {
			struct st_oc *o = AT(st, a, struct st_oc);
			uint64_t seq = 0;
			double ts = 0;

			rc = get_d(j, kin_json_at(j, t, 0), &ts);
			if (rc == 0)
				rc = get_u(j, kin_json_at(j, t, 1), &seq);
			if (rc == 0)
				rc = get_d(j, kin_json_at(j, t, 2), &o->v);
			o->ts = (int64_t)ts;
			o->seq = seq;
			break;
		}
		case AG_VWAP: case AG_STDDEV: {
			struct st_pair *p = AT(st, a, struct st_pair);

			rc = get_d(j, kin_json_at(j, t, 0), &p->a);
			if (rc == 0)
				rc = get_d(j, kin_json_at(j, t, 1), &p->b);
			break;
		}
		case AG_PCT:
			rc = sketch_load(*AT(st, a, struct sketch *), j, t);
			break;
		case AG_MAXBY: case AG_MINBY: {
			struct st_by *x = AT(st, a, struct st_by);

			rc = get_d(j, kin_json_at(j, t, 0), &x->v);
			if (rc == 0)
				rc = get_u(j, kin_json_at(j, t, 1), &x->seq);
			if (rc == 0)
				rc = get_rv(j, kin_json_at(j, t, 2), &x->rec);
			break;
		}
		}
		if (rc < 0)
			return kin_seterr(err, "bad state of aggregate '%s'",
			    a->name);
	}
	return 0;
}
