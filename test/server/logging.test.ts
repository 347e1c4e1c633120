import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import request from 'supertest';
import { defaultPolicy } from '../../src/policy/default-policy.ts';
import { fixture, testApp } from './support.ts';

describe('review logs', () => {
  it('when reviews are answered, then each writes exactly one info line with who, what and how it ended', async () => {
    const { app, lines } = testApp();
    for (const name of ['shared-gpu-pod', 'denied-pod', 'plain-pod']) await request(app).post('/mutate').send(fixture(name));
    const reviews = lines.filter((l) => l.msg === 'review');
    assert.equal(lines.length, 3);
    assert.equal(reviews.length, 3);
    const [patched, denied, plain] = reviews;
    assert.deepEqual(
      { ...patched, time: 0, pid: 0, hostname: '', durationMs: 0 },
      {
        level: 30, time: 0, pid: 0, hostname: '', msg: 'review',
        uid: '0f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a01', webhook: 'mutate', kind: 'Pod', operation: 'CREATE', namespace: 'ml',
        generateName: 'train-7c9d8b6f4-', owner: 'ReplicaSet/train-7c9d8b6f4',
        user: 'system:serviceaccount:kube-system:replicaset-controller',
        result: 'patched', revision: defaultPolicy().revision, pools: ['t4-shared'], backends: ['ack-cgpu'], patchOps: 6, durationMs: 0,
      },
    );
    assert.equal(typeof patched?.durationMs, 'number');
    assert.equal(denied?.result, 'denied');
    assert.equal(denied?.reason, 'no-pool');
    assert.equal(denied?.code, 403);
    assert.equal(plain?.result, 'unchanged');
    assert.equal(plain?.patchOps, 0);
  });

  it('when a pod has a name, then the line names it and its user', async () => {
    const { app, lines } = testApp();
    await request(app).post('/mutate').send(fixture('rounded-pod'));
    assert.equal(lines[0]?.name, 'notebook');
    assert.equal(lines[0]?.generateName, undefined);
    assert.equal(lines[0]?.user, 'alice@example.com');
    assert.equal(lines[0]?.warnings, 1);
  });

  it('when a review is logged at info, then neither the pod nor the patch is in the line', async () => {
    const { app, lines } = testApp();
    await request(app).post('/mutate').send(fixture('numa-pod'));
    const text = JSON.stringify(lines);
    assert.doesNotMatch(text, /registry\.example\.com|kube-api-access|"op":/);
  });

  it('when a review is a dry run, then the line says so', async () => {
    const { app, lines } = testApp();
    const body = fixture('plain-pod');
    if (body.request) body.request.dryRun = true;
    await request(app).post('/mutate').send(body);
    assert.equal(lines[0]?.dryRun, true);
  });

  it('when a review cannot be read, then one warning line gives the error code and message', async () => {
    const { app, lines } = testApp();
    await request(app).post('/mutate').set('Content-Type', 'application/json').send('{');
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.level, 40);
    assert.equal(lines[0]?.result, 'invalid');
    assert.equal(lines[0]?.reason, 'GA_REVIEW_NOT_JSON');
    assert.match(String(lines[0]?.message), /not valid JSON/);
  });

  it('when the environment holds a secret, then no log line carries it', async () => {
    const { app, lines } = testApp();
    process.env.GPU_ADMISSION_TEST_SECRET = 's3cr3t-value';
    try {
      await request(app).post('/mutate').send(fixture('shared-gpu-pod'));
      await request(app).post('/mutate').set('Content-Type', 'application/json').send('{');
    } finally {
      delete process.env.GPU_ADMISSION_TEST_SECRET;
    }
    assert.equal(lines.length, 2);
    assert.doesNotMatch(JSON.stringify(lines), /s3cr3t-value/);
  });
});
