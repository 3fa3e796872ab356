/* sketch.c — approximate quantiles that merge exactly: values fall into
 * logarithmic buckets (DDSketch, Masson et al., VLDB 2019), bucket i
 * covering (g^(i-1), g^i] with g = (1+a)/(1-a), so any value read back
 * from a bucket is within a relative error a of every value in it.
 * Merging two sketches adds their counts: sliding windows merge panes. */
#include "kw.h"
#include "json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SK_MIN 1e-9      /* smaller magnitudes count as zero */

struct store {
	int32_t off;       /* bucket index of c[0] */
	uint32_t n;
	uint64_t *c;
};
struct sketch {
	struct store pos, neg;
	uint64_t zero, total;
};

static double log_gamma, gamma_v;

static void
setup(void)
{
	if (log_gamma == 0) {
		gamma_v = (1 + KW_SKETCH_ALPHA) / (1 - KW_SKETCH_ALPHA);
		log_gamma = log(gamma_v);
	}
}

struct sketch *
sketch_new(void)
{
	setup();
	return calloc(1, sizeof(struct sketch));
}

void
sketch_free(struct sketch *s)
{
	if (s == NULL)
		return;
	free(s->pos.c);
	free(s->neg.c);
	free(s);
}

void
sketch_clear(struct sketch *s)
{
	if (s == NULL)
		return;
	if (s->pos.c)
		memset(s->pos.c, 0, s->pos.n * sizeof *s->pos.c);
	if (s->neg.c)
		memset(s->neg.c, 0, s->neg.n * sizeof *s->neg.c);
	s->zero = s->total = 0;
}

static int
store_add(struct store *st, int32_t i, uint64_t c)
{
	if (st->n == 0 || i < st->off || i >= st->off + (int32_t)st->n) {
		int32_t lo = st->n ? st->off : i, hi = st->n ?
		    st->off + (int32_t)st->n - 1 : i;

		if (i < lo)
			lo = i - 16;
		if (i > hi)
			hi = i + 16;
		uint32_t n = (uint32_t)(hi - lo + 1);
		uint64_t *nc = calloc(n, sizeof *nc);

		if (nc == NULL)
			return -1;
		if (st->n)
			memcpy(nc + (st->off - lo), st->c,
			    st->n * sizeof *nc);
		free(st->c);
		st->c = nc;
		st->off = lo;
		st->n = n;
	}
	st->c[i - st->off] += c;
	return 0;
}

static int32_t
index_of(double v)
{
	return (int32_t)ceil(log(v) / log_gamma);
}

static double
value_of(int32_t i)
{
	return 2.0 * exp(i * log_gamma) / (gamma_v + 1.0);
}

void
sketch_add(struct sketch *s, double v)
{
	if (s == NULL || isnan(v))
		return;
	if (fabs(v) < SK_MIN)
		s->zero++;
	else if (store_add(v > 0 ? &s->pos : &s->neg, index_of(fabs(v)),
	    1) < 0)
		return;
	s->total++;
}

static void
store_merge(struct store *a, const struct store *b)
{
	int32_t lo = -1, hi = -1;

	for (uint32_t k = 0; k < b->n; k++)
		if (b->c[k]) {
			if (lo < 0)
				lo = (int32_t)k;
			hi = (int32_t)k;
		}
	if (lo < 0)
		return;
	/* Grow once to cover b's used range, then add. */
	if (store_add(a, b->off + lo, 0) < 0 ||
	    store_add(a, b->off + hi, 0) < 0)
		return;
	for (int32_t k = lo; k <= hi; k++)
		a->c[b->off + k - a->off] += b->c[k];
}

void
sketch_merge(struct sketch *a, const struct sketch *b)
{
	if (a == NULL || b == NULL || b->total == 0)
		return;
	store_merge(&a->pos, &b->pos);
	store_merge(&a->neg, &b->neg);
	a->zero += b->zero;
	a->total += b->total;
}

/* The value of rank floor(q * (n - 1)) in sorted order, within alpha. */
double
sketch_quantile(const struct sketch *s, double q)
{
	double rank;
	uint64_t cum = 0;

	if (s == NULL || s->total == 0)
		return NAN;
	rank = q * (double)(s->total - 1);
	for (int32_t k = (int32_t)s->neg.n - 1; k >= 0; k--) {
		cum += s->neg.c[k];
		if ((double)cum > rank)
			return -value_of(s->neg.off + k);
	}
	cum += s->zero;
	if ((double)cum > rank)
		return 0;
	for (uint32_t k = 0; k < s->pos.n; k++) {
		cum += s->pos.c[k];
		if ((double)cum > rank)
			return value_of(s->pos.off + (int32_t)k);
	}
	return s->pos.n ? value_of(s->pos.off + (int32_t)s->pos.n - 1) : 0;
}

static int
store_save(const struct store *st, struct kin_buf *b, char *err)
{
	int32_t lo = -1, hi = -1;

	for (uint32_t k = 0; k < st->n; k++)
		if (st->c[k]) {
			if (lo < 0)
				lo = (int32_t)k;
			hi = (int32_t)k;
		}
	if (kin_buf_printf(b, err, "%ld,[", lo < 0 ? 0L :
	    (long)(st->off + lo)) < 0)
		return -1;
	for (int32_t k = lo; lo >= 0 && k <= hi; k++)
		if (kin_buf_printf(b, err, k > lo ? ",%llu" : "%llu",
		    (unsigned long long)st->c[k]) < 0)
			return -1;
	return kin_buf_addc(b, ']', err);
}

int
sketch_save(const struct sketch *s, struct kin_buf *b, char *err)
{
	if (kin_buf_printf(b, err, "[%llu,", (unsigned long long)s->zero) < 0 ||
	    store_save(&s->neg, b, err) < 0 || kin_buf_addc(b, ',', err) < 0 ||
	    store_save(&s->pos, b, err) < 0)
		return -1;
	return kin_buf_addc(b, ']', err);
}

static int
store_load(struct store *st, const struct kin_json *j, int toff, int tarr,
    uint64_t *total)
{
	char err[KIN_ERRLEN];
	int64_t off, c;

	if (toff < 0 || tarr < 0 || kin_json_int64(j, toff, &off, err) < 0 ||
	    off < -100000 || off > 100000 || j->tok[tarr].type != JSMN_ARRAY)
		return -1;
	for (int k = 0; k < j->tok[tarr].size; k++) {
		int t = kin_json_at(j, tarr, k);

		if (t < 0 || kin_json_int64(j, t, &c, err) < 0 || c < 0)
			return -1;
		if (c && store_add(st, (int32_t)(off + k), (uint64_t)c) < 0)
			return -1;
		*total += (uint64_t)c;
	}
	return 0;
}

int
sketch_load(struct sketch *s, const struct kin_json *j, int arr)
{
	char err[KIN_ERRLEN];
	int64_t z;

	int t0 = arr < 0 ? -1 : kin_json_at(j, arr, 0);

	if (s == NULL || t0 < 0 || j->tok[arr].type != JSMN_ARRAY ||
	    kin_json_int64(j, t0, &z, err) < 0 || z < 0)
		return -1;
	sketch_clear(s);
	s->zero = (uint64_t)z;
	s->total = s->zero;
	if (store_load(&s->neg, j, kin_json_at(j, arr, 1),
	    kin_json_at(j, arr, 2), &s->total) < 0 ||
	    store_load(&s->pos, j, kin_json_at(j, arr, 3),
	    kin_json_at(j, arr, 4), &s->total) < 0)
		return -1;
	return 0;
}
