/* base64.h — standard alphabet, padded (what Kinesis' JSON protocol uses). */
#ifndef KIN_BASE64_H
#define KIN_BASE64_H

#include <stddef.h>
#include "buf.h"

size_t kin_b64_enclen(size_t n);
/* Append the encoding of p[0..n) to out. */
int kin_b64_encode(struct kin_buf *out, const void *p, size_t n, char *err);
/* Append the decoding of s[0..n) to out; rejects bad characters and bad
 * padding. */
int kin_b64_decode(struct kin_buf *out, const char *s, size_t n, char *err);

#endif
