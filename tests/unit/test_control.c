/* test_control.c — control lines (barrier, restore, end) built and read
 * back, a barrier's positions in the checkpoint file's forms, the
 * checkpoint file round trip with its barrier id, and the writer's lock. */
#include "t.h"
#include "ckpt.h"
#include "control.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char err[KIN_ERRLEN];

#define S(lit) lit, strlen(lit)

static void
entries(struct kin_ckpt_entry e[4])
{
	memset(e, 0, 4 * sizeof *e);
	e[0].id = (char *)"shardId-000000000000";
	e[0].done = 1;
	e[1].id = (char *)"shardId-000000000001";
	e[1].pos.kind = KIN_POS_AFTER;
	memcpy(e[1].pos.seq,
	    "49590338271490256608559692538361571095921575989136588898",
	    57);
	e[1].pos.sub = 3;
	e[1].pos.more = 1;
	e[2].id = (char *)"shard \"two\"";
	e[2].pos.kind = KIN_POS_TRIM;
	e[3].id = (char *)"shardId-000000000003";
	e[3].pos.kind = KIN_POS_AT_TS;
	e[3].pos.ts_ms = 1764000000123;
}

static void
same_entries(const struct kin_ckpt *c, const struct kin_ckpt_entry *e)
{
	T_CHECK(c->n == 4);
	if (c->n != 4)
		return;
	for (size_t i = 0; i < 4; i++) {
		T_STREQ(c->e[i].id, e[i].id);
		T_CHECK(c->e[i].done == e[i].done);
		if (e[i].done)
			continue;
		T_CHECK(c->e[i].pos.kind == e[i].pos.kind);
		T_STREQ(c->e[i].pos.seq, e[i].pos.seq);
		T_CHECK(c->e[i].pos.sub == e[i].pos.sub);
		T_CHECK(c->e[i].pos.more == e[i].pos.more);
		T_CHECK(c->e[i].pos.ts_ms == e[i].pos.ts_ms);
	}
}

int
main(void)
{
	struct kin_ckpt_entry e[4];
	struct kin_buf b;
	struct kin_ctl c;

	entries(e);
	kin_buf_init(&b, 1 << 20);
	kin_ctl_init(&c);

	/* a barrier is one line, RS first, newline last, and reads back */
	T_CHECK(kin_ctl_put_barrier(&b, 42, "in", e, 4, err) == 0);
	T_CHECK(b.len > 2 && b.p[0] == 0x1e && b.p[b.len - 1] == '\n');
	T_CHECK(memchr(b.p, '\n', b.len - 1) == NULL);
	T_CHECK(strncmp(b.p + 1, "{\"kin\":\"barrier\",\"id\":42,", 24) == 0);
	T_CHECK(kin_ctl_parse(&c, b.p, b.len - 1, 1, err) == 0);
	T_CHECK(c.type == KIN_CTL_BARRIER && c.has_id && c.id == 42);
	T_CHECK(c.id_rawlen == 2 && memcmp(c.id_raw, "42", 2) == 0);
	T_STREQ(c.pos.stream, "in");
	T_CHECK(c.pos.barrier == 42);
	same_entries(&c.pos, e);

	/* without positions wanted, a barrier needs only its type */
	T_CHECK(kin_ctl_parse(&c, S("\x1e{\"kin\":\"barrier\",\"id\":\"b7\"}"), 0,
	    err) == 0);
	T_CHECK(c.type == KIN_CTL_BARRIER && c.has_id && c.id == -1);
	T_CHECK(c.id_rawlen == 4 && memcmp(c.id_raw, "\"b7\"", 4) == 0);
	T_CHECK(c.pos.n == 0);
	/* with positions wanted, a barrier without them is refused */
	T_CHECK(kin_ctl_parse(&c, S("\x1e{\"kin\":\"barrier\",\"id\":3}"), 1,
	    err) == -1);
	T_CHECK(strstr(err, "stream") != NULL);

	/* restore with and without an id; end; an unknown type */
	kin_buf_reset(&b);
	T_CHECK(kin_ctl_put_restore(&b, 9, err) == 0);
	T_STREQ(b.p, "\x1e{\"kin\":\"restore\",\"id\":9}\n");
	T_CHECK(kin_ctl_parse(&c, b.p, b.len - 1, 1, err) == 0);
	T_CHECK(c.type == KIN_CTL_RESTORE && c.has_id && c.id == 9);
	kin_buf_reset(&b);
	T_CHECK(kin_ctl_put_restore(&b, -1, err) == 0);
	T_STREQ(b.p, "\x1e{\"kin\":\"restore\"}\n");
	T_CHECK(kin_ctl_parse(&c, b.p, b.len - 1, 1, err) == 0);
	T_CHECK(c.type == KIN_CTL_RESTORE && !c.has_id);
	T_CHECK(kin_ctl_parse(&c, S("\x1e{\"kin\":\"restore\",\"id\":null}"), 1,
	    err) == 0);
	T_CHECK(c.type == KIN_CTL_RESTORE && !c.has_id);
	kin_buf_reset(&b);
	T_CHECK(kin_ctl_put_end(&b, err) == 0);
	T_STREQ(b.p, "\x1e{\"kin\":\"end\"}\n");
	T_CHECK(kin_ctl_parse(&c, b.p, b.len - 1, 1, err) == 0);
	T_CHECK(c.type == KIN_CTL_END && !c.has_id);
	T_CHECK(kin_ctl_parse(&c, S("\x1e{\"kin\":\"flush\",\"x\":1}"), 1,
	    err) == 0);
	T_CHECK(c.type == KIN_CTL_OTHER);
	T_STREQ(c.name, "flush");
	/* not control lines */
	T_CHECK(!kin_ctl_is(S("{\"kin\":\"end\"}")));
	T_CHECK(!kin_ctl_is(S("")));
	T_CHECK(kin_ctl_parse(&c, S("{\"kin\":\"end\"}"), 1, err) == -1);
	T_CHECK(kin_ctl_parse(&c, S("\x1e[1]"), 1, err) == -1);
	T_CHECK(kin_ctl_parse(&c, S("\x1e{\"kin\":1}"), 1, err) == -1);
	T_CHECK(kin_ctl_parse(&c, S("\x1e{\"kin\":\"end\""), 1, err) == -1);

	/* the checkpoint file: barrier id and entries round trip, 0600 */
	char dir[] = "/tmp/kin-ckpt-XXXXXX", path[256];
	struct kin_ckpt k;
	struct stat st;

	T_CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/ck", dir);
	kin_ckpt_init(&k);
	T_CHECK(kin_ckpt_load(&k, path, err) == 0);
	T_CHECK(k.barrier == -1 && k.n == 0);
	T_CHECK(kin_ckpt_save(path, "in", 42, e, 4, err) == 0);
	T_CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	T_CHECK(kin_ckpt_load(&k, path, err) == 1);
	T_CHECK(k.barrier == 42);
	T_STREQ(k.stream, "in");
	same_entries(&k, e);
	T_CHECK(kin_ckpt_find(&k, "shard \"two\"") == &k.e[2]);
	T_CHECK(kin_ckpt_find(&k, "nope") == NULL);
	kin_ckpt_release(&k);
	/* without a barrier: none read back */
	T_CHECK(kin_ckpt_save(path, "in", -1, e, 4, err) == 0);
	kin_ckpt_init(&k);
	T_CHECK(kin_ckpt_load(&k, path, err) == 1 && k.barrier == -1);
	kin_ckpt_release(&k);

	/* the lock: one holder; another process is refused; free after */
	int fd, fd2;

	T_CHECK(kin_ckpt_lock_free(path, err) == 1);
	T_CHECK(kin_ckpt_lock(path, &fd, err) == 1 && fd >= 0);
	pid_t pid = fork();
	if (pid == 0)
		_exit(kin_ckpt_lock(path, &fd2, err) == 0 &&
		    kin_ckpt_lock_free(path, err) == 0 ? 0 : 1);
	int ws = 0;
	T_CHECK(pid > 0 && waitpid(pid, &ws, 0) == pid && WIFEXITED(ws) &&
	    WEXITSTATUS(ws) == 0);
	/* a second descriptor in this process is another holder too */
	T_CHECK(kin_ckpt_lock(path, &fd2, err) == 0);
	kin_ckpt_unlock(fd);
	T_CHECK(kin_ckpt_lock_free(path, err) == 1);
	snprintf(path, sizeof path, "%s/ck.lock", dir);
	T_CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	unlink(path);
	snprintf(path, sizeof path, "%s/ck", dir);
	unlink(path);
	rmdir(dir);

	kin_ctl_release(&c);
	kin_buf_release(&b);
	T_DONE();
}
