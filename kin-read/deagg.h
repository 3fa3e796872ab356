/* deagg.h — KPL aggregated records (magic F3 89 9A C2, a protobuf
 * AggregatedRecord, then the MD5 of the protobuf bytes).
 * Ownership: struct deagg is the caller's (init/release); the user records
 * it returns point into the record given to deagg_parse and into deagg's own
 * arrays, valid until the next deagg_parse. */
#ifndef KIN_READ_DEAGG_H
#define KIN_READ_DEAGG_H

#include <stddef.h>
#include <stdint.h>

struct deagg_rec {
	const char *key;      /* partition key (not NUL-terminated) */
	size_t keylen;
	const char *data;
	size_t len;
};

struct deagg_slice {
	const char *p;
	size_t n;
};

struct deagg {
	struct deagg_rec *r;       /* user records of the last aggregate */
	size_t n, cap;
	struct deagg_slice *keys;  /* partition key table */
	size_t nkeys, capkeys;
	uint64_t *keyix;           /* key index of each record, while parsing */
	size_t capix;
};

void deagg_init(struct deagg *d);
void deagg_release(struct deagg *d);

enum {
	DEAGG_RAW = 0,        /* not an aggregate: use the record as it is */
	DEAGG_OK = 1,         /* d->r[0..d->n) are the user records */
	DEAGG_BAD = 2,        /* magic and MD5 right but the protobuf is not an
	                         AggregatedRecord: used as it is, worth a warning */
	DEAGG_NOMEM = -1,
};

/* Decide whether p[0..n) is a KPL aggregate and if so expand it. */
int deagg_parse(struct deagg *d, const char *p, size_t n);

#endif
