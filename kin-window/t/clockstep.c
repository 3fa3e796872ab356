/* clockstep.c — an LD_PRELOAD shim for tests/kin-window.bats: the system
 * clock (CLOCK_REALTIME, gettimeofday, time) steps back by
 * CLOCKSTEP_BACK_MS milliseconds once the file CLOCKSTEP_FILE exists, as an
 * operator or NTP stepping the clock would.  The monotonic clock is left
 * alone. */
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int (*real_clock_gettime)(clockid_t, struct timespec *);

static int64_t
back_ns(void)
{
	const char *f = getenv("CLOCKSTEP_FILE");
	const char *ms = getenv("CLOCKSTEP_BACK_MS");

	if (f == NULL || ms == NULL || access(f, F_OK) != 0)
		return 0;
	return strtoll(ms, NULL, 10) * 1000000LL;
}

int
clock_gettime(clockid_t id, struct timespec *ts)
{
	int rc;

	if (real_clock_gettime == NULL)
		real_clock_gettime = (int (*)(clockid_t, struct timespec *))
		    dlsym(RTLD_NEXT, "clock_gettime");
	rc = real_clock_gettime(id, ts);
	if (rc == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE)) {
		int64_t ns = (int64_t)ts->tv_sec * 1000000000LL + ts->tv_nsec -
		    back_ns();

		ts->tv_sec = (time_t)(ns / 1000000000LL);
		ts->tv_nsec = (long)(ns % 1000000000LL);
	}
	return rc;
}

int
gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
	struct timespec ts;

	(void)tz;
	if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
		return -1;
	tv->tv_sec = ts.tv_sec;
	tv->tv_usec = ts.tv_nsec / 1000;
	return 0;
}

time_t
time(time_t *t)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
		return (time_t)-1;
	if (t)
		*t = ts.tv_sec;
	return ts.tv_sec;
}
