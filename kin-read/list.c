/* list.c — -L: the streams of the account, or with -s the shards of one
 * (id, parents, hash key range, sequence number range, open or closed). */
#include "list.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "json.h"

static int
put_nullable(struct kin_buf *b, const char *s, char *err)
{
	if (s == NULL)
		return kin_buf_adds(b, "null", err);
	return kin_json_put_str(b, s, strlen(s), err);
}

static int
shard_json(struct kin_buf *b, const struct kin_shard *s, char *err)
{
	if (kin_buf_adds(b, "{\"shard\":", err) < 0 ||
	    kin_json_put_str(b, s->id, strlen(s->id), err) < 0 ||
	    kin_buf_adds(b, ",\"parents\":[", err) < 0)
		return -1;
	if (s->parent != NULL &&
	    kin_json_put_str(b, s->parent, strlen(s->parent), err) < 0)
		return -1;
	if (s->adjacent_parent != NULL &&
	    (kin_buf_adds(b, s->parent ? "," : "", err) < 0 ||
	    kin_json_put_str(b, s->adjacent_parent,
	    strlen(s->adjacent_parent), err) < 0))
		return -1;
	if (kin_buf_adds(b, "],\"hash_start\":", err) < 0 ||
	    put_nullable(b, s->hash_start, err) < 0 ||
	    kin_buf_adds(b, ",\"hash_end\":", err) < 0 ||
	    put_nullable(b, s->hash_end, err) < 0 ||
	    kin_buf_adds(b, ",\"seq_start\":", err) < 0 ||
	    put_nullable(b, s->seq_start, err) < 0 ||
	    kin_buf_adds(b, ",\"seq_end\":", err) < 0 ||
	    put_nullable(b, s->seq_end, err) < 0 ||
	    kin_buf_printf(b, err, ",\"open\":%s}\n",
	    s->seq_end ? "false" : "true") < 0)
		return -1;
	return 0;
}

static int
shard_text(struct kin_buf *b, const struct kin_shard *s, char *err)
{
	const char *p = s->parent, *a = s->adjacent_parent;

	return kin_buf_printf(b, err, "%s  %-6s  parents %s%s%s  hash %s..%s  "
	    "seq %s..%s\n", s->id, s->seq_end ? "closed" : "open",
	    p ? p : (a ? "" : "-"), p && a ? "," : "", a ? a : "",
	    s->hash_start ? s->hash_start : "?",
	    s->hash_end ? s->hash_end : "?",
	    s->seq_start ? s->seq_start : "?", s->seq_end ? s->seq_end : "");
}

static int
emit(struct kin_buf *b)
{
	if (b->len > 0 && fwrite(b->p, 1, b->len, stdout) != b->len)
		return -1;
	kin_buf_reset(b);
	return 0;
}

int
list_main(const struct opts *o, struct kin_client *c)
{
	struct kin_awserr ae;
	char err[KIN_ERRLEN];
	struct kin_buf b;
	int rc = KIN_EX_OK;

	memset(&ae, 0, sizeof ae);
	kin_buf_init(&b, 1024 * 1024);
	if (o->cli.stream == NULL) {
		char **names = NULL;
		size_t n = 0;

		if (kin_list_streams(c, &names, &n, &ae, err) < 0) {
			kin_warn(PROG, "cannot list streams: %s", err);
			kin_buf_release(&b);
			return kin_exit_status(&ae);
		}
		for (size_t i = 0; i < n && rc == KIN_EX_OK; i++) {
			int e = o->mode == OUT_JSON ?
			    (kin_buf_adds(&b, "{\"stream\":", err) < 0 ||
			    kin_json_put_str(&b, names[i], strlen(names[i]),
			    err) < 0 || kin_buf_adds(&b, "}\n", err) < 0) :
			    kin_buf_printf(&b, err, "%s\n", names[i]) < 0;
			if (e || emit(&b) < 0)
				rc = KIN_EX_IOERR;
		}
		kin_strv_free(names, n);
	} else {
		struct kin_shard *s = NULL;
		size_t n = 0;

		if (kin_list_shards(c, o->cli.stream, NULL, &s, &n, &ae,
		    err) < 0) {
			kin_warn(PROG, "cannot list shards of stream '%s': %s",
			    o->cli.stream, err);
			kin_buf_release(&b);
			return kin_exit_status(&ae);
		}
		for (size_t i = 0; i < n && rc == KIN_EX_OK; i++) {
			int e = o->mode == OUT_JSON ? shard_json(&b, &s[i], err) :
			    shard_text(&b, &s[i], err);
			if (e < 0 || emit(&b) < 0)
				rc = KIN_EX_IOERR;
		}
		kin_shards_free(s, n);
	}
	kin_buf_release(&b);
	return rc;
}
