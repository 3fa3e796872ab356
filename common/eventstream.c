/* eventstream.c — the AWS event-stream framing, decoded from byte chunks of
 * any size: a prelude is checked (its CRC, then the lengths) as soon as its
 * 12 bytes are in, so a corrupt or absurd length is refused at once instead
 * of waiting for megabytes that will never come. */
#include "eventstream.h"
#include "err.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void
crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

uint32_t
kin_crc32(uint32_t crc, const void *p, size_t n)
{
	const unsigned char *s = p;

	pthread_once(&crc_once, crc_init);
	crc = ~crc;
	while (n-- > 0)
		crc = crc_table[(crc ^ *s++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static uint64_t
be64(const unsigned char *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

void
kin_es_init(struct kin_es *d, size_t max)
{
	memset(d, 0, sizeof *d);
	if (max == 0)
		max = KIN_ES_DEFAULT_MAX;
	if (max < KIN_ES_MIN_MESSAGE)
		max = KIN_ES_MIN_MESSAGE;
	d->max = max;
	/* one message plus the start of the next one fed with it */
	kin_buf_init(&d->in, max * 2);
}

void
kin_es_release(struct kin_es *d)
{
	kin_buf_release(&d->in);
	free(d->h);
	memset(d, 0, sizeof *d);
}

void
kin_es_reset(struct kin_es *d)
{
	kin_buf_reset(&d->in);
	d->used = 0;
	d->broken = 0;
	d->why[0] = '\0';
	d->messages = 0;
}

/* Drop the message handed out last. */
static void
compact(struct kin_es *d)
{
	if (d->used == 0)
		return;
	if (d->used < d->in.len)
		memmove(d->in.p, d->in.p + d->used, d->in.len - d->used);
	d->in.len -= d->used;
	d->used = 0;
}

static int
broken(struct kin_es *d, char *err)
{
	return kin_seterr(err, "%s", d->why);
}

static int
fail(struct kin_es *d, char *err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
fail(struct kin_es *d, char *err, const char *fmt, ...)
{
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	snprintf(d->why, sizeof d->why, "event stream: message %llu: %s",
	    d->messages + 1, what);
	d->broken = 1;
	return broken(d, err);
}

int
kin_es_feed(struct kin_es *d, const void *p, size_t n, char *err)
{
	char e2[KIN_ERRLEN];

	if (d->broken)
		return broken(d, err);
	compact(d);
	if (n == 0)
		return 0;
	if (kin_buf_add(&d->in, p, n, e2) < 0)
		return kin_seterr(err, "event stream: %zu bytes buffered, over "
		    "twice the ceiling of %zu bytes a message", d->in.len + n,
		    d->max);
	return 0;
}

size_t
kin_es_pending(const struct kin_es *d)
{
	return d->in.len - d->used;
}

static int
parse_headers(struct kin_es *d, const unsigned char *p, size_t n,
    size_t *nh, char *err)
{
	size_t i = 0, k = 0;

	while (i < n) {
		struct kin_es_header h;
		size_t need;

		memset(&h, 0, sizeof h);
		h.name_len = p[i++];
		if (h.name_len == 0)
			return fail(d, err, "header %zu has an empty name", k);
		if (h.name_len + 1 > n - i)
			return fail(d, err, "header %zu runs past the headers",
			    k);
		h.name = (const char *)p + i;
		i += h.name_len;
		h.type = (enum kin_es_type)p[i++];
		switch (h.type) {
		case KIN_ES_TRUE:
		case KIN_ES_FALSE:
			need = 0;
			break;
		case KIN_ES_BYTE:
			need = 1;
			break;
		case KIN_ES_SHORT:
			need = 2;
			break;
		case KIN_ES_INT:
			need = 4;
			break;
		case KIN_ES_LONG:
		case KIN_ES_TIMESTAMP:
			need = 8;
			break;
		case KIN_ES_BYTES:
		case KIN_ES_STRING:
			if (n - i < 2)
				return fail(d, err, "header '%.*s' runs past "
				    "the headers", (int)h.name_len, h.name);
			h.len = (size_t)p[i] << 8 | p[i + 1];
			i += 2;
			need = h.len;
			break;
		case KIN_ES_UUID:
			need = 16;
			h.len = 16;
			break;
		default:
			return fail(d, err, "header '%.*s' has unknown type %u",
			    (int)h.name_len, h.name, (unsigned)h.type);
		}
		if (need > n - i)
			return fail(d, err, "header '%.*s' runs past the headers",
			    (int)h.name_len, h.name);
		switch (h.type) {
		case KIN_ES_TRUE:
			h.num = 1;
			break;
		case KIN_ES_FALSE:
			h.num = 0;
			break;
		case KIN_ES_BYTE:
			h.num = (int8_t)p[i];
			break;
		case KIN_ES_SHORT:
			h.num = (int16_t)(uint16_t)((unsigned)p[i] << 8 | p[i + 1]);
			break;
		case KIN_ES_INT:
			h.num = (int32_t)be32(p + i);
			break;
		case KIN_ES_LONG:
		case KIN_ES_TIMESTAMP:
			h.num = (int64_t)be64(p + i);
			break;
		default:
			h.val = p + i;
			break;
		}
		i += need;
		if (k == d->hcap) {
			size_t nc = d->hcap ? d->hcap * 2 : 8;
			struct kin_es_header *nv = realloc(d->h, nc * sizeof *nv);
			if (nv == NULL)
				return kin_seterr(err, "event stream: out of "
				    "memory");
			d->h = nv;
			d->hcap = nc;
		}
		d->h[k++] = h;
	}
	*nh = k;
	return 0;
}

int
kin_es_next(struct kin_es *d, struct kin_es_msg *m, char *err)
{
	const unsigned char *p;
	uint32_t total, hlen, crc, want;
	size_t nh = 0;

	if (d->broken)
		return broken(d, err);
	compact(d);
	if (d->in.len < KIN_ES_PRELUDE)
		return 0;
	p = (const unsigned char *)d->in.p;
	total = be32(p);
	hlen = be32(p + 4);
	want = be32(p + 8);
	if ((crc = kin_crc32(0, p, 8)) != want)
		return fail(d, err, "prelude CRC 0x%08x does not match "
		    "0x%08x", crc, want);
	if (total < KIN_ES_MIN_MESSAGE)
		return fail(d, err, "total length %u is below the minimum "
		    "of %d", total, KIN_ES_MIN_MESSAGE);
	if (total > d->max)
		return fail(d, err, "total length %u is over the ceiling of "
		    "%zu", total, d->max);
	if (hlen > total - KIN_ES_MIN_MESSAGE || hlen > KIN_ES_MAX_HEADERS_BYTES)
		return fail(d, err, "headers length %u does not fit in total "
		    "length %u", hlen, total);
	if (d->in.len < total) {
		/* room for the rest at once, not by doubling into it */
		(void)kin_buf_reserve(&d->in, total - d->in.len, NULL);
		return 0;
	}
	want = be32(p + total - 4);
	if ((crc = kin_crc32(0, p, total - 4)) != want)
		return fail(d, err, "message CRC 0x%08x does not match 0x%08x",
		    crc, want);
	if (parse_headers(d, p + KIN_ES_PRELUDE, hlen, &nh, err) < 0)
		return -1;
	m->h = d->h;
	m->nh = nh;
	m->payload = p + KIN_ES_PRELUDE + hlen;
	m->len = total - hlen - KIN_ES_MIN_MESSAGE;
	m->total = total;
	d->used = total;
	d->messages++;
	return 1;
}

const struct kin_es_header *
kin_es_find(const struct kin_es_msg *m, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < m->nh; i++)
		if (m->h[i].name_len == n && memcmp(m->h[i].name, name, n) == 0)
			return &m->h[i];
	return NULL;
}

int
kin_es_is(const struct kin_es_msg *m, const char *name, const char *s)
{
	const struct kin_es_header *h = kin_es_find(m, name);
	size_t n = strlen(s);

	return h != NULL && (h->type == KIN_ES_STRING ||
	    h->type == KIN_ES_BYTES) && h->len == n &&
	    memcmp(h->val, s, n) == 0;
}

const char *
kin_es_str(const struct kin_es_msg *m, const char *name, char *out, size_t n)
{
	const struct kin_es_header *h = kin_es_find(m, name);
	size_t k = 0;

	if (n == 0)
		return out;
	if (h != NULL && (h->type == KIN_ES_STRING || h->type == KIN_ES_BYTES)) {
		k = h->len < n - 1 ? h->len : n - 1;
		memcpy(out, h->val, k);
	}
	out[k] = '\0';
	return out;
}
