/* state.c — window state snapshots: written atomically (temporary file,
 * fsync, rename, fsync of the directory, mode 0600) on a barrier or at
 * SIGTERM, read back at start or on a restore.  Format: JSON lines; the
 * first names the format, the barrier id the snapshot belongs to, and a
 * fingerprint of the options that shape the state; then one line per
 * pane (or session) of each key.  Keys and kept records are base64, so
 * any bytes survive. */
#include "kw.h"
#include "file.h"
#include "json.h"
#include "base64.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATE_MAGIC "kin_window_state"

struct save_ctx {
	const struct win *w;
	struct kin_buf *b;
	int fd;
	char *err;
};

static int
write_all(int fd, const char *p, size_t n, char *err)
{
	while (n) {
		ssize_t k = write(fd, p, n);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return kin_seterrno(err, errno, "write");
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int
save_pane(void *ctx, const struct kkey *k, const struct pane *p)
{
	struct save_ctx *c = ctx;
	struct kin_buf *b = c->b;
	char *err = c->err;

	if (kin_buf_adds(b, "{\"k\":\"", err) < 0 ||
	    kin_b64_encode(b, kkey_bytes(k), k->len, err) < 0 ||
	    kin_buf_printf(b, err, "\",\"s\":%lld,\"e\":%lld,\"c\":%llu,"
	    "\"f\":%u,\"a\":[", (long long)p->start,
	    (long long)(c->w->gap ? SX(p)->end : 0),
	    (unsigned long long)p->count, c->w->gap ? SX(p)->fired : 0) < 0 ||
	    agg_save(c->w->g, pane_st(c->w, p), b,
	    err) < 0 || kin_buf_adds(b, "]}\n", err) < 0)
		return -1;
	if (b->len >= (1 << 16)) {
		if (write_all(c->fd, b->p, b->len, err) < 0)
			return -1;
		kin_buf_reset(b);
	}
	return 0;
}

int
state_save(const char *path, const struct win *w, const char *barrier,
    size_t blen, const char *fingerprint, char *err)
{
	struct kin_buf b;
	char tmp[4096], prev[4096], e2[KIN_ERRLEN];
	struct save_ctx c;
	int fd, rc = -1;

	/* a fresh unique name, O_EXCL, 0600: never a planted file or link */
	fd = kin_open_temp(path, tmp, sizeof tmp);
	if (fd < 0 && errno == ENAMETOOLONG)
		return kin_seterr(err, "cannot write state '%s': name too long",
		    path);
	if (fd < 0)
		return kin_seterrno(err, errno, "cannot write state '%s'", tmp);
	kin_buf_init(&b, (size_t)1 << 30);
	if (kin_buf_printf(&b, e2, "{\"" STATE_MAGIC "\":1,\"barrier\":") < 0 ||
	    (barrier ? kin_buf_add(&b, barrier, blen, e2) :
	    kin_buf_adds(&b, "null", e2)) < 0 ||
	    kin_buf_adds(&b, ",\"config\":", e2) < 0 ||
	    kin_json_put_str(&b, fingerprint, strlen(fingerprint), e2) < 0 ||
	    kin_buf_printf(&b, e2, ",\"have_ts\":%d,\"max_ts\":%lld,"
	    "\"wm\":%lld,\"fired\":%lld,\"seq\":%llu}\n", w->have_ts,
	    (long long)w->max_ts, (long long)w->wm, (long long)w->fired,
	    (unsigned long long)w->seq) < 0)
		goto out;
	c.w = w;
	c.b = &b;
	c.fd = fd;
	c.err = e2;
	if (win_each(w, save_pane, &c) < 0)
		goto out;
	if (write_all(fd, b.p, b.len, e2) < 0)
		goto out;
	if (fsync(fd) < 0) {
		kin_seterrno(e2, errno, "fsync");
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		kin_seterrno(e2, errno, "close");
		goto out;
	}
	fd = -1;
	/* The snapshot before stays as FILE.prev: until downstream commits
	 * this barrier, a restore may still ask for the one before. */
	if (snprintf(prev, sizeof prev, "%s.prev", path) < (int)sizeof prev &&
	    rename(path, prev) < 0 && errno != ENOENT) {
		kin_seterrno(e2, errno, "rename to '%s'", prev);
		goto out;
	}
	if (rename(tmp, path) < 0) {
		kin_seterrno(e2, errno, "rename");
		goto out;
	}
	/* The rename itself must reach the disk. */
	{
		char dcopy[4096];
		int dfd;

		snprintf(dcopy, sizeof dcopy, "%s", path);
		dfd = open(dirname(dcopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			(void)fsync(dfd);
			close(dfd);
		}
	}
	rc = 0;
out:
	if (rc < 0) {
		kin_seterr(err, "cannot write state '%s': %s", path, e2);
		if (fd >= 0)
			close(fd);
		unlink(tmp);
	}
	kin_buf_release(&b);
	return rc;
}

static int
get_i64(const struct kin_json *j, int obj, const char *k, int64_t *v)
{
	char err[KIN_ERRLEN];
	int t = kin_json_get(j, obj, k);

	return t < 0 ? -1 : kin_json_int64(j, t, v, err);
}

static int
load_line(struct win *w, struct kin_json *j, const char *p, size_t n,
    struct kin_buf *kb, char *err)
{
	int64_t s, e, c, f;
	int tk, ta;
	const char *kp;
	size_t kn;
	unsigned char *st;

	if (kin_json_parse(j, p, n, err) < 0)
		return -1;
	tk = kin_json_get(j, 0, "k");
	ta = kin_json_get(j, 0, "a");
	if (tk < 0 || ta < 0 || j->tok[tk].type != JSMN_STRING ||
	    j->tok[ta].type != JSMN_ARRAY || get_i64(j, 0, "s", &s) < 0 ||
	    get_i64(j, 0, "e", &e) < 0 || get_i64(j, 0, "c", &c) < 0 ||
	    c <= 0 || get_i64(j, 0, "f", &f) < 0)
		return kin_seterr(err, "bad pane line");
	kin_buf_reset(kb);
	kp = kin_json_raw(j, tk, &kn);
	if (kin_b64_decode(kb, kp, kn, err) < 0)
		return -1;
	st = win_load_pane(w, kb->p ? kb->p : "", kb->len, s, e, (uint64_t)c,
	    err);
	if (st == NULL)
		return -1;
	(void)f;   /* "f" (a session has fired) is for people reading it */
	return agg_load(w->g, st, j, ta, err);
}

/* 1 loaded, 0 no file, -1 error, -2 another barrier's (nothing loaded). */
static int
load_one(const char *path, struct win *w, const char *fingerprint,
    const char *want, size_t wlen, char *err)
{
	int rfd = kin_open_read_nofollow(path);
	FILE *fp = rfd < 0 ? NULL : fdopen(rfd, "r");
	int mismatch = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	struct kin_json j;
	struct kin_buf kb;
	long long lineno = 0;
	int rc = -1;
	char e2[KIN_ERRLEN] = "";

	if (fp == NULL) {
		int e = errno;

		if (rfd >= 0)
			close(rfd);
		errno = e;
		if (errno == ENOENT)
			return 0;
		if (errno == ELOOP)
			return kin_seterr(err, "cannot read state '%s': a "
			    "symbolic link: refused", path);
		return kin_seterrno(err, errno, "cannot read state '%s'", path);
	}
	kin_json_init(&j, 1 << 20);
	kin_buf_init(&kb, KW_LINE_MAX);
	while ((n = getline(&line, &cap, fp)) > 0) {
		lineno++;
		if (line[n - 1] == '\n')
			n--;
		if (lineno == 1) {
			int64_t v;
			int t;
			const char *p;
			size_t pn;

			if (kin_json_parse(&j, line, (size_t)n, e2) < 0 ||
			    kin_json_get(&j, 0, STATE_MAGIC) < 0) {
				snprintf(e2, sizeof e2, "not a kin-window state "
				    "file");
				goto bad;
			}
			t = kin_json_get(&j, 0, "config");
			if (t < 0 || !kin_json_eq(&j, t, fingerprint)) {
				snprintf(e2, sizeof e2, "it was written with "
				    "other window options (%.*s), not %s",
				    t < 0 ? 0 : (int)(j.tok[t].end -
				    j.tok[t].start), t < 0 ? "" :
				    line + j.tok[t].start, fingerprint);
				goto bad;
			}
			t = kin_json_get(&j, 0, "barrier");
			if (want != NULL) {
				p = t < 0 ? "" : kin_json_raw(&j, t, &pn);
				if (t >= 0 && j.tok[t].type == JSMN_STRING) {
					p--;
					pn += 2;
				}
				if (t < 0 || pn != wlen ||
				    memcmp(p, want, wlen) != 0) {
					snprintf(e2, sizeof e2, "it belongs to "
					    "barrier %.*s, not %.*s", (int)pn,
					    p, (int)wlen, want);
					mismatch = 1;
					goto bad;
				}
			}
			if (get_i64(&j, 0, "have_ts", &v) < 0)
				goto badhdr;
			w->have_ts = (int)v;
			if (get_i64(&j, 0, "max_ts", &w->max_ts) < 0 ||
			    get_i64(&j, 0, "wm", &w->wm) < 0 ||
			    get_i64(&j, 0, "fired", &w->fired) < 0 ||
			    get_i64(&j, 0, "seq", &v) < 0)
				goto badhdr;
			w->seq = (uint64_t)v;
			continue;
		}
		if (load_line(w, &j, line, (size_t)n, &kb, e2) < 0)
			goto bad;
	}
	if (ferror(fp)) {
		snprintf(e2, sizeof e2, "read error");
		goto bad;
	}
	if (lineno == 0) {
		snprintf(e2, sizeof e2, "empty file");
		goto bad;
	}
	w->due_dirty = 1;
	rc = 1;
	goto out;
badhdr:
	snprintf(e2, sizeof e2, "bad header line");
bad:
	kin_seterr(err, "cannot load state '%s': line %lld: %s", path, lineno,
	    e2);
	if (mismatch)
		rc = -2;
out:
	free(line);
	kin_json_release(&j);
	kin_buf_release(&kb);
	fclose(fp);
	return rc;
}

int
state_load(const char *path, struct win *w, const char *fingerprint,
    const char *want, size_t wlen, char *err)
{
	char prev[4096], e2[KIN_ERRLEN];
	int rc = load_one(path, w, fingerprint, want, wlen, err), rc2;

	if (rc != 0 && rc != -2)
		return rc;
	/* No file (a crash between the two renames of a save), or another
	 * barrier's: the snapshot before may be the one. */
	if (snprintf(prev, sizeof prev, "%s.prev", path) >= (int)sizeof prev)
		return rc == -2 ? -1 : 0;
	rc2 = load_one(prev, w, fingerprint, want, wlen, e2);
	if (rc2 == 1)
		return 1;
	if (rc == -2)
		return -1;       /* err names the newer file's barrier */
	if (rc2 == 0)
		return 0;
	memcpy(err, e2, KIN_ERRLEN);
	return -1;
}
