/* out.c — one output line per window and key: a JSON object by default,
 * or a text template (-f) that can reproduce the Flink job's line, with
 * Java's Double.toString for numbers; -J wraps each in kin-write's
 * envelope so a trailing newline inside a record survives the pipe. */
#include "kw.h"
#include "json.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OUT_FLUSH (1 << 16)

int
emit_init(struct emitter *e, const struct aggs *g, int fd, char *err)
{
	(void)err;
	memset(e, 0, sizeof *e);
	e->g = g;
	e->fd = fd;
	e->name_key = "key";
	e->name_start = "start";
	e->name_end = "end";
	e->name_count = "count";
	kin_buf_init(&e->out, (size_t)1 << 30);
	kin_buf_init(&e->scratch, (size_t)1 << 30);
	return 0;
}

void
emit_release(struct emitter *e)
{
	for (int i = 0; i < e->ntpl; i++)
		free(e->tpl[i].lit);
	for (int i = 0; i < KW_MAXAGGS + 4; i++)
		free(e->jname[i]);
	free(e->tpl);
	kin_buf_release(&e->out);
	kin_buf_release(&e->scratch);
}

int
emit_flush(struct emitter *e, char *err)
{
	size_t off = 0;

	if (e->failed)
		return kin_seterr(err, "cannot write output: %s",
		    e->epipe ? "broken pipe" : "earlier error");
	while (off < e->out.len) {
		ssize_t n = write(e->fd, e->out.p + off, e->out.len - off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			e->failed = 1;
			e->epipe = errno == EPIPE;
			return kin_seterrno(err, errno, "cannot write output");
		}
		off += (size_t)n;
	}
	kin_buf_reset(&e->out);
	return 0;
}

int
emit_raw(struct emitter *e, const char *p, size_t n, char *err)
{
	if (kin_buf_add(&e->out, p, n, err) < 0)
		return -1;
	return e->out.len >= OUT_FLUSH ? emit_flush(e, err) : 0;
}

size_t
fmt_time(char *dst, size_t n, int64_t ms, const struct kin_tz *tz)
{
	int64_t y, days, secs, rem;
	unsigned mo, d;
	long off = 0;
	int len;

	if (tz == NULL)
		return kin_format_time_ms(dst, n, ms * 1000);
	off = kin_tz_utc_offset(tz, ms * 1000);
	ms += (int64_t)off * 1000;
	secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
	rem = ms - secs * 1000;
	days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
	secs -= days * 86400;
	kin_civil_from_days(days, &y, &mo, &d);
	if (off == 0)
		len = snprintf(dst, n, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ",
		    (long long)y, mo, d, (int)(secs / 3600),
		    (int)(secs / 60 % 60), (int)(secs % 60), (int)rem);
	else
		len = snprintf(dst, n, "%04lld-%02u-%02uT%02d:%02d:%02d.%03d"
		    "%c%02ld:%02ld", (long long)y, mo, d, (int)(secs / 3600),
		    (int)(secs / 60 % 60), (int)(secs % 60), (int)rem,
		    off < 0 ? '-' : '+', labs(off) / 3600, labs(off) / 60 % 60);
	return len < 0 ? 0 : (size_t)len >= n ? n - 1 : (size_t)len;
}

/* ---- keys */

static int
key_field(const char *k, size_t n, int i, const char **p, size_t *len,
    char *type)
{
	size_t o = 0;

	for (;;) {
		uint32_t l;

		if (o + 5 > n)
			return -1;
		memcpy(&l, k + o + 1, 4);
		if (i-- == 0) {
			*type = k[o];
			*p = k + o + 5;
			*len = l;
			return 0;
		}
		o += 5 + l;
	}
}

int
key_json(struct kin_buf *b, const char *k, size_t n, int nfields, char *err)
{
	if (nfields > 1 && kin_buf_addc(b, '[', err) < 0)
		return -1;
	for (int i = 0; i < nfields; i++) {
		const char *p;
		size_t l;
		char t;

		if (key_field(k, n, i, &p, &l, &t) < 0)
			return kin_seterr(err, "bad key");
		if (i && kin_buf_addc(b, ',', err) < 0)
			return -1;
		if (t == 's' ? kin_json_put_str(b, p, l, err) :
		    kin_buf_add(b, p, l, err))
			return -1;
	}
	if (nfields > 1 && kin_buf_addc(b, ']', err) < 0)
		return -1;
	return 0;
}

/* ---- template */

static int
tpl_push(struct emitter *e, struct tpl_part *pt, char *err)
{
	struct tpl_part *np = realloc(e->tpl, (size_t)(e->ntpl + 1) *
	    sizeof *np);

	if (np == NULL)
		return kin_seterr(err, "out of memory");
	e->tpl = np;
	e->tpl[e->ntpl++] = *pt;
	return 0;
}

int
tpl_compile(struct emitter *e, const char *t, char *err)
{
	struct kin_buf lit;
	const char *s = t;

	kin_buf_init(&lit, 1 << 20);
	while (*s) {
		if (*s == '\\' && s[1]) {
			char c = s[1];

			c = c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' :
			    c == '\\' ? '\\' : c == '{' ? '{' : c == '}' ? '}' :
			    c == '0' ? 0 : -1;
			if (c == -1) {
				kin_buf_release(&lit);
				return kin_seterr(err, "bad template: unknown "
				    "escape '\\%c' (use \\n \\t \\r \\\\ \\{ "
				    "\\})", s[1]);
			}
			if (kin_buf_addc(&lit, c, err) < 0)
				goto fail;
			s += 2;
			continue;
		}
		if (*s == '}' && s[1] == '}') {
			if (kin_buf_addc(&lit, '}', err) < 0)
				goto fail;
			s += 2;
			continue;
		}
		if (*s == '{' && s[1] == '{') {
			if (kin_buf_addc(&lit, '{', err) < 0)
				goto fail;
			s += 2;
			continue;
		}
		if (*s != '{') {
			if (kin_buf_addc(&lit, *s++, err) < 0)
				goto fail;
			continue;
		}
		const char *end = strchr(s, '}');
		struct tpl_part pt = { 0 };
		char name[256];
		const char *colon;
		size_t nl;

		if (end == NULL) {
			kin_buf_release(&lit);
			return kin_seterr(err, "bad template: '{' without '}'");
		}
		if (lit.len) {
			pt.k = TP_LIT;
			pt.lit = kin_buf_detach(&lit, &pt.litlen);
			if (tpl_push(e, &pt, err) < 0)
				goto fail;
			memset(&pt, 0, sizeof pt);
		}
		colon = memchr(s + 1, ':', (size_t)(end - s - 1));
		nl = (size_t)((colon ? colon : end) - s - 1);
		if (nl == 0 || nl >= sizeof name) {
			kin_buf_release(&lit);
			return kin_seterr(err, "bad template: empty or long "
			    "name in '%.*s'", (int)(end - s + 1), s);
		}
		memcpy(name, s + 1, nl);
		name[nl] = 0;
		if (colon) {
			size_t ml = (size_t)(end - colon - 1);

			if (ml == 4 && memcmp(colon + 1, "java", 4) == 0)
				pt.mod = TM_JAVA;
			else if (ml == 4 && memcmp(colon + 1, "json", 4) == 0)
				pt.mod = TM_JSON;
			else if (ml == 2 && memcmp(colon + 1, "ms", 2) == 0)
				pt.mod = TM_MS;
			else {
				kin_buf_release(&lit);
				return kin_seterr(err, "bad template: unknown "
				    "format '%.*s' (java, json, ms)", (int)ml,
				    colon + 1);
			}
		}
		pt.k = TP_LIT;
		if (strcmp(name, e->name_key) == 0 || strcmp(name, "key") == 0)
			pt.k = TP_KEY;
		else if (strcmp(name, e->name_start) == 0 ||
		    strcmp(name, "start") == 0)
			pt.k = TP_START;
		else if (strcmp(name, e->name_end) == 0 ||
		    strcmp(name, "end") == 0)
			pt.k = TP_END;
		else if (strcmp(name, e->name_count) == 0 ||
		    strcmp(name, "count") == 0)
			pt.k = TP_COUNT;
		for (int i = 0; pt.k == TP_LIT && i < e->g->n; i++)
			if (strcmp(name, e->g->a[i].name) == 0)
				pt.k = TP_AGG, pt.arg = i;
		for (int i = 0; pt.k == TP_LIT && i < e->nkeyf; i++)
			if (strcmp(name, e->keyname[i]) == 0)
				pt.k = TP_KEYN, pt.arg = i;
		if (pt.k == TP_LIT) {
			kin_buf_release(&lit);
			return kin_seterr(err, "bad template: '{%s}' is not a "
			    "key field, start, end, count or an aggregate "
			    "name", name);
		}
		if (tpl_push(e, &pt, err) < 0)
			goto fail;
		s = end + 1;
	}
	if (lit.len) {
		struct tpl_part pt = { 0 };

		pt.k = TP_LIT;
		pt.lit = kin_buf_detach(&lit, &pt.litlen);
		if (tpl_push(e, &pt, err) < 0)
			goto fail;
	}
	kin_buf_release(&lit);
	if (e->ntpl == 0) {
		struct tpl_part pt = { 0 };

		pt.k = TP_LIT;
		pt.lit = calloc(1, 1);
		return tpl_push(e, &pt, err);
	}
	return 0;
fail:
	kin_buf_release(&lit);
	return -1;
}

/* A raw JSON value as template text: strings unescaped, the rest as is. */
static int
put_raw_text(struct kin_buf *b, const char *p, size_t n, enum tpl_mod mod,
    char *err)
{
	if (mod == TM_JSON)
		return kin_buf_add(b, p, n, err);
	if (mod == TM_JAVA && n && p[0] != '"' && p[0] != '{' && p[0] != '[') {
		struct fval v = { p, (uint32_t)n, FV_NUM, 0, 0, 0 };
		double d;
		char tmp[40];

		if (fval_num(&v, &d) == 0)
			return kin_buf_add(b, tmp, java_double(tmp, d), err);
	}
	if (n >= 2 && p[0] == '"')
		return kin_json_unescape(p + 1, n - 2, b, err);
	return kin_buf_add(b, p, n, err);
}

static int
put_num(struct kin_buf *b, double d, enum tpl_mod mod, char *err)
{
	char tmp[40];
	size_t n;

	if (mod == TM_JAVA)
		return kin_buf_add(b, tmp, java_double(tmp, d), err);
	if ((n = json_num_fast(tmp, d)) > 0)
		return kin_buf_add(b, tmp, n, err);
	return kin_json_put_num(b, d, err);
}

static int
put_outv(struct kin_buf *b, const struct outv *o, enum tpl_mod mod,
    int json, char *err)
{
	switch (o->t) {
	case OV_NULL:
		return kin_buf_adds(b, "null", err);
	case OV_INT:
		return kin_buf_printf(b, err, "%lld", (long long)o->i);
	case OV_NUM:
		return put_num(b, o->d, json ? TM_DEFAULT : mod, err);
	case OV_RAW:
		if (json)
			return o->n ? kin_buf_add(b, o->p, o->n, err) :
			    kin_buf_adds(b, "null", err);
		return put_raw_text(b, o->p, o->n, mod, err);
	}
	return 0;
}

static int
put_key_text(struct emitter *e, struct kin_buf *b, const char *k, size_t kn,
    int field, enum tpl_mod mod, char *err)
{
	for (int i = 0; i < e->nkeyf; i++) {
		const char *p;
		size_t l;
		char t;

		if (field >= 0 && i != field)
			continue;
		if (key_field(k, kn, i, &p, &l, &t) < 0)
			return kin_seterr(err, "bad key");
		if (field < 0 && i > 0 && kin_buf_addc(b, ',', err) < 0)
			return -1;
		if (t == 's' && mod == TM_JSON) {
			if (kin_json_put_str(b, p, l, err) < 0)
				return -1;
		} else if (kin_buf_add(b, p, l, err) < 0) {
			return -1;
		}
	}
	return 0;
}

/* start or end as text, from a cache: every key of a window has the
 * same ones. */
static const char *
time_text(struct emitter *e, int64_t ms, size_t *n)
{
	for (int i = 0; i < 2; i++)
		if (e->tcache_ok[i] && e->tcache_ms[i] == ms) {
			*n = e->tcache_n[i];
			return e->tcache[i];
		}
	int slot = e->tcache_next;

	e->tcache_n[slot] = fmt_time(e->tcache[slot], sizeof e->tcache[slot],
	    ms, e->tz);
	e->tcache_ms[slot] = ms;
	e->tcache_ok[slot] = 1;
	e->tcache_next = !slot;
	*n = e->tcache_n[slot];
	return e->tcache[slot];
}

static int
put_time(struct emitter *e, struct kin_buf *b, int64_t ms, enum tpl_mod mod,
    int quote, char *err)
{
	const char *t;
	size_t n;

	if (mod == TM_MS)
		return kin_buf_printf(b, err, "%lld", (long long)ms);
	t = time_text(e, ms, &n);
	if (quote || mod == TM_JSON)
		return kin_json_put_str(b, t, n, err);
	return kin_buf_add(b, t, n, err);
}

/* ---- the default JSON line, written straight into the buffer: one
 * reservation, then copies; member names are encoded once. */

static int
jname_init(struct emitter *e, char *err)
{
	const char *names[KW_MAXAGGS + 4];
	int n = 0;

	names[n++] = e->name_key;
	names[n++] = e->name_start;
	names[n++] = e->name_end;
	names[n++] = e->name_count;
	for (int i = 0; i < e->g->n; i++)
		names[n++] = e->g->a[i].name;
	for (int i = 0; i < n; i++) {
		struct kin_buf b;

		kin_buf_init(&b, 1 << 16);
		if ((i > 0 && kin_buf_addc(&b, ',', err) < 0) ||
		    kin_json_put_str(&b, names[i], strlen(names[i]), err) < 0 ||
		    kin_buf_addc(&b, ':', err) < 0) {
			kin_buf_release(&b);
			return -1;
		}
		e->jname[i] = kin_buf_detach(&b, &e->jlen[i]);
	}
	return 0;
}

/* 1 if s can go into a JSON string as it is. */
static inline int
json_plain(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80)
			return 0;
	}
	return 1;
}

/* n is evaluated twice: pass a variable or a constant. */
#define PUT(s, n) (memcpy(b->p + b->len, (s), (n)), b->len += (n))

static int
render_json(struct emitter *e, struct kin_buf *b, const char *key, size_t kn,
    int64_t start, int64_t end, uint64_t count, const unsigned char *st,
    char *err)
{
	struct outv ov[KW_MAXAGGS];
	size_t need = 200 + 6 * kn, tn;
	const char *t;
	char num[40];

	if (e->jname[0] == NULL && jname_init(e, err) < 0)
		return -1;
	for (int i = 0; i < 4; i++)
		need += e->jlen[i];
	for (int i = 0; i < e->g->n; i++) {
		agg_value(e->g, i, st, count, &ov[i]);
		need += e->jlen[4 + i] + (ov[i].t == OV_RAW ? ov[i].n : 0) + 40;
	}
	if (kin_buf_reserve(b, need, err) < 0)
		return -1;
	PUT("{", 1);
	if (e->nkeyf > 0) {
		uint32_t l = 0;

		PUT(e->jname[0], e->jlen[0]);
		if (kn >= 5)
			memcpy(&l, key + 1, 4);
		if (e->nkeyf == 1 && kn >= 5 && key[0] == 's' && 5 + l == kn &&
		    json_plain(key + 5, l)) {
			PUT("\"", 1);
			PUT(key + 5, l);
			PUT("\"", 1);
		} else if (key_json(b, key, kn, e->nkeyf, err) < 0 ||
		    kin_buf_reserve(b, need, err) < 0) {
			return -1;
		}
		PUT(",", 1);
		PUT(e->jname[1] + 1, e->jlen[1] - 1);
	} else {
		PUT(e->jname[1] + 1, e->jlen[1] - 1);
	}
	t = time_text(e, start, &tn);
	PUT("\"", 1);
	PUT(t, tn);
	PUT("\"", 1);
	PUT(e->jname[2], e->jlen[2]);
	t = time_text(e, end, &tn);
	PUT("\"", 1);
	PUT(t, tn);
	PUT("\"", 1);
	PUT(e->jname[3], e->jlen[3]);
	tn = kw_u64_str(num, count);
	PUT(num, tn);
	for (int i = 0; i < e->g->n; i++) {
		size_t n;

		if (e->g->a[i].fn == AG_COUNT &&
		    strcmp(e->g->a[i].name, e->name_count) == 0)
			continue;
		PUT(e->jname[4 + i], e->jlen[4 + i]);
		switch (ov[i].t) {
		case OV_NULL:
			PUT("null", 4);
			break;
		case OV_INT:
			if (ov[i].i < 0)
				PUT("-", 1);
			n = kw_u64_str(num, ov[i].i < 0 ?
			    (uint64_t)0 - (uint64_t)ov[i].i : (uint64_t)ov[i].i);
			PUT(num, n);
			break;
		case OV_NUM:
			if ((n = json_num_fast(num, ov[i].d)) > 0)
				PUT(num, n);
			else if (kin_json_put_num(b, ov[i].d, err) < 0)
				return -1;
			break;
		case OV_RAW:
			if (ov[i].n)
				PUT(ov[i].p, ov[i].n);
			else
				PUT("null", 4);
			break;
		}
	}
	PUT("}", 1);
	return 0;
}

#undef PUT

static int
render(struct emitter *e, struct kin_buf *b, const char *key, size_t kn,
    int64_t start, int64_t end, uint64_t count, const unsigned char *st,
    char *err)
{
	struct outv o;
	int rc = 0;

	if (e->tpl == NULL)
		return render_json(e, b, key, kn, start, end, count, st, err);
	for (int i = 0; rc == 0 && i < e->ntpl; i++) {
		const struct tpl_part *pt = &e->tpl[i];

		switch (pt->k) {
		case TP_LIT:
			rc = kin_buf_add(b, pt->lit, pt->litlen, err);
			break;
		case TP_KEY:
			rc = put_key_text(e, b, key, kn, -1, pt->mod, err);
			break;
		case TP_KEYN:
			rc = put_key_text(e, b, key, kn, pt->arg, pt->mod, err);
			break;
		case TP_START:
			rc = put_time(e, b, start, pt->mod, 0, err);
			break;
		case TP_END:
			rc = put_time(e, b, end, pt->mod, 0, err);
			break;
		case TP_COUNT:
			rc = kin_buf_printf(b, err, "%llu",
			    (unsigned long long)count);
			break;
		case TP_AGG:
			agg_value(e->g, pt->arg, st, count, &o);
			if (pt->mod == TM_JSON)
				rc = put_outv(b, &o, TM_JSON, 1, err);
			else
				rc = put_outv(b, &o, pt->mod, 0, err);
			break;
		}
	}
	return rc;
}

int
emit_window(struct emitter *e, const char *key, size_t klen, int64_t start,
    int64_t end, uint64_t count, const unsigned char *st, char *err)
{
	struct kin_buf *b = &e->out;
	int rc;

	e->emitted++;
	if (!e->envelope) {
		size_t before = b->len;

		if (render(e, b, key, klen, start, end, count, st, err) < 0)
			return -1;
		/* A record that already ends in a newline (the Flink job's
		 * "\n") is its own line: no second newline. */
		if (b->len == before || b->p[b->len - 1] != '\n')
			if (kin_buf_addc(b, '\n', err) < 0)
				return -1;
	} else {
		kin_buf_reset(&e->scratch);
		if (render(e, &e->scratch, key, klen, start, end, count, st,
		    err) < 0)
			return -1;
		rc = kin_buf_addc(b, '{', err);
		if (rc == 0 && e->nkeyf > 0) {
			rc = kin_buf_adds(b, "\"key\":", err);
			if (rc == 0 && e->nkeyf == 1 && key[0] == 's') {
				uint32_t l;

				memcpy(&l, key + 1, 4);
				rc = kin_json_put_str(b, key + 5, l, err);
			} else if (rc == 0) {
				struct kin_buf kb;

				kin_buf_init(&kb, KW_LINE_MAX);
				rc = key_json(&kb, key, klen, e->nkeyf, err);
				if (rc == 0)
					rc = kin_json_put_str(b, kb.p ? kb.p : "",
					    kb.len, err);
				kin_buf_release(&kb);
			}
			if (rc == 0)
				rc = kin_buf_addc(b, ',', err);
		}
		if (rc == 0)
			rc = kin_buf_adds(b, "\"data\":", err);
		if (rc == 0)
			rc = e->tpl == NULL ?
			    kin_buf_add(b, e->scratch.p, e->scratch.len, err) :
			    kin_json_put_str(b, e->scratch.p ? e->scratch.p : "",
			    e->scratch.len, err);
		if (rc == 0)
			rc = kin_buf_adds(b, "}\n", err);
		if (rc < 0)
			return -1;
	}
	return b->len >= OUT_FLUSH ? emit_flush(e, err) : 0;
}
