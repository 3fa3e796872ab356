/* Unit tests for the lease taker's rules (common/lease.c) with a fake
 * clock: observation of counters, expiry, readiness of children, which
 * leases to take or steal; and the KCL row form of a lease. */
#include "lease.h"
#include "err.h"
#include "t.h"

#include <stdlib.h>
#include <string.h>

#define F 3000   /* failover, ms */

struct spec {
	const char *key, *owner;
	int64_t counter;
	const char *cp;
	const char *p1, *p2;
	int64_t seen;
	int held;
};

/* Leases from specs, which are given sorted by key. */
static struct kin_lease *
mk(const struct spec *s, size_t n)
{
	struct kin_lease *v = calloc(n, sizeof *v);

	for (size_t i = 0; i < n; i++) {
		v[i].key = strdup(s[i].key);
		v[i].owner = s[i].owner ? strdup(s[i].owner) : NULL;
		v[i].counter = s[i].counter;
		v[i].checkpoint = strdup(s[i].cp ? s[i].cp : "TRIM_HORIZON");
		v[i].seen_ms = s[i].seen;
		v[i].held = s[i].held;
		if (s[i].p1 != NULL) {
			v[i].parents = calloc(2, sizeof *v[i].parents);
			v[i].parents[v[i].nparents++] = strdup(s[i].p1);
			if (s[i].p2 != NULL)
				v[i].parents[v[i].nparents++] = strdup(s[i].p2);
		}
	}
	return v;
}

/* n leases "s00".."s(n-1)", owners by a pattern string: one letter a
 * lease ('-' free), all seen at `seen`; upper case = held by me. */
static struct kin_lease *
mkpat(const char *pat, int64_t seen, const char *me)
{
	size_t n = strlen(pat);
	struct kin_lease *v = calloc(n, sizeof *v);
	char key[24], own[2] = "";

	for (size_t i = 0; i < n; i++) {
		snprintf(key, sizeof key, "s%02zu", i);
		v[i].key = strdup(key);
		v[i].counter = 5;
		v[i].seen_ms = seen;
		v[i].checkpoint = strdup("TRIM_HORIZON");
		if (pat[i] == '-')
			continue;
		own[0] = (char)(pat[i] | 0x20);
		v[i].owner = strdup(own);
		v[i].held = pat[i] >= 'A' && pat[i] <= 'Z' && own[0] == me[0];
	}
	return v;
}

static void
test_observe(void)
{
	static const struct spec olds[] = {
		{ "a", "w1", 1, NULL, NULL, NULL, 100, 0 },
		{ "b", "w1", 2, NULL, NULL, NULL, 100, 0 },
		{ "e", NULL, 0, NULL, NULL, NULL, 0, 0 },
	};
	static const struct spec fresh[] = {
		{ "a", "w1", 1, NULL, NULL, NULL, 0, 0 },  /* unchanged */
		{ "b", "w1", 3, NULL, NULL, NULL, 0, 0 },  /* renewed */
		{ "c", "w2", 7, NULL, NULL, NULL, 0, 0 },  /* new, owned */
		{ "d", NULL, 0, NULL, NULL, NULL, 0, 0 },  /* new, free */
		{ "e", NULL, 0, NULL, NULL, NULL, 0, 0 },  /* known, free */
	};
	struct kin_lease *o = mk(olds, 3), *v = mk(fresh, 5);

	kin_lease_observe(v, 5, o, 3, 500);
	T_CHECK(v[0].seen_ms == 100);
	T_CHECK(v[1].seen_ms == 500);
	T_CHECK(v[2].seen_ms == 500);
	T_CHECK(v[3].seen_ms == 0);
	T_CHECK(v[4].seen_ms == 0);
	/* expiry by local observation only */
	T_CHECK(kin_lease_expired(&v[3], 1, F));          /* free */
	T_CHECK(!kin_lease_expired(&v[0], 100 + F, F));
	T_CHECK(kin_lease_expired(&v[0], 100 + F + 1, F));
	T_CHECK(!kin_lease_expired(&v[1], 500 + F, F));
	/* a counter that moves keeps a lease alive however old it is */
	kin_lease_observe(o, 3, v, 5, 9000);
	T_CHECK(o[0].seen_ms == 100 && o[1].seen_ms == 9000);
	kin_leases_free(o, 3);
	kin_leases_free(v, 5);
}

static void
test_ready(void)
{
	static const struct spec s[] = {
		{ "c1", NULL, 0, NULL, "p", NULL, 0, 0 },
		{ "c2", NULL, 0, NULL, "p", "q", 0, 0 },
		{ "c3", NULL, 0, NULL, "x", NULL, 0, 0 },
		{ "p", NULL, 9, "SHARD_END", NULL, NULL, 0, 0 },
		{ "q", "w1", 9, "4960123", NULL, NULL, 0, 0 },
	};
	struct kin_lease *v = mk(s, 5);

	T_CHECK(kin_lease_finished(&v[3]));
	T_CHECK(!kin_lease_finished(&v[4]));
	T_CHECK(kin_lease_ready(v, 5, 0));    /* its parent ended */
	T_CHECK(!kin_lease_ready(v, 5, 1));   /* q has not */
	T_CHECK(kin_lease_ready(v, 5, 2));    /* x has no lease: gone */
	T_CHECK(kin_lease_ready(v, 5, 3));
	kin_leases_free(v, 5);
}

/* choose on a pattern at `now`, the picks' keys joined into out */
static size_t
choose(const char *pat, int64_t seen, int64_t now, const char *me,
    int max_leases, struct kin_lease_plan *plan, char *out, size_t outn)
{
	struct kin_lease *v = mkpat(pat, seen, me);
	size_t n = strlen(pat), pick[64], np;
	uint64_t rng = 42;

	np = kin_lease_choose(v, n, me, now, F, 1, max_leases, &rng, pick, 64,
	    plan);
	out[0] = '\0';
	for (size_t i = 0; i < np; i++) {
		size_t l = strlen(out);
		snprintf(out + l, outn - l, "%s%s", i ? "," : "", v[pick[i]].key);
	}
	if (plan->victim != NULL) {   /* points into v: copy before free */
		static char victim[8];
		snprintf(victim, sizeof victim, "%s", plan->victim);
		plan->victim = victim;
	}
	kin_leases_free(v, n);
	return np;
}

static void
test_choose(void)
{
	struct kin_lease_plan p;
	char got[256];

	/* cold start: alone, all 12 free: take them all */
	T_CHECK(choose("------------", 0, 1000, "a", 0, &p, got, sizeof got)
	    == 12);
	T_CHECK(p.target == 12 && p.workers == 1 && p.available == 12 &&
	    !p.steal);
	/* ... unless capped */
	T_CHECK(choose("------------", 0, 1000, "a", 5, &p, got, sizeof got)
	    == 5);
	/* a newcomer beside a worker holding all 12: steal one, from it */
	T_CHECK(choose("aaaaaaaaaaaa", 1000, 1500, "b", 0, &p, got,
	    sizeof got) == 1);
	T_CHECK(p.steal && p.target == 6 && p.need == 6 && p.workers == 2);
	T_STREQ(p.victim, "a");
	/* balanced 4/4/4: nothing to do */
	T_CHECK(choose("AAAAbbbbcccc", 1000, 1500, "a", 0, &p, got,
	    sizeof got) == 0);
	T_CHECK(p.target == 4 && p.mine == 4 && p.need == 0);
	/* a fourth worker: target 3, steal one from the most loaded (ties:
	 * the first name) */
	T_CHECK(choose("aaaabbbbcccc", 1000, 1500, "d", 0, &p, got,
	    sizeof got) == 1);
	T_CHECK(p.target == 3 && p.need == 3 && p.steal);
	T_STREQ(p.victim, "a");
	/* 3/3/3/2 and me with 1 below target: no one is over it, stay */
	T_CHECK(choose("aaabbbcccDD", 1000, 1500, "d", 0, &p, got,
	    sizeof got) == 0);
	T_CHECK(p.target == 3 && p.need == 1);
	/* KCL: most loaded at target, I need more than one: steal one */
	T_CHECK(choose("aaabbbcccddd", 1000, 1500, "e", 0, &p, got,
	    sizeof got) == 1);
	T_CHECK(p.target == 3 && p.need == 3 && p.steal);
	/* ... and once I have two the spread 3/3/2/2/2 is stable */
	T_CHECK(choose("aaabbbccdEdE", 1000, 1500, "e", 0, &p, got,
	    sizeof got) == 0);
	/* one of three died: its leases expire by observation, the living
	 * ones split them, free/expired first and no stealing */
	{
		struct kin_lease *v = mkpat("AAAAbbbbcccc", 1000, "a");
		size_t pick[16], np;
		uint64_t rng = 7;
		for (int i = 8; i < 12; i++)
			v[i].seen_ms = 100;               /* c stopped renewing */
		np = kin_lease_choose(v, 12, "a", 100 + F, F, 1, 0, &rng,
		    pick, 16, &p);
		T_CHECK(np == 0 && p.available == 0); /* not yet expired */
		np = kin_lease_choose(v, 12, "a", 101 + F, F, 1, 0, &rng, pick,
		    16, &p);
		T_CHECK(np == 2 && p.available == 4 && !p.steal);
		T_CHECK(p.workers == 2 && p.target == 6);
		for (size_t i = 0; i < np; i++)
			T_CHECK(pick[i] >= 8);
		kin_leases_free(v, 12);
	}
	/* our own name on leases we do not hold (an earlier run of ours):
	 * counted as ours while alive, taken back once expired */
	T_CHECK(choose("aaaa", 1000, 1500, "a", 0, &p, got, sizeof got) == 0);
	T_CHECK(p.mine == 4);
	T_CHECK(choose("aaaa", 1000, 1001 + F, "a", 0, &p, got, sizeof got)
	    == 4);
	/* more workers than leases: one each at most */
	T_CHECK(choose("ab", 1000, 1500, "c", 0, &p, got, sizeof got) == 0);
	T_CHECK(p.target == 1);
}

static void
test_children(void)
{
	/* p0 ended, p1 still read by b; c0 (of p0) and c1 (of p1) free */
	static const struct spec s[] = {
		{ "c0", NULL, 0, NULL, "p0", NULL, 0, 0 },
		{ "c1", NULL, 0, NULL, "p1", NULL, 0, 0 },
		{ "m", NULL, 0, NULL, "p0", "p1", 0, 0 },  /* merge child */
		{ "p0", NULL, 9, "SHARD_END", NULL, NULL, 0, 0 },
		{ "p1", "b", 9, "4960123", NULL, NULL, 1000, 0 },
	};
	struct kin_lease *v = mk(s, 5);
	struct kin_lease_plan p;
	size_t pick[8], np;
	uint64_t rng = 1;

	np = kin_lease_choose(v, 5, "a", 1500, F, 1, 0, &rng, pick, 8, &p);
	/* live: p1 and c0 (ended p0 and waiting c1, m do not count) */
	T_CHECK(p.leases == 2 && p.workers == 2 && p.target == 1);
	T_CHECK(np == 1 && pick[0] == 0);
	/* p1 ends: c1 and m become ready */
	free(v[4].checkpoint);
	v[4].checkpoint = strdup("SHARD_END");
	np = kin_lease_choose(v, 5, "a", 1500, F, 1, 0, &rng, pick, 8, &p);
	T_CHECK(p.leases == 3 && np == 3);
	kin_leases_free(v, 5);
}

static void
test_item(void)
{
	static const struct spec s[] = {
		{ "shardId-000000000007", "w-1", 42, "49600000000000000001",
		  "shardId-000000000001", "shardId-000000000002", 0, 0 },
	};
	struct kin_lease *v = mk(s, 1), back;
	struct kin_ddb_item it;
	struct kin_buf b;
	char err[KIN_ERRLEN];

	v[0].subseq = 3;
	v[0].switches = 2;
	kin_ddb_item_init(&it);
	kin_buf_init(&b, 1 << 16);
	T_CHECK(kin_lease_to_item(&v[0], &it, err) == 0);
	T_CHECK(kin_ddb_item_json(&b, &it, err) == 0);
	/* the KCL's names and types: parentShardId is a string set */
	T_STREQ(b.p, "{\"leaseKey\":{\"S\":\"shardId-000000000007\"},"
	    "\"leaseCounter\":{\"N\":\"42\"},\"leaseOwner\":{\"S\":\"w-1\"},"
	    "\"ownerSwitchesSinceCheckpoint\":{\"N\":\"2\"},"
	    "\"checkpoint\":{\"S\":\"49600000000000000001\"},"
	    "\"checkpointSubSequenceNumber\":{\"N\":\"3\"},"
	    "\"parentShardId\":{\"SS\":[\"shardId-000000000001\","
	    "\"shardId-000000000002\"]}}");
	T_CHECK(kin_lease_from_item(&it, &back, err) == 0);
	T_STREQ(back.key, "shardId-000000000007");
	T_STREQ(back.owner, "w-1");
	T_STREQ(back.checkpoint, "49600000000000000001");
	T_CHECK(back.counter == 42 && back.subseq == 3 && back.switches == 2);
	T_CHECK(back.nparents == 2);
	T_STREQ(back.parents[1], "shardId-000000000002");
	kin_lease_free(&back);
	/* a free lease has no leaseOwner at all */
	kin_ddb_item_release(&it);
	kin_ddb_item_init(&it);
	free(v[0].owner);
	v[0].owner = NULL;
	T_CHECK(kin_lease_to_item(&v[0], &it, err) == 0);
	T_CHECK(kin_ddb_get(&it, "leaseOwner") == NULL);
	/* no leaseKey: not a lease */
	kin_ddb_item_release(&it);
	kin_ddb_item_init(&it);
	T_CHECK(kin_ddb_set_n(&it, "leaseCounter", 1, err) == 0);
	T_CHECK(kin_lease_from_item(&it, &back, err) == -1);
	kin_ddb_item_release(&it);
	kin_buf_release(&b);
	kin_leases_free(v, 1);
}

int
main(void)
{
	test_observe();
	test_ready();
	test_choose();
	test_children();
	test_item();
	T_DONE();
}
