/* err.c — error buffers for the library, stderr lines for the programs. */
#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
kin_seterr(char *err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err, KIN_ERRLEN, fmt, ap);
	va_end(ap);
	return -1;
}

int
kin_seterrno(char *err, int errno_val, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	n = vsnprintf(err, KIN_ERRLEN, fmt, ap);
	va_end(ap);
	if (n >= 0 && n < KIN_ERRLEN)
		snprintf(err + n, KIN_ERRLEN - (size_t)n, ": %s", strerror(errno_val));
	return -1;
}

void
kin_vwarn(const char *prog, const char *fmt, va_list ap)
{
	char line[2048];
	int n, m;
	size_t len;

	n = snprintf(line, sizeof line, "%s: ", prog);
	if (n < 0)
		return;
	m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	len = (size_t)n + (m < 0 ? 0 : (size_t)m);
	if (len > sizeof line - 2)
		len = sizeof line - 2;
	/* one line per report, whatever the message held */
	for (size_t i = (size_t)n; i < len; i++)
		if (line[i] == '\n')
			line[i] = ' ';
	line[len++] = '\n';
	for (size_t off = 0; off < len;) {
		ssize_t w = write(STDERR_FILENO, line + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
}

void
kin_warn(const char *prog, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kin_vwarn(prog, fmt, ap);
	va_end(ap);
}

void
kin_die(const char *prog, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kin_vwarn(prog, fmt, ap);
	va_end(ap);
	exit(status);
}
