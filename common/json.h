/* json.h — reading JSON with jsmn, writing it with correct escapes.
 * Ownership: struct kin_json is the caller's; kin_json_init() sets a token
 * ceiling, kin_json_release() frees the token array.  Tokens point into the
 * text given to kin_json_parse(), which must outlive the lookups. */
#ifndef KIN_JSON_H
#define KIN_JSON_H

#include <stddef.h>
#include <stdint.h>

/* Strict mode everywhere (primitives are numbers, true, false, null; no
 * bare keys); parent links on.  jsmn_impl.c compiles the implementation. */
#define JSMN_STRICT
#define JSMN_PARENT_LINKS  /* closing an object is O(1) instead of a scan back over all tokens */
#ifndef KIN_JSMN_IMPL
#define JSMN_HEADER
#endif
#include <jsmn.h>

#include "buf.h"

struct kin_json {
	jsmntok_t *tok;
	int ntok;       /* tokens filled by the last parse */
	int cap;        /* allocated */
	int max;        /* ceiling */
	const char *js;
	size_t len;
};

void kin_json_init(struct kin_json *j, int max_tokens);
void kin_json_release(struct kin_json *j);
/* Parse a whole JSON text (grows the token array up to the ceiling).  The
 * text is first checked against RFC 8259 (one value, blanks around it,
 * valid UTF-8, nesting up to 1000 deep), which jsmn alone does not do.
 * Returns 0, or -1 with err ("json: invalid at byte N", "json: more than N
 * tokens"). */
int kin_json_parse(struct kin_json *j, const char *js, size_t len, char *err);

/* Index of the token after the subtree at i (for walking arrays/objects). */
int kin_json_skip(const struct kin_json *j, int i);
/* Value token of key in the object at obj, or -1. */
int kin_json_get(const struct kin_json *j, int obj, const char *key);
/* n-th element of the array at arr, or -1. */
int kin_json_at(const struct kin_json *j, int arr, int n);
/* Token text as-is (for primitives and raw strings). */
const char *kin_json_raw(const struct kin_json *j, int i, size_t *len);
/* 1 if token i is the string (or key) equal to s, byte for byte, before
 * unescaping (fine for ASCII keys). */
int kin_json_eq(const struct kin_json *j, int i, const char *s);

/* Unescape the string token i into out (appended); \uXXXX with surrogate
 * pairs (a lone surrogate is an error); fails on bad escapes and invalid
 * UTF-8.  \u0000 gives a NUL byte. */
int kin_json_str(const struct kin_json *j, int i, struct kin_buf *out,
    char *err);
/* Same on a raw slice without the quotes. */
int kin_json_unescape(const char *s, size_t n, struct kin_buf *out, char *err);
/* Unescaped string as a new malloc'd C string (caller frees), or NULL with
 * err.  Embedded NULs are an error here. */
char *kin_json_strdup(const struct kin_json *j, int i, char *err);
/* Number tokens only (a numeric string is not a number here); int64 wants
 * a whole number without fraction or exponent, within range. */
int kin_json_num(const struct kin_json *j, int i, double *out, char *err);
int kin_json_int64(const struct kin_json *j, int i, int64_t *out, char *err);
int kin_json_bool(const struct kin_json *j, int i, int *out, char *err);

/* 1 if s[0..n) is valid UTF-8 (no overlongs, no surrogates). */
int kin_utf8_valid(const char *s, size_t n);
/* 1 if s[0..n) is exactly one JSON value with nothing but blanks around,
 * valid UTF-8 included (so it can be embedded in output as it is). */
int kin_json_is_value(const char *s, size_t n);

/* Writer: append a quoted, escaped JSON string.  Bytes that are not valid
 * UTF-8 are written as \ufffd (use base64 when bytes must survive). */
int kin_json_put_str(struct kin_buf *b, const char *s, size_t n, char *err);
/* Append a double as JSON (shortest round-trip form; nan/inf as null). */
int kin_json_put_num(struct kin_buf *b, double v, char *err);

#endif
