/* dynamodb.h — a minimal DynamoDB client (JSON 1.0 protocol) for the lease
 * table: create/describe a table, get/put/update/delete one item with
 * condition expressions, scan all pages.  It rides on the Kinesis client's
 * signed-call path (kinesis.h: a struct kin_client made for service
 * "dynamodb"), so settings, credentials, SigV4, retries and typed errors
 * are the same code.
 * Ownership: struct kin_ddb_item is the caller's (init/release) and owns
 * every string in it; arrays of items from a scan are freed with
 * kin_ddb_items_free.  Calls return 0, KIN_DDB_CONDITION when a condition
 * expression failed (ConditionalCheckFailedException), or -1 with *ae typed
 * and err as "Op('table'): Type: message". */
#ifndef KIN_DYNAMODB_H
#define KIN_DYNAMODB_H

#include <stddef.h>
#include <stdint.h>
#include "kinesis.h"

#define KIN_DDB_CONDITION 1

enum kin_ddb_type {
	KIN_DDB_S = 1,
	KIN_DDB_N,       /* s holds the decimal text, as on the wire */
	KIN_DDB_SS,
	KIN_DDB_BOOL,    /* s is "true" or "false" */
	KIN_DDB_NULL,
	KIN_DDB_OTHER,   /* B, L, M, NS, BS: s holds the value's raw JSON */
};

struct kin_ddb_attr {
	char *name;
	enum kin_ddb_type type;
	char *s;         /* S, N, BOOL, OTHER */
	char **ss;       /* SS members */
	size_t nss;
};

struct kin_ddb_item {
	struct kin_ddb_attr *a;
	size_t n, cap;
};

void kin_ddb_item_init(struct kin_ddb_item *it);
void kin_ddb_item_release(struct kin_ddb_item *it);
void kin_ddb_items_free(struct kin_ddb_item *v, size_t n);
/* Set (add or replace) an attribute.  -1 with err when out of memory. */
int kin_ddb_set_s(struct kin_ddb_item *it, const char *name, const char *v,
    char *err);
int kin_ddb_set_n(struct kin_ddb_item *it, const char *name, int64_t v,
    char *err);
int kin_ddb_set_ss(struct kin_ddb_item *it, const char *name,
    const char *const *v, size_t n, char *err);
const struct kin_ddb_attr *kin_ddb_get(const struct kin_ddb_item *it,
    const char *name);
/* The S value of name, or NULL when absent or not a string. */
const char *kin_ddb_get_s(const struct kin_ddb_item *it, const char *name);
/* The N value of name as an integer: 0, or -1 when absent or not one. */
int kin_ddb_get_n(const struct kin_ddb_item *it, const char *name,
    int64_t *out);

/* Wire form {"name":{"S":"v"},...} appended to b; and back from the object
 * token obj of j (attribute types DynamoDB has and this does not model are
 * kept raw as KIN_DDB_OTHER). */
int kin_ddb_item_json(struct kin_buf *b, const struct kin_ddb_item *it,
    char *err);
int kin_ddb_item_parse(const struct kin_json *j, int obj,
    struct kin_ddb_item *it, char *err);

/* A client for DynamoDB: region and profile from cli; endpoint: a
 * command-line value or NULL (then AWS_ENDPOINT_URL_DYNAMODB,
 * AWS_ENDPOINT_URL, https://dynamodb.REGION.amazonaws.com).  Release with
 * kin_client_release. */
int kin_ddb_init(struct kin_client *c, const struct kin_cli *cli,
    const char *endpoint, char *err);

/* Expressions of one write.  names: "#n", "attr", ... pairs ending in NULL;
 * values: an item whose attribute names are the ":v" placeholders. */
struct kin_ddb_expr {
	const char *update;                 /* UpdateExpression (UpdateItem) */
	const char *condition;              /* ConditionExpression or NULL */
	const char *const *names;           /* or NULL */
	const struct kin_ddb_item *values;  /* or NULL */
};

/* On-demand (PAY_PER_REQUEST) table with a string hash key.  A table that
 * exists already is ResourceInUseException (kind KIN_AWS_IN_USE). */
int kin_ddb_create_table(struct kin_client *c, const char *table,
    const char *hash_key, struct kin_awserr *ae, char *err);
int kin_ddb_delete_table(struct kin_client *c, const char *table,
    struct kin_awserr *ae, char *err);
/* TableStatus (CREATING, ACTIVE, ...) into status[n]. */
int kin_ddb_describe_table(struct kin_client *c, const char *table,
    char *status, size_t n, struct kin_awserr *ae, char *err);
/* Poll DescribeTable until ACTIVE, at most timeout_ms. */
int kin_ddb_wait_active(struct kin_client *c, const char *table,
    int64_t timeout_ms, struct kin_awserr *ae, char *err);

/* Strongly consistent read of the item with key (an item holding the key
 * attributes).  *found 0 and out empty when there is none. */
int kin_ddb_get_item(struct kin_client *c, const char *table,
    const struct kin_ddb_item *key, struct kin_ddb_item *out, int *found,
    struct kin_awserr *ae, char *err);
int kin_ddb_put_item(struct kin_client *c, const char *table,
    const struct kin_ddb_item *item, const struct kin_ddb_expr *x,
    struct kin_awserr *ae, char *err);
int kin_ddb_update_item(struct kin_client *c, const char *table,
    const struct kin_ddb_item *key, const struct kin_ddb_expr *x,
    struct kin_awserr *ae, char *err);
int kin_ddb_delete_item(struct kin_client *c, const char *table,
    const struct kin_ddb_item *key, const struct kin_ddb_expr *x,
    struct kin_awserr *ae, char *err);

/* Every item of the table, strongly consistent, following
 * LastEvaluatedKey; page_limit > 0 sets Limit per page.  *items is
 * malloc'd (kin_ddb_items_free); *pages counts the requests made (may be
 * NULL). */
int kin_ddb_scan(struct kin_client *c, const char *table, int page_limit,
    struct kin_ddb_item **items, size_t *n, int *pages,
    struct kin_awserr *ae, char *err);

/* 1 when the failure in ae was a failed condition expression. */
int kin_ddb_condition_failed(const struct kin_awserr *ae);

#endif
