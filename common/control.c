/* control.c — building and reading control lines (control.h).  A barrier
 * line holds one entry per shard, so it is written on one line however
 * many shards there are (the checkpoint file's line breaks are dropped). */
#include "control.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "json.h"

/* Tokens for a barrier: about seven a shard. */
#define CTL_MAX_TOKENS (8 * 1024 * 1024)

void
kin_ctl_init(struct kin_ctl *c)
{
	memset(c, 0, sizeof *c);
	c->id = -1;
	kin_ckpt_init(&c->pos);
}

void
kin_ctl_release(struct kin_ctl *c)
{
	kin_ckpt_release(&c->pos);
	memset(c, 0, sizeof *c);
	c->id = -1;
	kin_ckpt_init(&c->pos);
}

int
kin_ctl_parse(struct kin_ctl *c, const char *line, size_t len, int positions,
    char *err)
{
	struct kin_json j;
	char why[KIN_ERRLEN];
	const char *p;
	size_t n;
	int t, rc = -1;

	kin_ctl_release(c);
	if (!kin_ctl_is(line, len))
		return kin_seterr(err, "control line: does not begin with 0x1E");
	kin_json_init(&j, CTL_MAX_TOKENS);
	if (kin_json_parse(&j, line + 1, len - 1, why) < 0) {
		kin_seterr(err, "control line: %s", why);
		goto out;
	}
	if (j.tok[0].type != JSMN_OBJECT ||
	    (t = kin_json_get(&j, 0, "kin")) < 0 ||
	    j.tok[t].type != JSMN_STRING) {
		kin_seterr(err, "control line: no \"kin\" type");
		goto out;
	}
	p = kin_json_raw(&j, t, &n);
	if (n >= sizeof c->name)
		n = sizeof c->name - 1;
	memcpy(c->name, p, n);
	c->name[n] = '\0';
	if (strcmp(c->name, "barrier") == 0)
		c->type = KIN_CTL_BARRIER;
	else if (strcmp(c->name, "restore") == 0)
		c->type = KIN_CTL_RESTORE;
	else if (strcmp(c->name, "end") == 0)
		c->type = KIN_CTL_END;
	else
		c->type = KIN_CTL_OTHER;
	if ((t = kin_json_get(&j, 0, "id")) >= 0 &&
	    !(j.tok[t].type == JSMN_PRIMITIVE && line[1 + j.tok[t].start] == 'n')) {
		c->has_id = 1;
		c->id_raw = kin_json_raw(&j, t, &c->id_rawlen);
		if (j.tok[t].type == JSMN_STRING) {
			c->id_raw--;          /* with its quotes */
			c->id_rawlen += 2;
		}
		if (j.tok[t].type != JSMN_PRIMITIVE ||
		    kin_json_int64(&j, t, &c->id, why) < 0 || c->id < 0)
			c->id = -1;
	}
	if (c->type == KIN_CTL_BARRIER && positions) {
		if (c->id < 0) {
			kin_seterr(err, "barrier: \"id\" is not a whole number");
			goto out;
		}
		if ((t = kin_json_get(&j, 0, "stream")) < 0 ||
		    j.tok[t].type != JSMN_STRING ||
		    (c->pos.stream = kin_json_strdup(&j, t, why)) == NULL) {
			kin_seterr(err, "barrier %" PRId64 ": no \"stream\"",
			    c->id);
			goto out;
		}
		if ((t = kin_json_get(&j, 0, "shards")) < 0 ||
		    kin_ckpt_parse_shards(&c->pos, &j, t, why) < 0) {
			kin_seterr(err, "barrier %" PRId64 ": %s", c->id,
			    t < 0 ? "no \"shards\" list" : why);
			goto out;
		}
		c->pos.barrier = c->id;
	}
	rc = 0;
out:
	kin_json_release(&j);
	if (rc < 0)
		kin_ctl_release(c);
	return rc;
}

static int
put_open(struct kin_buf *b, const char *type, char *err)
{
	return kin_buf_printf(b, err, "%c{\"kin\":\"%s\"", KIN_CTL_RS, type);
}

int
kin_ctl_put_barrier(struct kin_buf *b, int64_t id, const char *stream,
    const struct kin_ckpt_entry *e, size_t n, char *err)
{
	size_t start = b->len;

	if (put_open(b, "barrier", err) < 0 ||
	    kin_buf_printf(b, err, ",\"id\":%" PRId64 ",\"stream\":", id) < 0 ||
	    kin_json_put_str(b, stream, strlen(stream), err) < 0 ||
	    kin_buf_adds(b, ",\"shards\":", err) < 0 ||
	    kin_ckpt_put_shards(b, e, n, err) < 0 ||
	    kin_buf_adds(b, "}\n", err) < 0)
		goto fail;
	/* one line: the list's own line breaks go */
	size_t k = start;
	for (size_t i = start; i < b->len; i++)
		if (b->p[i] != '\n' || i + 1 == b->len)
			b->p[k++] = b->p[i];
	b->len = k;
	b->p[k] = '\0';
	return 0;
fail:
	b->len = start;
	if (b->p != NULL)
		b->p[start] = '\0';
	return -1;
}

int
kin_ctl_put_restore(struct kin_buf *b, int64_t id, char *err)
{
	if (id < 0)
		return kin_buf_printf(b, err, "%c{\"kin\":\"restore\"}\n",
		    KIN_CTL_RS);
	return kin_buf_printf(b, err, "%c{\"kin\":\"restore\",\"id\":%" PRId64
	    "}\n", KIN_CTL_RS, id);
}

int
kin_ctl_put_end(struct kin_buf *b, char *err)
{
	return kin_buf_printf(b, err, "%c{\"kin\":\"end\"}\n", KIN_CTL_RS);
}
