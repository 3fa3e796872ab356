/* keymap.c — group keys to dense ids: open addressing with linear probing
 * and backward-shift deletion, 32 bits of the hash kept in each slot so a
 * probe rarely touches key memory.  Stays flat at millions of keys. */
#include "kw.h"

#include <stdlib.h>
#include <string.h>

static inline uint64_t
mix(uint64_t a, uint64_t b)
{
	__uint128_t r = (__uint128_t)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

uint64_t
kw_hash(const char *p, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ (n * 0xa0761d6478bd642fULL);
	uint64_t v, u;

	/* Up to 16 bytes (most keys): two loads that may overlap, one mix. */
	if (n >= 8 && n <= 16) {
		memcpy(&v, p, 8);
		memcpy(&u, p + n - 8, 8);
		return mix(h ^ v, u ^ 0xe7037ed1a0b428dbULL);
	}
	while (n >= 8) {
		memcpy(&v, p, 8);
		h = mix(h ^ v, 0xe7037ed1a0b428dbULL);
		p += 8;
		n -= 8;
	}
	v = 0;
	memcpy(&v, p, n);
	h = mix(h ^ v ^ ((uint64_t)n << 59), 0x8ebc6af09c88c6e3ULL);
	return mix(h, 0x589965cc75374cc3ULL);
}

void
keymap_init(struct keymap *m)
{
	memset(m, 0, sizeof *m);
}

void
keymap_release(struct keymap *m)
{
	for (uint32_t i = 1; i < m->nk; i++)
		if (m->k[i].len != UINT32_MAX &&
		    m->k[i].len > sizeof m->k[i].b.inl)
			free(m->k[i].b.ptr);
	free(m->k);
	free(m->slot);
	memset(m, 0, sizeof *m);
}

/* A slot holds the key id in its low 32 bits and the hash's high 32 bits
 * above: one cache line tells both, and an empty slot is 0. */
#define SLOT(id, tag) ((uint64_t)(tag) << 32 | (id))
#define SLOT_ID(s) ((uint32_t)(s))
#define SLOT_TAG(s) ((uint32_t)((s) >> 32))

static int
grow_slots(struct keymap *m)
{
	uint32_t ncap = m->mask ? (m->mask + 1) * 2 : 64;
	uint64_t *ns = calloc(ncap, sizeof *ns);

	if (ns == NULL)
		return -1;
	for (uint32_t i = 0; m->slot && i <= m->mask; i++) {
		uint32_t id = SLOT_ID(m->slot[i]), j;

		if (id == 0)
			continue;
		j = (uint32_t)m->k[id].hash & (ncap - 1);
		while (ns[j])
			j = (j + 1) & (ncap - 1);
		ns[j] = m->slot[i];
	}
	free(m->slot);
	m->slot = ns;
	m->mask = ncap - 1;
	return 0;
}

/* Equal bytes; short keys compared with two loads. */
static inline int
key_eq(const char *a, const char *b, size_t n)
{
	if (n >= 8 && n <= 16) {
		uint64_t x0, x1, y0, y1;

		memcpy(&x0, a, 8);
		memcpy(&y0, b, 8);
		memcpy(&x1, a + n - 8, 8);
		memcpy(&y1, b + n - 8, 8);
		return x0 == y0 && x1 == y1;
	}
	return memcmp(a, b, n) == 0;
}

uint32_t
keymap_find(const struct keymap *m, const char *p, size_t n, uint64_t h)
{
	uint32_t j, tag = (uint32_t)(h >> 32);
	uint64_t sl;

	if (m->slot == NULL)
		return 0;
	for (j = (uint32_t)h & m->mask; (sl = m->slot[j]) != 0;
	    j = (j + 1) & m->mask) {
		const struct kkey *k;

		if (SLOT_TAG(sl) != tag)
			continue;
		k = &m->k[SLOT_ID(sl)];
		if (k->len == n && key_eq(kkey_bytes(k), p, n))
			return SLOT_ID(sl);
	}
	return 0;
}

uint32_t
keymap_get(struct keymap *m, const char *p, size_t n, uint64_t h,
    int *created)
{
	uint32_t j, tag = (uint32_t)(h >> 32), id;

	*created = 0;
	if ((id = keymap_find(m, p, n, h)) != 0)
		return id;
	/* Absent: insert, keeping the load under 1/2. */
	if (n > UINT32_MAX - 1)
		return 0;
	if (m->slot == NULL ||
	    (uint64_t)(m->live + 1) * 2 > (uint64_t)m->mask + 1) {
		if (grow_slots(m) < 0)
			return 0;
	}
	if (m->freek) {
		id = m->freek;
		m->freek = m->k[id].head;
	} else {
		if (m->nk == 0)
			m->nk = 1;
		if (m->nk >= m->capk) {
			uint32_t nc = m->capk ? m->capk * 2 : 64;
			struct kkey *nk = realloc(m->k, nc * sizeof *nk);

			if (nk == NULL)
				return 0;
			m->k = nk;
			m->capk = nc;
		}
		id = m->nk++;
	}
	struct kkey *k = &m->k[id];

	memset(k, 0, sizeof *k);
	k->hash = h;
	k->len = (uint32_t)n;
	k->mark = INT64_MIN;
	if (n > sizeof k->b.inl) {
		k->b.ptr = malloc(n);
		if (k->b.ptr == NULL) {
			k->len = UINT32_MAX;
			k->head = m->freek;
			m->freek = id;
			return 0;
		}
		memcpy(k->b.ptr, p, n);
	} else {
		memcpy(k->b.inl, p, n);
	}
	for (j = (uint32_t)h & m->mask; m->slot[j]; j = (j + 1) & m->mask)
		;
	m->slot[j] = SLOT(id, tag);
	m->live++;
	*created = 1;
	return id;
}

void
keymap_del(struct keymap *m, uint32_t id)
{
	struct kkey *k = &m->k[id];
	uint32_t j = (uint32_t)k->hash & m->mask, i;

	while (SLOT_ID(m->slot[j]) != id)
		j = (j + 1) & m->mask;
	/* Backward-shift deletion keeps probe chains unbroken: an entry
	 * after the hole moves into it unless its home lies cyclically in
	 * (hole, entry]. */
	for (i = j;;) {
		uint32_t o, home;

		i = (i + 1) & m->mask;
		o = SLOT_ID(m->slot[i]);
		if (o == 0)
			break;
		home = (uint32_t)m->k[o].hash & m->mask;
		if (j < i ? (home > j && home <= i) : (home > j || home <= i))
			continue;
		m->slot[j] = m->slot[i];
		j = i;
	}
	m->slot[j] = 0;
	if (k->len > sizeof k->b.inl)
		free(k->b.ptr);
	k->len = UINT32_MAX;   /* free */
	k->head = m->freek;
	m->freek = id;
	m->live--;
}

int
key_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	size_t i = 0, j = 0;

	while (i < an && j < bn) {
		uint32_t la, lb;
		int c;

		if (a[i] != b[j])
			return (unsigned char)a[i] < (unsigned char)b[j] ? -1 : 1;
		memcpy(&la, a + i + 1, 4);
		memcpy(&lb, b + j + 1, 4);
		c = memcmp(a + i + 5, b + j + 5, la < lb ? la : lb);
		if (c != 0)
			return c;
		if (la != lb)
			return la < lb ? -1 : 1;
		i += 5 + la;
		j += 5 + lb;
	}
	return (i < an) - (j < bn);
}
