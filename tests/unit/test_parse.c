/* test_parse.c — numbers, durations, sizes, RFC 3339 times, calendars and
 * time zones.  Expected instants and offsets were computed with Python's
 * datetime and zoneinfo, an implementation independent of ours. */
#include "t.h"
#include "err.h"
#include "parse.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char err[KIN_ERRLEN];

static void
test_int(void)
{
	static const struct { const char *s; long long min, max, want; int ok; }
	cases[] = {
		{ "0", 0, 10, 0, 1 },
		{ "10", 0, 10, 10, 1 },
		{ "11", 0, 10, 0, 0 },
		{ "-1", 0, 10, 0, 0 },
		{ "-5", -10, 10, -5, 1 },
		{ "+7", 0, 10, 7, 1 },
		{ "", 0, 10, 0, 0 },
		{ " 5", 0, 10, 0, 0 },
		{ "5 ", 0, 10, 0, 0 },
		{ "5x", 0, 10, 0, 0 },
		{ "0x10", 0, 100, 0, 0 },
		{ "1.5", 0, 10, 0, 0 },
		{ "9223372036854775807", 0, INT64_MAX, INT64_MAX, 1 },
		{ "9223372036854775808", 0, INT64_MAX, 0, 0 },
		{ "-9223372036854775808", INT64_MIN, 0, INT64_MIN, 1 },
		{ "abc", 0, 10, 0, 0 },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		long long v = -42;
		int rc = kin_parse_int(cases[i].s, cases[i].min, cases[i].max,
		    &v, err);
		T_CHECKF((rc == 0) == cases[i].ok, "int '%s' rc %d", cases[i].s,
		    rc);
		if (cases[i].ok)
			T_CHECKF(v == cases[i].want, "int '%s' got %lld",
			    cases[i].s, v);
		else
			T_CHECKF(strstr(err, "bad number") != NULL,
			    "int '%s' err '%s'", cases[i].s, err);
	}
	kin_parse_int("42", 0, 10, &(long long){ 0 }, err);
	T_STREQ(err, "bad number '42': out of range [0, 10]");
}

static void
test_double(void)
{
	static const struct { const char *s; double want; int ok; } cases[] = {
		{ "0", 0, 1 }, { "1.5", 1.5, 1 }, { "-2e3", -2000, 1 },
		{ ".5", 0.5, 1 }, { "", 0, 0 }, { "nan", 0, 0 }, { "inf", 0, 0 },
		{ "1e999", 0, 0 }, { "1.5x", 0, 0 }, { " 1", 0, 0 },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		double v = -1;
		int rc = kin_parse_double(cases[i].s, &v, err);
		T_CHECKF((rc == 0) == cases[i].ok, "double '%s'", cases[i].s);
		if (cases[i].ok)
			T_CHECKF(v == cases[i].want, "double '%s' got %g",
			    cases[i].s, v);
	}
}

static void
test_duration(void)
{
	static const struct { const char *s; int64_t ms; int ok; } cases[] = {
		{ "250ms", 250, 1 }, { "30s", 30000, 1 }, { "5m", 300000, 1 },
		{ "1h", 3600000, 1 }, { "2d", 172800000, 1 },
		{ "1.5s", 1500, 1 }, { "0.25s", 250, 1 }, { "1.5h", 5400000, 1 },
		{ "10", 10000, 1 }, { "0", 0, 1 }, { "0.5", 500, 1 },
		{ "1h30m", 5400000, 1 }, { "1m30s", 90000, 1 },
		{ "1.0005s", 1001, 1 },     /* rounded to the nearest ms */
		{ "0.0004s", 0, 1 },
		{ ".5s", 500, 1 }, { "5.s", 5000, 1 },
		{ "", 0, 0 }, { "s", 0, 0 }, { "-1s", 0, 0 }, { "5x", 0, 0 },
		{ "5S", 0, 0 }, { "5 s", 0, 0 }, { " 5s", 0, 0 },
		{ "5sec", 0, 0 }, { "1h30", 0, 0 }, { "1..5s", 0, 0 },
		{ ".s", 0, 0 }, { "99999999999999999999d", 0, 0 },
		{ "106751991167d", 9223372036828800000LL, 1 },
		{ "106751991168d", 0, 0 },  /* past INT64_MAX ms */
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int64_t v = -1;
		int rc = kin_parse_duration_ms(cases[i].s, &v, err);
		T_CHECKF((rc == 0) == cases[i].ok, "duration '%s' rc %d (%s)",
		    cases[i].s, rc, rc ? err : "");
		if (cases[i].ok && rc == 0)
			T_CHECKF(v == cases[i].ms, "duration '%s' got %lld",
			    cases[i].s, (long long)v);
	}
	kin_parse_duration_ms("5x", &(int64_t){ 0 }, err);
	T_STREQ(err, "bad duration '5x': unknown unit 'x' (use ms, s, m, h, d)");
}

static void
test_size(void)
{
	static const struct { const char *s; uint64_t b; int ok; } cases[] = {
		{ "512", 512, 1 }, { "0", 0, 1 }, { "64K", 65536, 1 },
		{ "64k", 65536, 1 }, { "5M", 5242880, 1 },
		{ "1G", 1073741824, 1 }, { "1.5K", 1536, 1 },
		{ "64KB", 65536, 1 }, { "64KiB", 65536, 1 }, { "512B", 512, 1 },
		{ "1MiB", 1048576, 1 }, { "0.5M", 524288, 1 },
		{ "", 0, 0 }, { "K", 0, 0 }, { "-1", 0, 0 }, { "5T", 0, 0 },
		{ "5 K", 0, 0 }, { "5KK", 0, 0 }, { "5iB", 0, 0 },
		{ "99999999999999999999", 0, 0 }, { "17179869184G", 0, 0 },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint64_t v = 7;
		int rc = kin_parse_size(cases[i].s, &v, err);
		T_CHECKF((rc == 0) == cases[i].ok, "size '%s' rc %d",
		    cases[i].s, rc);
		if (cases[i].ok && rc == 0)
			T_CHECKF(v == cases[i].b, "size '%s' got %llu",
			    cases[i].s, (unsigned long long)v);
	}
}

static void
test_time_good(void)
{
	static const struct { const char *s; long long us; } cases[] = {
		{ "1970-01-01T00:00:00Z", 0LL },
		{ "1969-12-31T23:59:59Z", -1000000LL },
		{ "1969-12-31T23:59:59.999999Z", -1LL },
		{ "1969-12-31T23:59:59.5Z", -500000LL },
		{ "2000-02-29T12:34:56Z", 951827696000000LL },
		{ "2024-02-29T23:59:59.5+00:00", 1709251199500000LL },
		{ "2026-11-25T18:05:53.123456+01:00", 1795626353123456LL },
		{ "2026-11-25T18:05:53.123-05:30", 1795649753123000LL },
		{ "0001-01-01T00:00:00Z", -62135596800000000LL },
		{ "9999-12-31T23:59:59Z", 253402300799000000LL },
		{ "1900-03-01T00:00:00Z", -2203891200000000LL },
		{ "2100-02-28T00:00:00Z", 4107456000000000LL },
		{ "1600-02-29T00:00:00Z", -11670998400000000LL },
		{ "2026-01-01T00:00:00+14:00", 1767175200000000LL },
		{ "2026-01-01T00:00:00-12:00", 1767268800000000LL },
		/* spellings of the same instant */
		{ "2026-11-25t18:05:53z", 1795629953000000LL },
		{ "2026-11-25 18:05:53Z", 1795629953000000LL },
		{ "2026-11-25T19:05:53+0100", 1795629953000000LL },
		{ "2026-11-25T18:05:53.000000000Z", 1795629953000000LL },
		/* nanoseconds are truncated to microseconds */
		{ "2026-11-25T18:05:53.123456789Z", 1795629953123456LL },
		{ "2026-11-25T18:05:53.1Z", 1795629953100000LL },
		/* leap second reads as the next second */
		{ "2016-12-31T23:59:60Z", 1483228800000000LL },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int64_t us = 0;
		int rc = kin_parse_time_us(cases[i].s, strlen(cases[i].s), 0, 0,
		    &us, err);
		T_CHECKF(rc == 0, "time '%s': %s", cases[i].s, err);
		T_CHECKF(us == cases[i].us, "time '%s' got %lld want %lld",
		    cases[i].s, (long long)us, cases[i].us);
	}
}

static void
test_time_bad(void)
{
	static const char *bad[] = {
		"", "2026", "2026-11-25", "2026-11-25T18:05Z",
		"2026-11-25T18:05:53",          /* zone-less without allow */
		"2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z",
		"2026-11-31T00:00:00Z", "2026-11-00T00:00:00Z",
		"2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z",
		"2026-11-25T24:00:00Z", "2026-11-25T23:60:00Z",
		"2026-11-25T23:59:61Z", "2026-11-25X18:05:53Z",
		"2026/11/25T18:05:53Z", "2026-11-25T18:05:53.Z",
		"2026-11-25T18:05:53.1234567890Z",  /* 10 fraction digits */
		"2026-11-25T18:05:53+1:00", "2026-11-25T18:05:53+01:0",
		"2026-11-25T18:05:53+24:00", "2026-11-25T18:05:53+01:60",
		"2026-11-25T18:05:53ZZ", "2026-11-25T18:05:53Z ",
		"2026-11-25T18:05:53 Z", "2026-11-25T18:05:53UTC",
		"+2026-11-25T18:05:53Z", "2026-11-25T18:05:5aZ",
		"２026-11-25T18:05:53Z", "2026-1-25T18:05:53Z",
		"2026-11-25T18:05:53+01", "2026-11-25T18:05:53-",
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int64_t us = 12345;
		err[0] = '\0';
		int rc = kin_parse_time_us(bad[i], strlen(bad[i]), 0, 0, &us,
		    err);
		T_CHECKF(rc == -1, "time '%s' accepted as %lld", bad[i],
		    (long long)us);
		T_CHECKF(strncmp(err, "bad time '", 10) == 0,
		    "time '%s' err '%s'", bad[i], err);
		T_CHECKF(us == 12345, "time '%s' wrote output", bad[i]);
	}
	/* len is honoured: the bytes past it are not read */
	{
		int64_t us;
		const char *s = "2026-11-25T18:05:53Zjunk";
		T_CHECK(kin_parse_time_us(s, 20, 0, 0, &us, err) == 0);
		T_CHECK(kin_parse_time_us(s, 19, 0, 0, &us, err) == -1);
		T_CHECK(kin_parse_time_us(s, 18, 1, 0, &us, err) == -1);
	}
	kin_parse_time_us("2026-02-30T00:00:00Z", 20, 0, 0, &(int64_t){ 0 },
	    err);
	T_STREQ(err, "bad time '2026-02-30T00:00:00Z': no such date");
}

static void
test_time_nozone(void)
{
	/* Python's isoformat() without a zone, with a given offset */
	static const struct { const char *s; long off; long long us; } cases[] = {
		{ "2026-11-25T18:05:53.123456", 0, 1795629953123456LL },
		{ "2026-11-25T18:05:53", 0, 1795629953000000LL },
		{ "2026-11-25T18:05:53", 3600, 1795626353000000LL },
		{ "2026-11-25T18:05:53", -19800, 1795649753000000LL },
		{ "2026-11-25 18:05:53.5", 0, 1795629953500000LL },
		/* an explicit zone still wins */
		{ "2026-11-25T18:05:53Z", 3600, 1795629953000000LL },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int64_t us = 0;
		int rc = kin_parse_time_us(cases[i].s, strlen(cases[i].s), 1,
		    cases[i].off, &us, err);
		T_CHECKF(rc == 0, "nozone '%s': %s", cases[i].s, err);
		T_CHECKF(us == cases[i].us, "nozone '%s' got %lld", cases[i].s,
		    (long long)us);
	}
}

static void
test_format(void)
{
	static const struct { long long us; const char *want; } cases[] = {
		{ 0, "1970-01-01T00:00:00.000Z" },
		{ -1, "1969-12-31T23:59:59.999Z" },
		{ -1000, "1969-12-31T23:59:59.999Z" },
		{ -1001, "1969-12-31T23:59:59.998Z" },
		{ 1795629953123456LL, "2026-11-25T18:05:53.123Z" },
		{ 951782400000000LL, "2000-02-29T00:00:00.000Z" },
		{ 253402300799999999LL, "9999-12-31T23:59:59.999Z" },
		{ -62135596800000000LL, "0001-01-01T00:00:00.000Z" },
		{ 253402300800000000LL, "10000-01-01T00:00:00.000Z" },
	};
	char out[64];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t n = kin_format_time_ms(out, sizeof out, cases[i].us);
		T_STREQ(out, cases[i].want);
		T_CHECK(n == strlen(cases[i].want));
	}
	/* short buffers are cut, never overrun */
	T_CHECK(kin_format_time_ms(out, 5, 0) == 4);
	T_STREQ(out, "1970");
	T_CHECK(kin_format_time_ms(out, 0, 0) == 0);
	/* format then parse is the identity at millisecond precision */
	for (int64_t us = -5000000000000000LL; us < 5000000000000000LL;
	    us += 987654321987LL) {
		int64_t back, ms_us = us - ((us % 1000) + 1000) % 1000;
		size_t n = kin_format_time_ms(out, sizeof out, us);
		T_CHECKF(kin_parse_time_us(out, n, 0, 0, &back, err) == 0 &&
		    back == ms_us, "round trip %lld via %s", (long long)us, out);
	}
}

static void
test_civil(void)
{
	int64_t y = 1970, yy;
	unsigned m = 1, d = 1, mm, dd;
	int ok = 1;
	static const unsigned char dm[] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	T_CHECK(kin_days_from_civil(1970, 1, 1) == 0);
	T_CHECK(kin_days_from_civil(1969, 12, 31) == -1);
	T_CHECK(kin_days_from_civil(2000, 3, 1) == 11017);
	T_CHECK(kin_days_from_civil(0, 3, 1) == -719468);
	/* walk day by day from 1970 forwards and backwards, 800 years each,
	 * against a calendar kept by hand */
	for (int64_t z = 0; z < 292200 && ok; z++) {
		kin_civil_from_days(z, &yy, &mm, &dd);
		if (yy != y || mm != m || dd != d ||
		    kin_days_from_civil(y, m, d) != z)
			ok = 0;
		unsigned len = dm[m - 1] + (m == 2 && y % 4 == 0 &&
		    (y % 100 != 0 || y % 400 == 0));
		if (++d > len) {
			d = 1;
			if (++m > 12) {
				m = 1;
				y++;
			}
		}
	}
	T_CHECKF(ok, "forward walk broke at %lld-%u-%u", (long long)y, m, d);
	y = 1969, m = 12, d = 31, ok = 1;
	for (int64_t z = -1; z > -292200 && ok; z--) {
		kin_civil_from_days(z, &yy, &mm, &dd);
		if (yy != y || mm != m || dd != d ||
		    kin_days_from_civil(y, m, d) != z)
			ok = 0;
		if (--d == 0) {
			if (--m == 0) {
				m = 12;
				y--;
			}
			d = dm[m - 1] + (m == 2 && y % 4 == 0 &&
			    (y % 100 != 0 || y % 400 == 0));
		}
	}
	T_CHECKF(ok, "backward walk broke at %lld-%u-%u", (long long)y, m, d);
}

static int64_t
at(const char *s)
{
	int64_t us = 0;

	if (kin_parse_time_us(s, strlen(s), 0, 0, &us, err) < 0)
		fprintf(stderr, "bad fixture %s: %s\n", s, err);
	return us;
}

static void
test_tz_fixed(void)
{
	static const struct { const char *tz; long off; int ok; } cases[] = {
		{ "UTC", 0, 1 }, { "Z", 0, 1 }, { "GMT", 0, 1 },
		{ "+02:00", 7200, 1 }, { "-05:30", -19800, 1 },
		{ "+0530", 19800, 1 }, { "-03", -10800, 1 }, { "+00:00", 0, 1 },
		{ "+24:00", 0, 0 }, { "+1:00", 0, 0 }, { "+01:60", 0, 0 },
		{ "+01:0", 0, 0 }, { "", 0, 0 }, { "/etc/passwd", 0, 0 },
		{ "../../etc/passwd", 0, 0 }, { "Europe/../../etc/passwd", 0, 0 },
		{ "No/Such_Zone", 0, 0 },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		long off = 99;
		int rc = kin_tz_offset(cases[i].tz, 0, &off, err);
		T_CHECKF((rc == 0) == cases[i].ok, "tz '%s' rc %d (%s)",
		    cases[i].tz, rc, rc ? err : "");
		if (cases[i].ok && rc == 0)
			T_CHECKF(off == cases[i].off, "tz '%s' got %ld",
			    cases[i].tz, off);
	}
	kin_tz_offset("No/Such_Zone", 0, &(long){ 0 }, err);
	T_CHECKF(strncmp(err, "unknown time zone 'No/Such_Zone'", 32) == 0,
	    "%s", err);
}

static void
test_tz_iana(void)
{
	static const struct { const char *tz, *t; long off; } cases[] = {
		{ "Europe/Berlin", "1950-06-01T00:00:00Z", 3600 },
		{ "Europe/Berlin", "2026-03-29T00:59:59Z", 3600 },
		{ "Europe/Berlin", "2026-03-29T01:00:00Z", 7200 },
		{ "Europe/Berlin", "2026-10-25T00:59:59Z", 7200 },
		{ "Europe/Berlin", "2026-10-25T01:00:00Z", 3600 },
		{ "Europe/Berlin", "2026-07-01T12:00:00Z", 7200 },
		{ "Europe/Berlin", "2050-01-15T00:00:00Z", 3600 },
		{ "Europe/Berlin", "2050-07-15T00:00:00Z", 7200 },
		{ "Europe/Berlin", "2150-07-15T00:00:00Z", 7200 },
		{ "America/New_York", "1950-06-01T00:00:00Z", -14400 },
		{ "America/New_York", "2007-03-11T06:59:59Z", -18000 },
		{ "America/New_York", "2007-03-11T07:00:00Z", -14400 },
		{ "America/New_York", "2050-01-15T00:00:00Z", -18000 },
		{ "America/New_York", "2050-07-15T00:00:00Z", -14400 },
		{ "America/New_York", "2150-07-15T00:00:00Z", -14400 },
		{ "Australia/Sydney", "1950-06-01T00:00:00Z", 36000 },
		{ "Australia/Sydney", "2026-07-01T12:00:00Z", 36000 },
		{ "Australia/Sydney", "2050-01-15T00:00:00Z", 39600 },
		{ "Australia/Sydney", "2150-07-15T00:00:00Z", 36000 },
		{ "Asia/Kolkata", "2026-07-01T12:00:00Z", 19800 },
		{ "Asia/Kolkata", "2150-07-15T00:00:00Z", 19800 },
		{ "Australia/Lord_Howe", "2026-07-01T12:00:00Z", 37800 },
		{ "Australia/Lord_Howe", "2050-01-15T00:00:00Z", 39600 },
		{ "Australia/Lord_Howe", "2050-07-15T00:00:00Z", 37800 },
		{ "America/Sao_Paulo", "2026-07-01T12:00:00Z", -10800 },
		{ "America/Sao_Paulo", "2050-01-15T00:00:00Z", -10800 },
		{ "Pacific/Chatham", "1950-06-01T00:00:00Z", 45900 },
		{ "Pacific/Chatham", "2050-01-15T00:00:00Z", 49500 },
		{ "Pacific/Chatham", "2050-07-15T00:00:00Z", 45900 },
	};
	static const struct { const char *tz, *local, *utc; } loc[] = {
		/* skipped hour: the offset before the change (fold=0) */
		{ "Europe/Berlin", "2026-03-29T02:30:00", "2026-03-29T01:30:00.000Z" },
		/* repeated hour: its first occurrence */
		{ "Europe/Berlin", "2026-10-25T02:30:00", "2026-10-25T00:30:00.000Z" },
		{ "Europe/Berlin", "2026-10-25T03:30:00", "2026-10-25T02:30:00.000Z" },
		{ "Europe/Berlin", "2026-07-01T12:00:00", "2026-07-01T10:00:00.000Z" },
		{ "America/New_York", "2026-11-01T01:30:00", "2026-11-01T05:30:00.000Z" },
		{ "America/New_York", "2026-03-08T02:30:00", "2026-03-08T07:30:00.000Z" },
		{ "Australia/Sydney", "2026-04-05T02:30:00", "2026-04-04T15:30:00.000Z" },
		{ "Australia/Sydney", "2026-10-04T02:30:00", "2026-10-03T16:30:00.000Z" },
		{ "UTC", "2026-10-25T02:30:00", "2026-10-25T02:30:00.000Z" },
		{ "+05:30", "2026-01-01T00:00:00", "2025-12-31T18:30:00.000Z" },
		{ "Asia/Kolkata", "2026-01-01T00:00:00", "2025-12-31T18:30:00.000Z" },
	};
	char out[64];

	if (access("/usr/share/zoneinfo/Europe/Berlin", R_OK) != 0) {
		fprintf(stderr, "SKIP IANA zones: no tzdata\n");
		return;
	}
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		long off = 0;
		int rc = kin_tz_offset(cases[i].tz, at(cases[i].t), &off, err);
		T_CHECKF(rc == 0 && off == cases[i].off,
		    "%s at %s: rc %d off %ld want %ld (%s)", cases[i].tz,
		    cases[i].t, rc, off, cases[i].off, rc ? err : "");
	}
	for (size_t i = 0; i < sizeof loc / sizeof loc[0]; i++) {
		struct kin_tz z;
		int64_t l;

		T_CHECKF(kin_tz_load(&z, loc[i].tz, err) == 0, "%s", err);
		T_CHECK(kin_parse_time_us(loc[i].local, strlen(loc[i].local),
		    1, 0, &l, err) == 0);
		kin_format_time_ms(out, sizeof out, kin_tz_local_to_utc(&z, l));
		T_CHECKF(strcmp(out, loc[i].utc) == 0, "%s local %s: %s, want %s",
		    loc[i].tz, loc[i].local, out, loc[i].utc);
		kin_tz_release(&z);
	}
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* A "slim" TZif (zic -b slim): no transitions, everything in the footer's
 * POSIX rule.  Also a file that is not TZif at all. */
static void
test_tz_slim(void)
{
	char dir[] = "/tmp/kin-tz-XXXXXX", path[256];
	unsigned char f[256];
	size_t n = 0;
	const char *footer = "\nCET-1CEST,M3.5.0,M10.5.0/3\n";
	long off;
	int fd;

	if (mkdtemp(dir) == NULL) {
		T_CHECK(!"mkdtemp");
		return;
	}
	memset(f, 0, sizeof f);
	/* v1 header, all counts zero but typecnt 1 and charcnt 4 */
	memcpy(f, "TZif2", 5);
	put32(f + 20 + 16, 1);
	put32(f + 20 + 20, 4);
	n = 44;
	memset(f + n, 0, 6);          /* one type: utoff 0 */
	n += 6;
	memcpy(f + n, "UTC", 4);
	n += 4;
	/* v2 header */
	memcpy(f + n, "TZif2", 5);
	put32(f + n + 20 + 16, 1);
	put32(f + n + 20 + 20, 4);
	n += 44;
	put32(f + n, 3600);           /* type 0: +1h, std */
	f[n + 4] = 0;
	f[n + 5] = 0;
	n += 6;
	memcpy(f + n, "CET", 4);
	n += 4;
	memcpy(f + n, footer, strlen(footer));
	n += strlen(footer);
	snprintf(path, sizeof path, "%s/Slim", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	T_CHECK(fd >= 0 && write(fd, f, n) == (ssize_t)n);
	close(fd);
	snprintf(path, sizeof path, "%s/Junk", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	T_CHECK(fd >= 0 && write(fd, "not a zone\n", 11) == 11);
	close(fd);

	setenv("TZDIR", dir, 1);
	T_CHECK(kin_tz_offset("Slim", at("2026-03-29T00:59:59Z"), &off, err)
	    == 0 && off == 3600);
	T_CHECK(kin_tz_offset("Slim", at("2026-03-29T01:00:00Z"), &off, err)
	    == 0 && off == 7200);
	T_CHECK(kin_tz_offset("Slim", at("2026-10-25T00:59:59Z"), &off, err)
	    == 0 && off == 7200);
	T_CHECK(kin_tz_offset("Slim", at("2026-10-25T01:00:00Z"), &off, err)
	    == 0 && off == 3600);
	T_CHECK(kin_tz_offset("Slim", at("1999-01-01T00:00:00Z"), &off, err)
	    == 0 && off == 3600);
	T_CHECK(kin_tz_offset("Junk", 0, &off, err) == -1);
	T_CHECKF(strstr(err, "not a valid TZif file") != NULL, "%s", err);
	unsetenv("TZDIR");

	unlink(path);
	snprintf(path, sizeof path, "%s/Slim", dir);
	unlink(path);
	rmdir(dir);
}

static void
test_clocks(void)
{
	int64_t a = kin_now_mono_us(), b = kin_now_mono_us();
	int64_t w = kin_now_wall_us();

	T_CHECK(b >= a);
	T_CHECK(w > 1700000000LL * 1000000);     /* after 2023 */
}

int
main(void)
{
	test_int();
	test_double();
	test_duration();
	test_size();
	test_time_good();
	test_time_bad();
	test_time_nozone();
	test_format();
	test_civil();
	test_tz_fixed();
	test_tz_iana();
	test_tz_slim();
	test_clocks();
	T_DONE();
}
