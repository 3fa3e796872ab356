/* redact.c — take secrets out of trace lines before anyone sees them:
 * Authorization and security-token headers, and secret-looking fields in
 * JSON ("SecretAccessKey":"..."), XML (<SessionToken>...) and key=value
 * text (Signature=..., X-Amz-Security-Token=...). */
#include "http.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#define MARK "REDACTED"

struct out {
	char *p;
	size_t n, len;
	int full;
};

static void
put(struct out *o, const char *s, size_t k)
{
	if (o->full)
		return;
	if (k > o->n - 1 - o->len) {
		k = o->n - 1 - o->len;
		o->full = 1;
	}
	memcpy(o->p + o->len, s, k);
	o->len += k;
	o->p[o->len] = '\0';
}

/* Is this field name one whose value is a secret?  Compared lower-case with
 * '-' and '_' dropped, so SecretAccessKey, aws_secret_access_key and
 * X-Amz-Security-Token all match. */
static int
sensitive(const char *s, size_t n)
{
	static const char *const exact[] = {
		"authorization", "proxyauthorization", "signature",
		"xamzsignature", "credential_secret",
	};
	char k[64];
	size_t m = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '-' || s[i] == '_')
			continue;
		if (m == sizeof k - 1)
			return 0;
		k[m++] = (char)tolower((unsigned char)s[i]);
	}
	k[m] = '\0';
	if (strstr(k, "secret") != NULL || strstr(k, "password") != NULL)
		return 1;
	/* Token, SessionToken, X-Amz-Security-Token, WebIdentityToken, the
	 * IMDS token...  but not a paging NextToken */
	if (m >= 5 && strcmp(k + m - 5, "token") == 0 &&
	    strcmp(k, "nexttoken") != 0)
		return 1;
	for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
		if (strcmp(k, exact[i]) == 0)
			return 1;
	return 0;
}

static int
namechar(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.';
}

/* A header line "Name: value" whose value must go. */
static size_t
header_rule(const char *s, size_t len, size_t i, struct out *o)
{
	static const char *const names[] = {
		"Authorization", "Proxy-Authorization", "X-Amz-Security-Token",
		"X-aws-ec2-metadata-token",
	};
	for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
		size_t nl = strlen(names[k]);
		if (len - i <= nl || s[i + nl] != ':' ||
		    strncasecmp(s + i, names[k], nl) != 0)
			continue;
		put(o, s + i, nl + 1);
		put(o, " " MARK, strlen(" " MARK));
		i += nl + 1;
		while (i < len && s[i] != '\n')
			i++;
		return i;
	}
	return 0;
}

/* "key" : "value" — returns the index after what was consumed. */
static size_t
json_rule(const char *s, size_t len, size_t i, struct out *o)
{
	size_t k = i + 1, kend, j;

	while (k < len && s[k] != '"' && s[k] != '\\' && s[k] != '\n')
		k++;
	if (k >= len || s[k] != '"')
		return 0;
	kend = k;
	j = k + 1;
	while (j < len && (s[j] == ' ' || s[j] == '\t'))
		j++;
	if (j >= len || s[j] != ':' || !sensitive(s + i + 1, kend - i - 1)) {
		put(o, s + i, kend + 1 - i);   /* the whole string, as is */
		return kend + 1;
	}
	j++;
	while (j < len && (s[j] == ' ' || s[j] == '\t'))
		j++;
	if (j >= len || s[j] != '"') {
		put(o, s + i, kend + 1 - i);
		return kend + 1;
	}
	put(o, s + i, j - i);
	put(o, "\"" MARK "\"", strlen(MARK) + 2);
	for (j++; j < len && s[j] != '"'; j++)
		if (s[j] == '\\' && j + 1 < len)
			j++;
	return j < len ? j + 1 : len;
}

/* <Name>value< */
static size_t
xml_rule(const char *s, size_t len, size_t i, struct out *o)
{
	size_t k = i + 1;

	while (k < len && namechar(s[k]))
		k++;
	if (k == i + 1 || k >= len || s[k] != '>' ||
	    !sensitive(s + i + 1, k - i - 1))
		return 0;
	put(o, s + i, k + 1 - i);
	put(o, MARK, strlen(MARK));
	for (k++; k < len && s[k] != '<'; k++)
		;
	return k;
}

/* name=value in a query, a form body or an Authorization value */
static size_t
kv_rule(const char *s, size_t len, size_t i, struct out *o)
{
	size_t k = i, j;

	if (i > 0 && namechar(s[i - 1]))
		return 0;
	while (k < len && namechar(s[k]))
		k++;
	j = k;
	while (j < len && s[j] == ' ')
		j++;
	if (k == i || j >= len || s[j] != '=' || !sensitive(s + i, k - i))
		return 0;
	j++;
	while (j < len && s[j] == ' ')
		j++;
	put(o, s + i, j - i);
	put(o, MARK, strlen(MARK));
	while (j < len && strchr("&,; \t\r\n\"'", s[j]) == NULL)
		j++;
	return j;
}

void
kin_redactn(const char *s, size_t len, char *out, size_t n)
{
	struct out o = { out, n, 0, 0 };
	size_t i = 0, next;

	if (n == 0)
		return;
	out[0] = '\0';
	while (i < len && !o.full) {
		next = 0;
		if (i == 0 || s[i - 1] == '\n')
			next = header_rule(s, len, i, &o);
		if (next == 0 && s[i] == '"')
			next = json_rule(s, len, i, &o);
		if (next == 0 && s[i] == '<')
			next = xml_rule(s, len, i, &o);
		if (next == 0 && namechar(s[i]))
			next = kv_rule(s, len, i, &o);
		if (next == 0) {
			/* copy a run of plain bytes at once */
			next = i + 1;
			while (next < len && !namechar(s[next]) &&
			    s[next] != '"' && s[next] != '<' && s[next] != '\n')
				next++;
			if (next < len && namechar(s[next]) && namechar(s[i]))
				while (next < len && namechar(s[next]))
					next++;
			put(&o, s + i, next - i);
		}
		i = next;
	}
}

void
kin_redact(const char *line, char *out, size_t n)
{
	kin_redactn(line, strlen(line), out, n);
}
