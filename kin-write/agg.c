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

static void put_field(struct agg_bytes *b, unsigned tag, const void *s,
    size_t n)
{
	b->p[b->len++] = (unsigned char)tag;
	b->len += kw_varint(b->p + b->len, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
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

/* Index of s in the table, or -1. */
static long keys_find(const struct agg_keys *k, const char *s, size_t n,
    uint32_t h)
{
	size_t i;

	if (!k->cap)
		return -1;
	for (i = h & (k->cap - 1); k->tab[i].s; i = (i + 1) & (k->cap - 1))
		if (k->tab[i].h == h && k->tab[i].len == n &&
		    memcmp(k->tab[i].s, s, n) == 0)
			return k->tab[i].idx;
	return -1;
}

static int keys_insert(struct agg_keys *k, const char *s, size_t n,
    uint32_t h)
{
	size_t i;

	if ((k->n + 1) * 2 > k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 64, j;
		struct agg_slot *t = calloc(cap, sizeof(*t));
		if (!t)
			return -1;
		for (j = 0; j < k->cap; j++) {
			if (!k->tab[j].s)
				continue;
			for (i = k->tab[j].h & (cap - 1); t[i].s;
			    i = (i + 1) & (cap - 1))
				;
			t[i] = k->tab[j];
		}
		free(k->tab);
		k->tab = t;
		k->cap = cap;
	}
	for (i = h & (k->cap - 1); k->tab[i].s; i = (i + 1) & (k->cap - 1))
		;
	k->tab[i].s = s;
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
	struct urec *u, *next;

	for (u = a->first; u; u = next) {
		next = u->next;
		urec_free(u);
	}
	free(a->pkt.p);
	free(a->eht.p);
	free(a->recs.p);
	free(a->pk.tab);
	free(a->eh.tab);
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

	*pki = keys_find(&a->pk, u->key, u->keylen,
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
		*ehi = keys_find(&a->eh, u->ehk, n, fnv1a(u->ehk, n));
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
	if (pki < 0) {
		if (keys_insert(&a->pk, u->key, u->keylen,
		    fnv1a(u->key, u->keylen)) < 0)
			return -1;
		put_field(&a->pkt, 0x0A, u->key, u->keylen);
		pk = a->pk.n - 1;
	} else {
		pk = (uint64_t)pki;
	}
	if (u->ehk) {
		if (ehi < 0) {
			if (keys_insert(&a->eh, u->ehk, ehn,
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

	u->next = NULL;
	if (a->last)
		a->last->next = u;
	else
		a->first = u;
	a->last = u;
	if (!a->n++)
		a->first_us = now_us;
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
		memcpy(buf + 4 + a->pkt.len, a->eht.p, a->eht.len);
		memcpy(buf + 4 + a->pkt.len + a->eht.len, a->recs.p,
		    a->recs.len);
		md5(buf + 4, pblen, (unsigned char *)buf + 4 + pblen);
		k->agg = k->data = buf;
		k->len = total;
		k->key = "a";
		k->keylen = 1;
		k->users = a->first;
		k->nusers = a->n;
		k->hash = a->first->hash;
		/* the KPL puts an aggregate at its first record's hash key */
		if (a->first->ehk)
			snprintf(buf + total, 48, "%s", a->first->ehk);
		else
			kw_u128_format(a->first->hash, buf + total, 48);
		k->ehk = buf + total;
		k->deadline_us = 0;
		for (u = a->first; u; u = u->next) {
			k->ucost += urec_cost(u);
			if (u->deadline_us && (!k->deadline_us ||
			    u->deadline_us < k->deadline_us))
				k->deadline_us = u->deadline_us;
		}
	}
	a->first = a->last = NULL;
	a->n = 0;
	a->pkt.len = a->eht.len = a->recs.len = 0;
	keys_clear(&a->pk);
	keys_clear(&a->eh);
	return k;
}
