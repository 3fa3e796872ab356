/* eventstream.h — an incremental decoder of the AWS event-stream framing
 * (application/vnd.amazon.eventstream), as SubscribeToShard answers with:
 *
 *   total length u32 | headers length u32 | prelude CRC32 u32 |
 *   headers | payload | message CRC32 u32        (all big-endian)
 *
 * A header is: name length u8, name, type u8, value by type (0 true, 1
 * false, 2 byte, 3 short, 4 int, 5 long, 6 bytes and 7 string with a u16
 * length, 8 timestamp in epoch milliseconds, 9 uuid of 16 bytes).  Both CRCs
 * are the CRC-32 of ISO-HDLC (zlib's), the prelude's over its first 8 bytes,
 * the message's over everything before it.
 * Ownership: struct kin_es is the caller's (init/release).  A message handed
 * out by kin_es_next() points into the decoder's buffer and stays valid
 * until the next kin_es_feed() or kin_es_next() on that decoder. */
#ifndef KIN_EVENTSTREAM_H
#define KIN_EVENTSTREAM_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define KIN_ES_PRELUDE 12
#define KIN_ES_MIN_MESSAGE 16                /* prelude + message CRC */
#define KIN_ES_MAX_HEADERS_BYTES (128 * 1024) /* the format's own limit */
#define KIN_ES_DEFAULT_MAX (32u << 20)       /* ceiling on one message */

/* CRC-32 (reflected 0xEDB88320, init and final xor ~0): start with crc 0,
 * feed the running value back in to continue over more bytes. */
uint32_t kin_crc32(uint32_t crc, const void *p, size_t n);

enum kin_es_type {
	KIN_ES_TRUE = 0,
	KIN_ES_FALSE = 1,
	KIN_ES_BYTE = 2,
	KIN_ES_SHORT = 3,
	KIN_ES_INT = 4,
	KIN_ES_LONG = 5,
	KIN_ES_BYTES = 6,
	KIN_ES_STRING = 7,
	KIN_ES_TIMESTAMP = 8,
	KIN_ES_UUID = 9,
};

struct kin_es_header {
	const char *name;       /* not NUL-terminated */
	size_t name_len;
	enum kin_es_type type;
	int64_t num;            /* TRUE/FALSE (1/0), BYTE, SHORT, INT, LONG,
	                           TIMESTAMP (ms), sign-extended */
	const unsigned char *val; /* BYTES, STRING (not NUL-terminated), UUID */
	size_t len;             /* of val (16 for UUID) */
};

struct kin_es_msg {
	const struct kin_es_header *h;
	size_t nh;
	const unsigned char *payload;
	size_t len;
	uint32_t total;         /* bytes the message took on the wire */
};

struct kin_es {
	struct kin_buf in;      /* bytes fed and not yet handed out */
	size_t used;            /* of in: the message last handed out */
	size_t max;             /* ceiling on one message's total length */
	struct kin_es_header *h;
	size_t hcap;
	int broken;             /* a framing error: the stream cannot go on */
	char why[200];          /* what broke it */
	unsigned long long messages;
};

/* max: ceiling on one message (0 = KIN_ES_DEFAULT_MAX). */
void kin_es_init(struct kin_es *d, size_t max);
void kin_es_release(struct kin_es *d);
/* Forget buffered bytes and a past error (for a new stream). */
void kin_es_reset(struct kin_es *d);

/* Append bytes from the wire, any split.  -1 with err after a framing
 * error (earlier or found now) or when memory runs out. */
int kin_es_feed(struct kin_es *d, const void *p, size_t n, char *err);
/* The next whole message: 1 and *m filled, 0 when more bytes are needed,
 * -1 with err on a framing error ("event stream: message 3: prelude CRC
 * 0x... does not match 0x..."), after which the decoder stays broken. */
int kin_es_next(struct kin_es *d, struct kin_es_msg *m, char *err);
/* Bytes buffered and not yet handed out (a partial message at the end of
 * a stream means it was cut short). */
size_t kin_es_pending(const struct kin_es *d);

/* The first header called name, or NULL. */
const struct kin_es_header *kin_es_find(const struct kin_es_msg *m,
    const char *name);
/* 1 if the header name is a string (or bytes) equal to s. */
int kin_es_is(const struct kin_es_msg *m, const char *name, const char *s);
/* The string value of header name copied into out (n bytes, truncated,
 * NUL-terminated); "" when absent or not a string.  Returns out. */
const char *kin_es_str(const struct kin_es_msg *m, const char *name,
    char *out, size_t n);

#endif
