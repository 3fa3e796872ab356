/* tickers.c — reading and checking ticker lists (tickers.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "tickers.h"

struct list {
	struct tg_ticker *v;
	uint64_t n, cap;
};

static int
add(struct list *l, const char *s, size_t len, const char *where, char *err)
{
	if (len == 0)
		return kin_seterr(err, "%sempty ticker", where);
	if (len > TG_NAME_MAX)
		return kin_seterr(err, "%sticker '%.*s' is longer than %d bytes",
		    where, (int)len, s, TG_NAME_MAX);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c > '~' || c == '"' || c == '\\' || c == ',')
			return kin_seterr(err, "%sticker '%.*s' has a character "
			    "other than printable ASCII without '\"', '\\' and "
			    "','", where, (int)len, s);
	}
	if (l->n == TG_TICKERS_MAX)
		return kin_seterr(err, "%smore than %d tickers", where,
		    TG_TICKERS_MAX);
	if (l->n == l->cap) {
		uint64_t cap = l->cap ? l->cap * 2 : 16;
		struct tg_ticker *v = realloc(l->v, cap * sizeof *v);

		if (v == NULL)
			return kin_seterr(err, "out of memory");
		l->v = v;
		l->cap = cap;
	}
	memset(&l->v[l->n], 0, sizeof l->v[l->n]);
	memcpy(l->v[l->n].name, s, len);
	l->v[l->n].len = (unsigned char)len;
	l->n++;
	return 0;
}

static int
cmp_name(const void *a, const void *b)
{
	const struct tg_ticker *x = *(struct tg_ticker *const *)a;
	const struct tg_ticker *y = *(struct tg_ticker *const *)b;

	return memcmp(x->name, y->name, TG_NAME_MAX);   /* zero-padded */
}

/* Duplicates would make one name two tickers with two SEQ counters. */
static int
check_unique(const struct list *l, char *err)
{
	const struct tg_ticker **p;
	int rc = 0;

	if (l->n < 2)
		return 0;
	if ((p = malloc(l->n * sizeof *p)) == NULL)
		return kin_seterr(err, "out of memory");
	for (uint64_t i = 0; i < l->n; i++)
		p[i] = &l->v[i];
	qsort(p, l->n, sizeof *p, cmp_name);
	for (uint64_t i = 1; i < l->n; i++)
		if (cmp_name(&p[i - 1], &p[i]) == 0) {
			rc = kin_seterr(err, "ticker '%.*s' is listed twice",
			    p[i]->len, p[i]->name);
			break;
		}
	free(p);
	return rc;
}

static int
finish(struct list *l, struct tg_ticker **out, uint64_t *n, const char *what,
    char *err)
{
	char why[KIN_ERRLEN];

	if (l->n == 0) {
		free(l->v);
		return kin_seterr(err, "%s: no tickers", what);
	}
	if (check_unique(l, why) < 0) {
		free(l->v);
		return kin_seterr(err, "%s: %s", what, why);
	}
	*out = l->v;
	*n = l->n;
	return 0;
}

int
tg_tickers_list(const char *s, struct tg_ticker **out, uint64_t *n,
    char *err)
{
	struct list l = { NULL, 0, 0 };
	char why[KIN_ERRLEN];

	for (;;) {
		size_t len = strcspn(s, ",");

		if (add(&l, s, len, "", why) < 0) {
			free(l.v);
			return kin_seterr(err, "invalid --tickers: %s", why);
		}
		if (s[len] == '\0')
			break;
		s += len + 1;
	}
	if (finish(&l, out, n, "invalid --tickers", why) < 0)
		return kin_seterr(err, "%s", why);
	return 0;
}

int
tg_tickers_file(const char *path, struct tg_ticker **out, uint64_t *n,
    char *err)
{
	struct list l = { NULL, 0, 0 };
	char line[256], where[64], why[KIN_ERRLEN];
	long lineno = 0;
	FILE *f;

	if ((f = fopen(path, "re")) == NULL)
		return kin_seterrno(err, errno, "cannot open tickers file '%s'",
		    path);
	while (fgets(line, sizeof line, f) != NULL) {
		size_t len = strlen(line);

		lineno++;
		if (len == sizeof line - 1 && line[len - 1] != '\n') {
			kin_seterr(err, "%s:%ld: line too long", path, lineno);
			goto fail;
		}
		while (len > 0 && (line[len - 1] == '\n' ||
		    line[len - 1] == '\r' || line[len - 1] == ' ' ||
		    line[len - 1] == '\t'))
			line[--len] = '\0';
		if (len == 0 || line[0] == '#')
			continue;
		snprintf(where, sizeof where, "line %ld: ", lineno);
		if (add(&l, line, len, where, why) < 0) {
			kin_seterr(err, "%s: %s", path, why);
			goto fail;
		}
	}
	if (ferror(f)) {
		kin_seterrno(err, errno, "cannot read tickers file '%s'", path);
		goto fail;
	}
	fclose(f);
	if (finish(&l, out, n, path, why) < 0)
		return kin_seterr(err, "%s", why);
	return 0;
fail:
	fclose(f);
	free(l.v);
	return -1;
}
