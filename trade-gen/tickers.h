/* tickers.h — the ticker list: -t LIST or --tickers-file FILE.  A ticker
 * is 1 to TG_NAME_MAX printable ASCII bytes without '"', '\', ',' or space,
 * so it goes into JSON and CSV as is; a list has no duplicates.
 * Ownership: on success *out is a malloc'd array the caller frees (or hands
 * to tg_gen_init()). */
#ifndef TG_TICKERS_H
#define TG_TICKERS_H

#include <stdint.h>

#include "gen.h"

/* Comma-separated names.  0, or -1 with err filled. */
int tg_tickers_list(const char *list, struct tg_ticker **out, uint64_t *n,
    char *err);
/* One name a line; blank lines and lines starting with '#' are skipped. */
int tg_tickers_file(const char *path, struct tg_ticker **out, uint64_t *n,
    char *err);

#endif
