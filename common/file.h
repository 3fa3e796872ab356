/*
 * Private files: checkpoints, state, dead letters, side outputs.
 * Created 0600, never followed through a symbolic link (O_NOFOLLOW), and
 * temporary files are fresh unique names made with O_CREAT|O_EXCL in the
 * target's own directory, so a planted file or link is never written.
 * These return -1 with errno set; callers word their own messages.
 */
#ifndef KIN_FILE_H
#define KIN_FILE_H

#include <stddef.h>

/* Open PATH for appending, creating it 0600 (an existing file keeps its
 * mode); a symbolic link at PATH fails with ELOOP. */
int kin_open_append_private(const char *path);

/* Create a new temporary file "PATH.tmp.XXXXXX" (random suffix) 0600 with
 * O_EXCL|O_NOFOLLOW|O_CLOEXEC for writing; its name goes to TMP (size
 * TMPSZ; ENAMETOOLONG if too small). Returns the descriptor. */
int kin_open_temp(const char *path, char *tmp, size_t tmpsz);

/* Open PATH for reading without following a symbolic link. */
int kin_open_read_nofollow(const char *path);

#endif
