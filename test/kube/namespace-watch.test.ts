import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createNamespaceSource, type NamespaceObject } from '../../src/kube/namespace-watch.ts';
import { captureLogger, FakeTime, httpError, ScriptedClient, settle } from './fakes.ts';

const ns = (name: string, resourceVersion: string, labels?: Record<string, string>): NamespaceObject =>
  ({ metadata: { name, resourceVersion, ...(labels ? { labels } : {}) } });

function setup() {
  const time = new FakeTime();
  const client = new ScriptedClient<NamespaceObject>();
  const { logger } = captureLogger();
  const source = createNamespaceSource({ client, logger, clock: time, timers: time, random: () => 0.5 });
  return { time, client, source };
}

describe('namespace cache', () => {
  it('when the first list has not answered, then it is not ready and knows no namespace', async () => {
    const { source } = setup();
    const start = source.start();
    await settle();
    assert.equal(source.notReadyReason(), 'waiting for the first list of Namespaces');
    assert.equal(source.labels('research'), undefined);
    await source.stop();
    await start;
  });

  it('when the first list answers, then it is ready and gives each namespace\'s labels, frozen', async () => {
    const { client, source } = setup();
    const start = source.start();
    await settle();
    await client.lastList().answer([ns('research', '1', { team: 'ml', 'gpu-admission.io/enabled': 'true' }), ns('bare', '2')], '10');
    await start;
    assert.equal(source.notReadyReason(), undefined);
    assert.deepEqual(source.labels('research'), { team: 'ml', 'gpu-admission.io/enabled': 'true' });
    assert.deepEqual(source.labels('bare'), {});
    assert.ok(Object.isFrozen(source.labels('research')));
    assert.equal(source.labels('unknown'), undefined);
    await source.stop();
  });

  it('when namespaces are added, relabelled and deleted, then the cache follows', async () => {
    const { client, source } = setup();
    const start = source.start();
    await settle();
    await client.lastList().answer([ns('a', '1', { team: 'x' })], '10');
    await start;
    await client.lastWatch().emit('ADDED', ns('b', '11', { team: 'y' }));
    await client.lastWatch().emit('MODIFIED', ns('a', '12', { team: 'z' }));
    await client.lastWatch().emit('DELETED', ns('b', '13', { team: 'y' }));
    assert.deepEqual(source.labels('a'), { team: 'z' });
    assert.equal(source.labels('b'), undefined);
    await source.stop();
  });

  it('when a relist no longer has a namespace, then it is forgotten', async () => {
    const { time, client, source } = setup();
    const start = source.start();
    await settle();
    await client.lastList().answer([ns('a', '1'), ns('b', '2')], '10');
    await start;
    await time.advance(300_000);
    await client.lastList().answer([ns('a', '1')], '20');
    assert.equal(source.labels('b'), undefined);
    assert.deepEqual(source.labels('a'), {});
    await source.stop();
  });

  it('when the first list fails, then the reason says so; once listed, later failures keep it ready', async () => {
    const { time, client, source } = setup();
    const start = source.start();
    await settle();
    await client.lastList().fail(httpError(403, 'namespaces is forbidden'));
    await start;
    assert.equal(source.notReadyReason(), 'cannot list Namespaces: namespaces is forbidden');
    await time.advance(750);
    await client.lastList().answer([ns('a', '1', { team: 'x' })], '10');
    await client.lastWatch().end(new Error('ECONNRESET'));
    assert.equal(source.notReadyReason(), undefined);
    assert.deepEqual(source.labels('a'), { team: 'x' });
    await source.stop();
  });
});
