/* fuzz_scan.c — fuzz target for kin-window's record parser (scan.c,
 * value.c): the one-pass field scanner, the number reader and the
 * event-time reader; and the many-lines reader (scan_line), which must
 * agree with the one-line scanner on every line it takes.
 * LLVMFuzzerTestOneInput works under libFuzzer; built with gcc (no
 * libFuzzer) a small driver below mutates a seed corpus at random for a
 * bounded time, under ASan/UBSan.
 *   fuzz_scan [-t SECONDS] [-s SEED] [CORPUS_DIR|FILE...]   */
#include "kw.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static struct scanner sc, slow;
	static struct timeparse tp[4];
	static struct kin_tz tz;
	static int ready;
	struct fval v[8];
	char *copy;

	if (!ready) {
		char err[KIN_ERRLEN];

		scan_init(&sc);
		scan_field(&sc, "EVENT_TIME");
		scan_field(&sc, "TICKER");
		scan_field(&sc, "PRICE");
		scan_field(&sc, "T");
		scan_field(&sc, "K");
		scan_field(&sc, "P");
		scan_init(&slow);
		for (int i = 0; i < sc.nf; i++)
			scan_field(&slow, sc.name[i]);
		if (kin_tz_load(&tz, "+01:30", err) < 0)
			return 0;
		time_init(&tp[0], TF_AUTO, NULL);
		time_init(&tp[1], TF_ISO, &tz);
		time_init(&tp[2], TF_EPOCH_S, NULL);
		time_init(&tp[3], TF_EPOCH_MS, NULL);
		ready = 1;
	}
	/* An exact-size copy, so reading one byte past the end is caught. */
	copy = malloc(size ? size : 1);
	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	if (scan_record(&sc, copy, size, v) == SCAN_OK) {
		for (int i = 0; i < sc.nf; i++) {
			double d;
			int64_t ms;
			const char *p;
			size_t n;

			if (v[i].type == FV_NONE)
				continue;
			if (v[i].p < copy || v[i].p + v[i].n > copy + size)
				abort();
			(void)fval_num(&v[i], &d);
			fval_raw(&v[i], &p, &n);
			for (int k = 0; k < 4; k++)
				(void)time_parse(&tp[k], &v[i], &ms);
		}
	}
	/* The input as lines read by the last shape: every line scan_line
	 * takes (up to a newline it finds itself) is a line the slow path
	 * (a scanner that knows no shape) reads to the same values, numbers
	 * included, bit for bit. */
	for (const char *p = copy, *e = copy + size; p < e; ) {
		const char *nl = memchr(p, '\n', (size_t)(e - p));
		const char *end = nl ? nl : e;
		struct fval w[8];

		if (sc.shape.ok && scan_line(&sc, p, e, v) != NULL) {
			uint64_t slots = sc.shape.slots;

			if (scan_line(&sc, p, e, v) != end)
				abort();     /* it crossed or stopped short */
			slow.shape.ok = 0;
			if (scan_record(&slow, p, (size_t)(end - p), w) !=
			    SCAN_OK)
				abort();
			for (int i = 0; i < sc.nf; i++) {
				double a, b;

				if (!((slots >> i) & 1))
					continue;
				if (w[i].type != v[i].type || w[i].p != v[i].p ||
				    w[i].n != v[i].n)
					abort();
				if ((fval_num(&v[i], &a) == 0) !=
				    (fval_num(&w[i], &b) == 0) ||
				    (fval_num(&v[i], &a) == 0 &&
				    memcmp(&a, &b, sizeof a) != 0))
					abort();
			}
		} else {
			(void)scan_record(&sc, p, (size_t)(end - p), w);
		}
		p = end + (end < e);
	}
	free(copy);
	return 0;
}

#ifndef KW_LIBFUZZER
static unsigned char *seeds[256];
static size_t seedlen[256];
static int nseeds;
static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void
add_seed(const char *path)
{
	FILE *f = fopen(path, "rb");
	unsigned char buf[1 << 16];
	size_t n;

	if (f == NULL || nseeds == 256) {
		if (f)
			fclose(f);
		return;
	}
	n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	seeds[nseeds] = malloc(n ? n : 1);
	if (seeds[nseeds] == NULL)
		return;
	memcpy(seeds[nseeds], buf, n);
	seedlen[nseeds++] = n;
}

static const char *tokens[] = {
	"{", "}", "[", "]", "\"", "\\", "\\u", "\\ud800", ":", ",", " ",
	"\"EVENT_TIME\"", "\"TICKER\"", "\"PRICE\"", "null", "true", "-",
	"1e309", "0.", "2026-02-29T24:00:60.9999999999+23:59", "\x00",
	"\xff", "\xc3\xa9", "[[[[[[[[", "]]]]", "\"\\\"\"", "1782907210.5",
};

/* One mutant of a seed into buf (cap bytes); returns its length. */
static size_t
mutate(unsigned char *buf, size_t cap)
{
	int s = (int)(rnd() % (uint64_t)nseeds);
	size_t n = seedlen[s] < cap ? seedlen[s] : cap;
	int rounds = 1 + (int)(rnd() % 8);

	memcpy(buf, seeds[s], n);
	for (int r = 0; r < rounds; r++) {
		size_t at = n ? (size_t)(rnd() % n) : 0;

		switch (rnd() % 6) {
		case 0:     /* flip a bit */
			if (n)
				buf[at] ^= (unsigned char)(1u << (rnd() % 8));
			break;
		case 1:     /* random byte */
			if (n)
				buf[at] = (unsigned char)rnd();
			break;
		case 2:     /* delete a run */
			if (n) {
				size_t k = 1 + (size_t)(rnd() % 8);

				if (k > n - at)
					k = n - at;
				memmove(buf + at, buf + at + k, n - at - k);
				n -= k;
			}
			break;
		case 3: {   /* insert a token */
			const char *t = tokens[rnd() % (sizeof tokens /
			    sizeof tokens[0])];
			size_t k = strlen(t) ? strlen(t) : 1;

			if (n + k <= cap) {
				memmove(buf + at + k, buf + at, n - at);
				memcpy(buf + at, t, k);
				n += k;
			}
			break;
		}
		case 4:     /* truncate */
			n = at;
			break;
		default: {  /* splice the tail of another seed */
			int o = (int)(rnd() % (uint64_t)nseeds);
			size_t from = seedlen[o] ? (size_t)(rnd() % seedlen[o]) : 0;
			size_t k = seedlen[o] - from;

			if (at + k > cap)
				k = cap - at;
			memcpy(buf + at, seeds[o] + from, k);
			n = at + k;
			break;
		}
		}
	}
	return n;
}

int
main(int argc, char **argv)
{
	double secs = 10;
	unsigned long long runs = 0;
	static unsigned char buf[1 << 17];
	time_t start = time(NULL);
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i += 2) {
		if (i + 1 >= argc)
			break;
		if (strcmp(argv[i], "-t") == 0)
			secs = strtod(argv[i + 1], NULL);
		else if (strcmp(argv[i], "-s") == 0)
			rng = strtoull(argv[i + 1], NULL, 10) | 1;
	}
	for (; i < argc; i++) {
		DIR *d = opendir(argv[i]);
		struct dirent *e;
		char path[4096];

		if (d == NULL) {
			add_seed(argv[i]);
			continue;
		}
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
			add_seed(path);
		}
		closedir(d);
	}
	if (nseeds == 0) {
		seeds[0] = (unsigned char *)strdup("{\"TICKER\":\"A\",\"PRICE\":1}");
		seedlen[0] = strlen((char *)seeds[0]);
		nseeds = 1;
	}
	for (int s = 0; s < nseeds; s++)
		LLVMFuzzerTestOneInput(seeds[s], seedlen[s]);
	while (difftime(time(NULL), start) < secs) {
		for (int k = 0; k < 1000; k++) {
			size_t n = mutate(buf, sizeof buf);

			LLVMFuzzerTestOneInput(buf, n);
			runs++;
		}
	}
	printf("fuzz_scan: %llu inputs, no failure\n", runs);
	for (int s = 0; s < nseeds; s++)
		free(seeds[s]);
	return 0;
}
#endif
