/* out.c — checked, chunked writes to stdout (out.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "out.h"

int
tg_out_init(struct tg_out *o, int fd, size_t cap, size_t reserve, char *err)
{
	memset(o, 0, sizeof *o);
	o->fd = fd;
	if ((o->buf = malloc(cap)) == NULL)
		return kin_seterr(err, "cannot allocate output buffer: "
		    "out of memory");
	o->cap = cap;
	o->high = cap - reserve;
	return 0;
}

void
tg_out_release(struct tg_out *o)
{
	free(o->buf);
	o->buf = NULL;
}

int
tg_out_flush(struct tg_out *o, const volatile sig_atomic_t *stop, char *err)
{
	size_t off = 0, end = o->len;

	o->len = 0;
	while (off < end) {
		ssize_t n = write(o->fd, o->buf + off, end - off);

		if (n < 0) {
			if (errno == EPIPE)
				return TG_OUT_CLOSED;
			if (errno == EAGAIN) {
				/* Someone handed us a non-blocking stdout. */
				usleep(1000);
				continue;
			}
			if (errno != EINTR)
				return kin_seterrno(err, errno,
				    "cannot write to stdout");
			n = 0;
		}
		off += (size_t)n;
		o->bytes += (uint64_t)n;
		if (off < end && stop != NULL && *stop) {
			/* A stop cut this write short: end at a whole line
			 * (every flush starts at a line boundary). */
			if (off == 0)
				break;
			const char *nl = memchr(o->buf + off - 1, '\n',
			    end - off + 1);
			end = (size_t)(nl - o->buf) + 1;
		}
	}
	return TG_OUT_OK;
}
