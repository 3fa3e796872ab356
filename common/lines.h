/* lines.h — record reader for stdin and files: one record per delimiter,
 * with a ceiling on the record length, and distinct outcomes.
 * Ownership: struct kin_lines is the caller's; init opens nothing (the
 * caller owns fd), release frees the buffer. */
#ifndef KIN_LINES_H
#define KIN_LINES_H

#include <stddef.h>

enum kin_lines_rc {
	KIN_LINE_OK = 1,       /* rec and len hold one record, delimiter
	                          removed */
	KIN_LINE_EOF = 0,      /* no more input */
	KIN_LINE_ERR = -1,     /* read error, err filled; stop */
	KIN_LINE_TOOLONG = -2, /* record over the ceiling: skipped to its end,
	                          lineno names it; the caller reports and goes on */
	KIN_LINE_AGAIN = -3,   /* fd is non-blocking and no whole record is
	                          buffered yet: poll and call again */
};

struct kin_lines {
	int fd;
	int delim;            /* '\n' by default, 0 for -0 */
	size_t max;           /* ceiling on one record */
	char *buf;
	size_t cap, start, end;
	size_t scan;          /* bytes from start known to hold no delimiter */
	long long lineno;     /* number of the record last returned (1-based) */
	int eof;
	int skipping;         /* inside a record past the ceiling */
	int had_delim;        /* 1 if the last record ended with the delimiter */
};

/* The buffer (allocated on the first read) starts at 256 KiB and grows,
 * when a record needs it, up to max + 1 bytes.  A last record without a delimiter is still returned,
 * with had_delim 0; CR is data.  EINTR is retried inside. */
void kin_lines_init(struct kin_lines *l, int fd, int delim, size_t max);
void kin_lines_release(struct kin_lines *l);
/* The record stays valid until the next call. */
int kin_lines_next(struct kin_lines *l, const char **rec, size_t *len,
    char *err);
/* Bytes already buffered but not yet returned (for poll()-driven callers:
 * call kin_lines_next while this is non-zero before polling again). */
size_t kin_lines_pending(const struct kin_lines *l);

#endif
