// End to end: the Node and Pod lists read in Kubernetes' protobuf (src/kube/protobuf-list.ts)
// against the same lists read as JSON, from the real API server — nodes and pods carrying every
// field the cluster model reads (labels, annotations, conditions, capacity and allocatable,
// unschedulable, phase, nodeName, init, sidecar and app containers' requests and limits, quantities
// in many spellings), several pages each, and an error's Status in both encodings.
// Run: node --test --test-reporter=spec --test-concurrency=1 --test-timeout=900000 test/e2e/protobuf-list.e2e.ts
// With GPU_ADMISSION_RECORD_PROTOBUF=DIR it also writes the answers it compared there (the unit
// tests' fixtures, test/kube/fixtures/protobuf-list/, are recorded this way).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from './control-plane/control-plane.ts';
import { ensureBinaries, namespace } from './harness/cluster.ts';
import { Kubectl } from './harness/kubectl.ts';
import { PROTOBUF_LIST_NODES, PROTOBUF_LIST_PODS } from './harness/protobuf-objects.ts';
import { toClusterNode, toClusterPod } from '../../src/cluster/model.ts';
import { ClusterReader } from '../../src/kube/cluster-read.ts';
import { NODE_LIST, POD_LIST, type ProtobufList } from '../../src/kube/protobuf-list.ts';
import { listRaw } from '../../src/kube/raw-list.ts';

type Obj = Record<string, any>;
const RECORD = process.env.GPU_ADMISSION_RECORD_PROTOBUF;
const PROTOBUF = 'application/vnd.kubernetes.protobuf';
let cp: ControlPlane;
let k: Kubectl;
let work: string;

/** One GET of the API server with the admin's client certificate: status, content type, body bytes. */
function get(path: string, accept: string): Promise<{ status: number; type: string; body: Buffer }> {
  const url = new URL(path, cp.apiServerUrl);
  return new Promise((resolve, reject) => {
    const req = request(url, { ca: readFileSync(cp.caCertPath), cert: readFileSync(cp.adminCertPath), key: readFileSync(cp.adminKeyPath), headers: { Accept: accept } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * Every page of a list in one encoding, following its own continue tokens; `at` pins the first
 * page to a resourceVersion (the node controller may change a node between two lists).
 */
async function pages(path: string, query: string, accept: string, at?: string): Promise<Buffer[]> {
  const out: Buffer[] = [];
  let token = '';
  do {
    const from = token ? `&continue=${encodeURIComponent(token)}` : at ? `&resourceVersion=${at}&resourceVersionMatch=Exact` : '';
    const answer = await get(`${path}?limit=2${query}${from}`, accept);
    assert.equal(answer.status, 200, answer.body.toString());
    assert.ok(answer.type.startsWith(accept === PROTOBUF ? PROTOBUF : 'application/json'), answer.type);
    out.push(answer.body);
    token = accept === PROTOBUF ? NODE_LIST.token(answer.body) ?? '' : (JSON.parse(answer.body.toString()) as Obj).metadata?.continue ?? '';
  } while (token);
  return out;
}

async function record(name: string, body: Buffer): Promise<void> {
  if (!RECORD) return;
  await mkdir(RECORD, { recursive: true });
  await writeFile(join(RECORD, name), body);
}

before(async () => {
  const bins = await ensureBinaries((m) => console.log(`[protobuf-list] ${m}`));
  work = await mkdtemp(join(tmpdir(), 'gpu-admission-protobuf-list-'));
  cp = await startControlPlane({ workDir: work, log: (m) => console.log(`[protobuf-list] ${m}`) });
  k = new Kubectl(bins.kubectl, cp.kubeconfig);
  for (const { node, status } of PROTOBUF_LIST_NODES) {
    await k.ok(['create', '-f', '-'], JSON.stringify(node));
    if (status) await k.ok(['patch', 'node', node.metadata.name, '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]);
  }
  await namespace(k, 'ml', false);
  for (const { pod, status } of PROTOBUF_LIST_PODS) {
    await k.ok(['create', '-f', '-'], JSON.stringify(pod));
    if (status) await k.ok(['-n', 'ml', 'patch', 'pod', pod.metadata.name, '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]);
  }
}, { timeout: 30 * 60_000 });

after(async () => {
  await cp?.stop();
  await rm(work, { recursive: true, force: true });
});

describe('the Node and Pod lists in protobuf', () => {
  const cases: { name: string; path: string; query: string; wire: ProtobufList; model: (o: unknown) => unknown; count: number }[] = [
    { name: 'nodes', path: '/api/v1/nodes', query: '', wire: NODE_LIST, model: toClusterNode, count: PROTOBUF_LIST_NODES.length },
    { name: 'pods', path: '/api/v1/pods', query: `&fieldSelector=${encodeURIComponent('status.phase!=Succeeded,status.phase!=Failed')}`, wire: POD_LIST, model: toClusterPod,
      count: PROTOBUF_LIST_PODS.filter((p) => !['Succeeded', 'Failed'].includes(p.status?.status?.phase ?? '')).length },
  ];
  for (const c of cases) {
    it(`when the ${c.name} are listed in pages of 2 in protobuf and in JSON, then every page's items give the same cluster model, and the protobuf token leads to the next page`, async () => {
      const json = await pages(c.path, c.query, 'application/json');
      const proto = await pages(c.path, c.query, PROTOBUF, (JSON.parse(json[0]!.toString()) as Obj).metadata.resourceVersion);
      assert.equal(proto.length, json.length);
      assert.ok(proto.length >= 3, 'several pages');
      for (const [i, body] of proto.entries()) {
        const fromJson = ((JSON.parse(json[i]!.toString()) as Obj).items as unknown[]).map(c.model);
        assert.deepEqual(c.wire.items(body).map(c.model), fromJson, `page ${i}`);
        await record(`${c.name}-${i}.pb`, body);
        await record(`${c.name}-${i}.json`, json[i]!);
      }
      assert.equal(c.wire.token(proto.at(-1)!), undefined, 'no token on the last page');
    });
  }

  it('when inspect\'s reader lists the nodes and pods, then it gets protobuf and the same model as a JSON list', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(cp.kubeconfig);
    const reader = new ClusterReader(kc);
    const [nodes, pods] = await Promise.all([reader.nodes(), reader.pods()]);
    const fieldSelector = 'status.phase!=Succeeded,status.phase!=Failed';
    // The pods do not change; the nodes' Ready condition may (the node controller), so their names and labels are compared.
    const same = (n: { name: string; labels: unknown; allocatable: unknown }) => ({ name: n.name, labels: n.labels, allocatable: n.allocatable });
    assert.deepEqual(nodes.map(same), (await listRaw(kc, '/api/v1/nodes', { limit: 3 }, toClusterNode)).map(same));
    assert.deepEqual(pods, await listRaw(kc, '/api/v1/pods', { limit: 3, fieldSelector }, toClusterPod));
    assert.equal(nodes.length, cases[0]!.count);
    assert.equal(pods.length, cases[1]!.count);
    // And the pages did come in protobuf: the reader's decoder was given them.
    let decoded = 0;
    const counting: ProtobufList = { ...POD_LIST, items: (b) => { decoded += 1; return POD_LIST.items(b); } };
    assert.deepEqual(await listRaw(kc, '/api/v1/pods', { limit: 3, fieldSelector }, toClusterPod, undefined, counting), pods);
    assert.equal(decoded, Math.ceil(pods.length / 3));
  });

  it('when the API server answers an error in protobuf, then its Status reads as the JSON it writes for the same error', async () => {
    const path = `/api/v1/pods?limit=2&fieldSelector=${encodeURIComponent('spec.nothing=1')}`;
    const json = await get(path, 'application/json');
    const proto = await get(path, PROTOBUF);
    assert.equal(json.status, 400);
    assert.equal(proto.status, 400);
    assert.ok(proto.type.startsWith(PROTOBUF), proto.type);
    assert.deepEqual(JSON.parse(POD_LIST.status(proto.body)), JSON.parse(json.body.toString()));
    await record('status-400.pb', proto.body);
    await record('status-400.json', json.body);
    const missing = await get('/api/v1/namespaces/ml/pods/nobody', PROTOBUF);
    const missingJson = await get('/api/v1/namespaces/ml/pods/nobody', 'application/json');
    assert.equal(missing.status, 404);
    assert.deepEqual(JSON.parse(POD_LIST.status(missing.body)), JSON.parse(missingJson.body.toString()));
    await record('status-404.pb', missing.body);
    await record('status-404.json', missingJson.body);
  });
});
