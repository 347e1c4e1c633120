import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { loadKubeConfig, NoClusterError } from '../../src/kube/kubeconfig.ts';

const dir = mkdtempSync(join(tmpdir(), 'ga-kubeconfig-'));
function file(name: string, current: string | undefined, entries: { context: string; cluster: string; server: string }[]): string {
  const path = join(dir, name);
  writeFileSync(path, stringify({
    apiVersion: 'v1', kind: 'Config', ...(current ? { 'current-context': current } : {}),
    clusters: entries.map((e) => ({ name: e.cluster, cluster: { server: e.server } })),
    users: entries.map((e) => ({ name: `${e.context}-user`, user: { token: 't' } })),
    contexts: entries.map((e) => ({ name: e.context, context: { cluster: e.cluster, user: `${e.context}-user` } })),
  }));
  return path;
}

describe('loadKubeConfig', () => {
  const a = file('a.yaml', 'prod', [{ context: 'prod', cluster: 'prod', server: 'https://prod.example:6443' }]);
  const b = file('b.yaml', 'lab', [{ context: 'lab', cluster: 'lab', server: 'https://lab.example:6443' },
    { context: 'prod', cluster: 'prod', server: 'https://shadowed.example:6443' }]);

  it('when KUBECONFIG lists several files, then they are merged as kubectl merges them: the first current-context and the first of each name win', async () => {
    const kc = await loadKubeConfig(`${a}${delimiter}${b}`, 'test');
    assert.equal(kc.getCurrentContext(), 'prod');
    assert.equal(kc.getCurrentCluster()?.server, 'https://prod.example:6443');
    assert.deepEqual(kc.getContexts().map((c) => c.name).sort(), ['lab', 'prod']);
  });

  it('when --context names a context of a later file, then it is used; an unknown one is refused naming the ones there are', async () => {
    const kc = await loadKubeConfig(`${a}${delimiter}${b}`, 'test', 'lab');
    assert.equal(kc.getCurrentCluster()?.server, 'https://lab.example:6443');
    await assert.rejects(loadKubeConfig(a, 'test', 'nope'), (e: Error) => e instanceof NoClusterError && /no context "nope" \(it has prod\)/.test(e.message));
  });

  it('when the file names no current context, then it says so', async () => {
    const none = file('none.yaml', undefined, [{ context: 'x', cluster: 'x', server: 'https://x.example' }]);
    await assert.rejects(loadKubeConfig(none, 'test'), /has no current cluster \(set current-context\)/);
  });
});
