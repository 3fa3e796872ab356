/* fmt-check — prints "HEXFLOAT PRICE" for hard and random doubles, PRICE
 * being what trade-gen prints for Python's repr(round(x, 2)), so that
 * tests/trade-gen.bats can have python3 check every line.  Not part of
 * trade-gen; built by trade-gen/local.mk. */
#include <math.h>
#include <stdio.h>

#include "../fmt.h"
#include "../rng.h"

static void
show(double x)
{
	char buf[64], *e = tg_put_price(buf, tg_round_cents(x));

	printf("%a %.*s\n", x, (int)(e - buf), buf);
}

static void
around(double x)
{
	show(x);
	show(nextafter(x, 0));
	show(nextafter(x, 1e300));
}

int
main(void)
{
	struct tg_rng r;

	/* Every decimal with 3 places in [0, 100], and its neighbours: the
	 * x.xx5 ones sit just above or below a tie in binary. */
	for (int k = 0; k <= 100000; k++)
		around(k / 1000.0);
	/* Exact ties in binary are the odd eighths: 0.125, 0.375... */
	for (int k = 0; k <= 800; k++)
		around(k / 8.0);
	/* Walk prices go above 100 (up to 1e9). */
	for (int k = 0; k <= 2000; k++) {
		around(100.0 + k * 0.005);
		around(1e9 - k * 0.005);
		around(123456.785 + k * 0.001);
	}
	/* Tiny ones. */
	show(0x1p-1074);
	show(1e-300);
	show(0.004999999999999999);
	show(0.005);
	show(0.0050000000000000001);
	show(0.015);
	show(2.675);
	/* What the uniform model draws. */
	tg_rng_seed(&r, 1);
	for (int k = 0; k < 500000; k++)
		show(tg_rng_double(&r) * 100);
	return ferror(stdout) ? 1 : 0;
}
