/* err.h — the one voice for failures (STYLE.md).
 * Library functions never print: they fill a caller-owned buffer of
 * KIN_ERRLEN bytes with "what(args): why" and return -1.  Programs turn that
 * into "prog: what failed: why" on stderr with kin_warn()/kin_die(). */
#ifndef KIN_ERR_H
#define KIN_ERR_H

#include <stdarg.h>

#define KIN_ERRLEN 512

/* sysexits.h values, named here so every program uses the same ones. */
enum {
	KIN_EX_OK = 0,
	KIN_EX_DEADLETTER = 1,  /* records went to a dead-letter file */
	KIN_EX_USAGE = 64,
	KIN_EX_DATAERR = 65,
	KIN_EX_UNAVAILABLE = 69,
	KIN_EX_SOFTWARE = 70,
	KIN_EX_IOERR = 74,
	KIN_EX_TEMPFAIL = 75,
	KIN_EX_CONFIG = 78,
};

/* Fill err (KIN_ERRLEN bytes) and return -1, so callers can write
 * "return kin_seterr(err, ...)". */
int kin_seterr(char *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Same, appending ": strerror(errno_val)". */
int kin_seterrno(char *err, int errno_val, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "prog: message\n" to stderr, written with one write(2) so lines from
 * concurrent stages in a pipeline never interleave mid-line. */
void kin_warn(const char *prog, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void kin_vwarn(const char *prog, const char *fmt, va_list ap);
/* kin_warn, then exit(status). */
_Noreturn void kin_die(const char *prog, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
