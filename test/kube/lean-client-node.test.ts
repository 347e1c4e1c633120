// The CLI's cluster verbs load client-node's KubeConfig without its generated APIs and models
// (src/kube/lean-client-node.ts). Module hooks and loaded modules are per process, so each case
// runs in a fresh Node: the CLI's own order (hook, then the kubeconfig), a list of pages through
// raw-list, then the package's index for a generated client.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

const SRC = new URL('../../src/kube/', import.meta.url).href;
const dir = mkdtempSync(join(tmpdir(), 'ga-lean-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `body` (an async module's text, after the hook and a recorder of client-node's loaded files) in a fresh Node; its JSON output. */
function fresh(body: string, lean: boolean): Record<string, unknown> {
  const script = `
    import { registerHooks } from 'node:module';
    ${lean ? `(await import(${JSON.stringify(`${SRC}lean-client-node.ts`)})).leanClientNode();` : ''}
    const loaded = [];
    registerHooks({ load(url, context, next) { if (url.includes('/@kubernetes/client-node/dist/gen/')) loaded.push(url); return next(url, context); } });
    const generatedLoaded = () => ({ models: loaded.filter((u) => u.includes('/gen/models/')).length, apis: loaded.filter((u) => u.includes('/gen/types/')).length });
    const out = {};
    ${body}
    console.log(JSON.stringify(out));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', cwd: new URL('../../', import.meta.url).pathname });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

describe('leanClientNode', () => {
  const kubeconfig = join(dir, 'config.yaml');
  writeFileSync(kubeconfig, [
    'apiVersion: v1', 'kind: Config', 'current-context: x',
    'clusters: [{name: c, cluster: {server: "http://127.0.0.1:1/base", insecure-skip-tls-verify: true}}]',
    'users: [{name: u, user: {token: sekret}}]', 'contexts: [{name: x, context: {cluster: c, user: u}}]', '',
  ].join('\n'));
  /** What src/main.ts starts in serve mode: the kubeconfig read, the policy ConfigMap, namespace and node watches created. */
  const serveMode = `
      const kube = await import(${JSON.stringify(`${SRC}index.ts`)});
      const { loadKubeConfig } = await import(${JSON.stringify(`${SRC}kubeconfig.ts`)});
      const { pino } = await import('pino');
      const kc = await loadKubeConfig(${JSON.stringify(kubeconfig)}, 'test');
      const logger = pino({ level: 'silent' });
      kube.createConfigMapPolicySource({ kubeConfig: kc, logger });
      kube.createNamespaceWatch({ kubeConfig: kc, logger });
      kube.createNodeWatch({ kubeConfig: kc, logger });`;
  const readKubeconfig = `
    const { loadKubeConfig } = await import(${JSON.stringify(`${SRC}kubeconfig.ts`)});
    const { listRaw } = await import(${JSON.stringify(`${SRC}raw-list.ts`)});
    const kc = await loadKubeConfig(${JSON.stringify(kubeconfig)}, 'test');
    const { ServerConfiguration } = await import('@kubernetes/client-node/dist/gen/servers.js');
    const context = new ServerConfiguration(kc.getCurrentCluster().server, {}).makeRequestContext('/api/v1/nodes', 'GET');
    await kc.applySecurityAuthentication(context);
    out.url = context.getUrl();
    out.authorization = context.getHeaders().Authorization;
    out.refused = await listRaw(kc, '/api/v1/nodes', { limit: 1 }, (i) => i).then(() => 'listed', (e) => e.message + ': ' + (e.cause?.code ?? e.cause?.message));
    const { ClusterReader } = await import(${JSON.stringify(`${SRC}cluster-read.ts`)});
    out.policy = await new ClusterReader(kc).policyText().then(() => 'read', (e) => e.message);
    out.before = generatedLoaded();
    const index = await import('@kubernetes/client-node');
    out.sameKubeConfig = index.KubeConfig === kc.constructor;
    out.client = typeof kc.makeApiClient(index.CoreV1Api).listNode;
    out.after = generatedLoaded();`;

  it('when the CLI reads a kubeconfig, lists and asks for the policy ConfigMap, then no generated API or model is loaded, the credentials are put on the request, and the package\'s index still gives the generated clients on the same KubeConfig', () => {
    const out = fresh(readKubeconfig, true);
    assert.equal(out.url, 'http://127.0.0.1:1/base/api/v1/nodes');
    assert.equal(out.authorization, 'Bearer sekret');
    assert.match(String(out.refused), /^fetch failed: /);
    assert.equal(out.policy, 'fetch failed', 'the policy ConfigMap asked for, as plain JSON');
    assert.deepEqual(out.before, { models: 0, apis: 0 });
    assert.equal(out.sameKubeConfig, true);
    assert.equal(out.client, 'function');
    const after = out.after as { models: number; apis: number };
    assert.ok(after.models > 100 && after.apis > 0, `the index loads the generated code: ${JSON.stringify(after)}`);
  });

  it('when the hook is not registered, then the same reads load the generated code with the KubeConfig, as client-node does alone', () => {
    const out = fresh(readKubeconfig, false);
    assert.equal(out.authorization, 'Bearer sekret');
    assert.match(String(out.refused), /^fetch failed: /);
    assert.ok((out.before as { models: number }).models > 100, JSON.stringify(out.before));
  });
  it('when the webhook watches the policy ConfigMap, namespaces and nodes and records Events (serve mode, the hook registered first), then no generated API or model is loaded', () => {
    const out = fresh(`
      ${serveMode}
      const client = kube.kubeListWatchClient({ kubeConfig: kc, path: '/api/v1/namespaces/gpu-admission/configmaps', fieldSelector: 'metadata.name=x' });
      out.list = await client.list(new AbortController().signal).then(() => 'listed', (e) => e.message);
      const regarding = { apiVersion: 'v1', kind: 'ConfigMap', name: 'x', namespace: 'gpu-admission' };
      out.event = await kube.kubeEventSink(kc).create({ regarding, type: 'Warning', reason: 'R', action: 'A', note: 'n', eventTime: new Date(), reportingController: 'c', reportingInstance: 'i' })
        .then(() => 'created', (e) => e.message);
      out.loaded = generatedLoaded();`, true);
    assert.match(String(out.list), /ECONNREFUSED/, 'the list asked for');
    assert.match(String(out.event), /ECONNREFUSED/, 'the Event sent');
    assert.deepEqual(out.loaded, { models: 0, apis: 0 });
  });

  it('when the webhook runs in serve mode (leanServeMode, as src/main.ts registers it), then neither client-node\'s Watch nor undici, the proxies or the legacy auth providers\' libraries are loaded; the requests are sent; a stand-in reached anyway throws', () => {
    const out = fresh(`
      const { leanServeMode } = await import(${JSON.stringify(`${SRC}lean-client-node.ts`)});
      leanServeMode();
      const files = [];
      registerHooks({ load(url, context, next) { files.push(url); return next(url, context); } });
      ${serveMode}
      const client = kube.kubeListWatchClient({ kubeConfig: kc, path: '/api/v1/nodes' });
      out.list = await client.list(new AbortController().signal).then(() => 'listed', (e) => e.message);
      out.watch = await new Promise((resolve) => client.watch({ resourceVersion: '1', timeoutSeconds: 1 }, () => {}, (e) => resolve(e?.code)));
      const regarding = { apiVersion: 'v1', kind: 'ConfigMap', name: 'x', namespace: 'gpu-admission' };
      out.event = await kube.kubeEventSink(kc).create({ regarding, type: 'Warning', reason: 'R', action: 'A', note: 'n', eventTime: new Date(), reportingController: 'c', reportingInstance: 'i' })
        .then(() => 'created', (e) => e.message);
      const packages = (name) => files.filter((u) => u.includes('/node_modules/' + name + '/')).length;
      out.loaded = { ...generatedLoaded(), watch: files.filter((u) => u.endsWith('/client-node/dist/watch.js')).length,
        undici: packages('undici'), openid: packages('openid-client'), jose: packages('jose'), socks: packages('socks'), hpagent: packages('hpagent'), jsonpath: packages('jsonpath-plus'),
        config: files.filter((u) => u.endsWith('/client-node/dist/config.js')).length,
        nodeUndici: process.moduleLoadList.filter((m) => m.includes('internal/deps/undici') || m.includes('http2')).length };
      kc.clusters[0].caData = Buffer.from('not used').toString('base64');
      out.standIn = await kc.applySecurityAuthentication({ setHeaderParam() {}, setDispatcher() {} }).then(() => 'applied', (e) => e.code + ': ' + e.message);`, false);
    assert.match(String(out.list), /ECONNREFUSED/, 'the list asked for');
    assert.equal(out.watch, 'ECONNREFUSED', 'the watch asked for');
    assert.match(String(out.event), /ECONNREFUSED/, 'the Event sent');
    assert.deepEqual(out.loaded, { models: 0, apis: 0, watch: 0, undici: 0, openid: 0, jose: 0, socks: 0, hpagent: 0, jsonpath: 0, config: 1, nodeUndici: 0 },
      'nor Node\'s own undici and http2, which an ESM namespace of node:http loads');
    assert.match(String(out.standIn), /^GA_ERR_SERVE_MODE_STAND_IN: undici's Agent is not loaded in the webhook's serve mode/);
  });
});
