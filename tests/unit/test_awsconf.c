/* test_awsconf.c — settings and the local half of the credential chain:
 * the shared-file reader, region/endpoint/profile precedence, environment
 * and file credentials, credential_process and refresh.  The HTTP providers
 * are tested against loopback responders in tests/credentials.bats. */
#include "t.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "awsconf.h"
#include "creds.h"
#include "err.h"

static char dir[] = "/tmp/kin-awsconf-XXXXXX";
static char cfg[512], cred[512];

#define SECRET_A "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define SECRET_B "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"
#define SECRET_P "processSecretEXAMPLEKEY0000000000000000"

static void
writefile(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		perror(path);
		exit(2);
	}
	fputs(text, f);
	fclose(f);
}

/* A clean slate: none of the variables the chain reads, no real ~/.aws. */
static void
clean_env(void)
{
	static const char *vars[] = {
		"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE",
		"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_KINESIS",
		"AWS_ENDPOINT_URL_STS", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
		"AWS_CA_BUNDLE", "AWS_MAX_ATTEMPTS", "AWS_ACCESS_KEY_ID",
		"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
		"AWS_ROLE_SESSION_NAME", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
		"AWS_EC2_METADATA_SERVICE_ENDPOINT",
		"AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
	};
	for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
		unsetenv(vars[i]);
	setenv("HOME", dir, 1);
	setenv("AWS_CONFIG_FILE", cfg, 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", cred, 1);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	writefile(cfg, "");
	writefile(cred, "");
}

static void
test_ini(void)
{
	char *v;

	writefile(cfg,
	    "# a comment\n"
	    "; another\n"
	    "[default]\n"
	    "region = eu-west-1\n"
	    "\n"
	    "[profile x]\n"
	    "region=us-east-2   # where x lives\n"
	    "Output = json\n"
	    "s3 =\n"
	    "  region = ap-south-1\n"
	    "odd = a#b;c\n"
	    "[x]\n"
	    "region = not-for-profile-x\n"
	    "[ profile   spaced ]\n"
	    "  \n"
	    "\tregion = sub-property\n"
	    "Region\t=\tca-central-1\n"
	    "[profile X]\n"
	    "region = upper\n"
	    "[profile x]\n"
	    "output = text\n");
	v = kin_ini_get(cfg, "default", "region");
	T_STREQ(v, "eu-west-1");
	free(v);
	v = kin_ini_get(cfg, "profile x", "region");
	T_STREQ(v, "us-east-2");
	free(v);
	/* keys are case-insensitive; the last occurrence wins, even in a
	 * repeated section */
	v = kin_ini_get(cfg, "profile x", "OUTPUT");
	T_STREQ(v, "text");
	free(v);
	/* '#' and ';' inside a value are not comments */
	v = kin_ini_get(cfg, "profile x", "odd");
	T_STREQ(v, "a#b;c");
	free(v);
	/* "[x]" is another section than "[profile x]" */
	v = kin_ini_get(cfg, "x", "region");
	T_STREQ(v, "not-for-profile-x");
	free(v);
	/* blanks in the brackets are normalised; indented lines are
	 * sub-properties, never top-level keys */
	v = kin_ini_get(cfg, "profile spaced", "region");
	T_STREQ(v, "ca-central-1");
	free(v);
	/* section names keep their case */
	v = kin_ini_get(cfg, "profile X", "region");
	T_STREQ(v, "upper");
	free(v);
	T_CHECK(kin_ini_get(cfg, "profile x", "missing") == NULL);
	T_CHECK(kin_ini_get(cfg, "profile nope", "region") == NULL);
	T_CHECK(kin_ini_get("/nonexistent/file", "default", "region") == NULL);
	T_CHECK(kin_ini_has(cfg, "profile spaced"));
	T_CHECK(!kin_ini_has(cfg, "profile nope"));

	/* the config file: [profile NAME], and default as [default] or
	 * [profile default]; [x] alone does not make profile x */
	v = kin_config_get("x", "region");
	T_STREQ(v, "us-east-2");
	free(v);
	v = kin_config_get("default", "region");
	T_STREQ(v, "eu-west-1");
	free(v);
	writefile(cfg, "[profile default]\nregion = sa-east-1\n[y]\n"
	    "region = x\n");
	v = kin_config_get("default", "region");
	T_STREQ(v, "sa-east-1");
	free(v);
	T_CHECK(kin_config_get("y", "region") == NULL);

	/* ~ in AWS_CONFIG_FILE is the home directory */
	char home_cfg[600];
	snprintf(home_cfg, sizeof home_cfg, "%s/tilde-config", dir);
	writefile(home_cfg, "[default]\nregion = me-south-1\n");
	setenv("AWS_CONFIG_FILE", "~/tilde-config", 1);
	v = kin_config_get("default", "region");
	T_STREQ(v, "me-south-1");
	free(v);
	setenv("AWS_CONFIG_FILE", cfg, 1);
}

static void
test_region(void)
{
	struct kin_aws a;
	char err[KIN_ERRLEN];

	clean_env();
	/* nothing anywhere: a clear error */
	T_CHECK(kin_aws_init(&a, "kinesis", NULL, NULL, NULL, err) == -1);
	T_CHECKF(strstr(err, "no region") != NULL, "%s", err);

	writefile(cfg, "[default]\nregion = eu-west-1\n[profile p]\n"
	    "region = eu-north-1\n");
	T_CHECK(kin_aws_init(&a, "kinesis", NULL, NULL, NULL, err) == 0);
	T_STREQ(a.region, "eu-west-1");
	T_STREQ(a.profile, "default");
	kin_aws_release(&a);

	setenv("AWS_PROFILE", "p", 1);
	T_CHECK(kin_aws_init(&a, "kinesis", NULL, NULL, NULL, err) == 0);
	T_STREQ(a.region, "eu-north-1");
	T_STREQ(a.profile, "p");
	kin_aws_release(&a);
	/* --profile beats AWS_PROFILE */
	T_CHECK(kin_aws_init(&a, "kinesis", NULL, NULL, "default", err) == 0);
	T_STREQ(a.region, "eu-west-1");
	T_STREQ(a.profile, "default");
	kin_aws_release(&a);

	setenv("AWS_DEFAULT_REGION", "us-west-1", 1);
	T_CHECK(kin_aws_init(&a, "kinesis", NULL, NULL, NULL, err) == 0);
	T_STREQ(a.region, "us-west-1");
	kin_aws_release(&a);

	setenv("AWS_REGION", "us-west-2", 1);
	T_CHECK(kin_aws_init(&a, "kinesis", NULL, NULL, NULL, err) == 0);
	T_STREQ(a.region, "us-west-2");
	kin_aws_release(&a);

	T_CHECK(kin_aws_init(&a, "kinesis", "ap-northeast-1", NULL, NULL,
	    err) == 0);
	T_STREQ(a.region, "ap-northeast-1");
	kin_aws_release(&a);

	/* an empty variable counts as unset */
	setenv("AWS_REGION", "", 1);
	T_CHECK(kin_aws_init(&a, "kinesis", NULL, NULL, NULL, err) == 0);
	T_STREQ(a.region, "us-west-1");
	kin_aws_release(&a);

	T_CHECK(kin_aws_init(&a, "kinesis", "eu west", NULL, NULL, err) == -1);
	T_CHECKF(strstr(err, "'eu west'") != NULL, "%s", err);
}

static void
test_endpoint(void)
{
	struct kin_aws a;
	char err[KIN_ERRLEN];

	clean_env();
	T_CHECK(kin_aws_init(&a, "kinesis", "eu-west-1", NULL, NULL, err) == 0);
	T_STREQ(a.endpoint, "https://kinesis.eu-west-1.amazonaws.com");
	kin_aws_release(&a);
	T_CHECK(kin_aws_init(&a, "kinesis", "cn-north-1", NULL, NULL, err) == 0);
	T_STREQ(a.endpoint, "https://kinesis.cn-north-1.amazonaws.com.cn");
	kin_aws_release(&a);

	setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4000/", 1);
	T_CHECK(kin_aws_init(&a, "kinesis", "eu-west-1", NULL, NULL, err) == 0);
	T_STREQ(a.endpoint, "http://127.0.0.1:4000");
	kin_aws_release(&a);

	setenv("AWS_ENDPOINT_URL_KINESIS", "http://127.0.0.1:4567", 1);
	T_CHECK(kin_aws_init(&a, "kinesis", "eu-west-1", NULL, NULL, err) == 0);
	T_STREQ(a.endpoint, "http://127.0.0.1:4567");
	kin_aws_release(&a);

	/* another service's variable is not ours */
	char *e = NULL;
	T_CHECK(kin_aws_endpoint_for("sts", "eu-west-1", NULL, &e, err) == 0);
	T_STREQ(e, "http://127.0.0.1:4000");
	free(e);
	setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:5000", 1);
	T_CHECK(kin_aws_endpoint_for("sts", "eu-west-1", NULL, &e, err) == 0);
	T_STREQ(e, "http://127.0.0.1:5000");
	free(e);
	T_CHECK(kin_aws_endpoint_for("dynamodb streams", "eu-west-1", NULL, &e,
	    err) == 0);
	T_STREQ(e, "http://127.0.0.1:4000");
	free(e);
	setenv("AWS_ENDPOINT_URL_DYNAMODB_STREAMS", "http://127.0.0.1:6000", 1);
	T_CHECK(kin_aws_endpoint_for("dynamodb streams", "eu-west-1", NULL, &e,
	    err) == 0);
	T_STREQ(e, "http://127.0.0.1:6000");
	free(e);
	unsetenv("AWS_ENDPOINT_URL_DYNAMODB_STREAMS");

	T_CHECK(kin_aws_init(&a, "kinesis", "eu-west-1",
	    "https://kinesis.example.test//", NULL, err) == 0);
	T_STREQ(a.endpoint, "https://kinesis.example.test");
	kin_aws_release(&a);

	setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true", 1);
	T_CHECK(kin_aws_init(&a, "kinesis", "eu-west-1", NULL, NULL, err) == 0);
	T_STREQ(a.endpoint, "https://kinesis.eu-west-1.amazonaws.com");
	kin_aws_release(&a);
	unsetenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");

	T_CHECK(kin_aws_init(&a, "kinesis", "eu-west-1", "ftp://x", NULL,
	    err) == -1);
	T_CHECKF(strstr(err, "not an http") != NULL, "%s", err);
	setenv("AWS_ENDPOINT_URL_KINESIS", "localhost:4567", 1);
	T_CHECK(kin_aws_init(&a, "kinesis", "eu-west-1", NULL, NULL, err) == -1);
}

static void
test_misc_settings(void)
{
	struct kin_aws a;
	char err[KIN_ERRLEN];

	clean_env();
	writefile(cfg, "[default]\nca_bundle = /etc/ssl/x.pem\n"
	    "max_attempts = 7\n");
	T_CHECK(kin_aws_init(&a, "kinesis", "eu-west-1", NULL, NULL, err) == 0);
	T_STREQ(a.ca_bundle, "/etc/ssl/x.pem");
	T_CHECK(a.max_attempts == 7);
	kin_aws_release(&a);
	setenv("AWS_CA_BUNDLE", "/tmp/ca.pem", 1);
	setenv("AWS_MAX_ATTEMPTS", "5", 1);
	T_CHECK(kin_aws_init(&a, "kinesis", "eu-west-1", NULL, NULL, err) == 0);
	T_STREQ(a.ca_bundle, "/tmp/ca.pem");
	T_CHECK(a.max_attempts == 5);
	kin_aws_release(&a);
	writefile(cfg, "");
	unsetenv("AWS_CA_BUNDLE");
	unsetenv("AWS_MAX_ATTEMPTS");
	T_CHECK(kin_aws_init(&a, "kinesis", "eu-west-1", NULL, NULL, err) == 0);
	T_CHECK(a.ca_bundle == NULL);
	T_CHECK(a.max_attempts == 3);
	kin_aws_release(&a);
	setenv("AWS_MAX_ATTEMPTS", "0", 1);
	T_CHECK(kin_aws_init(&a, "kinesis", "eu-west-1", NULL, NULL, err) == -1);
	setenv("AWS_MAX_ATTEMPTS", "3x", 1);
	T_CHECK(kin_aws_init(&a, "kinesis", "eu-west-1", NULL, NULL, err) == -1);
	T_CHECKF(strstr(err, "'3x'") != NULL, "%s", err);
	unsetenv("AWS_MAX_ATTEMPTS");
}

/* Load credentials with a fresh kin_aws; returns the rc of kin_aws_creds. */
static int
load(struct kin_creds *c, const char *profile, char *err)
{
	struct kin_aws a;
	int rc;

	memset(c, 0, sizeof *c);
	if (kin_aws_init(&a, "kinesis", "eu-west-1", NULL, profile, err) < 0)
		return -2;
	rc = kin_aws_creds(&a, c, err);
	kin_aws_release(&a);
	return rc;
}

static void
no_secret_in(const char *err)
{
	T_CHECKF(strstr(err, SECRET_A) == NULL && strstr(err, SECRET_B) ==
	    NULL && strstr(err, SECRET_P) == NULL, "secret in: %s", err);
}

static void
test_creds_env_and_files(void)
{
	struct kin_creds c;
	char err[KIN_ERRLEN] = "";

	clean_env();
	T_CHECK(load(&c, NULL, err) == -1);
	T_CHECKF(strstr(err, "no credentials") != NULL, "%s", err);
	T_CHECKF(strstr(err, "AWS_EC2_METADATA_DISABLED") != NULL, "%s", err);

	writefile(cred, "[default]\naws_access_key_id = AKIDFILE\n"
	    "aws_secret_access_key = " SECRET_B "\n"
	    "[p2]\naws_access_key_id=AKIDP2\naws_secret_access_key=" SECRET_B
	    "\naws_session_token = tok2\n"
	    "[half]\naws_access_key_id = AKIDHALF\n");
	writefile(cfg, "[default]\nregion = eu-west-1\n"
	    "[profile cfgonly]\naws_access_key_id = AKIDCFG\n"
	    "aws_secret_access_key = " SECRET_B "\n"
	    "[profile p2]\naws_access_key_id = AKIDCFGP2\n"
	    "aws_secret_access_key = " SECRET_B "\n");

	T_CHECK(load(&c, NULL, err) == 0);
	T_STREQ(c.akid, "AKIDFILE");
	T_STREQ(c.secret, SECRET_B);
	T_CHECK(c.token == NULL);
	T_STREQ(c.source, "profile");
	T_CHECK(c.expires_us == 0);
	kin_creds_release(&c);

	/* the credentials file wins over the config file */
	T_CHECK(load(&c, "p2", err) == 0);
	T_STREQ(c.akid, "AKIDP2");
	T_STREQ(c.token, "tok2");
	kin_creds_release(&c);
	setenv("AWS_PROFILE", "cfgonly", 1);
	T_CHECK(load(&c, NULL, err) == 0);
	T_STREQ(c.akid, "AKIDCFG");
	kin_creds_release(&c);
	unsetenv("AWS_PROFILE");

	T_CHECK(load(&c, "half", err) == -1);
	T_CHECKF(strstr(err, "needs both") != NULL, "%s", err);
	T_CHECK(load(&c, "nosuch", err) == -1);
	T_CHECKF(strstr(err, "profile 'nosuch' not found") != NULL, "%s", err);

	/* the environment comes first */
	setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", SECRET_A, 1);
	T_CHECK(load(&c, NULL, err) == 0);
	T_STREQ(c.akid, "AKIDENV");
	T_STREQ(c.secret, SECRET_A);
	T_CHECK(c.token == NULL);
	T_STREQ(c.source, "env");
	kin_creds_release(&c);
	setenv("AWS_SESSION_TOKEN", "envtoken", 1);
	T_CHECK(load(&c, NULL, err) == 0);
	T_STREQ(c.token, "envtoken");
	kin_creds_release(&c);
	/* half a pair in the environment is an error, not a fall-through */
	unsetenv("AWS_SECRET_ACCESS_KEY");
	T_CHECK(load(&c, NULL, err) == -1);
	T_CHECKF(strstr(err, "AWS_SECRET_ACCESS_KEY is not") != NULL, "%s",
	    err);
	no_secret_in(err);
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SESSION_TOKEN");

	/* kin_creds_copy */
	struct kin_creds src = { .akid = "A", .secret = "S", .token = NULL,
	    .expires_us = 42, .source = "env" }, dst;
	T_CHECK(kin_creds_copy(&dst, &src, err) == 0);
	T_STREQ(dst.akid, "A");
	T_STREQ(dst.secret, "S");
	T_CHECK(dst.token == NULL && dst.expires_us == 42);
	kin_creds_release(&dst);
	T_CHECK(dst.akid == NULL && dst.secret == NULL);
}

static void
test_time(void)
{
	int64_t us;

	T_CHECK(kin_creds_time("2015-08-30T12:36:00Z", 20, &us) == 0);
	T_CHECK(us == 1440938160LL * 1000000);
	T_CHECK(kin_creds_time("2015-08-30T12:36:00.250Z", 24, &us) == 0);
	T_CHECK(us == 1440938160LL * 1000000 + 250000);
	T_CHECK(kin_creds_time("2015-08-30T14:36:00+02:00", 25, &us) == 0);
	T_CHECK(us == 1440938160LL * 1000000);
	T_CHECK(kin_creds_time("2015-08-30 12:36:00Z", 20, &us) == 0);
	T_CHECK(kin_creds_time("2015-08-30T12:36:00", 19, &us) == -1);
	T_CHECK(kin_creds_time("2015-13-30T12:36:00Z", 20, &us) == -1);
	T_CHECK(kin_creds_time("2015-08-30T12:36:00Zjunk", 24, &us) == -1);
	T_CHECK(kin_creds_time("soon", 4, &us) == -1);
}

/* A credential_process script: prints JSON, counts its runs in a file. */
static void
write_process(const char *path, const char *count, const char *json)
{
	char text[4096];

	snprintf(text, sizeof text,
	    "#!/bin/sh\n"
	    "n=$(cat '%s' 2>/dev/null || echo 0)\n"
	    "echo $((n + 1)) > '%s'\n"
	    "cat <<'EOF'\n%s\nEOF\n", count, count, json);
	writefile(path, text);
	chmod(path, 0700);
}

static int
runs(const char *count)
{
	FILE *f = fopen(count, "r");
	int n = 0;

	if (f == NULL)
		return 0;
	if (fscanf(f, "%d", &n) != 1)
		n = 0;
	fclose(f);
	return n;
}

static void
iso_in(char *buf, size_t n, long secs)
{
	time_t t = time(NULL) + secs;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void
test_process(void)
{
	char script[600], count[600], conf[2048], json[1024], when[64];
	char err[KIN_ERRLEN] = "";
	struct kin_creds c;
	struct kin_aws a;

	clean_env();
	snprintf(script, sizeof script, "%s/creds.sh", dir);
	snprintf(count, sizeof count, "%s/count", dir);
	/* the command runs through sh -c, arguments and all */
	snprintf(conf, sizeof conf, "[profile proc]\n"
	    "credential_process = %s --some-arg \"quoted value\"\n", script);
	writefile(cfg, conf);

	write_process(script, count, "{\"Version\": 1, \"AccessKeyId\": "
	    "\"AKIDPROC\", \"SecretAccessKey\": \"" SECRET_P "\"}");
	T_CHECK(load(&c, "proc", err) == 0);
	T_STREQ(c.akid, "AKIDPROC");
	T_STREQ(c.secret, SECRET_P);
	T_CHECK(c.token == NULL && c.expires_us == 0);
	T_STREQ(c.source, "process");
	kin_creds_release(&c);

	iso_in(when, sizeof when, 3600);
	snprintf(json, sizeof json, "{\"Version\": 1, \"AccessKeyId\": "
	    "\"AKIDPROC\", \"SecretAccessKey\": \"" SECRET_P "\", "
	    "\"SessionToken\": \"ptoken\", \"Expiration\": \"%s\"}", when);
	write_process(script, count, json);
	unlink(count);
	T_CHECK(kin_aws_init(&a, "kinesis", "eu-west-1", NULL, "proc",
	    err) == 0);
	T_CHECK(kin_aws_creds(&a, &c, err) == 0);
	T_STREQ(c.token, "ptoken");
	T_CHECK(c.expires_us > 0);
	kin_creds_release(&c);
	/* an hour left: cached, the process is not run again */
	T_CHECK(kin_aws_creds(&a, &c, err) == 0);
	kin_creds_release(&c);
	T_CHECK(runs(count) == 1);
	kin_aws_release(&a);

	/* two minutes left: inside the 5-minute window, so every call
	 * refreshes */
	iso_in(when, sizeof when, 120);
	snprintf(json, sizeof json, "{\"Version\": 1, \"AccessKeyId\": "
	    "\"AKIDSHORT\", \"SecretAccessKey\": \"" SECRET_P "\", "
	    "\"SessionToken\": \"ptoken\", \"Expiration\": \"%s\"}", when);
	write_process(script, count, json);
	unlink(count);
	T_CHECK(kin_aws_init(&a, "kinesis", "eu-west-1", NULL, "proc",
	    err) == 0);
	for (int i = 0; i < 3; i++) {
		T_CHECK(kin_aws_creds(&a, &c, err) == 0);
		T_STREQ(c.akid, "AKIDSHORT");
		kin_creds_release(&c);
	}
	T_CHECK(runs(count) == 3);
	/* the refresh fails but the old credentials have not expired yet:
	 * they are still handed out */
	writefile(script, "#!/bin/sh\nexit 1\n");
	T_CHECK(kin_aws_creds(&a, &c, err) == 0);
	T_STREQ(c.akid, "AKIDSHORT");
	kin_creds_release(&c);
	kin_aws_release(&a);

	/* failures: exit status, not JSON, wrong version, missing key, bad
	 * time; none of them shows the secret */
	writefile(script, "#!/bin/sh\necho '{\"Version\":1,\"AccessKeyId\":"
	    "\"A\",\"SecretAccessKey\":\"" SECRET_P "\"}'\nexit 3\n");
	T_CHECK(load(&c, "proc", err) == -1);
	T_CHECKF(strstr(err, "exited with status 3") != NULL, "%s", err);
	no_secret_in(err);
	writefile(script, "#!/bin/sh\necho 'AccessKeyId " SECRET_P "'\n");
	T_CHECK(load(&c, "proc", err) == -1);
	T_CHECKF(strstr(err, "not a JSON object") != NULL, "%s", err);
	no_secret_in(err);
	writefile(script, "#!/bin/sh\necho '{\"Version\":2,\"AccessKeyId\":"
	    "\"A\",\"SecretAccessKey\":\"" SECRET_P "\"}'\n");
	T_CHECK(load(&c, "proc", err) == -1);
	T_CHECKF(strstr(err, "Version") != NULL, "%s", err);
	no_secret_in(err);
	writefile(script, "#!/bin/sh\necho '{\"Version\":1,"
	    "\"SecretAccessKey\":\"" SECRET_P "\"}'\n");
	T_CHECK(load(&c, "proc", err) == -1);
	T_CHECKF(strstr(err, "lacks AccessKeyId") != NULL, "%s", err);
	writefile(script, "#!/bin/sh\necho '{\"Version\":1,\"AccessKeyId\":"
	    "\"A\",\"SecretAccessKey\":\"" SECRET_P "\",\"Expiration\":"
	    "\"tomorrow\"}'\n");
	T_CHECK(load(&c, "proc", err) == -1);
	T_CHECKF(strstr(err, "Expiration") != NULL, "%s", err);
	no_secret_in(err);
	/* stdin is /dev/null, never the program's own input */
	writefile(script, "#!/bin/sh\n"
	    "[ \"$(readlink /proc/$$/fd/0)\" = /dev/null ] || exit 9\n"
	    "echo '{\"Version\":1,\"AccessKeyId\":\"AKIDNULL\","
	    "\"SecretAccessKey\":\"x\"}'\n");
	T_CHECK(load(&c, "proc", err) == 0);
	T_STREQ(c.akid, "AKIDNULL");
	kin_creds_release(&c);

	/* static keys in the credentials file beat credential_process */
	writefile(cred, "[proc]\naws_access_key_id = AKIDSTATIC\n"
	    "aws_secret_access_key = " SECRET_B "\n");
	T_CHECK(load(&c, "proc", err) == 0);
	T_STREQ(c.akid, "AKIDSTATIC");
	kin_creds_release(&c);
}

int
main(void)
{
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	snprintf(cfg, sizeof cfg, "%s/config", dir);
	snprintf(cred, sizeof cred, "%s/credentials", dir);
	clean_env();
	test_ini();
	test_region();
	test_endpoint();
	test_misc_settings();
	test_time();
	test_creds_env_and_files();
	test_process();
	/* leave no secrets behind */
	char cmd[700];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	T_DONE();
}
