/* shardmap.c — which shard a record lands on.  Kinesis maps a record to the
 * open shard whose hash key range holds the MD5 of its partition key, read
 * as a 128-bit big-endian integer, or its explicit hash key (PutRecords
 * documentation); the map comes from ListShards. */
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "kinesis.h"
#include "parse.h"
#include "shardmap.h"

int kw_u128_parse(const char *s, size_t n, kw_u128 *out)
{
	kw_u128 v = 0, max = ~(kw_u128)0;
	size_t i;

	if (n == 0 || n > 39)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned d;
		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = (unsigned)(s[i] - '0');
		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

size_t kw_u128_format(kw_u128 v, char *dst, size_t n)
{
	char tmp[40];
	size_t i = sizeof(tmp), len;

	do {
		tmp[--i] = (char)('0' + (unsigned)(v % 10));
		v /= 10;
	} while (v);
	len = sizeof(tmp) - i;
	if (n == 0)
		return len;
	if (len >= n)
		len = n - 1;
	memcpy(dst, tmp + i, len);
	dst[len] = '\0';
	return len;
}

static kw_u128 md5_u128(const char *key, size_t len)
{
	static EVP_MD_CTX *ctx;
	static EVP_MD *md;
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0, i;
	kw_u128 v = 0;

	if (!ctx) {
		ctx = EVP_MD_CTX_new();
		md = EVP_MD_fetch(NULL, "MD5", NULL);
	}
	if (!ctx || !md || !EVP_DigestInit_ex(ctx, md, NULL) ||
	    !EVP_DigestUpdate(ctx, key, len) ||
	    !EVP_DigestFinal_ex(ctx, d, &dlen) || dlen != 16)
		abort();   /* MD5 missing from libcrypto: nothing can work */
	for (i = 0; i < 16; i++)
		v = (v << 8) | d[i];
	return v;
}

#define KEYCACHE 1024
#define KEYCACHE_LEN 44
static struct keycache {
	kw_u128 hash;
	uint32_t fnv;
	uint32_t len;           /* 0: empty */
	char key[KEYCACHE_LEN];
} keycache[KEYCACHE];

kw_u128 kw_key_hash(const char *key, size_t len)
{
	uint32_t h = 2166136261u;
	size_t i;
	struct keycache *e;

	if (len == 0 || len > KEYCACHE_LEN)
		return md5_u128(key, len);
	for (i = 0; i < len; i++) {
		h ^= (unsigned char)key[i];
		h *= 16777619u;
	}
	e = &keycache[(h ^ (h >> 16)) & (KEYCACHE - 1)];
	if (e->len == len && e->fnv == h && memcmp(e->key, key, len) == 0)
		return e->hash;
	e->hash = md5_u128(key, len);
	e->fnv = h;
	e->len = (uint32_t)len;
	memcpy(e->key, key, len);
	return e->hash;
}

void shardmap_init(struct shardmap *m, double rate_pct)
{
	memset(m, 0, sizeof(*m));
	m->rate_pct = rate_pct;
}

static void shard_free(struct shard *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		krec_free(shard_at(s, i));
	free(s->q);
	agg_release(&s->agg);
	free(s->id);
	free(s);
}

void shardmap_release(struct shardmap *m)
{
	size_t i;

	for (i = 0; i < m->nall; i++)
		shard_free(m->all[i]);
	free(m->all);
	free(m->open);
	memset(m, 0, sizeof(*m));
}

static struct shard *shard_new(struct shardmap *m, const char *id,
    char *err)
{
	struct shard *s = calloc(1, sizeof(*s)), **all;
	int64_t now = kin_now_mono_us();
	double f = m->known ? m->rate_pct / 100.0 : 0;

	if (!s || !(s->id = strdup(id))) {
		free(s);
		kin_seterr(err, "shard map: out of memory");
		return NULL;
	}
	if (!(all = realloc(m->all, (m->nall + 1) * sizeof(*all)))) {
		free(s->id);
		free(s);
		kin_seterr(err, "shard map: out of memory");
		return NULL;
	}
	m->all = all;
	m->all[m->nall++] = s;
	agg_init(&s->agg);
	bucket_init(&s->rtb, f * KW_SHARD_RECORDS_PER_S, now);
	bucket_init(&s->btb, f * KW_SHARD_BYTES_PER_S, now);
	s->hi = ~(kw_u128)0;
	return s;
}

int shardmap_unknown(struct shardmap *m, char *err)
{
	struct shard *s;

	m->known = 0;
	if (!(s = shard_new(m, "", err)))
		return -1;
	s->open = 1;
	if (!(m->open = calloc(1, sizeof(*m->open))))
		return kin_seterr(err, "shard map: out of memory");
	m->open[0] = s;
	m->nopen = 1;
	return 0;
}

static int by_lo(const void *a, const void *b)
{
	const struct shard *x = *(struct shard *const *)a;
	const struct shard *y = *(struct shard *const *)b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

int shardmap_load(struct shardmap *m, struct kin_client *c,
    const char *stream, struct kin_awserr *ae, char *err)
{
	struct kin_shard *ks = NULL;
	struct shard **open = NULL, *s;
	size_t n = 0, i, j, nopen = 0;

	if (kin_list_shards(c, stream, NULL, &ks, &n, ae, err) < 0)
		return -1;
	if (!(open = calloc(n ? n : 1, sizeof(*open)))) {
		kin_shards_free(ks, n);
		return kin_seterr(err, "shard map: out of memory");
	}
	m->known = 1;
	for (i = 0; i < n; i++) {
		kw_u128 lo, hi;
		if (ks[i].seq_end)
			continue;   /* closed by a reshard */
		if (!ks[i].hash_start || !ks[i].hash_end ||
		    kw_u128_parse(ks[i].hash_start, strlen(ks[i].hash_start),
		    &lo) < 0 || kw_u128_parse(ks[i].hash_end,
		    strlen(ks[i].hash_end), &hi) < 0) {
			kin_seterr(err, "ListShards(%s): shard '%s' has no "
			    "valid hash key range", stream, ks[i].id);
			goto fail;
		}
		s = NULL;
		for (j = 0; j < m->nall; j++)
			if (strcmp(m->all[j]->id, ks[i].id) == 0)
				s = m->all[j];
		if (!s && !(s = shard_new(m, ks[i].id, err)))
			goto fail;
		s->lo = lo;
		s->hi = hi;
		open[nopen++] = s;
	}
	if (!nopen) {
		kin_seterr(err, "ListShards(%s): the stream has no open shard",
		    stream);
		goto fail;
	}
	qsort(open, nopen, sizeof(*open), by_lo);
	for (j = 0; j < m->nall; j++)
		m->all[j]->open = 0;
	for (i = 0; i < nopen; i++)
		open[i]->open = 1;
	free(m->open);
	m->open = open;
	m->nopen = nopen;
	kin_shards_free(ks, n);
	return 0;
fail:
	if (ae)
		ae->kind = KIN_AWS_OTHER;
	free(open);
	kin_shards_free(ks, n);
	return -1;
}

struct shard *shardmap_find(const struct shardmap *m, kw_u128 h)
{
	size_t lo = 0, hi = m->nopen;

	/* last shard whose lo <= h */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->open[mid]->lo <= h)
			lo = mid;
		else
			hi = mid;
	}
	return m->open[lo];
}
