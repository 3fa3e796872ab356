/* metrics.c — CloudWatch Embedded Metric Format lines for --metrics.
 * The line's shape follows the EMF specification: an "_aws" member with
 * Timestamp (ms) and one CloudWatchMetrics directive naming the namespace,
 * the dimension set and each metric's unit; the values sit at the top. */
#include "metrics.h"

#include "buf.h"
#include "err.h"
#include "json.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A line is at most 100 metrics of ~100 bytes each plus the dimensions. */
#define LINE_MAX_BYTES (64 * 1024)

static const char *const unit_names[] = {
	[KIN_UNIT_COUNT] = "Count",
	[KIN_UNIT_BYTES] = "Bytes",
	[KIN_UNIT_MILLISECONDS] = "Milliseconds",
};

static int
copy_str(char *dst, size_t n, const char *src, const char *what, char *err)
{
	size_t len = strlen(src);

	if (len >= n)
		return kin_seterr(err, "metrics: %s too long (%zu bytes, at most %zu)",
		    what, len, n - 1);
	memcpy(dst, src, len + 1);
	return 0;
}

int
kin_metrics_init(struct kin_metrics *m, const char *path, const char *prog,
    int64_t interval_ms, char *err)
{
	int i;

	memset(m, 0, sizeof *m);
	m->fd = -1;
	for (i = 0; i < KIN_METRICS_MAX; i++)
		atomic_init(&m->m[i].v, 0);
	memcpy(m->ns, "kin", 4);
	if (interval_ms <= 0 || interval_ms > INT64_MAX / 1000)
		return kin_seterr(err, "metrics: bad interval %lld ms",
		    (long long)interval_ms);
	m->interval_us = interval_ms * 1000;
	if (copy_str(m->prog, sizeof m->prog, prog, "program name", err) < 0)
		return -1;
	if (path == NULL)
		return 0;
	if (copy_str(m->path, sizeof m->path, path, "path", err) < 0)
		return -1;
	if (strcmp(path, "-") == 0) {
		m->fd = STDERR_FILENO;
		return 0;
	}
	m->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC | O_NOCTTY, 0600);
	if (m->fd < 0) {
		int e = errno;

		/* O_NOFOLLOW on a symlink fails with ELOOP: say what it means. */
		if (e == ELOOP)
			return kin_seterr(err, "cannot open metrics file '%s': "
			    "is a symbolic link", path);
		return kin_seterrno(err, e, "cannot open metrics file '%s'", path);
	}
	m->own_fd = 1;
	return 0;
}

void
kin_metrics_release(struct kin_metrics *m)
{
	if (m->own_fd && m->fd >= 0)
		close(m->fd);
	m->fd = -1;
	m->own_fd = 0;
}

int
kin_metrics_set_stream(struct kin_metrics *m, const char *stream, char *err)
{
	return copy_str(m->stream, sizeof m->stream, stream, "stream name", err);
}

static int
name_ok(const char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i + 1 >= max)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
			return 0;
	}
	return i > 0;
}

int
kin_metrics_set_namespace(struct kin_metrics *m, const char *ns, char *err)
{
	/* CloudWatch allows more, but the dashboard's parameter pattern is
	 * [A-Za-z0-9_]+ and one rule for names keeps escaping out of it. */
	if (!name_ok(ns, sizeof m->ns))
		return kin_seterr(err, "metrics: bad namespace '%s'", ns);
	memcpy(m->ns, ns, strlen(ns) + 1);
	return 0;
}

int
kin_metrics_find(const struct kin_metrics *m, const char *name)
{
	int i;

	for (i = 0; i < m->n; i++)
		if (strcmp(m->m[i].name, name) == 0)
			return i;
	return -1;
}

static int
reg(struct kin_metrics *m, const char *name, enum kin_metric_unit unit,
    int gauge, char *err)
{
	int i;

	if (!name_ok(name, KIN_METRIC_NAMELEN) || strcmp(name, "program") == 0 ||
	    strcmp(name, "stream") == 0 || strcmp(name, "_aws") == 0)
		return kin_seterr(err, "metrics: bad metric name '%s'", name);
	if ((unsigned)unit >= sizeof unit_names / sizeof unit_names[0])
		return kin_seterr(err, "metrics: bad unit for '%s'", name);
	i = kin_metrics_find(m, name);
	if (i >= 0) {
		if (m->m[i].unit != unit || m->m[i].gauge != gauge)
			return kin_seterr(err, "metrics: '%s' registered twice "
			    "with another kind or unit", name);
		return i;
	}
	if (m->n >= KIN_METRICS_MAX)
		return kin_seterr(err, "metrics: more than %d metrics at '%s'",
		    KIN_METRICS_MAX, name);
	i = m->n;
	memcpy(m->m[i].name, name, strlen(name) + 1);
	m->m[i].unit = unit;
	m->m[i].gauge = gauge;
	atomic_store(&m->m[i].v, 0);
	m->n++;
	return i;
}

int
kin_metrics_counter(struct kin_metrics *m, const char *name,
    enum kin_metric_unit unit, char *err)
{
	return reg(m, name, unit, 0, err);
}

int
kin_metrics_gauge(struct kin_metrics *m, const char *name,
    enum kin_metric_unit unit, char *err)
{
	return reg(m, name, unit, 1, err);
}

long long
kin_metrics_get(struct kin_metrics *m, int idx)
{
	if (idx < 0 || idx >= m->n)
		return 0;
	return atomic_load_explicit(&m->m[idx].v, memory_order_relaxed);
}

static int
format_vals(const struct kin_metrics *m, int64_t now_us, const long long *vals,
    struct kin_buf *b, char *err)
{
	int i;
	long long ms = (long long)(now_us / 1000);

	if (kin_buf_printf(b, err, "{\"_aws\":{\"Timestamp\":%lld,"
	    "\"CloudWatchMetrics\":[{\"Namespace\":\"%s\",\"Dimensions\":[[",
	    ms, m->ns) < 0)
		return -1;
	if (kin_buf_adds(b, m->stream[0] ? "\"program\",\"stream\"" :
	    "\"program\"", err) < 0 ||
	    kin_buf_adds(b, "]],\"Metrics\":[", err) < 0)
		return -1;
	for (i = 0; i < m->n; i++)
		if (kin_buf_printf(b, err, "%s{\"Name\":\"%s\",\"Unit\":\"%s\"}",
		    i ? "," : "", m->m[i].name, unit_names[m->m[i].unit]) < 0)
			return -1;
	if (kin_buf_adds(b, "]}]},\"program\":", err) < 0 ||
	    kin_json_put_str(b, m->prog, strlen(m->prog), err) < 0)
		return -1;
	if (m->stream[0] && (kin_buf_adds(b, ",\"stream\":", err) < 0 ||
	    kin_json_put_str(b, m->stream, strlen(m->stream), err) < 0))
		return -1;
	for (i = 0; i < m->n; i++)
		if (kin_buf_printf(b, err, ",\"%s\":%lld", m->m[i].name,
		    vals[i]) < 0)
			return -1;
	return kin_buf_addc(b, '}', err);
}

int
kin_metrics_format(struct kin_metrics *m, int64_t now_us, struct kin_buf *out,
    char *err)
{
	long long vals[KIN_METRICS_MAX];
	int i;

	for (i = 0; i < m->n; i++)
		vals[i] = atomic_load_explicit(&m->m[i].v, memory_order_relaxed);
	return format_vals(m, now_us, vals, out, err);
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (w == 0) {
			errno = EIO;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
emit(struct kin_metrics *m, int64_t now_us, char *err)
{
	long long vals[KIN_METRICS_MAX];
	struct kin_buf b;
	int i, rc = 1;

	/* Counters are taken (swapped to 0) so that adds racing with the
	 * write land in the next line, never in none. */
	for (i = 0; i < m->n; i++)
		vals[i] = m->m[i].gauge ?
		    atomic_load_explicit(&m->m[i].v, memory_order_relaxed) :
		    atomic_exchange_explicit(&m->m[i].v, 0, memory_order_relaxed);
	kin_buf_init(&b, LINE_MAX_BYTES);
	if (format_vals(m, now_us, vals, &b, err) < 0 ||
	    kin_buf_addc(&b, '\n', err) < 0) {
		rc = -1;
	} else if (write_all(m->fd, b.p, b.len) < 0) {
		rc = kin_seterrno(err, errno, "cannot write metrics to '%s'",
		    strcmp(m->path, "-") == 0 ? "stderr" : m->path);
	}
	if (rc < 0)
		for (i = 0; i < m->n; i++)
			if (!m->m[i].gauge)
				atomic_fetch_add_explicit(&m->m[i].v, vals[i],
				    memory_order_relaxed);
	kin_buf_release(&b);
	return rc;
}

int
kin_metrics_tick(struct kin_metrics *m, int64_t now_us, char *err)
{
	if (m->next_us == 0) {
		m->next_us = now_us + m->interval_us;
		return 0;
	}
	if (now_us < m->next_us)
		return 0;
	/* The next line is due one interval after this one, not on the old
	 * grid: a pause (SIGSTOP, a slow disk) yields one catch-up line, not
	 * a burst. */
	m->next_us = now_us + m->interval_us;
	if (m->fd < 0)
		return 0;
	return emit(m, now_us, err);
}

int
kin_metrics_flush(struct kin_metrics *m, int64_t now_us, char *err)
{
	m->next_us = now_us + m->interval_us;
	if (m->fd < 0)
		return 0;
	return emit(m, now_us, err);
}
