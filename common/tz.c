/* tz.c — time zones without touching TZ or tzset(): fixed offsets, and IANA
 * zones read straight from their TZif files (RFC 8536), with the file's
 * POSIX TZ rule for instants past its last transition. */
#include "parse.h"
#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* One end of a DST period, as in POSIX TZ "Mm.w.d/time", "Jn" or "n". */
struct rule_date {
	char kind;        /* 'M', 'J' or 'D' (zero-based day of year) */
	int m, w, d;      /* M: month, week 1-5, weekday 0-6; J/D: day in d */
	long time;        /* local seconds after midnight (may be <0 or >24h) */
};

struct kin_tz_rule {
	long std_off, dst_off;   /* seconds east of UTC */
	int has_dst;
	struct rule_date start, end;
};

#define TZIF_MAX (1 << 20)   /* zone files are a few KiB */

static int
fixed_offset(const char *s, long *off)
{
	int sign, h, m = 0;
	size_t n = strlen(s);

	if (n < 3 || (s[0] != '+' && s[0] != '-'))
		return -1;
	sign = s[0] == '-' ? -1 : 1;
	for (size_t i = 1; i < n; i++)
		if (i != 3 && (s[i] < '0' || s[i] > '9'))
			return -1;
	h = (s[1] - '0') * 10 + (s[2] - '0');
	if (n == 6 && s[3] == ':')
		m = (s[4] - '0') * 10 + (s[5] - '0');
	else if (n == 5 && s[3] >= '0' && s[3] <= '9')
		m = (s[3] - '0') * 10 + (s[4] - '0');
	else if (n != 3)
		return -1;
	if (h > 23 || m > 59)
		return -1;
	*off = sign * (long)(h * 3600 + m * 60);
	return 0;
}

static int
set_fixed(struct kin_tz *z, long off, char *err)
{
	z->utoff = malloc(sizeof *z->utoff);
	if (z->utoff == NULL)
		return kin_seterr(err, "time zone '%s': out of memory", z->name);
	z->utoff[0] = off;
	z->ntypes = 1;
	return 0;
}

/* ---- POSIX TZ strings ("CET-1CEST,M3.5.0,M10.5.0/3") ---------------- */

static int
posix_name(const char **pp)
{
	const char *p = *pp;

	if (*p == '<') {
		while (*p != '\0' && *p != '>')
			p++;
		if (*p != '>')
			return -1;
		p++;
	} else {
		const char *s = p;
		while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
			p++;
		if (p - s < 3)
			return -1;
	}
	*pp = p;
	return 0;
}

/* [+-]hh[:mm[:ss]] in seconds; hours up to 167 (RFC 8536 3.3.1). */
static int
posix_hms(const char **pp, long *secs)
{
	const char *p = *pp;
	long sign = 1, v[3] = { 0, 0, 0 };
	int k = 0;

	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	for (;;) {
		int nd = 0;
		while (*p >= '0' && *p <= '9' && nd < 3) {
			v[k] = v[k] * 10 + (*p++ - '0');
			nd++;
		}
		if (nd == 0)
			return -1;
		if (++k == 3 || *p != ':')
			break;
		p++;
	}
	if (v[0] > 167 || v[1] > 59 || v[2] > 59)
		return -1;
	*secs = sign * (v[0] * 3600 + v[1] * 60 + v[2]);
	*pp = p;
	return 0;
}

static int
posix_num(const char **pp, int lo, int hi, int *out)
{
	const char *p = *pp;
	int v = 0, nd = 0;

	while (*p >= '0' && *p <= '9' && nd < 4) {
		v = v * 10 + (*p++ - '0');
		nd++;
	}
	if (nd == 0 || v < lo || v > hi)
		return -1;
	*out = v;
	*pp = p;
	return 0;
}

static int
posix_date(const char **pp, struct rule_date *r)
{
	const char *p = *pp;

	if (*p == 'M') {
		p++;
		r->kind = 'M';
		if (posix_num(&p, 1, 12, &r->m) < 0 || *p++ != '.' ||
		    posix_num(&p, 1, 5, &r->w) < 0 || *p++ != '.' ||
		    posix_num(&p, 0, 6, &r->d) < 0)
			return -1;
	} else if (*p == 'J') {
		p++;
		r->kind = 'J';
		if (posix_num(&p, 1, 365, &r->d) < 0)
			return -1;
	} else {
		r->kind = 'D';
		if (posix_num(&p, 0, 365, &r->d) < 0)
			return -1;
	}
	r->time = 7200;
	if (*p == '/') {
		p++;
		if (posix_hms(&p, &r->time) < 0)
			return -1;
	}
	*pp = p;
	return 0;
}

static int
posix_parse(const char *s, struct kin_tz_rule *r)
{
	const char *p = s;
	long off;

	memset(r, 0, sizeof *r);
	if (posix_name(&p) < 0 || posix_hms(&p, &off) < 0)
		return -1;
	r->std_off = -off;          /* POSIX counts west as positive */
	if (*p == '\0')
		return 0;
	if (posix_name(&p) < 0)
		return -1;
	r->has_dst = 1;
	r->dst_off = r->std_off + 3600;
	if (*p != ',' && *p != '\0') {
		if (posix_hms(&p, &off) < 0)
			return -1;
		r->dst_off = -off;
	}
	if (*p == '\0') {
		/* No rule given: POSIX leaves it to the implementation; the US
		 * rule is what glibc and tzcode use. */
		r->start = (struct rule_date){ 'M', 3, 2, 0, 7200 };
		r->end = (struct rule_date){ 'M', 11, 1, 0, 7200 };
		return 0;
	}
	if (*p++ != ',' || posix_date(&p, &r->start) < 0 || *p++ != ',' ||
	    posix_date(&p, &r->end) < 0 || *p != '\0')
		return -1;
	return 0;
}

static int
is_leap(int64_t y)
{
	return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

/* Local seconds since the epoch at which rule date r falls in year y. */
static int64_t
rule_local(const struct rule_date *r, int64_t y)
{
	int64_t day;

	switch (r->kind) {
	case 'J':   /* 1..365, February 29 never counted */
		day = kin_days_from_civil(y, 1, 1) + r->d - 1;
		if (is_leap(y) && r->d >= 60)
			day++;
		break;
	case 'D':   /* 0..365, February 29 counted */
		day = kin_days_from_civil(y, 1, 1) + r->d;
		break;
	default: {  /* d'th weekday of week w (5 = last) of month m */
		int64_t first = kin_days_from_civil(y, (unsigned)r->m, 1);
		/* 1970-01-01 was a Thursday (4) */
		int wd = (int)(((first % 7) + 7 + 4) % 7);
		int mdays, dd = (r->d - wd + 7) % 7 + (r->w - 1) * 7;
		int64_t nf = r->m == 12 ? kin_days_from_civil(y + 1, 1, 1) :
		    kin_days_from_civil(y, (unsigned)r->m + 1, 1);
		mdays = (int)(nf - first);
		while (dd >= mdays)
			dd -= 7;
		day = first + dd;
		break;
	}
	}
	return day * 86400 + r->time;
}

static long
rule_offset(const struct kin_tz_rule *r, int64_t t)
{
	int64_t y, s, e;
	unsigned m, d;

	if (!r->has_dst)
		return r->std_off;
	kin_civil_from_days((t + r->std_off) >= 0 ?
	    (t + r->std_off) / 86400 : -((-(t + r->std_off) + 86399) / 86400),
	    &y, &m, &d);
	/* start is given in standard time, end in daylight time */
	s = rule_local(&r->start, y) - r->std_off;
	e = rule_local(&r->end, y) - r->dst_off;
	if (s < e)
		return (t >= s && t < e) ? r->dst_off : r->std_off;
	return (t >= e && t < s) ? r->std_off : r->dst_off;
}

/* ---- TZif ---------------------------------------------------------- */

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static int64_t
be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static int
read_all(const char *path, unsigned char **data, size_t *len, char *err,
    const char *name)
{
	unsigned char *b;
	size_t n = 0, cap = 8192;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return kin_seterr(err, "unknown time zone '%s' (no %s; "
			    "is tzdata installed?)", name, path);
		return kin_seterrno(err, errno, "cannot open time zone file "
		    "'%s'", path);
	}
	b = malloc(cap);
	if (b == NULL) {
		close(fd);
		return kin_seterr(err, "time zone '%s': out of memory", name);
	}
	for (;;) {
		ssize_t r;

		if (n == cap) {
			unsigned char *nb;
			if (cap >= TZIF_MAX) {
				free(b);
				close(fd);
				return kin_seterr(err, "time zone file '%s': "
				    "too large", path);
			}
			nb = realloc(b, cap * 2);
			if (nb == NULL) {
				free(b);
				close(fd);
				return kin_seterr(err, "time zone '%s': out of "
				    "memory", name);
			}
			b = nb;
			cap *= 2;
		}
		r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(b);
			close(fd);
			return kin_seterrno(err, e, "cannot read time zone file "
			    "'%s'", path);
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	*data = b;
	*len = n;
	return 0;
}

static int
parse_tzif(struct kin_tz *z, const unsigned char *b, size_t len,
    const char *path, char *err)
{
	uint32_t cnt[6];
	size_t off = 0, v1, tsz = 4;
	const unsigned char *p;
	int version;

	if (len < 44 || memcmp(b, "TZif", 4) != 0)
		goto bad;
	version = b[4];
	for (int i = 0; i < 6; i++)
		cnt[i] = be32(b + 20 + 4 * i);
	/* isutcnt isstdcnt leapcnt timecnt typecnt charcnt */
	v1 = (size_t)cnt[3] * 5 + (size_t)cnt[4] * 6 + cnt[5] +
	    (size_t)cnt[2] * 8 + cnt[1] + cnt[0];
	if (version >= '2') {
		off = 44 + v1;
		if (len < off + 44 || memcmp(b + off, "TZif", 4) != 0)
			goto bad;
		for (int i = 0; i < 6; i++)
			cnt[i] = be32(b + off + 20 + 4 * i);
		off += 44;
		tsz = 8;
	} else {
		off = 44;
	}
	if (cnt[4] == 0 || cnt[4] > 256 || cnt[3] > 100000)
		goto bad;
	{
		size_t need = (size_t)cnt[3] * (tsz + 1) + (size_t)cnt[4] * 6 +
		    cnt[5] + (size_t)cnt[2] * (tsz + 4) + cnt[1] + cnt[0];
		if (len - off < need)
			goto bad;
	}
	z->ntrans = (int)cnt[3];
	z->ntypes = (int)cnt[4];
	z->at = malloc(sizeof *z->at * (z->ntrans ? z->ntrans : 1));
	z->idx = malloc(z->ntrans ? (size_t)z->ntrans : 1);
	z->utoff = malloc(sizeof *z->utoff * (size_t)z->ntypes);
	if (z->at == NULL || z->idx == NULL || z->utoff == NULL)
		return kin_seterr(err, "time zone '%s': out of memory", z->name);
	p = b + off;
	for (int i = 0; i < z->ntrans; i++, p += tsz)
		z->at[i] = tsz == 8 ? be64(p) : (int32_t)be32(p);
	for (int i = 0; i < z->ntrans; i++, p++) {
		if (*p >= z->ntypes)
			goto bad;
		z->idx[i] = *p;
	}
	for (int i = 0; i < z->ntypes; i++, p += 6)
		z->utoff[i] = (int32_t)be32(p);
	p += cnt[5] + (size_t)cnt[2] * (tsz + 4) + cnt[1] + cnt[0];
	/* Footer: "\nPOSIX-TZ\n" (version 2+). */
	if (tsz == 8 && p < b + len && *p == '\n') {
		const unsigned char *q = p + 1, *e = b + len;
		const unsigned char *nl = memchr(q, '\n', (size_t)(e - q));
		if (nl != NULL && nl > q && nl - q < 128) {
			char s[128];
			memcpy(s, q, (size_t)(nl - q));
			s[nl - q] = '\0';
			z->rule = malloc(sizeof *z->rule);
			if (z->rule == NULL)
				return kin_seterr(err, "time zone '%s': out of "
				    "memory", z->name);
			if (posix_parse(s, z->rule) < 0) {
				/* An extension we do not know: keep the last
				 * transition's offset rather than guess. */
				free(z->rule);
				z->rule = NULL;
			}
		}
	}
	return 0;
bad:
	return kin_seterr(err, "time zone file '%s': not a valid TZif file",
	    path);
}

int
kin_tz_load(struct kin_tz *z, const char *name, char *err)
{
	const char *dir;
	char path[4096];
	unsigned char *data = NULL;
	size_t len = 0;
	long off;
	int rc;

	memset(z, 0, sizeof *z);
	if (name == NULL || *name == '\0')
		return kin_seterr(err, "time zone '': empty name");
	snprintf(z->name, sizeof z->name, "%s", name);
	if (strcmp(name, "UTC") == 0 || strcmp(name, "Z") == 0 ||
	    strcmp(name, "GMT") == 0 || strcmp(name, "utc") == 0)
		return set_fixed(z, 0, err);
	if (name[0] == '+' || name[0] == '-') {
		if (fixed_offset(name, &off) < 0)
			return kin_seterr(err, "bad time zone '%.64s': expected "
			    "+HH:MM or -HH:MM", name);
		return set_fixed(z, off, err);
	}
	/* A zone name is a path below the zone directory, never out of it. */
	if (name[0] == '/' || strstr(name, "..") != NULL ||
	    strlen(name) >= 256)
		return kin_seterr(err, "bad time zone '%.64s': not a zone name",
		    name);
	dir = getenv("TZDIR");
	if (dir == NULL || *dir == '\0')
		dir = "/usr/share/zoneinfo";
	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (read_all(path, &data, &len, err, name) < 0)
		return -1;
	rc = parse_tzif(z, data, len, path, err);
	free(data);
	if (rc < 0)
		kin_tz_release(z);
	return rc;
}

void
kin_tz_release(struct kin_tz *z)
{
	free(z->at);
	free(z->idx);
	free(z->utoff);
	free(z->rule);
	z->at = NULL;
	z->idx = NULL;
	z->utoff = NULL;
	z->rule = NULL;
	z->ntrans = z->ntypes = 0;
}

static long
offset_at(const struct kin_tz *z, int64_t t)
{
	int lo, hi;

	if (z->ntrans == 0) {
		if (z->rule != NULL)
			return rule_offset(z->rule, t);
		return z->ntypes > 0 ? z->utoff[0] : 0;
	}
	/* Before the first transition type 0 applies (RFC 8536 3.2). */
	if (t < z->at[0])
		return z->utoff[0];
	if (t >= z->at[z->ntrans - 1] && z->rule != NULL)
		return rule_offset(z->rule, t);
	lo = 0;
	hi = z->ntrans - 1;     /* at[lo] <= t; find the last such */
	while (lo < hi) {
		int mid = lo + (hi - lo + 1) / 2;
		if (z->at[mid] <= t)
			lo = mid;
		else
			hi = mid - 1;
	}
	return z->utoff[z->idx[lo]];
}

static int64_t
floor_sec(int64_t us)
{
	return us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
}

long
kin_tz_utc_offset(const struct kin_tz *z, int64_t us)
{
	return offset_at(z, floor_sec(us));
}

int64_t
kin_tz_local_to_utc(const struct kin_tz *z, int64_t local_us)
{
	int64_t l = floor_sec(local_us);
	long before, after;

	if (z->ntrans == 0 && z->rule == NULL)
		return local_us - (int64_t)(z->ntypes > 0 ? z->utoff[0] : 0) *
		    1000000;
	/* Offsets in force a day either side bracket any one change. */
	before = offset_at(z, l - 86400);
	after = offset_at(z, l + 86400);
	if (offset_at(z, l - before) == before)
		return local_us - (int64_t)before * 1000000;
	if (offset_at(z, l - after) == after)
		return local_us - (int64_t)after * 1000000;
	return local_us - (int64_t)before * 1000000;
}

int
kin_tz_offset(const char *tz, int64_t us, long *offset_s, char *err)
{
	struct kin_tz z;

	if (kin_tz_load(&z, tz, err) < 0)
		return -1;
	*offset_s = kin_tz_utc_offset(&z, us);
	kin_tz_release(&z);
	return 0;
}
