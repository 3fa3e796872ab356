/* ckpt.c — shard positions, the checkpoint file and its lock.
 * The file is one JSON object, a shard to a line so a person can read it:
 *   {"kin":"checkpoint","version":1,"stream":"S","barrier":7,"shards":[
 *   {"id":"shardId-000000000000","seq":"4959...","sub":0,"more":false},
 *   {"id":"shardId-000000000001","done":true}
 *   ]}
 * Other forms of a shard's position: "at" (AT_SEQUENCE_NUMBER, nothing
 * printed yet), "ts" (AT_TIMESTAMP in ms), "trim":true (TRIM_HORIZON).
 * "barrier" is there when kin-write wrote it from a barrier line. */
#include "ckpt.h"
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "json.h"

#define CKPT_MAX_BYTES (64u * 1024 * 1024)
#define CKPT_MAX_TOKENS (4 * 1024 * 1024)

void
kin_ckpt_init(struct kin_ckpt *c)
{
	memset(c, 0, sizeof *c);
	c->barrier = -1;
}

void
kin_ckpt_release(struct kin_ckpt *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->e[i].id);
	free(c->e);
	free(c->stream);
	memset(c, 0, sizeof *c);
	c->barrier = -1;
}

const struct kin_ckpt_entry *
kin_ckpt_find(const struct kin_ckpt *c, const char *id)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->e[i].id, id) == 0)
			return &c->e[i];
	return NULL;
}

int
kin_seq_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= KIN_SEQ_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static int
read_file(const char *path, struct kin_buf *b, char *err)
{
	int fd = kin_open_read_nofollow(path);

	if (fd < 0 && errno == ELOOP)
		return kin_seterr(err, "checkpoint '%s' is a symbolic link: "
		    "refused", path);
	if (fd < 0)
		return errno == ENOENT ? 0 :
		    kin_seterrno(err, errno, "checkpoint '%s'", path);
	for (;;) {
		if (kin_buf_reserve(b, 65536, err) < 0) {
			close(fd);
			return kin_seterr(err, "checkpoint '%s': larger than %u bytes",
			    path, CKPT_MAX_BYTES);
		}
		ssize_t k = read(fd, b->p + b->len, 65536);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			int e = errno;
			close(fd);
			return kin_seterrno(err, e, "checkpoint '%s'", path);
		}
		if (k == 0)
			break;
		b->len += (size_t)k;
		b->p[b->len] = '\0';
	}
	close(fd);
	return 1;
}

static int
parse_entry(const struct kin_json *j, int t, struct kin_ckpt_entry *e,
    char *err)
{
	int v;
	char *s;

	memset(e, 0, sizeof *e);
	if (j->tok[t].type != JSMN_OBJECT)
		return kin_seterr(err, "a shard entry is not an object");
	if ((v = kin_json_get(j, t, "id")) < 0 || j->tok[v].type != JSMN_STRING)
		return kin_seterr(err, "a shard entry has no \"id\"");
	if ((e->id = kin_json_strdup(j, v, err)) == NULL)
		return -1;
	if ((v = kin_json_get(j, t, "done")) >= 0) {
		if (kin_json_bool(j, v, &e->done, err) < 0)
			return -1;
		if (e->done)
			return 0;
	}
	if ((v = kin_json_get(j, t, "seq")) >= 0) {
		int m;
		int64_t sub;

		e->pos.kind = KIN_POS_AFTER;
		if ((s = kin_json_strdup(j, v, err)) == NULL)
			return -1;
		if (!kin_seq_valid(s)) {
			free(s);
			return kin_seterr(err, "shard '%s': bad \"seq\"", e->id);
		}
		memcpy(e->pos.seq, s, strlen(s) + 1);
		free(s);
		if ((m = kin_json_get(j, t, "sub")) < 0 ||
		    kin_json_int64(j, m, &sub, err) < 0 || sub < 0 ||
		    sub > 0x7fffffff)
			return kin_seterr(err, "shard '%s': bad \"sub\"", e->id);
		e->pos.sub = (long)sub;
		if ((m = kin_json_get(j, t, "more")) >= 0 &&
		    kin_json_bool(j, m, &e->pos.more, err) < 0)
			return -1;
	} else if ((v = kin_json_get(j, t, "at")) >= 0) {
		e->pos.kind = KIN_POS_AT_SEQ;
		if ((s = kin_json_strdup(j, v, err)) == NULL)
			return -1;
		if (!kin_seq_valid(s)) {
			free(s);
			return kin_seterr(err, "shard '%s': bad \"at\"", e->id);
		}
		memcpy(e->pos.seq, s, strlen(s) + 1);
		free(s);
	} else if ((v = kin_json_get(j, t, "ts")) >= 0) {
		e->pos.kind = KIN_POS_AT_TS;
		if (kin_json_int64(j, v, &e->pos.ts_ms, err) < 0 ||
		    e->pos.ts_ms < 0)
			return kin_seterr(err, "shard '%s': bad \"ts\"", e->id);
	} else if ((v = kin_json_get(j, t, "trim")) >= 0) {
		e->pos.kind = KIN_POS_TRIM;
	} else {
		return kin_seterr(err, "shard '%s' has no position", e->id);
	}
	return 0;
}

int
kin_ckpt_parse_shards(struct kin_ckpt *c, const struct kin_json *j, int arr,
    char *err)
{
	struct kin_ckpt_entry *ne;
	size_t add;

	if (arr < 0 || j->tok[arr].type != JSMN_ARRAY)
		return kin_seterr(err, "\"shards\" is not a list");
	add = (size_t)j->tok[arr].size;
	ne = realloc(c->e, (c->n + add + 1) * sizeof *ne);
	if (ne == NULL)
		return kin_seterr(err, "out of memory");
	c->e = ne;
	for (size_t i = 0; i < add; i++) {
		int t = kin_json_at(j, arr, (int)i);
		if (parse_entry(j, t, &c->e[c->n], err) < 0) {
			free(c->e[c->n].id);
			return -1;
		}
		c->n++;
	}
	return 0;
}

int
kin_ckpt_load(struct kin_ckpt *c, const char *path, char *err)
{
	struct kin_buf b;
	struct kin_json j;
	char why[KIN_ERRLEN];
	int rc, v, arr;

	kin_buf_init(&b, CKPT_MAX_BYTES);
	kin_json_init(&j, CKPT_MAX_TOKENS);
	rc = read_file(path, &b, err);
	if (rc <= 0)
		goto out;
	rc = -1;
	if (kin_json_parse(&j, b.p, b.len, why) < 0) {
		kin_seterr(err, "checkpoint '%s': %s", path, why);
		goto out;
	}
	if (j.ntok < 1 || j.tok[0].type != JSMN_OBJECT ||
	    (v = kin_json_get(&j, 0, "kin")) < 0 ||
	    !kin_json_eq(&j, v, "checkpoint")) {
		kin_seterr(err, "checkpoint '%s': not a kin checkpoint",
		    path);
		goto out;
	}
	if ((v = kin_json_get(&j, 0, "stream")) < 0 ||
	    (c->stream = kin_json_strdup(&j, v, why)) == NULL) {
		kin_seterr(err, "checkpoint '%s': no \"stream\"", path);
		goto out;
	}
	if ((v = kin_json_get(&j, 0, "barrier")) >= 0 &&
	    (kin_json_int64(&j, v, &c->barrier, why) < 0 || c->barrier < 0)) {
		kin_seterr(err, "checkpoint '%s': bad \"barrier\"", path);
		goto out;
	}
	if ((arr = kin_json_get(&j, 0, "shards")) < 0 ||
	    kin_ckpt_parse_shards(c, &j, arr, why) < 0) {
		kin_seterr(err, "checkpoint '%s': %s", path,
		    arr < 0 ? "no \"shards\" list" : why);
		goto out;
	}
	rc = 1;
out:
	kin_json_release(&j);
	kin_buf_release(&b);
	return rc;
}

static int
put_entry(struct kin_buf *b, const struct kin_ckpt_entry *e, char *err)
{
	if (kin_buf_adds(b, "{\"id\":", err) < 0 ||
	    kin_json_put_str(b, e->id, strlen(e->id), err) < 0)
		return -1;
	if (e->done)
		return kin_buf_adds(b, ",\"done\":true}", err);
	switch (e->pos.kind) {
	case KIN_POS_AFTER:
		return kin_buf_printf(b, err,
		    ",\"seq\":\"%s\",\"sub\":%ld,\"more\":%s}", e->pos.seq,
		    e->pos.sub, e->pos.more ? "true" : "false");
	case KIN_POS_AT_SEQ:
		return kin_buf_printf(b, err, ",\"at\":\"%s\"}", e->pos.seq);
	case KIN_POS_AT_TS:
		return kin_buf_printf(b, err, ",\"ts\":%" PRId64 "}",
		    e->pos.ts_ms);
	case KIN_POS_TRIM:
		return kin_buf_adds(b, ",\"trim\":true}", err);
	default:
		return kin_seterr(err, "shard '%s': no position to save", e->id);
	}
}

static int
fsync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd, rc = 0;

	if (copy == NULL)
		return -1;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (fd < 0)
		return -1;
	if (fsync(fd) < 0 && errno != EINVAL)
		rc = -1;
	close(fd);
	return rc;
}

int
kin_ckpt_put_shards(struct kin_buf *b, const struct kin_ckpt_entry *e,
    size_t n, char *err)
{
	if (kin_buf_adds(b, "[\n", err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (put_entry(b, &e[i], err) < 0 ||
		    kin_buf_adds(b, i + 1 < n ? ",\n" : "\n", err) < 0)
			return -1;
	return kin_buf_adds(b, "]", err);
}

int
kin_ckpt_save(const char *path, const char *stream, int64_t barrier,
    const struct kin_ckpt_entry *e, size_t n, char *err)
{
	struct kin_buf b, tmp;
	struct stat st;
	int fd = -1, rc = -1;

	/* the rename would replace a planted link, not follow it; still,
	 * say so rather than quietly turning it into a file */
	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
		return kin_seterr(err, "checkpoint '%s' is a symbolic link: "
		    "refused", path);
	kin_buf_init(&b, CKPT_MAX_BYTES);
	kin_buf_init(&tmp, 4096);
	if (kin_buf_adds(&b, "{\"kin\":\"checkpoint\",\"version\":1,\"stream\":",
	    err) < 0 || kin_json_put_str(&b, stream, strlen(stream), err) < 0 ||
	    (barrier >= 0 && kin_buf_printf(&b, err, ",\"barrier\":%" PRId64,
	    barrier) < 0) ||
	    kin_buf_adds(&b, ",\"shards\":", err) < 0 ||
	    kin_ckpt_put_shards(&b, e, n, err) < 0)
		goto out;
	if (kin_buf_adds(&b, "}\n", err) < 0 ||
	    kin_buf_reserve(&tmp, strlen(path) + 16, err) < 0)
		goto out;
	/* a fresh unique name, O_EXCL, 0600: never a planted file or link */
	fd = kin_open_temp(path, tmp.p, tmp.cap);
	if (fd < 0) {
		kin_seterrno(err, errno, "cannot create '%s.tmp'", path);
		goto out;
	}
	tmp.len = strlen(tmp.p);
	for (size_t off = 0; off < b.len;) {
		ssize_t k = write(fd, b.p + off, b.len - off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			kin_seterrno(err, errno, "cannot write '%s'", tmp.p);
			goto out;
		}
		off += (size_t)k;
	}
	if (fsync(fd) < 0) {
		kin_seterrno(err, errno, "cannot fsync '%s'", tmp.p);
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		kin_seterrno(err, errno, "cannot close '%s'", tmp.p);
		goto out;
	}
	fd = -1;
	if (rename(tmp.p, path) < 0) {
		kin_seterrno(err, errno, "cannot rename '%s' to '%s'", tmp.p,
		    path);
		goto out;
	}
	tmp.len = 0;
	if (fsync_dir(path) < 0) {
		kin_seterrno(err, errno, "cannot fsync the directory of '%s'",
		    path);
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	/* a unique temp name left behind would never be reused: remove it */
	if (rc < 0 && tmp.len > 0)
		unlink(tmp.p);
	kin_buf_release(&tmp);
	kin_buf_release(&b);
	return rc;
}

int
kin_ckpt_lock(const char *path, int *fd, char *err)
{
	char lk[4096];
	int f;

	*fd = -1;
	if ((size_t)snprintf(lk, sizeof lk, "%s.lock", path) >= sizeof lk)
		return kin_seterr(err, "checkpoint '%s': name too long", path);
	f = open(lk, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (f < 0)
		return kin_seterrno(err, errno, "cannot open lock '%s'", lk);
	if (flock(f, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;

		close(f);
		if (e == EWOULDBLOCK)
			return 0;
		return kin_seterrno(err, e, "cannot lock '%s'", lk);
	}
	*fd = f;
	return 1;
}

void
kin_ckpt_unlock(int fd)
{
	if (fd >= 0)
		close(fd);   /* the flock goes with the last descriptor */
}

int
kin_ckpt_lock_free(const char *path, char *err)
{
	int fd, rc = kin_ckpt_lock(path, &fd, err);

	if (rc == 1)
		kin_ckpt_unlock(fd);
	return rc;
}
