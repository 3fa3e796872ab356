#!/usr/bin/env node
// check.js: what cfn-lint cannot see. Each template is parsed with the YAML
// parser cfn-lint itself uses (js-yaml with its CloudFormation tags) and:
//   - no IAM, key or bucket policy statement allows "Resource": "*" unless
//     it is in STAR below with the reason; none allows Action "*" or "svc:*",
//     NotAction or NotResource, or a "*" principal;
//   - every S3 bucket blocks public access, is encrypted with a KMS key and
//     has a policy that refuses plain HTTP;
//   - every Kinesis stream and Firehose S3 destination is KMS-encrypted, and
//     every KMS key rotates;
//   - every CodeBuild project and pipeline artifact store names a KMS key;
//   - launch templates: IMDSv2 only, no SSH key, encrypted volumes; security
//     groups admit nothing; no IAM users; log groups expire;
//   - dashboards are valid JSON once !Sub is applied and chart the metrics
//     the design names; the alarms watch iterator age and dead letters.
// With --extract DIR, also writes every shell script the templates carry
// (cfn-init files starting with "#!", user data) to DIR, !Sub applied with
// placeholder values, for shellcheck.
//
// usage: node infra/cloudformation/check.js [--extract DIR] [TEMPLATE.yaml...]
'use strict';
const fs = require('fs');
const path = require('path');

const here = __dirname;
const root = path.resolve(here, '..', '..');
const mods = path.join(root, 'infra/local/node_modules');
const yaml = require(path.join(mods, 'js-yaml'));
const schema = require(path.join(mods, 'cfn-lint/lib/yamlSchema')).default();

// Statements allowed to name every resource, and why.
const STAR = [
  { file: 'streams.yaml', resource: 'StreamKey', sid: 'KeyAdministration',
    why: 'a key policy\'s Resource is always "*": the key it is attached to' },
  { file: 'streams.yaml', resource: 'StreamKey', sid: 'UseThroughKinesisS3Firehose',
    why: 'key policy: "*" is this key' },
  { file: 'cicd.yaml', resource: 'ArtifactKey', sid: 'KeyAdministration',
    why: 'key policy: "*" is this key' },
  { file: 'cicd.yaml', resource: 'ArtifactKey', sid: 'PipelineAndBuildsUseKey',
    why: 'key policy: "*" is this key' },
  { file: 'cicd.yaml', resource: 'ArtifactKey', sid: 'WorkloadAccountDecryptsReleasesThroughS3',
    why: 'key policy: "*" is this key' },
  { file: 'pipeline-hosts.yaml', resource: 'InstanceRole', sid: 'SsmAgent',
    why: 'ssm:UpdateInstanceInformation, ListInstanceAssociations, ssmmessages:* and ec2messages:* (the SSM agent\'s channel for Session Manager and Run Command) have no resource-level permissions' },
  { file: 'pipeline-hosts.yaml', resource: 'DeployRole', sid: 'WatchCommand',
    why: 'ssm:ListCommands and ssm:ListCommandInvocations have no resource-level permissions' },
];

const DASHBOARD_METRICS = ['IncomingRecords', 'IncomingBytes', 'GetRecords.IteratorAgeMilliseconds',
  'WriteProvisionedThroughputExceeded', 'ReadProvisionedThroughputExceeded', 'records_in',
  'records_out', 'dead_letters', 'late_records', 'partly_late_records', 'windows_fired',
  'millis_behind_latest'];

let extractDir = null;
const args = process.argv.slice(2);
if (args[0] === '--extract') {
  extractDir = args[1];
  args.splice(0, 2);
}
const files = args.length ? args
  : fs.readdirSync(here).filter((f) => f.endsWith('.yaml')).sort().map((f) => path.join(here, f));

let problems = 0;
const usedStar = new Set();
function problem(file, where, what) {
  console.error(`check: ${path.basename(file)}: ${where}: ${what}`);
  problems++;
}
const list = (v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

// render(v, params): a value as text, intrinsics replaced by placeholders.
function render(v, params) {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v && typeof v === 'object') {
    if ('Fn::Sub' in v) return sub(v['Fn::Sub'], params);
    if ('Ref' in v) return params[v.Ref] !== undefined ? String(params[v.Ref]) : `REF-${v.Ref}`;
    if ('Fn::GetAtt' in v) return `ATT-${list(v['Fn::GetAtt']).join('.')}`;
    if ('Fn::If' in v) return render(v['Fn::If'][1], params);
    if ('Fn::ImportValue' in v) return `IMPORT-${render(v['Fn::ImportValue'], params)}`;
    if ('Fn::Base64' in v) return render(v['Fn::Base64'], params);
    if ('Fn::Join' in v) return v['Fn::Join'][1].map((x) => render(x, params)).join(v['Fn::Join'][0]);
  }
  return JSON.stringify(v);
}
function sub(arg, params) {
  const [text, vars] = Array.isArray(arg) ? arg : [arg, {}];
  return text.replace(/\$\{(!?)([^}]*)\}/g, (m, bang, name) => {
    if (bang) return '${' + name + '}';
    if (name in vars) return render(vars[name], params);
    if (name.startsWith('AWS::')) return { 'AWS::Region': 'eu-west-1', 'AWS::AccountId': '123456789012',
      'AWS::Partition': 'aws', 'AWS::URLSuffix': 'amazonaws.com' }[name] || name.replace('AWS::', 'aws-');
    if (params[name] !== undefined) return String(params[name]);
    return name.includes('.') ? `ATT-${name}` : `REF-${name}`;
  });
}

function checkStatement(file, rid, where, st) {
  const effect = st.Effect;
  if (effect !== 'Allow') return;
  if ('NotAction' in st || 'NotResource' in st) problem(file, where, 'Allow with NotAction/NotResource');
  for (const a of list(st.Action)) {
    if (typeof a === 'string' && (a === '*' || /:\*$/.test(a))) problem(file, where, `Action "${a}" allows a whole service`);
  }
  const p = st.Principal;
  if (p === '*' || (p && list(p.AWS).includes('*'))) problem(file, where, 'Allow to Principal "*"');
  if (list(st.Resource).includes('*')) {
    const i = STAR.findIndex((e) => e.file === path.basename(file) && e.resource === rid && e.sid === st.Sid);
    if (i < 0) problem(file, where, `"Resource": "*" (Sid ${st.Sid || 'none'}) is not in the allow-list`);
    else usedStar.add(i);
  }
}

function checkPolicy(file, rid, where, doc) {
  if (!doc || !doc.Statement) return problem(file, where, 'policy has no Statement');
  list(doc.Statement).forEach((st, n) => checkStatement(file, rid, `${where} Statement ${st.Sid || n}`, st));
}

function checkTemplate(file) {
  const t = yaml.safeLoad(fs.readFileSync(file, 'utf8'), { schema, filename: file });
  const res = t.Resources || {};
  const params = {};
  for (const [k, p] of Object.entries(t.Parameters || {})) {
    params[k] = p.Default !== undefined ? p.Default : `PARAM-${k}`;
  }
  const byType = (type) => Object.entries(res).filter(([, r]) => r.Type === type);
  const secureBuckets = new Set();

  for (const [rid, r] of Object.entries(res)) {
    const p = r.Properties || {};
    switch (r.Type) {
    case 'AWS::IAM::Role':
      list(p.Policies).forEach((pol) => checkPolicy(file, rid, `${rid} policy ${pol.PolicyName}`, pol.PolicyDocument));
      if (p.ManagedPolicyArns) problem(file, rid, 'managed policies cannot be checked here: write the statements');
      list(p.AssumeRolePolicyDocument && p.AssumeRolePolicyDocument.Statement).forEach((st) => {
        const pr = st.Principal;
        if (pr === '*' || (pr && list(pr.AWS).includes('*'))) problem(file, rid, 'role trusts Principal "*"');
      });
      break;
    case 'AWS::IAM::Policy':
    case 'AWS::IAM::ManagedPolicy':
      checkPolicy(file, rid, rid, p.PolicyDocument);
      break;
    case 'AWS::IAM::User':
    case 'AWS::IAM::AccessKey':
      problem(file, rid, 'no IAM users or access keys: roles only');
      break;
    case 'AWS::KMS::Key':
      checkPolicy(file, rid, `${rid} key policy`, p.KeyPolicy);
      if (p.EnableKeyRotation !== true) problem(file, rid, 'key rotation is off');
      break;
    case 'AWS::S3::BucketPolicy': {
      checkPolicy(file, rid, rid, p.PolicyDocument);
      const denies = list(p.PolicyDocument && p.PolicyDocument.Statement).some((st) => st.Effect === 'Deny' &&
        st.Condition && st.Condition.Bool && String(st.Condition.Bool['aws:SecureTransport']) === 'false');
      if (denies && p.Bucket && p.Bucket.Ref) secureBuckets.add(p.Bucket.Ref);
      break;
    }
    case 'AWS::S3::Bucket': {
      const pab = p.PublicAccessBlockConfiguration || {};
      for (const k of ['BlockPublicAcls', 'BlockPublicPolicy', 'IgnorePublicAcls', 'RestrictPublicBuckets']) {
        if (pab[k] !== true) problem(file, rid, `public access not blocked: ${k} is not true`);
      }
      const rules = list(p.BucketEncryption && p.BucketEncryption.ServerSideEncryptionConfiguration);
      const d = rules[0] && rules[0].ServerSideEncryptionByDefault;
      if (!d || d.SSEAlgorithm !== 'aws:kms' || !d.KMSMasterKeyID) problem(file, rid, 'not encrypted with a KMS key by default');
      if (p.AccessControl || p.WebsiteConfiguration) problem(file, rid, 'ACLs or website hosting on a bucket');
      break;
    }
    case 'AWS::Kinesis::Stream': {
      const e = p.StreamEncryption || {};
      if (e.EncryptionType !== 'KMS' || !e.KeyId) problem(file, rid, 'stream is not KMS-encrypted');
      break;
    }
    case 'AWS::KinesisFirehose::DeliveryStream': {
      const d = p.ExtendedS3DestinationConfiguration || p.S3DestinationConfiguration;
      if (!d || !d.EncryptionConfiguration || !d.EncryptionConfiguration.KMSEncryptionConfig) {
        problem(file, rid, 'Firehose S3 destination is not KMS-encrypted');
      }
      break;
    }
    case 'AWS::CodeBuild::Project':
      if (!p.EncryptionKey) problem(file, rid, 'CodeBuild project has no EncryptionKey');
      break;
    case 'AWS::CodePipeline::Pipeline':
      list(p.ArtifactStore).forEach((s) => {
        if (!s.EncryptionKey || s.EncryptionKey.Type !== 'KMS') problem(file, rid, 'artifact store has no KMS key');
      });
      break;
    case 'AWS::EC2::LaunchTemplate': {
      const d = p.LaunchTemplateData || {};
      if (!d.MetadataOptions || d.MetadataOptions.HttpTokens !== 'required') problem(file, rid, 'IMDSv1 allowed (HttpTokens not required)');
      if (d.KeyName) problem(file, rid, 'SSH key pair set: use Session Manager');
      list(d.BlockDeviceMappings).forEach((b) => {
        if (b.Ebs && b.Ebs.Encrypted !== true) problem(file, rid, `volume ${b.DeviceName} not encrypted`);
      });
      break;
    }
    case 'AWS::EC2::SecurityGroup':
      if (p.SecurityGroupIngress && list(p.SecurityGroupIngress).length) problem(file, rid, 'inbound rules: hosts take no connections');
      break;
    case 'AWS::EC2::SecurityGroupIngress':
      problem(file, rid, 'inbound rule: hosts take no connections');
      break;
    case 'AWS::Logs::LogGroup':
      if (!p.RetentionInDays) problem(file, rid, 'log group never expires');
      break;
    default:
      break;
    }
  }
  for (const [rid] of byType('AWS::S3::Bucket')) {
    if (!secureBuckets.has(rid)) problem(file, rid, 'no bucket policy denying plain HTTP (aws:SecureTransport)');
  }

  for (const [rid, r] of byType('AWS::CloudWatch::Dashboard')) {
    const body = render(r.Properties.DashboardBody, params);
    let parsed;
    try {
      parsed = JSON.parse(body);
    } catch (e) {
      problem(file, rid, `dashboard body is not JSON: ${e.message}`);
      continue;
    }
    const text = JSON.stringify(parsed);
    for (const m of DASHBOARD_METRICS) {
      if (!text.includes(`"${m}"`) && !text.includes(`\\"${m}\\"`)) problem(file, rid, `dashboard does not chart ${m}`);
    }
  }
  const alarms = byType('AWS::CloudWatch::Alarm').map(([, r]) => JSON.stringify(r.Properties));
  if (byType('AWS::CloudWatch::Dashboard').length) {
    if (!alarms.some((a) => a.includes('GetRecords.IteratorAgeMilliseconds'))) problem(file, 'alarms', 'no iterator age alarm');
    if (!alarms.some((a) => a.includes('dead_letters'))) problem(file, 'alarms', 'no dead letter alarm');
  }

  if (extractDir) {
    const base = path.basename(file, '.yaml');
    for (const [rid, r] of Object.entries(res)) {
      const init = r.Metadata && r.Metadata['AWS::CloudFormation::Init'];
      for (const [cname, cfg] of Object.entries(init || {})) {
        for (const [fpath, f] of Object.entries((cfg && cfg.files) || {})) {
          const text = f.content === undefined ? '' : render(f.content, params);
          if (text.startsWith('#!')) {
            fs.writeFileSync(path.join(extractDir, `${base}.${rid}.${cname}${fpath.replace(/\//g, '_')}`), text);
          }
        }
      }
      const ud = r.Properties && r.Properties.LaunchTemplateData && r.Properties.LaunchTemplateData.UserData;
      if (ud) fs.writeFileSync(path.join(extractDir, `${base}.${rid}.userdata`), render(ud, params));
      if (r.Type === 'AWS::CodeBuild::Project' && r.Properties.Source && /\n/.test(r.Properties.Source.BuildSpec || '')) {
        const spec = yaml.safeLoad(r.Properties.Source.BuildSpec);
        const cmds = Object.values(spec.phases || {}).flatMap((ph) => ph.commands || []);
        fs.writeFileSync(path.join(extractDir, `${base}.${rid}.buildspec`), `#!/bin/bash\n${cmds.join('\n')}\n`);
      }
    }
  }
}

for (const f of files) {
  try {
    checkTemplate(f);
  } catch (e) {
    problem(f, 'parse', e.message);
  }
}
if (!args.length) {
  STAR.forEach((e, i) => {
    if (!usedStar.has(i)) problem(e.file, e.resource, `allow-list entry for Sid ${e.sid} is unused: remove it`);
  });
}
console.log(`check: ${files.length} templates, ${problems} problems`);
process.exit(problems ? 1 : 0);
