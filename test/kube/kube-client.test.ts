// The webhook's own requests (src/kube/kube-client.ts): its watches' lists and its Events, sent as
// plain JSON through client-node's KubeConfig, against a local API server that records them.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { ApiException, KubeConfig } from '@kubernetes/client-node';
import { kubeEventSink, kubeListWatchClient, microTime } from '../../src/kube/kube-client.ts';
import type { KubeObject } from '../../src/kube/list-watch.ts';
import { serveKubeConfig } from './fakes.ts';

interface Seen {
  readonly method: string;
  readonly url: URL;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

describe('the webhook\'s kube client', () => {
  const seen: Seen[] = [];
  let answer: (req: Seen) => { status: number; body: string } = () => ({ status: 200, body: '{}' });
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const one: Seen = { method: req.method ?? '', url: new URL(req.url ?? '/', 'http://x'), headers: req.headers, body: Buffer.concat(chunks).toString() };
      seen.push(one);
      const { status, body } = answer(one);
      if (status === 0) return; // never answered
      res.writeHead(status, { 'Content-Type': 'application/json' }).end(body);
    });
  });
  const kubeConfig = new KubeConfig();
  before(() => serveKubeConfig(server, kubeConfig));
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it('when a watch lists, then the collection is asked for once with its selectors and the token, and its items come back as the API server\'s JSON (timestamps as strings) with the List\'s resourceVersion', async () => {
    seen.length = 0;
    const item = { metadata: { name: 'gpu-admission-policy', resourceVersion: '41', creationTimestamp: '2026-12-03T15:00:00Z' }, data: { 'policy.yaml': 'pools: []' } };
    answer = () => ({ status: 200, body: JSON.stringify({ kind: 'ConfigMapList', apiVersion: 'v1', metadata: { resourceVersion: '42' }, items: [item] }) });
    const client = kubeListWatchClient<KubeObject>({
      kubeConfig, path: '/api/v1/namespaces/gpu-admission/configmaps', fieldSelector: 'metadata.name=gpu-admission-policy',
    });
    const list = await client.list(new AbortController().signal);
    assert.deepEqual(list, { items: [item], resourceVersion: '42' });
    assert.equal(seen.length, 1);
    assert.equal(seen[0]?.method, 'GET');
    assert.equal(seen[0]?.url.pathname, '/api/v1/namespaces/gpu-admission/configmaps');
    assert.deepEqual([...seen[0]!.url.searchParams], [['fieldSelector', 'metadata.name=gpu-admission-policy']]);
    assert.equal(seen[0]?.headers.authorization, 'Bearer sekret');

    seen.length = 0;
    answer = () => ({ status: 200, body: JSON.stringify({ kind: 'NamespaceList', metadata: { resourceVersion: '7' }, items: [] }) });
    const namespaces = kubeListWatchClient<KubeObject>({ kubeConfig, path: '/api/v1/namespaces', labelSelector: 'a in (b)' });
    assert.deepEqual(await namespaces.list(new AbortController().signal), { items: [], resourceVersion: '7' });
    assert.deepEqual([...seen[0]!.url.searchParams], [['labelSelector', 'a in (b)']]);
  });

  it('when the API server refuses a list, then it fails with an ApiException carrying the code and body, as the generated client did', async () => {
    answer = () => ({ status: 403, body: JSON.stringify({ kind: 'Status', code: 403, message: 'configmaps is forbidden' }) });
    const client = kubeListWatchClient<KubeObject>({ kubeConfig, path: '/api/v1/nodes' });
    await assert.rejects(client.list(new AbortController().signal),
      (e: unknown) => e instanceof ApiException && e.code === 403 && /configmaps is forbidden/.test(String(e.body)));
  });

  it('when a list is aborted while the API server does not answer, then it fails at once', async () => {
    seen.length = 0;
    answer = () => ({ status: 0, body: '' });
    const client = kubeListWatchClient<KubeObject>({ kubeConfig, path: '/api/v1/nodes' });
    const abort = new AbortController();
    const listed = client.list(abort.signal);
    while (seen.length === 0) await new Promise((resolve) => setImmediate(resolve));
    abort.abort();
    await assert.rejects(listed, (e: unknown) => (e as Error).name === 'AbortError');
  });

  it('when an Event is created, then events.k8s.io/v1 gets the Event as JSON with a microsecond eventTime, and its name comes back', async () => {
    seen.length = 0;
    answer = (req) => ({ status: 201, body: JSON.stringify({ ...JSON.parse(req.body) as object, metadata: { name: 'created-name' } }) });
    const at = new Date('2026-12-03T15:04:05.123Z');
    const regarding = { apiVersion: 'v1', kind: 'ConfigMap', name: 'gpu-admission-policy', namespace: 'gpu-admission', uid: 'u-1' };
    const name = await kubeEventSink(kubeConfig).create({
      regarding, type: 'Warning', reason: 'PolicyInvalid', action: 'Reload', note: 'bad', eventTime: at,
      reportingController: 'gpu-admission', reportingInstance: 'pod-1',
    });
    assert.equal(name, 'created-name');
    const req = seen[0]!;
    assert.equal(req.method, 'POST');
    assert.equal(req.url.pathname, '/apis/events.k8s.io/v1/namespaces/gpu-admission/events');
    assert.equal(req.headers['content-type'], 'application/json');
    assert.equal(req.headers.authorization, 'Bearer sekret');
    const body = JSON.parse(req.body) as { metadata: { name: string; namespace: string } } & Record<string, unknown>;
    assert.match(body.metadata.name, /^gpu-admission-policy\.[0-9a-f]+$/);
    assert.deepEqual({ ...body, metadata: { namespace: body.metadata.namespace } }, {
      apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: { namespace: 'gpu-admission' }, regarding,
      type: 'Warning', reason: 'PolicyInvalid', action: 'Reload', note: 'bad', eventTime: '2026-12-03T15:04:05.123000Z',
      reportingController: 'gpu-admission', reportingInstance: 'pod-1',
    });
  });

  it('when an Event\'s series is patched, then a merge patch of count and a microsecond lastObservedTime goes to the Event', async () => {
    seen.length = 0;
    answer = () => ({ status: 200, body: '{}' });
    await kubeEventSink(kubeConfig).patchSeries('gpu-admission', 'gpu-admission-policy.1a', { count: 3, lastObservedTime: new Date('2026-12-03T15:04:06.5Z') });
    const req = seen[0]!;
    assert.equal(req.method, 'PATCH');
    assert.equal(req.url.pathname, '/apis/events.k8s.io/v1/namespaces/gpu-admission/events/gpu-admission-policy.1a');
    assert.equal(req.headers['content-type'], 'application/merge-patch+json');
    assert.deepEqual(JSON.parse(req.body), { series: { count: 3, lastObservedTime: '2026-12-03T15:04:06.500000Z' } });
  });

  it('when an Event is refused, then the ApiException carries the code', async () => {
    answer = () => ({ status: 403, body: JSON.stringify({ kind: 'Status', code: 403, message: 'events is forbidden' }) });
    await assert.rejects(kubeEventSink(kubeConfig).patchSeries('ns', 'n', { count: 2, lastObservedTime: new Date(0) }),
      (e: unknown) => e instanceof ApiException && e.code === 403);
  });

  it('writes a MicroTime as client-node\'s V1MicroTime does', async () => {
    const { V1MicroTime } = await import('@kubernetes/client-node');
    for (const ms of [0, 1_764_774_245_123, 1_764_774_245_000]) assert.equal(microTime(new Date(ms)), JSON.parse(JSON.stringify(new V1MicroTime(ms))));
  });
});
