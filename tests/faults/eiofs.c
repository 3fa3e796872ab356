/* eiofs.c — an LD_PRELOAD shim that makes file I/O on chosen paths fail,
 * so tests can prove a program stops, loudly, when its checkpoint, state or
 * dead-letter file cannot be saved (STYLE.md: faults are injected, not
 * imagined).  Inert unless KIN_FAULT_PATH is set.
 *
 *   KIN_FAULT_PATH   fnmatch(3) glob on the absolute path, where '*'
 *                    matches '/' too: a star, then /checkpoint*, hits
 *                    checkpoint files (and their temporary files) anywhere
 *   KIN_FAULT_OP     comma list of write, fsync, fdatasync, rename, open,
 *                    close, or all (default write)
 *   KIN_FAULT_ERRNO  EIO (default), ENOSPC, EDQUOT, EROFS, EFBIG or a number
 *   KIN_FAULT_AFTER  N: the first N-1 matching calls work, the Nth and later
 *                    fail (default 1)
 *   KIN_FAULT_TIMES  M: fail M calls, then work again (default: no end)
 *   KIN_FAULT_LOG    file: one line appended per injected fault
 *
 * A matching call is one of the chosen operations on a matching path: open
 * and rename (either name) by path, write/fsync/fdatasync/close on a file
 * descriptor opened on a matching path (or copied from one with dup, dup2,
 * dup3 or fcntl F_DUPFD).  Only the libc entry points a program calls are
 * reached: fopen can fail, but stdio's own writes and closes cannot (the
 * kin programs write their files with write(2)).  close really closes
 * before it reports the error, as Linux does. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define OP_WRITE     0x01
#define OP_FSYNC     0x02
#define OP_FDATASYNC 0x04
#define OP_RENAME    0x08
#define OP_OPEN      0x10
#define OP_CLOSE     0x20
#define MAX_FD       65536

static const char *glob;          /* NULL: the shim does nothing */
static int ops = OP_WRITE;
static int fail_errno = EIO;
static long long after = 1;
static long long times = -1;      /* -1: fail for ever */
static const char *logpath;
static long long calls;           /* matching calls so far (atomic) */
static unsigned char tracked[MAX_FD];

/* The next definition of each wrapped function, found on first use (a
 * constructor may run too late: other libraries open files before it). */
#define REAL(ret, name, args) \
	static ret (*real_##name) args; \
	if (!real_##name) \
		*(void **)&real_##name = dlsym(RTLD_NEXT, #name)

static const struct { const char *name; int v; } errnames[] = {
	{ "EIO", EIO }, { "ENOSPC", ENOSPC }, { "EDQUOT", EDQUOT },
	{ "EROFS", EROFS }, { "EFBIG", EFBIG }, { "EPERM", EPERM },
	{ "EACCES", EACCES },
};

static long long
env_num(const char *name, long long dflt)
{
	const char *s = getenv(name);
	char *end;
	long long v;

	if (!s || !*s)
		return dflt;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < 0)
		return dflt;
	return v;
}

__attribute__((constructor)) static void
eiofs_init(void)
{
	const char *s;
	size_t i;

	glob = getenv("KIN_FAULT_PATH");
	if (glob && !*glob)
		glob = NULL;
	if ((s = getenv("KIN_FAULT_OP")) && *s) {
		static const struct { const char *name; int bit; } names[] = {
			{ "write", OP_WRITE }, { "fsync", OP_FSYNC },
			{ "fdatasync", OP_FDATASYNC }, { "rename", OP_RENAME },
			{ "open", OP_OPEN }, { "openat", OP_OPEN },
			{ "close", OP_CLOSE }, { "all", 0x3f },
		};
		const char *p = s;

		ops = 0;
		while (*p) {
			size_t n = strcspn(p, ",");

			for (i = 0; i < sizeof names / sizeof names[0]; i++)
				if (strlen(names[i].name) == n &&
				    strncmp(p, names[i].name, n) == 0)
					ops |= names[i].bit;
			p += n;
			if (*p == ',')
				p++;
		}
	}
	if ((s = getenv("KIN_FAULT_ERRNO")) && *s) {
		long long v = env_num("KIN_FAULT_ERRNO", -1);

		if (v > 0)
			fail_errno = (int)v;
		for (i = 0; i < sizeof errnames / sizeof errnames[0]; i++)
			if (strcmp(s, errnames[i].name) == 0)
				fail_errno = errnames[i].v;
	}
	after = env_num("KIN_FAULT_AFTER", 1);
	if (after < 1)
		after = 1;
	times = env_num("KIN_FAULT_TIMES", -1);
	logpath = getenv("KIN_FAULT_LOG");
}

static const char *
errname(int e)
{
	size_t i;

	for (i = 0; i < sizeof errnames / sizeof errnames[0]; i++)
		if (errnames[i].v == e)
			return errnames[i].name;
	return "errno";
}

/* path made absolute against dirfd (no symlinks resolved: the file may not
 * exist yet).  Returns 0, or -1 when it cannot tell. */
static int
abspath(int dirfd, const char *path, char *out, size_t n)
{
	char base[PATH_MAX];
	int k;

	if (!path)
		return -1;
	if (path[0] == '/') {
		k = snprintf(out, n, "%s", path);
		return k < 0 || (size_t)k >= n ? -1 : 0;
	}
	if (dirfd == AT_FDCWD) {
		if (!getcwd(base, sizeof base))
			return -1;
	} else {
		char link[64];
		ssize_t r;

		snprintf(link, sizeof link, "/proc/self/fd/%d", dirfd);
		r = readlink(link, base, sizeof base - 1);
		if (r < 0)
			return -1;
		base[r] = '\0';
	}
	k = snprintf(out, n, "%s/%s", base, path);
	return k < 0 || (size_t)k >= n ? -1 : 0;
}

static int
path_matches(int dirfd, const char *path, char *abs, size_t n)
{
	if (!glob || abspath(dirfd, path, abs, n) < 0)
		return 0;
	return fnmatch(glob, abs, 0) == 0;
}

static void
logline(const char *op, const char *what, long long nth)
{
	REAL(int, open, (const char *, int, ...));
	REAL(ssize_t, write, (int, const void *, size_t));
	REAL(int, close, (int));
	char line[PATH_MAX + 128];
	int fd, k;

	if (!logpath || !real_open || !real_write || !real_close)
		return;
	k = snprintf(line, sizeof line, "eiofs: %s %s: %s (call %lld)\n", op,
	    what, errname(fail_errno), nth);
	if (k < 0)
		return;
	if ((size_t)k >= sizeof line)
		k = (int)sizeof line - 1;
	fd = real_open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0600);
	if (fd < 0)
		return;
	(void)!real_write(fd, line, (size_t)k);
	real_close(fd);
}

/* A matching call of operation bit: 1 when this one must fail (errno is
 * then set), 0 when it goes through. */
static int
inject(int bit, const char *op, const char *what)
{
	long long nth;

	if (!(ops & bit))
		return 0;
	nth = __atomic_add_fetch(&calls, 1, __ATOMIC_SEQ_CST);
	if (nth < after || (times >= 0 && nth >= after + times))
		return 0;
	logline(op, what, nth);
	return 1;
}

static int
fd_tracked(int fd)
{
	return glob && fd >= 0 && fd < MAX_FD &&
	    __atomic_load_n(&tracked[fd], __ATOMIC_RELAXED);
}

static void
fd_set_tracked(int fd, int on)
{
	if (fd >= 0 && fd < MAX_FD)
		__atomic_store_n(&tracked[fd], (unsigned char)on,
		    __ATOMIC_RELAXED);
}

static int
fd_inject(int fd, int bit, const char *op)
{
	char link[64], what[PATH_MAX];
	ssize_t r;

	if (!fd_tracked(fd))
		return 0;
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	r = readlink(link, what, sizeof what - 1);
	if (r < 0)
		snprintf(what, sizeof what, "fd %d", fd);
	else
		what[r] = '\0';
	return inject(bit, op, what);
}

/* --- open ---------------------------------------------------------------- */

static int
open_common(int dirfd, const char *path, int flags, mode_t mode,
    const char *op)
{
	REAL(int, openat, (int, const char *, int, ...));
	char abs[PATH_MAX];
	int match = path_matches(dirfd, path, abs, sizeof abs), fd;

	if (match && inject(OP_OPEN, op, abs)) {
		errno = fail_errno;
		return -1;
	}
	if (!real_openat) {
		errno = ENOSYS;
		return -1;
	}
	fd = real_openat(dirfd, path, flags, mode);
	if (fd >= 0)
		fd_set_tracked(fd, match);
	return fd;
}

/* The mode argument is there only with O_CREAT or O_TMPFILE. */
#define OPEN_MODE(flags, last) \
	mode_t mode = 0; \
	if ((flags) & (O_CREAT | O_TMPFILE)) { \
		va_list ap; \
		va_start(ap, last); \
		mode = (mode_t)va_arg(ap, int); \
		va_end(ap); \
	}

int
open(const char *path, int flags, ...)
{
	OPEN_MODE(flags, flags);
	return open_common(AT_FDCWD, path, flags, mode, "open");
}

int
open64(const char *path, int flags, ...)
{
	OPEN_MODE(flags, flags);
	return open_common(AT_FDCWD, path, flags, mode, "open");
}

int
openat(int dirfd, const char *path, int flags, ...)
{
	OPEN_MODE(flags, flags);
	return open_common(dirfd, path, flags, mode, "open");
}

int
openat64(int dirfd, const char *path, int flags, ...)
{
	OPEN_MODE(flags, flags);
	return open_common(dirfd, path, flags, mode, "open");
}

/* _FORTIFY_SOURCE's checked forms. */
int __open_2(const char *path, int flags);
int __open_2(const char *path, int flags)
{
	return open_common(AT_FDCWD, path, flags, 0, "open");
}

int __open64_2(const char *path, int flags);
int __open64_2(const char *path, int flags)
{
	return open_common(AT_FDCWD, path, flags, 0, "open");
}

int __openat_2(int dirfd, const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags)
{
	return open_common(dirfd, path, flags, 0, "open");
}

int __openat64_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags)
{
	return open_common(dirfd, path, flags, 0, "open");
}

int
creat(const char *path, mode_t mode)
{
	return open_common(AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC, mode,
	    "open");
}

int
creat64(const char *path, mode_t mode)
{
	return open_common(AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC, mode,
	    "open");
}

/* stdio opens files without going through open(): fopen can fail too, but
 * what it opens is not tracked, since stdio's own writes and its close are
 * out of reach (a stale mark would hit the next descriptor with the same
 * number). */
static FILE *
fopen_common(FILE *(*real)(const char *, const char *), const char *path,
    const char *mode)
{
	char abs[PATH_MAX];
	FILE *f;

	if (path_matches(AT_FDCWD, path, abs, sizeof abs) &&
	    inject(OP_OPEN, "open", abs)) {
		errno = fail_errno;
		return NULL;
	}
	if (!real) {
		errno = ENOSYS;
		return NULL;
	}
	if ((f = real(path, mode)) != NULL)
		fd_set_tracked(fileno(f), 0);
	return f;
}

FILE *
fopen(const char *path, const char *mode)
{
	REAL(FILE *, fopen, (const char *, const char *));

	return fopen_common(real_fopen, path, mode);
}

FILE *
fopen64(const char *path, const char *mode)
{
	REAL(FILE *, fopen64, (const char *, const char *));

	return fopen_common(real_fopen64, path, mode);
}

/* --- write, fsync, fdatasync, close -------------------------------------- */

ssize_t
write(int fd, const void *p, size_t n)
{
	REAL(ssize_t, write, (int, const void *, size_t));

	if (fd_inject(fd, OP_WRITE, "write")) {
		errno = fail_errno;
		return -1;
	}
	return real_write(fd, p, n);
}

ssize_t
pwrite(int fd, const void *p, size_t n, off_t off)
{
	REAL(ssize_t, pwrite, (int, const void *, size_t, off_t));

	if (fd_inject(fd, OP_WRITE, "write")) {
		errno = fail_errno;
		return -1;
	}
	return real_pwrite(fd, p, n, off);
}

ssize_t
pwrite64(int fd, const void *p, size_t n, off_t off)
{
	REAL(ssize_t, pwrite64, (int, const void *, size_t, off_t));

	if (fd_inject(fd, OP_WRITE, "write")) {
		errno = fail_errno;
		return -1;
	}
	return real_pwrite64(fd, p, n, off);
}

ssize_t
writev(int fd, const struct iovec *iov, int cnt)
{
	REAL(ssize_t, writev, (int, const struct iovec *, int));

	if (fd_inject(fd, OP_WRITE, "write")) {
		errno = fail_errno;
		return -1;
	}
	return real_writev(fd, iov, cnt);
}

int
fsync(int fd)
{
	REAL(int, fsync, (int));

	if (fd_inject(fd, OP_FSYNC, "fsync")) {
		errno = fail_errno;
		return -1;
	}
	return real_fsync(fd);
}

int
fdatasync(int fd)
{
	REAL(int, fdatasync, (int));

	if (fd_inject(fd, OP_FDATASYNC, "fdatasync")) {
		errno = fail_errno;
		return -1;
	}
	return real_fdatasync(fd);
}

int
close(int fd)
{
	REAL(int, close, (int));
	int fail = fd_inject(fd, OP_CLOSE, "close"), r;

	fd_set_tracked(fd, 0);
	r = real_close(fd);
	if (fail) {
		errno = fail_errno;
		return -1;
	}
	return r;
}

/* --- descriptors copied: the copy is tracked too (dd opens its output,
 * then moves it to fd 1 with dup2) -------------------------------------- */

static int
dup_track(int from, int to)
{
	if (to >= 0)
		fd_set_tracked(to, fd_tracked(from));
	return to;
}

int
dup(int fd)
{
	REAL(int, dup, (int));

	return dup_track(fd, real_dup(fd));
}

int
dup2(int fd, int to)
{
	REAL(int, dup2, (int, int));

	return dup_track(fd, real_dup2(fd, to));
}

int
dup3(int fd, int to, int flags)
{
	REAL(int, dup3, (int, int, int));

	return dup_track(fd, real_dup3(fd, to, flags));
}

static int
fcntl_common(int (*real)(int, int, ...), int fd, int cmd, void *arg)
{
	int r;

	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	r = real(fd, cmd, arg);
	if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)
		dup_track(fd, r);
	return r;
}

/* The third argument is an int or a pointer; glibc's own fcntl reads it
 * as a pointer whatever cmd is, and so does this. */
int
fcntl(int fd, int cmd, ...)
{
	REAL(int, fcntl, (int, int, ...));
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_common(real_fcntl, fd, cmd, arg);
}

int fcntl64(int fd, int cmd, ...);
int
fcntl64(int fd, int cmd, ...)
{
	REAL(int, fcntl64, (int, int, ...));
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_common(real_fcntl64, fd, cmd, arg);
}

/* --- rename --------------------------------------------------------------- */

static int
rename_fails(int olddir, const char *from, int newdir, const char *to)
{
	char a[PATH_MAX], b[PATH_MAX];

	if (path_matches(olddir, from, a, sizeof a))
		return inject(OP_RENAME, "rename", a);
	if (path_matches(newdir, to, b, sizeof b))
		return inject(OP_RENAME, "rename", b);
	return 0;
}

int
rename(const char *from, const char *to)
{
	REAL(int, rename, (const char *, const char *));

	if (rename_fails(AT_FDCWD, from, AT_FDCWD, to)) {
		errno = fail_errno;
		return -1;
	}
	return real_rename(from, to);
}

int
renameat(int olddir, const char *from, int newdir, const char *to)
{
	REAL(int, renameat, (int, const char *, int, const char *));

	if (rename_fails(olddir, from, newdir, to)) {
		errno = fail_errno;
		return -1;
	}
	return real_renameat(olddir, from, newdir, to);
}

int
renameat2(int olddir, const char *from, int newdir, const char *to,
    unsigned int flags)
{
	REAL(int, renameat2, (int, const char *, int, const char *,
	    unsigned int));

	if (rename_fails(olddir, from, newdir, to)) {
		errno = fail_errno;
		return -1;
	}
	return real_renameat2(olddir, from, newdir, to, flags);
}
