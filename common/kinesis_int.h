/* kinesis_int.h — internal to the library's Kinesis modules (kinesis*.c,
 * efo*.c; kinesis_body.c implements it): building request bodies and
 * reading responses.  Not for programs; use kinesis.h. */
#ifndef KIN_KINESIS_INT_H
#define KIN_KINESIS_INT_H

#include <stdint.h>
#include "kinesis.h"

/* Append "key":value to the JSON object being built in b ('{' and ','
 * as needed); kin_body_end closes it. */
int kin_body_str(struct kin_buf *b, const char *key, const char *val,
    char *err);
int kin_body_int(struct kin_buf *b, const char *key, long long v, char *err);
int kin_body_raw(struct kin_buf *b, const char *key, const char *raw,
    char *err);
int kin_body_end(struct kin_buf *b, char *err);

/* Parse c->resp into c->json; it must be an object.  -1 with ae/err
 * ("Op('subject'): bad response: why") otherwise. */
int kin_resp_json(struct kin_client *c, const char *op, const char *subject,
    struct kin_awserr *ae, char *err);
int kin_bad_response(const char *op, const char *subject, const char *why,
    struct kin_awserr *ae, char *err);
/* String field as a malloc'd copy; *out NULL when absent or null. */
int kin_field_dup(const struct kin_json *j, int obj, const char *key,
    char **out, char *err);
/* Integer field; -1 when absent or not an integer. */
int kin_field_int(const struct kin_json *j, int obj, const char *key,
    int64_t *out);

#endif
