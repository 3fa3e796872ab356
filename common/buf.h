/* buf.h — a growing byte buffer with a ceiling (curl's dynbuf "toobig").
 * Ownership: the struct is the caller's; kin_buf_init() sets it up empty,
 * kin_buf_release() frees the bytes.  p is always NUL-terminated when
 * non-NULL, so text can be used as a C string. */
#ifndef KIN_BUF_H
#define KIN_BUF_H

#include <stddef.h>
#include <stdarg.h>

struct kin_buf {
	char *p;
	size_t len;
	size_t cap;
	size_t max;   /* ceiling on len; appends past it fail */
};

void kin_buf_init(struct kin_buf *b, size_t max);
void kin_buf_release(struct kin_buf *b);
void kin_buf_reset(struct kin_buf *b);          /* len = 0, keeps memory */
/* Each returns 0, or -1 (and sets err if non-NULL) when the ceiling or
 * memory ran out; the buffer is unchanged on failure. */
int kin_buf_reserve(struct kin_buf *b, size_t more, char *err);
int kin_buf_add(struct kin_buf *b, const void *p, size_t n, char *err);
int kin_buf_addc(struct kin_buf *b, char c, char *err);
int kin_buf_adds(struct kin_buf *b, const char *s, char *err);
int kin_buf_printf(struct kin_buf *b, char *err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Hand the bytes to the caller (who frees them) and reset the buffer. */
char *kin_buf_detach(struct kin_buf *b, size_t *len);

#endif
