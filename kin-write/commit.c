/* commit.c — barriers committed to the checkpoint file (commit.h). */
#include "commit.h"

#include <inttypes.h>
#include <string.h>

#include "ckpt.h"
#include "control.h"

void
commit_init(struct commit *c, const char *path)
{
	memset(c, 0, sizeof *c);
	c->path = path;
	c->lock_fd = -1;
	c->last = -1;
}

void
commit_release(struct commit *c)
{
	kin_ckpt_unlock(c->lock_fd);
	c->lock_fd = -1;
}

static int
fail(struct commit *c, int status)
{
	c->fatal = status;
	return -1;
}

int
commit_control(struct commit *c, const char *line, size_t len)
{
	struct kin_ctl k;
	char err[KIN_ERRLEN];
	int rc;

	kin_ctl_init(&k);
	if (kin_ctl_parse(&k, line, len, 0, err) < 0) {
		kin_ctl_release(&k);
		return 0;              /* not ours: passed over */
	}
	if (k.type == KIN_CTL_END)
		c->ended = 1;
	if (k.type == KIN_CTL_BARRIER || k.type == KIN_CTL_RESTORE) {
		c->mode = 1;
		c->ended = 0;          /* a new run needs its own end */
	}
	kin_ctl_release(&k);
	if (!c->mode || c->path == NULL || c->lock_fd >= 0)
		return 0;
	rc = kin_ckpt_lock(c->path, &c->lock_fd, err);
	if (rc == 1)
		return 0;
	if (rc == 0)
		kin_seterr(c->why, "checkpoint '%s' is in use: another "
		    "process holds '%s.lock' (two pipelines on one "
		    "checkpoint?)", c->path, c->path);
	else
		memcpy(c->why, err, KIN_ERRLEN);
	return fail(c, rc == 0 ? KIN_EX_TEMPFAIL : KIN_EX_IOERR);
}

int
commit_barrier(struct commit *c, const char *line, size_t len)
{
	struct kin_ctl k;
	char err[KIN_ERRLEN];
	int rc = 0;

	if (c->path == NULL || c->fatal)
		return c->fatal ? -1 : 0;
	kin_ctl_init(&k);
	if (kin_ctl_parse(&k, line, len, 1, err) < 0) {
		kin_seterr(c->why, "cannot commit a barrier to '%s': %s",
		    c->path, err);
		rc = fail(c, KIN_EX_DATAERR);
	} else if (kin_ckpt_save(c->path, k.pos.stream, k.id, k.pos.e,
	    k.pos.n, err) < 0) {
		kin_seterr(c->why, "cannot commit barrier %" PRId64 ": %s",
		    k.id, err);
		rc = fail(c, KIN_EX_IOERR);
	} else {
		c->last = k.id;
		c->committed++;
	}
	kin_ctl_release(&k);
	return rc;
}
