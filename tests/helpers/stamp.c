/* stamp — copy standard input to standard output, each line prefixed
 * with the wall-clock milliseconds at which it was read and a tab, written
 * out as soon as the read that completed it.  Tests pipe several
 * processes' output through it to merge them into one history
 * (kin-read-leases.bats: which reader printed a shard's records when).
 * A last line without a newline gets one. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int
write_all(const char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(STDOUT_FILENO, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

int
main(void)
{
	static char in[1 << 16], out[(1 << 17) + 64];
	size_t o = 0;
	int bol = 1;

	for (;;) {
		ssize_t n = read(STDIN_FILENO, in, sizeof in);
		struct timespec ts;
		char pre[32];
		int plen;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			perror("stamp: read");
			return 1;
		}
		if (n == 0)
			break;
		clock_gettime(CLOCK_REALTIME, &ts);
		plen = snprintf(pre, sizeof pre, "%" PRId64 "\t",
		    (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
		for (ssize_t i = 0; i < n; i++) {
			if (bol) {
				memcpy(out + o, pre, (size_t)plen);
				o += (size_t)plen;
				bol = 0;
			}
			out[o++] = in[i];
			if (in[i] == '\n')
				bol = 1;
			if (o > sizeof out - 64) {
				if (write_all(out, o) < 0)
					return 1;
				o = 0;
			}
		}
		if (o > 0 && write_all(out, o) < 0)
			return 1;
		o = 0;
	}
	if (!bol && write_all("\n", 1) < 0)
		return 1;
	return 0;
}
