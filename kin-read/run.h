/* run.h — kin-read's run once the options are parsed. */
#ifndef KIN_READ_RUN_H
#define KIN_READ_RUN_H

#include "kin-read.h"

/* Read (or list) as o says; returns the exit status. */
int run(struct opts *o);

#endif
