/* kw.h — kin-write's internal types, shared by its files.
 * A line read becomes a struct urec (user record).  Records to send are
 * struct krec (Kinesis record): one urec alone, or a KPL aggregate of many
 * urecs of one shard.  Ownership: a krec owns its urecs and, for an
 * aggregate, its encoded bytes; krec_free() releases all of it. */
#ifndef KW_H
#define KW_H

#include <stddef.h>
#include <stdint.h>

#define KW_PROG "kin-write"

/* A 128-bit hash key, as Kinesis maps keys to shards (MD5 of the partition
 * key as a big-endian integer, or the explicit hash key). */
typedef unsigned __int128 kw_u128;

struct shard;
struct urec;

/* Fields in the order they are used: the first 64 bytes are all that an
 * acknowledgement reads (records wait in flight long enough to leave the
 * cache, so each line touched then is a miss); the next line is what a
 * request's body reads. */
struct krec {
	struct krec *next;       /* in a list being re-routed (refresh_map) */
	struct urec *users;      /* the record, or NULL for an aggregate */
	char *err;               /* "code\0message" of the last failure */
	uint64_t epoch;          /* barriers read before its records */
	size_t ucost;            /* urec_cost() of its users */
	struct shard *shard;     /* queue it belongs to */
	uint32_t nusers;         /* records in it */
	int16_t embedded;        /* lives inside its only urec */
	int16_t cls;             /* and then that urec's block class */
	int attempts;            /* PutRecords tries so far */
	/* line 2 */
	char *data;              /* bytes to put (users->data when alone) */
	size_t len;
	const char *key;         /* users->key, or "a" for an aggregate */
	size_t keylen;
	const char *ehk;         /* ExplicitHashKey, or NULL */
	char *agg;               /* owned aggregate bytes (then its ehk), or NULL */
	int64_t enq_us;          /* when it became ready (linger) */
	int64_t deadline_us;     /* earliest user deadline, 0 = none */
	/* line 3 */
	kw_u128 hash;            /* users->hash */
	long long *lines;        /* aggregate: its records' input lines */
	const char **srcs;       /* and input names */
};

struct urec {
	struct krec lone;        /* its krec when it goes alone (first: a
	                            block starts on a cache line) */
	struct urec *next;       /* in an aggregate's list */
	uint64_t seq;            /* input order, from 0 */
	uint64_t epoch;          /* barriers read before this record */
	long long lineno;        /* input line, for messages */
	const char *src;         /* input name ("-" for stdin), not owned */
	int64_t deadline_us;     /* monotonic; 0 = retry forever */
	kw_u128 hash;            /* where Kinesis will put it */
	char *key;               /* partition key, NUL-terminated */
	size_t keylen;
	char *ehk;               /* explicit hash key (decimal) or NULL */
	char *data;              /* bytes (NUL after them) */
	size_t len;
	int cls;                 /* allocation size class, -1 for malloc */
	/* key, ehk and data live in the same allocation */
};

struct urec *urec_new(const char *key, size_t keylen, const char *ehk,
    const void *data, size_t len);
void urec_free(struct urec *u);
/* Memory a record holds, for --max-buffered. */
static inline size_t urec_cost(const struct urec *u)
{
	return sizeof(*u) + u->len + u->keylen + 2;
}

/* The urec's own krec (no allocation). */
struct krec *krec_lone(struct urec *u);
void krec_free(struct krec *k);
/* Bytes that count against the 1 MiB / 5 MiB limits: data + key. */
static inline size_t krec_cost(const struct krec *k)
{
	return k->len + k->keylen;
}
/* Remember the last failure; its code and message ("" when none). */
void krec_set_err(struct krec *k, const char *code, const char *msg);
const char *krec_code(const struct krec *k);
const char *krec_msg(const struct krec *k);

/* The clock, read once per turn of the event loop: records read in one
 * turn share a time (rec.c). */
void kw_tick(void);
int64_t kw_now(void);

/* 128-bit helpers (shardmap.c). */
int kw_u128_parse(const char *s, size_t n, kw_u128 *out);
size_t kw_u128_format(kw_u128 v, char *dst, size_t n);   /* decimal */
/* MD5 of the key as a big-endian 128-bit number (short keys are cached:
 * a stream's keys repeat). */
kw_u128 kw_key_hash(const char *key, size_t len);

#endif
