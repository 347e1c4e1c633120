// The revision the webhook reports is `<ConfigMap resourceVersion>-<content hash>`. The operator
// checks a file with `policy check FILE` and must be able to find it in force: Helm renders the
// policy value with toYaml, which sorts every mapping's keys and drops the comments, so the hash
// is of the parsed policy with sorted keys — the file and the rendered ConfigMap have the same.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import type { Cluster, OpenCluster } from '../../src/cli/cluster.ts';
import { run, runAsync } from '../../src/cli/main.ts';
import { parsePolicy } from '../../src/policy/parse.ts';

const root = new URL('../../', import.meta.url);
const FILES = readdirSync(new URL('examples/policies/', root)).filter((f) => f.endsWith('.yaml') && f !== 'bad-policy.yaml')
  .map((f) => `examples/policies/${f}`);
const hashOf = (text: string): string => {
  const out = run(['policy', 'check', '-'], () => text);
  assert.equal(out.exitCode, 0, out.stderr);
  return /content hash ([0-9a-f]{12}),/.exec(out.stdout)?.[1] ?? 'none';
};
/** What the chart's `toYaml .Values.policy` writes into the ConfigMap: keys sorted at every depth, no comments. */
const asHelmRenders = (text: string): string => stringify(parse(text), { sortMapEntries: true });

function fake(configMap: string): OpenCluster {
  const cluster: Cluster = {
    nodes: async () => [], pods: async () => [], namespaceLabels: async () => ({}), policyRefusal: async () => undefined, mutatingWebhooks: async () => [],
    policyText: async () => ({ text: configMap, resourceVersion: '812' }),
    dra: async () => ({ deviceClasses: [], devicesByNode: new Map() }),
  };
  return async () => cluster;
}

describe('the revision an operator can match', () => {
  for (const file of FILES) {
    it(`when ${file} is rendered as Helm renders it, then the webhook's revision ends with the content hash policy check prints`, () => {
      const text = readFileSync(new URL(file, root), 'utf8');
      const rendered = asHelmRenders(text);
      assert.notEqual(rendered, text);
      const live = parsePolicy(rendered, '812');
      assert.ok(live.ok);
      assert.equal(live.policy.revision, `812-${hashOf(text)}`);
    });
  }

  it('when only comments, formatting and key order differ, then the hash is the same; when a value differs, it is not', () => {
    const text = readFileSync(new URL(FILES[0]!, root), 'utf8');
    const reordered = stringify(parse(text), { sortMapEntries: (a, b) => (String(a.key) < String(b.key) ? 1 : -1) });
    assert.equal(hashOf(`# a comment\n${reordered}`), hashOf(text));
    assert.notEqual(hashOf(text.replace('maxGpusPerPod: 8', 'maxGpusPerPod: 4')), hashOf(text));
  });

  it('when policy check --cluster is given the file the ConfigMap was rendered from, then it says the file is in force, with the revision', async () => {
    const text = readFileSync(new URL(FILES[0]!, root), 'utf8');
    const same = await runAsync(['policy', 'check', '-', '--cluster'], fake(asHelmRenders(text)), () => text);
    assert.match(same.stdout, new RegExp(`^-: in force: ConfigMap gpu-admission/gpu-admission-policy holds it \\(revision 812-${hashOf(text)}\\)$`, 'm'));
    const other = readFileSync(new URL(FILES[1]!, root), 'utf8');
    const different = await runAsync(['policy', 'check', '-', '--cluster'], fake(asHelmRenders(other)), () => text);
    assert.match(different.stdout, new RegExp(`^-: not in force: ConfigMap gpu-admission/gpu-admission-policy holds another policy \\(revision 812-${hashOf(other)}\\)$`, 'm'));
  });
});
