/* batch_int.h — what batch.c (queues, filling requests) and reply.c
 * (answers, retries, dead letters) share inside the writer. */
#ifndef KW_BATCH_INT_H
#define KW_BATCH_INT_H

#include "batch.h"

/* Barriers whose records are all done go to on_barrier, in order. */
void ep_advance(struct writer *w);
/* Accounting once k's records are acknowledged or dead-lettered. */
void krec_done(struct writer *w, const struct krec *k);
void set_fatal(struct writer *w, int status, const char *msg);
/* One dead letter (a fatal error when it cannot be written). */
void dead_one(struct writer *w, const struct dl_rec *d);
/* k's records to the dead-letter file, then k is freed. */
void dead_krec(struct writer *w, struct krec *k, const char *reason,
    const char *code, const char *msg);
void acked_krec(struct writer *w, struct krec *k);

void queue_back(struct writer *w, struct shard *s, struct krec *k);
void queue_front(struct writer *w, struct shard *s, struct krec *k);
struct krec *queue_pop(struct writer *w, struct shard *s);
/* Close s's open aggregate into a krec at the back of its queue. */
void close_agg(struct writer *w, struct shard *s);

/* The sender's callback for a finished request (reply.c). */
void on_done(void *ctx, struct req *r, const struct send_result *res);
/* ListShards again and route what waits by the new map (reply.c). */
void refresh_map(struct writer *w, int64_t now);

#endif
