/* test_shards.c — the shard table: who reads what, where each shard
 * starts, and children only after their parents are read to the end. */
#include <stdlib.h>
#include <string.h>

#include "shards.h"
#include "t.h"

static struct kin_shard
ks(const char *id, const char *parent, const char *adjacent, int closed)
{
	struct kin_shard s;

	memset(&s, 0, sizeof s);
	s.id = (char *)id;
	s.parent = (char *)parent;
	s.adjacent_parent = (char *)adjacent;
	s.seq_start = (char *)"1";
	s.seq_end = closed ? (char *)"2" : NULL;
	return s;
}

static struct shard *
get(struct table *t, const char *id)
{
	return table_find_locked(t, id);
}

#define S0 "shardId-000000000000"
#define S1 "shardId-000000000001"
#define S2 "shardId-000000000002"
#define S3 "shardId-000000000003"
#define S4 "shardId-000000000004"

/* 0 and 1 at the start; 0 split into 2 and 3; 3 merged with 1 into 4. */
static const struct kin_shard *
family(size_t *n)
{
	static struct kin_shard v[5];

	v[0] = ks(S0, NULL, NULL, 1);
	v[1] = ks(S1, NULL, NULL, 1);
	v[2] = ks(S2, S0, NULL, 0);
	v[3] = ks(S3, S0, NULL, 1);
	v[4] = ks(S4, S3, S1, 0);
	*n = 5;
	return v;
}

static void
finish(struct table *t, const char *id)
{
	get(t, id)->state = SH_DONE;
	table_update_locked(t);
}

int
main(void)
{
	struct owner o;
	struct static_owner so;
	struct table t;
	struct merge_cfg m;
	struct kin_pos trim = { .kind = POS_TRIM }, latest = { .kind = POS_LATEST };
	size_t n;
	const struct kin_shard *v = family(&n);

	/* trim-horizon: the roots start, their children wait */
	memset(&so, 0, sizeof so);
	static_owner_init(&o, &so);
	table_init(&t, &o);
	m = (struct merge_cfg){ .from = &trim, .ckpt = NULL, .initial = 1 };
	T_CHECK(table_merge(&t, v, n, &m) == 5);
	T_CHECK(table_merge(&t, v, n, &m) == 0);
	T_CHECK(t.n == 5 && strcmp(t.v[0]->id, S0) == 0);
	T_CHECK(get(&t, S0)->state == SH_READY && get(&t, S1)->state == SH_READY);
	T_CHECK(get(&t, S2)->state == SH_WAITING);
	T_CHECK(get(&t, S4)->state == SH_WAITING);
	finish(&t, S0);
	T_CHECK(get(&t, S2)->state == SH_READY && get(&t, S3)->state == SH_READY);
	T_CHECK(get(&t, S4)->state == SH_WAITING);   /* 1 is not done yet */
	finish(&t, S3);
	T_CHECK(get(&t, S4)->state == SH_WAITING);
	finish(&t, S1);
	T_CHECK(get(&t, S4)->state == SH_READY);
	T_CHECK(get(&t, S4)->start.kind == POS_TRIM);
	table_release(&t);

	/* latest: closed shards are done at once, open ones start at the tip */
	table_init(&t, &o);
	m.from = &latest;
	table_merge(&t, v, n, &m);
	T_CHECK(get(&t, S0)->state == SH_DONE && get(&t, S3)->state == SH_DONE);
	T_CHECK(get(&t, S2)->state == SH_READY && get(&t, S4)->state == SH_READY);
	T_CHECK(get(&t, S2)->start.kind == POS_LATEST);
	/* a shard that appears later starts at its beginning */
	{
		struct kin_shard more[2] = { ks(S2, S0, NULL, 1),
		    ks("shardId-000000000005", S2, NULL, 0) };
		m.initial = 0;
		T_CHECK(table_merge(&t, more, 2, &m) == 1);
		T_CHECK(get(&t, S2)->closed);
		T_CHECK(get(&t, "shardId-000000000005")->state == SH_WAITING);
		T_CHECK(get(&t, "shardId-000000000005")->start.kind == POS_TRIM);
	}
	/* a ChildShards answer adds a child before any discovery */
	{
		char *parents[] = { (char *)S4 };
		table_add_child_locked(&t, "shardId-000000000006", parents, 1);
		struct shard *c = get(&t, "shardId-000000000006");
		T_CHECK(c != NULL && c->owned && c->state == SH_WAITING);
		T_CHECK(c->start.kind == POS_TRIM);
		finish(&t, S4);
		T_CHECK(c->state == SH_READY);
	}
	table_release(&t);

	/* a checkpoint: where it says, children of its shards from their
	 * beginning whatever -o says, finished shards stay finished */
	{
		struct kin_ckpt ck;
		struct kin_ckpt_entry e[2];

		memset(e, 0, sizeof e);
		e[0].id = (char *)S0;
		e[0].done = 1;
		e[1].id = (char *)S1;
		e[1].pos.kind = POS_AFTER;
		memcpy(e[1].pos.seq, "77", 3);
		e[1].pos.sub = 2;
		e[1].pos.more = 1;
		ck.stream = (char *)"s";
		ck.e = e;
		ck.n = 2;
		table_init(&t, &o);
		m = (struct merge_cfg){ .from = &latest, .ckpt = &ck, .initial = 1 };
		table_merge(&t, v, n, &m);
		T_CHECK(get(&t, S0)->state == SH_DONE);
		T_CHECK(get(&t, S1)->state == SH_READY);
		T_CHECK(get(&t, S1)->last.kind == POS_AFTER &&
		    get(&t, S1)->last.sub == 2 && get(&t, S1)->last.more);
		T_CHECK(get(&t, S2)->start.kind == POS_TRIM);
		T_CHECK(get(&t, S3)->start.kind == POS_TRIM);
		T_CHECK(get(&t, S4)->start.kind == POS_TRIM);  /* grandchild */
		T_CHECK(get(&t, S2)->state == SH_READY);

		struct kin_ckpt_entry *snap;
		size_t k;
		T_CHECK(table_snapshot(&t, &snap, &k) == 0);
		T_CHECK(k == 5);
		T_CHECK(snap[0].done && strcmp(snap[1].id, S1) == 0 &&
		    snap[1].pos.kind == POS_AFTER && snap[1].pos.more);
		T_CHECK(snap[2].pos.kind == POS_TRIM);
		free(snap);
		table_release(&t);
	}

	/* --shard-index 1/2 takes shards 1 and 3; --shard takes the named */
	so.n = 2;
	so.i = 1;
	table_init(&t, &o);
	m = (struct merge_cfg){ .from = &trim, .ckpt = NULL, .initial = 1 };
	table_merge(&t, v, n, &m);
	T_CHECK(!get(&t, S0)->owned && get(&t, S1)->owned);
	T_CHECK(!get(&t, S2)->owned && get(&t, S3)->owned && !get(&t, S4)->owned);
	/* 3's parent is someone else's: the static owner cannot wait for it */
	T_CHECK(get(&t, S3)->state == SH_READY);
	table_release(&t);
	{
		char *ids[] = { (char *)S2 };
		so.n = 0;
		so.ids = ids;
		so.nids = 1;
		table_init(&t, &o);
		table_merge(&t, v, n, &m);
		T_CHECK(get(&t, S2)->owned && !get(&t, S0)->owned);
		T_CHECK(get(&t, S2)->state == SH_READY);
		table_release(&t);
	}
	T_DONE();
}
