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
  const quiet = (file: string): void => {
    const past = new Date(Date.now() - 2 * QUIET_MS);
    utimesSync(file, past, past);
  };

  it('when a file written in place pauses after its pools, then the prefix (a valid policy without namespace rules) is not taken; the whole file is, once still', async () => {
    const file = join(dir, 'in-place.yaml');
    writeFileSync(file, `${POOLS}${RULES}`);
    const source = new FilePolicySource(file, { logger: pino({ level: 'silent' }), pollIntervalMs: 0 });
    await source.start();
    try {
      const whole = source.current();
      assert.equal(whole?.namespaces.length, 1);
      writeFileSync(file, POOLS.replace('perNode: 8}}\n  - {name: h100', 'perNode: 4}}\n  - {name: h100'));
      assert.equal(source.reload(), undefined, 'just written in place: not read as the policy yet');
      assert.equal(source.current(), whole, 'the policy in force keeps its namespace rules');
      writeFileSync(file, `${POOLS.replace('perNode: 8}}\n  - {name: h100', 'perNode: 4}}\n  - {name: h100')}${RULES}`);
      quiet(file);
      const event = source.reload();
      assert.equal(event?.type, 'loaded');
      assert.equal(source.current()?.namespaces.length, 1, 'the whole file, rules included');
      assert.equal(source.current()?.pools[0]?.gpu.perNode, 4);
    } finally {
      await source.stop();
    }
  });

  it('when a file is renamed over the policy, then it is taken at once: a new file is whole', async () => {
    const file = join(dir, 'renamed.yaml');
    writeFileSync(file, `${POOLS}${RULES}`);
    const source = new FilePolicySource(file, { logger: pino({ level: 'silent' }), pollIntervalMs: 0 });
    await source.start();
    try {
      writeFileSync(`${file}.new`, `${POOLS.replace('perNode: 8}}\n  - {name: h100', 'perNode: 2}}\n  - {name: h100')}${RULES}`);
      renameSync(`${file}.new`, file);
      assert.equal(source.reload()?.type, 'loaded');
      assert.equal(source.current()?.pools[0]?.gpu.perNode, 2);
    } finally {
      await source.stop();
    }
  });

  it('when an in-place write is left as it is, then the source reads it again by itself once the file is still', async () => {
    const file = join(dir, 'retry.yaml');
    writeFileSync(file, `${POOLS}${RULES}`);
    const source = new FilePolicySource(file, { logger: pino({ level: 'silent' }), pollIntervalMs: 0 });
    await source.start();
    try {
      const loaded = new Promise((resolve) => source.on((e) => resolve(e.type)));
      writeFileSync(file, `${POOLS.replace('perNode: 8}}\n  - {name: h100', 'perNode: 3}}\n  - {name: h100')}${RULES}`);
      assert.equal(source.reload(), undefined);
      assert.equal(await loaded, 'loaded');
      assert.equal(source.current()?.pools[0]?.gpu.perNode, 3);
    } finally {
      await source.stop();
    }
  });
});
