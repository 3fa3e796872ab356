/* reload.c — SIGHUP (reload.h). */
#include "reload.h"

#include <inttypes.h>
#include <string.h>

#include "err.h"

static int
same_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static void
set_int(int *p, int v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static void
set_i64(int64_t *p, int64_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

/* A duration that may change: applied and logged. */
static int
duration(const char *name, int64_t *cur, int64_t v)
{
	if (*cur == v)
		return 0;
	kin_warn(PROG, "config reloaded: --%s %" PRId64 "ms -> %" PRId64 "ms",
	    name, *cur, v);
	set_i64(cur, v);
	return 1;
}

static int
fixed(const char *name, int differs)
{
	if (differs)
		kin_warn(PROG, "config reloaded: %s cannot change while "
		    "kin-read runs: restart to apply it", name);
	return differs;
}

void
reload(struct opts *o, struct stats *st)
{
	struct opts n;
	char err[KIN_ERRLEN];
	int changed = 0;
	int shards_differ;

	if (o->cli.config == NULL) {
		kin_warn(PROG, "SIGHUP: no --config file to read again");
		return;
	}
	if (o->reparse(o, &n, err) < 0) {
		kin_warn(PROG, "SIGHUP: config not reloaded: %s", err);
		o->release(&n);
		return;
	}
	if (n.cli.verbose != o->cli.verbose || n.cli.quiet != o->cli.quiet) {
		kin_warn(PROG, "config reloaded: log level %s%d -> %s%d",
		    o->cli.quiet ? "quiet, verbose " : "verbose ",
		    o->cli.verbose, n.cli.quiet ? "quiet, verbose " :
		    "verbose ", n.cli.verbose);
		set_int(&o->cli.verbose, n.cli.verbose);
		set_int(&o->cli.quiet, n.cli.quiet);
		changed = 1;
	}
	changed |= duration("idle-wait", &o->idle_ms, n.idle_ms);
	changed |= duration("discovery-interval", &o->discovery_ms,
	    n.discovery_ms);
	changed |= duration("checkpoint-interval", &o->checkpoint_ms,
	    n.checkpoint_ms);
	if (o->barrier_ms > 0 && n.barrier_ms > 0)
		changed |= duration("barrier-interval", &o->barrier_ms,
		    n.barrier_ms);
	else
		changed |= fixed("barrier mode (--barrier-interval)",
		    (o->barrier_ms > 0) != (n.barrier_ms > 0));
	if (n.metrics_ms != o->metrics_ms) {
		changed |= duration("metrics-interval", &o->metrics_ms,
		    n.metrics_ms);
		stats_set_interval(st, o->metrics_ms);
	}
	if (n.limit != o->limit) {
		kin_warn(PROG, "config reloaded: --limit %d -> %d", o->limit,
		    n.limit);
		set_int(&o->limit, n.limit);
		changed = 1;
	}
	shards_differ = n.nshards != o->nshards || n.index_i != o->index_i ||
	    n.index_n != o->index_n;
	for (size_t i = 0; !shards_differ && i < n.nshards; i++)
		shards_differ = strcmp(n.shards[i], o->shards[i]) != 0;
	changed |= fixed("the stream", !same_str(n.cli.stream, o->cli.stream));
	changed |= fixed("the region", !same_str(n.cli.region, o->cli.region));
	changed |= fixed("the endpoint",
	    !same_str(n.cli.endpoint, o->cli.endpoint));
	changed |= fixed("the profile",
	    !same_str(n.cli.profile, o->cli.profile));
	changed |= fixed("--checkpoint",
	    !same_str(n.checkpoint, o->checkpoint));
	changed |= fixed("--metrics", !same_str(n.metrics, o->metrics));
	changed |= fixed("the output form (-J, -f)", n.mode != o->mode ||
	    !same_str(n.format, o->format));
	changed |= fixed("the shards read (--shard, --shard-index)",
	    shards_differ);
	changed |= fixed("--threads", n.threads != o->threads);
	changed |= fixed("the end of the run (-e, -c, --until)",
	    n.exit_at_end != o->exit_at_end || n.count != o->count ||
	    n.until_ms != o->until_ms);
	changed |= fixed("--from", memcmp(&n.from, &o->from,
	    sizeof n.from) != 0);
	changed |= fixed("the leases (--lease-table, --worker-id, "
	    "--failover-time)", !same_str(n.lease_table, o->lease_table) ||
	    !same_str(n.worker_id, o->worker_id) ||
	    n.failover_ms != o->failover_ms);
	changed |= fixed("--efo", !same_str(n.efo, o->efo) ||
	    n.efo_deregister != o->efo_deregister);
	changed |= fixed("the lease table (--lease-table, --worker-id, "
	    "--failover-time)", !same_str(n.lease_table, o->lease_table) ||
	    !same_str(n.worker_id, o->worker_id) ||
	    n.failover_ms != o->failover_ms);
	changed |= fixed("--efo", !same_str(n.efo, o->efo) ||
	    n.efo_deregister != o->efo_deregister);
	if (!changed && o->cli.verbose >= 1)
		kin_warn(PROG, "config reloaded: nothing changed");
	o->release(&n);
}
