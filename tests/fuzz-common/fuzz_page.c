/* fuzz_page.c — kin-read's GetRecords fast path (kin-read/page.c) against
 * the library's parser, kin_get_records_parse.  page.h promises that both
 * give the same records and that the fast path is only a shortcut:
 *   - when the fast path takes a page, the library takes it too (unless the
 *     text is not JSON at all: the fast path does not validate) and finds
 *     the same records, next iterator and MillisBehindLatest;
 *   - page_parse (fast path or fallback) fails only where the library does.
 * A text with a key given twice in an object is not compared: JSON leaves
 * its meaning open (RFC 8259 section 4), and the two take different ones. */
#include "fuzz.h"
#include "err.h"
#include "json.h"
#include "kinesis.h"
#include "page.h"

static void
compare(const struct page *pg, const struct kin_records *o)
{
	FUZZ_CHECK(pg->n == o->n);
	for (size_t i = 0; i < o->n; i++) {
		const struct kin_record *a = &pg->r[i], *b = &o->r[i];

		FUZZ_CHECK(a->len == b->len && fuzz_same(a->data, b->data,
		    b->len));
		FUZZ_CHECK(strcmp(a->key, b->key) == 0);
		FUZZ_CHECK(strcmp(a->seq, b->seq) == 0);
		FUZZ_CHECK(a->arrival_ms == b->arrival_ms);
	}
	FUZZ_CHECK((pg->next_iter == NULL) == (o->next_iter == NULL));
	if (o->next_iter != NULL)
		FUZZ_CHECK(strcmp(pg->next_iter, o->next_iter) == 0);
	FUZZ_CHECK(pg->millis_behind == o->millis_behind);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct page pg;
	static int ready;
	struct kin_json j;
	struct kin_records o;
	char err[KIN_ERRLEN], *body;
	int fast, lib;

	if (!ready) {
		page_init(&pg);
		ready = 1;
	}
	/* page_parse wants a NUL after the body, as a curl buffer has */
	if ((body = malloc(size + 1)) == NULL)
		return 0;
	memcpy(body, data, size);
	body[size] = '\0';
	kin_json_init(&j, 1 << 20);
	kin_records_init(&o);

	fast = page_parse_fast(&pg, body, size);
	lib = kin_get_records_parse(&j, body, size, &o, err);
	if (fast == 0 && lib != 0)
		FUZZ_CHECK(!kin_json_is_value(body, size));
	if (fast == 0 && lib == 0 && !fuzz_dup_keys(body, size))
		compare(&pg, &o);
	if (page_parse(&pg, body, size, err) != 0)
		FUZZ_CHECK(lib != 0);

	kin_records_release(&o);
	kin_json_release(&j);
	free(body);
	return 0;
}
