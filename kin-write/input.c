/* input.c — lines in, user records out.  A line that cannot become a record
 * (too large, no usable key, a bad -J envelope) comes back as IN_BAD with
 * its line number so the caller can dead-letter it and go on. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base64.h"
#include "err.h"
#include "input.h"
#include "kinesis.h"
#include "parse.h"

/* A line may be longer than a record (a -J envelope escapes or base64s its
 * data); past this we cannot even keep it for the dead-letter file. */
#define KW_LINE_MAX ((size_t)8 << 20)
#define KW_KEY_MAX_CHARS 256   /* PartitionKey: 1 to 256 Unicode chars */

static int open_next(struct input *in, char *err);

static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* Make the text of pool key i (16 hex digits) in in->poolkey[i]. */
static const char *pool_key(struct input *in, uint64_t i)
{
	static const char hex[] = "0123456789abcdef";
	uint64_t v = in->poolseed ^ (i * 0x9E3779B97F4A7C15ull);
	char *t = in->poolkey[i];
	int d;

	for (d = 15; d >= 0; d--, v >>= 4)
		t[d] = hex[v & 15];
	t[16] = '\0';
	return t;
}

int input_init(struct input *in, const struct input_opts *o, char **files,
    int nfiles, char *err)
{
	int i;

	memset(in, 0, sizeof(*in));
	in->o = o;
	in->files = files;
	in->nfiles = nfiles;
	in->fd = -1;
	in->rng = (uint64_t)kin_now_wall_us() ^ ((uint64_t)getpid() << 32) ^
	    0x9E3779B97F4A7C15ull;
	/* --random-key: keys drawn from a pool of random keys whose hashes
	 * are known, so a record costs no MD5 and still lands on a random
	 * shard; the pool's keys are made from their index */
	in->poolseed = rng_next(&in->rng);
	{
		uint64_t k;
		for (k = 0; k < KW_KEY_POOL; k++)
			in->pool[k] = kw_key_hash(pool_key(in, k), 16);
	}
	kin_json_init(&in->js, 1 << 20);
	kin_buf_init(&in->data, KW_LINE_MAX);
	kin_buf_init(&in->key, 64 * 1024);
	kin_buf_init(&in->hash, 256);
	for (i = 0; i < nfiles; i++) {
		int fd;
		if (strcmp(files[i], "-") == 0)
			continue;
		if ((fd = open(files[i], O_RDONLY | O_CLOEXEC)) < 0)
			return kin_seterrno(err, errno, "cannot open '%s'",
			    files[i]);
		close(fd);
	}
	return open_next(in, err) < 0 ? -1 : 0;
}

static void close_cur(struct input *in)
{
	if (in->lines_init) {
		kin_lines_release(&in->lines);
		in->lines_init = 0;
	}
	if (in->fd >= 0) {
		if (in->fl_changed)
			(void)fcntl(in->fd, F_SETFL, in->restore_fl);
		if (in->fd != 0)
			close(in->fd);
	}
	in->fd = -1;
	in->fl_changed = 0;
}

void input_release(struct input *in)
{
	close_cur(in);
	kin_json_release(&in->js);
	kin_buf_release(&in->data);
	kin_buf_release(&in->key);
	kin_buf_release(&in->hash);
}

/* Open the next operand (or stdin when there are none).  1 when one is
 * open, 0 when all are done, -1 on error. */
static int open_next(struct input *in, char *err)
{
	const char *name;
	struct stat st;
	int fd;

	close_cur(in);
	if (in->nfiles == 0 && in->next == 0)
		name = "-";
	else if (in->next < in->nfiles)
		name = in->files[in->next];
	else
		return 0;
	in->next++;
	if (strcmp(name, "-") == 0) {
		fd = 0;
	} else if ((fd = open(name, O_RDONLY | O_CLOEXEC)) < 0) {
		return kin_seterrno(err, errno, "cannot open '%s'", name);
	}
	in->src = name;
	in->fd = fd;
	/* pipes and terminals are read without blocking, so the network is
	 * served while input is slow; regular files are always ready */
	if (fstat(fd, &st) == 0 && !S_ISREG(st.st_mode)) {
		int fl = fcntl(fd, F_GETFL);
		if (fl >= 0 && !(fl & O_NONBLOCK) &&
		    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0) {
			in->restore_fl = fl;
			in->fl_changed = 1;
		}
	}
	kin_lines_init(&in->lines, fd, in->o->delim, KW_LINE_MAX);
	in->lines_init = 1;
	return 1;
}

/* Number of UTF-8 characters, or -1 when not valid UTF-8. */
static long utf8_chars(const char *s, size_t n)
{
	size_t i;
	long c = 0;

	if (!kin_utf8_valid(s, n))
		return -1;
	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			c++;
	return c;
}

static enum in_rc bad(struct in_item *it, const char *reason,
    const char *data, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static enum in_rc bad(struct in_item *it, const char *reason,
    const char *data, size_t len, const char *fmt, ...)
{
	va_list ap;

	it->reason = reason;
	it->data = data;
	it->len = len;
	va_start(ap, fmt);
	vsnprintf(it->msg, sizeof(it->msg), fmt, ap);
	va_end(ap);
	return IN_BAD;
}

/* Value of token t as key text into out: strings unescaped, numbers and
 * booleans as written.  -1 for null, objects and arrays. */
static int token_text(struct kin_json *j, int t, struct kin_buf *out,
    char *err)
{
	size_t n;
	const char *s;

	kin_buf_reset(out);
	if (j->tok[t].type == JSMN_STRING)
		return kin_json_str(j, t, out, err);
	if (j->tok[t].type != JSMN_PRIMITIVE)
		return -1;
	s = kin_json_raw(j, t, &n);
	if (n == 4 && memcmp(s, "null", 4) == 0)
		return -1;
	return kin_buf_add(out, s, n, err);
}

/* A control line: RS then {"kin":"<type>",...}.  Never data, whatever its
 * form; the type is "" when it cannot be read. */
static enum in_rc control(struct input *in, struct in_item *it,
    const char *rec, size_t len)
{
	char err[KIN_ERRLEN];
	int t;

	it->ctype[0] = '\0';
	it->data = rec;
	it->len = len;
	if (kin_json_parse(&in->js, rec + 1, len - 1, err) == 0 &&
	    in->js.ntok > 0 && in->js.tok[0].type == JSMN_OBJECT &&
	    (t = kin_json_get(&in->js, 0, "kin")) >= 0 &&
	    in->js.tok[t].type == JSMN_STRING) {
		size_t n;
		const char *s = kin_json_raw(&in->js, t, &n);
		if (n < sizeof(it->ctype)) {
			memcpy(it->ctype, s, n);
			it->ctype[n] = '\0';
		}
	}
	if (strcmp(it->ctype, "barrier") == 0)
		in->epoch++;
	return IN_CONTROL;
}

/* Explicit hash key text to its canonical decimal form in in->hash. */
static int norm_hash(struct input *in, const char *s, size_t n)
{
	kw_u128 v;
	char tmp[48];
	char err[KIN_ERRLEN];

	if (kw_u128_parse(s, n, &v) < 0)
		return -1;
	kw_u128_format(v, tmp, sizeof(tmp));
	kin_buf_reset(&in->hash);
	return kin_buf_adds(&in->hash, tmp, err);
}

static enum in_rc make_record(struct input *in, struct in_item *it,
    const char *rec, size_t len)
{
	const struct input_opts *o = in->o;
	char err[KIN_ERRLEN];
	const char *data = rec, *key = NULL, *ehk = NULL;
	size_t dlen = len, klen = 0;
	int parsed = 0, obj = 0, t;
	long chars;
	struct urec *u;
	kw_u128 khash = 0;
	int have_hash = 0;

	if (o->envelope) {
		int d;
		if (kin_json_parse(&in->js, rec, len, err) < 0 ||
		    in->js.ntok < 1 || in->js.tok[0].type != JSMN_OBJECT)
			return bad(it, "bad-envelope", rec, len,
			    "not a JSON object");
		kin_buf_reset(&in->data);
		if ((d = kin_json_get(&in->js, 0, "data")) >= 0) {
			if (in->js.tok[d].type == JSMN_STRING) {
				if (kin_json_str(&in->js, d, &in->data,
				    err) < 0)
					return bad(it, "bad-envelope", rec,
					    len, "bad \"data\" string: %s",
					    err);
			} else {
				size_t n;
				const char *s = kin_json_raw(&in->js, d, &n);
				if (kin_buf_add(&in->data, s, n, err) < 0)
					return bad(it, "bad-envelope", rec,
					    len, "%s", err);
			}
			obj = d;
		} else if ((d = kin_json_get(&in->js, 0, "data_b64")) >= 0) {
			size_t n;
			const char *s = kin_json_raw(&in->js, d, &n);
			if (in->js.tok[d].type != JSMN_STRING ||
			    kin_b64_decode(&in->data, s, n, err) < 0)
				return bad(it, "bad-envelope", rec, len,
				    "\"data_b64\" is not base64");
			obj = -1;
		} else {
			return bad(it, "bad-envelope", rec, len,
			    "no \"data\" or \"data_b64\" field");
		}
		data = in->data.p ? in->data.p : "";
		dlen = in->data.len;
		if (!o->key && !o->key_field && !o->random_key &&
		    (t = kin_json_get(&in->js, 0, "key")) >= 0) {
			if (in->js.tok[t].type != JSMN_STRING ||
			    token_text(&in->js, t, &in->key, err) < 0)
				return bad(it, "bad-envelope", rec, len,
				    "\"key\" is not a string");
			key = in->key.p ? in->key.p : "";
			klen = in->key.len;
		}
		if (!o->hash_field &&
		    (t = kin_json_get(&in->js, 0, "hash")) >= 0) {
			size_t n;
			const char *s = kin_json_raw(&in->js, t, &n);
			if ((in->js.tok[t].type != JSMN_STRING &&
			    in->js.tok[t].type != JSMN_PRIMITIVE) ||
			    norm_hash(in, s, n) < 0)
				return bad(it, "bad-envelope", rec, len,
				    "\"hash\" is not a hash key "
				    "(0 to 2^128-1)");
			ehk = in->hash.p;
		}
		parsed = 1;
		if (obj >= 0 && in->js.tok[obj].type != JSMN_OBJECT)
			obj = -1;
	} else if (o->keep_newline && in->lines.had_delim) {
		kin_buf_reset(&in->data);
		if (kin_buf_add(&in->data, rec, len, err) < 0 ||
		    kin_buf_addc(&in->data, (char)o->delim, err) < 0)
			return bad(it, "too-large", rec, len, "%s", err);
		data = in->data.p;
		dlen = in->data.len;
	}

	if (dlen >= KIN_MAX_RECORD)   /* a key takes one byte at least */
		return bad(it, "too-large", data, dlen, "data is %zu bytes, "
		    "over the limit of %d with the partition key", dlen,
		    KIN_MAX_RECORD);

	/* fields of the data: -K and --hash-key-field */
	if (o->key_field || o->hash_field) {
		if (!parsed) {
			if (kin_json_parse(&in->js, rec, len, err) < 0 ||
			    in->js.ntok < 1 ||
			    in->js.tok[0].type != JSMN_OBJECT)
				return bad(it, o->key_field ? "bad-key" :
				    "bad-hash", data, dlen,
				    "not a JSON object, so no field '%s'",
				    o->key_field ? o->key_field :
				    o->hash_field);
			obj = 0;
		} else if (obj < 0) {
			return bad(it, o->key_field ? "bad-key" : "bad-hash",
			    data, dlen, "data is not a JSON object, so no "
			    "field '%s'", o->key_field ? o->key_field :
			    o->hash_field);
		}
		if (o->key_field) {
			t = kin_json_get(&in->js, obj, o->key_field);
			if (t < 0)
				return bad(it, "bad-key", data, dlen,
				    "no field '%s'", o->key_field);
			if (token_text(&in->js, t, &in->key, err) < 0)
				return bad(it, "bad-key", data, dlen,
				    "field '%s' is not a string or number",
				    o->key_field);
			key = in->key.p ? in->key.p : "";
			klen = in->key.len;
		}
		if (o->hash_field) {
			size_t n;
			const char *s;
			t = kin_json_get(&in->js, obj, o->hash_field);
			if (t < 0)
				return bad(it, "bad-hash", data, dlen,
				    "no field '%s'", o->hash_field);
			s = kin_json_raw(&in->js, t, &n);
			if (in->js.tok[t].type == JSMN_OBJECT ||
			    in->js.tok[t].type == JSMN_ARRAY ||
			    norm_hash(in, s, n) < 0)
				return bad(it, "bad-hash", data, dlen,
				    "field '%s' is not a hash key "
				    "(0 to 2^128-1)", o->hash_field);
			ehk = in->hash.p;
		}
	}
	if (o->key) {
		key = o->key;
		klen = strlen(o->key);
	} else if (!key) {
		/* --random-key, and the default */
		uint64_t i = rng_next(&in->rng) & (KW_KEY_POOL - 1);
		key = in->poolkey[i];
		klen = 16;
		khash = in->pool[i];
		have_hash = 1;
	}
	it->key = key;
	if (klen == 0)
		return bad(it, "bad-key", data, dlen, "empty partition key");
	/* a pool key is 16 hex digits: no need to look */
	if ((chars = have_hash ? 16 : utf8_chars(key, klen)) < 0)
		return bad(it, "bad-key", data, dlen,
		    "partition key is not UTF-8");
	if (chars > KW_KEY_MAX_CHARS)
		return bad(it, "bad-key", data, dlen,
		    "partition key is %ld characters, over the limit of %d",
		    chars, KW_KEY_MAX_CHARS);
	if (dlen + klen > KIN_MAX_RECORD)
		return bad(it, "too-large", data, dlen, "data and partition "
		    "key are %zu bytes, over the limit of %d", dlen + klen,
		    KIN_MAX_RECORD);
	if (!(u = urec_new(key, klen, ehk, data, dlen)))
		return bad(it, "no-memory", data, dlen, "out of memory");
	u->hash = ehk ? 0 : have_hash ? khash : kw_key_hash(key, klen);
	if (ehk)
		(void)kw_u128_parse(ehk, strlen(ehk), &u->hash);
	it->u = u;
	return IN_REC;
}

enum in_rc input_next(struct input *in, struct in_item *it, char *err)
{
	const char *rec;
	size_t len;
	enum in_rc rc;
	int r;

	/* not all of it: the two texts are most of its bytes, per record */
	memset(it, 0, offsetof(struct in_item, ctype));
	it->ctype[0] = '\0';
	it->msg[0] = '\0';
	for (;;) {
		if (in->fd < 0)
			return IN_EOF;
		r = kin_lines_next(&in->lines, &rec, &len, err);
		it->src = in->src;
		it->lineno = in->lines.lineno;
		switch (r) {
		case KIN_LINE_OK:
			break;
		case KIN_LINE_AGAIN:
			it->fd = in->fd;
			return IN_AGAIN;
		case KIN_LINE_EOF:
			if ((r = open_next(in, err)) < 0)
				return IN_ERR;
			if (r == 0)
				return IN_EOF;
			continue;
		case KIN_LINE_TOOLONG:
			return bad(it, "too-large", NULL, 0, "line is longer "
			    "than %zu bytes; its data is not kept",
			    KW_LINE_MAX);
		default:
			return IN_ERR;
		}
		if (len > 0 && rec[0] == 0x1E)
			return control(in, it, rec, len);
		rc = make_record(in, it, rec, len);
		if (rc == IN_REC) {
			it->u->seq = in->seq++;
			it->u->epoch = in->epoch;
			it->u->lineno = it->lineno;
			it->u->src = in->src;
			if (in->o->ttl_us)
				it->u->deadline_us = kw_now() + in->o->ttl_us;
		}
		return rc;
	}
}
