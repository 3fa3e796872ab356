/* creds.c — the local credential providers: environment variables, the
 * shared credentials/config files and credential_process; plus the
 * credentials JSON and timestamp readers the HTTP providers share. */
#include "creds.h"
#include "buf.h"
#include "err.h"
#include "json.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

extern char **environ;

#define PROCESS_MAX_OUT (64 * 1024)
#define PROCESS_TIMEOUT_MS (60 * 1000)

static char *
dupe(const char *s)
{
	return s ? strdup(s) : NULL;
}

int
kin_creds_env(const struct kin_aws *a, struct kin_creds *c, char *err)
{
	const char *id = kin_env("AWS_ACCESS_KEY_ID");
	const char *sk = kin_env("AWS_SECRET_ACCESS_KEY");
	const char *tk = kin_env("AWS_SESSION_TOKEN");

	(void)a;
	if (id == NULL && sk == NULL)
		return 0;
	if (id == NULL || sk == NULL)
		return kin_seterr(err, "credentials from the environment: %s is "
		    "set but %s is not", id ? "AWS_ACCESS_KEY_ID" :
		    "AWS_SECRET_ACCESS_KEY", id ? "AWS_SECRET_ACCESS_KEY" :
		    "AWS_ACCESS_KEY_ID");
	c->akid = dupe(id);
	c->secret = dupe(sk);
	c->token = dupe(tk);
	c->source = "env";
	if (!c->akid || !c->secret || (tk && !c->token))
		return kin_seterr(err, "credentials: out of memory");
	return 1;
}

/* ---- time ---- */

static int
num(const char *s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

int
kin_creds_time(const char *s, size_t n, int64_t *us)
{
	int Y, M, D, h, m, sec, frac_us = 0, off = 0;
	struct tm tm = { 0 };
	size_t i = 19;

	/* YYYY-MM-DDTHH:MM:SS */
	if (n < 20 || num(s, 4, &Y) || s[4] != '-' || num(s + 5, 2, &M) ||
	    s[7] != '-' || num(s + 8, 2, &D) ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    num(s + 11, 2, &h) || s[13] != ':' || num(s + 14, 2, &m) ||
	    s[16] != ':' || num(s + 17, 2, &sec))
		return -1;
	if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
		return -1;
	if (s[i] == '.') {
		int scale = 100000;
		i++;
		if (i >= n || s[i] < '0' || s[i] > '9')
			return -1;
		for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
			frac_us += (s[i] - '0') * scale;
			scale /= 10;
		}
	}
	if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
		i++;
	} else if (i + 6 <= n && (s[i] == '+' || s[i] == '-') &&
	    s[i + 3] == ':') {
		int oh, om;
		if (num(s + i + 1, 2, &oh) || num(s + i + 4, 2, &om) ||
		    oh > 23 || om > 59)
			return -1;
		off = (oh * 60 + om) * 60 * (s[i] == '-' ? -1 : 1);
		i += 6;
	} else {
		return -1;
	}
	if (i != n)
		return -1;
	tm.tm_year = Y - 1900;
	tm.tm_mon = M - 1;
	tm.tm_mday = D;
	tm.tm_hour = h;
	tm.tm_min = m;
	tm.tm_sec = sec;
	*us = ((int64_t)timegm(&tm) - off) * 1000000 + frac_us;
	return 0;
}

/* ---- credentials JSON ---- */

static char *
jfield(struct kin_json *j, const char *key, int *present)
{
	char err[KIN_ERRLEN];
	int i = kin_json_get(j, 0, key);

	*present = i >= 0;
	if (i < 0 || j->tok[i].type != JSMN_STRING)
		return NULL;
	return kin_json_strdup(j, i, err);
}

int
kin_creds_from_json(const char *js, size_t n, int process, const char *what,
    struct kin_creds *c, char *err)
{
	struct kin_json j;
	char jerr[KIN_ERRLEN];
	char *exp = NULL;
	int have, rc = -1, i;

	kin_json_init(&j, 128);
	if (kin_json_parse(&j, js, n, jerr) < 0 || j.ntok < 1 ||
	    j.tok[0].type != JSMN_OBJECT) {
		kin_seterr(err, "%s: answer is not a JSON object", what);
		goto out;
	}
	if (process) {
		int64_t v = 0;
		i = kin_json_get(&j, 0, "Version");
		if (i < 0 || kin_json_int64(&j, i, &v, jerr) < 0 || v != 1) {
			kin_seterr(err, "%s: answer is not \"Version\": 1", what);
			goto out;
		}
	} else if ((i = kin_json_get(&j, 0, "Code")) >= 0 &&
	    !kin_json_eq(&j, i, "Success")) {
		size_t len;
		const char *code = kin_json_raw(&j, i, &len);
		kin_seterr(err, "%s: Code is '%.*s'", what,
		    len > 64 ? 64 : (int)len, code);
		goto out;
	}
	c->akid = jfield(&j, "AccessKeyId", &have);
	c->secret = jfield(&j, "SecretAccessKey", &have);
	c->token = jfield(&j, process ? "SessionToken" : "Token", &have);
	exp = jfield(&j, "Expiration", &have);
	if (c->akid == NULL || c->secret == NULL || c->akid[0] == '\0' ||
	    c->secret[0] == '\0') {
		kin_seterr(err, "%s: answer lacks AccessKeyId or "
		    "SecretAccessKey", what);
		goto out;
	}
	if (c->token != NULL && c->token[0] == '\0') {
		free(c->token);
		c->token = NULL;
	}
	if (have && (exp == NULL ||
	    kin_creds_time(exp, strlen(exp), &c->expires_us) < 0)) {
		kin_seterr(err, "%s: Expiration is not an RFC 3339 time", what);
		goto out;
	}
	rc = 0;
out:
	free(exp);
	kin_json_release(&j);
	return rc;
}

/* ---- credential_process ---- */

/* Run cmd with /bin/sh -c, stdin from /dev/null (a program reading records
 * on stdin must not lose them to it), stderr passed through; collect
 * stdout up to a ceiling and a deadline. */
static int
run_process(const char *cmd, struct kin_buf *out, char *err)
{
	posix_spawn_file_actions_t fa;
	int p[2], status = 0, rc = -1, timed_out = 0;
	pid_t pid;
	char *argv[] = { "sh", "-c", (char *)cmd, NULL };
	struct timespec t0, t1;

	if (pipe2(p, O_CLOEXEC) < 0)
		return kin_seterrno(err, errno, "credential_process: pipe");
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	int e = posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (e != 0) {
		close(p[0]);
		return kin_seterrno(err, e, "credential_process: cannot run "
		    "/bin/sh");
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		char chunk[4096];
		struct pollfd pf = { .fd = p[0], .events = POLLIN };
		clock_gettime(CLOCK_MONOTONIC, &t1);
		long left = PROCESS_TIMEOUT_MS -
		    ((t1.tv_sec - t0.tv_sec) * 1000 +
		    (t1.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0) {
			timed_out = 1;
			break;
		}
		int pr = poll(&pf, 1, (int)left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0) {
			timed_out = pr == 0;
			break;
		}
		ssize_t n = read(p[0], chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (kin_buf_add(out, chunk, (size_t)n, NULL) < 0) {
			OPENSSL_cleanse(chunk, sizeof chunk);
			kin_seterr(err, "credential_process: output over %d bytes",
			    PROCESS_MAX_OUT);
			kill(pid, SIGTERM);
			close(p[0]);
			waitpid(pid, &status, 0);
			return -1;
		}
		OPENSSL_cleanse(chunk, sizeof chunk);
	}
	close(p[0]);
	if (timed_out)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (timed_out)
		kin_seterr(err, "credential_process: no answer within %d s",
		    PROCESS_TIMEOUT_MS / 1000);
	else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		kin_seterr(err, "credential_process: exited with status %d",
		    WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		kin_seterr(err, "credential_process: killed by signal %d",
		    WTERMSIG(status));
	else
		rc = 0;
	return rc;
}

static int
creds_process(const char *cmd, struct kin_creds *c, char *err)
{
	struct kin_buf out;
	int rc;

	kin_buf_init(&out, PROCESS_MAX_OUT);
	rc = run_process(cmd, &out, err);
	if (rc == 0)
		rc = kin_creds_from_json(out.p ? out.p : "", out.len, 1,
		    "credential_process", c, err);
	if (out.p != NULL)
		OPENSSL_cleanse(out.p, out.len);
	kin_buf_release(&out);
	if (rc < 0)
		return -1;
	c->source = "process";
	return 1;
}

/* ---- shared files ---- */

/* Static keys of one file's section: 1 found, 0 none, -1 half a pair. */
static int
static_keys(const char *path, const char *sect, const char *profile,
    struct kin_creds *c, char *err)
{
	char *id = kin_ini_get(path, sect, "aws_access_key_id");
	char *sk = kin_ini_get(path, sect, "aws_secret_access_key");

	if (id == NULL && sk == NULL)
		return 0;
	if (id == NULL || sk == NULL || id[0] == '\0' || sk[0] == '\0') {
		free(id);
		if (sk != NULL)
			OPENSSL_cleanse(sk, strlen(sk));
		free(sk);
		return kin_seterr(err, "profile '%s' in %s: needs both "
		    "aws_access_key_id and aws_secret_access_key", profile, path);
	}
	c->akid = id;
	c->secret = sk;
	c->token = kin_ini_get(path, sect, "aws_session_token");
	c->source = "profile";
	return 1;
}

/* The SDKs' order within a profile: static keys in the credentials file,
 * then credential_process, then static keys in the config file. */
int
kin_creds_profile(const struct kin_aws *a, struct kin_creds *c, char *err)
{
	char cpath[4096], kpath[4096], csect[512];
	const char *p = a->profile;
	int rc, in_creds, in_cfg;
	char *cmd;

	kin_credentials_path(kpath, sizeof kpath);
	kin_config_path(cpath, sizeof cpath);
	snprintf(csect, sizeof csect, "profile %s", p);
	in_creds = kin_ini_has(kpath, p);
	in_cfg = kin_ini_has(cpath, csect) ||
	    (strcmp(p, "default") == 0 && kin_ini_has(cpath, "default"));
	if (!in_creds && !in_cfg) {
		if (strcmp(p, "default") == 0)
			return 0;
		return kin_seterr(err, "profile '%s' not found in %s or %s", p,
		    kpath, cpath);
	}
	if (in_creds && (rc = static_keys(kpath, p, p, c, err)) != 0)
		return rc;
	cmd = kin_config_get(p, "credential_process");
	if (cmd == NULL && in_creds)
		cmd = kin_ini_get(kpath, p, "credential_process");
	if (cmd != NULL && cmd[0] != '\0') {
		rc = creds_process(cmd, c, err);
		free(cmd);
		return rc;
	}
	free(cmd);
	if (!in_cfg)
		return 0;
	rc = static_keys(cpath, csect, p, c, err);
	if (rc == 0 && strcmp(p, "default") == 0)
		rc = static_keys(cpath, "default", p, c, err);
	return rc;
}
