/* page.h — one GetRecords answer as kin-read uses it.  A fast path parses
 * the plain shape the service and kinesalite send in one pass; anything
 * else (escapes, non-ASCII keys, ChildShards, unknown fields, bad JSON) goes
 * to the library's full parser, kin_get_records_parse, so both give the
 * same records and the fast path can only ever be a shortcut.
 * Ownership: struct page is the caller's (init/release); records point into
 * its own store or into its kin_records, valid until the next page_parse. */
#ifndef KIN_READ_PAGE_H
#define KIN_READ_PAGE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "json.h"
#include "kinesis.h"

struct page {
	const struct kin_record *r;
	size_t n;
	const char *next_iter;          /* NULL: the shard is closed and read */
	int64_t millis_behind;          /* -1 if absent */
	const struct kin_child_shard *children;
	size_t nchildren;
	int fast;                       /* 1 if the fast path parsed it */
	/* the fast path's memory */
	struct kin_record *fr;
	size_t fcap;
	struct kin_buf store;
	/* the full parser's */
	struct kin_records rs;
	struct kin_json json;
};

void page_init(struct page *pg);
void page_release(struct page *pg);
/* Parse body[0..len) (NUL after it).  0, or -1 with err when it is not a
 * GetRecords answer. */
int page_parse(struct page *pg, const char *body, size_t len, char *err);
/* Only the fast path: 0 parsed, 1 not its shape (pg is then empty). For
 * tests and the benchmark. */
int page_parse_fast(struct page *pg, const char *body, size_t len);

#endif
