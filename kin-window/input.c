/* input.c — the read loop: regular files are mapped, pipes are read in
 * big chunks; when windows run on the clock (processing time, or an idle
 * timeout) the loop waits in poll() no longer than the next firing. */
#include "run.h"

#include <errno.h>
#include <stdio.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define PROG KW_PROG

int64_t
wall_ms(void)
{
	return kin_now_wall_us() / 1000;
}

/* Processing time: the wall clock as it was at the first call, moved on
 * by the monotonic clock.  A step of the system clock (NTP, an operator)
 * then neither fires a window twice nor makes records late nor holds a
 * window open; window times keep the offset they started with. */
int64_t
proc_ms(void)
{
	static int64_t off;
	static int have;

	if (!have) {
		off = wall_ms() - kin_now_mono_us() / 1000;
		have = 1;
	}
	return kin_now_mono_us() / 1000 + off;
}

static const char *bad_slug[BAD_N] = {
	"not_object", "invalid_json", "too_deep", "too_long", "no_key",
	"no_time", "bad_time", "no_field", "not_number", "too_many_keys",
};

int
metrics_setup(struct run *r, char *err)
{
	struct kin_metrics *m = &r->met;
	int64_t iv = r->o->metrics_interval > 0 ? r->o->metrics_interval :
	    60000;
	char name[KIN_METRIC_NAMELEN];

	if (kin_metrics_init(m, r->o->metrics, KW_PROG, iv, err) < 0)
		return -1;
	if ((r->mi_in = kin_metrics_counter(m, "records_in", KIN_UNIT_COUNT,
	    err)) < 0 ||
	    (r->mi_out = kin_metrics_counter(m, "windows_fired",
	    KIN_UNIT_COUNT, err)) < 0 ||
	    kin_metrics_counter(m, "records_out", KIN_UNIT_COUNT, err) < 0 ||
	    (r->mi_late = kin_metrics_counter(m, "late_records",
	    KIN_UNIT_COUNT, err)) < 0 ||
	    (r->mi_plate = kin_metrics_counter(m, "partly_late_records",
	    KIN_UNIT_COUNT, err)) < 0 ||
	    (r->mi_bad = kin_metrics_counter(m, "bad_records", KIN_UNIT_COUNT,
	    err)) < 0 ||
	    (r->mi_ctl = kin_metrics_counter(m, "control_lines",
	    KIN_UNIT_COUNT, err)) < 0 ||
	    (r->mi_bytes = kin_metrics_counter(m, "bytes_in", KIN_UNIT_BYTES,
	    err)) < 0 ||
	    (r->mi_panes = kin_metrics_gauge(m, "panes_open", KIN_UNIT_COUNT,
	    err)) < 0 ||
	    (r->mi_keys = kin_metrics_gauge(m, "keys", KIN_UNIT_COUNT,
	    err)) < 0 ||
	    (r->mi_lag = kin_metrics_gauge(m, "watermark_lag",
	    KIN_UNIT_MILLISECONDS, err)) < 0)
		return -1;
	for (int k = 0; k < BAD_N; k++) {
		snprintf(name, sizeof name, "bad_records.%s", bad_slug[k]);
		if ((r->mi_badk[k] = kin_metrics_counter(m, name,
		    KIN_UNIT_COUNT, err)) < 0)
			return -1;
	}
	return 0;
}

/* Our plain counters go into the metrics as deltas at each tick: no
 * atomic operation per record. */
void
metrics_tick(struct run *r, int flush)
{
	struct kin_metrics *m = &r->met;
	char err[KIN_ERRLEN];
	uint64_t nbad = 0;
	int64_t now = kin_now_wall_us();
	int rc;

	if (m->fd < 0)
		return;
	if (!flush && m->next_us != 0 && now < m->next_us)
		return;
#define DELTA(idx, cur, last) do { \
		kin_metrics_add(m, (idx), (long long)((cur) - (last))); \
		(last) = (cur); \
	} while (0)
	DELTA(r->mi_in, r->records, r->ms_in);
	{
		int io = kin_metrics_find(m, "records_out");
		uint64_t e = r->em.emitted;

		kin_metrics_add(m, io, (long long)(e - r->ms_out));
		DELTA(r->mi_out, e, r->ms_out);
	}
	DELTA(r->mi_late, r->late, r->ms_late);
	DELTA(r->mi_plate, r->w.partly_late, r->ms_plate);
	DELTA(r->mi_ctl, r->controls, r->ms_ctl);
	DELTA(r->mi_bytes, r->bytes, r->ms_bytes);
	for (int k = 0; k < BAD_N; k++) {
		nbad += r->bad[k];
		DELTA(r->mi_badk[k], r->bad[k], r->ms_badk[k]);
	}
	DELTA(r->mi_bad, nbad, r->ms_bad);
#undef DELTA
	kin_metrics_set(m, r->mi_panes, (long long)r->w.live_panes);
	kin_metrics_set(m, r->mi_keys, (long long)r->w.km.live);
	if (!r->w.proctime && r->w.have_ts && r->w.wm != INT64_MIN &&
	    r->w.wm != INT64_MAX)
		kin_metrics_set(m, r->mi_lag, now / 1000 - r->w.wm);
	rc = flush ? kin_metrics_flush(m, now, err) :
	    kin_metrics_tick(m, now, err);
	if (rc < 0 && !r->metrics_warned) {
		kin_warn(PROG, "%s (metrics are kept for the next line)", err);
		r->metrics_warned = 1;
	}
}

void
progress(struct run *r)
{
	int64_t now = kin_now_mono_us(), dt = now - r->progress_us;
	char wm[64] = "none";

	metrics_tick(r, 0);
	if (!r->o->cli.verbose || dt < 1000000)
		return;
	if (r->progress_us != 0) {
		if (r->w.wm != INT64_MIN && r->w.wm != INT64_MAX)
			fmt_time(wm, sizeof wm, r->w.wm, NULL);
		char lag[48] = "";

		/* Lag: how far event time trails the clock. */
		if (!r->w.proctime && r->w.have_ts)
			snprintf(lag, sizeof lag, ", lag %.3fs",
			    (double)(wall_ms() - r->w.max_ts) / 1000.0);
		kin_warn(PROG, "%llu records in, %llu windows out, %.0f "
		    "records/s, %llu live panes, watermark %s%s%s",
		    (unsigned long long)r->records,
		    (unsigned long long)r->em.emitted,
		    (double)(r->records - r->progress_records) * 1e6 /
		    (double)dt, (unsigned long long)r->w.live_panes, wm,
		    r->w.proctime ? " (processing time)" : "", lag);
	}
	r->progress_us = now;
	r->progress_records = r->records;
}

/* Processing time, or the idle watermark: move the windows on. */
static int
tick(struct run *r, char *err)
{
	int64_t now = proc_ms();

	if (kw_drain(r, err) < 0)
		return -1;
	r->now_ms = now;
	progress(r);
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
	int64_t due = win_next_due(&r->w), now = proc_ms(), at;

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


/* Give read pages back as we go, so the mapping does not count against
 * our memory: whole pages from *dropped (page aligned, the mapping's
 * start at first) up to before upto, 8 MiB at a time. */
void
give_back(const char **dropped, const char *upto)
{
	if (upto > *dropped && upto - *dropped >= (8 << 20)) {
		size_t len = (size_t)(upto - *dropped) & ~(size_t)4095;

		(void)madvise((void *)(uintptr_t)*dropped, len, MADV_DONTNEED);
		*dropped += len;
	}
}

/* A regular file is mapped and read in place: no copy through read(2). */
static int
mapped_lines(struct run *r, const char *p, size_t n, const char **dropped,
    char *err)
{
	const char *e = p + n;
	size_t tickn = 0;

	while (p < e) {
		size_t taken;

		give_back(dropped, p);
		if (got_term)
			return IN_TERM;
		/* Whole runs of lines of one shape (the last line of the
		 * file ends at e, newline or not); 64 Ki lines at a time
		 * for the clock and the pages above. */
		p = kw_lines(r, p, e, 65536, &taken, err);
		if (p == NULL)
			return IN_ERR;
		tickn += taken;
		if (p < e) {
			/* One line the slow way. */
			const char *nl = memchr(p, '\n', (size_t)(e - p));
			size_t len = nl ? (size_t)(nl - p) : (size_t)(e - p);

			if (len > KW_LINE_MAX) {
				r->lineno++;
				bad_record(r, BAD_LONG, NULL, p, 0);
			} else if (kw_line(r, p, len, err) < 0) {
				return IN_ERR;
			}
			p += len + (nl != NULL);
			tickn++;
		}
		if (r->w.proctime && tickn >= 65536) {
			tickn = 0;
			if (tick(r, err) < 0)
				return IN_ERR;
		}
	}
	return IN_EOF;
}

/* Two threads while they pay (reader.c); else one for a stretch of
 * lines, longer each time two did not pay, then two again. */
static int
run_mapped(struct run *r, const char *p, size_t n, char *err)
{
	const char *e = p + n, *dropped = p;
	size_t stretch = (size_t)64 << 20;
	int th = use_thread(r, n), rc = IN_EOF;

	while (th && rc == IN_EOF && p < e) {
		const char *at, *stop = e, *nl;

		rc = run_threaded(r, p, e, th, &dropped, &at, err);
		if (rc != IN_EOF || at == e)
			break;
		/* A quick give-up: one thread longer next time. */
		stretch = (size_t)(at - p) < 2 * stretch ?
		    (stretch < ((size_t)1 << 30) ? 2 * stretch : stretch) :
		    (size_t)64 << 20;
		if (th == 3)
			stretch = (size_t)1 << 20;
		if ((size_t)(e - at) > stretch &&
		    (nl = memchr(at + stretch, '\n', (size_t)(e - at) -
		    stretch)) != NULL)
			stop = nl + 1;
		rc = mapped_lines(r, at, (size_t)(stop - at), &dropped, err);
		p = stop;
	}
	if (!th)
		rc = mapped_lines(r, p, n, &dropped, err);

	/* The queue points into the mapping: empty it before unmapping. */
	if (rc != IN_ERR && kw_drain(r, err) < 0)
		rc = IN_ERR;
	return rc;
}

int
run_fd(struct run *r, int fd, char *err)
{
	size_t cap = 4 * KW_LINE_MAX, start = 0, end = 0;
	char *buf = malloc(cap);
	int skipping = 0, rc = IN_EOF;
	int timers = r->w.proctime || r->o->has_idle || r->met.fd >= 0;

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

		/* Queued records point into buf, which the next read may
		 * move; and before waiting, everything read is counted. */
		if (kw_drain(r, err) < 0) {
			rc = IN_ERR;
			break;
		}
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

			/* metrics lines come on time on a quiet input too */
			if (r->met.fd >= 0) {
				int64_t left = (r->met.next_us -
				    kin_now_wall_us()) / 1000 + 1;

				if (r->met.next_us == 0 || left < 1)
					left = 1;
				if (to < 0 || left < to)
					to = left > 3600000 ? 3600000 : (int)left;
			}
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
			    kw_line(r, buf + start, end - start, err) < 0)
				rc = IN_ERR;
			break;
		}
		end += (size_t)n;
		r->last_input_wall = r->now_ms ? r->now_ms : proc_ms();
		/* Complete lines end at the last newline read. */
		const char *full = memrchr(buf + start, '\n', end - start);

		for (;;) {
			char *nl;

			if (!skipping && full != NULL) {
				size_t taken;
				const char *at = kw_lines(r, buf + start,
				    full + 1, SIZE_MAX, &taken, err);

				if (at == NULL) {
					rc = IN_ERR;
					goto out;
				}
				start = (size_t)(at - buf);
			}
			nl = memchr(buf + start, '\n', end - start);
			if (nl == NULL)
				break;
			if (skipping) {
				skipping = 0;
			} else if ((size_t)(nl - (buf + start)) > KW_LINE_MAX) {
				/* whole in the buffer, still over the ceiling */
				r->lineno++;
				bad_record(r, BAD_LONG, NULL, buf + start, 0);
			} else if (kw_line(r, buf + start, (size_t)(nl - (buf + start)),
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
	if (rc != IN_ERR && kw_drain(r, err) < 0)
		rc = IN_ERR;
	free(buf);
	return rc;
}

