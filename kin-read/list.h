/* list.h — kin-read -L. */
#ifndef KIN_READ_LIST_H
#define KIN_READ_LIST_H

#include "kin-read.h"
#include "kinesis.h"

/* Print the list; returns the exit status (stdout is checked by main). */
int list_main(const struct opts *o, struct kin_client *c);

#endif
