/* efo_int.h — internal to efo*.c: one shard's subscription and its queue
 * of decoded events.  efo.c drives the session (curl multi, timers, the
 * queue handed to the caller); efo_sub.c runs one transfer (request,
 * callbacks, event-stream messages, the end-of-shard probe). */
#ifndef KIN_EFO_INT_H
#define KIN_EFO_INT_H

#include <curl/curl.h>

#include "efo.h"
#include "eventstream.h"

/* One decoded event waiting for the caller. */
struct efo_ev {
	struct efo_ev *next;
	enum kin_efo_kind kind;
	struct kin_records recs;
	char *cont;               /* ContinuationSequenceNumber, or NULL */
	size_t bytes;             /* counted against max_buffered */
	struct kin_awserr ae;     /* ERROR */
	char err[KIN_ERRLEN];
};

struct kin_efo_sub {
	struct kin_efo *e;
	char *shard;
	/* the position asked for, used until a continuation arrives */
	char type[32];
	char *seq;
	int64_t ts_ms;
	char *cont;               /* last ContinuationSequenceNumber received */
	char *last_seq;           /* last record received (the end probe) */
	/* the transfer, when one runs */
	CURL *easy;
	struct curl_slist *hdrs;
	struct kin_buf body;      /* request body */
	struct kin_buf store;     /* signed header strings */
	struct kin_buf errbody;   /* a non-200 answer */
	struct kin_es dec;
	long status;
	int paused;
	int stop;                 /* the write callback refuses more bytes */
	int failed;               /* ae/why say why it stopped */
	struct kin_awserr ae;
	char why[KIN_ERRLEN];
	unsigned long events_now; /* events in the running subscription */
	/* between transfers */
	int failures;             /* in a row */
	int64_t due_us;           /* next subscribe, when none runs */
	int64_t data_us;          /* last byte received */
	int64_t started_us;       /* when the running transfer began */
	int closed;               /* kin_efo_closed said so */
	int probe;                /* an end probe is due */
	int64_t probe_us;         /* last probe */
	int finished;             /* END or ERROR queued: no more transfers */
	/* events for the caller, oldest first */
	struct efo_ev *head, *tail;
	size_t qbytes;
};

int64_t kin_efo_mono_us(void);
/* Append ev to sub's queue. */
void kin_efo_push(struct kin_efo_sub *s, struct efo_ev *ev);
/* Queue an ERROR event from s->ae / s->why and finish the shard. */
void kin_efo_give_up(struct kin_efo_sub *s);
/* Trace line at verbose level lvl or above (already redacted: no
 * secrets pass through here). */
void kin_efo_trace(struct kin_efo *e, int lvl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* efo_sub.c */
/* Start the transfer (sub->easy) from the continuation or the asked
 * position.  -1 with s->ae/why when it cannot even be sent (no
 * credentials: not worth retrying). */
int kin_efo_start(struct kin_efo_sub *s);
/* Remove and clean up the transfer's handle (no queue change). */
void kin_efo_drop(struct kin_efo_sub *s);
/* The transfer ended with rc: decide between resubscribing at once,
 * backing off, or giving up. */
void kin_efo_done(struct kin_efo_sub *s, CURLcode rc);
/* GetRecords from the last record received: END when nothing is left of
 * a closed shard. */
void kin_efo_probe(struct kin_efo_sub *s);

#endif
