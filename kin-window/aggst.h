/* aggst.h — the layout of each aggregate's state inside a pane, shared
 * by agg.c (update, merge, value) and aggio.c (state files). */
#ifndef KW_AGGST_H
#define KW_AGGST_H

#include "kw.h"

struct st_first { uint64_t seq; struct rv v; };
struct st_oc { int64_t ts; uint64_t seq; double v; };
struct st_by { double v; uint64_t seq; struct rv rec; };
struct st_pair { double a, b; };

/* The state of spec a inside pane state st, as type T. */
#define AT(st, a, T) ((T *)(void *)((st) + (a)->off))

/* Copy n bytes into r, reusing its buffer. */
void rv_set(struct rv *r, const char *p, size_t n);

#endif
