/* out.c — output lines (raw data, the -J envelope of DESIGN.md section 1,
 * or a -f format in the manner of kcat's) and the single writer that puts
 * whole batches of lines on stdout under one lock. */
#include "out.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base64.h"
#include "control.h"
#include "err.h"
#include "json.h"
#include "parse.h"

#define RS 0x1e

void
out_fmt_init(struct out_fmt *f)
{
	memset(f, 0, sizeof *f);
}

void
out_fmt_release(struct out_fmt *f)
{
	free(f->ops);
	free(f->lit);
	memset(f, 0, sizeof *f);
}

static int
fmt_push(struct out_fmt *f, enum fmt_kind k, size_t off, size_t len)
{
	struct fmt_op *n;

	/* adjacent literals merge into one piece */
	if (k == F_LIT && f->n > 0 && f->ops[f->n - 1].kind == F_LIT &&
	    f->ops[f->n - 1].off + f->ops[f->n - 1].len == off) {
		f->ops[f->n - 1].len += len;
		return 0;
	}
	n = realloc(f->ops, (f->n + 1) * sizeof *n);
	if (n == NULL)
		return -1;
	f->ops = n;
	f->ops[f->n].kind = k;
	f->ops[f->n].off = off;
	f->ops[f->n].len = len;
	f->n++;
	return 0;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
out_fmt_parse(struct out_fmt *f, const char *s, char *err)
{
	size_t slen = strlen(s);

	out_fmt_release(f);
	f->lit = malloc(slen + 1);
	if (f->lit == NULL)
		return kin_seterr(err, "format: out of memory");
	for (size_t i = 0; i < slen; i++) {
		enum fmt_kind k;
		char c = s[i];

		if (c == '%') {
			if (i + 1 >= slen)
				return kin_seterr(err,
				    "format '%s': '%%' at the end", s);
			switch (s[++i]) {
			case 'd': k = F_DATA; break;
			case 'k': k = F_KEY; break;
			case 's': k = F_SEQ; break;
			case 'S': k = F_SHARD; break;
			case 'T': k = F_TS_MS; break;
			case 't': k = F_TS_RFC; break;
			case 'n': k = F_SUB; break;
			case '%':
				k = F_LIT;
				break;
			default:
				return kin_seterr(err,
				    "format '%s': unknown field '%%%c'", s, s[i]);
			}
			if (k != F_LIT) {
				if (fmt_push(f, k, 0, 0) < 0)
					return kin_seterr(err, "format: out of memory");
				continue;
			}
		} else if (c == '\\') {
			if (i + 1 >= slen)
				return kin_seterr(err,
				    "format '%s': '\\' at the end", s);
			switch (s[++i]) {
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case '\\': c = '\\'; break;
			case 'x': {
				int h = i + 1 < slen ? hexval(s[i + 1]) : -1;
				int l = i + 2 < slen ? hexval(s[i + 2]) : -1;
				if (h < 0 || l < 0)
					return kin_seterr(err,
					    "format '%s': '\\x' needs two hex digits",
					    s);
				c = (char)(h * 16 + l);
				i += 2;
				break;
			}
			default:
				return kin_seterr(err,
				    "format '%s': unknown escape '\\%c'", s, s[i]);
			}
		}
		if (f->litlen == 0 && f->n == 0 && c == RS)
			f->lit_rs = 1;
		f->lit[f->litlen] = c;
		if (fmt_push(f, F_LIT, f->litlen, 1) < 0)
			return kin_seterr(err, "format: out of memory");
		f->litlen++;
	}
	return 0;
}

static int
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Data goes into the envelope as itself only when that keeps its bytes and
 * the line whole: one JSON value, no blanks around it, no line breaks in it.
 * Anything else is a JSON string (or base64), which kin-write -J turns back
 * into the same bytes.  A JSON string literal is not embedded: kin-write
 * reads a string "data" as the record's text, so "abc" would lose its
 * quotes; it goes out as the string of its text instead. */
static int
embeddable(const char *p, size_t n)
{
	if (n == 0 || is_blank(p[0]) || is_blank(p[n - 1]) || p[0] == '"')
		return 0;
	if (memchr(p, '\n', n) != NULL || memchr(p, '\r', n) != NULL)
		return 0;
	return kin_json_is_value(p, n) && kin_utf8_valid(p, n);
}

static int
put_json(const struct out_cfg *c, const struct out_rec *r, struct kin_buf *b,
    char *err)
{
	if (kin_buf_adds(b, "{\"stream\":", err) < 0 ||
	    kin_json_put_str(b, c->stream, strlen(c->stream), err) < 0 ||
	    kin_buf_adds(b, ",\"shard\":", err) < 0 ||
	    kin_json_put_str(b, r->shard, strlen(r->shard), err) < 0 ||
	    kin_buf_printf(b, err, ",\"seq\":\"%s\",\"sub\":%ld,\"key\":",
	    r->seq, r->sub) < 0 ||
	    kin_json_put_str(b, r->key, r->keylen, err) < 0 ||
	    kin_buf_printf(b, err, ",\"ts\":%" PRId64, r->arrival_ms) < 0)
		return -1;
	if (embeddable(r->data, r->len)) {
		if (kin_buf_adds(b, ",\"data\":", err) < 0 ||
		    kin_buf_add(b, r->data, r->len, err) < 0)
			return -1;
	} else if (kin_utf8_valid(r->data, r->len)) {
		if (kin_buf_adds(b, ",\"data\":", err) < 0 ||
		    kin_json_put_str(b, r->data, r->len, err) < 0)
			return -1;
	} else {
		if (kin_buf_adds(b, ",\"data_b64\":\"", err) < 0 ||
		    kin_b64_encode(b, r->data, r->len, err) < 0 ||
		    kin_buf_addc(b, '"', err) < 0)
			return -1;
	}
	return kin_buf_add(b, "}\n", 2, err);
}

static int
put_format(const struct out_fmt *f, const struct out_rec *r,
    struct kin_buf *b, char *err)
{
	char tmp[64];
	size_t n;

	for (size_t i = 0; i < f->n; i++) {
		const struct fmt_op *op = &f->ops[i];
		int rc = 0;

		switch (op->kind) {
		case F_LIT:
			rc = kin_buf_add(b, f->lit + op->off, op->len, err);
			break;
		case F_DATA:
			if (memchr(r->data, '\n', r->len) != NULL)
				return OUT_UNSAFE_NL;
			rc = kin_buf_add(b, r->data, r->len, err);
			break;
		case F_KEY:
			if (memchr(r->key, '\n', r->keylen) != NULL)
				return OUT_UNSAFE_NL;
			rc = kin_buf_add(b, r->key, r->keylen, err);
			break;
		case F_SEQ:
			rc = kin_buf_adds(b, r->seq, err);
			break;
		case F_SHARD:
			rc = kin_buf_adds(b, r->shard, err);
			break;
		case F_TS_MS:
			rc = kin_buf_printf(b, err, "%" PRId64, r->arrival_ms);
			break;
		case F_TS_RFC:
			n = kin_format_time_ms(tmp, sizeof tmp,
			    r->arrival_ms * 1000);
			rc = kin_buf_add(b, tmp, n, err);
			break;
		case F_SUB:
			rc = kin_buf_printf(b, err, "%ld", r->sub);
			break;
		}
		if (rc < 0)
			return -1;
	}
	return 0;
}

int
out_line(const struct out_cfg *c, const struct out_rec *r, struct kin_buf *b,
    char *err)
{
	size_t start = b->len;
	int rc;

	switch (c->mode) {
	case OUT_RAW:
		if (r->len > 0 && r->data[0] == RS)
			return OUT_UNSAFE_RS;
		if (memchr(r->data, '\n', r->len) != NULL)
			return OUT_UNSAFE_NL;
		if (kin_buf_reserve(b, r->len + 1, err) < 0)
			return -1;
		memcpy(b->p + b->len, r->data, r->len);
		b->len += r->len;
		b->p[b->len++] = '\n';
		b->p[b->len] = '\0';
		return 0;
	case OUT_JSON:
		rc = put_json(c, r, b, err);
		break;
	case OUT_FORMAT:
		rc = put_format(&c->fmt, r, b, err);
		if (rc == 0 && b->len > start && b->p[start] == RS &&
		    !c->fmt.lit_rs)
			rc = OUT_UNSAFE_RS;
		break;
	default:
		rc = kin_seterr(err, "output: unknown mode");
		break;
	}
	if (rc != 0) {
		b->len = start;
		if (b->p != NULL)
			b->p[start] = '\0';
	}
	return rc;
}

const char *
out_unsafe_why(int rc)
{
	if (rc == OUT_UNSAFE_RS)
		return "it begins with the byte 0x1E that marks control lines";
	return "it holds a newline";
}

void
writer_init(struct writer *w, int fd, long long limit)
{
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->turn, NULL);
	w->next = 0;
	w->serving = 0;
	w->fd = fd;
	w->limit = limit;
	w->count = 0;
	w->bytes = 0;
	w->err = 0;
}

void
writer_release(struct writer *w)
{
	pthread_cond_destroy(&w->turn);
	pthread_mutex_destroy(&w->lock);
}

/* Hold the writer, after every writer that arrived before: the ticket is
 * taken before the lock, so a thread that barges into the mutex still
 * waits its turn (a ticket lock, FIFO). */
static void
writer_enter(struct writer *w)
{
	unsigned long t = __atomic_fetch_add(&w->next, 1, __ATOMIC_RELAXED);

	pthread_mutex_lock(&w->lock);
	while (w->serving != t)
		pthread_cond_wait(&w->turn, &w->lock);
}

static void
writer_leave(struct writer *w)
{
	w->serving++;
	pthread_cond_broadcast(&w->turn);
	pthread_mutex_unlock(&w->lock);
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, p, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

long
writer_put_gated(struct writer *w, const char *p, const size_t *ends,
    size_t n, int (*gate)(const void *g), const void *g,
    void (*done)(void *ctx, long written), void *ctx, int *cut)
{
	size_t k = 0;

	if (cut != NULL)
		*cut = 0;
	writer_enter(w);
	if (w->err != 0) {
		writer_leave(w);
		return -1;
	}
	if (gate != NULL && !gate(g)) {
		writer_leave(w);
		return WRITER_REFUSED;
	}
	if (w->limit >= 0 && (long long)n > w->limit - w->count)
		n = (size_t)(w->limit - w->count);
	/* With a gate, whole records in pieces of about WRITER_PIECE bytes,
	 * the gate asked again before each: a stdout that blocks carries a
	 * shard's lines past the end of its lease by one piece at most. */
	while (k < n) {
		size_t base = k > 0 ? ends[k - 1] : 0, j = k + 1;
		int e;

		if (gate == NULL)
			j = n;
		else
			while (j < n && ends[j] - base <= WRITER_PIECE)
				j++;
		if (k > 0 && !gate(g)) {
			if (cut != NULL)
				*cut = 1;
			break;
		}
		if ((e = write_all(w->fd, p + base, ends[j - 1] - base)) != 0) {
			w->err = e;
			writer_leave(w);
			return -1;
		}
		/* read without the lock (writer_full, writer_stats) */
		__atomic_store_n(&w->count, w->count + (long long)(j - k),
		    __ATOMIC_RELAXED);
		__atomic_store_n(&w->bytes, w->bytes + (ends[j - 1] - base),
		    __ATOMIC_RELAXED);
		k = j;
	}
	if (k > 0 && done != NULL)
		done(ctx, (long)k);
	writer_leave(w);
	return (long)k;
}

long
writer_put_cb(struct writer *w, const char *p, const size_t *ends, size_t n,
    void (*done)(void *ctx, long written), void *ctx)
{
	return writer_put_gated(w, p, ends, n, NULL, NULL, done, ctx, NULL);
}

long
writer_put(struct writer *w, const char *p, const size_t *ends, size_t n)
{
	return writer_put_cb(w, p, ends, n, NULL, NULL);
}

int
writer_control(struct writer *w, struct kin_buf *b,
    int (*make)(void *ctx, struct kin_buf *b, char *err), void *ctx,
    char *err)
{
	int e;

	writer_enter(w);
	if (w->err != 0) {
		e = w->err;
		writer_leave(w);
		return kin_seterrno(err, e, "cannot write to stdout");
	}
	kin_buf_reset(b);
	if (make(ctx, b, err) < 0) {
		writer_leave(w);
		return -1;
	}
	if ((e = write_all(w->fd, b->p, b->len)) != 0) {
		w->err = e;
		writer_leave(w);
		return kin_seterrno(err, e, "cannot write to stdout");
	}
	writer_leave(w);
	return 0;
}

/* Neither takes the lock: it is held across a write(2) that may block on
 * a slow stdout, and a worker that waited here for its sibling's whole
 * write could not read its next page meanwhile (the two then raced for
 * each turn, and the turns of a shard went in runs). */
void
writer_stats(struct writer *w, long long *count, uint64_t *bytes)
{
	*count = __atomic_load_n(&w->count, __ATOMIC_RELAXED);
	*bytes = __atomic_load_n(&w->bytes, __ATOMIC_RELAXED);
}

int
writer_full(struct writer *w)
{
	return w->limit >= 0 &&
	    __atomic_load_n(&w->count, __ATOMIC_RELAXED) >= w->limit;
}

static int
make_end(void *ctx, struct kin_buf *b, char *err)
{
	(void)ctx;
	return kin_ctl_put_end(b, err);
}

int
out_end(struct writer *w, int barrier_mode, char *err)
{
	struct kin_buf b;
	int rc;

	if (!barrier_mode)
		return 0;
	kin_buf_init(&b, 256);
	rc = writer_control(w, &b, make_end, NULL, err);
	kin_buf_release(&b);
	return rc;
}
