import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry, collectDefaultMetrics } from 'prom-client';
import request from 'supertest';
import { DEFAULT_POLICY_YAML, defaultPolicy } from '../../src/policy/default-policy.ts';
import { parsePolicyOrThrow } from '../../src/policy/parse.ts';
import { StaticPolicySource, type PolicyEvent, type PolicySource } from '../../src/policy/source.ts';
import { parseExposition, valueOf, type Exposition } from './exposition.ts';
import { fixture, testApp } from './support.ts';

async function scrape(app: ReturnType<typeof testApp>['app']): Promise<Exposition> {
  const res = await request(app).get('/metrics');
  assert.equal(res.status, 200);
  assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  return parseExposition(res.text);
}

const OWN = [
  'gpu_admission_reviews_total', 'gpu_admission_review_duration_seconds', 'gpu_admission_denials_total', 'gpu_admission_routed_total',
  'gpu_admission_policy_info', 'gpu_admission_policy_reloads_total', 'gpu_admission_policy_age_seconds',
  'gpu_admission_certificate_expiry_timestamp_seconds',
];

describe('GET /metrics', () => {
  it('when scraped, then it is valid exposition text declaring every webhook metric with its help and type', async () => {
    const metrics = await scrape(testApp().app);
    for (const name of OWN) {
      assert.ok(metrics.types.has(name), `${name} has a TYPE`);
      assert.ok((metrics.help.get(name) ?? '').length > 0, `${name} has a HELP`);
    }
    assert.equal(metrics.types.get('gpu_admission_review_duration_seconds'), 'histogram');
    assert.equal(metrics.types.get('gpu_admission_reviews_total'), 'counter');
  });

  it('when reviews are answered, then counts by result, denial reason, pool and duration follow them', async () => {
    const { app } = testApp();
    for (const name of ['shared-gpu-pod', 'shared-gpu-pod', 'numa-pod', 'denied-pod', 'plain-pod']) {
      await request(app).post('/mutate').send(fixture(name));
    }
    await request(app).post('/mutate').set('Content-Type', 'application/json').send('not json');
    await request(app).post('/validate-policy').send(fixture('policy-configmap-invalid-update'));
    const m = await scrape(app);
    assert.equal(valueOf(m, 'gpu_admission_reviews_total', { webhook: 'mutate', result: 'patched' }), 3);
    assert.equal(valueOf(m, 'gpu_admission_reviews_total', { webhook: 'mutate', result: 'denied' }), 1);
    assert.equal(valueOf(m, 'gpu_admission_reviews_total', { webhook: 'mutate', result: 'unchanged' }), 1);
    assert.equal(valueOf(m, 'gpu_admission_reviews_total', { webhook: 'mutate', result: 'invalid' }), 1);
    assert.equal(valueOf(m, 'gpu_admission_reviews_total', { webhook: 'validate-policy', result: 'denied' }), 1);
    assert.equal(valueOf(m, 'gpu_admission_denials_total', { webhook: 'mutate', reason: 'no-pool' }), 1);
    assert.equal(valueOf(m, 'gpu_admission_denials_total', { webhook: 'validate-policy', reason: 'policy-invalid' }), 1);
    assert.equal(valueOf(m, 'gpu_admission_routed_total', { pool: 't4-shared', backend: 'ack-cgpu' }), 2);
    assert.equal(valueOf(m, 'gpu_admission_routed_total', { pool: 'a100-topology', backend: 'ack-topology' }), 1);
    assert.equal(valueOf(m, 'gpu_admission_review_duration_seconds_count', { webhook: 'mutate' }), 6);
    const buckets = m.samples.filter((s) => s.name === 'gpu_admission_review_duration_seconds_bucket' && s.labels.webhook === 'mutate');
    assert.ok(buckets.every((b, i) => i === 0 || b.value >= (buckets[i - 1]?.value ?? 0)), 'buckets are cumulative');
    assert.equal(buckets.at(-1)?.labels.le, '+Inf');
    assert.equal(buckets.at(-1)?.value, 6);
  });

  it('when a pod is routed to pools of two backends, then each pool is counted with its own backend', async () => {
    const twoBackends = parsePolicyOrThrow(DEFAULT_POLICY_YAML.replace('backend: ack-core-mem', 'backend: ack-mps'));
    const { app } = testApp({ policySource: new StaticPolicySource(twoBackends) });
    await request(app).post('/mutate').send(fixture('shared-gpu-pod'));
    const m = await scrape(app);
    assert.equal(valueOf(m, 'gpu_admission_routed_total', { pool: 't4-shared', backend: 'ack-cgpu' }), 1);
    assert.equal(valueOf(m, 'gpu_admission_routed_total', { pool: 'a10-core', backend: 'ack-mps' }), 1);
  });

  it('when the webhook cannot decide, then the review counts as an error', async () => {
    const none: PolicySource = { ...new StaticPolicySource(defaultPolicy()), current: () => undefined, notReadyReason: () => 'waiting', loadedAt: () => undefined, on: () => () => {}, start: async () => {}, stop: async () => {} };
    const { app } = testApp({ policySource: none });
    await request(app).post('/mutate').send(fixture('shared-gpu-pod'));
    assert.equal(valueOf(await scrape(app), 'gpu_admission_reviews_total', { webhook: 'mutate', result: 'error' }), 1);
  });

  it('when two apps run in one process, then each counts only its own reviews', async () => {
    const a = testApp();
    const b = testApp();
    await request(a.app).post('/mutate').send(fixture('shared-gpu-pod'));
    assert.equal(valueOf(await scrape(a.app), 'gpu_admission_reviews_total', { webhook: 'mutate', result: 'patched' }), 1);
    assert.equal(valueOf(await scrape(b.app), 'gpu_admission_reviews_total', { webhook: 'mutate', result: 'patched' }), undefined);
  });

  it('when a policy is in force, then its revision, its age and the certificate expiry are exported', async () => {
    const policy = defaultPolicy();
    const { app } = testApp({ policySource: new StaticPolicySource(policy, () => 1_000), now: () => 61_000 });
    const m = await scrape(app);
    assert.equal(valueOf(m, 'gpu_admission_policy_info', { revision: policy.revision }), 1);
    assert.equal(m.samples.filter((s) => s.name === 'gpu_admission_policy_info').length, 1);
    assert.equal(valueOf(m, 'gpu_admission_policy_age_seconds'), 60);
    assert.equal(valueOf(m, 'gpu_admission_certificate_expiry_timestamp_seconds'), 1_900_000_000);
  });

  it('when the policy source reports reloads, then they are counted by result and the info follows the new revision', async () => {
    const listeners: ((e: PolicyEvent) => void)[] = [];
    let current = defaultPolicy();
    const source: PolicySource = {
      current: () => current, notReadyReason: () => undefined, loadedAt: () => 0,
      on: (l) => { listeners.push(l); return () => {}; }, start: async () => {}, stop: async () => {},
    };
    const { app } = testApp({ policySource: source });
    const next = { ...current, revision: '42-abc' };
    current = next;
    for (const l of listeners) {
      l({ type: 'loaded', policy: next });
      l({ type: 'invalid', errors: ['/pools: bad'] });
      l({ type: 'invalid', errors: ['/pools: bad'] });
      l({ type: 'error', message: 'watch closed' });
    }
    const m = await scrape(app);
    assert.equal(valueOf(m, 'gpu_admission_policy_reloads_total', { result: 'loaded' }), 1);
    assert.equal(valueOf(m, 'gpu_admission_policy_reloads_total', { result: 'invalid' }), 2);
    assert.equal(valueOf(m, 'gpu_admission_policy_reloads_total', { result: 'error' }), 1);
    assert.equal(valueOf(m, 'gpu_admission_policy_info', { revision: '42-abc' }), 1);
    assert.equal(m.samples.filter((s) => s.name === 'gpu_admission_policy_info').length, 1);
  });

  it('when process metrics are on, then prom-client\'s default metrics are exported too, all but the GC duration', async () => {
    const m = await scrape(testApp({ processMetrics: true }).app);
    assert.equal(m.types.get('process_cpu_seconds_total'), 'counter');
    // The same set as prom-client's own collectDefaultMetrics, read from it, less its GC observer.
    const stock = new Registry();
    collectDefaultMetrics({ register: stock });
    const expected = (await stock.getMetricsAsJSON()).map((x) => x.name).filter((n) => n !== 'nodejs_gc_duration_seconds');
    assert.ok(expected.includes('nodejs_eventloop_lag_seconds') && expected.includes('nodejs_heap_space_size_used_bytes'));
    assert.deepEqual([...m.types.keys()].filter((n) => !OWN.includes(n)).sort(), expected.sort());
  });

  it('when process metrics are off, then only the webhook metrics are exported', async () => {
    const m = await scrape(testApp({ processMetrics: false }).app);
    assert.deepEqual([...m.types.keys()].sort(), [...OWN].sort());
  });
});

describe('parseExposition', () => {
  const bad: { when: string; text: string }[] = [
    { when: 'a sample has no TYPE', text: 'x_total 1\n' },
    { when: 'a value is not a number', text: '# TYPE x counter\nx one\n' },
    { when: 'a label value is unquoted', text: '# TYPE x counter\nx{a=b} 1\n' },
    { when: 'a TYPE is unknown', text: '# TYPE x thing\n' },
  ];
  for (const c of bad) {
    it(`when ${c.when}, then it throws`, () => {
      assert.throws(() => parseExposition(c.text));
    });
  }
});
