/* input.h — reading records from stdin and files: one record per delimiter,
 * keys and explicit hash keys, -J envelopes, control lines.
 * Ownership: struct input is the caller's (input_init/input_release); an
 * in_item's pointers stay valid until the next input_next(). */
#ifndef KW_INPUT_H
#define KW_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "json.h"
#include "kw.h"
#include "lines.h"

struct input_opts {
	int envelope;            /* -J */
	int delim;               /* '\n', 0 for -0, or -D */
	int keep_newline;        /* put the delimiter after the data */
	const char *key;         /* -k CONST */
	const char *key_field;   /* -K FIELD */
	int random_key;          /* --random-key */
	const char *hash_field;  /* --hash-key-field FIELD */
	int64_t ttl_us;          /* --record-ttl, 0 = forever */
};

enum in_rc {
	IN_REC,        /* item.u: a record (caller owns it) */
	IN_BAD,        /* a line that cannot be put: item.reason etc. */
	IN_CONTROL,    /* a control line: item.ctype, item.data/len = line */
	IN_AGAIN,      /* nothing buffered: poll item.fd, call again */
	IN_EOF,        /* every input is read */
	IN_ERR,        /* read error: err filled */
};

struct in_item {
	struct urec *u;
	const char *reason;      /* IN_BAD: "too-large", "bad-key", ... */
	const char *data;        /* IN_BAD: the line (NULL if not kept) */
	size_t len;
	const char *key;         /* IN_BAD: the key if one was found */
	const char *src;         /* input name, "-" for stdin */
	long long lineno;
	int fd;                  /* IN_AGAIN: what to poll */
	/* the texts last: input_next() clears only their first byte */
	char ctype[32];          /* IN_CONTROL: "barrier", "end", ... */
	char msg[256];           /* IN_BAD: why, for the warning */
};

#define KW_KEY_POOL 1024   /* power of two */

struct input {
	const struct input_opts *o;
	char **files;
	int nfiles, next;
	const char *src;
	int fd;                  /* -1 when none is open */
	int restore_fl;          /* flags to put back on a non-blocking fd */
	int fl_changed;
	struct kin_lines lines;
	int lines_init;
	uint64_t seq;            /* records given out */
	uint64_t epoch;          /* barriers seen */
	struct kin_json js;
	struct kin_buf data, key, hash;
	uint64_t rng;
	uint64_t poolseed;         /* key i is hex(poolseed ^ i * odd) */
	kw_u128 pool[KW_KEY_POOL]; /* their hashes */
	char poolkey[KW_KEY_POOL][17];   /* and their text */
};

/* files: operands (NULL/0 for stdin only).  Checks that each can be
 * opened; -1 with err naming the first that cannot. */
int input_init(struct input *in, const struct input_opts *o, char **files,
    int nfiles, char *err);
void input_release(struct input *in);
enum in_rc input_next(struct input *in, struct in_item *it, char *err);

#endif
