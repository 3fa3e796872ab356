/* evtime.h — EVENT_TIME text: Python's naive datetime.isoformat() in the
 * local zone (the original generator's datetime.now()) or in a --tz zone,
 * or RFC 3339 UTC with 'Z' (--utc).  The date and time of day are built
 * once per second and the zone offset once per minute, so the hot loop only
 * copies 19 bytes and writes the microseconds.
 * Ownership: struct tg_evtime is the caller's; tg_evtime_init() sets it up
 * (loading a --tz zone), tg_evtime_release() frees it. */
#ifndef TG_EVTIME_H
#define TG_EVTIME_H

#include <stdint.h>
#include <string.h>

#include "parse.h"
#include "fmt.h"

enum tg_zone {
	TG_ZONE_LOCAL,  /* the C library's local time (TZ), like Python */
	TG_ZONE_NAMED,  /* --tz */
	TG_ZONE_UTC,    /* --utc: RFC 3339 with Z */
};

struct tg_evtime {
	enum tg_zone zone;
	struct kin_tz tz;
	int64_t min_key;    /* UTC minute whose offset is cached */
	long min_off;       /* its offset, seconds east of UTC */
	int min_split;      /* the offset changes inside that minute */
	int64_t sec_key;    /* UTC second that text holds */
	char text[20];      /* "YYYY-MM-DDTHH:MM:SS" */
};

/* 0, or -1 with err filled (unknown zone). */
int tg_evtime_init(struct tg_evtime *t, enum tg_zone zone, const char *tz,
    char *err);
void tg_evtime_release(struct tg_evtime *t);
/* Offset (seconds east of UTC) of the output zone at UTC second sec. */
long tg_evtime_offset(struct tg_evtime *t, int64_t sec);
/* UTC instant of a zone-less wall time in the output zone (Python's fold=0:
 * a repeated hour reads as its first occurrence). */
int64_t tg_evtime_local_to_utc(struct tg_evtime *t, int64_t local_us);
/* Rebuild text for UTC second sec: 0, or -1 when the year is outside
 * 1..9999 (Python's datetime cannot show it either). */
int tg_evtime_second(struct tg_evtime *t, int64_t sec);

#define TG_EVTIME_MAX 27    /* "YYYY-MM-DDTHH:MM:SS.ffffffZ" */

/* Write the text of UTC instant us at p; NULL when out of range. */
static inline char *
tg_evtime_put(struct tg_evtime *t, char *p, int64_t us)
{
	int64_t sec = us / 1000000;
	int64_t usec = us % 1000000;

	if (usec < 0) {
		usec += 1000000;
		sec--;
	}
	if (sec != t->sec_key && tg_evtime_second(t, sec) < 0)
		return NULL;
	memcpy(p, t->text, 19);
	p += 19;
	if (usec) {     /* isoformat() leaves out a zero fraction */
		*p++ = '.';
		p = tg_put2(p, (unsigned)(usec / 10000));
		p = tg_put2(p, (unsigned)(usec / 100 % 100));
		p = tg_put2(p, (unsigned)(usec % 100));
	}
	if (t->zone == TG_ZONE_UTC)
		*p++ = 'Z';
	return p;
}

#endif
