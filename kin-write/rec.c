/* rec.c — user records and Kinesis records: allocation and release. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kw.h"

struct urec *urec_new(const char *key, size_t keylen, const char *ehk,
    const void *data, size_t len)
{
	size_t ehklen = ehk ? strlen(ehk) + 1 : 0;
	struct urec *u = malloc(sizeof(*u) + keylen + 1 + ehklen + len + 1);
	char *p;

	if (!u)
		return NULL;
	memset(u, 0, sizeof(*u));
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
	free(u);
}

struct krec *krec_lone(struct urec *u)
{
	struct krec *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	u->next = NULL;
	k->users = u;
	k->nusers = 1;
	k->data = u->data;
	k->len = u->len;
	k->key = u->key;
	if (u->ehk)
		snprintf(k->ehk, sizeof(k->ehk), "%s", u->ehk);
	k->hash = u->hash;
	k->deadline_us = u->deadline_us;
	return k;
}

void krec_free(struct krec *k)
{
	struct urec *u, *next;

	if (!k)
		return;
	for (u = k->users; u; u = next) {
		next = u->next;
		urec_free(u);
	}
	free(k->agg);
	free(k);
}
