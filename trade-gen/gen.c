/* gen.c — the record generator: models and line formatting (gen.h). */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fmt.h"
#include "gen.h"

/* Walk model: per step, price *= 1 + sigma*z with z of mean 0 and
 * variance 1, then a pull of WALK_PULL of the gap back towards the
 * ticker's base price, so long runs stay in a plausible range (the spread
 * of log-prices settles near sigma / sqrt(2 * WALK_PULL), about 30%). */
#define WALK_PULL 2e-5
#define PRICE_MIN 0.01
#define PRICE_MAX 1e9           /* far below 2^53 cents, see fmt.h */

int
tg_gen_init(struct tg_gen *g, uint64_t seed, struct tg_ticker *tickers,
    uint64_t ntickers, uint64_t keys, enum tg_model model,
    enum tg_format format, const int *fields, int nfields,
    struct tg_evtime *time, char *err)
{
	uint64_t n = keys ? keys : ntickers;

	memset(g, 0, sizeof *g);
	tg_rng_seed(&g->rng, seed);
	g->time = time;
	g->model = model;
	g->format = format;
	g->tickers = tickers;
	g->n = n;
	g->keys = keys > 0;
	g->key_width = 6;
	for (uint64_t k = 1000000; k <= keys && g->key_width < 19; k *= 10)
		g->key_width++;
	g->nfields = nfields;
	for (int i = 0; i < nfields; i++) {
		g->fields[i] = fields[i];
		if (fields[i] == TG_FIELD_SEQ &&
		    (g->seq = calloc(n, sizeof *g->seq)) == NULL)
			goto nomem;
	}
	if (model == TG_WALK &&
	    ((g->price = calloc(n, sizeof *g->price)) == NULL ||
	    (g->sigma = calloc(n, sizeof *g->sigma)) == NULL ||
	    (g->base = calloc(n, sizeof *g->base)) == NULL))
		goto nomem;
	return 0;
nomem:
	tg_gen_release(g);
	return kin_seterr(err, "cannot allocate state for %llu tickers: "
	    "out of memory", (unsigned long long)n);
}

void
tg_gen_release(struct tg_gen *g)
{
	free(g->tickers);
	free(g->price);
	free(g->sigma);
	free(g->base);
	free(g->seq);
	g->tickers = NULL;
	g->price = g->base = NULL;
	g->sigma = NULL;
	g->seq = NULL;
}

/* Name of ticker i at p. */
static inline char *
put_name(const struct tg_gen *g, char *p, uint64_t i)
{
	if (g->keys) {
		*p++ = 'T';
		return tg_put_u64w(p, i + 1, g->key_width);
	}
	memcpy(p, g->tickers[i].name, TG_NAME_MAX);
	return p + g->tickers[i].len;
}

/* A ticker's walk parameters come from its name alone, so AMZN starts at
 * the same price whatever the seed: FNV-1a of the name into splitmix64. */
static void
walk_start(struct tg_gen *g, uint64_t i)
{
	char name[TG_NAME_MAX + 24];
	size_t len = (size_t)(put_name(g, name, i) - name);
	uint64_t h = 0xcbf29ce484222325ULL;
	double u1, u2;

	for (size_t k = 0; k < len; k++)
		h = (h ^ (unsigned char)name[k]) * 0x100000001b3ULL;
	u1 = (double)(tg_splitmix64(&h) >> 11) * 0x1.0p-53;
	u2 = (double)(tg_splitmix64(&h) >> 11) * 0x1.0p-53;
	g->base[i] = 5 + 495 * u1 * u1;         /* 5..500, mostly low */
	g->price[i] = g->base[i];
	g->sigma[i] = (float)(0.0005 + 0.0025 * u2);
}

static inline double
walk_step(struct tg_gen *g, uint64_t i)
{
	uint64_t x;
	double z, p;

	if (g->price[i] == 0)
		walk_start(g, i);
	/* Sum of four 16-bit uniforms, centred and scaled to variance 1: a
	 * bell curve from integer arithmetic only, identical everywhere. */
	x = tg_rng_next(&g->rng);
	z = ((double)((x & 0xffff) + (x >> 16 & 0xffff) + (x >> 32 & 0xffff) +
	    (x >> 48)) * 0x1.0p-16 - 2.0) * 1.7320508075688772;
	p = g->price[i] * (1.0 + g->sigma[i] * z);
	p += WALK_PULL * (g->base[i] - p);
	if (p < PRICE_MIN)
		p = PRICE_MIN;
	if (p > PRICE_MAX)
		p = PRICE_MAX;
	g->price[i] = p;
	return p;
}

/* Trade size: mostly small lots, some round lots, a few blocks. */
static inline uint64_t
draw_qty(struct tg_rng *r)
{
	uint64_t k = tg_rng_below(r, 100);

	if (k < 70)
		return 1 + tg_rng_below(r, 100);
	if (k < 95)
		return 100 * (1 + tg_rng_below(r, 10));
	return 1000 * (1 + tg_rng_below(r, 10));
}

char *
tg_gen_csv_header(const struct tg_gen *g, char *p)
{
	static const char base[] = "EVENT_TIME,TICKER,PRICE";

	memcpy(p, base, sizeof base - 1);
	p += sizeof base - 1;
	for (int f = 0; f < g->nfields; f++) {
		const char *s = g->fields[f] == TG_FIELD_QTY ? ",QTY" : ",SEQ";
		memcpy(p, s, 4);
		p += 4;
	}
	*p++ = '\n';
	return p;
}

#define PUT(lit) do { memcpy(p, lit, sizeof lit - 1); p += sizeof lit - 1; } \
	while (0)

char *
tg_gen_record(struct tg_gen *g, char *p, int64_t us)
{
	int json = g->format == TG_JSON;
	uint64_t i, qty = 0;
	double price;

	/* Event time: up to disorder_us early; a late record (never the
	 * first) is more than late_by_us older than any on-time record before
	 * it: nominal - disorder - late_by - (0, late_by]. */
	int64_t t = us;
	if (g->disorder_us)
		t -= (int64_t)tg_rng_below(&g->rng, (uint64_t)g->disorder_us + 1);
	if (g->late_p > 0 && tg_rng_double(&g->rng) < g->late_p &&
	    g->emitted > 0)
		t = us - g->disorder_us - g->late_by_us -
		    (int64_t)(1 + tg_rng_below(&g->rng, (uint64_t)g->late_by_us));

	/* The original: random.choice(stocks), then random.random() * 100. */
	i = tg_rng_below(&g->rng, g->n);
	if (g->model == TG_WALK)
		price = walk_step(g, i);
	else
		price = tg_rng_double(&g->rng) * 100;
	for (int f = 0; f < g->nfields; f++)
		if (g->fields[f] == TG_FIELD_QTY)
			qty = draw_qty(&g->rng);

	if (json)
		PUT("{\"EVENT_TIME\": \"");
	if ((p = tg_evtime_put(g->time, p, t)) == NULL)
		return NULL;
	if (json)
		PUT("\", \"TICKER\": \"");
	else
		*p++ = ',';
	p = put_name(g, p, i);
	if (json)
		PUT("\", \"PRICE\": ");
	else
		*p++ = ',';
	p = tg_put_price(p, tg_round_cents(price));
	for (int f = 0; f < g->nfields; f++) {
		if (g->fields[f] == TG_FIELD_QTY) {
			if (json)
				PUT(", \"QTY\": ");
			else
				*p++ = ',';
			p = tg_put_u64(p, qty);
		} else {
			if (json)
				PUT(", \"SEQ\": ");
			else
				*p++ = ',';
			p = tg_put_u64(p, ++g->seq[i]);
		}
	}
	if (json)
		*p++ = '}';
	*p++ = '\n';
	g->emitted++;
	return p;
}
