/* Private files: see file.h. */
#include "file.h"
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

int
kin_open_append_private(const char *path)
{
	return open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW |
	    O_CLOEXEC | O_NOCTTY, 0600);
}

int
kin_open_read_nofollow(const char *path)
{
	return open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
}

static void
suffix(char s[7])
{
	static const char al[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	unsigned char r[6];
	static uint64_t mix;

	if (getrandom(r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		mix = mix * 6364136223846793005ULL + (uint64_t)ts.tv_nsec +
		    (uint64_t)getpid() + 1442695040888963407ULL;
		for (int i = 0; i < 6; i++)
			r[i] = (unsigned char)(mix >> (8 * i + 8));
	}
	for (int i = 0; i < 6; i++)
		s[i] = al[r[i] % (sizeof al - 1)];
	s[6] = 0;
}

int
kin_open_temp(const char *path, char *tmp, size_t tmpsz)
{
	for (int tries = 0; tries < 100; tries++) {
		char s[7];
		int n, fd;

		suffix(s);
		n = snprintf(tmp, tmpsz, "%s.tmp.%s", path, s);
		if (n < 0 || (size_t)n >= tmpsz) {
			errno = ENAMETOOLONG;
			return -1;
		}
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC | O_NOCTTY, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	errno = EEXIST;
	return -1;
}
