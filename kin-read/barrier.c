/* barrier.c — restore at the start, barriers while reading, and watching
 * the checkpoint file that kin-write commits them to (barrier.h). */
#include "barrier.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt.h"
#include "control.h"
#include "err.h"

#define LINE_MAX_BYTES (64u * 1024 * 1024)

void
barriers_init(struct barriers *b, const char *path, const char *stream,
    struct table *t, struct writer *w, int64_t committed)
{
	memset(b, 0, sizeof *b);
	b->path = path;
	b->stream = stream;
	b->t = t;
	b->w = w;
	b->committed = committed;
	b->emitted = -1;
	b->mi_barriers = -1;
	kin_buf_init(&b->line, LINE_MAX_BYTES);
	/* what kin-read loaded at the start counts as read */
	if (stat(path, &b->seen) < 0)
		memset(&b->seen, 0, sizeof b->seen);
}

void
barriers_release(struct barriers *b)
{
	kin_buf_release(&b->line);
}

static int
make_restore(void *ctx, struct kin_buf *out, char *err)
{
	const struct barriers *b = ctx;

	return kin_ctl_put_restore(out, b->committed, err);
}

int
barriers_start(struct barriers *b, int *busy, char *err)
{
	int rc;

	*busy = 0;
	rc = kin_ckpt_lock_free(b->path, err);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		*busy = 1;
		return kin_seterr(err, "checkpoint '%s' is in use: a kin-write "
		    "holds '%s.lock' (another pipeline on the same checkpoint, "
		    "or the last one still finishing)", b->path, b->path);
	}
	return writer_control(b->w, &b->line, make_restore, b, err);
}

static int
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev &&
	    a->st_size == b->st_size &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Each shard's position in the barrier just committed (what the leases
 * may be told, with --lease-table). */
static void
note_committed(struct table *t, const struct kin_ckpt *c)
{
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < c->n; i++) {
		struct shard *s = table_find_locked(t, c->e[i].id);
		if (s == NULL)
			continue;
		s->committed_done = c->e[i].done;
		if (!c->e[i].done)
			s->committed = c->e[i].pos;
	}
	pthread_mutex_unlock(&t->lock);
}

int
barriers_poll(struct barriers *b, char *err)
{
	struct stat st;
	struct kin_ckpt c;
	int rc;

	if (stat(b->path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return kin_seterrno(err, errno, "checkpoint '%s'", b->path);
	}
	if (same_file(&st, &b->seen))
		return 0;
	kin_ckpt_init(&c);
	rc = kin_ckpt_load(&c, b->path, err);
	if (rc == 1) {
		/* kin-write replaces the file whole (rename), so what was
		 * read is one commit */
		if (c.barrier > b->committed) {
			b->committed = c.barrier;
			note_committed(b->t, &c);
		}
		b->seen = st;
	}
	kin_ckpt_release(&c);
	return rc < 0 ? -1 : 0;
}

int
barriers_ready(const struct barriers *b)
{
	return b->emitted < 0 || b->committed >= b->emitted;
}

struct make_ctx {
	struct barriers *b;
	int64_t id;
};

/* Under the writer's hold: the positions of every record written. */
static int
make_barrier(void *ctx, struct kin_buf *out, char *err)
{
	struct make_ctx *m = ctx;
	struct kin_ckpt_entry *e;
	size_t n;
	int rc;

	if (table_snapshot(m->b->t, &e, &n) < 0)
		return kin_seterr(err, "out of memory");
	rc = kin_ctl_put_barrier(out, m->id, m->b->stream, e, n, err);
	free(e);
	return rc;
}

int
barriers_emit(struct barriers *b, char *err)
{
	struct make_ctx m;
	int64_t base = b->emitted >= 0 ? b->emitted : b->committed;

	m.b = b;
	m.id = (base >= 0 ? base : 0) + 1;
	if (writer_control(b->w, &b->line, make_barrier, &m, err) < 0)
		return -1;
	b->emitted = m.id;
	b->emitted_us = mono_us();
	b->warned = 0;
	if (b->met != NULL)
		kin_metrics_add(b->met, b->mi_barriers, 1);
	return 0;
}
