/* fuzz_deagg.c — kin-read's KPL de-aggregator (kin-read/deagg.c) on any
 * protobuf bytes.  The input is wrapped as an aggregate with the right
 * magic and MD5, so every input reaches the protobuf reader; then the raw
 * input is tried as a whole record too.  Every user record deagg returns
 * must lie inside the record it was given. */
#include "fuzz.h"
#include "deagg.h"

#include <openssl/evp.h>

static void
check(const struct deagg *d, const char *p, size_t n)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct deagg_rec *r = &d->r[i];

		FUZZ_CHECK(r->keylen == 0 || (r->key >= p &&
		    r->key + r->keylen <= p + n));
		FUZZ_CHECK(r->len == 0 || (r->data >= p &&
		    r->data + r->len <= p + n));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct deagg d;
	static int ready;
	unsigned char *rec;
	unsigned int mdlen;
	size_t n = 4 + size + 16;

	if (!ready) {
		deagg_init(&d);
		ready = 1;
	}
	if ((rec = malloc(n)) == NULL)
		return 0;
	memcpy(rec, "\xF3\x89\x9A\xC2", 4);
	memcpy(rec + 4, data, size);
	FUZZ_CHECK(EVP_Digest(data, size, rec + 4 + size, &mdlen, EVP_md5(),
	    NULL) == 1 && mdlen == 16);
	if (deagg_parse(&d, (const char *)rec, n) == DEAGG_OK)
		check(&d, (const char *)rec, n);
	if (deagg_parse(&d, (const char *)data, size) == DEAGG_OK)
		check(&d, (const char *)data, size);
	free(rec);
	return 0;
}
