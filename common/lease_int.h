/* lease_int.h — shared between lease_mgr.c and lease_write.c only. */
#ifndef KIN_LEASE_INT_H
#define KIN_LEASE_INT_H

#include "lease.h"

/* The manager's clock (cfg.clock, or kin_lease_clock_ms). */
int64_t kin_lease_now(const struct kin_lease_mgr *m);
struct kin_lease_held *kin_lease_held_find(const struct kin_lease_mgr *m,
    const char *shard);
/* Forget held lease i; a LOST event (at, why) if the reader was told. */
void kin_lease_drop(struct kin_lease_mgr *m, size_t i, int64_t at,
    const char *why);
/* Keep the first failure (a2, e2) in ae/err and set *rc to -1. */
void kin_lease_note(int *rc, struct kin_awserr *ae, char *err,
    const struct kin_awserr *a2, const char *e2);
/* Renew h; take l for this worker.  0, 1 (lost the lease / the race), or
 * -1 with ae and err. */
int kin_lease_renew(struct kin_lease_mgr *m, struct kin_lease_held *h,
    struct kin_awserr *ae, char *err);
int kin_lease_take(struct kin_lease_mgr *m, const struct kin_lease *l,
    struct kin_awserr *ae, char *err);
/* Free h in the table if it is still ours at the counter we hold (best
 * effort after a local expiry): 0, 1 not ours, -1 failed. */
int kin_lease_evict(struct kin_lease_mgr *m, struct kin_lease_held *h,
    struct kin_awserr *ae, char *err);

#endif
