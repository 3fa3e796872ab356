/* test_kin_write.c — kin-write's own pieces: the KPL encoder against bytes
 * computed independently (a Python model of aggregation-format.md), the
 * PutRecords reply scanner, 128-bit hash keys, the token bucket, the
 * PutRecords body builder against the library's. */
#include <stdlib.h>
#include <string.h>

#include "t.h"
#include "agg.h"
#include "body.h"
#include "kinesis.h"
#include "kw.h"
#include "ratelimit.h"
#include "resp.h"

static struct urec *rec(const char *key, const char *ehk, const char *data,
    size_t len)
{
	struct urec *u = urec_new(key, strlen(key), ehk, data, len);
	u->hash = ehk ? 0 : kw_key_hash(key, strlen(key));
	if (ehk)
		kw_u128_parse(ehk, strlen(ehk), &u->hash);
	return u;
}

static int hexval(int c)
{
	return c <= '9' ? c - '0' : c - 'a' + 10;
}

static int seen;

static void each(void *ctx, size_t i, const char *key, const char *ehk,
    const char *data, size_t dlen)
{
	(void)ctx;
	seen++;
	switch (i) {
	case 0:
		T_STREQ(key, "k1");
		T_CHECK(ehk == NULL && dlen == 5 && memcmp(data, "hello", 5) == 0);
		break;
	case 1:
		T_STREQ(key, "k2");
		T_STREQ(ehk, "12345");
		T_CHECK(dlen == 200 && data[0] == 'x' && data[199] == 'x');
		break;
	case 2:
		T_STREQ(key, "k1");
		T_CHECK(ehk == NULL && dlen == 0);
		break;
	default:
		T_CHECK(!"a fourth record");
	}
}

static void test_agg(void)
{
	/* three records: keys k1, k2 (explicit hash 12345), k1 again */
	static const char want_hex[] =
	    "f3899ac20a026b310a026b32120531323334351a0908001a0568656c6c6f"
	    "1acf01080110001ac801";
	static const char want_tail[] =
	    "1a0408001a00059a61fce4423dae17b7a3f828209765";
	unsigned char want[300];
	char x200[200], dec[48];
	struct agg a;
	struct urec *u;
	struct krec *k;
	size_t i, n = 0, predicted;

	memset(x200, 'x', sizeof(x200));
	for (i = 0; want_hex[i]; i += 2)
		want[n++] = (unsigned char)(hexval(want_hex[i]) * 16 +
		    hexval(want_hex[i + 1]));
	memset(want + n, 'x', 200);
	n += 200;
	for (i = 0; want_tail[i]; i += 2)
		want[n++] = (unsigned char)(hexval(want_tail[i]) * 16 +
		    hexval(want_tail[i + 1]));
	T_CHECK(n == 262);

	agg_init(&a);
	T_CHECK(agg_size(&a) == 0);
	u = rec("k1", NULL, "hello", 5);
	predicted = agg_size_with(&a, u);
	T_CHECK(agg_add(&a, u, 1) == 0);
	T_CHECK(agg_size(&a) == predicted);
	u = rec("k2", "12345", x200, 200);
	predicted = agg_size_with(&a, u);
	T_CHECK(agg_add(&a, u, 2) == 0);
	T_CHECK(agg_size(&a) == predicted);
	u = rec("k1", NULL, "", 0);
	predicted = agg_size_with(&a, u);
	T_CHECK(agg_add(&a, u, 3) == 0);
	T_CHECK(agg_size(&a) == predicted);
	T_CHECK(predicted == 262);
	k = agg_take(&a);
	T_CHECK(k != NULL);
	T_CHECK(k->len == 262);
	T_CHECK(k->nusers == 3);
	T_CHECK(memcmp(k->data, want, 262) == 0);
	T_STREQ(k->key, "a");
	/* the explicit hash key of the first record: MD5("k1") */
	kw_u128_format(kw_key_hash("k1", 2), dec, sizeof(dec));
	T_STREQ(dec, "242208671286853988395785178707875403226");
	T_STREQ(k->ehk, dec);
	T_CHECK(agg_size(&a) == 0);
	/* read back, as for dead letters */
	seen = 0;
	T_CHECK(agg_each(k->data, k->len, each, NULL) == 0);
	T_CHECK(seen == 3);
	T_CHECK(agg_each(k->data, k->len - 1, each, NULL) < 0 || seen == 3);
	krec_free(k);

	/* a record alone is not aggregated */
	u = rec("solo", NULL, "data", 4);
	T_CHECK(agg_add(&a, u, 4) == 0);
	k = agg_take(&a);
	T_CHECK(k && k->agg == NULL && k->len == 4);
	T_STREQ(k->key, "solo");
	T_CHECK(k->ehk == NULL);
	krec_free(k);
	T_CHECK(agg_take(&a) == NULL);
	agg_release(&a);
}

static void test_varint(void)
{
	unsigned char b[10];

	T_CHECK(kw_varint(b, 0) == 1 && b[0] == 0);
	T_CHECK(kw_varint(b, 127) == 1 && b[0] == 127);
	T_CHECK(kw_varint(b, 128) == 2 && b[0] == 0x80 && b[1] == 1);
	T_CHECK(kw_varint(b, 300) == 2 && b[0] == 0xac && b[1] == 2);
	T_CHECK(kw_varint_len(UINT64_MAX) == 10);
	T_CHECK(kw_varint(b, UINT64_MAX) == 10 && b[9] == 1);
}

static void test_u128(void)
{
	kw_u128 v;
	char s[48];

	T_CHECK(kw_u128_parse("0", 1, &v) == 0 && v == 0);
	T_CHECK(kw_u128_parse("340282366920938463463374607431768211455", 39,
	    &v) == 0 && v == ~(kw_u128)0);
	T_CHECK(kw_u128_parse("340282366920938463463374607431768211456", 39,
	    &v) < 0);
	T_CHECK(kw_u128_parse("12a", 3, &v) < 0);
	T_CHECK(kw_u128_parse("", 0, &v) < 0);
	kw_u128_format(~(kw_u128)0, s, sizeof(s));
	T_STREQ(s, "340282366920938463463374607431768211455");
	kw_u128_format(kw_key_hash("partitionkey", 12), s, sizeof(s));
	T_STREQ(s, "278942316422165464922406716631207443189");
	/* cached the second time, same answer */
	kw_u128_format(kw_key_hash("partitionkey", 12), s, sizeof(s));
	T_STREQ(s, "278942316422165464922406716631207443189");
}

static void test_resp(void)
{
	struct kw_result r[3];
	int failed;
	const char *ok = "{\"FailedRecordCount\":0,\"Records\":["
	    "{\"SequenceNumber\":\"4965\",\"ShardId\":\"shardId-000000000001\"},"
	    "{\"SequenceNumber\":\"4966\",\"ShardId\":\"shardId-000000000002\"}]}";
	const char *part = " { \"Records\" : [ {\"ErrorCode\":"
	    "\"ProvisionedThroughputExceededException\",\"ErrorMessage\":"
	    "\"Rate \\\"exceeded\\\" for shard\"} , {\"SequenceNumber\":\"1\","
	    "\"ShardId\":\"s\",\"EncryptionType\":null}, {\"SequenceNumber\":\"\"}"
	    " ], \"FailedRecordCount\" : 1, \"EncryptionType\":\"NONE\" } ";

	T_CHECK(kw_parse_put_response(ok, strlen(ok), 2, r, &failed) == 0);
	T_CHECK(failed == 0 && r[0].ok && r[1].ok);
	T_CHECK(r[1].shardlen == 20 &&
	    memcmp(r[1].shard, "shardId-000000000002", 20) == 0);
	T_CHECK(kw_parse_put_response(ok, strlen(ok), 3, r, &failed) < 0);
	T_CHECK(kw_parse_put_response(ok, strlen(ok), 1, r, &failed) < 0);
	T_CHECK(kw_parse_put_response(part, strlen(part), 3, r, &failed) == 0);
	T_CHECK(failed == 2);
	T_CHECK(!r[0].ok && r[1].ok && !r[2].ok);
	T_STREQ(r[0].code, "ProvisionedThroughputExceededException");
	T_STREQ(r[0].msg, "Rate \"exceeded\" for shard");
	T_STREQ(r[2].code, "MissingSequenceNumber");
	T_CHECK(kw_parse_put_response("{\"Records\":[{}", 14, 1, r,
	    &failed) < 0);
	T_CHECK(kw_parse_put_response("[]", 2, 0, r, &failed) < 0);
	T_CHECK(kw_parse_put_response("{\"Records\":[]} x", 16, 0, r,
	    &failed) < 0);
}

static void test_bucket(void)
{
	struct bucket b;

	bucket_init(&b, 1000, 0);
	T_CHECK(bucket_level(&b, 0) == 1000);
	bucket_take(&b, 1500);                  /* a debt is allowed */
	T_CHECK(bucket_level(&b, 0) == -500);
	T_CHECK(bucket_wait_us(&b, 0, 1) >= 500999 &&
	    bucket_wait_us(&b, 0, 1) <= 501002);
	T_CHECK(bucket_level(&b, 500000) == 0);
	T_CHECK(bucket_level(&b, 10000000) == 1000);   /* capped at 1 s */
	bucket_init(&b, 0, 0);
	T_CHECK(bucket_unlimited(&b) && bucket_wait_us(&b, 0, 5) == 0);
}

/* kw_put_body gives the library's bytes: every data length mod 3, keys
 * that need escaping and UTF-8 ones, explicit hash keys, one record and
 * 500. */
static void test_body(void)
{
	static const char *keys[] = { "partitionkey", "a", "k\"q\\b",
	    "tab\there", "caf\xc3\xa9", "0123456789abcdef" };
	struct kin_put_entry e[500];
	struct krec *k[500];
	struct urec *u[500];
	struct kin_buf a, b;
	char err[KIN_ERRLEN], data[600];
	size_t n, i;
	unsigned seed = 7;

	kin_buf_init(&a, (size_t)8 << 20);
	kin_buf_init(&b, (size_t)8 << 20);
	for (n = 1; n <= 500; n += 499) {
		for (i = 0; i < n; i++) {
			size_t len = i % 37 + (i == 3 ? 0 : 1), j;
			const char *ehk = i % 5 == 4 ? "170141183460469231731687"
			    "303715884105728" : NULL;
			for (j = 0; j < len; j++) {
				seed = seed * 1103515245u + 12345u;
				data[j] = (char)(seed >> 16);
			}
			u[i] = urec_new(keys[i % 6], strlen(keys[i % 6]), ehk,
			    data, len);
			k[i] = krec_lone(u[i]);
			e[i].data = k[i]->data;
			e[i].len = k[i]->len;
			e[i].key = k[i]->key;
			e[i].hash = k[i]->ehk;
		}
		T_CHECK(kin_put_records_body(&a, "s\"1", e, n, err) == 0);
		T_CHECK(kw_put_body(&b, "s\"1", k, n, err) == 0);
		T_CHECK(a.len == b.len && memcmp(a.p, b.p, a.len) == 0);
		T_CHECK(b.p[b.len] == '\0');
		for (i = 0; i < n; i++)
			krec_free(k[i]);
	}
	kin_buf_release(&a);
	kin_buf_release(&b);
}

int main(void)
{
	test_body();
	test_varint();
	test_agg();
	test_u128();
	test_resp();
	test_bucket();
	T_DONE();
}
