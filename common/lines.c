/* lines.c — buffered record reader over read(2): big reads, memchr for the
 * delimiter, a ceiling on one record, and distinct outcomes for a record,
 * end of input, an error, a record too long and "no whole record yet". */
#include "lines.h"
#include "err.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LINES_CHUNK (256 * 1024)

void
kin_lines_init(struct kin_lines *l, int fd, int delim, size_t max)
{
	memset(l, 0, sizeof *l);
	l->fd = fd;
	l->delim = delim;
	l->max = max;
}

void
kin_lines_release(struct kin_lines *l)
{
	free(l->buf);
	l->buf = NULL;
	l->cap = l->start = l->end = l->scan = 0;
}

size_t
kin_lines_pending(const struct kin_lines *l)
{
	return l->end - l->start;
}

/* Largest buffer this reader may need: one record and its delimiter. */
static size_t
cap_limit(const struct kin_lines *l)
{
	size_t lim = l->max < SIZE_MAX / 2 ? l->max + 1 : SIZE_MAX / 2;

	return lim < LINES_CHUNK ? LINES_CHUNK : lim;
}

/* Room to read into: move the unread bytes to the front when the tail is
 * short, grow when the buffer is full of one unfinished record. */
static int
make_room(struct kin_lines *l, char *err)
{
	size_t ncap;
	char *nb;

	if (l->buf == NULL) {
		l->buf = malloc(LINES_CHUNK);
		if (l->buf == NULL)
			return kin_seterr(err, "cannot read input: out of memory");
		l->cap = LINES_CHUNK;
	}
	if (l->start > 0 && l->cap - l->end < l->cap / 4) {
		memmove(l->buf, l->buf + l->start, l->end - l->start);
		l->end -= l->start;
		l->start = 0;
	}
	if (l->end < l->cap)
		return 0;
	ncap = l->cap > cap_limit(l) / 2 ? cap_limit(l) : l->cap * 2;
	if (ncap <= l->cap)
		return kin_seterr(err, "cannot read input: record buffer "
		    "full at %zu bytes", l->cap);
	nb = realloc(l->buf, ncap);
	if (nb == NULL)
		return kin_seterr(err, "cannot read input: out of memory for "
		    "%zu bytes", ncap);
	l->buf = nb;
	l->cap = ncap;
	return 0;
}

int
kin_lines_next(struct kin_lines *l, const char **rec, size_t *len, char *err)
{
	for (;;) {
		char *p;
		ssize_t r;

		if (l->skipping) {
			p = memchr(l->buf + l->start, l->delim,
			    l->end - l->start);
			if (p != NULL) {
				l->start = (size_t)(p - l->buf) + 1;
				l->scan = 0;
				l->skipping = 0;
				l->had_delim = 1;
				l->lineno++;
				return KIN_LINE_TOOLONG;
			}
			l->start = l->end = 0;
		} else if (l->end - l->start > l->scan) {
			p = memchr(l->buf + l->start + l->scan, l->delim,
			    l->end - l->start - l->scan);
			if (p != NULL) {
				size_t n = (size_t)(p - (l->buf + l->start));

				*rec = l->buf + l->start;
				*len = n;
				l->start += n + 1;
				l->scan = 0;
				l->had_delim = 1;
				l->lineno++;
				return n > l->max ? KIN_LINE_TOOLONG :
				    KIN_LINE_OK;
			}
			l->scan = l->end - l->start;
			if (l->scan > l->max) {
				/* no delimiter within max bytes: drop what we
				 * have and skip to the record's end */
				l->skipping = 1;
				l->start = l->end = l->scan = 0;
			}
		}
		if (l->eof) {
			if (l->skipping) {
				l->skipping = 0;
				l->had_delim = 0;
				l->lineno++;
				return KIN_LINE_TOOLONG;
			}
			if (l->end > l->start) {
				*rec = l->buf + l->start;
				*len = l->end - l->start;
				l->start = l->end;
				l->scan = 0;
				l->had_delim = 0;
				l->lineno++;
				return KIN_LINE_OK;
			}
			return KIN_LINE_EOF;
		}
		if (make_room(l, err) < 0)
			return KIN_LINE_ERR;
		do
			r = read(l->fd, l->buf + l->end, l->cap - l->end);
		while (r < 0 && errno == EINTR);
		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return KIN_LINE_AGAIN;
			kin_seterrno(err, errno, "cannot read input");
			return KIN_LINE_ERR;
		}
		if (r == 0)
			l->eof = 1;
		else
			l->end += (size_t)r;
	}
}
