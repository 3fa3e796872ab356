/* test_page.c — the GetRecords fast path gives exactly what the library's
 * parser gives, and steps aside for everything it does not handle. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "err.h"
#include "page.h"
#include "t.h"

enum { FAST, SLOW, FAIL };

/* Compare the fast path with kin_get_records_parse on body; want says
 * which of them must take it. */
static void
check(const char *name, const char *body, int want)
{
	struct page pg;
	struct kin_records rs;
	struct kin_json j;
	char err[KIN_ERRLEN];
	size_t len = strlen(body);
	int fast, slow;

	page_init(&pg);
	kin_records_init(&rs);
	kin_json_init(&j, 1 << 20);
	fast = page_parse_fast(&pg, body, len);
	slow = kin_get_records_parse(&j, body, len, &rs, err);
	T_CHECKF((fast == 0) == (want == FAST), "%s: fast path %s", name,
	    fast == 0 ? "took it" : "stepped aside");
	T_CHECKF((slow == 0) == (want != FAIL), "%s: library %s", name,
	    slow == 0 ? "parsed it" : err);
	if (fast == 0 && slow == 0) {
		T_CHECKF(pg.n == rs.n, "%s: %zu records, library %zu", name,
		    pg.n, rs.n);
		for (size_t i = 0; i < pg.n && i < rs.n; i++) {
			const struct kin_record *a = &pg.r[i], *b = &rs.r[i];
			T_CHECKF(a->len == b->len &&
			    memcmp(a->data, b->data, a->len) == 0,
			    "%s: record %zu data", name, i);
			T_CHECKF(a->data[a->len] == '\0', "%s: NUL", name);
			T_CHECKF(strcmp(a->key, b->key) == 0, "%s: key %zu",
			    name, i);
			T_CHECKF(strcmp(a->seq, b->seq) == 0, "%s: seq %zu",
			    name, i);
			T_CHECKF(a->arrival_ms == b->arrival_ms,
			    "%s: ts %" PRId64 " vs %" PRId64, name,
			    a->arrival_ms, b->arrival_ms);
		}
		T_CHECKF((pg.next_iter == NULL) == (rs.next_iter == NULL) &&
		    (pg.next_iter == NULL ||
		    strcmp(pg.next_iter, rs.next_iter) == 0),
		    "%s: next iterator", name);
		T_CHECKF(pg.millis_behind == rs.millis_behind,
		    "%s: behind %" PRId64 " vs %" PRId64, name,
		    pg.millis_behind, rs.millis_behind);
	}
	/* and page_parse, whichever path, agrees with the library */
	if (slow == 0) {
		T_CHECKF(page_parse(&pg, body, len, err) == 0, "%s: %s", name,
		    err);
		T_CHECKF(pg.n == rs.n && pg.nchildren == rs.nchildren,
		    "%s: page_parse", name);
	} else {
		T_CHECKF(page_parse(&pg, body, len, err) < 0,
		    "%s: page_parse took a bad answer", name);
	}
	kin_json_release(&j);
	kin_records_release(&rs);
	page_release(&pg);
}

static int64_t
ts_of(const char *body)
{
	struct page pg;
	int64_t v = -1;

	page_init(&pg);
	if (page_parse_fast(&pg, body, strlen(body)) == 0 && pg.n == 1)
		v = pg.r[0].arrival_ms;
	page_release(&pg);
	return v;
}

#define REC(ts, data, key) "{\"Records\":[{\"SequenceNumber\":\"49\"," \
	"\"ApproximateArrivalTimestamp\":" ts ",\"Data\":\"" data "\"," \
	"\"PartitionKey\":\"" key "\"}],\"NextShardIterator\":\"it\"," \
	"\"MillisBehindLatest\":0}"

int
main(void)
{
	/* what kinesalite sends */
	check("kinesalite", "{\"MillisBehindLatest\":0,\"NextShardIterator\":"
	    "\"AAAAAAAAAAE+/=\",\"Records\":[{\"SequenceNumber\":"
	    "\"49680560649185801011541511718769452018526057997218611202\","
	    "\"ApproximateArrivalTimestamp\":1795633224.436,\"Data\":"
	    "\"aGVsbG8=\",\"PartitionKey\":\"a\"},{\"SequenceNumber\":\"5\","
	    "\"ApproximateArrivalTimestamp\":1795633224.5,\"Data\":\"\","
	    "\"PartitionKey\":\"k k\"}]}", FAST);
	/* what the service sends: exponent form, EncryptionType */
	check("service", "{\"Records\":[{\"SequenceNumber\":\"1\","
	    "\"ApproximateArrivalTimestamp\":1.611850837123E9,\"Data\":\"AP/+\","
	    "\"PartitionKey\":\"k\",\"EncryptionType\":\"NONE\"}],"
	    "\"NextShardIterator\":\"x\",\"MillisBehindLatest\":12}", FAST);
	check("blanks", " {\n \"Records\" : [ {\t\"SequenceNumber\" : \"1\" , "
	    "\"Data\" : \"eA==\" , \"PartitionKey\" : \"k\" } ] ,\r\n"
	    " \"MillisBehindLatest\" : 7 } \n", FAST);
	check("empty page", "{\"Records\":[],\"NextShardIterator\":\"i\","
	    "\"MillisBehindLatest\":0}", FAST);
	check("closed, no iterator", "{\"Records\":[],\"MillisBehindLatest\":0}",
	    FAST);
	check("null iterator", "{\"Records\":[],\"NextShardIterator\":null}",
	    FAST);
	/* valid, but for the library to read */
	check("escaped slash", REC("1", "a\\/8=", "k"), SLOW);
	check("escaped key", REC("1", "eA==", "\\u043a"), SLOW);
	check("UTF-8 key", REC("1", "eA==", "\xd0\xba"), SLOW);
	check("sub-millisecond", REC("1.0005", "eA==", "k"), SLOW);
	check("child shards", "{\"Records\":[],\"ChildShards\":[{\"ShardId\":"
	    "\"shardId-000000000002\",\"ParentShards\":[\"shardId-000000000000\"],"
	    "\"HashKeyRange\":{\"StartingHashKey\":\"0\",\"EndingHashKey\":\"1\"}}],"
	    "\"MillisBehindLatest\":0}", SLOW);
	check("unknown field", "{\"Records\":[],\"Other\":{\"a\":[1,2]}}", SLOW);
	check("exponent behind", "{\"Records\":[],\"MillisBehindLatest\":1e3}",
	    SLOW);
	/* not answers at all */
	check("truncated", "{\"Records\":[{\"SequenceNumber\":\"1\"", FAIL);
	check("bad base64", REC("1", "e===", "k"), FAIL);
	check("no key", "{\"Records\":[{\"SequenceNumber\":\"1\",\"Data\":\"\"}]}",
	    FAIL);
	check("no records", "{\"MillisBehindLatest\":0}", FAIL);
	check("trailing junk", "{\"Records\":[]} x", FAIL);
	check("array", "[]", FAIL);
	check("leading zero", REC("01", "eA==", "k"), FAIL);

	/* seconds to milliseconds, exactly */
	T_CHECK(ts_of(REC("1795633224.436", "", "k")) == 1795633224436);
	T_CHECK(ts_of(REC("1795633224", "", "k")) == 1795633224000);
	T_CHECK(ts_of(REC("1.795633224436E9", "", "k")) == 1795633224436);
	T_CHECK(ts_of(REC("1.795633224436e+9", "", "k")) == 1795633224436);
	T_CHECK(ts_of(REC("1795633224436E-3", "", "k")) == 1795633224436);
	T_CHECK(ts_of(REC("0.001", "", "k")) == 1);
	T_CHECK(ts_of(REC("0", "", "k")) == 0);
	T_CHECK(ts_of(REC("1.5000000000000000000001", "", "k")) == -1);

	/* a full page of 10 000 records */
	{
		struct kin_buf b;
		char err[KIN_ERRLEN];
		kin_buf_init(&b, 64u << 20);
		kin_buf_adds(&b, "{\"Records\":[", err);
		for (int i = 0; i < 10000; i++) {
			char data[64];
			int n = snprintf(data, sizeof data, "{\"SEQ\":%d}", i);
			kin_buf_printf(&b, err, "%s{\"SequenceNumber\":\"%d\","
			    "\"ApproximateArrivalTimestamp\":1795633224.%03d,"
			    "\"Data\":\"", i ? "," : "", 1000000 + i, i % 1000);
			kin_b64_encode(&b, data, (size_t)n, err);
			kin_buf_printf(&b, err, "\",\"PartitionKey\":\"k%d\"}",
			    i % 7);
		}
		kin_buf_adds(&b, "],\"NextShardIterator\":\"n\","
		    "\"MillisBehindLatest\":0}", err);
		check("10 000 records", b.p, FAST);
		kin_buf_release(&b);
	}
	T_DONE();
}
