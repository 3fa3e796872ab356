/* resp.h — a PutRecords answer read in one pass, without a token array:
 * the library's kin_put_records_parse() tokenizes and validates the whole
 * text, which costs more than everything else kin-write does per record.
 * Anything this scanner does not expect makes it give up (-1), and the
 * caller falls back to kin_put_records_parse(). */
#ifndef KW_RESP_H
#define KW_RESP_H

#include <stddef.h>

struct kw_result {
	int ok;                 /* SequenceNumber and no ErrorCode */
	const char *shard;      /* ShardId, pointing into the body, or NULL */
	size_t shardlen;
	char code[64];          /* ErrorCode (failed records only) */
	char msg[192];          /* ErrorMessage (failed records only) */
};

/* res[0..n); *failed = records that are not ok.  -1 when the body is not
 * the plain JSON object expected for n records. */
int kw_parse_put_response(const char *body, size_t len, size_t n,
    struct kw_result *res, int *failed);

#endif
