/* dynamodb.c — the DynamoDB calls the lease table needs, on the shared
 * signed JSON call (kinesis.c with service "dynamodb", JSON 1.0).  Items
 * and their wire form live in dynamodb_item.c. */
#include "dynamodb.h"
#include "kinesis_int.h"
#include "err.h"
#include "parse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_PAGES 100000

int
kin_ddb_init(struct kin_client *c, const struct kin_cli *cli,
    const char *endpoint, char *err)
{
	return kin_client_init_service(c, cli, "dynamodb",
	    "DynamoDB_20120810.", "application/x-amz-json-1.0", endpoint, err);
}

int
kin_ddb_condition_failed(const struct kin_awserr *ae)
{
	return ae != NULL &&
	    strcmp(ae->type, "ConditionalCheckFailedException") == 0;
}

/* "key": <item JSON> into the request body. */
static int
body_item(struct kin_buf *b, const char *key, const struct kin_ddb_item *it,
    struct kin_buf *tmp, char *err)
{
	kin_buf_reset(tmp);
	if (kin_ddb_item_json(tmp, it, err) < 0)
		return -1;
	return kin_body_raw(b, key, tmp->p, err);
}

static int
body_expr(struct kin_buf *b, const struct kin_ddb_expr *x,
    struct kin_buf *tmp, char *err)
{
	if (x == NULL)
		return 0;
	if (x->update != NULL &&
	    kin_body_str(b, "UpdateExpression", x->update, err) < 0)
		return -1;
	if (x->condition != NULL &&
	    kin_body_str(b, "ConditionExpression", x->condition, err) < 0)
		return -1;
	if (x->names != NULL && x->names[0] != NULL) {
		kin_buf_reset(tmp);
		if (kin_buf_addc(tmp, '{', err) < 0)
			return -1;
		for (size_t i = 0; x->names[i] != NULL && x->names[i + 1] != NULL;
		    i += 2) {
			if ((i > 0 && kin_buf_addc(tmp, ',', err) < 0) ||
			    kin_json_put_str(tmp, x->names[i],
			    strlen(x->names[i]), err) < 0 ||
			    kin_buf_addc(tmp, ':', err) < 0 ||
			    kin_json_put_str(tmp, x->names[i + 1],
			    strlen(x->names[i + 1]), err) < 0)
				return -1;
		}
		if (kin_buf_addc(tmp, '}', err) < 0 ||
		    kin_body_raw(b, "ExpressionAttributeNames", tmp->p, err) < 0)
			return -1;
	}
	if (x->values != NULL && x->values->n > 0 &&
	    body_item(b, "ExpressionAttributeValues", x->values, tmp, err) < 0)
		return -1;
	return 0;
}

/* The call; a failed condition comes back as KIN_DDB_CONDITION. */
static int
call(struct kin_client *c, const char *op, const char *table,
    struct kin_awserr *ae, char *err)
{
	struct kin_awserr tmp;

	if (ae == NULL)
		ae = &tmp;
	if (kin_call_ex(c, op, table, KIN_CALL_JSON, c->body.p, c->body.len,
	    &c->resp, ae, err) == 0)
		return 0;
	return kin_ddb_condition_failed(ae) ? KIN_DDB_CONDITION : -1;
}

static void
request_error(struct kin_awserr *ae, const char *op, const char *table,
    char *err)
{
	char e2[KIN_ERRLEN];

	memcpy(e2, err, KIN_ERRLEN);
	if (ae != NULL) {
		memset(ae, 0, sizeof *ae);
		ae->kind = KIN_AWS_VALIDATION;
	}
	kin_seterr(err, "%s('%s'): cannot build request: %s", op, table, e2);
}

int
kin_ddb_create_table(struct kin_client *c, const char *table,
    const char *hash_key, struct kin_awserr *ae, char *err)
{
	struct kin_buf *b = &c->body;

	kin_buf_reset(b);
	if (kin_body_str(b, "TableName", table, err) < 0 ||
	    kin_body_str(b, "BillingMode", "PAY_PER_REQUEST", err) < 0 ||
	    kin_body_raw(b, "AttributeDefinitions", "", err) < 0 ||
	    kin_buf_adds(b, "[{\"AttributeName\":", err) < 0 ||
	    kin_json_put_str(b, hash_key, strlen(hash_key), err) < 0 ||
	    kin_buf_adds(b, ",\"AttributeType\":\"S\"}]", err) < 0 ||
	    kin_body_raw(b, "KeySchema", "", err) < 0 ||
	    kin_buf_adds(b, "[{\"AttributeName\":", err) < 0 ||
	    kin_json_put_str(b, hash_key, strlen(hash_key), err) < 0 ||
	    kin_buf_adds(b, ",\"KeyType\":\"HASH\"}]", err) < 0 ||
	    kin_body_end(b, err) < 0) {
		request_error(ae, "CreateTable", table, err);
		return -1;
	}
	return call(c, "CreateTable", table, ae, err) == 0 ? 0 : -1;
}

int
kin_ddb_delete_table(struct kin_client *c, const char *table,
    struct kin_awserr *ae, char *err)
{
	kin_buf_reset(&c->body);
	if (kin_body_str(&c->body, "TableName", table, err) < 0 ||
	    kin_body_end(&c->body, err) < 0) {
		request_error(ae, "DeleteTable", table, err);
		return -1;
	}
	return call(c, "DeleteTable", table, ae, err) == 0 ? 0 : -1;
}

int
kin_ddb_describe_table(struct kin_client *c, const char *table, char *status,
    size_t n, struct kin_awserr *ae, char *err)
{
	const struct kin_json *j = &c->json;
	struct kin_buf s;
	int t, st;

	kin_buf_reset(&c->body);
	if (kin_body_str(&c->body, "TableName", table, err) < 0 ||
	    kin_body_end(&c->body, err) < 0) {
		request_error(ae, "DescribeTable", table, err);
		return -1;
	}
	if (call(c, "DescribeTable", table, ae, err) != 0 ||
	    kin_resp_json(c, "DescribeTable", table, ae, err) < 0)
		return -1;
	t = kin_json_get(j, 0, "Table");
	st = kin_json_get(j, t, "TableStatus");
	if (st < 0 || j->tok[st].type != JSMN_STRING)
		return kin_bad_response("DescribeTable", table,
		    "no Table.TableStatus", ae, err);
	kin_buf_init(&s, 256);
	if (kin_json_str(j, st, &s, NULL) < 0 || s.len >= n) {
		kin_buf_release(&s);
		return kin_bad_response("DescribeTable", table,
		    "bad TableStatus", ae, err);
	}
	memcpy(status, s.p, s.len + 1);
	kin_buf_release(&s);
	return 0;
}

int
kin_ddb_wait_active(struct kin_client *c, const char *table,
    int64_t timeout_ms, struct kin_awserr *ae, char *err)
{
	int64_t deadline = kin_now_mono_us() + timeout_ms * 1000, pause = 20;
	char status[32] = "";

	for (;;) {
		if (kin_ddb_describe_table(c, table, status, sizeof status, ae,
		    err) < 0)
			return -1;
		if (strcmp(status, "ACTIVE") == 0)
			return 0;
		if (kin_now_mono_us() + pause * 1000 > deadline)
			break;
		struct timespec ts = { (time_t)(pause / 1000),
		    (long)(pause % 1000) * 1000000L };
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		if (pause < 1000)
			pause *= 2;
	}
	if (ae != NULL) {
		memset(ae, 0, sizeof *ae);
		ae->kind = KIN_AWS_IN_USE;
		snprintf(ae->type, sizeof ae->type, "%s", "Timeout");
		snprintf(ae->message, sizeof ae->message, "still %s", status);
	}
	return kin_seterr(err, "DescribeTable('%s'): still %s after %lld ms",
	    table, status, (long long)timeout_ms);
}

int
kin_ddb_get_item(struct kin_client *c, const char *table,
    const struct kin_ddb_item *key, struct kin_ddb_item *out, int *found,
    struct kin_awserr *ae, char *err)
{
	const struct kin_json *j = &c->json;
	struct kin_buf tmp;
	char e2[KIN_ERRLEN];
	int t, rc;

	*found = 0;
	kin_buf_init(&tmp, c->body.max);
	kin_buf_reset(&c->body);
	rc = kin_body_str(&c->body, "TableName", table, err) < 0 ||
	    body_item(&c->body, "Key", key, &tmp, err) < 0 ||
	    kin_body_raw(&c->body, "ConsistentRead", "true", err) < 0 ||
	    kin_body_end(&c->body, err) < 0 ? -1 : 0;
	kin_buf_release(&tmp);
	if (rc < 0) {
		request_error(ae, "GetItem", table, err);
		return -1;
	}
	if (call(c, "GetItem", table, ae, err) != 0 ||
	    kin_resp_json(c, "GetItem", table, ae, err) < 0)
		return -1;
	if ((t = kin_json_get(j, 0, "Item")) < 0)
		return 0;
	if (kin_ddb_item_parse(j, t, out, e2) < 0) {
		kin_ddb_item_release(out);
		return kin_bad_response("GetItem", table, e2, ae, err);
	}
	*found = 1;
	return 0;
}

/* PutItem, UpdateItem, DeleteItem: one item (or its key) and expressions. */
static int
write_item(struct kin_client *c, const char *op, const char *table,
    const char *what, const struct kin_ddb_item *it,
    const struct kin_ddb_expr *x, struct kin_awserr *ae, char *err)
{
	struct kin_buf tmp;
	int rc;

	kin_buf_init(&tmp, c->body.max);
	kin_buf_reset(&c->body);
	rc = kin_body_str(&c->body, "TableName", table, err) < 0 ||
	    body_item(&c->body, what, it, &tmp, err) < 0 ||
	    body_expr(&c->body, x, &tmp, err) < 0 ||
	    kin_body_end(&c->body, err) < 0 ? -1 : 0;
	kin_buf_release(&tmp);
	if (rc < 0) {
		request_error(ae, op, table, err);
		return -1;
	}
	return call(c, op, table, ae, err);
}

int
kin_ddb_put_item(struct kin_client *c, const char *table,
    const struct kin_ddb_item *item, const struct kin_ddb_expr *x,
    struct kin_awserr *ae, char *err)
{
	return write_item(c, "PutItem", table, "Item", item, x, ae, err);
}

int
kin_ddb_update_item(struct kin_client *c, const char *table,
    const struct kin_ddb_item *key, const struct kin_ddb_expr *x,
    struct kin_awserr *ae, char *err)
{
	return write_item(c, "UpdateItem", table, "Key", key, x, ae, err);
}

int
kin_ddb_delete_item(struct kin_client *c, const char *table,
    const struct kin_ddb_item *key, const struct kin_ddb_expr *x,
    struct kin_awserr *ae, char *err)
{
	return write_item(c, "DeleteItem", table, "Key", key, x, ae, err);
}

int
kin_ddb_scan(struct kin_client *c, const char *table, int page_limit,
    struct kin_ddb_item **items, size_t *n, int *pages,
    struct kin_awserr *ae, char *err)
{
	const struct kin_json *j = &c->json;
	struct kin_ddb_item *v = NULL;
	struct kin_buf start;
	size_t nv = 0, cap = 0;
	char e2[KIN_ERRLEN];
	int page;

	*items = NULL;
	*n = 0;
	kin_buf_init(&start, 1 << 20);
	for (page = 0; page < MAX_PAGES; page++) {
		int arr, t, lek;
		kin_buf_reset(&c->body);
		if (kin_body_str(&c->body, "TableName", table, err) < 0 ||
		    kin_body_raw(&c->body, "ConsistentRead", "true", err) < 0 ||
		    (page_limit > 0 && kin_body_int(&c->body, "Limit",
		    page_limit, err) < 0) ||
		    (start.len > 0 && kin_body_raw(&c->body,
		    "ExclusiveStartKey", start.p, err) < 0) ||
		    kin_body_end(&c->body, err) < 0) {
			request_error(ae, "Scan", table, err);
			goto fail;
		}
		if (call(c, "Scan", table, ae, err) != 0 ||
		    kin_resp_json(c, "Scan", table, ae, err) < 0)
			goto fail;
		arr = kin_json_get(j, 0, "Items");
		if (arr < 0 || j->tok[arr].type != JSMN_ARRAY) {
			kin_bad_response("Scan", table, "no Items", ae, err);
			goto fail;
		}
		if (nv + (size_t)j->tok[arr].size > cap) {
			size_t nc = cap ? cap : 16;
			while (nc < nv + (size_t)j->tok[arr].size)
				nc *= 2;
			void *p = realloc(v, nc * sizeof *v);
			if (p == NULL) {
				kin_seterr(err, "Scan('%s'): out of memory", table);
				goto fail;
			}
			v = p;
			cap = nc;
		}
		t = arr + 1;
		for (int k = 0; k < j->tok[arr].size; k++) {
			kin_ddb_item_init(&v[nv]);
			nv++;
			if (kin_ddb_item_parse(j, t, &v[nv - 1], e2) < 0) {
				kin_bad_response("Scan", table, e2, ae, err);
				goto fail;
			}
			t = kin_json_skip(j, t);
		}
		kin_buf_reset(&start);
		lek = kin_json_get(j, 0, "LastEvaluatedKey");
		if (lek < 0 || j->tok[lek].type != JSMN_OBJECT ||
		    j->tok[lek].size == 0)
			break;
		size_t len;
		const char *raw = kin_json_raw(j, lek, &len);
		if (kin_buf_add(&start, raw, len, err) < 0) {
			request_error(ae, "Scan", table, err);
			goto fail;
		}
	}
	kin_buf_release(&start);
	if (pages != NULL)
		*pages = page + 1;
	*items = v;
	*n = nv;
	return 0;
fail:
	kin_buf_release(&start);
	kin_ddb_items_free(v, nv);
	return -1;
}
