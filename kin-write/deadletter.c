/* deadletter.c — writing dead letters so that nothing read is lost without
 * a trace, even when the service never takes it. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base64.h"
#include "deadletter.h"
#include "err.h"
#include "file.h"
#include "json.h"

int dl_open(struct deadletter *d, const char *path, char *err)
{
	memset(d, 0, sizeof(*d));
	kin_buf_init(&d->line, (size_t)8 << 20);
	d->fd = 2;
	if (!path)
		return 0;
	d->fd = kin_open_append_private(path);
	if (d->fd < 0 && errno == ELOOP) {
		d->fd = -1;
		return kin_seterr(err, "cannot open dead-letter file '%s': a "
		    "symbolic link: refused", path);
	}
	if (d->fd < 0) {
		d->fd = -1;
		return kin_seterrno(err, errno,
		    "cannot open dead-letter file '%s'", path);
	}
	if (!(d->path = strdup(path))) {
		close(d->fd);
		d->fd = -1;
		return kin_seterr(err, "out of memory");
	}
	return 0;
}

/* Raw JSON is kept as is only when putting it back with -J gives the same
 * bytes: one line, no blanks around, and not a string (a string would come
 * back without its quotes). */
static int embeddable(const char *s, size_t n)
{
	size_t i;

	if (!n || s[0] == '"' || s[0] == ' ' || s[n - 1] == ' ')
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20)
			return 0;
	return kin_json_is_value(s, n);
}

int dl_put_data(struct kin_buf *b, const char *data, size_t len, char *err)
{
	if (embeddable(data, len))
		return kin_buf_adds(b, "\"data\":", err) < 0 ||
		    kin_buf_add(b, data, len, err) < 0 ? -1 : 0;
	if (kin_utf8_valid(data, len))
		return kin_buf_adds(b, "\"data\":", err) < 0 ||
		    kin_json_put_str(b, data, len, err) < 0 ? -1 : 0;
	return kin_buf_adds(b, "\"data_b64\":\"", err) < 0 ||
	    kin_b64_encode(b, data, len, err) < 0 ||
	    kin_buf_addc(b, '"', err) < 0 ? -1 : 0;
}

static int put_field(struct kin_buf *b, const char *name, const char *v,
    char *err)
{
	if (kin_buf_printf(b, err, ",\"%s\":", name) < 0)
		return -1;
	return kin_json_put_str(b, v, strlen(v), err);
}

int dl_put(struct deadletter *d, const struct dl_rec *r, char *err)
{
	struct kin_buf *b = &d->line;
	size_t off = 0;

	kin_buf_reset(b);
	if (kin_buf_adds(b, "{\"reason\":", err) < 0 ||
	    kin_json_put_str(b, r->reason, strlen(r->reason), err) < 0 ||
	    put_field(b, "code", r->code ? r->code : "", err) < 0)
		goto toobig;
	if (r->message && *r->message &&
	    put_field(b, "message", r->message, err) < 0)
		goto toobig;
	if (r->src && strcmp(r->src, "-") != 0 &&
	    put_field(b, "file", r->src, err) < 0)
		goto toobig;
	if (r->lineno > 0 &&
	    kin_buf_printf(b, err, ",\"line\":%lld", r->lineno) < 0)
		goto toobig;
	if (r->key && put_field(b, "key", r->key, err) < 0)
		goto toobig;
	if (r->hash && put_field(b, "hash", r->hash, err) < 0)
		goto toobig;
	if (r->data) {
		if (kin_buf_addc(b, ',', err) < 0 ||
		    dl_put_data(b, r->data, r->len, err) < 0)
			goto toobig;
	} else if (kin_buf_adds(b, ",\"data\":null", err) < 0) {
		goto toobig;
	}
	if (kin_buf_adds(b, "}\n", err) < 0)
		goto toobig;
	while (off < b->len) {
		ssize_t w = write(d->fd, b->p + off, b->len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return kin_seterrno(err, errno,
			    "cannot write dead-letter file '%s'",
			    d->path ? d->path : "(stderr)");
		}
		off += (size_t)w;
	}
	d->count++;
	return 0;
toobig:
	return -1;
}

int dl_close(struct deadletter *d, char *err)
{
	int rc = 0;

	if (d->path && d->fd >= 0) {
		if (fsync(d->fd) < 0 && errno != EINVAL)
			rc = kin_seterrno(err, errno,
			    "cannot write dead-letter file '%s'", d->path);
		if (close(d->fd) < 0 && rc == 0)
			rc = kin_seterrno(err, errno,
			    "cannot write dead-letter file '%s'", d->path);
	}
	free(d->path);
	kin_buf_release(&d->line);
	d->path = NULL;
	d->fd = -1;
	return rc;
}
