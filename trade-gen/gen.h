/* gen.h — one synthetic trade at a time, formatted straight into the
 * output buffer: ticker, price model, optional QTY and SEQ, event-time
 * disorder and lateness.  What a record draws from the PRNG, in order:
 * [disorder] [late] ticker, price, [qty]; changing that order changes the
 * bytes every --seed gives, so it is fixed here.
 * Ownership: struct tg_gen is the caller's; tg_gen_init() allocates its
 * tables, tg_gen_release() frees them and the tickers it was given. */
#ifndef TG_GEN_H
#define TG_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "evtime.h"
#include "rng.h"

#define TG_NAME_MAX 31          /* bytes in one ticker */
#define TG_TICKERS_MAX 10000000 /* tickers or --keys */
#define TG_LINE_MAX 256         /* longest line one record can make */

enum tg_model { TG_UNIFORM, TG_WALK };
enum tg_format { TG_JSON, TG_CSV };
enum tg_field { TG_FIELD_QTY = 1, TG_FIELD_SEQ };
#define TG_FIELDS_MAX 2

struct tg_ticker {
	unsigned char len;
	char name[TG_NAME_MAX];
};

struct tg_gen {
	struct tg_rng rng;
	struct tg_evtime *time;
	enum tg_model model;
	enum tg_format format;
	int fields[TG_FIELDS_MAX];  /* in output order */
	int nfields;
	/* Either a list of names, or nkeys synthetic ones T000001... */
	struct tg_ticker *tickers;  /* owned */
	uint64_t n;                 /* tickers or keys */
	int keys;                   /* names are synthetic */
	int key_width;              /* digits after 'T' */
	/* Per ticker, allocated only when used. */
	double *price;              /* walk: current price, 0 = not started */
	float *sigma;               /* walk: relative step size */
	double *base;               /* walk: the price it reverts towards */
	uint64_t *seq;              /* SEQ: last number given */
	/* Event-time distortion, microseconds. */
	int64_t disorder_us;
	double late_p;
	int64_t late_by_us;
	uint64_t emitted;
};

/* Takes ownership of tickers (NULL when keys > 0).  Returns 0, or -1 with
 * err filled (memory). */
int tg_gen_init(struct tg_gen *g, uint64_t seed, struct tg_ticker *tickers,
    uint64_t ntickers, uint64_t keys, enum tg_model model,
    enum tg_format format, const int *fields, int nfields,
    struct tg_evtime *time, char *err);
void tg_gen_release(struct tg_gen *g);
/* Header line for --format csv --header, with its newline, into p (room
 * TG_LINE_MAX); returns the end. */
char *tg_gen_csv_header(const struct tg_gen *g, char *p);
/* One record whose nominal event time is the UTC instant us, at p (room
 * TG_LINE_MAX).  Returns the end of the line, or NULL when its event time
 * cannot be shown (year outside 1..9999). */
char *tg_gen_record(struct tg_gen *g, char *p, int64_t us);

#endif
