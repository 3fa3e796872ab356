/* Unit tests for DynamoDB items (common/dynamodb_item.c): setting and
 * reading attributes, the wire form both ways, types we do not model kept
 * as they came. */
#include "dynamodb.h"
#include "err.h"
#include "json.h"
#include "t.h"

#include <string.h>

static void
test_set_get(void)
{
	struct kin_ddb_item it;
	char err[KIN_ERRLEN];
	const char *ss[] = { "a", "b\"c" };
	int64_t n = 0;

	kin_ddb_item_init(&it);
	T_CHECK(kin_ddb_set_s(&it, "k", "v1", err) == 0);
	T_CHECK(kin_ddb_set_s(&it, "k", "v2", err) == 0);     /* replaces */
	T_CHECK(it.n == 1);
	T_STREQ(kin_ddb_get_s(&it, "k"), "v2");
	T_CHECK(kin_ddb_set_n(&it, "n", -9000000000LL, err) == 0);
	T_CHECK(kin_ddb_get_n(&it, "n", &n) == 0 && n == -9000000000LL);
	T_CHECK(kin_ddb_get_n(&it, "k", &n) == -1);          /* not a number */
	T_CHECK(kin_ddb_get_s(&it, "n") == NULL);
	T_CHECK(kin_ddb_get(&it, "none") == NULL);
	T_CHECK(kin_ddb_set_ss(&it, "set", ss, 2, err) == 0);
	struct kin_buf b;
	kin_buf_init(&b, 4096);
	T_CHECK(kin_ddb_item_json(&b, &it, err) == 0);
	T_STREQ(b.p, "{\"k\":{\"S\":\"v2\"},\"n\":{\"N\":\"-9000000000\"},"
	    "\"set\":{\"SS\":[\"a\",\"b\\\"c\"]}}");
	kin_buf_release(&b);
	kin_ddb_item_release(&it);
}

static void
test_parse(void)
{
	static const char js[] =
	    "{\"Item\":{\"s\":{\"S\":\"x\\u00e9\"},\"n\":{\"N\":\"12\"},"
	    "\"ss\":{\"SS\":[\"p\",\"q\"]},\"b\":{\"BOOL\":false},"
	    "\"z\":{\"NULL\":true},\"m\":{\"M\":{\"a\":{\"N\":\"1\"}}},"
	    "\"l\":{\"L\":[{\"S\":\"e\"}]}}}";
	struct kin_json j;
	struct kin_ddb_item it;
	struct kin_buf b;
	char err[KIN_ERRLEN];
	int64_t n;
	const struct kin_ddb_attr *a;

	kin_json_init(&j, 256);
	kin_ddb_item_init(&it);
	kin_buf_init(&b, 4096);
	T_CHECK(kin_json_parse(&j, js, strlen(js), err) == 0);
	T_CHECK(kin_ddb_item_parse(&j, kin_json_get(&j, 0, "Item"), &it,
	    err) == 0);
	T_CHECK(it.n == 7);
	T_STREQ(kin_ddb_get_s(&it, "s"), "x\xc3\xa9");
	T_CHECK(kin_ddb_get_n(&it, "n", &n) == 0 && n == 12);
	a = kin_ddb_get(&it, "ss");
	T_CHECK(a != NULL && a->type == KIN_DDB_SS && a->nss == 2);
	a = kin_ddb_get(&it, "b");
	T_CHECK(a != NULL && a->type == KIN_DDB_BOOL);
	T_STREQ(a ? a->s : NULL, "false");
	a = kin_ddb_get(&it, "m");
	T_CHECK(a != NULL && a->type == KIN_DDB_OTHER);
	/* and back: the same JSON, byte for byte */
	T_CHECK(kin_ddb_item_json(&b, &it, err) == 0);
	T_STREQ(b.p, "{\"s\":{\"S\":\"x\xc3\xa9\"},\"n\":{\"N\":\"12\"},"
	    "\"ss\":{\"SS\":[\"p\",\"q\"]},\"b\":{\"BOOL\":false},"
	    "\"z\":{\"NULL\":true},\"m\":{\"M\":{\"a\":{\"N\":\"1\"}}},"
	    "\"l\":{\"L\":[{\"S\":\"e\"}]}}");
	kin_ddb_item_release(&it);
	/* not typed values */
	static const char bad[] = "{\"a\":\"plain\"}";
	kin_ddb_item_init(&it);
	T_CHECK(kin_json_parse(&j, bad, strlen(bad), err) == 0);
	T_CHECK(kin_ddb_item_parse(&j, 0, &it, err) == -1);
	kin_ddb_item_release(&it);
	kin_buf_release(&b);
	kin_json_release(&j);
}

static void
test_condition(void)
{
	struct kin_awserr ae;

	memset(&ae, 0, sizeof ae);
	snprintf(ae.type, sizeof ae.type, "%s",
	    "ConditionalCheckFailedException");
	T_CHECK(kin_ddb_condition_failed(&ae));
	snprintf(ae.type, sizeof ae.type, "%s", "ValidationException");
	T_CHECK(!kin_ddb_condition_failed(&ae));
	T_CHECK(!kin_ddb_condition_failed(NULL));
	/* the service names it with its namespace; kin_client_check keeps
	 * the part after '#' */
	static const char body[] = "{\"__type\":\"com.amazonaws.dynamodb."
	    "v20120810#ConditionalCheckFailedException\",\"message\":"
	    "\"The conditional request failed\"}";
	char err[KIN_ERRLEN];
	T_CHECK(kin_client_check("PutItem", 400, NULL, body, strlen(body), &ae,
	    err) == -1);
	T_CHECK(kin_ddb_condition_failed(&ae));
	T_CHECK(ae.kind == KIN_AWS_VALIDATION);     /* never retried */
}

int
main(void)
{
	test_set_get();
	test_parse();
	test_condition();
	T_DONE();
}
