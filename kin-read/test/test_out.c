/* test_out.c — output lines: raw, the -J envelope of DESIGN.md section 1,
 * -f formats, and the records no mode may print as a line; the writer's
 * -c budget and its turns. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "out.h"
#include "t.h"

/* The writer's turns: a thread that writes while the writer is held
 * goes next, before the holder's own next write (a plain mutex let the
 * holder take it again first, and one shard got two turns in a row). */
static struct writer tw;

static void *
second(void *arg)
{
	static const size_t end = 2;

	(void)arg;
	(void)writer_put(&tw, "t\n", &end, 1);
	return NULL;
}

static int
hold(void *ctx, struct kin_buf *b, char *err)
{
	pthread_t *th = ctx;

	/* start the other writer while we hold the writer, and wait until
	 * it has taken its turn (ticket 1) */
	if (pthread_create(th, NULL, second, NULL) != 0)
		return kin_seterr(err, "cannot start a thread");
	while (__atomic_load_n(&tw.next, __ATOMIC_RELAXED) < 2)
		usleep(1000);
	usleep(20000);  /* and is waiting for the lock */
	return kin_buf_adds(b, "h1\n", err);
}

static void
test_turns(void)
{
	int fd[2];
	pthread_t th;
	struct kin_buf b;
	char err[KIN_ERRLEN], buf[16];
	static const size_t end = 3;
	ssize_t k;

	T_CHECK(pipe(fd) == 0);
	writer_init(&tw, fd[1], -1);
	kin_buf_init(&b, 64);
	T_CHECK(writer_control(&tw, &b, hold, &th, err) == 0);
	T_CHECK(writer_put(&tw, "h2\n", &end, 1) == 1);
	T_CHECK(pthread_join(th, NULL) == 0);
	close(fd[1]);
	k = read(fd[0], buf, sizeof buf);
	T_CHECK(k == 8 && memcmp(buf, "h1\nt\nh2\n", 8) == 0);
	close(fd[0]);
	kin_buf_release(&b);
	writer_release(&tw);
}

static struct out_rec
rec(const char *data, size_t len, const char *key)
{
	struct out_rec r = {
		.shard = "shardId-000000000001", .seq = "4959", .sub = 2,
		.key = key, .keylen = strlen(key), .data = data, .len = len,
		.arrival_ms = 1795633224436,
	};
	return r;
}

/* The line for data in mode (with fmt for OUT_FORMAT), or a marker. */
static const char *
line(enum out_mode mode, const char *fmt, const char *data, size_t len,
    const char *key)
{
	static char got[1024];
	struct out_cfg c = { .mode = mode, .stream = "s\"1" };
	struct kin_buf b;
	struct out_rec r = rec(data, len, key);
	char err[KIN_ERRLEN];
	int rc;

	out_fmt_init(&c.fmt);
	if (fmt != NULL && out_fmt_parse(&c.fmt, fmt, err) < 0) {
		snprintf(got, sizeof got, "FMT %s", err);
		out_fmt_release(&c.fmt);
		return got;
	}
	kin_buf_init(&b, 4096);
	kin_buf_adds(&b, "before|", err);
	rc = out_line(&c, &r, &b, err);
	if (rc == OUT_UNSAFE_NL)
		snprintf(got, sizeof got, "NL %s", b.p);
	else if (rc == OUT_UNSAFE_RS)
		snprintf(got, sizeof got, "RS %s", b.p);
	else if (rc < 0)
		snprintf(got, sizeof got, "ERR %s", err);
	else
		snprintf(got, sizeof got, "%s", b.p + 7);
	kin_buf_release(&b);
	out_fmt_release(&c.fmt);
	return got;
}

#define ENV "{\"stream\":\"s\\\"1\",\"shard\":\"shardId-000000000001\"," \
	"\"seq\":\"4959\",\"sub\":2,\"key\":\"k\",\"ts\":1795633224436,"

int
main(void)
{
	/* raw */
	T_STREQ(line(OUT_RAW, NULL, "hello", 5, "k"), "hello\n");
	T_STREQ(line(OUT_RAW, NULL, "", 0, "k"), "\n");
	T_STREQ(line(OUT_RAW, NULL, "a\0b", 3, "k"), "a");  /* NUL kept */
	T_STREQ(line(OUT_RAW, NULL, "a\nb", 3, "k"), "NL before|");
	T_STREQ(line(OUT_RAW, NULL, "\x1e{}", 3, "k"), "RS before|");
	T_STREQ(line(OUT_RAW, NULL, "x\x1e", 2, "k"), "x\x1e\n");

	/* -J: JSON values as themselves, the rest as strings or base64 */
	T_STREQ(line(OUT_JSON, NULL, "{\"a\":[1,2]}", 11, "k"),
	    ENV "\"data\":{\"a\":[1,2]}}\n");
	T_STREQ(line(OUT_JSON, NULL, "-1.5e3", 6, "k"), ENV "\"data\":-1.5e3}\n");
	/* a JSON string literal goes in as the string of its text */
	T_STREQ(line(OUT_JSON, NULL, "\"s\"", 3, "k"),
	    ENV "\"data\":\"\\\"s\\\"\"}\n");
	T_STREQ(line(OUT_JSON, NULL, "null", 4, "k"), ENV "\"data\":null}\n");
	T_STREQ(line(OUT_JSON, NULL, "text", 4, "k"), ENV "\"data\":\"text\"}\n");
	T_STREQ(line(OUT_JSON, NULL, "", 0, "k"), ENV "\"data\":\"\"}\n");
	T_STREQ(line(OUT_JSON, NULL, " 1", 2, "k"), ENV "\"data\":\" 1\"}\n");
	T_STREQ(line(OUT_JSON, NULL, "1 ", 2, "k"), ENV "\"data\":\"1 \"}\n");
	T_STREQ(line(OUT_JSON, NULL, "[1,\n2]", 6, "k"),
	    ENV "\"data\":\"[1,\\n2]\"}\n");
	T_STREQ(line(OUT_JSON, NULL, "{\"a\":1", 6, "k"),
	    ENV "\"data\":\"{\\\"a\\\":1\"}\n");
	T_STREQ(line(OUT_JSON, NULL, "\x1e{}", 3, "k"),
	    ENV "\"data\":\"\\u001e{}\"}\n");
	T_STREQ(line(OUT_JSON, NULL, "\xff\x00", 2, "k"),
	    ENV "\"data_b64\":\"/wA=\"}\n");
	T_STREQ(line(OUT_JSON, NULL, "\"\xff\"", 3, "k"),
	    ENV "\"data_b64\":\"Iv8i\"}\n");

	/* -f */
	T_STREQ(line(OUT_FORMAT, "%S %s %n %k %T %t [%d] %%\\n", "d", 1, "k"),
	    "shardId-000000000001 4959 2 k 1795633224436 "
	    "2026-11-25T19:00:24.436Z [d] %\n");
	T_STREQ(line(OUT_FORMAT, "\\x41\\t\\\\\\r", "d", 1, "k"), "A\t\\\r");
	T_STREQ(line(OUT_FORMAT, "%k\\n", "a\nb", 3, "k"), "k\n");
	T_STREQ(line(OUT_FORMAT, "%d\\n", "a\nb", 3, "k"), "NL before|");
	T_STREQ(line(OUT_FORMAT, "%k\\n", "d", 1, "a\nb"), "NL before|");
	T_STREQ(line(OUT_FORMAT, "%d\\n", "\x1e", 1, "k"), "RS before|");
	T_STREQ(line(OUT_FORMAT, "<%d>\\n", "\x1e", 1, "k"), "<\x1e>\n");
	T_STREQ(line(OUT_FORMAT, "\\x1e%d\\n", "x", 1, "k"), "\x1ex\n");
	T_STREQ(line(OUT_FORMAT, "no newline", "x", 1, "k"), "no newline");
	T_STREQ(line(OUT_FORMAT, "%q", "x", 1, "k"),
	    "FMT format '%q': unknown field '%q'");
	T_STREQ(line(OUT_FORMAT, "50%", "x", 1, "k"),
	    "FMT format '50%': '%' at the end");
	T_STREQ(line(OUT_FORMAT, "\\q", "x", 1, "k"),
	    "FMT format '\\q': unknown escape '\\q'");
	T_STREQ(line(OUT_FORMAT, "\\x4", "x", 1, "k"),
	    "FMT format '\\x4': '\\x' needs two hex digits");
	T_STREQ(line(OUT_FORMAT, "a\\", "x", 1, "k"),
	    "FMT format 'a\\': '\\' at the end");

	/* the writer: -c cuts a batch at a record boundary */
	{
		struct writer w;
		int fd[2];
		size_t ends[3] = { 2, 4, 6 };
		char buf[16];
		ssize_t k;

		T_CHECK(pipe(fd) == 0);
		writer_init(&w, fd[1], 2);
		T_CHECK(writer_put(&w, "a\nb\nc\n", ends, 3) == 2);
		T_CHECK(writer_full(&w));
		T_CHECK(writer_put(&w, "d\n", ends, 1) == 0);
		close(fd[1]);
		k = read(fd[0], buf, sizeof buf);
		T_CHECK(k == 4 && memcmp(buf, "a\nb\n", 4) == 0);
		close(fd[0]);
		writer_release(&w);
	}
	test_turns();
	T_DONE();
}
