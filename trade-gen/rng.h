/* rng.h — trade-gen's own random numbers, so that --seed gives the same
 * bytes on every machine and libc: xoshiro256** (Blackman and Vigna, 2018)
 * seeded through splitmix64, integers in a range by Lemire's
 * multiply-and-reject, doubles with 53 random bits.  Only integer and
 * IEEE-754 +-*÷ arithmetic: no libm, no rand(). */
#ifndef TG_RNG_H
#define TG_RNG_H

#include <stdint.h>

struct tg_rng {
	uint64_t s[4];
};

/* One step of splitmix64; also used to derive per-ticker parameters. */
static inline uint64_t
tg_splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline void
tg_rng_seed(struct tg_rng *r, uint64_t seed)
{
	uint64_t x = seed;

	for (int i = 0; i < 4; i++)
		r->s[i] = tg_splitmix64(&x);
}

static inline uint64_t
tg_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t
tg_rng_next(struct tg_rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = tg_rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = tg_rotl(s[3], 45);
	return result;
}

/* Uniform in [0, 1): the top 53 bits, exactly representable. */
static inline double
tg_rng_double(struct tg_rng *r)
{
	return (double)(tg_rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform in [0, n), n >= 1, without modulo bias (Lemire 2019). */
static inline uint64_t
tg_rng_below(struct tg_rng *r, uint64_t n)
{
	unsigned __int128 m = (unsigned __int128)tg_rng_next(r) * n;
	uint64_t lo = (uint64_t)m;

	if (lo < n) {
		uint64_t floor = -n % n;

		while (lo < floor) {
			m = (unsigned __int128)tg_rng_next(r) * n;
			lo = (uint64_t)m;
		}
	}
	return (uint64_t)(m >> 64);
}

#endif
