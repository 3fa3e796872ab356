/* test_lines.c — the record reader over files and pipes: delimiters, the
 * last record without one, the ceiling and recovery after it, non-blocking
 * input, EINTR, and a large random input checked against a plain split. */
#include "t.h"
#include "err.h"
#include "lines.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static char err[KIN_ERRLEN];

/* Input to a temp file (chunk 0) or to a pipe fed by a child in chunks of
 * the given size; returns the read end. */
static int
feed(const char *data, size_t n, size_t chunk, pid_t *child)
{
	*child = -1;
	if (chunk == 0) {
		char path[] = "/tmp/kin-lines-XXXXXX";
		int fd = mkstemp(path);
		if (fd < 0)
			return -1;
		unlink(path);
		for (size_t off = 0; off < n;) {
			ssize_t w = write(fd, data + off, n - off);
			if (w <= 0)
				return -1;
			off += (size_t)w;
		}
		lseek(fd, 0, SEEK_SET);
		return fd;
	}
	int p[2];
	if (pipe(p) < 0)
		return -1;
	*child = fork();
	if (*child == 0) {
		close(p[0]);
		for (size_t off = 0; off < n;) {
			size_t k = n - off < chunk ? n - off : chunk;
			ssize_t w = write(p[1], data + off, k);
			if (w <= 0)
				_exit(1);
			off += (size_t)w;
		}
		_exit(0);
	}
	close(p[1]);
	return p[0];
}

static void
reap(pid_t child)
{
	int st;

	if (child > 0)
		waitpid(child, &st, 0);
}

struct want {
	int rc;
	const char *rec;   /* NULL: do not compare */
	int had_delim;
	long long lineno;
};

#define OK(s, d, n) { KIN_LINE_OK, s, d, n }
#define LONG(d, n) { KIN_LINE_TOOLONG, NULL, d, n }
#define END { KIN_LINE_EOF, NULL, 0, -1 }

static void
run_case(const char *name, const char *data, size_t n, int delim, size_t max,
    const struct want *w, size_t nw)
{
	static const size_t chunks[] = { 0, 1, 3, 4096 };

	for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
		struct kin_lines l;
		pid_t child;
		int fd = feed(data, n, chunks[c], &child);

		T_CHECK(fd >= 0);
		kin_lines_init(&l, fd, delim, max);
		for (size_t i = 0; i < nw; i++) {
			const char *rec = NULL;
			size_t len = 0;
			int rc = kin_lines_next(&l, &rec, &len, err);

			T_CHECKF(rc == w[i].rc, "%s chunk %zu step %zu: rc %d want "
			    "%d", name, chunks[c], i, rc, w[i].rc);
			if (rc != w[i].rc)
				break;
			if (w[i].rec != NULL)
				T_CHECKF(len == strlen(w[i].rec) &&
				    memcmp(rec, w[i].rec, len) == 0,
				    "%s chunk %zu step %zu: record '%.*s'", name,
				    chunks[c], i, (int)len, rec);
			if (rc != KIN_LINE_EOF) {
				T_CHECKF(l.had_delim == w[i].had_delim,
				    "%s step %zu had_delim", name, i);
				T_CHECKF(l.lineno == w[i].lineno,
				    "%s step %zu lineno %lld", name, i,
				    l.lineno);
			}
		}
		/* EOF stays EOF */
		if (nw > 0 && w[nw - 1].rc == KIN_LINE_EOF) {
			const char *rec;
			size_t len;
			T_CHECK(kin_lines_next(&l, &rec, &len, err) ==
			    KIN_LINE_EOF);
		}
		kin_lines_release(&l);
		close(fd);
		reap(child);
	}
}

#define CASE(name, lit, delim, max, ...) do { \
	static const struct want w_[] = { __VA_ARGS__ }; \
	run_case(name, lit, sizeof(lit) - 1, delim, max, w_, \
	    sizeof w_ / sizeof w_[0]); } while (0)

static void
test_table(void)
{
	CASE("two lines", "a\nb\n", '\n', 100, OK("a", 1, 1), OK("b", 1, 2),
	    END);
	CASE("last without newline", "a\nbc", '\n', 100, OK("a", 1, 1),
	    OK("bc", 0, 2), END);
	CASE("empty input", "", '\n', 100, END);
	CASE("one empty line", "\n", '\n', 100, OK("", 1, 1), END);
	CASE("empty lines", "\n\nx\n\n", '\n', 100, OK("", 1, 1),
	    OK("", 1, 2), OK("x", 1, 3), OK("", 1, 4), END);
	CASE("CRLF is data", "a\r\nb\r\n\r", '\n', 100, OK("a\r", 1, 1),
	    OK("b\r", 1, 2), OK("\r", 0, 3), END);
	CASE("NUL delimiter", "a\nb\0c\0d", 0, 100, OK("a\nb", 1, 1),
	    OK("c", 1, 2), OK("d", 0, 3), END);
	CASE("exactly the ceiling", "abc\nde\n", '\n', 3, OK("abc", 1, 1),
	    OK("de", 1, 2), END);
	CASE("over then recover", "abcd\nxy\nabcdefgh\n\nz", '\n', 3,
	    LONG(1, 1), OK("xy", 1, 2), LONG(1, 3), OK("", 1, 4),
	    OK("z", 0, 5), END);
	CASE("over at EOF", "ab\nabcd", '\n', 3, OK("ab", 1, 1), LONG(0, 2),
	    END);
	CASE("ceiling zero", "\nx\n\n", '\n', 0, OK("", 1, 1), LONG(1, 2),
	    OK("", 1, 3), END);
	CASE("binary bytes", "\xff\x01\x02\n\x80", '\n', 10,
	    OK("\xff\x01\x02", 1, 1), OK("\x80", 0, 2), END);
}

/* Records far larger than one read and than the initial buffer. */
static void
test_big(void)
{
	size_t big = 3 * 1024 * 1024 + 17, n = 0;
	char *data = malloc(big * 2 + 64);
	static const size_t chunks[] = { 0, 65536, 1000 };

	memset(data, 'x', big);
	n = big;
	data[n++] = '\n';
	memcpy(data + n, "small\n", 6);
	n += 6;
	memset(data + n, 'y', 700 * 1024);
	n += 700 * 1024;
	data[n++] = '\n';
	memcpy(data + n, "end", 3);
	n += 3;

	for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
		struct kin_lines l;
		const char *rec;
		size_t len;
		pid_t child;
		int fd = feed(data, n, chunks[c], &child);

		/* ceiling 1 MiB: the 3 MiB record is skipped, the 700 KiB one
		 * is returned whole (the buffer grows past 256 KiB) */
		kin_lines_init(&l, fd, '\n', 1024 * 1024);
		T_CHECK(kin_lines_next(&l, &rec, &len, err) == KIN_LINE_TOOLONG);
		T_CHECK(l.lineno == 1);
		T_CHECK(kin_lines_next(&l, &rec, &len, err) == KIN_LINE_OK &&
		    len == 5 && memcmp(rec, "small", 5) == 0);
		T_CHECK(kin_lines_next(&l, &rec, &len, err) == KIN_LINE_OK &&
		    len == 700 * 1024 && rec[0] == 'y' && rec[len - 1] == 'y');
		T_CHECK(kin_lines_next(&l, &rec, &len, err) == KIN_LINE_OK &&
		    len == 3 && !l.had_delim && l.lineno == 4);
		T_CHECK(kin_lines_next(&l, &rec, &len, err) == KIN_LINE_EOF);
		T_CHECK(l.cap <= 1024 * 1024 + 1);
		kin_lines_release(&l);
		close(fd);
		reap(child);

		/* ceiling 4 MiB: everything comes back */
		fd = feed(data, n, chunks[c], &child);
		kin_lines_init(&l, fd, '\n', 4 * 1024 * 1024);
		T_CHECK(kin_lines_next(&l, &rec, &len, err) == KIN_LINE_OK &&
		    len == big && rec[big - 1] == 'x');
		T_CHECK(kin_lines_next(&l, &rec, &len, err) == KIN_LINE_OK &&
		    len == 5);
		kin_lines_release(&l);
		close(fd);
		reap(child);
	}
	free(data);
}

/* Random lengths through a pipe in odd chunks, against memchr splitting. */
static void
test_random(void)
{
	size_t cap = 8 * 1024 * 1024, n = 0, nrec = 0;
	char *data = malloc(cap);
	uint32_t x = 7;
	struct kin_lines l;
	const char *rec;
	size_t len, off = 0;
	pid_t child;
	int fd, ok = 1, rc;

	while (n < cap - 5000) {
		x = x * 1664525 + 1013904223;
		size_t k = (x >> 8) % (x & 1 ? 40 : 3000);
		for (size_t i = 0; i < k; i++)
			data[n + i] = (char)('a' + (i + nrec) % 26);
		n += k;
		data[n++] = '\n';
		nrec++;
	}
	fd = feed(data, n, 7919, &child);
	kin_lines_init(&l, fd, '\n', 4000);
	while ((rc = kin_lines_next(&l, &rec, &len, err)) == KIN_LINE_OK) {
		char *nl = memchr(data + off, '\n', n - off);
		if (nl == NULL || len != (size_t)(nl - (data + off)) ||
		    memcmp(rec, data + off, len) != 0) {
			ok = 0;
			break;
		}
		off += len + 1;
	}
	T_CHECK(ok);
	T_CHECK(rc == KIN_LINE_EOF && off == n);
	T_CHECKF(l.lineno == (long long)nrec, "lineno %lld nrec %zu",
	    l.lineno, nrec);
	kin_lines_release(&l);
	close(fd);
	reap(child);
	free(data);
}

static void
test_nonblocking(void)
{
	struct kin_lines l;
	const char *rec;
	size_t len;
	int p[2];

	T_CHECK(pipe(p) == 0);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	kin_lines_init(&l, p[0], '\n', 100);
	T_CHECK(kin_lines_next(&l, &rec, &len, err) == KIN_LINE_AGAIN);
	T_CHECK(write(p[1], "par", 3) == 3);
	T_CHECK(kin_lines_next(&l, &rec, &len, err) == KIN_LINE_AGAIN);
	T_CHECK(kin_lines_pending(&l) == 3);
	T_CHECK(write(p[1], "tial\nnext\nhalf", 14) == 14);
	T_CHECK(kin_lines_next(&l, &rec, &len, err) == KIN_LINE_OK &&
	    len == 7 && memcmp(rec, "partial", 7) == 0);
	/* a whole record is buffered: no read needed for it */
	T_CHECK(kin_lines_pending(&l) == 9);
	T_CHECK(kin_lines_next(&l, &rec, &len, err) == KIN_LINE_OK &&
	    len == 4 && memcmp(rec, "next", 4) == 0);
	T_CHECK(kin_lines_next(&l, &rec, &len, err) == KIN_LINE_AGAIN);
	close(p[1]);
	T_CHECK(kin_lines_next(&l, &rec, &len, err) == KIN_LINE_OK &&
	    len == 4 && !l.had_delim);
	T_CHECK(kin_lines_next(&l, &rec, &len, err) == KIN_LINE_EOF);
	kin_lines_release(&l);
	close(p[0]);

	/* too long while non-blocking: AGAIN while skipping, then TOOLONG */
	T_CHECK(pipe(p) == 0);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	kin_lines_init(&l, p[0], '\n', 4);
	T_CHECK(write(p[1], "abcdefgh", 8) == 8);
	T_CHECK(kin_lines_next(&l, &rec, &len, err) == KIN_LINE_AGAIN);
	T_CHECK(write(p[1], "ij\nok\n", 6) == 6);
	T_CHECK(kin_lines_next(&l, &rec, &len, err) == KIN_LINE_TOOLONG);
	T_CHECK(kin_lines_next(&l, &rec, &len, err) == KIN_LINE_OK &&
	    len == 2 && l.lineno == 2);
	kin_lines_release(&l);
	close(p[0]);
	close(p[1]);
}

static int intr_fd = -1;
static volatile sig_atomic_t intr_hits;

static void
on_alarm(int sig)
{
	(void)sig;
	intr_hits++;
	/* the data arrives only through the handler, so the read it
	 * interrupted must be retried to see it */
	if (write(intr_fd, "late\n", 5) != 5)
		intr_hits = -100;
}

static void
test_errors(void)
{
	struct kin_lines l;
	const char *rec;
	size_t len;
	int p[2];
	struct sigaction sa;
	struct itimerval it;

	/* EINTR is retried */
	T_CHECK(pipe(p) == 0);
	intr_fd = p[1];
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;   /* no SA_RESTART */
	sigaction(SIGALRM, &sa, NULL);
	memset(&it, 0, sizeof it);
	it.it_value.tv_usec = 20000;
	setitimer(ITIMER_REAL, &it, NULL);
	kin_lines_init(&l, p[0], '\n', 100);
	T_CHECK(kin_lines_next(&l, &rec, &len, err) == KIN_LINE_OK &&
	    len == 4 && memcmp(rec, "late", 4) == 0);
	T_CHECK(intr_hits == 1);
	kin_lines_release(&l);
	signal(SIGALRM, SIG_DFL);
	close(p[0]);
	close(p[1]);

	/* a read error is an error, not end of input */
	kin_lines_init(&l, -1, '\n', 100);
	T_CHECK(kin_lines_next(&l, &rec, &len, err) == KIN_LINE_ERR);
	T_STREQ(err, "cannot read input: Bad file descriptor");
	kin_lines_release(&l);
	{
		int dfd = open("/", O_RDONLY | O_DIRECTORY);
		kin_lines_init(&l, dfd, '\n', 100);
		T_CHECK(kin_lines_next(&l, &rec, &len, err) == KIN_LINE_ERR);
		T_CHECKF(strstr(err, "directory") != NULL, "%s", err);
		kin_lines_release(&l);
		close(dfd);
	}
	/* release twice is harmless */
	kin_lines_release(&l);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_table();
	test_big();
	test_random();
	test_nonblocking();
	test_errors();
	T_DONE();
}
