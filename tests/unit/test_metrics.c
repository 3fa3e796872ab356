/* test_metrics.c — the EMF line byte for byte on a fixed clock, its JSON
 * validity, interval handling, counters vs gauges, the file's mode and
 * flags, and counters bumped from several threads at once. */
#include "buf.h"
#include "err.h"
#include "json.h"
#include "metrics.h"
#include "t.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/test_metrics.XXXXXX";

static char *
slurp(const char *path, size_t *len)
{
	static char buf[65536];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	*len = 0;
	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

static void
test_line(void)
{
	struct kin_metrics m;
	struct kin_json j;
	char err[KIN_ERRLEN], path[512];
	char *text;
	size_t len;
	int rin, rout, bin, behind, open_w;
	const char *want =
	    "{\"_aws\":{\"Timestamp\":1764093953123,\"CloudWatchMetrics\":"
	    "[{\"Namespace\":\"kin\",\"Dimensions\":[[\"program\",\"stream\"]],"
	    "\"Metrics\":[{\"Name\":\"records_in\",\"Unit\":\"Count\"},"
	    "{\"Name\":\"records_out\",\"Unit\":\"Count\"},"
	    "{\"Name\":\"bytes_in\",\"Unit\":\"Bytes\"},"
	    "{\"Name\":\"millis_behind_latest\",\"Unit\":\"Milliseconds\"},"
	    "{\"Name\":\"windows_open\",\"Unit\":\"Count\"}]}]},"
	    "\"program\":\"kin-read\",\"stream\":\"stocktrading-ingest-stream\","
	    "\"records_in\":123,\"records_out\":0,\"bytes_in\":4567,"
	    "\"millis_behind_latest\":250,\"windows_open\":7}\n";
	const char *second =
	    "\"records_in\":1,\"records_out\":0,\"bytes_in\":0,"
	    "\"millis_behind_latest\":250,\"windows_open\":7}\n";
	struct stat st;
	int k;

	snprintf(path, sizeof path, "%s/m.emf", dir);
	T_CHECKF(kin_metrics_init(&m, path, "kin-read", 60000, err) == 0, "%s", err);
	T_CHECK(kin_metrics_set_stream(&m, "stocktrading-ingest-stream", err) == 0);
	rin = kin_metrics_counter(&m, "records_in", KIN_UNIT_COUNT, err);
	rout = kin_metrics_counter(&m, "records_out", KIN_UNIT_COUNT, err);
	bin = kin_metrics_counter(&m, "bytes_in", KIN_UNIT_BYTES, err);
	behind = kin_metrics_gauge(&m, "millis_behind_latest",
	    KIN_UNIT_MILLISECONDS, err);
	open_w = kin_metrics_gauge(&m, "windows_open", KIN_UNIT_COUNT, err);
	T_CHECK(rin == 0 && rout == 1 && bin == 2 && behind == 3 && open_w == 4);
	/* Registering again gives the same index; another kind is refused. */
	T_CHECK(kin_metrics_counter(&m, "records_in", KIN_UNIT_COUNT, err) == rin);
	T_CHECK(kin_metrics_gauge(&m, "records_in", KIN_UNIT_COUNT, err) == -1);
	T_CHECK(kin_metrics_find(&m, "bytes_in") == bin);
	T_CHECK(kin_metrics_find(&m, "nope") == -1);

	kin_metrics_add(&m, rin, 100);
	kin_metrics_add(&m, rin, 23);
	kin_metrics_add(&m, bin, 4567);
	kin_metrics_set(&m, behind, 1000);
	kin_metrics_set(&m, behind, 250);
	kin_metrics_set(&m, open_w, 7);
	kin_metrics_add(&m, -1, 5);    /* ignored */

	/* First tick starts the interval; nothing is due until 60 s later. */
	T_CHECK(kin_metrics_tick(&m, 1764093893123000LL, err) == 0);
	T_CHECK(kin_metrics_tick(&m, 1764093953122999LL, err) == 0);
	k = kin_metrics_tick(&m, 1764093953123456LL, err);
	T_CHECKF(k == 1, "%d %s", k, err);
	text = slurp(path, &len);
	T_STREQ(text, want);

	/* Valid JSON, by our own strict parser. */
	kin_json_init(&j, 1024);
	T_CHECKF(kin_json_parse(&j, text, len, err) == 0, "%s", err);
	T_CHECK(kin_json_get(&j, 0, "_aws") > 0);
	kin_json_release(&j);

	/* Counters restart at 0, gauges keep their value. */
	T_CHECK(kin_metrics_get(&m, rin) == 0);
	T_CHECK(kin_metrics_get(&m, behind) == 250);
	kin_metrics_add(&m, rin, 1);
	T_CHECK(kin_metrics_tick(&m, 1764093953123456LL + 59999999, err) == 0);
	T_CHECK(kin_metrics_tick(&m, 1764093953123456LL + 60000000, err) == 1);
	text = slurp(path, &len);
	T_CHECK(len > strlen(want));
	T_CHECK(len > strlen(second) &&
	    strcmp(text + len - strlen(second), second) == 0);
	T_CHECK(strncmp(text, want, strlen(want)) == 0);   /* appended */

	/* flush writes at once. */
	T_CHECK(kin_metrics_flush(&m, 1764093953123456LL + 61000000, err) == 1);

	T_CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600);
	kin_metrics_release(&m);
	unlink(path);
}

/* Without a stream the dimension set is just the program; strings are
 * escaped; the namespace can be changed. */
static void
test_no_stream(void)
{
	struct kin_metrics m;
	struct kin_buf b;
	struct kin_json j;
	char err[KIN_ERRLEN];

	T_CHECK(kin_metrics_init(&m, NULL, "kin-\"window\"", 1000, err) == 0);
	T_CHECK(kin_metrics_set_namespace(&m, "kin_test", err) == 0);
	T_CHECK(kin_metrics_set_namespace(&m, "bad ns", err) == -1);
	kin_metrics_counter(&m, "windows_fired", KIN_UNIT_COUNT, err);
	kin_metrics_add(&m, 0, 3);
	kin_buf_init(&b, 65536);
	T_CHECK(kin_metrics_format(&m, 1000, &b, err) == 0);
	T_STREQ(b.p, "{\"_aws\":{\"Timestamp\":1,\"CloudWatchMetrics\":"
	    "[{\"Namespace\":\"kin_test\",\"Dimensions\":[[\"program\"]],"
	    "\"Metrics\":[{\"Name\":\"windows_fired\",\"Unit\":\"Count\"}]}]},"
	    "\"program\":\"kin-\\\"window\\\"\",\"windows_fired\":3}");
	kin_json_init(&j, 256);
	T_CHECKF(kin_json_parse(&j, b.p, b.len, err) == 0, "%s", err);
	kin_json_release(&j);
	/* Output off: ticks write nothing and counters keep counting. */
	T_CHECK(kin_metrics_tick(&m, 1000, err) == 0);
	T_CHECK(kin_metrics_tick(&m, 5000000, err) == 0);
	T_CHECK(kin_metrics_get(&m, 0) == 3);
	kin_buf_release(&b);
	kin_metrics_release(&m);
}

static void
test_names(void)
{
	struct kin_metrics m;
	char err[KIN_ERRLEN];
	char name[80];
	int i;

	T_CHECK(kin_metrics_init(&m, NULL, "p", 0, err) == -1);
	T_CHECK(kin_metrics_init(&m, NULL, "p", 1000, err) == 0);
	T_CHECK(kin_metrics_counter(&m, "", KIN_UNIT_COUNT, err) == -1);
	T_CHECK(kin_metrics_counter(&m, "a b", KIN_UNIT_COUNT, err) == -1);
	T_CHECK(kin_metrics_counter(&m, "a\"b", KIN_UNIT_COUNT, err) == -1);
	T_CHECK(kin_metrics_counter(&m, "stream", KIN_UNIT_COUNT, err) == -1);
	T_CHECK(kin_metrics_counter(&m, "program", KIN_UNIT_COUNT, err) == -1);
	T_CHECK(kin_metrics_counter(&m, "_aws", KIN_UNIT_COUNT, err) == -1);
	memset(name, 'x', 64);
	name[64] = '\0';
	T_CHECK(kin_metrics_counter(&m, name, KIN_UNIT_COUNT, err) == -1);
	name[63] = '\0';
	T_CHECK(kin_metrics_counter(&m, name, KIN_UNIT_COUNT, err) == 0);
	T_CHECK(kin_metrics_counter(&m, "errors_ExpiredIteratorException",
	    KIN_UNIT_COUNT, err) == 1);
	for (i = 2; i < KIN_METRICS_MAX; i++) {
		snprintf(name, sizeof name, "m%d", i);
		T_CHECK(kin_metrics_counter(&m, name, KIN_UNIT_COUNT, err) == i);
	}
	T_CHECK(kin_metrics_counter(&m, "one_more", KIN_UNIT_COUNT, err) == -1);
	T_CHECK(strstr(err, "more than 100") != NULL);
	kin_metrics_release(&m);
}

static void
test_open(void)
{
	struct kin_metrics m;
	char err[KIN_ERRLEN], path[512], link[512];
	size_t len;
	char *text;
	int fd;

	/* A symlink is refused (O_NOFOLLOW). */
	snprintf(path, sizeof path, "%s/target", dir);
	snprintf(link, sizeof link, "%s/link", dir);
	T_CHECK(symlink(path, link) == 0);
	T_CHECK(kin_metrics_init(&m, link, "p", 1000, err) == -1);
	T_CHECKF(strstr(err, "symbolic link") != NULL, "%s", err);
	T_CHECK(access(path, F_OK) == -1);
	unlink(link);

	/* A file truncated in place (copytruncate rotation) gets the next
	 * line at its start, not after a hole. */
	T_CHECK(kin_metrics_init(&m, path, "p", 1000, err) == 0);
	kin_metrics_counter(&m, "records_in", KIN_UNIT_COUNT, err);
	T_CHECK(kin_metrics_flush(&m, 1000000, err) == 1);
	T_CHECK(truncate(path, 0) == 0);
	T_CHECK(kin_metrics_flush(&m, 2000000, err) == 1);
	text = slurp(path, &len);
	T_CHECK(text != NULL && text[0] == '{');
	T_CHECK(text != NULL && strchr(text, '\n') == text + len - 1);
	T_CHECK(fcntl(m.fd, F_GETFD) & FD_CLOEXEC);
	kin_metrics_release(&m);
	unlink(path);

	/* A missing directory: an error naming the file. */
	snprintf(path, sizeof path, "%s/no/such", dir);
	T_CHECK(kin_metrics_init(&m, path, "p", 1000, err) == -1);
	T_CHECKF(strstr(err, "cannot open metrics file") != NULL &&
	    strstr(err, "No such file") != NULL, "%s", err);

	/* A failed write is returned and the counts are kept for the next
	 * line: /dev/full fails every write with ENOSPC. */
	fd = open("/dev/full", O_WRONLY);
	if (fd >= 0) {
		close(fd);
		T_CHECK(kin_metrics_init(&m, "/dev/full", "p", 1000, err) == 0);
		kin_metrics_counter(&m, "records_in", KIN_UNIT_COUNT, err);
		kin_metrics_add(&m, 0, 42);
		T_CHECK(kin_metrics_flush(&m, 1000000, err) == -1);
		T_CHECKF(strstr(err, "cannot write metrics to '/dev/full'") != NULL,
		    "%s", err);
		T_CHECK(kin_metrics_get(&m, 0) == 42);
		kin_metrics_release(&m);
	}
}

#define NTHREADS 4
#define NADDS 100000

static struct kin_metrics tm;

static void *
adder(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < NADDS; i++)
		kin_metrics_add(&tm, 0, 1);
	return NULL;
}

/* Adds racing with ticks: every one lands in exactly one line. */
static void
test_threads(void)
{
	pthread_t th[NTHREADS];
	char err[KIN_ERRLEN], path[512];
	struct kin_json j;
	long long total = 0;
	char *text, *line, *nl;
	size_t len;
	int i, lines = 0;
	int64_t now = 1000000;

	snprintf(path, sizeof path, "%s/threads.emf", dir);
	T_CHECK(kin_metrics_init(&tm, path, "kin-read", 1, err) == 0);
	kin_metrics_counter(&tm, "records_in", KIN_UNIT_COUNT, err);
	kin_metrics_tick(&tm, now, err);
	for (i = 0; i < NTHREADS; i++)
		pthread_create(&th[i], NULL, adder, NULL);
	for (i = 0; i < 50; i++) {
		now += 1000;
		T_CHECK(kin_metrics_tick(&tm, now, err) == 1);
	}
	for (i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	T_CHECK(kin_metrics_flush(&tm, now + 1000, err) == 1);
	kin_metrics_release(&tm);

	text = slurp(path, &len);
	T_CHECK(text != NULL);
	kin_json_init(&j, 256);
	for (line = text; text != NULL && (nl = strchr(line, '\n')) != NULL;
	    line = nl + 1) {
		int v;
		int64_t x;

		if (kin_json_parse(&j, line, (size_t)(nl - line), err) < 0) {
			T_CHECKF(0, "%s", err);
			break;
		}
		v = kin_json_get(&j, 0, "records_in");
		T_CHECK(v > 0 && kin_json_int64(&j, v, &x, err) == 0);
		total += x;
		lines++;
	}
	kin_json_release(&j);
	T_CHECK(lines == 51);
	T_CHECKF(total == (long long)NTHREADS * NADDS, "%lld", total);
	unlink(path);
}

int
main(void)
{
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_line();
	test_no_stream();
	test_names();
	test_open();
	test_threads();
	rmdir(dir);
	T_DONE();
}
