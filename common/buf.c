/* buf.c — growing buffer with a ceiling. */
#include "buf.h"
#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
kin_buf_init(struct kin_buf *b, size_t max)
{
	b->p = NULL;
	b->len = b->cap = 0;
	b->max = max;
}

void
kin_buf_release(struct kin_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

void
kin_buf_reset(struct kin_buf *b)
{
	b->len = 0;
	if (b->p != NULL)
		b->p[0] = '\0';
}

int
kin_buf_reserve(struct kin_buf *b, size_t more, char *err)
{
	size_t need, ncap;
	char *np;

	if (more > b->max || b->len > b->max - more)
		return kin_seterr(err, "buffer: over its limit of %zu bytes", b->max);
	need = b->len + more + 1;
	if (need <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 256;
	while (ncap < need)
		ncap *= 2;
	if (ncap > b->max + 1)
		ncap = b->max + 1;
	np = realloc(b->p, ncap);
	if (np == NULL)
		return kin_seterr(err, "buffer: out of memory for %zu bytes", ncap);
	b->p = np;
	b->cap = ncap;
	return 0;
}

int
kin_buf_add(struct kin_buf *b, const void *p, size_t n, char *err)
{
	if (kin_buf_reserve(b, n, err) < 0)
		return -1;
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

int
kin_buf_addc(struct kin_buf *b, char c, char *err)
{
	return kin_buf_add(b, &c, 1, err);
}

int
kin_buf_adds(struct kin_buf *b, const char *s, char *err)
{
	return kin_buf_add(b, s, strlen(s), err);
}

int
kin_buf_printf(struct kin_buf *b, char *err, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return kin_seterr(err, "buffer: bad format");
	if (kin_buf_reserve(b, (size_t)n, err) < 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

char *
kin_buf_detach(struct kin_buf *b, size_t *len)
{
	char *p = b->p;

	if (len != NULL)
		*len = b->len;
	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}
