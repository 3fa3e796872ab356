/* rec.c — user records and Kinesis records: allocation and release.
 * Records are many, small and short-lived, freed hundreds at a time when a
 * reply comes: they come from free lists of a few block sizes, which cost
 * a fraction of malloc/free under that pattern. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kw.h"
#include "parse.h"

static int64_t g_now;

void kw_tick(void)
{
	g_now = kin_now_mono_us();
}

int64_t kw_now(void)
{
	return g_now ? g_now : kin_now_mono_us();
}

/* block sizes: a trade line's record takes 300-odd bytes */
static const size_t class_size[] = { 256, 320, 384, 448, 512, 768, 1024,
    2048, 4096 };
#define KW_CLASSES ((int)(sizeof(class_size) / sizeof(class_size[0])))
#define KW_ARENA (64 * 1024)

/* Free blocks of each class: a stack of pointers, so taking one reads a
 * dense array, not the block itself (which has usually left the cache
 * since its record was acknowledged); a linked list of the blocks holds
 * the rest when the stack cannot grow. */
struct block {
	struct block *next;
};
static struct freestack {
	void **p;
	size_t n, cap;
	struct block *list;
} freestack[KW_CLASSES];

static int size_class(size_t n)
{
	int c;

	for (c = 0; c < KW_CLASSES; c++)
		if (n <= class_size[c])
			return c;
	return -1;
}

static void block_put(int c, void *p)
{
	struct freestack *f = &freestack[c];

	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 1024;
		void **np = realloc(f->p, cap * sizeof(*np));
		if (!np) {
			struct block *b = p;
			b->next = f->list;
			f->list = b;
			return;
		}
		f->p = np;
		f->cap = cap;
	}
	f->p[f->n++] = p;
}

static void *block_get(int c)
{
	struct freestack *f = &freestack[c];
	size_t bs = class_size[c], i;
	char *arena;
	struct block *b;

	if (f->n) {
		/* the block after the next one will be written soon: ask
		 * for its lines now (it left the cache long ago) */
		if (f->n > 2) {
			const char *a = f->p[f->n - 3];
			for (i = 0; i < bs && i < 384; i += 64)
				__builtin_prefetch(a + i, 1);
		}
		return f->p[--f->n];
	}
	if (f->list) {
		b = f->list;
		f->list = b->next;
		return b;
	}
	/* on a cache line, as every class size is a multiple of one */
	if (!(arena = aligned_alloc(64, KW_ARENA)))
		return NULL;
	/* stacked so that blocks are handed out in address order */
	for (i = (KW_ARENA / bs) * bs; i >= bs; i -= bs)
		block_put(c, arena + i - bs);
	return block_get(c);
}

struct urec *urec_new(const char *key, size_t keylen, const char *ehk,
    const void *data, size_t len)
{
	size_t ehklen = ehk ? strlen(ehk) + 1 : 0;
	size_t need = sizeof(struct urec) + keylen + 1 + ehklen + len + 1;
	int c = size_class(need);
	struct urec *u = c >= 0 ? block_get(c) : malloc(need);
	char *p;

	if (!u)
		return NULL;
	memset(u, 0, sizeof(*u));
	u->cls = c;
	p = (char *)(u + 1);
	u->key = p;
	memcpy(p, key, keylen);
	p[keylen] = '\0';
	u->keylen = keylen;
	p += keylen + 1;
	if (ehk) {
		u->ehk = p;
		memcpy(p, ehk, ehklen);
		p += ehklen;
	}
	u->data = p;
	if (len)
		memcpy(p, data, len);
	p[len] = '\0';
	u->len = len;
	return u;
}

void urec_free(struct urec *u)
{
	if (u->cls >= 0)
		block_put(u->cls, u);
	else
		free(u);
}

struct krec *krec_lone(struct urec *u)
{
	struct krec *k = &u->lone;

	memset(k, 0, sizeof(*k));
	u->next = NULL;
	k->embedded = 1;
	k->cls = (int16_t)u->cls;
	k->users = u;
	k->nusers = 1;
	k->data = u->data;
	k->len = u->len;
	k->key = u->key;
	k->keylen = u->keylen;
	k->ehk = u->ehk;
	k->hash = u->hash;
	k->deadline_us = u->deadline_us;
	k->ucost = urec_cost(u);
	k->epoch = u->epoch;
	return k;
}

void krec_set_err(struct krec *k, const char *code, const char *msg)
{
	size_t c = strlen(code), m = strlen(msg);
	char *e = malloc(c + m + 2);

	if (!e)
		return;   /* the message is only for the dead-letter line */
	memcpy(e, code, c + 1);
	memcpy(e + c + 1, msg, m + 1);
	free(k->err);
	k->err = e;
}

const char *krec_code(const struct krec *k)
{
	return k->err ? k->err : "";
}

const char *krec_msg(const struct krec *k)
{
	return k->err ? k->err + strlen(k->err) + 1 : "";
}

void krec_free(struct krec *k)
{
	struct urec *u, *next;
	int embedded;

	if (!k)
		return;
	if (k->embedded) {
		/* the common case, from the krec's first line alone: a lone
		 * record has no aggregate bytes and no list */
		u = k->users;
		free(k->err);
		if (k->cls >= 0)
			block_put(k->cls, u);
		else
			free(u);
		return;
	}
	embedded = k->embedded;
	free(k->err);
	free(k->agg);
	free(k->lines);
	free(k->srcs);
	k->err = NULL;
	for (u = k->users; u; u = next) {
		next = u->next;
		urec_free(u);   /* frees k too when it is embedded */
	}
	if (!embedded)
		free(k);
}
