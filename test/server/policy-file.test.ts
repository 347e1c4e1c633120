import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { FilePolicySource, QUIET_MS } from '../../src/server/policy-file.ts';

const POOLS = `apiVersion: gpu-admission.io/v1alpha1
kind: GpuAdmissionPolicy
pools:
  - {name: a100, backend: nvidia-exclusive, nodeSelector: {pool: a100}, gpu: {model: A100, memory: 80Gi, perNode: 8}}
  - {name: h100, backend: nvidia-exclusive, nodeSelector: {pool: h100}, gpu: {model: H100, memory: 80Gi, perNode: 8}}
`;
const RULES = `namespaces:
  - {names: [team-a], allowedPools: [a100], maxGpusPerPod: 8}
`;

describe('the policy file source', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ga-policy-file-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  /** A source following `name`, first written whole (pools and rules); stopped after `use`. */
  const following = async (name: string, use: (file: string, source: FilePolicySource) => Promise<void> | void): Promise<void> => {
    const file = join(dir, name);
    writeFileSync(file, `${POOLS}${RULES}`);
    const source = new FilePolicySource(file, { logger: pino({ level: 'silent' }), pollIntervalMs: 0 });
    await source.start();
    try {
      await use(file, source);
    } finally {
      await source.stop();
    }
  };
  const perNode = (n: number): string => `${POOLS.replace('perNode: 8}}\n  - {name: h100', `perNode: ${n}}}\n  - {name: h100`)}${RULES}`;
  const quiet = (file: string): void => {
    const past = new Date(Date.now() - 2 * QUIET_MS);
    utimesSync(file, past, past);
  };

  it('when a file written in place pauses after its pools, then the prefix (a valid policy without namespace rules) is not taken; the whole file is, once still', () =>
    following('in-place.yaml', (file, source) => {
      const whole = source.current();
      assert.equal(whole?.namespaces.length, 1);
      writeFileSync(file, perNode(4).replace(RULES, ''));
      assert.equal(source.reload(), undefined, 'just written in place: not read as the policy yet');
      assert.equal(source.current(), whole, 'the policy in force keeps its namespace rules');
      writeFileSync(file, perNode(4));
      quiet(file);
      assert.equal(source.reload()?.type, 'loaded');
      assert.equal(source.current()?.namespaces.length, 1, 'the whole file, rules included');
      assert.equal(source.current()?.pools[0]?.gpu.perNode, 4);
    }));

  it('when a file is renamed over the policy, then it is taken at once: a new file is whole', () =>
    following('renamed.yaml', (file, source) => {
      writeFileSync(`${file}.new`, perNode(2));
      renameSync(`${file}.new`, file);
      assert.equal(source.reload()?.type, 'loaded');
      assert.equal(source.current()?.pools[0]?.gpu.perNode, 2);
    }));

  it('when an in-place write is left as it is, then the source reads it again by itself once the file is still', () =>
    following('retry.yaml', async (file, source) => {
      const loaded = new Promise((resolve) => source.on((e) => resolve(e.type)));
      writeFileSync(file, perNode(3));
      assert.equal(source.reload(), undefined);
      assert.equal(await loaded, 'loaded');
      assert.equal(source.current()?.pools[0]?.gpu.perNode, 3);
    }));
});
