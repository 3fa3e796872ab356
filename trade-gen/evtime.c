/* evtime.c — the slow paths of EVENT_TIME formatting: zone offsets and the
 * once-a-second rebuild of the date and time of day. */
#include <limits.h>
#include <time.h>

#include "err.h"
#include "evtime.h"

int
tg_evtime_init(struct tg_evtime *t, enum tg_zone zone, const char *tz,
    char *err)
{
	memset(t, 0, sizeof *t);
	t->zone = zone;
	t->min_key = INT64_MIN;
	t->sec_key = INT64_MIN;
	if (zone == TG_ZONE_NAMED && kin_tz_load(&t->tz, tz, err) < 0)
		return -1;
	if (zone == TG_ZONE_LOCAL)
		tzset();
	return 0;
}

void
tg_evtime_release(struct tg_evtime *t)
{
	if (t->zone == TG_ZONE_NAMED)
		kin_tz_release(&t->tz);
}

static long
offset_now(struct tg_evtime *t, int64_t sec)
{
	struct tm tm;
	time_t tt = (time_t)sec;

	switch (t->zone) {
	case TG_ZONE_NAMED:
		return kin_tz_utc_offset(&t->tz, sec * 1000000);
	case TG_ZONE_LOCAL:
		/* What Python's datetime.now()/fromtimestamp() consult. */
		if (localtime_r(&tt, &tm) == NULL)
			return 0;
		return tm.tm_gmtoff;
	case TG_ZONE_UTC:
		break;
	}
	return 0;
}

static int64_t
floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

long
tg_evtime_offset(struct tg_evtime *t, int64_t sec)
{
	int64_t min = floordiv(sec, 60);

	if (t->zone == TG_ZONE_UTC)
		return 0;
	if (min != t->min_key) {
		/* One zone change per minute at most: if both ends of the
		 * minute agree, the whole minute has that offset. */
		long a = offset_now(t, min * 60), b = offset_now(t, min * 60 + 59);

		t->min_key = min;
		t->min_off = a;
		t->min_split = a != b;
	}
	return t->min_split ? offset_now(t, sec) : t->min_off;
}

int64_t
tg_evtime_local_to_utc(struct tg_evtime *t, int64_t local_us)
{
	int64_t ls = floordiv(local_us, 1000000);
	long cand[4], best = 0, big;
	int found = 0;

	/* Python's fold=0: a wall time that happens twice is its first
	 * occurrence (the larger offset); one that is skipped is read with the
	 * offset before the change.  Offsets in force a day either side cover
	 * every change a wall time can fall into. */
	cand[0] = tg_evtime_offset(t, ls - 86400);
	cand[1] = tg_evtime_offset(t, ls + 86400);
	cand[2] = tg_evtime_offset(t, ls);
	cand[3] = tg_evtime_offset(t, ls - cand[2]);
	big = cand[0];
	for (int i = 0; i < 4; i++) {
		if (cand[i] > big)
			big = cand[i];
		if (tg_evtime_offset(t, ls - cand[i]) == cand[i] &&
		    (!found || cand[i] > best)) {
			best = cand[i];
			found = 1;
		}
	}
	if (!found)     /* skipped: the offset in force just before */
		best = tg_evtime_offset(t, ls - big);
	return local_us - (int64_t)best * 1000000;
}

int
tg_evtime_second(struct tg_evtime *t, int64_t sec)
{
	int64_t local = sec + tg_evtime_offset(t, sec);
	int64_t days = floordiv(local, 86400), y;
	int64_t sod = local - days * 86400;
	unsigned m, d;
	char *p = t->text;

	kin_civil_from_days(days, &y, &m, &d);
	if (y < 1 || y > 9999)
		return -1;
	p = tg_put_u64w(p, (uint64_t)y, 4);
	*p++ = '-';
	p = tg_put2(p, m);
	*p++ = '-';
	p = tg_put2(p, d);
	*p++ = 'T';
	p = tg_put2(p, (unsigned)(sod / 3600));
	*p++ = ':';
	p = tg_put2(p, (unsigned)(sod / 60 % 60));
	*p++ = ':';
	p = tg_put2(p, (unsigned)(sod % 60));
	*p = '\0';
	t->sec_key = sec;
	return 0;
}
