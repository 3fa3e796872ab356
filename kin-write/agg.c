/* agg.c — the KPL aggregate encoder: protobuf written by hand (three
 * length-delimited fields, varints), MD5 from libcrypto.  Sizes are kept
 * exact as records are added, so an aggregate never passes its limit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "agg.h"

size_t kw_varint_len(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

size_t kw_varint(unsigned char *p, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		p[n++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (unsigned char)v;
	return n;
}

/* One length-delimited field entry: tag byte, length, bytes. */
static size_t field_len(size_t n)
{
	return 1 + kw_varint_len(n) + n;
}

static int bytes_reserve(struct agg_bytes *b, size_t more)
{
	size_t need = b->len + more, cap;
	unsigned char *p;

	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 4096;
	while (cap < need)
		cap *= 2;
	if (!(p = realloc(b->p, cap)))
		return -1;
	b->p = p;
	b->cap = cap;
	return 0;
}

/* Returns where the bytes of s start in b. */
static size_t put_field(struct agg_bytes *b, unsigned tag, const void *s,
    size_t n)
{
	size_t off;

	b->p[b->len++] = (unsigned char)tag;
	b->len += kw_varint(b->p + b->len, n);
	off = b->len;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	return off;
}

static uint32_t fnv1a(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	while (n--) {
		h ^= (unsigned char)*s++;
		h *= 16777619u;
	}
	return h;
}

/* Index of s in the table (whose strings are in bytes), or -1. */
static long keys_find(const struct agg_keys *k, const struct agg_bytes *bytes,
    const char *s, size_t n, uint32_t h)
{
	size_t i;

	if (!k->cap)
		return -1;
	for (i = h & (k->cap - 1); k->tab[i].len || k->tab[i].h ||
	    k->tab[i].off; i = (i + 1) & (k->cap - 1))
		if (k->tab[i].h == h && k->tab[i].len == n &&
		    memcmp(bytes->p + k->tab[i].off, s, n) == 0)
			return k->tab[i].idx;
	return -1;
}

static int slot_used(const struct agg_slot *t)
{
	return t->len || t->h || t->off;
}

static int keys_insert(struct agg_keys *k, size_t off, size_t n, uint32_t h)
{
	size_t i;

	if ((k->n + 1) * 2 > k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 64, j;
		struct agg_slot *t = calloc(cap, sizeof(*t));
		if (!t)
			return -1;
		for (j = 0; j < k->cap; j++) {
			if (!slot_used(&k->tab[j]))
				continue;
			for (i = k->tab[j].h & (cap - 1); slot_used(&t[i]);
			    i = (i + 1) & (cap - 1))
				;
			t[i] = k->tab[j];
		}
		free(k->tab);
		k->tab = t;
		k->cap = cap;
	}
	for (i = h & (k->cap - 1); slot_used(&k->tab[i]);
	    i = (i + 1) & (k->cap - 1))
		;
	k->tab[i].off = (uint32_t)off;
	k->tab[i].len = (uint32_t)n;
	k->tab[i].h = h;
	k->tab[i].idx = k->n++;
	return 0;
}

static void keys_clear(struct agg_keys *k)
{
	if (k->n && k->cap)
		memset(k->tab, 0, k->cap * sizeof(*k->tab));
	k->n = 0;
}

void agg_init(struct agg *a)
{
	memset(a, 0, sizeof(*a));
}

void agg_release(struct agg *a)
{
	if (a->first)
		urec_free(a->first);
	free(a->pkt.p);
	free(a->eht.p);
	free(a->recs.p);
	free(a->pk.tab);
	free(a->eh.tab);
	free(a->lines);
	free(a->srcs);
	memset(a, 0, sizeof(*a));
}

size_t agg_size(const struct agg *a)
{
	if (!a->n)
		return 0;
	return KW_AGG_OVERHEAD + a->pkt.len + a->eht.len + a->recs.len;
}

/* What adding u costs: new table entries and the record entry.  *pki and
 * *ehi get the indexes u would use (-1 for a new one at the end). */
static size_t add_cost(const struct agg *a, const struct urec *u,
    long *pki, long *ehi)
{
	size_t cost = 0, inner;
	uint64_t pk, eh = 0;

	*pki = keys_find(&a->pk, &a->pkt, u->key, u->keylen,
	    fnv1a(u->key, u->keylen));
	if (*pki < 0) {
		cost += field_len(u->keylen);
		pk = a->pk.n;
	} else {
		pk = (uint64_t)*pki;
	}
	*ehi = -1;
	if (u->ehk) {
		size_t n = strlen(u->ehk);
		*ehi = keys_find(&a->eh, &a->eht, u->ehk, n, fnv1a(u->ehk, n));
		if (*ehi < 0) {
			cost += field_len(n);
			eh = a->eh.n;
		} else {
			eh = (uint64_t)*ehi;
		}
	}
	inner = 1 + kw_varint_len(pk) + field_len(u->len);
	if (u->ehk)
		inner += 1 + kw_varint_len(eh);
	return cost + field_len(inner);
}

size_t agg_size_with(const struct agg *a, const struct urec *u)
{
	long pki, ehi;
	size_t cur = a->n ? agg_size(a) : KW_AGG_OVERHEAD;

	return cur + add_cost(a, u, &pki, &ehi);
}

int agg_add(struct agg *a, struct urec *u, int64_t now_us)
{
	long pki, ehi;
	size_t cost = add_cost(a, u, &pki, &ehi), ehn = u->ehk ?
	    strlen(u->ehk) : 0, inner;
	uint64_t pk, eh = 0;
	unsigned char *p;

	(void)cost;
	/* reserve everything first so a failure changes nothing */
	if (bytes_reserve(&a->pkt, field_len(u->keylen)) < 0 ||
	    bytes_reserve(&a->eht, u->ehk ? field_len(ehn) : 0) < 0 ||
	    bytes_reserve(&a->recs, field_len(field_len(u->len) + 24)) < 0)
		return -1;
	if (a->n == a->lcap) {
		size_t cap = a->lcap ? a->lcap * 2 : 256;
		long long *l = realloc(a->lines, cap * sizeof(*l));
		const char **sr;
		if (!l)
			return -1;
		a->lines = l;
		if (!(sr = realloc(a->srcs, cap * sizeof(*sr))))
			return -1;
		a->srcs = sr;
		a->lcap = cap;
	}
	if (pki < 0) {
		size_t off = a->pkt.len + 1 + kw_varint_len(u->keylen);
		if (keys_insert(&a->pk, off, u->keylen,
		    fnv1a(u->key, u->keylen)) < 0)
			return -1;
		put_field(&a->pkt, 0x0A, u->key, u->keylen);
		pk = a->pk.n - 1;
	} else {
		pk = (uint64_t)pki;
	}
	if (u->ehk) {
		if (ehi < 0) {
			size_t off = a->eht.len + 1 + kw_varint_len(ehn);
			if (keys_insert(&a->eh, off, ehn,
			    fnv1a(u->ehk, ehn)) < 0)
				return -1;
			put_field(&a->eht, 0x12, u->ehk, ehn);
			eh = a->eh.n - 1;
		} else {
			eh = (uint64_t)ehi;
		}
	}
	/* Record { partition_key_index = 1 (varint);
	 *          explicit_hash_key_index = 2 (varint, optional);
	 *          data = 3 (bytes) } */
	inner = 1 + kw_varint_len(pk) + field_len(u->len);
	if (u->ehk)
		inner += 1 + kw_varint_len(eh);
	p = a->recs.p + a->recs.len;
	*p++ = 0x1A;                          /* records = 3, bytes */
	p += kw_varint(p, inner);
	*p++ = 0x08;                          /* partition_key_index = 1 */
	p += kw_varint(p, pk);
	if (u->ehk) {
		*p++ = 0x10;                  /* explicit_hash_key_index = 2 */
		p += kw_varint(p, eh);
	}
	*p++ = 0x1A;                          /* data = 3, bytes */
	p += kw_varint(p, u->len);
	memcpy(p, u->data, u->len);
	p += u->len;
	a->recs.len = (size_t)(p - a->recs.p);

	a->lines[a->n] = u->lineno;
	a->srcs[a->n] = u->src;
	a->ucost += urec_cost(u);
	if (u->deadline_us && (!a->deadline_us ||
	    u->deadline_us < a->deadline_us))
		a->deadline_us = u->deadline_us;
	if (!a->n++) {
		u->next = NULL;
		a->first = u;
		a->first_us = now_us;
	} else {
		urec_free(u);   /* all of it is in the encoding now */
	}
	return 0;
}

static void md5(const void *p, size_t n, unsigned char out[16])
{
	unsigned int len = 16;
	EVP_Digest(p, n, out, &len, EVP_md5(), NULL);
}

struct krec *agg_take(struct agg *a)
{
	struct krec *k;
	size_t pblen, total;
	char *buf;
	struct urec *u;

	if (!a->n)
		return NULL;
	if (a->n == 1) {
		k = krec_lone(a->first);
	} else {
		pblen = a->pkt.len + a->eht.len + a->recs.len;
		total = KW_AGG_OVERHEAD + pblen;
		if (!(k = calloc(1, sizeof(*k))))
			return NULL;
		/* the bytes, then the explicit hash key's text */
		if (!(buf = malloc(total + 48))) {
			free(k);
			return NULL;
		}
		memcpy(buf, KW_AGG_MAGIC, 4);
		memcpy(buf + 4, a->pkt.p, a->pkt.len);
		if (a->eht.len)   /* no table: p may be NULL */
			memcpy(buf + 4 + a->pkt.len, a->eht.p, a->eht.len);
		memcpy(buf + 4 + a->pkt.len + a->eht.len, a->recs.p,
		    a->recs.len);
		md5(buf + 4, pblen, (unsigned char *)buf + 4 + pblen);
		u = a->first;
		k->agg = k->data = buf;
		k->len = total;
		k->key = "a";
		k->keylen = 1;
		k->nusers = a->n;
		k->hash = u->hash;
		k->epoch = u->epoch;
		/* the KPL puts an aggregate at its first record's hash key */
		if (u->ehk)
			snprintf(buf + total, 48, "%s", u->ehk);
		else
			kw_u128_format(u->hash, buf + total, 48);
		k->ehk = buf + total;
		k->deadline_us = a->deadline_us;
		k->ucost = a->ucost;
		k->lines = a->lines;
		k->srcs = a->srcs;
		a->lines = NULL;
		a->srcs = NULL;
		a->lcap = 0;
		urec_free(u);
	}
	a->first = NULL;
	a->n = 0;
	a->ucost = 0;
	a->deadline_us = 0;
	a->pkt.len = a->eht.len = a->recs.len = 0;
	keys_clear(&a->pk);
	keys_clear(&a->eh);
	return k;
}

/* ---- reading an aggregate back (dead letters) ---- */

static int rd_varint(const unsigned char *p, size_t n, size_t *i,
    uint64_t *v)
{
	unsigned shift = 0;

	*v = 0;
	while (*i < n && shift < 64) {
		unsigned char c = p[(*i)++];
		*v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return 0;
		shift += 7;
	}
	return -1;
}

/* Next field of p[0..n) from *i: its number, and for length-delimited
 * ones the bytes; varint fields give their value in *len. */
static int rd_field(const unsigned char *p, size_t n, size_t *i,
    unsigned *field, const unsigned char **v, uint64_t *len)
{
	uint64_t tag;

	if (rd_varint(p, n, i, &tag) < 0)
		return -1;
	*field = (unsigned)(tag >> 3);
	if ((tag & 7) == 0)
		return rd_varint(p, n, i, len);
	if ((tag & 7) != 2 || rd_varint(p, n, i, len) < 0 || *len > n - *i)
		return -1;
	*v = p + *i;
	*i += (size_t)*len;
	return 0;
}

int agg_each(const char *buf, size_t len,
    void (*fn)(void *ctx, size_t i, const char *key, const char *ehk,
    const char *data, size_t dlen), void *ctx)
{
	const unsigned char *p = (const unsigned char *)buf + 4, *v = NULL;
	size_t n, i = 0, nk = 0, ne = 0, r = 0, kcap = 0, ecap = 0;
	char **keys = NULL, **ehks = NULL;
	unsigned f;
	uint64_t l;
	int rc = -1;

	if (len < KW_AGG_OVERHEAD || memcmp(buf, KW_AGG_MAGIC, 4) != 0)
		return -1;
	n = len - KW_AGG_OVERHEAD;
	/* the tables first (the KPL writes them first, but need not) */
	while (i < n) {
		char ***t;
		size_t *cnt, *cap;
		if (rd_field(p, n, &i, &f, &v, &l) < 0)
			goto out;
		if (f != 1 && f != 2)
			continue;
		t = f == 1 ? &keys : &ehks;
		cnt = f == 1 ? &nk : &ne;
		cap = f == 1 ? &kcap : &ecap;
		if (*cnt == *cap) {
			size_t c = *cap ? *cap * 2 : 64;
			char **nt = realloc(*t, c * sizeof(*nt));
			if (!nt)
				goto out;
			*t = nt;
			*cap = c;
		}
		if (!((*t)[*cnt] = strndup((const char *)v, (size_t)l)))
			goto out;
		(*cnt)++;
	}
	for (i = 0; i < n;) {
		const unsigned char *rv = NULL, *d = NULL;
		uint64_t rl, dl = 0, ki = UINT64_MAX, ei = UINT64_MAX, x;
		size_t j = 0;
		unsigned g;
		if (rd_field(p, n, &i, &f, &rv, &rl) < 0)
			goto out;
		if (f != 3)
			continue;
		while (j < rl) {
			const unsigned char *w = NULL;
			if (rd_field(rv, (size_t)rl, &j, &g, &w, &x) < 0)
				goto out;
			if (g == 1)
				ki = x;
			else if (g == 2)
				ei = x;
			else if (g == 3) {
				d = w;
				dl = x;
			}
		}
		if (ki >= nk || (ei != UINT64_MAX && ei >= ne))
			goto out;
		fn(ctx, r++, keys[ki], ei == UINT64_MAX ? NULL : ehks[ei],
		    d ? (const char *)d : "", (size_t)dl);
	}
	rc = 0;
out:
	for (i = 0; i < nk; i++)
		free(keys[i]);
	for (i = 0; i < ne; i++)
		free(ehks[i]);
	free(keys);
	free(ehks);
	return rc;
}
