/* lease_list.c — -L --lease-table: every lease of the table, who holds it,
 * its counter and checkpoint; with -s also how far each checkpoint is
 * behind the stream's tip (MillisBehindLatest of a read right after it). */
#include "lease_owner.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dynamodb.h"
#include "err.h"
#include "json.h"

static int
seq_like(const char *s)
{
	if (s == NULL || *s == '\0')
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* How far behind the tip the record after the checkpoint is: -1 when it
 * cannot be told (no sequence number, or the read failed). */
static int64_t
behind(struct kin_client *c, const char *stream, const struct kin_lease *l,
    struct kin_records *rs)
{
	struct kin_awserr ae;
	char err[KIN_ERRLEN];
	char *iter = NULL;

	if (!seq_like(l->checkpoint))
		return -1;
	memset(&ae, 0, sizeof ae);
	if (kin_get_shard_iterator(c, stream, l->key, "AFTER_SEQUENCE_NUMBER",
	    l->checkpoint, 0, &iter, &ae, err) < 0)
		return -1;
	int rc = kin_get_records(c, iter, 1, rs, &ae, err);
	free(iter);
	return rc < 0 ? -1 : rs->millis_behind;
}

static int
put_str_or_null(struct kin_buf *b, const char *s, char *err)
{
	if (s == NULL)
		return kin_buf_adds(b, "null", err);
	return kin_json_put_str(b, s, strlen(s), err);
}

static int
lease_json(struct kin_buf *b, const struct kin_lease *l, int64_t lag,
    char *err)
{
	if (kin_buf_adds(b, "{\"shard\":", err) < 0 ||
	    kin_json_put_str(b, l->key, strlen(l->key), err) < 0 ||
	    kin_buf_adds(b, ",\"owner\":", err) < 0 ||
	    put_str_or_null(b, l->owner, err) < 0 ||
	    kin_buf_printf(b, err, ",\"counter\":%" PRId64 ",\"checkpoint\":",
	    l->counter) < 0 ||
	    put_str_or_null(b, l->checkpoint, err) < 0 ||
	    kin_buf_printf(b, err, ",\"sub\":%" PRId64 ",\"switches\":%" PRId64
	    ",\"parents\":[", l->subseq, l->switches) < 0)
		return -1;
	for (size_t k = 0; k < l->nparents; k++)
		if ((k > 0 && kin_buf_addc(b, ',', err) < 0) ||
		    kin_json_put_str(b, l->parents[k], strlen(l->parents[k]),
		    err) < 0)
			return -1;
	if (kin_buf_adds(b, "]", err) < 0)
		return -1;
	if (lag >= 0 && kin_buf_printf(b, err, ",\"behind_ms\":%" PRId64, lag) < 0)
		return -1;
	return kin_buf_adds(b, "}\n", err);
}

static int
lease_text(struct kin_buf *b, const struct kin_lease *l, int64_t lag,
    int with_lag, char *err)
{
	if (kin_buf_printf(b, err, "%s  owner %s  counter %" PRId64
	    "  checkpoint %s  sub %" PRId64 "  switches %" PRId64 "  parents ",
	    l->key, l->owner ? l->owner : "-", l->counter,
	    l->checkpoint ? l->checkpoint : "-", l->subseq, l->switches) < 0)
		return -1;
	for (size_t k = 0; k < l->nparents; k++)
		if (kin_buf_printf(b, err, "%s%s", k ? "," : "",
		    l->parents[k]) < 0)
			return -1;
	if (l->nparents == 0 && kin_buf_adds(b, "-", err) < 0)
		return -1;
	if (with_lag) {
		if (lag >= 0 ? kin_buf_printf(b, err, "  behind %" PRId64 "ms",
		    lag) < 0 : kin_buf_adds(b, "  behind -", err) < 0)
			return -1;
	}
	return kin_buf_addc(b, '\n', err);
}

int
lease_list(const struct opts *o, struct kin_client *kc)
{
	struct kin_client ddb;
	struct kin_lease *v = NULL;
	struct kin_records rs;
	struct kin_awserr ae;
	struct kin_buf b;
	char err[KIN_ERRLEN];
	size_t n = 0;
	int rc = KIN_EX_OK;

	if (kin_ddb_init(&ddb, &o->cli, NULL, err) < 0) {
		kin_warn(PROG, "%s", err);
		return KIN_EX_CONFIG;
	}
	memset(&ae, 0, sizeof ae);
	if (kin_lease_scan(&ddb, o->lease_table, &v, &n, NULL, &ae, err) < 0) {
		kin_warn(PROG, "cannot read lease table '%s': %s",
		    o->lease_table, err);
		kin_client_release(&ddb);
		return kin_exit_status(&ae);
	}
	kin_records_init(&rs);
	kin_buf_init(&b, 1024 * 1024);
	for (size_t i = 0; i < n && rc == KIN_EX_OK; i++) {
		int64_t lag = -1;
		int e;

		if (o->cli.stream != NULL && !kin_lease_finished(&v[i]))
			lag = behind(kc, o->cli.stream, &v[i], &rs);
		e = o->mode == OUT_JSON ? lease_json(&b, &v[i], lag, err) :
		    lease_text(&b, &v[i], lag, o->cli.stream != NULL, err);
		if (e < 0 || fwrite(b.p, 1, b.len, stdout) != b.len)
			rc = KIN_EX_IOERR;
		kin_buf_reset(&b);
	}
	kin_buf_release(&b);
	kin_records_release(&rs);
	kin_leases_free(v, n);
	kin_client_release(&ddb);
	return rc;
}
