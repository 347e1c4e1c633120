import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { ApiException, KubeConfig } from '@kubernetes/client-node';
import { listRaw, readRaw } from '../../src/kube/raw-list.ts';
import { serveKubeConfig } from './fakes.ts';

/** A List page as the API server writes it: metadata (with the continue token) before the items. */
const page = (items: unknown[], token?: string): string =>
  JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '7', ...(token ? { continue: token } : {}) }, items });

describe('listRaw', () => {
  const seen: IncomingMessage[] = [];
  let answer: (url: URL) => { status: number; body: string } = () => ({ status: 200, body: page([]) });
  const server = createServer((req, res) => {
    seen.push(req);
    const { status, body } = answer(new URL(req.url ?? '/', 'http://x'));
    res.writeHead(status, { 'Content-Type': 'application/json' }).end(body);
  });
  const kubeConfig = new KubeConfig();
  // A server URL with a path, as behind Rancher's proxy: the collection's path goes after it.
  before(() => serveKubeConfig(server, kubeConfig, '/k8s/clusters/c-1'));
  after(() => server.close());

  it('when the list has several pages, then every item is read in order, reduced, with the query, the path and the user\'s token on each request', async () => {
    seen.length = 0;
    answer = (url) => {
      const token = url.searchParams.get('continue');
      if (!token) return { status: 200, body: page([{ n: 1 }, { n: 2 }], 'two') };
      if (token === 'two') return { status: 200, body: page([{ n: 3 }], 'three') };
      return { status: 200, body: page([{ n: 4 }]) };
    };
    const items = await listRaw(kubeConfig, '/api/v1/pods', { limit: 2, fieldSelector: 'status.phase!=Failed' }, (i) => (i as { n: number }).n * 10);
    assert.deepEqual(items, [10, 20, 30, 40]);
    assert.equal(seen.length, 3);
    for (const req of seen) {
      const url = new URL(req.url ?? '', 'http://x');
      assert.equal(url.pathname, '/k8s/clusters/c-1/api/v1/pods');
      assert.equal(url.searchParams.get('limit'), '2');
      assert.equal(url.searchParams.get('fieldSelector'), 'status.phase!=Failed');
      assert.equal(req.headers.authorization, 'Bearer sekret');
    }
    assert.deepEqual(seen.map((r) => new URL(r.url ?? '', 'http://x').searchParams.get('continue')), [null, 'two', 'three']);
  });

  it('when a list has many pages, then they share the connections of its first page (at most two: the next page is asked for while one is read)', async () => {
    seen.length = 0;
    answer = (url) => {
      const n = Number(url.searchParams.get('continue') ?? '1');
      return { status: 200, body: page([{ n }], n < 6 ? String(n + 1) : undefined) };
    };
    assert.deepEqual(await listRaw(kubeConfig, '/api/v1/nodes', { limit: 1 }, (i) => (i as { n: number }).n), [1, 2, 3, 4, 5, 6]);
    assert.equal(seen.length, 6);
    assert.ok(new Set(seen.map((r) => r.socket.remotePort)).size <= 2, 'at most two client sockets for six pages');
  });

  it('when the text\'s head names another token than its metadata (a guess that fails), then the parsed token is followed', async () => {
    seen.length = 0;
    answer = (url) => {
      const token = url.searchParams.get('continue');
      // A label holding "continue":"decoy" before the items; the List's own token comes after them.
      if (!token) return { status: 200, body: `{"kind":"PodList","extra":{"continue":"decoy"},"items":[{"n":1}],"metadata":{"continue":"real"}}` };
      if (token === 'real') return { status: 200, body: page([{ n: 2 }]) };
      return { status: 200, body: page([{ n: 99 }]) };
    };
    const items = await listRaw(kubeConfig, '/api/v1/nodes', { limit: 500 }, (i) => (i as { n: number }).n);
    assert.deepEqual(items, [1, 2]);
  });

  it('when the API server refuses, then an ApiException carries its code and body, as the generated clients throw', async () => {
    answer = () => ({ status: 403, body: JSON.stringify({ kind: 'Status', message: 'pods is forbidden: User "u" cannot list resource "pods"' }) });
    await assert.rejects(listRaw(kubeConfig, '/api/v1/pods', { limit: 500 }, (i) => i),
      (e: unknown) => e instanceof ApiException && e.code === 403 && /cannot list resource/.test(String(e.body)));
    answer = () => ({ status: 401, body: '' });
    await assert.rejects(listRaw(kubeConfig, '/api/v1/pods', { limit: 500 }, (i) => i), (e: unknown) => e instanceof ApiException && e.code === 401);
  });

  it('when one object is read, then its JSON comes back from the collection\'s path under the server\'s, with the token; a missing one is an ApiException 404', async () => {
    seen.length = 0;
    answer = (url) => (url.pathname.endsWith('/configmaps/policy')
      ? { status: 200, body: JSON.stringify({ kind: 'ConfigMap', metadata: { name: 'policy', resourceVersion: '42' }, data: { 'policy.yaml': 'pools: []' } }) }
      : { status: 404, body: JSON.stringify({ kind: 'Status', reason: 'NotFound', code: 404 }) });
    const cm = await readRaw(kubeConfig, '/api/v1/namespaces/gpu-admission/configmaps/policy');
    assert.deepEqual(cm, { kind: 'ConfigMap', metadata: { name: 'policy', resourceVersion: '42' }, data: { 'policy.yaml': 'pools: []' } });
    assert.equal(seen[0]?.url, '/k8s/clusters/c-1/api/v1/namespaces/gpu-admission/configmaps/policy');
    assert.equal(seen[0]?.headers.authorization, 'Bearer sekret');
    await assert.rejects(readRaw(kubeConfig, '/api/v1/namespaces/gpu-admission/configmaps/other'),
      (e: unknown) => e instanceof ApiException && e.code === 404 && /NotFound/.test(String(e.body)));
  });
});

describe('listRaw with an abort signal', () => {
  const held: IncomingMessage[] = [];
  const closed: Promise<void>[] = [];
  // The first page names a second, which is never answered: the list waits on it until aborted.
  const server = createServer((req, res) => {
    if (!new URL(req.url ?? '/', 'http://x').searchParams.get('continue')) {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(page([{ n: 1 }], 'two'));
      return;
    }
    held.push(req);
    closed.push(new Promise((resolve) => res.on('close', () => resolve())));
  });
  const kubeConfig = new KubeConfig();
  before(() => serveKubeConfig(server, kubeConfig));
  after(() => server.close());

  it('when the signal is aborted while a page is awaited, then the list rejects with the abort and the page\'s request is closed', async () => {
    const aborting = new AbortController();
    const listing = listRaw(kubeConfig, '/api/v1/pods', { limit: 1 }, (i) => i, aborting.signal);
    while (held.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    aborting.abort();
    await assert.rejects(listing, (e: unknown) => (e as Error).name === 'AbortError');
    await closed[0]; // the held request's connection is closed: nothing waits on it
    assert.equal(held.length, 1, 'no page is asked for after the abort');
  });

  it('when the signal is aborted before the list starts, then no request is sent', async () => {
    held.length = 0;
    const aborted = AbortSignal.abort();
    await assert.rejects(listRaw(kubeConfig, '/api/v1/nodes', { limit: 1 }, (i) => i, aborted), (e: unknown) => (e as Error).name === 'AbortError');
    assert.equal(held.length, 0);
  });
});
