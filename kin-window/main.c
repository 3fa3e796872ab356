/* kin-window — per-key windowed aggregation of NDJSON records with Flink's
 * window semantics.  main.c: options, the input loop, bad-input
 * accounting, control lines and signals; the rest lives in scan.c
 * (fields), agg.c/sketch.c (aggregates), keymap.c, window.c, out.c and
 * state.c. */
#include "kw.h"
#include "cli.h"
#include "json.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define PROG KW_PROG

enum {
	OPT_SIZE = KIN_OPT_FIRST_PROG, OPT_SLIDE, OPT_GAP, OPT_TZ,
	OPT_TIMEFMT, OPT_DELAY, OPT_LATENESS, OPT_LATE, OPT_IDLE, OPT_ERRORS,
	OPT_STATE, OPT_OHLC, OPT_RENAME,
};

static const struct option longopts[] = {
	KIN_CLI_LONGOPTS,
	{ "key",              required_argument, NULL, 'k' },
	{ "agg",              required_argument, NULL, 'a' },
	{ "ohlc",             required_argument, NULL, OPT_OHLC },
	{ "size",             required_argument, NULL, OPT_SIZE },
	{ "slide",            required_argument, NULL, OPT_SLIDE },
	{ "gap",              required_argument, NULL, OPT_GAP },
	{ "time-field",       required_argument, NULL, 't' },
	{ "time-format",      required_argument, NULL, OPT_TIMEFMT },
	{ "tz",               required_argument, NULL, OPT_TZ },
	{ "max-delay",        required_argument, NULL, OPT_DELAY },
	{ "allowed-lateness", required_argument, NULL, OPT_LATENESS },
	{ "late",             required_argument, NULL, OPT_LATE },
	{ "idle-timeout",     required_argument, NULL, OPT_IDLE },
	{ "errors",           required_argument, NULL, OPT_ERRORS },
	{ "state",            required_argument, NULL, OPT_STATE },
	{ "format",           required_argument, NULL, 'f' },
	{ "envelope",         no_argument,       NULL, 'J' },
	{ "rename",           required_argument, NULL, OPT_RENAME },
	{ NULL, 0, NULL, 0 },
};
static const char shortopts[] = KIN_CLI_SHORTOPTS "k:a:t:f:J";

static const struct kin_alias aliases[] = {
	{ "inputStreamName", "stream", NULL },
	{ "aws.region", "region", NULL },
	{ NULL, NULL, NULL },
};

struct opts {
	struct kin_cli cli;
	char *key;
	char **agg;
	int nagg;
	char *ohlc;
	int64_t size, slide, gap, delay, lateness, idle;
	int has_size, has_slide, has_gap, has_idle;
	char *time_field, *tz, *late, *errors, *state, *format;
	enum time_fmt tfmt;
	int envelope;
	char *rename[4];   /* key, start, end, count */
};

static void
usage(FILE *f)
{
	fputs("usage: kin-window [-Jqv] [-k field[,field ...] | none] "
	    "[-a func[:field][=name]]\n"
	    "                  [--ohlc field] --size duration "
	    "[--slide duration] | --gap duration\n"
	    "                  [-t field] [--time-format auto | iso | epoch | "
	    "epoch_ms] [--tz zone]\n"
	    "                  [--max-delay duration] [--allowed-lateness "
	    "duration] [--late file]\n"
	    "                  [--idle-timeout duration] [--errors file] "
	    "[--state file]\n"
	    "                  [-f template] [--rename name=new] "
	    "[--config file] [file ...]\n"
	    "       kin-window -h | -V\n", f);
}

static int
set_str(char **dst, const char *arg, char *err)
{
	char *s = strdup(arg);

	if (s == NULL)
		return kin_seterr(err, "out of memory");
	free(*dst);
	*dst = s;
	return 0;
}

static int
apply(void *ctx, int c, const char *arg, char *err)
{
	struct opts *o = ctx;
	int64_t *dur = NULL;
	int r = kin_cli_apply(&o->cli, c, arg);

	if (r < 0)
		return kin_seterr(err, "out of memory");
	if (r == 1)
		return 0;
	switch (c) {
	case 'k':
		return set_str(&o->key, arg, err);
	case 'a': {
		char **n = realloc(o->agg, (size_t)(o->nagg + 1) * sizeof *n);

		if (n == NULL)
			return kin_seterr(err, "out of memory");
		o->agg = n;
		o->agg[o->nagg] = NULL;
		if (set_str(&o->agg[o->nagg], arg, err) < 0)
			return -1;
		o->nagg++;
		return 0;
	}
	case OPT_OHLC:
		return set_str(&o->ohlc, arg, err);
	case 't':
		return set_str(&o->time_field, arg, err);
	case OPT_TZ:
		return set_str(&o->tz, arg, err);
	case OPT_LATE:
		return set_str(&o->late, arg, err);
	case OPT_ERRORS:
		return set_str(&o->errors, arg, err);
	case OPT_STATE:
		return set_str(&o->state, arg, err);
	case 'f':
		return set_str(&o->format, arg, err);
	case 'J':
		o->envelope = 1;
		return 0;
	case OPT_TIMEFMT:
		if (strcmp(arg, "auto") == 0)
			o->tfmt = TF_AUTO;
		else if (strcmp(arg, "iso") == 0)
			o->tfmt = TF_ISO;
		else if (strcmp(arg, "epoch") == 0)
			o->tfmt = TF_EPOCH_S;
		else if (strcmp(arg, "epoch_ms") == 0)
			o->tfmt = TF_EPOCH_MS;
		else
			return kin_seterr(err, "bad --time-format '%s': expected "
			    "auto, iso, epoch or epoch_ms", arg);
		return 0;
	case OPT_RENAME: {
		static const char *what[] = { "key", "start", "end", "count" };
		const char *eq = strchr(arg, '=');

		for (int i = 0; eq && eq[1] && i < 4; i++)
			if (strlen(what[i]) == (size_t)(eq - arg) &&
			    memcmp(what[i], arg, (size_t)(eq - arg)) == 0)
				return set_str(&o->rename[i], eq + 1, err);
		return kin_seterr(err, "bad --rename '%s': expected key=NAME, "
		    "start=NAME, end=NAME or count=NAME", arg);
	}
	case OPT_SIZE:
		dur = &o->size, o->has_size = 1;
		break;
	case OPT_SLIDE:
		dur = &o->slide, o->has_slide = 1;
		break;
	case OPT_GAP:
		dur = &o->gap, o->has_gap = 1;
		break;
	case OPT_DELAY:
		dur = &o->delay;
		break;
	case OPT_LATENESS:
		dur = &o->lateness;
		break;
	case OPT_IDLE:
		dur = &o->idle, o->has_idle = 1;
		break;
	default:
		return kin_seterr(err, "unknown option");
	}
	char e2[KIN_ERRLEN];

	if (kin_parse_duration_ms(arg, dur, e2) < 0)
		return kin_seterr(err, "%s", e2);
	/* Bounded so window arithmetic on times near year 9999 never
	 * overflows. */
	if (*dur > (int64_t)3650 * 86400000)
		return kin_seterr(err, "duration '%s' is longer than 10 years",
		    arg);
	return 0;
}

/* ---- run-time context */

enum bad_kind { BAD_NOTOBJ, BAD_JSON, BAD_DEEP, BAD_LONG, BAD_NOKEY,
	BAD_NOTIME, BAD_TIME, BAD_NOFIELD, BAD_NOTNUM, BAD_N };
static const char *bad_what[BAD_N] = {
	"not a JSON object", "invalid JSON", "nested too deeply",
	"line too long", "missing key field", "missing time field",
	"bad time", "missing field", "not a number",
};

struct run {
	struct opts *o;
	struct scanner sc;
	struct aggs g;
	struct win w;
	struct emitter em;
	struct timeparse tp;
	struct kin_tz tz;
	int has_tz;
	int keyslot[KW_MAXFIELDS], nkey;
	int timeslot;
	int req[KW_MAXFIELDS], nreq;
	struct fval *vals;
	double num[KW_MAXAGGS];
	struct kin_buf key, ctl;
	int late_fd, err_fd;
	const char *src;           /* input name for messages */
	long long lineno;
	uint64_t records, bad[BAD_N], late;
	long long bad_first[BAD_N];
	const char *bad_src[BAD_N];
	uint64_t controls;
	int64_t now_ms;            /* processing time of the current chunk */
	int64_t last_input_wall;   /* wall ms of the last data record */
	int seen_barrier, seen_end;
	char *last_barrier;
	size_t last_barrier_len;
	char *keynames;            /* --key, split in place */
	char fingerprint[512];
};

static volatile sig_atomic_t got_term;

static void
on_term(int sig)
{
	(void)sig;
	got_term = 1;
}

static int
write_line(int fd, const char *p, size_t n)
{
	struct iovec;
	char nl = '\n';

	while (n) {
		ssize_t k = write(fd, p, n);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += k;
		n -= (size_t)k;
	}
	while (write(fd, &nl, 1) < 0)
		if (errno != EINTR)
			return -1;
	return 0;
}

static void
bad_record(struct run *r, enum bad_kind k, const char *detail,
    const char *p, size_t n)
{
	if (r->bad[k]++ == 0) {
		r->bad_first[k] = r->lineno;
		r->bad_src[k] = r->src;
		if (!r->o->cli.quiet)
			kin_warn(PROG, "%s:%lld: %s%s%s (reported once; later "
			    "ones are counted)", r->src, r->lineno, bad_what[k],
			    detail ? " " : "", detail ? detail : "");
	} else if (r->o->cli.verbose) {
		kin_warn(PROG, "%s:%lld: %s%s%s", r->src, r->lineno,
		    bad_what[k], detail ? " " : "", detail ? detail : "");
	}
	if (r->err_fd >= 0 && write_line(r->err_fd, p, n) < 0) {
		kin_warn(PROG, "cannot write to '%s': %s", r->o->errors,
		    strerror(errno));
		close(r->err_fd);
		r->err_fd = -1;
	}
}

static char quoted[300];

static const char *
qname(const char *s)
{
	snprintf(quoted, sizeof quoted, "'%s'", s);
	return quoted;
}

/* ---- control lines (DESIGN.md section 1 and 4) */

static int
save_state(struct run *r, const char *id, size_t idlen, char *err)
{
	return state_save(r->o->state, &r->w, id, idlen, r->fingerprint, err);
}

static int
control_line(struct run *r, const char *p, size_t n, char *err)
{
	struct kin_json j;
	int t, rc = 0;
	const char *id = NULL;
	size_t idlen = 0;

	r->controls++;
	kin_json_init(&j, 4096);
	if (kin_json_parse(&j, p + 1, n - 1, err) == 0 && j.ntok > 0 &&
	    j.tok[0].type == JSMN_OBJECT && (t = kin_json_get(&j, 0, "kin")) >= 0) {
		int ti = kin_json_get(&j, 0, "id");

		if (ti >= 0) {
			id = kin_json_raw(&j, ti, &idlen);
			if (j.tok[ti].type == JSMN_STRING)
				id--, idlen += 2;
		}
		if (kin_json_eq(&j, t, "barrier")) {
			r->seen_barrier = 1;
			free(r->last_barrier);
			r->last_barrier = NULL;
			r->last_barrier_len = 0;
			if (id && (r->last_barrier = malloc(idlen)) != NULL) {
				memcpy(r->last_barrier, id, idlen);
				r->last_barrier_len = idlen;
			}
			/* Output before the barrier goes first; the state
			 * holds only what is not yet out. */
			if (r->o->state && (rc = save_state(r, id, idlen,
			    err)) < 0)
				goto out;
		} else if (kin_json_eq(&j, t, "end")) {
			r->seen_end = 1;
			if ((rc = win_flush(&r->w, err)) < 0)
				goto out;
		} else if (kin_json_eq(&j, t, "restore") && r->o->state &&
		    id != NULL) {
			struct win fresh;

			/* Restart from the snapshot of that barrier. */
			memset(&fresh, 0, sizeof fresh);
			fresh.size = r->w.size, fresh.slide = r->w.slide;
			fresh.gran = r->w.gran, fresh.gap = r->w.gap;
			fresh.lateness = r->w.lateness, fresh.delay = r->w.delay;
			fresh.proctime = r->w.proctime;
			if (win_init(&fresh, &r->g, &r->em, err) < 0) {
				rc = -1;
				goto out;
			}
			rc = state_load(r->o->state, &fresh, r->fingerprint, id,
			    idlen, err);
			if (rc < 0) {
				win_release(&fresh);
				goto out;
			}
			if (rc == 0) {
				win_release(&fresh);
				if (!r->o->cli.quiet)
					kin_warn(PROG, "restore %.*s: no state "
					    "file '%s'; starting empty",
					    (int)idlen, id, r->o->state);
			} else {
				win_release(&r->w);
				r->w = fresh;
			}
			rc = 0;
		}
	}
	rc = emit_raw(&r->em, p, n, err);
	if (rc == 0)
		rc = emit_raw(&r->em, "\n", 1, err);
	if (rc == 0)
		rc = emit_flush(&r->em, err);
out:
	kin_json_release(&j);
	return rc;
}

/* ---- one data record */

static int
build_key(struct run *r, const struct fval *v, char *err)
{
	struct kin_buf *k = &r->key;

	kin_buf_reset(k);
	for (int i = 0; i < r->nkey; i++) {
		const struct fval *f = &v[r->keyslot[i]];
		size_t at = k->len;
		uint32_t l;

		if (k->cap - k->len < 5 + (size_t)f->n + 2 &&
		    kin_buf_reserve(k, 5 + f->n + 2, err) < 0)
			return -1;
		k->len += 5;
		if (f->type == FV_STR && !f->esc) {
			k->p[at] = 's';
			memcpy(k->p + k->len, f->p, f->n);
			k->len += f->n;
		} else if (f->type == FV_STR) {
			k->p[at] = 's';
			if (kin_json_unescape(f->p, f->n, k, err) < 0)
				return -1;
		} else {
			const char *p;
			size_t n;

			k->p[at] = 'r';
			fval_raw(f, &p, &n);
			memcpy(k->p + k->len, p, n);
			k->len += n;
		}
		l = (uint32_t)(k->len - at - 5);
		memcpy(k->p + at + 1, &l, 4);
	}
	return 0;
}

static int
record(struct run *r, const char *p, size_t n, char *err)
{
	struct fval *v = r->vals;
	struct recin in;
	int rc;

	rc = scan_record(&r->sc, p, n, v);
	if (rc != SCAN_OK) {
		bad_record(r, rc == SCAN_NOTOBJ ? BAD_NOTOBJ : rc == SCAN_DEEP ?
		    BAD_DEEP : BAD_JSON, NULL, p, n);
		return 0;
	}
	for (int i = 0; i < r->nreq; i++) {
		int s = r->req[i];

		if (v[s].type == FV_NONE) {
			enum bad_kind k = BAD_NOFIELD;

			for (int j = 0; j < r->nkey; j++)
				if (r->keyslot[j] == s)
					k = BAD_NOKEY;
			if (s == r->timeslot)
				k = BAD_NOTIME;
			bad_record(r, k, qname(r->sc.name[s]), p, n);
			return 0;
		}
	}
	for (int i = 0; i < r->g.nnum; i++)
		if (fval_num(&v[r->g.numfield[i]], &r->num[i]) < 0) {
			bad_record(r, BAD_NOTNUM,
			    qname(r->sc.name[r->g.numfield[i]]), p, n);
			return 0;
		}
	if (r->timeslot >= 0) {
		if (time_parse(&r->tp, &v[r->timeslot], &in.ts) < 0) {
			bad_record(r, BAD_TIME, qname(r->sc.name[r->timeslot]),
			    p, n);
			return 0;
		}
	} else {
		in.ts = r->now_ms;
	}
	if (build_key(r, v, err) < 0) {
		bad_record(r, BAD_JSON, "(key)", p, n);
		return 0;
	}
	in.v = v;
	in.num = r->num;
	in.seq = ++r->w.seq;
	in.line = p;
	in.linelen = n;
	r->records++;
	rc = win_add(&r->w, r->key.p ? r->key.p : "", r->key.len,
	    kw_hash(r->key.p ? r->key.p : "", r->key.len), &in, err);
	if (rc < 0)
		return -1;
	if (rc == 1) {
		r->late++;
		if (r->o->cli.verbose > 1)
			kin_warn(PROG, "%s:%lld: late record", r->src,
			    r->lineno);
		if (r->late_fd >= 0 && write_line(r->late_fd, p, n) < 0) {
			kin_warn(PROG, "cannot write to '%s': %s", r->o->late,
			    strerror(errno));
			close(r->late_fd);
			r->late_fd = -1;
		}
		return 0;
	}
	if (r->timeslot >= 0 && (!r->w.have_ts || in.ts > r->w.max_ts)) {
		r->w.have_ts = 1;
		r->w.max_ts = in.ts;
		if (win_advance(&r->w, in.ts - r->w.delay, err) < 0)
			return -1;
	}
	return 0;
}

static int
line(struct run *r, const char *p, size_t n, char *err)
{
	r->lineno++;
	if (n > 0 && p[0] == 0x1e)
		return control_line(r, p, n, err);
	/* Blank lines separate nothing in NDJSON: skipped silently. */
	size_t i = 0;

	while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r'))
		i++;
	if (i == n)
		return 0;
	return record(r, p, n, err);
}

/* ---- time and the input loop */

static int64_t
wall_ms(void)
{
	return kin_now_wall_us() / 1000;
}

/* Processing time, or the idle watermark: move the windows on. */
static int
tick(struct run *r, char *err)
{
	int64_t now = wall_ms();

	r->now_ms = now;
	if (r->w.proctime)
		return win_advance(&r->w, now - 1, err);
	if (r->o->has_idle && r->w.have_ts &&
	    now - r->last_input_wall >= r->o->idle) {
		int64_t wm = r->w.max_ts - r->w.delay +
		    (now - r->last_input_wall);

		return win_advance(&r->w, wm, err);
	}
	return 0;
}

/* Milliseconds until tick() has something to do, -1 = never. */
static int
timeout_ms(struct run *r)
{
	int64_t due = win_next_due(&r->w), now = wall_ms(), at;

	if (due == INT64_MAX)
		return -1;
	if (r->w.proctime) {
		at = due + 1;
	} else if (r->o->has_idle && r->w.have_ts) {
		int64_t need = due - (r->w.max_ts - r->w.delay);

		if (need < r->o->idle)
			need = r->o->idle;
		at = r->last_input_wall + need;
	} else {
		return -1;
	}
	if (at <= now)
		return 0;
	return at - now > 3600000 ? 3600000 : (int)(at - now);
}

enum { IN_EOF = 0, IN_ERR = -1, IN_TERM = -2 };

/* A regular file is mapped and read in place: no copy through read(2). */
static int
run_mapped(struct run *r, const char *p, size_t n, char *err)
{
	const char *e = p + n, *dropped = p;
	unsigned tickn = 0;

	while (p < e) {
		/* Give read pages back as we go, so the mapping does not
		 * count against our memory. */
		if (p - dropped >= (8 << 20)) {
			size_t len = (size_t)(p - dropped) & ~(size_t)4095;

			(void)madvise((void *)(uintptr_t)dropped, len,
			    MADV_DONTNEED);
			dropped += len;
		}
		const char *nl = memchr(p, '\n', (size_t)(e - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(e - p);

		if (got_term)
			return IN_TERM;
		if (len > KW_LINE_MAX) {
			r->lineno++;
			bad_record(r, BAD_LONG, NULL, p, 0);
		} else if (line(r, p, len, err) < 0) {
			return IN_ERR;
		}
		p += len + (nl != NULL);
		if (r->w.proctime && ++tickn % 65536 == 0 && tick(r, err) < 0)
			return IN_ERR;
	}
	return IN_EOF;
}

static int
run_fd(struct run *r, int fd, char *err)
{
	size_t cap = 4 * KW_LINE_MAX, start = 0, end = 0;
	char *buf = malloc(cap);
	int skipping = 0, rc = IN_EOF;
	int timers = r->w.proctime || r->o->has_idle;

	if (buf == NULL)
		return kin_seterr(err, "out of memory"), IN_ERR;
	struct stat sb;

	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0 &&
	    lseek(fd, 0, SEEK_CUR) == 0) {
		void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE,
		    fd, 0);

		if (m != MAP_FAILED) {
			(void)madvise(m, (size_t)sb.st_size, MADV_SEQUENTIAL);
			if (r->w.proctime && tick(r, err) < 0)
				rc = IN_ERR;
			else
				rc = run_mapped(r, m, (size_t)sb.st_size, err);
			munmap(m, (size_t)sb.st_size);
			free(buf);
			return rc;
		}
	}
	for (;;) {
		ssize_t n;

		if (got_term) {
			rc = IN_TERM;
			break;
		}
		/* About to wait for input: what is ready goes out first. */
		if (emit_flush(&r->em, err) < 0) {
			rc = IN_ERR;
			break;
		}
		if (timers) {
			int to = timeout_ms(r);
			struct pollfd pf = { fd, POLLIN, 0 };
			int pr = poll(&pf, 1, to);

			if (pr < 0 && errno != EINTR) {
				kin_seterrno(err, errno, "poll");
				rc = IN_ERR;
				break;
			}
			if (pr <= 0) {
				if (tick(r, err) < 0) {
					rc = IN_ERR;
					break;
				}
				continue;
			}
		}
		if (start > 0 && (cap - end) < KW_LINE_MAX) {
			memmove(buf, buf + start, end - start);
			end -= start;
			start = 0;
		}
		n = read(fd, buf + end, cap - end);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			kin_seterrno(err, errno, "cannot read '%s'", r->src);
			rc = IN_ERR;
			break;
		}
		if (timers || r->w.proctime) {
			if (tick(r, err) < 0) {
				rc = IN_ERR;
				break;
			}
		}
		if (n == 0) {
			/* A last line without its newline still counts. */
			if (end > start && !skipping &&
			    line(r, buf + start, end - start, err) < 0)
				rc = IN_ERR;
			break;
		}
		end += (size_t)n;
		r->last_input_wall = r->now_ms ? r->now_ms : wall_ms();
		for (;;) {
			char *nl = memchr(buf + start, '\n', end - start);

			if (nl == NULL)
				break;
			if (skipping) {
				skipping = 0;
			} else if (line(r, buf + start, (size_t)(nl - (buf + start)),
			    err) < 0) {
				rc = IN_ERR;
				goto out;
			}
			start = (size_t)(nl - buf) + 1;
		}
		if (start == end) {
			start = end = 0;
		} else if (end - start > KW_LINE_MAX && !skipping) {
			/* Over the ceiling: report, then drop through the
			 * next newline. */
			r->lineno++;
			bad_record(r, BAD_LONG, NULL, buf + start, 0);
			skipping = 1;
			start = end = 0;
		} else if (skipping) {
			start = end = 0;
		}
		if (got_term) {
			rc = IN_TERM;
			break;
		}
	}
out:
	free(buf);
	return rc;
}

static void
fingerprint(struct run *r)
{
	size_t o = 0, cap = sizeof r->fingerprint;

	o += (size_t)snprintf(r->fingerprint + o, cap - o,
	    "size=%lld,slide=%lld,gap=%lld,lateness=%lld,time=%s,key=%s,aggs=",
	    (long long)r->w.size, (long long)r->w.slide, (long long)r->w.gap,
	    (long long)r->w.lateness, r->o->time_field ? r->o->time_field :
	    "(processing)", r->o->key ? r->o->key : "TICKER");
	for (int i = 0; i < r->g.n && o < cap; i++)
		o += (size_t)snprintf(r->fingerprint + o, cap - o, "%s%d:%s",
		    i ? ";" : "", (int)r->g.a[i].fn, r->g.a[i].fieldname ?
		    r->g.a[i].fieldname : "");
}

static int
setup(struct run *r, struct opts *o, char *err)
{
	const char *keyspec = o->key ? o->key : "TICKER";

	memset(r, 0, sizeof *r);
	r->o = o;
	r->late_fd = r->err_fd = -1;
	r->timeslot = -1;
	scan_init(&r->sc);
	kin_buf_init(&r->key, KW_LINE_MAX);
	/* key fields */
	if (strcmp(keyspec, "none") != 0) {
		char *ks = strdup(keyspec), *save = NULL, *f;

		if (ks == NULL)
			return kin_seterr(err, "out of memory");
		r->keynames = ks;
		/* The scanner keeps pointers to the names: ks lives on. */
		for (f = strtok_r(ks, ",", &save); f;
		    f = strtok_r(NULL, ",", &save)) {
			int s = scan_field(&r->sc, f);

			if (s < 0 || r->nkey == KW_MAXFIELDS)
				return kin_seterr(err, "too many key fields");
			r->em.keyname[r->nkey] = f;
			r->keyslot[r->nkey++] = s;
		}
		if (r->nkey == 0)
			return kin_seterr(err, "bad --key '%s'", keyspec);
	}
	if (o->time_field) {
		r->timeslot = scan_field(&r->sc, o->time_field);
		if (r->timeslot < 0)
			return kin_seterr(err, "too many fields");
	}
	for (int i = 0; i < o->nagg; i++)
		if (aggs_add(&r->g, &r->sc, o->agg[i], err) < 0)
			return -1;
	if (o->ohlc) {
		static const char *f[] = { "open", "high", "low", "close" };
		char spec[512];

		for (int i = 0; i < 4; i++) {
			snprintf(spec, sizeof spec, "%s:%s=%s", f[i], o->ohlc,
			    f[i]);
			if (aggs_add(&r->g, &r->sc, spec, err) < 0)
				return -1;
		}
	}
	if (aggs_finish(&r->g, err) < 0)
		return -1;
	/* required fields: keys, time, every aggregate input */
	for (int s = 0; s < r->sc.nf; s++)
		r->req[r->nreq++] = s;
	r->vals = calloc((size_t)r->sc.nf + 1, sizeof *r->vals);
	if (r->vals == NULL)
		return kin_seterr(err, "out of memory");
	if (o->tz) {
		if (kin_tz_load(&r->tz, o->tz, err) < 0)
			return -1;
		r->has_tz = 1;
	}
	time_init(&r->tp, o->tfmt, r->has_tz ? &r->tz : NULL);
	/* output */
	int nkeyf = r->nkey;
	char *kn[KW_MAXFIELDS];

	memcpy(kn, r->em.keyname, sizeof kn);
	if (emit_init(&r->em, &r->g, STDOUT_FILENO, err) < 0)
		return -1;
	r->em.nkeyf = nkeyf;
	memcpy(r->em.keyname, kn, sizeof kn);
	r->em.envelope = o->envelope;
	r->em.tz = r->has_tz ? &r->tz : NULL;
	if (o->rename[0])
		r->em.name_key = o->rename[0];
	if (o->rename[1])
		r->em.name_start = o->rename[1];
	if (o->rename[2])
		r->em.name_end = o->rename[2];
	if (o->rename[3])
		r->em.name_count = o->rename[3];
	if (o->format && tpl_compile(&r->em, o->format, err) < 0)
		return -1;
	/* windows */
	r->w.proctime = o->time_field == NULL;
	r->w.delay = o->delay;
	r->w.lateness = o->lateness;
	if (o->has_gap) {
		r->w.gap = o->gap;
		r->w.size = r->w.slide = r->w.gran = 1;
	} else {
		int64_t a = o->size, b = o->has_slide ? o->slide : o->size;

		r->w.size = o->size;
		r->w.slide = b;
		while (b) {
			int64_t t = a % b;

			a = b;
			b = t;
		}
		r->w.gran = a;
	}
	if (win_init(&r->w, &r->g, &r->em, err) < 0)
		return -1;
	fingerprint(r);
	if (o->late) {
		r->late_fd = open(o->late, O_WRONLY | O_CREAT | O_APPEND |
		    O_CLOEXEC, 0644);
		if (r->late_fd < 0)
			return kin_seterrno(err, errno, "cannot open '%s'",
			    o->late);
	}
	if (o->errors) {
		r->err_fd = open(o->errors, O_WRONLY | O_CREAT | O_APPEND |
		    O_CLOEXEC, 0644);
		if (r->err_fd < 0)
			return kin_seterrno(err, errno, "cannot open '%s'",
			    o->errors);
	}
	return 0;
}

static void
summary(struct run *r)
{
	uint64_t nbad = 0;
	char msg[1024];
	size_t m = 0;

	for (int k = 0; k < BAD_N; k++)
		nbad += r->bad[k];
	if (r->o->cli.verbose)
		kin_warn(PROG, "%llu records in, %llu windows out, %llu late, "
		    "%llu skipped, %llu control lines, peak %llu panes",
		    (unsigned long long)r->records,
		    (unsigned long long)r->em.emitted,
		    (unsigned long long)r->late, (unsigned long long)nbad,
		    (unsigned long long)r->controls,
		    (unsigned long long)r->w.peak_panes);
	if (r->o->cli.quiet || (nbad == 0 && r->late == 0))
		return;
	for (int k = 0; k < BAD_N; k++)
		if (r->bad[k])
			m += (size_t)snprintf(msg + m, sizeof msg - m,
			    "%s%llu %s (first at %s:%lld)", m ? ", " : "",
			    (unsigned long long)r->bad[k], bad_what[k],
			    r->bad_src[k], r->bad_first[k]);
	if (nbad)
		kin_warn(PROG, "%llu records skipped: %s%s%s",
		    (unsigned long long)nbad, msg, r->o->errors ?
		    "; written to " : "", r->o->errors ? r->o->errors : "");
	if (r->late)
		kin_warn(PROG, "%llu late records%s%s",
		    (unsigned long long)r->late, r->o->late ?
		    " written to " : " dropped (use --late FILE to keep them)",
		    r->o->late ? r->o->late : "");
}

int
main(int argc, char **argv)
{
	struct opts o;
	struct run r;
	char err[KIN_ERRLEN];
	int c, status = KIN_EX_OK;

	memset(&o, 0, sizeof o);
	kin_cli_init(&o.cli, PROG);
	/* --config first, so the command line can override the file. */
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1)
		if (c == KIN_OPT_CONFIG && kin_cli_apply(&o.cli, c, optarg) < 0)
			kin_die(PROG, KIN_EX_SOFTWARE, "out of memory");
	if (o.cli.config != NULL &&
	    kin_config_load(o.cli.config, longopts, aliases, apply, &o,
	    err) < 0) {
		kin_warn(PROG, "%s", err);
		return KIN_EX_CONFIG;
	}
	opterr = 1;
	optind = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return KIN_EX_OK;
		case 'V':
			kin_cli_version(&o.cli);
			return KIN_EX_OK;
		case '?':
			usage(stderr);
			return KIN_EX_USAGE;
		case KIN_OPT_CONFIG:
			break;
		default:
			if (apply(&o, c, optarg, err) < 0) {
				kin_warn(PROG, "%s", err);
				return KIN_EX_USAGE;
			}
		}
	}
	if (o.has_gap == (o.has_size || o.has_slide)) {
		kin_warn(PROG, "give either --size (and --slide) or --gap");
		usage(stderr);
		return KIN_EX_USAGE;
	}
	if (o.has_size && o.size <= 0) {
		kin_warn(PROG, "--size must be more than 0");
		return KIN_EX_USAGE;
	}
	if (o.has_slide && (o.slide <= 0 || o.slide > o.size)) {
		kin_warn(PROG, "--slide must be more than 0 and at most --size "
		    "(a slide past the size would drop the records between "
		    "windows)");
		return KIN_EX_USAGE;
	}
	if (o.has_gap && o.gap <= 0) {
		kin_warn(PROG, "--gap must be more than 0");
		return KIN_EX_USAGE;
	}
	if (o.has_slide && o.size % o.slide != 0) {
		int64_t a = o.size, b = o.slide;

		while (b) {
			int64_t t = a % b;

			a = b;
			b = t;
		}
		if (o.size / a > 100000) {
			kin_warn(PROG, "--size %lldms is not a multiple of "
			    "--slide %lldms, and their greatest common divisor "
			    "(%lldms) would make %lld panes per window",
			    (long long)o.size, (long long)o.slide, (long long)a,
			    (long long)(o.size / a));
			return KIN_EX_USAGE;
		}
	}
	if (o.has_idle && o.time_field == NULL) {
		kin_warn(PROG, "--idle-timeout needs event time (--time-field)");
		return KIN_EX_USAGE;
	}
	if (o.lateness && o.time_field == NULL) {
		kin_warn(PROG, "--allowed-lateness needs event time "
		    "(--time-field)");
		return KIN_EX_USAGE;
	}
	if (setup(&r, &o, err) < 0) {
		kin_warn(PROG, "%s", err);
		return KIN_EX_USAGE;
	}
	if (o.state) {
		int lr = state_load(o.state, &r.w, r.fingerprint, NULL, 0, err);

		if (lr < 0) {
			kin_warn(PROG, "%s", err);
			return KIN_EX_CONFIG;
		}
		if (lr == 1 && o.cli.verbose)
			kin_warn(PROG, "state loaded from '%s': %llu panes",
			    o.state, (unsigned long long)r.w.live_panes);
	}

	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGHUP, SIG_IGN);   /* nothing to reload: options are fixed */

	int rc = IN_EOF;

	r.now_ms = wall_ms();
	r.last_input_wall = r.now_ms;
	if (optind == argc) {
		r.src = "stdin";
		rc = run_fd(&r, STDIN_FILENO, err);
	}
	for (int i = optind; i < argc && rc == IN_EOF; i++) {
		int fd = strcmp(argv[i], "-") == 0 ? STDIN_FILENO :
		    open(argv[i], O_RDONLY | O_CLOEXEC);

		if (fd < 0) {
			kin_warn(PROG, "cannot open '%s': %s", argv[i],
			    strerror(errno));
			status = 66;   /* EX_NOINPUT */
			continue;
		}
		r.src = fd == STDIN_FILENO ? "stdin" : argv[i];
		r.lineno = 0;
		rc = run_fd(&r, fd, err);
		if (fd != STDIN_FILENO)
			close(fd);
	}
	if (rc == IN_ERR) {
		kin_warn(PROG, "%s", err);
		if (!r.em.epipe && o.state && save_state(&r, r.last_barrier,
		    r.last_barrier_len, err) < 0)
			kin_warn(PROG, "%s", err);
		status = r.em.epipe ? KIN_EX_IOERR : KIN_EX_IOERR;
	} else if (rc == IN_TERM && o.state) {
		/* Stopped: keep the open windows for the next start. */
		if (save_state(&r, r.last_barrier, r.last_barrier_len, err) < 0) {
			kin_warn(PROG, "%s", err);
			status = KIN_EX_IOERR;
		}
	} else if (rc == IN_EOF && r.seen_barrier && !r.seen_end) {
		/* DESIGN.md 4: upstream died; its windows would be wrong. */
		kin_warn(PROG, "input ended after a barrier without an 'end' "
		    "control line: upstream stopped early; open windows not "
		    "fired%s%s", o.state ? ", state kept in " : "",
		    o.state ? o.state : "");
		status = KIN_EX_TEMPFAIL;
	} else {
		/* End of input (or a stop without --state): every open window
		 * fires, so replaying a file gives every window. */
		if (win_flush(&r.w, err) < 0) {
			kin_warn(PROG, "%s", err);
			status = KIN_EX_IOERR;
		}
	}
	if (emit_flush(&r.em, err) < 0 && !r.em.epipe) {
		kin_warn(PROG, "%s", err);
		status = KIN_EX_IOERR;
	}
	summary(&r);
	if (r.late_fd >= 0 && close(r.late_fd) < 0) {
		kin_warn(PROG, "cannot write to '%s': %s", o.late,
		    strerror(errno));
		status = KIN_EX_IOERR;
	}
	if (r.err_fd >= 0 && close(r.err_fd) < 0) {
		kin_warn(PROG, "cannot write to '%s': %s", o.errors,
		    strerror(errno));
		status = KIN_EX_IOERR;
	}
	win_release(&r.w);
	emit_release(&r.em);
	scan_release(&r.sc);
	aggs_release(&r.g);
	kin_buf_release(&r.key);
	free(r.vals);
	free(r.last_barrier);
	if (r.has_tz)
		kin_tz_release(&r.tz);
	kin_cli_release(&o.cli);
	free(o.key);
	for (int i = 0; i < o.nagg; i++)
		free(o.agg[i]);
	free(o.agg);
	free(o.ohlc);
	free(o.time_field);
	free(o.tz);
	free(o.late);
	free(o.errors);
	free(o.state);
	free(o.format);
	for (int i = 0; i < 4; i++)
		free(o.rename[i]);
	free(r.keynames);
	return status;
}
