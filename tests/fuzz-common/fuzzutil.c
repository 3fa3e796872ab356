/* fuzzutil.c — helpers the targets share (see fuzz.h). */
#include "fuzz.h"
#include "err.h"
#include "json.h"

int
fuzz_dup_keys(const char *s, size_t n)
{
	struct kin_json j;
	char err[KIN_ERRLEN];
	int dup = 0;

	kin_json_init(&j, 1 << 20);
	if (kin_json_parse(&j, s, n, err) < 0) {
		kin_json_release(&j);
		return 0;
	}
	for (int o = 0; o < j.ntok && !dup; o++) {
		int a, b;

		if (j.tok[o].type != JSMN_OBJECT)
			continue;
		a = o + 1;
		for (int x = 0; x < j.tok[o].size && !dup; x++) {
			b = kin_json_skip(&j, a + 1);
			for (int y = x + 1; y < j.tok[o].size && !dup; y++) {
				size_t la = (size_t)(j.tok[a].end - j.tok[a].start);
				size_t lb = (size_t)(j.tok[b].end - j.tok[b].start);

				dup = la == lb && memcmp(s + j.tok[a].start,
				    s + j.tok[b].start, la) == 0;
				b = kin_json_skip(&j, b + 1);
			}
			a = kin_json_skip(&j, a + 1);
		}
	}
	kin_json_release(&j);
	return dup;
}
