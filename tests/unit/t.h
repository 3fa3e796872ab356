/* t.h — the unit-test harness (after redis' testhelp.h): every failed check
 * is counted and printed, and T_DONE() makes the binary exit non-zero if any
 * failed, so a test can never pass by forgetting to fail. */
#ifndef KIN_T_H
#define KIN_T_H

#include <stdio.h>
#include <string.h>

static int t_failed, t_run;

#define T_CHECK(cond) do { t_run++; if (!(cond)) { t_failed++; \
	fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); } } while (0)
#define T_CHECKF(cond, ...) do { t_run++; if (!(cond)) { t_failed++; \
	fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
	fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)
#define T_STREQ(a, b) do { const char *t_a_ = (a), *t_b_ = (b); t_run++; \
	if (t_a_ == NULL || t_b_ == NULL || strcmp(t_a_, t_b_) != 0) { t_failed++; \
	fprintf(stderr, "FAIL %s:%d: %s == %s\n  got:  %s\n  want: %s\n", \
	    __FILE__, __LINE__, #a, #b, t_a_ ? t_a_ : "(null)", \
	    t_b_ ? t_b_ : "(null)"); } } while (0)
#define T_DONE() do { fprintf(stderr, "%s: %d checks, %d failed\n", \
	__FILE__, t_run, t_failed); return t_failed ? 1 : 0; } while (0)

#endif
