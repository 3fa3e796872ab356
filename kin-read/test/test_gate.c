/* test_gate.c — writer_put_gated, the write a lease's fence guards: a gate
 * that says no at first writes nothing; one that says no later stops at a
 * record boundary between pieces of about WRITER_PIECE bytes, reports the
 * records written and the cut; no gate writes the batch whole. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "out.h"
#include "t.h"

struct gate {
	int calls, allow;
};

static int
gate(const void *p)
{
	struct gate *g = (struct gate *)p;

	return g->calls++ < g->allow;
}

static long last_done;

static void
done(void *ctx, long written)
{
	(void)ctx;
	last_done = written;
}

/* A file to write into (a pipe would block past its buffer). */
static int
scratch(void)
{
	char path[] = "/tmp/test_gate.XXXXXX";
	int fd = mkstemp(path);

	if (fd >= 0)
		unlink(path);
	return fd;
}

static off_t
size_of(int fd)
{
	return lseek(fd, 0, SEEK_END);
}

int
main(void)
{
	enum { REC = 40 * 1024, N = 3 };
	char *batch = malloc(N * REC);
	size_t ends[N];
	struct writer w;
	struct gate g;
	int fd, cut;
	long put;

	T_CHECK(batch != NULL);
	if (batch == NULL)
		T_DONE();
	for (size_t i = 0; i < N; i++) {
		memset(batch + i * REC, 'a' + (int)i, REC - 1);
		batch[(i + 1) * REC - 1] = '\n';
		ends[i] = (i + 1) * REC;
	}

	/* refused before anything: nothing written, done not called */
	fd = scratch();
	T_CHECK(fd >= 0);
	writer_init(&w, fd, -1);
	g = (struct gate){ 0, 0 };
	last_done = -1;
	cut = 7;
	put = writer_put_gated(&w, batch, ends, N, gate, &g, done, NULL, &cut);
	T_CHECK(put == WRITER_REFUSED);
	T_CHECK(cut == 0);
	T_CHECK(last_done == -1);
	T_CHECK(size_of(fd) == 0);
	T_CHECK(w.count == 0);

	/* two pieces allowed (40 KiB records: one a piece), then no: two
	 * records out whole, the cut said, done told two */
	g = (struct gate){ 0, 2 };
	put = writer_put_gated(&w, batch, ends, N, gate, &g, done, NULL, &cut);
	T_CHECK(put == 2);
	T_CHECK(cut == 1);
	T_CHECK(last_done == 2);
	T_CHECK(g.calls == 3);
	T_CHECK(size_of(fd) == 2 * REC);
	T_CHECK(w.count == 2 && w.bytes == 2 * REC);
	writer_release(&w);
	close(fd);

	/* small records share a piece: the gate is asked once */
	fd = scratch();
	writer_init(&w, fd, -1);
	{
		size_t small[3] = { 2, 4, 6 };
		g = (struct gate){ 0, 1 };
		put = writer_put_gated(&w, "a\nb\nc\n", small, 3, gate, &g,
		    done, NULL, &cut);
		T_CHECK(put == 3 && cut == 0 && g.calls == 1);
		T_CHECK(size_of(fd) == 6);
	}
	writer_release(&w);
	close(fd);

	/* no gate: the batch in one go */
	fd = scratch();
	writer_init(&w, fd, -1);
	put = writer_put_gated(&w, batch, ends, N, NULL, NULL, done, NULL,
	    &cut);
	T_CHECK(put == N && cut == 0 && last_done == N);
	T_CHECK(size_of(fd) == N * REC);
	writer_release(&w);
	close(fd);

	/* -c: the budget first, then the pieces */
	fd = scratch();
	writer_init(&w, fd, 1);
	g = (struct gate){ 0, 10 };
	put = writer_put_gated(&w, batch, ends, N, gate, &g, done, NULL, &cut);
	T_CHECK(put == 1 && cut == 0);
	T_CHECK(size_of(fd) == REC);
	writer_release(&w);
	close(fd);

	free(batch);
	T_DONE();
}
