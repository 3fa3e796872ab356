/* reload.h — SIGHUP in kin-read: the config file (and the command line
 * over it) read again; what can change while reading is applied — the log
 * level (-v, -q), --idle-wait, --limit, --discovery-interval,
 * --checkpoint-interval, --barrier-interval, --metrics-interval — and each
 * change is logged.  Anything else (stream, region, endpoint, positions,
 * shards, output, files) is named as needing a restart and left as it is:
 * positions belong to the stream they were read from. */
#ifndef KIN_READ_RELOAD_H
#define KIN_READ_RELOAD_H

#include "kin-read.h"
#include "stats.h"

void reload(struct opts *o, struct stats *st);

#endif
