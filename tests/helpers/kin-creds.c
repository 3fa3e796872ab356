/* kin-creds — test helper: load settings and credentials through common/
 * awsconf and say where they came from, never what the secrets are.
 *
 * usage: kin-creds [--region R] [--endpoint-url URL] [--profile P]
 *                  [--service S] [--calls N]
 * Prints "region R", "endpoint URL", "profile P", "source S", "akid ID",
 * "secret yes|no", "token yes|no", "expires yes|no", one per line, after N
 * calls of kin_aws_creds (default 1).  Exit 78 when settings or
 * credentials cannot be had. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "awsconf.h"
#include "err.h"

static const char *prog = "kin-creds";

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "region", required_argument, NULL, 'r' },
		{ "endpoint-url", required_argument, NULL, 'e' },
		{ "profile", required_argument, NULL, 'p' },
		{ "service", required_argument, NULL, 's' },
		{ "calls", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	const char *region = NULL, *endpoint = NULL, *profile = NULL;
	const char *service = "kinesis";
	long calls = 1;
	char err[KIN_ERRLEN], *end;
	struct kin_aws a;
	struct kin_creds c = { 0 };
	int ch;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'r': region = optarg; break;
		case 'e': endpoint = optarg; break;
		case 'p': profile = optarg; break;
		case 's': service = optarg; break;
		case 'n':
			calls = strtol(optarg, &end, 10);
			if (*end != '\0' || calls < 1 || calls > 1000)
				kin_die(prog, KIN_EX_USAGE, "--calls: want 1 to 1000");
			break;
		default:
			fprintf(stderr, "usage: kin-creds [--region R] "
			    "[--endpoint-url URL] [--profile P] [--service S] "
			    "[--calls N]\n");
			return KIN_EX_USAGE;
		}
	}
	if (kin_aws_init(&a, service, region, endpoint, profile, err) < 0)
		kin_die(prog, KIN_EX_CONFIG, "%s", err);
	printf("region %s\nendpoint %s\nprofile %s\n", a.region, a.endpoint,
	    a.profile);
	for (long i = 0; i < calls; i++) {
		kin_creds_release(&c);
		if (kin_aws_creds(&a, &c, err) < 0) {
			fflush(stdout);
			kin_aws_release(&a);
			kin_die(prog, KIN_EX_CONFIG, "cannot load credentials: %s",
			    err);
		}
	}
	printf("source %s\nakid %s\nsecret %s\ntoken %s\nexpires %s\n",
	    c.source, c.akid, c.secret && c.secret[0] ? "yes" : "no",
	    c.token && c.token[0] ? "yes" : "no", c.expires_us ? "yes" : "no");
	kin_creds_release(&c);
	kin_aws_release(&a);
	if (fflush(stdout) != 0 || ferror(stdout))
		kin_die(prog, KIN_EX_IOERR, "cannot write output");
	return 0;
}
