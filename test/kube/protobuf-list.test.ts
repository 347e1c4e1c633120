// The protobuf reader of the Node and Pod lists, on answers recorded from the real API server
// (test/kube/fixtures/protobuf-list/, written by test/e2e/protobuf-list.e2e.ts with
// GPU_ADMISSION_RECORD_PROTOBUF): each page's protobuf and JSON answers at the same resourceVersion,
// pages of 2 of the nodes and pods of test/e2e/harness/protobuf-objects.ts, and two errors' Status.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { ApiException, KubeConfig } from '@kubernetes/client-node';
import { toClusterNode, toClusterPod } from '../../src/cluster/model.ts';
import { NODE_LIST, POD_LIST, statusJson, type ProtobufList } from '../../src/kube/protobuf-list.ts';
import { listRaw } from '../../src/kube/raw-list.ts';
import { serveKubeConfig } from './fakes.ts';

const FIXTURES = new URL('fixtures/protobuf-list/', import.meta.url);
const fixture = (name: string): Buffer => readFileSync(new URL(name, FIXTURES));
const PAGES = [0, 1, 2];
const PROTOBUF = 'application/vnd.kubernetes.protobuf';

type Json = { metadata: { continue?: string }; items: unknown[] };
const json = (name: string): Json => JSON.parse(fixture(name).toString()) as Json;

const lists: { name: string; wire: ProtobufList; model: (o: unknown) => unknown }[] = [
  { name: 'nodes', wire: NODE_LIST, model: toClusterNode },
  { name: 'pods', wire: POD_LIST, model: toClusterPod },
];

describe('the protobuf reader on the API server\'s own answers', () => {
  for (const { name, wire, model } of lists) {
    it(`when a page of ${name} is read, then its items give the cluster model its JSON gives, and its token is the JSON's`, () => {
      for (const i of PAGES) {
        const expected = json(`${name}-${i}.json`);
        assert.ok(expected.items.length > 0);
        assert.deepEqual(wire.items(fixture(`${name}-${i}.pb`)).map(model), expected.items.map(model), `page ${i}`);
        assert.equal(wire.token(fixture(`${name}-${i}.pb`)), expected.metadata.continue || undefined, `page ${i}`);
      }
    });
  }

  it('when the recorded pages are read, then they hold what the model distinguishes: readiness both ways, sidecars, pending pods, empty values', () => {
    const nodes = PAGES.flatMap((i) => NODE_LIST.items(fixture(`nodes-${i}.pb`)).map(toClusterNode));
    const pods = PAGES.flatMap((i) => POD_LIST.items(fixture(`pods-${i}.pb`)).map(toClusterPod));
    assert.deepEqual(nodes.map((n) => [n.name, n.ready]), [['pb-bare', false], ['pb-cordoned', false], ['pb-not-ready', false], ['pb-t4', true], ['pb-unknown', false]]);
    assert.equal(nodes.find((n) => n.name === 'pb-t4')?.labels.empty, '');
    // The sidecar's memory (1e9) adds to the app containers' (1.5Gi and 512M); the init container's 3.5 CPUs outweigh them.
    assert.deepEqual(pods.find((p) => p.name === 'pb-sidecars')?.requests, { cpu: 3.5, 'nvidia.com/gpu': 8, memory: 1.5 * 2 ** 30 + 512e6 + 1e9, 'ephemeral-storage': 1e9 });
    assert.deepEqual(pods.map((p) => [p.name, p.nodeName, p.phase]),
      [['pb-empty', 'pb-not-ready', 'Running'], ['pb-infer', 'pb-t4', 'Running'], ['pb-pending', undefined, 'Pending'], ['pb-sidecars', 'pb-cordoned', 'Running'], ['pb-unknown-phase', 'pb-unknown', 'Unknown']]);
  });

  it('when an error\'s Status is read, then it is the JSON the API server writes for it', () => {
    for (const code of [400, 404]) {
      assert.deepEqual(JSON.parse(statusJson(fixture(`status-${code}.pb`))), JSON.parse(fixture(`status-${code}.json`).toString()));
    }
  });

  it('when the bytes are not a protobuf List (no k8s\\0, cut short, JSON), then reading throws and never returns a partial page', () => {
    const page = fixture('pods-1.pb');
    assert.throws(() => POD_LIST.items(page.subarray(4)), /k8s\\0/);
    assert.throws(() => POD_LIST.items(page.subarray(0, page.length - 7)));
    assert.throws(() => POD_LIST.items(fixture('pods-1.json')), /k8s\\0/);
    assert.throws(() => statusJson(Buffer.from('k8s')), /k8s\\0/);
  });
});

describe('listRaw with the protobuf reader', () => {
  const seen: IncomingMessage[] = [];
  let answer: (url: URL, accept: string) => { status: number; type: string; body: Buffer } = () => ({ status: 500, type: 'text/plain', body: Buffer.from('') });
  const server = createServer((req, res) => {
    seen.push(req);
    const { status, type, body } = answer(new URL(req.url ?? '/', 'http://x'), String(req.headers.accept));
    res.writeHead(status, { 'Content-Type': type }).end(body);
  });
  const kubeConfig = new KubeConfig();
  before(() => serveKubeConfig(server, kubeConfig));
  after(() => server.close());

  /** The recorded pages of a list, by the token that asks for each (the first by none). */
  const byToken = (name: string, ext: 'pb' | 'json', token: (b: Buffer) => string | undefined) => {
    const pages = new Map<string, Buffer>();
    let previous = '';
    for (const i of PAGES) {
      const body = fixture(`${name}-${i}.${ext}`);
      pages.set(previous, body);
      previous = token(body) ?? '';
    }
    return pages;
  };

  it('when the API server speaks protobuf, then it is asked for first, and every page is read in order, following the tokens', async () => {
    seen.length = 0;
    const pages = byToken('pods', 'pb', (b) => POD_LIST.token(b));
    answer = (url) => ({ status: 200, type: PROTOBUF, body: pages.get(url.searchParams.get('continue') ?? '') ?? Buffer.from('') });
    const pods = await listRaw(kubeConfig, '/api/v1/pods', { limit: 2 }, toClusterPod, undefined, POD_LIST);
    assert.deepEqual(pods, PAGES.flatMap((i) => json(`pods-${i}.json`).items.map(toClusterPod)));
    assert.equal(seen.length, 3);
    for (const req of seen) assert.equal(req.headers.accept, `${PROTOBUF}, application/json`);
  });

  it('when the API server answers JSON to a protobuf request, then the JSON is read', async () => {
    const pages = byToken('nodes', 'json', (b) => (JSON.parse(b.toString()) as Json).metadata.continue);
    answer = (url) => ({ status: 200, type: 'application/json', body: pages.get(url.searchParams.get('continue') ?? '') ?? Buffer.from('') });
    const nodes = await listRaw(kubeConfig, '/api/v1/nodes', { limit: 2 }, toClusterNode, undefined, NODE_LIST);
    assert.deepEqual(nodes, PAGES.flatMap((i) => json(`nodes-${i}.json`).items.map(toClusterNode)));
  });

  it('when the API server refuses in protobuf, then the ApiException carries its code and the Status as JSON text; an unreadable Status leaves the body out', async () => {
    answer = () => ({ status: 400, type: PROTOBUF, body: fixture('status-400.pb') });
    await assert.rejects(listRaw(kubeConfig, '/api/v1/pods', { limit: 2 }, toClusterPod, undefined, POD_LIST),
      (e: unknown) => e instanceof ApiException && e.code === 400 && (JSON.parse(String(e.body)) as { message: string }).message === 'field label not supported: spec.nothing');
    answer = () => ({ status: 500, type: PROTOBUF, body: Buffer.from('k8s\0\x12\xff') });
    await assert.rejects(listRaw(kubeConfig, '/api/v1/pods', { limit: 2 }, toClusterPod, undefined, POD_LIST),
      (e: unknown) => e instanceof ApiException && e.code === 500 && e.body === undefined);
  });

  it('when a list is asked for without the reader, then protobuf is not asked for', async () => {
    seen.length = 0;
    answer = () => ({ status: 200, type: 'application/json', body: fixture('nodes-2.json') });
    await listRaw(kubeConfig, '/api/v1/nodes', { limit: 2 }, toClusterNode);
    assert.equal(seen[0]?.headers.accept, 'application/json');
  });
});
