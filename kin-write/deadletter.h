/* deadletter.h — records kin-write could not deliver, one JSON line each:
 * {"reason":R,"code":C,"message":M,"file":F,"line":N,"key":K,"hash":H,
 *  "data":D | "data_b64":B}
 * D is the data itself when it is a JSON object, array, number, true, false
 * or null on one line, a JSON string otherwise; B (base64) when the data is
 * not UTF-8.  The line is also a kin-write -J envelope, so a dead-letter
 * file can be put again with `kin-write -J`.
 * Ownership: struct deadletter is the caller's (dl_open/dl_close). */
#ifndef KW_DEADLETTER_H
#define KW_DEADLETTER_H

#include <stddef.h>
#include "buf.h"

struct deadletter {
	int fd;                /* the file, or 2 for stderr */
	char *path;            /* NULL for stderr */
	struct kin_buf line;
	unsigned long long count;
};

struct dl_rec {
	const char *reason;    /* "expired", "rejected", "too-large", ... */
	const char *code;      /* AWS error code or "" */
	const char *message;   /* or "" */
	const char *src;       /* input name, NULL or "-" for stdin */
	long long lineno;      /* 0 = unknown */
	const char *key;       /* NULL if none */
	const char *hash;      /* explicit hash key or NULL */
	const char *data;      /* NULL when the data was not kept */
	size_t len;
};

/* path NULL: stderr.  Opens for appending, mode 0600. */
int dl_open(struct deadletter *d, const char *path, char *err);
/* One line, written with one write(2) loop.  -1 with err on failure: the
 * record could not be kept, which the caller must treat as fatal. */
int dl_put(struct deadletter *d, const struct dl_rec *r, char *err);
/* fsync (for a file) and close.  -1 with err on failure. */
int dl_close(struct deadletter *d, char *err);

/* Append "data" or "data_b64" as the dead-letter (and -J) form writes it. */
int dl_put_data(struct kin_buf *b, const char *data, size_t len, char *err);

#endif
