/* control.h — control lines between the programs of a pipeline (DESIGN.md
 * sections 1 and 4): a line that begins with the byte 0x1E (RS, as in
 * RFC 7464) followed by one JSON object with a "kin" member naming its type:
 *
 *   \x1e{"kin":"barrier","id":7,"stream":"S","shards":[...]}
 *       kin-read's shard positions after every record before it (the
 *       "shards" list has the checkpoint file's per-shard forms, ckpt.h);
 *   \x1e{"kin":"restore","id":7}
 *       the pipeline starts again from barrier 7 (kin-window loads that
 *       barrier's state); without "id" (or with "id":null) it starts from
 *       nothing: no state;
 *   \x1e{"kin":"end"}
 *       the input ended normally (-e, --until, -c): what is open may close.
 *
 * Types this does not know come back as KIN_CTL_OTHER with their name, to
 * be passed on unchanged.  Ownership: struct kin_ctl is the caller's
 * (kin_ctl_init, kin_ctl_parse ..., kin_ctl_release); a parse replaces what
 * it held. */
#ifndef KIN_CONTROL_H
#define KIN_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "ckpt.h"

#define KIN_CTL_RS 0x1e

enum kin_ctl_type {
	KIN_CTL_OTHER = 0,
	KIN_CTL_BARRIER,
	KIN_CTL_RESTORE,
	KIN_CTL_END,
};

struct kin_ctl {
	enum kin_ctl_type type;
	char name[32];         /* the "kin" value, truncated */
	int has_id;            /* "id" is there and not null */
	int64_t id;            /* when it is a whole number >= 0, else -1 */
	const char *id_raw;    /* its JSON text as written (into the line) */
	size_t id_rawlen;
	struct kin_ckpt pos;   /* barrier with positions: stream and shards */
};

void kin_ctl_init(struct kin_ctl *c);
void kin_ctl_release(struct kin_ctl *c);
/* 1 if the line (without its newline) is a control line. */
static inline int
kin_ctl_is(const char *line, size_t len)
{
	return len > 0 && (unsigned char)line[0] == KIN_CTL_RS;
}
/* Parse a control line (with its RS, without the newline).  With
 * positions, a barrier's "stream" and "shards" are read into c->pos (and
 * must be there).  id_raw points into line.  0, or -1 with err when it is
 * not a control line of this shape. */
int kin_ctl_parse(struct kin_ctl *c, const char *line, size_t len,
    int positions, char *err);

/* Append a control line with its newline. */
int kin_ctl_put_barrier(struct kin_buf *b, int64_t id, const char *stream,
    const struct kin_ckpt_entry *e, size_t n, char *err);
/* id < 0: a restore from nothing. */
int kin_ctl_put_restore(struct kin_buf *b, int64_t id, char *err);
int kin_ctl_put_end(struct kin_buf *b, char *err);

#endif
