#!/usr/bin/env bats
# infra/: the CloudFormation templates pass cfn-lint (npm, pinned in
# infra/local) with only the accepted errors its old specification causes,
# and infra/cloudformation/check.js finds no wildcard resource outside its
# allow-list, no public or unencrypted bucket and no unencrypted stream - and
# does find them when they are planted. The buildspec runs exactly
# `make check` and `make dist`, README documents every parameter and deploy
# command, and `make dist` gives the same bytes twice. All offline.

load helpers/common

CFN="$KIN_ROOT/infra/cloudformation"
TEMPLATES=(streams cicd pipeline-hosts dashboard)

@test "cfn-lint passes on every template, each condition both ways" {
	run -0 --separate-stderr node "$CFN/lint.js"
	local t
	for t in "${TEMPLATES[@]}"; do
		assert_line --regexp "^$t\.yaml: 0 errors, [0-9]+ accepted, 0 warnings$"
	done
	assert_line --regexp '^streams\.yaml \(StreamMode=ON_DEMAND\): 0 errors'
	assert_line --regexp '^streams\.yaml \(EnableArchive=true\): 0 errors'
	assert_stderr ''
}

@test "cfn-lint still fails a template with a real mistake" {
	mkdir "$BATS_TEST_TMPDIR/t"
	sed 's/CompressionFormat: GZIP/CompressionFormatt: GZIP/' "$CFN/streams.yaml" >"$BATS_TEST_TMPDIR/t/streams.yaml"
	run -1 --separate-stderr node "$CFN/lint.js" "$BATS_TEST_TMPDIR/t/streams.yaml"
	assert_stderr --partial 'CompressionFormatt is not a valid property'
}

@test "check.js: no wildcard resources outside the allow-list, buckets private and encrypted, streams encrypted" {
	run -0 node "$CFN/check.js"
	assert_output 'check: 4 templates, 0 problems'
}

# plant TEMPLATE SED-EXPR MESSAGE: the edited template fails check.js with MESSAGE.
plant() {
	mkdir -p "$BATS_TEST_TMPDIR/p"
	sed "$2" "$CFN/$1.yaml" >"$BATS_TEST_TMPDIR/p/$1.yaml"
	cmp -s "$CFN/$1.yaml" "$BATS_TEST_TMPDIR/p/$1.yaml" && fail "the edit '$2' changed nothing in $1.yaml"
	run -1 --separate-stderr node "$CFN/check.js" "$BATS_TEST_TMPDIR/p/$1.yaml"
	[[ $stderr == *"$3"* ]] || fail "$1.yaml with '$2': want '$3', got: $stderr"
}

@test "check.js finds each planted fault" {
	plant pipeline-hosts '/Sid: ReadInputStream/,/Resource:/s|Resource: .*|Resource: "*"|' \
		'ReadInputStream) is not in the allow-list'
	plant cicd 's/BlockPublicPolicy: true/BlockPublicPolicy: false/' 'public access not blocked: BlockPublicPolicy'
	plant streams '0,/SSEAlgorithm: aws:kms/s//SSEAlgorithm: AES256/' 'not encrypted with a KMS key'
	plant streams '0,/EncryptionType: KMS/s//EncryptionType: NONE/' 'InputStream: stream is not KMS-encrypted'
	plant streams 's/aws:SecureTransport: "false"/aws:SecureTransport: "true"/' 'no bucket policy denying plain HTTP'
	plant streams 's/EnableKeyRotation: true/EnableKeyRotation: false/' 'key rotation is off'
	plant pipeline-hosts 's/HttpTokens: required/HttpTokens: optional/' 'IMDSv1 allowed'
	plant pipeline-hosts 's/SecurityGroupEgress:/SecurityGroupIngress:/' 'inbound rules'
	plant cicd 's/- s3:GetBucketVersioning/- s3:*/' 'Action "s3:*" allows a whole service'
	plant dashboard 's/"windows_fired/"windows_closed/' 'dashboard does not chart windows_fired'
	plant dashboard 's/"widgets": \[/"widgets": [,/' 'dashboard body is not JSON'
}

@test "the shell scripts inside the templates pass shellcheck" {
	mkdir "$BATS_TEST_TMPDIR/x"
	run -0 node "$CFN/check.js" --extract "$BATS_TEST_TMPDIR/x"
	run -0 ls "$BATS_TEST_TMPDIR/x"
	assert_line 'pipeline-hosts.LaunchTemplate.userdata'
	assert_line 'pipeline-hosts.LaunchTemplate.config_usr_local_sbin_kin-deploy'
	assert_line 'cicd.DeployProject.buildspec'
	run -0 shellcheck -s bash "$BATS_TEST_TMPDIR"/x/*
}

@test "infra/buildspec.yml runs exactly make check, then make dist, and keeps the tarball" {
	run -0 node -e '
		const yaml = require(process.argv[1] + "/infra/local/node_modules/js-yaml");
		const s = yaml.safeLoad(require("fs").readFileSync(process.argv[1] + "/infra/buildspec.yml", "utf8"));
		const cmds = Object.values(s.phases).flatMap((p) => p.commands || []);
		console.log(JSON.stringify(cmds));
		console.log(JSON.stringify(s.artifacts.files));' "$KIN_ROOT"
	assert_line --index 0 '["make check","make dist"]'
	assert_line --index 1 '["build/dist/kin-*.tar.gz","build/dist/kin-*.tar.gz.sha256"]'
}

@test "infra/README.md documents every template parameter and deploys every template" {
	local t p
	for t in "${TEMPLATES[@]}"; do
		grep -q -- "--template-file infra/cloudformation/$t.yaml" "$KIN_ROOT/infra/README.md" ||
			fail "README has no deploy command for $t.yaml"
		while read -r p; do
			grep -q "\`$p\`" "$KIN_ROOT/infra/README.md" || fail "README does not document $t.yaml's parameter $p"
		done < <(node -e '
			const m = process.argv[1] + "/infra/local/node_modules/";
			const yaml = require(m + "js-yaml");
			const schema = require(m + "cfn-lint/lib/yamlSchema").default();
			const t = yaml.safeLoad(require("fs").readFileSync(process.argv[2], "utf8"), { schema });
			console.log(Object.keys(t.Parameters || {}).join("\n"));' "$KIN_ROOT" "$CFN/$t.yaml")
	done
	grep -q '^make check$' "$KIN_ROOT/infra/README.md"
	grep -q '^make dist$' "$KIN_ROOT/infra/README.md"
}

@test "make dist twice gives the same bytes, whatever the file times" {
	local a="$BATS_TEST_TMPDIR/a" b="$BATS_TEST_TMPDIR/b" version commit
	run -0 make --no-print-directory -C "$KIN_ROOT" dist DIST_DIR="$a"
	# newer mtimes on the inputs must not change the tarball
	touch "$KIN_ROOT/infra/systemd/kin.env.example"
	run -0 make --no-print-directory -C "$KIN_ROOT" dist DIST_DIR="$b"
	version=$(sed -n 's/^VERSION *= *//p' "$KIN_ROOT/Makefile")
	commit=$(git -C "$KIN_ROOT" rev-parse --short=7 HEAD)
	run -0 ls "$a"
	assert_output --regexp "^kin-$version-$commit(-dirty)?\.tar\.gz
kin-$version-$commit(-dirty)?\.tar\.gz\.sha256$"
	local name=${lines[0]}
	cmp "$a/$name" "$b/$name"
	cmp "$a/$name.sha256" "$b/$name.sha256"
	(cd "$a" && sha256sum -c --quiet "$name.sha256")
	run -0 tar -tzf "$a/$name"
	local dir=${name%.tar.gz}/
	assert_line "${dir}install.sh"
	assert_line "${dir}bin/kin-read"
	assert_line "${dir}bin/kin-window"
	assert_line "${dir}bin/kin-write"
	assert_line "${dir}bin/trade-gen"
	assert_line "${dir}libexec/kin/kin-service"
	assert_line "${dir}systemd/kin-pipeline@.service"
	assert_line "${dir}systemd/kin-producer@.service"
	assert_line "${dir}systemd/kin-replay@.timer"
	assert_line "${dir}man/man1/trade-gen.1"
	# owners and times are fixed
	run -0 tar --numeric-owner -tvzf "$a/$name"
	refute_line --regexp '^[-dl][rwx-]{9} [1-9]'
	run -0 tar --full-time -tvzf "$a/$name"
	local when
	when=$(date -u -d "@$(git -C "$KIN_ROOT" log -1 --format=%ct HEAD)" '+%Y-%m-%d %H:%M:%S')
	[ "$(TZ=UTC tar --full-time -tvzf "$a/$name" | awk '{print $4" "$5}' | sort -u)" = "$when" ] ||
		fail "file times are not all the commit time $when"
}
