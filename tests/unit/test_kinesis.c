/* test_kinesis.c — the Kinesis protocol without a server: PutRecords
 * bodies byte for byte, PutRecords and GetRecords responses (partial
 * failures, ChildShards), error typing, exit statuses and kin_redact. */
#include "t.h"
#include "kinesis.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>

static void
test_put_body(void)
{
	static const char bin[] = { 0x00, (char)0xff, 0x10 };
	struct kin_put_entry e[3] = {
		{ "hello", 5, "k1", NULL },
		{ bin, 3, "k\xc3\xa9\"y\n", NULL },
		{ "", 0, "k3", "340282366920938463463374607431768211455" },
	};
	struct kin_buf b;
	char err[KIN_ERRLEN];

	kin_buf_init(&b, 1 << 20);
	T_CHECK(kin_put_records_body(&b, "st\"x", e, 3, err) == 0);
	T_STREQ(b.p, "{\"StreamName\":\"st\\\"x\",\"Records\":["
	    "{\"Data\":\"aGVsbG8=\",\"PartitionKey\":\"k1\"},"
	    "{\"Data\":\"AP8Q\",\"PartitionKey\":\"k\xc3\xa9\\\"y\\n\"},"
	    "{\"Data\":\"\",\"PartitionKey\":\"k3\",\"ExplicitHashKey\":"
	    "\"340282366920938463463374607431768211455\"}]}");
	T_CHECK(b.len == strlen(b.p));

	/* building again replaces, never appends */
	T_CHECK(kin_put_records_body(&b, "s", e, 1, err) == 0);
	T_STREQ(b.p, "{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"aGVsbG8=\","
	    "\"PartitionKey\":\"k1\"}]}");

	/* the limits are checked before anything is sent */
	T_CHECK(kin_put_records_body(&b, "s", e, 0, err) < 0);
	struct kin_put_entry *many = calloc(501, sizeof *many);
	for (int i = 0; i < 501; i++)
		many[i] = e[0];
	T_CHECK(kin_put_records_body(&b, "s", many, 500, err) == 0);
	T_CHECK(kin_put_records_body(&b, "s", many, 501, err) < 0);
	T_CHECK(strstr(err, "501 records") != NULL);
	free(many);

	struct kin_put_entry bad = { "x", 1, "", NULL };
	T_CHECK(kin_put_records_body(&b, "s", &bad, 1, err) < 0);
	T_CHECK(strstr(err, "partition key") != NULL);
	bad.key = NULL;
	T_CHECK(kin_put_records_body(&b, "s", &bad, 1, err) < 0);
	char key[1100];
	memset(key, 'a', 257);
	key[257] = '\0';
	bad.key = key;
	T_CHECK(kin_put_records_body(&b, "s", &bad, 1, err) < 0);
	key[256] = '\0';
	T_CHECK(kin_put_records_body(&b, "s", &bad, 1, err) == 0);
	/* 256 characters of two bytes each are still 256 characters */
	for (int i = 0; i < 256; i++)
		memcpy(key + 2 * i, "\xc3\xa9", 2);
	key[512] = '\0';
	T_CHECK(kin_put_records_body(&b, "s", &bad, 1, err) == 0);

	char *big = calloc(1, KIN_MAX_RECORD + 1);
	struct kin_put_entry huge = { big, KIN_MAX_RECORD - 2, "k1", NULL };
	kin_buf_release(&b);
	kin_buf_init(&b, 16 << 20);
	T_CHECK(kin_put_records_body(&b, "s", &huge, 1, err) == 0);
	huge.len++;
	T_CHECK(kin_put_records_body(&b, "s", &huge, 1, err) < 0);
	T_CHECK(strstr(err, "over the limit") != NULL);
	struct kin_put_entry six[6];
	for (int i = 0; i < 6; i++)
		six[i] = (struct kin_put_entry){ big, KIN_MAX_RECORD - 2, "k1",
		    NULL };
	T_CHECK(kin_put_records_body(&b, "s", six, 5, err) == 0);
	T_CHECK(kin_put_records_body(&b, "s", six, 6, err) < 0);
	free(big);

	struct kin_put_entry h = { "x", 1, "k", "12a" };
	T_CHECK(kin_put_records_body(&b, "s", &h, 1, err) < 0);
	h.hash = "";
	T_CHECK(kin_put_records_body(&b, "s", &h, 1, err) < 0);
	h.hash = "0";
	T_CHECK(kin_put_records_body(&b, "s", &h, 1, err) == 0);
	kin_buf_release(&b);
}

static void
test_put_parse(void)
{
	static const char ok[] = "{\"FailedRecordCount\":0,\"Records\":["
	    "{\"SequenceNumber\":\"4960\",\"ShardId\":\"shardId-000000000001\"},"
	    "{\"SequenceNumber\":\"4961\",\"ShardId\":\"shardId-000000000000\"}"
	    "],\"EncryptionType\":\"NONE\"}";
	static const char partial[] = "{\"FailedRecordCount\":2,\"Records\":["
	    "{\"SequenceNumber\":\"4960\",\"ShardId\":\"shardId-000000000001\"},"
	    "{\"ErrorCode\":\"ProvisionedThroughputExceededException\","
	    "\"ErrorMessage\":\"Rate exceeded for shard \\\"s\\\" in stream\"},"
	    "{\"ErrorCode\":\"InternalFailure\",\"ErrorMessage\":\"x\"}]}";
	/* a count that lies: the records decide */
	static const char liar[] = "{\"FailedRecordCount\":0,\"Records\":["
	    "{\"ErrorCode\":\"InternalFailure\",\"ErrorMessage\":\"x\"},"
	    "{\"ShardId\":\"shardId-000000000000\"}]}";
	struct kin_put_result res[3];
	char err[KIN_ERRLEN];
	int failed = -1;

	T_CHECK(kin_put_records_parse(ok, strlen(ok), 2, res, &failed,
	    err) == 0);
	T_CHECK(failed == 0);
	T_STREQ(res[0].seq, "4960");
	T_STREQ(res[0].shard, "shardId-000000000001");
	T_STREQ(res[0].code, "");
	T_STREQ(res[1].seq, "4961");

	T_CHECK(kin_put_records_parse(partial, strlen(partial), 3, res,
	    &failed, err) == 0);
	T_CHECK(failed == 2);
	T_STREQ(res[0].seq, "4960");
	T_STREQ(res[0].code, "");
	T_STREQ(res[1].seq, "");
	T_STREQ(res[1].code, "ProvisionedThroughputExceededException");
	T_STREQ(res[1].message, "Rate exceeded for shard \"s\" in stream");
	T_STREQ(res[2].code, "InternalFailure");

	T_CHECK(kin_put_records_parse(liar, strlen(liar), 2, res, &failed,
	    err) == 0);
	T_CHECK(failed == 2);
	T_STREQ(res[1].code, "MissingSequenceNumber");

	/* not an answer for the records sent */
	T_CHECK(kin_put_records_parse(ok, strlen(ok), 3, res, &failed,
	    err) < 0);
	T_CHECK(kin_put_records_parse("{\"Records\":", 11, 1, res, &failed,
	    err) < 0);
	T_CHECK(kin_put_records_parse("[]", 2, 1, res, &failed, err) < 0);
	T_CHECK(kin_put_records_parse("{}", 2, 1, res, &failed, err) < 0);
}

static void
test_get_parse(void)
{
	/* Data: "hello", "a/b?" (sent with an escaped slash), and 0x00 0xff;
	 * a key with \u escapes; arrival stamps in both number forms */
	static const char page[] = "{\"Records\":["
	    "{\"SequenceNumber\":\"49590338271490256608559692538361571095921575989136588898\","
	    "\"ApproximateArrivalTimestamp\":1.700000000123E9,"
	    "\"Data\":\"aGVsbG8=\",\"PartitionKey\":\"k1\"},"
	    "{\"Data\":\"YS9iPw==\",\"PartitionKey\":\"k\\u00e9\\ud83d\\ude00\","
	    "\"SequenceNumber\":\"2\",\"ApproximateArrivalTimestamp\":"
	    "1700000001.5,\"EncryptionType\":\"NONE\"},"
	    "{\"Data\":\"AP\\/=\",\"PartitionKey\":\"k\",\"SequenceNumber\":\"3\"}"
	    "],\"NextShardIterator\":null,\"MillisBehindLatest\":1234,"
	    "\"ChildShards\":[{\"ShardId\":\"shardId-000000000002\","
	    "\"ParentShards\":[\"shardId-000000000000\",\"shardId-000000000001\"],"
	    "\"HashKeyRange\":{\"StartingHashKey\":\"0\",\"EndingHashKey\":\"9\"}},"
	    "{\"ShardId\":\"shardId-000000000003\",\"ParentShards\":"
	    "[\"shardId-000000000000\"],\"HashKeyRange\":{}}]}";
	static const char open[] = "{\"Records\":[],\"NextShardIterator\":"
	    "\"AAAA/+x\",\"MillisBehindLatest\":0}";
	struct kin_records o;
	struct kin_json j;
	char err[KIN_ERRLEN];

	kin_json_init(&j, 4096);
	kin_records_init(&o);
	for (int round = 0; round < 2; round++) {   /* reuse keeps it right */
		T_CHECKF(kin_get_records_parse(&j, page, strlen(page), &o,
		    err) == 0, "%s", err);
		T_CHECK(o.n == 3);
		if (o.n != 3)
			break;
		T_CHECK(o.r[0].len == 5 && memcmp(o.r[0].data, "hello", 5) == 0);
		T_STREQ(o.r[0].key, "k1");
		T_STREQ(o.r[0].seq, "49590338271490256608559692538361571095921575989136588898");
		T_CHECK(o.r[0].arrival_ms == 1700000000123LL);
		T_CHECK(o.r[1].len == 4 && memcmp(o.r[1].data, "a/b?", 5) == 0);
		T_STREQ(o.r[1].key, "k\xc3\xa9\xf0\x9f\x98\x80");
		T_CHECK(o.r[1].arrival_ms == 1700000001500LL);
		T_CHECK(o.r[2].len == 2 && (unsigned char)o.r[2].data[0] == 0 &&
		    (unsigned char)o.r[2].data[1] == 0xff);
		T_CHECK(o.r[2].data[2] == '\0');
		T_CHECK(o.r[2].arrival_ms == 0);
		T_CHECK(o.next_iter == NULL);
		T_CHECK(o.millis_behind == 1234);
		T_CHECK(o.nchildren == 2);
		if (o.nchildren == 2) {
			T_STREQ(o.children[0].id, "shardId-000000000002");
			T_CHECK(o.children[0].nparents == 2);
			T_STREQ(o.children[0].parents[1], "shardId-000000000001");
			T_STREQ(o.children[1].id, "shardId-000000000003");
			T_CHECK(o.children[1].nparents == 1);
		}
	}
	T_CHECK(kin_get_records_parse(&j, open, strlen(open), &o, err) == 0);
	T_CHECK(o.n == 0 && o.nchildren == 0 && o.millis_behind == 0);
	T_STREQ(o.next_iter, "AAAA/+x");
	/* kinesis-mock writes "ChildShards":null for none */
	static const char nullkids[] =
	    "{\"Records\":[],\"ChildShards\":null,\"MillisBehindLatest\":0}";
	T_CHECK(kin_get_records_parse(&j, nullkids, strlen(nullkids), &o,
	    err) == 0);
	T_CHECK(o.nchildren == 0 && o.next_iter == NULL);

	/* broken pages fail whole, and leave o empty */
	static const char *const bad[] = {
		"{\"Records\":[{\"Data\":\"a===\",\"PartitionKey\":\"k\","
		    "\"SequenceNumber\":\"1\"}]}",
		"{\"Records\":[{\"Data\":\"aGk=\",\"SequenceNumber\":\"1\"}]}",
		"{\"Records\":[{\"Data\":1,\"PartitionKey\":\"k\","
		    "\"SequenceNumber\":\"1\"}]}",
		"{\"NextShardIterator\":\"x\"}",
		"[]",
		"{\"Records\":[",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		T_CHECKF(kin_get_records_parse(&j, bad[i], strlen(bad[i]), &o,
		    err) < 0, "accepted %s", bad[i]);
		T_CHECK(o.n == 0 && o.next_iter == NULL);
	}
	kin_records_release(&o);
	kin_json_release(&j);
}

static void
test_errors(void)
{
	static const struct {
		long status;
		const char *hdr, *body;
		enum kin_aws_kind kind;
		const char *type, *err;
		int exit;
	} cases[] = {
		{ 200, "", "{}", KIN_AWS_OK, "", "", 0 },
		{ 400, "", "{\"__type\":\"ResourceNotFoundException\","
		    "\"message\":\"Stream s under account 1 not found.\"}",
		    KIN_AWS_NOT_FOUND, "ResourceNotFoundException",
		    "Op: ResourceNotFoundException: Stream s under account 1 "
		    "not found.", 78 },
		{ 400, "", "{\"__type\":\"com.amazon.coral.service#"
		    "SerializationException\",\"Message\":\"bad\\njson\"}",
		    KIN_AWS_VALIDATION, "SerializationException",
		    "Op: SerializationException: bad json", 65 },
		{ 400, "ThrottlingException", "", KIN_AWS_THROTTLED,
		    "ThrottlingException", "Op: ThrottlingException", 69 },
		{ 400, "LimitExceededException", "{\"message\":\"Rate exceeded\"}",
		    KIN_AWS_LIMIT, "LimitExceededException",
		    "Op: LimitExceededException: Rate exceeded", 69 },
		{ 400, "", "{\"__type\":\"ExpiredIteratorException\","
		    "\"message\":\"Iterator expired\"}", KIN_AWS_EXPIRED_ITERATOR,
		    "ExpiredIteratorException",
		    "Op: ExpiredIteratorException: Iterator expired", 75 },
		{ 400, "", "{\"__type\":\"KMSDisabledException\"}", KIN_AWS_KMS,
		    "KMSDisabledException", "Op: KMSDisabledException", 78 },
		{ 400, "", "{\"__type\":\"AccessDeniedException\",\"Message\":"
		    "\"no\"}", KIN_AWS_ACCESS, "AccessDeniedException",
		    "Op: AccessDeniedException: no", 78 },
		{ 400, "", "{\"__type\":\"ResourceInUseException\"}",
		    KIN_AWS_IN_USE, "ResourceInUseException",
		    "Op: ResourceInUseException", 75 },
		{ 500, "", "{\"__type\":\"InternalFailure\"}", KIN_AWS_INTERNAL,
		    "InternalFailure", "Op: InternalFailure", 69 },
		{ 503, "", "<html><body>Service Unavailable</body></html>\n...",
		    KIN_AWS_INTERNAL, "",
		    "Op: HTTP 503: <html><body>Service Unavailable</body></html>",
		    69 },
		{ 403, "", "", KIN_AWS_ACCESS, "", "Op: HTTP 403", 78 },
	};
	struct kin_awserr ae;
	char err[KIN_ERRLEN];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		err[0] = '\0';
		int rc = kin_client_check("Op", cases[i].status, cases[i].hdr,
		    cases[i].body, strlen(cases[i].body), &ae, err);
		T_CHECK(rc == (cases[i].kind == KIN_AWS_OK ? 0 : -1));
		T_CHECKF(ae.kind == cases[i].kind, "case %zu: %s", i,
		    kin_aws_kind_name(ae.kind));
		T_STREQ(ae.type, cases[i].type);
		T_STREQ(err, cases[i].err);
		T_CHECK(ae.status == cases[i].status);
		T_CHECKF(kin_exit_status(&ae) == cases[i].exit, "case %zu: "
		    "exit %d", i, kin_exit_status(&ae));
	}
	ae.kind = KIN_AWS_TRANSPORT;
	T_CHECK(kin_exit_status(&ae) == KIN_EX_UNAVAILABLE);
	ae.kind = KIN_AWS_TIMEOUT;
	T_CHECK(kin_exit_status(&ae) == KIN_EX_UNAVAILABLE);
	ae.kind = KIN_AWS_CONFIG;
	T_CHECK(kin_exit_status(&ae) == KIN_EX_CONFIG);
}

static void
test_redact(void)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"
		    "20150830/us-east-1/service/aws4_request, SignedHeaders="
		    "host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e8629",
		    "Authorization: REDACTED" },
		{ "authorization:AWS4 x", "authorization: REDACTED" },
		{ "X-Amz-Security-Token: AQoDYXdzEPT//////////wEXAMPLE",
		    "X-Amz-Security-Token: REDACTED" },
		{ "x-aws-ec2-metadata-token: AQAEAxyz",
		    "x-aws-ec2-metadata-token: REDACTED" },
		{ "X-Amz-Target: Kinesis_20131202.ListShards",
		    "X-Amz-Target: Kinesis_20131202.ListShards" },
		{ "{\"AccessKeyId\":\"AKIA\",\"SecretAccessKey\":\"wJal\\\"rX\","
		    "\"Token\":\"tok\",\"Expiration\":\"2020\"}",
		    "{\"AccessKeyId\":\"AKIA\",\"SecretAccessKey\":\"REDACTED\","
		    "\"Token\":\"REDACTED\",\"Expiration\":\"2020\"}" },
		{ "{\"Version\": 1, \"SessionToken\" : \"abc\", "
		    "\"NextToken\":\"page2\"}",
		    "{\"Version\": 1, \"SessionToken\" : \"REDACTED\", "
		    "\"NextToken\":\"page2\"}" },
		{ "{\"message\":\"Token\",\"Data\":\"c2VjcmV0\"}",
		    "{\"message\":\"Token\",\"Data\":\"c2VjcmV0\"}" },
		{ "<Credentials><SessionToken>abc</SessionToken><SecretAccessKey>"
		    "xyz</SecretAccessKey><AccessKeyId>AKIA</AccessKeyId>",
		    "<Credentials><SessionToken>REDACTED</SessionToken>"
		    "<SecretAccessKey>REDACTED</SecretAccessKey><AccessKeyId>AKIA"
		    "</AccessKeyId>" },
		{ "Action=AssumeRoleWithWebIdentity&WebIdentityToken=eyJh.x.y"
		    "&RoleArn=arn",
		    "Action=AssumeRoleWithWebIdentity&WebIdentityToken=REDACTED"
		    "&RoleArn=arn" },
		{ "GET /?X-Amz-Signature=abc&X-Amz-Credential=AKID%2F",
		    "GET /?X-Amz-Signature=REDACTED&X-Amz-Credential=AKID%2F" },
		{ "Credential=AKID/x, SignedHeaders=host, Signature=deadbeef",
		    "Credential=AKID/x, SignedHeaders=host, Signature=REDACTED" },
		{ "aws_secret_access_key = wJalr", "aws_secret_access_key = REDACTED" },
		{ "{\"Password\":\"p\",\"client_secret\":\"s\"}",
		    "{\"Password\":\"REDACTED\",\"client_secret\":\"REDACTED\"}" },
		{ "{\"SecretAccessKey\":\"unterminated",
		    "{\"SecretAccessKey\":\"REDACTED\"" },
	};
	char out[512];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		kin_redact(cases[i].in, out, sizeof out);
		T_STREQ(out, cases[i].out);
	}
	/* a small buffer cuts the output, never exposes what it cut */
	static const char sec[] = "{\"Token\":\"ABCDEFGHIJ\"}";
	for (size_t n = 1; n < sizeof out && n < 40; n++) {
		kin_redact(sec, out, n);
		T_CHECK(strlen(out) < n);
		T_CHECK(strstr(out, "ABC") == NULL);
	}
	kin_redact("Authorization: x", out, 0);   /* must not write */
	kin_redactn("Token=abc", 5, out, sizeof out);
	T_STREQ(out, "Token");
}

int
main(void)
{
	test_put_body();
	test_put_parse();
	test_get_parse();
	test_errors();
	test_redact();
	T_DONE();
}
