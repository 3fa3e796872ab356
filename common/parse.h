/* parse.h — the one parser for numbers, durations, sizes and times
 * (DESIGN.md section 2).  All return 0 or -1 with err filled. */
#ifndef KIN_PARSE_H
#define KIN_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* Whole decimal integer in [min, max], like OpenBSD strtonum. */
int kin_parse_int(const char *s, long long min, long long max,
    long long *out, char *err);
/* Finite decimal number (strtod, whole string). */
int kin_parse_double(const char *s, double *out, char *err);
/* "250ms", "30s", "5m", "1h", "2d", "1.5s"; a bare number is seconds;
 * parts add up ("1h30m").  Units are lower-case.  Result in milliseconds,
 * >= 0, rounded to the nearest one. */
int kin_parse_duration_ms(const char *s, int64_t *ms, char *err);
/* "512", "64K", "5M", "1G" (powers of 1024; k/m/g, "KB" and "KiB" read
 * the same; "1.5K" is 1536, a fraction of a byte is dropped). */
int kin_parse_size(const char *s, uint64_t *bytes, char *err);

/* Times are microseconds since the epoch, UTC. */
/* RFC 3339: "2026-11-25T18:05:53Z", "...53.123456+01:00", also a space for
 * 'T' and lower-case 't'/'z', and "+0100".  1 to 9 fraction digits (past
 * microseconds truncated); second 60 reads as the next second.  Without a
 * zone (Python's isoformat() form) local_offset_s says what the zone is
 * (seconds east of UTC) when allow_nozone, else it is an error; for a zone
 * with DST parse with offset 0 and pass the result to kin_tz_local_to_utc.
 * No locale, no sscanf, no mktime: safe and fast on a hot path. */
int kin_parse_time_us(const char *s, size_t len, int allow_nozone,
    long local_offset_s, int64_t *us, char *err);
/* Zone name ("UTC", "Europe/Berlin", "+02:00") to a fixed offset in seconds
 * valid at time us (zones with DST: the offset in force then).  Loads the
 * zone on every call: for one-off use; hot paths load a struct kin_tz. */
int kin_tz_offset(const char *tz, int64_t us, long *offset_s, char *err);

/* A time zone read once: "UTC"/"Z"/"GMT", a fixed "+HH:MM", "-HH:MM",
 * "+HHMM" or "+HH", or an IANA name read from the TZif file under $TZDIR
 * (default /usr/share/zoneinfo), including its POSIX rule for times past
 * the file's last transition.  No global state (TZ, tzset) is touched.
 * Ownership: the struct is the caller's; kin_tz_load() fills it,
 * kin_tz_release() frees its tables. */
struct kin_tz_rule;
struct kin_tz {
	char name[64];
	int64_t *at;          /* transition times, UTC seconds, ascending */
	unsigned char *idx;   /* type in force from at[i] */
	long *utoff;          /* offset of each type, seconds east of UTC */
	int ntrans, ntypes;
	struct kin_tz_rule *rule;  /* after the last transition, or NULL */
};
int kin_tz_load(struct kin_tz *z, const char *name, char *err);
void kin_tz_release(struct kin_tz *z);
/* Offset (seconds east of UTC) in force at the UTC instant us. */
long kin_tz_utc_offset(const struct kin_tz *z, int64_t us);
/* UTC instant of a zone-less local time (from kin_parse_time_us with
 * offset 0).  A repeated hour (DST ends) reads as its first occurrence and
 * a skipped one (DST starts) with the offset before the change, as
 * Python's datetime does with fold=0. */
int64_t kin_tz_local_to_utc(const struct kin_tz *z, int64_t local_us);

/* Format us as RFC 3339 UTC with millisecond precision
 * ("2026-11-25T18:05:53.123Z"); returns bytes written (< n). */
size_t kin_format_time_ms(char *dst, size_t n, int64_t us);
/* Days since 1970-01-01 to civil date and back (proleptic Gregorian). */
int64_t kin_days_from_civil(int64_t y, unsigned m, unsigned d);
void kin_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

/* Monotonic and wall clocks, in microseconds. */
int64_t kin_now_mono_us(void);
int64_t kin_now_wall_us(void);

#endif
