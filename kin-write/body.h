/* body.h — kin-write's PutRecords body builder.  The same bytes as the
 * library's kin_put_records_body() for the same records, without checking
 * keys and sizes again (input.c and batch.c did). */
#ifndef KW_BODY_H
#define KW_BODY_H

#include <stddef.h>
#include "buf.h"
#include "kw.h"

/* b = {"StreamName":stream,"Records":[k[0..n)]}; -1 with err when b's
 * ceiling is too low. */
int kw_put_body(struct kin_buf *b, const char *stream,
    struct krec *const *k, size_t n, char *err);

#endif
