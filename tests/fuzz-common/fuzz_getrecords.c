/* fuzz_getrecords.c — kin_get_records_parse on any body, twice with the
 * same struct kin_records (the reader reuses it page after page).  On
 * success every record's pointers lie in its store and end in a NUL. */
#include "fuzz.h"
#include "err.h"
#include "json.h"
#include "kinesis.h"

#include <string.h>

static void
check(const struct kin_records *o)
{
	const char *lo = o->store.p, *hi = o->store.p + o->store.len;

	for (size_t i = 0; i < o->n; i++) {
		const struct kin_record *r = &o->r[i];

		FUZZ_CHECK(r->data >= lo && r->data + r->len < hi);
		FUZZ_CHECK(r->data[r->len] == '\0');
		FUZZ_CHECK(r->key >= lo && r->key < hi);
		FUZZ_CHECK(r->seq >= lo && r->seq < hi);
		(void)strlen(r->key);
		(void)strlen(r->seq);
	}
	for (size_t i = 0; i < o->nchildren; i++) {
		FUZZ_CHECK(o->children[i].id != NULL);
		for (size_t k = 0; k < o->children[i].nparents; k++)
			(void)strlen(o->children[i].parents[k]);
	}
	if (o->next_iter)
		(void)strlen(o->next_iter);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kin_json j;
	struct kin_records o;
	char err[KIN_ERRLEN];

	kin_json_init(&j, 16 * 10000 + 64);
	kin_records_init(&o);
	for (int pass = 0; pass < 2; pass++) {
		if (kin_get_records_parse(&j, (const char *)data, size, &o,
		    err) == 0)
			check(&o);
		else
			FUZZ_CHECK(o.n == 0 && err[0] != '\0');
	}
	kin_records_release(&o);
	kin_json_release(&j);
	return 0;
}
