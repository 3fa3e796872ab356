#!/usr/bin/env node
// lint.js: cfn-lint (the npm package pinned in infra/local) on every
// template, once per parameter set that switches a condition, so both sides
// of each !If are checked. Its resource specification is old (2.29.0), so a
// few newer properties are reported as errors; those are accepted here, each
// one by template, path and message, with the reason. An accepted error that
// no longer occurs fails the run too, so this list only ever shrinks.
//
// usage: node infra/cloudformation/lint.js [TEMPLATE.yaml...]
'use strict';
const fs = require('fs');
const path = require('path');

const here = __dirname;
const root = path.resolve(here, '..', '..');
const api = require(path.join(root, 'infra/local/node_modules/cfn-lint/lib/api.js'));

// Parameter sets per template (besides the defaults).
const VARIANTS = {
  'streams.yaml': [{ StreamMode: 'ON_DEMAND' }, { EnableArchive: 'true' }],
  'pipeline-hosts.yaml': [{ RunProducer: 'true' }],
  'dashboard.yaml': [{ AlarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:kin-alarms' }],
};

// Errors cfn-lint 1.9.7 reports that CloudFormation accepts today.
const ACCEPTED = [
  ...['InputStream', 'OutputStream'].map((s) => ({
    file: 'streams.yaml',
    resource: `Resources > ${s} > Properties > StreamModeDetails`,
    message: 'StreamModeDetails is not a valid property of AWS::Kinesis::Stream',
    why: 'on-demand streams (StreamModeDetails, Nov 2021) are newer than the linter\'s specification',
  })),
  ...['InputStream', 'OutputStream'].map((s) => ({
    file: 'streams.yaml',
    when: { StreamMode: 'ON_DEMAND' },
    resource: `Resources > ${s} > Properties`,
    message: 'Required property ShardCount missing for type AWS::Kinesis::Stream',
    why: 'an on-demand stream takes no ShardCount; the old specification still marks it required',
  })),
  {
    file: 'pipeline-hosts.yaml',
    resource: 'Resources > LaunchTemplate > Properties > LaunchTemplateData > MetadataOptions',
    message: 'MetadataOptions is not a valid property of AWS::EC2::LaunchTemplate.LaunchTemplateData',
    why: 'IMDSv2-only (HttpTokens: required) is newer than the linter\'s specification',
  },
  {
    file: 'dashboard.yaml',
    resource: 'Resources > DeadLetterAlarm > Properties > Metrics > 0 > Period',
    message: 'Period is not a valid property of AWS::CloudWatch::Alarm.MetricDataQuery',
    why: 'a Metrics Insights alarm query needs its Period; the old specification has none',
  },
];

function sameParams(a, b) {
  return JSON.stringify(a || {}) === JSON.stringify(b || {});
}

const files = process.argv.length > 2
  ? process.argv.slice(2)
  : fs.readdirSync(here).filter((f) => f.endsWith('.yaml')).sort().map((f) => path.join(here, f));

let failures = 0;
const used = new Set();
for (const file of files) {
  const base = path.basename(file);
  for (const params of [{}, ...(VARIANTS[base] || [])]) {
    const label = Object.keys(params).length
      ? `${base} (${Object.entries(params).map(([k, v]) => `${k}=${v}`).join(' ')})` : base;
    let result;
    try {
      result = api.validateFile(file, { parameters: params });
    } catch (e) {
      console.error(`lint: ${label}: cannot validate: ${e.message}`);
      failures++;
      continue;
    }
    let accepted = 0;
    for (const err of result.errors.crit) {
      const i = ACCEPTED.findIndex((a) => a.file === base && a.resource === err.resource &&
        a.message === err.message && (!a.when || sameParams(a.when, params)));
      if (i >= 0) {
        used.add(i);
        accepted++;
        continue;
      }
      console.error(`lint: ${label}: ${err.resource}: ${err.message}`);
      failures++;
    }
    for (const w of result.errors.warn) {
      console.error(`lint: ${label}: warning: ${w.resource}: ${w.message}`);
    }
    console.log(`${label}: ${result.errors.crit.length - accepted} errors, ${accepted} accepted, ` +
      `${result.errors.warn.length} warnings`);
  }
}
// Only when every template ran can an unused exception be told apart.
if (process.argv.length <= 2) {
  ACCEPTED.forEach((a, i) => {
    if (!used.has(i)) {
      console.error(`lint: accepted error no longer reported, remove it: ${a.file}: ${a.resource}: ${a.message}`);
      failures++;
    }
  });
}
process.exit(failures ? 1 : 0);
