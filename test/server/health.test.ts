import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { Agent, createServer, request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import request from 'supertest';
import { defaultPolicy } from '../../src/policy/default-policy.ts';
import type { NamespaceSource, PolicySource } from '../../src/policy/source.ts';
import type { AppDeps } from '../../src/server/create-app.ts';
import { testApp } from './support.ts';

const waitingPolicy: PolicySource = {
  current: () => undefined, notReadyReason: () => 'waiting for ConfigMap gpu-admission/gpu-admission-policy',
  loadedAt: () => undefined, on: () => () => {}, start: async () => {}, stop: async () => {},
};
const silentPolicy: PolicySource = { ...waitingPolicy, notReadyReason: () => undefined };
const syncingNamespaces: NamespaceSource = {
  labels: () => undefined, notReadyReason: () => 'initial list of Namespaces not done', start: async () => {}, stop: async () => {},
};
const expired = { notReadyReason: () => 'expired at 2020-01-01T00:00:00.000Z', expiresAt: () => 1_577_836_800 };

describe('GET /healthz', () => {
  it('when the process runs, then it answers 200 even while not ready', async () => {
    const res = await request(testApp({ policySource: waitingPolicy, draining: () => true }).app).get('/healthz');
    assert.equal(res.status, 200);
    assert.equal(res.text, 'ok\n');
  });
});

describe('GET /readyz', () => {
  it('when a policy is in force, namespaces are known and the certificate is valid, then 200', async () => {
    const res = await request(testApp().app).get('/readyz');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { ready: true });
  });

  const cases: { when: string; deps: Partial<AppDeps>; reasons: string[] }[] = [
    { when: 'no policy is loaded yet', deps: { policySource: waitingPolicy }, reasons: ['no policy in force: waiting for ConfigMap gpu-admission/gpu-admission-policy'] },
    { when: 'no policy is loaded and the source gives no reason', deps: { policySource: silentPolicy }, reasons: ['no policy in force: not loaded yet'] },
    { when: 'the namespace watch has not synced', deps: { namespaceSource: syncingNamespaces }, reasons: ['namespace labels: initial list of Namespaces not done'] },
    { when: 'the certificate has expired', deps: { certificate: expired }, reasons: ['certificate: expired at 2020-01-01T00:00:00.000Z'] },
    { when: 'the process is shutting down', deps: { draining: () => true }, reasons: ['shutting down'] },
    {
      when: 'several things are wrong', deps: { policySource: waitingPolicy, draining: () => true, certificate: expired },
      reasons: ['shutting down', 'no policy in force: waiting for ConfigMap gpu-admission/gpu-admission-policy', 'certificate: expired at 2020-01-01T00:00:00.000Z'],
    },
  ];
  for (const c of cases) {
    it(`when ${c.when}, then 503 and the body says why`, async () => {
      const res = await request(testApp(c.deps).app).get('/readyz');
      assert.equal(res.status, 503);
      assert.deepEqual(res.body, { ready: false, reasons: c.reasons });
    });
  }

  it('when the policy arrives later, then readiness follows it', async () => {
    let policy: ReturnType<typeof defaultPolicy> | undefined;
    const app = testApp({ policySource: { ...waitingPolicy, current: () => policy } }).app;
    assert.equal((await request(app).get('/readyz')).status, 503);
    policy = defaultPolicy();
    assert.equal((await request(app).get('/readyz')).status, 200);
  });

  it('when draining, then every response asks the client to close its connection', async () => {
    const { app } = testApp({ draining: () => true });
    const res = await request(app).get('/healthz');
    assert.equal(res.headers.connection, 'close');
    // A review's POST is served in front of express: it is asked to close too (a keep-alive client, which would otherwise keep it).
    const server = createServer(app).listen(0, '127.0.0.1');
    await once(server, 'listening');
    const agent = new Agent({ keepAlive: true });
    try {
      const body = readFileSync(new URL('../fixtures/reviews/plain-pod.json', import.meta.url), 'utf8');
      const review = await new Promise<IncomingMessage>((resolve, reject) => {
        const req = httpRequest({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', path: '/mutate', method: 'POST', agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => { res.resume(); res.on('end', () => resolve(res)); });
        req.on('error', reject);
        req.end(body);
      });
      assert.equal(review.statusCode, 200);
      assert.equal(review.headers.connection, 'close');
    } finally {
      agent.destroy();
      server.close();
    }
  });
});
