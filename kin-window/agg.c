/* agg.c — aggregate functions as mergeable per-pane state: each one is
 * updated record by record inside a pane and merged across panes (or
 * sessions) when a window fires, so a sliding window never keeps records. */
#include "kw.h"
#include "aggst.h"
#include "json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>


static const struct {
	const char *name;
	enum agg_fn fn;
	double q;
} fns[] = {
	{ "count", AG_COUNT, 0 }, { "sum", AG_SUM, 0 }, { "min", AG_MIN, 0 },
	{ "max", AG_MAX, 0 }, { "avg", AG_AVG, 0 }, { "first", AG_FIRST, 0 },
	{ "last", AG_LAST, 0 }, { "open", AG_OPEN, 0 },
	{ "close", AG_CLOSE, 0 }, { "high", AG_HIGH, 0 },
	{ "low", AG_LOW, 0 }, { "vwap", AG_VWAP, 0 },
	{ "stddev", AG_STDDEV, 0 }, { "p50", AG_PCT, 0.5 },
	{ "p90", AG_PCT, 0.9 }, { "p99", AG_PCT, 0.99 },
	{ "max_by", AG_MAXBY, 0 }, { "min_by", AG_MINBY, 0 },
};

static char *
dupn(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p != NULL) {
		memcpy(p, s, n);
		p[n] = 0;
	}
	return p;
}

int
aggs_add(struct aggs *g, struct scanner *sc, const char *spec, char *err)
{
	const char *colon = strchr(spec, ':'), *eq, *fe;
	size_t fl;
	int k = -1;
	struct aggspec *a;

	fl = colon ? (size_t)(colon - spec) : strcspn(spec, "=");
	for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
		if (strlen(fns[i].name) == fl &&
		    memcmp(fns[i].name, spec, fl) == 0)
			k = (int)i;
	if (k < 0)
		return kin_seterr(err, "bad aggregate '%s': unknown function "
		    "'%.*s'", spec, (int)fl, spec);
	if (g->n == KW_MAXAGGS)
		return kin_seterr(err, "bad aggregate '%s': more than %d",
		    spec, KW_MAXAGGS);
	a = &g->a[g->n];
	memset(a, 0, sizeof *a);
	a->fn = fns[k].fn;
	a->q = fns[k].q;
	a->field = a->field2 = -1;
	a->numslot = a->numslot2 = -1;
	eq = strchr(colon ? colon : spec, '=');
	if (colon != NULL) {
		const char *f = colon + 1;

		fe = eq ? eq : f + strlen(f);
		if (fe == f)
			return kin_seterr(err, "bad aggregate '%s': empty "
			    "field name", spec);
		a->fieldname = dupn(f, (size_t)(fe - f));
		if (a->fieldname == NULL)
			return kin_seterr(err, "out of memory");
	} else if (a->fn != AG_COUNT) {
		return kin_seterr(err, "bad aggregate '%s': %s needs a field "
		    "(%s:FIELD)", spec, fns[k].name, fns[k].name);
	}
	if (a->fn == AG_VWAP) {
		char *star = strchr(a->fieldname, '*');

		if (star == NULL || star == a->fieldname || star[1] == 0)
			return kin_seterr(err, "bad aggregate '%s': vwap needs "
			    "PRICE*QUANTITY", spec);
		*star = 0;
		a->field2 = scan_field(sc, star + 1);
		if (a->field2 < 0)
			goto toomany;
	}
	if (a->fieldname != NULL) {
		a->field = scan_field(sc, a->fieldname);
		if (a->field < 0)
			goto toomany;
	}
	if (eq != NULL) {
		if (eq[1] == 0)
			return kin_seterr(err, "bad aggregate '%s': empty "
			    "output name", spec);
		a->name = dupn(eq + 1, strlen(eq + 1));
	} else if (a->fn == AG_COUNT) {
		a->name = dupn("count", 5);
	} else {
		size_t n = strlen(fns[k].name) + 1 + strlen(a->fieldname);

		a->name = malloc(n + 1);
		if (a->name != NULL)
			snprintf(a->name, n + 1, "%s_%s", fns[k].name,
			    a->fieldname);
	}
	if (a->name == NULL)
		return kin_seterr(err, "out of memory");
	for (int i = 0; i < g->n; i++)
		if (strcmp(g->a[i].name, a->name) == 0)
			return kin_seterr(err, "bad aggregate '%s': output name "
			    "'%s' used twice (rename with =NAME)", spec,
			    a->name);
	g->n++;
	return 0;
toomany:
	return kin_seterr(err, "bad aggregate '%s': more than %d fields",
	    spec, KW_MAXFIELDS);
}

static int
numslot(struct aggs *g, int field)
{
	for (int i = 0; i < g->nnum; i++)
		if (g->numfield[i] == field)
			return i;
	g->numfield[g->nnum] = field;
	return g->nnum++;
}

int
aggs_finish(struct aggs *g, char *err)
{
	size_t off = 0;

	(void)err;
	for (int i = 0; i < g->n; i++) {
		struct aggspec *a = &g->a[i];
		size_t sz = 0;

		switch (a->fn) {
		case AG_COUNT:
			break;
		case AG_SUM: case AG_AVG: case AG_MIN: case AG_MAX:
		case AG_HIGH: case AG_LOW:
			sz = sizeof(double);
			break;
		case AG_FIRST: case AG_LAST:
			sz = sizeof(struct st_first);
			g->has_rv = 1;
			break;
		case AG_OPEN: case AG_CLOSE:
			sz = sizeof(struct st_oc);
			break;
		case AG_VWAP: case AG_STDDEV:
			sz = sizeof(struct st_pair);
			break;
		case AG_PCT:
			a->sketch = i;
			for (int j = 0; j < i; j++)
				if (g->a[j].fn == AG_PCT &&
				    g->a[j].field == a->field) {
					a->sketch = j;
					break;
				}
			if (a->sketch == i)
				sz = sizeof(struct sketch *);
			g->has_sketch = 1;
			break;
		case AG_MAXBY: case AG_MINBY:
			sz = sizeof(struct st_by);
			g->has_rv = 1;
			g->need_line = 1;
			break;
		}
		a->off = off;
		off += (sz + 7) & ~(size_t)7;
		if (a->fn != AG_COUNT && a->fn != AG_FIRST &&
		    a->fn != AG_LAST)
			a->numslot = numslot(g, a->field);
		if (a->fn == AG_VWAP)
			a->numslot2 = numslot(g, a->field2);
	}
	for (int i = 0; i < g->n; i++)
		if (g->a[i].fn == AG_PCT && g->a[i].sketch != i)
			g->a[i].off = g->a[g->a[i].sketch].off;
	g->size = off;
	return 0;
}

void
aggs_release(struct aggs *g)
{
	for (int i = 0; i < g->n; i++) {
		free(g->a[i].name);
		free(g->a[i].fieldname);
	}
	g->n = 0;
}

void
rv_set(struct rv *r, const char *p, size_t n)
{
	if (n > r->cap) {
		char *q = realloc(r->p, n);

		if (q == NULL) {
			/* Keep the old value rather than crash; the caller's
			 * out-of-memory check is the pane allocation. */
			return;
		}
		r->p = q;
		r->cap = (uint32_t)n;
	}
	memcpy(r->p, p, n);
	r->n = (uint32_t)n;
}

static void
rv_swap(struct rv *a, struct rv *b)
{
	struct rv t = *a;

	*a = *b;
	*b = t;
}


/* Java's Double.compareTo order, which Flink's max/min/maxBy/minBy use:
 * as <, but -0.0 comes before 0.0 (no NaN can come from JSON). */
static inline int
jlt(double a, double b)
{
	return a < b || (a == 0 && b == 0 && signbit(a) && !signbit(b));
}

static inline int
jgt(double a, double b)
{
	return jlt(b, a);
}

void
agg_init(const struct aggs *g, unsigned char *st)
{
	memset(st, 0, g->size);
	for (int i = 0; i < g->n; i++)
		if (g->a[i].fn == AG_PCT && g->a[i].sketch == i)
			*AT(st, &g->a[i], struct sketch *) = sketch_new();
}

void
agg_update(const struct aggs *g, unsigned char *st, uint64_t count,
    const struct recin *r)
{
	for (int i = 0; i < g->n; i++) {
		const struct aggspec *a = &g->a[i];
		double v = a->numslot >= 0 ? r->num[a->numslot] : 0;

		switch (a->fn) {
		case AG_COUNT:
			break;
		case AG_SUM: case AG_AVG:
			*AT(st, a, double) += v;
			break;
		case AG_MIN: case AG_LOW: {
			double *d = AT(st, a, double);

			if (count == 0 || jlt(v, *d))
				*d = v;
			break;
		}
		case AG_MAX: case AG_HIGH: {
			double *d = AT(st, a, double);

			if (count == 0 || jgt(v, *d))
				*d = v;
			break;
		}
		case AG_FIRST: case AG_LAST: {
			struct st_first *f = AT(st, a, struct st_first);
			const char *p;
			size_t n;

			if (a->fn == AG_FIRST && count != 0)
				break;
			fval_raw(&r->v[a->field], &p, &n);
			rv_set(&f->v, p, n);
			f->seq = r->seq;
			break;
		}
		case AG_OPEN: case AG_CLOSE: {
			struct st_oc *o = AT(st, a, struct st_oc);

			if (count == 0 || (a->fn == AG_OPEN ? r->ts < o->ts :
			    r->ts >= o->ts)) {
				o->ts = r->ts;
				o->seq = r->seq;
				o->v = v;
			}
			break;
		}
		case AG_VWAP: {
			struct st_pair *pq = AT(st, a, struct st_pair);
			double q = r->num[a->numslot2];

			pq->a += v * q;
			pq->b += q;
			break;
		}
		case AG_STDDEV: {
			/* Welford: a = mean, b = sum of squared deviations. */
			struct st_pair *m = AT(st, a, struct st_pair);
			double n = (double)(count + 1), d = v - m->a;

			m->a += d / n;
			m->b += d * (v - m->a);
			break;
		}
		case AG_PCT:
			if (a->sketch == i)
				sketch_add(*AT(st, a, struct sketch *), v);
			break;
		case AG_MAXBY: case AG_MINBY: {
			struct st_by *b = AT(st, a, struct st_by);

			/* Flink's maxBy/minBy: the first record on ties. */
			if (count == 0 || (a->fn == AG_MAXBY ? jgt(v, b->v) :
			    jlt(v, b->v))) {
				b->v = v;
				b->seq = r->seq;
				rv_set(&b->rec, r->line, r->linelen);
			}
			break;
		}
		}
	}
}

void
agg_merge(const struct aggs *g, unsigned char *A, uint64_t acount,
    unsigned char *B, uint64_t bcount, int owned)
{
	if (bcount == 0)
		return;
	for (int i = 0; i < g->n; i++) {
		const struct aggspec *a = &g->a[i];
		int take = acount == 0;

		switch (a->fn) {
		case AG_COUNT:
			break;
		case AG_SUM: case AG_AVG:
			*AT(A, a, double) += *AT(B, a, double);
			break;
		case AG_MIN: case AG_LOW:
			if (take || jlt(*AT(B, a, double), *AT(A, a, double)))
				*AT(A, a, double) = *AT(B, a, double);
			break;
		case AG_MAX: case AG_HIGH:
			if (take || jgt(*AT(B, a, double), *AT(A, a, double)))
				*AT(A, a, double) = *AT(B, a, double);
			break;
		case AG_FIRST: case AG_LAST: {
			struct st_first *x = AT(A, a, struct st_first);
			struct st_first *y = AT(B, a, struct st_first);

			if (take || (a->fn == AG_FIRST ? y->seq < x->seq :
			    y->seq > x->seq)) {
				x->seq = y->seq;
				if (owned)
					rv_swap(&x->v, &y->v);
				else
					x->v = y->v;
			}
			break;
		}
		case AG_OPEN: case AG_CLOSE: {
			struct st_oc *x = AT(A, a, struct st_oc);
			struct st_oc *y = AT(B, a, struct st_oc);

			if (take || (a->fn == AG_OPEN ?
			    (y->ts < x->ts || (y->ts == x->ts && y->seq < x->seq)) :
			    (y->ts > x->ts || (y->ts == x->ts && y->seq > x->seq))))
				*x = *y;
			break;
		}
		case AG_VWAP: {
			struct st_pair *x = AT(A, a, struct st_pair);
			struct st_pair *y = AT(B, a, struct st_pair);

			x->a += y->a;
			x->b += y->b;
			break;
		}
		case AG_STDDEV: {
			/* Chan et al.'s pairwise combination. */
			struct st_pair *x = AT(A, a, struct st_pair);
			struct st_pair *y = AT(B, a, struct st_pair);
			double na = (double)acount, nb = (double)bcount;
			double n = na + nb, d = y->a - x->a;

			x->a += d * nb / n;
			x->b += y->b + d * d * na * nb / n;
			break;
		}
		case AG_PCT:
			if (a->sketch == i)
				sketch_merge(*AT(A, a, struct sketch *),
				    *AT(B, a, struct sketch *));
			break;
		case AG_MAXBY: case AG_MINBY: {
			struct st_by *x = AT(A, a, struct st_by);
			struct st_by *y = AT(B, a, struct st_by);
			int better = a->fn == AG_MAXBY ? jgt(y->v, x->v) :
			    jlt(y->v, x->v);

			if (take || better ||
			    (!jgt(y->v, x->v) && !jlt(y->v, x->v) &&
			    y->seq < x->seq)) {
				x->v = y->v;
				x->seq = y->seq;
				if (owned)
					rv_swap(&x->rec, &y->rec);
				else
					x->rec = y->rec;
			}
			break;
		}
		}
	}
}

void
agg_free(const struct aggs *g, unsigned char *st)
{
	for (int i = 0; i < g->n; i++) {
		const struct aggspec *a = &g->a[i];

		if (a->fn == AG_FIRST || a->fn == AG_LAST)
			free(AT(st, a, struct st_first)->v.p);
		else if (a->fn == AG_MAXBY || a->fn == AG_MINBY)
			free(AT(st, a, struct st_by)->rec.p);
		else if (a->fn == AG_PCT && a->sketch == i)
			sketch_free(*AT(st, a, struct sketch *));
	}
}

void
agg_clear_borrowed(const struct aggs *g, unsigned char *st)
{
	struct sketch *keep[KW_MAXAGGS];

	for (int i = 0; i < g->n; i++)
		if (g->a[i].fn == AG_PCT && g->a[i].sketch == i)
			keep[i] = *AT(st, &g->a[i], struct sketch *);
	memset(st, 0, g->size);
	for (int i = 0; i < g->n; i++)
		if (g->a[i].fn == AG_PCT && g->a[i].sketch == i) {
			*AT(st, &g->a[i], struct sketch *) = keep[i];
			sketch_clear(keep[i]);
		}
}

void
agg_value(const struct aggs *g, int i, const unsigned char *st,
    uint64_t count, struct outv *o)
{
	const struct aggspec *a = &g->a[i];
	unsigned char *s = (unsigned char *)(uintptr_t)st;

	o->t = OV_NUM;
	switch (a->fn) {
	case AG_COUNT:
		o->t = OV_INT;
		o->i = (int64_t)count;
		break;
	case AG_SUM: case AG_MIN: case AG_MAX: case AG_HIGH: case AG_LOW:
		o->d = *AT(s, a, double);
		break;
	case AG_AVG:
		o->d = *AT(s, a, double) / (double)count;
		break;
	case AG_FIRST: case AG_LAST: {
		struct st_first *f = AT(s, a, struct st_first);

		o->t = OV_RAW;
		o->p = f->v.p;
		o->n = f->v.n;
		break;
	}
	case AG_OPEN: case AG_CLOSE:
		o->d = AT(s, a, struct st_oc)->v;
		break;
	case AG_VWAP: {
		struct st_pair *p = AT(s, a, struct st_pair);

		if (p->b == 0)
			o->t = OV_NULL;
		else
			o->d = p->a / p->b;
		break;
	}
	case AG_STDDEV:
		/* Sample standard deviation (n - 1), as SQL's STDDEV. */
		if (count < 2)
			o->t = OV_NULL;
		else
			o->d = sqrt(AT(s, a, struct st_pair)->b /
			    (double)(count - 1));
		break;
	case AG_PCT:
		o->d = sketch_quantile(*AT(s, a, struct sketch *), a->q);
		break;
	case AG_MAXBY: case AG_MINBY: {
		struct st_by *b = AT(s, a, struct st_by);

		o->t = OV_RAW;
		o->p = b->rec.p;
		o->n = b->rec.n;
		break;
	}
	}
	if (o->t == OV_NUM && !isfinite(o->d))
		o->t = OV_NULL;
}

