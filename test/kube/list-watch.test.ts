import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ListWatch, type ChangeType, type KubeObject, type ListCause, type WatchFailure } from '../../src/kube/list-watch.ts';
import { captureLogger, FakeTime, goneStatus, httpError, ScriptedClient, settle, timeoutError } from './fakes.ts';

type Obj = KubeObject & { readonly data?: string };

const obj = (name: string, resourceVersion: string): Obj => ({ metadata: { name, namespace: 'ns', resourceVersion } });

class Recorder {
  readonly snapshots: { names: string[]; cause: ListCause }[] = [];
  readonly changes: { type: ChangeType; name: string | undefined }[] = [];
  readonly failures: WatchFailure[] = [];
  throwOnChange = false;
  snapshot(items: readonly Obj[], cause: ListCause): void {
    this.snapshots.push({ names: items.map((i) => i.metadata?.name ?? ''), cause });
  }
  change(type: ChangeType, object: Obj): void {
    if (this.throwOnChange) throw new Error('handler bug');
    this.changes.push({ type, name: object.metadata?.name });
  }
  failure(failure: WatchFailure): void {
    this.failures.push(failure);
  }
}

/** A loop on a scripted client and fake time; random() is 0.5, so jitter is predictable. */
function setup(overrides: { random?: () => number; resyncIntervalMs?: number } = {}) {
  const time = new FakeTime();
  const client = new ScriptedClient<Obj>();
  const handler = new Recorder();
  const { logger, lines } = captureLogger();
  const loop = new ListWatch<Obj>({
    client, handler, logger, what: 'ConfigMap ns/p', clock: time, timers: time,
    random: overrides.random ?? (() => 0.5),
    resyncIntervalMs: overrides.resyncIntervalMs ?? 300_000,
  });
  return { time, client, handler, loop, lines };
}

/** Started, listed at resourceVersion 10, watching. */
async function watching(overrides: Parameters<typeof setup>[0] = {}) {
  const s = setup(overrides);
  const started = s.loop.start();
  await settle();
  await s.client.lastList().answer([obj('p', '9')], '10');
  await started;
  assert.equal(s.client.watches.length, 1);
  return s;
}

describe('list-watch loop: list, then watch, and never give up', () => {
  it('when started, then it lists, hands over the snapshot and watches from the list\'s resourceVersion', async () => {
    const { client, handler, loop } = await watching();
    assert.deepEqual(handler.snapshots, [{ names: ['p'], cause: 'start' }]);
    const { request } = client.lastWatch();
    assert.equal(request.resourceVersion, '10');
    assert.equal(request.timeoutSeconds, 450, 'a server-side timeout in [300, 600] s');
    await client.lastWatch().emit('MODIFIED', obj('p', '11'));
    assert.deepEqual(handler.changes, [{ type: 'MODIFIED', name: 'p' }]);
    await loop.stop();
  });

  it('when the first list fails, then start() still resolves, the failure is reported and the list is retried after a backoff', async () => {
    const { time, client, handler, loop } = setup();
    const started = loop.start();
    await settle();
    await client.lastList().fail(httpError(503, 'Service Unavailable'));
    await started;
    assert.deepEqual(handler.failures, [{ phase: 'list', message: 'Service Unavailable', statusCode: 503 }]);
    assert.equal(client.lists.length, 1);
    await time.advance(749);
    assert.equal(client.lists.length, 1, 'not before the backoff (750 ms: half of 1 s plus half of the jitter)');
    await time.advance(1);
    assert.equal(client.lists.length, 2);
    await client.lastList().answer([], '12');
    assert.equal(client.lastWatch().request.resourceVersion, '12');
    await loop.stop();
  });

  it('when the watch keeps failing, then it resumes from the last resourceVersion after delays that double, with jitter, up to the cap', async () => {
    const { time, client, handler, loop } = await watching();
    await client.lastWatch().emit('MODIFIED', obj('p', '11'));
    const delays: number[] = [];
    for (let i = 0; i < 7; i += 1) {
      await client.lastWatch().end(new Error('socket hang up'));
      const [delay] = time.pendingDelays().filter((d) => d < 300_000);
      assert.ok(delay !== undefined, 'a retry is scheduled');
      delays.push(delay);
      await time.advance(delay);
      assert.equal(client.lastWatch().request.resourceVersion, '11', 'resumed where it stopped');
    }
    assert.deepEqual(delays, [750, 1_500, 3_000, 6_000, 12_000, 22_500, 22_500]);
    assert.equal(client.lists.length, 1, 'an error is not a reason to relist');
    assert.equal(handler.failures.length, 7);
    await loop.stop();
  });

  it('when jitter is extreme, then no delay exceeds the cap nor falls below half the exponential step', async () => {
    for (const r of [0, 0.999999]) {
      const { time, client, loop } = await watching({ random: () => r });
      for (let i = 0; i < 8; i += 1) {
        await client.lastWatch().end(new Error('ECONNRESET'));
        const delay = time.pendingDelays().filter((d) => d < 270_000)[0] ?? -1;
        const ceiling = Math.min(30_000, 1_000 * 2 ** i);
        assert.ok(delay >= ceiling / 2 && delay <= ceiling, `attempt ${i}: ${delay} within [${ceiling / 2}, ${ceiling}]`);
        await time.advance(delay);
      }
      await loop.stop();
    }
  });

  it('when an event arrives after failures, then the backoff starts over', async () => {
    const { time, client, loop } = await watching();
    for (let i = 0; i < 3; i += 1) {
      await client.lastWatch().end(new Error('ECONNRESET'));
      await time.advance(time.pendingDelays()[0] ?? 0);
    }
    await client.lastWatch().emit('BOOKMARK', { metadata: { resourceVersion: '20' } });
    await client.lastWatch().end(new Error('ECONNRESET'));
    assert.equal(time.pendingDelays()[0], 750);
    await time.advance(750);
    assert.equal(client.lastWatch().request.resourceVersion, '20', 'a bookmark moves the resourceVersion on');
    await loop.stop();
  });

  it('when the watch request answers 410 Gone, then it relists at once and watches from the new list', async () => {
    const { time, client, handler, loop } = await watching();
    await time.advance(60_000);
    await client.lastWatch().end(httpError(410, 'Gone'));
    assert.equal(client.lists.length, 2, 'relisted without waiting');
    await client.lastList().answer([obj('p', '30')], '31');
    assert.deepEqual(handler.snapshots.at(-1), { names: ['p'], cause: 'gone' });
    assert.equal(client.lastWatch().request.resourceVersion, '31');
    assert.equal(handler.failures.length, 0, '410 is routine, not a failure');
    await loop.stop();
  });

  it('when the stream carries an ERROR event with code 410, then the watch is dropped and it relists at once', async () => {
    const { time, client, loop } = await watching();
    await time.advance(60_000);
    const stale = client.lastWatch();
    await stale.emit('ERROR', goneStatus());
    assert.ok(stale.aborted);
    assert.equal(client.lists.length, 2);
    await stale.end(null);
    assert.equal(client.lists.length, 2, 'the old watch closing afterwards changes nothing');
    await loop.stop();
  });

  it('when 410 Gone comes moments after a fresh list, then the relist waits for a backoff instead of looping', async () => {
    const { time, client, loop } = await watching();
    await client.lastWatch().emit('ERROR', goneStatus());
    assert.equal(client.lists.length, 1);
    await time.advance(750);
    assert.equal(client.lists.length, 2);
    await loop.stop();
  });

  it('when the stream carries another ERROR event, then it is reported and the watch retried with backoff', async () => {
    const { time, client, handler, loop } = await watching();
    const stale = client.lastWatch();
    await stale.emit('ERROR', { kind: 'Status', code: 500, message: 'etcd leader changed' });
    assert.ok(stale.aborted);
    assert.deepEqual(handler.failures, [{ phase: 'watch', message: 'etcd leader changed', statusCode: 500 }]);
    await time.advance(750);
    assert.equal(client.watches.length, 2);
    assert.equal(client.lastWatch().request.resourceVersion, '10');
    await loop.stop();
  });

  it('when the server closes a long-lived watch, or it times out client-side, then it is reopened at once from the last resourceVersion', async () => {
    const { time, client, handler, loop } = await watching();
    await time.advance(60_000);
    const before = client.watches.length;
    await client.lastWatch().emit('MODIFIED', obj('p', '12'));
    await client.lastWatch().end(null);
    assert.equal(client.watches.length, before + 1);
    assert.equal(client.lastWatch().request.resourceVersion, '12');
    await client.lastWatch().end(timeoutError());
    assert.equal(client.watches.length, before + 2, 'a client-side timeout already waited 30 s');
    assert.equal(handler.failures.length, 0);
    await loop.stop();
  });

  it('when a watch closes cleanly right after it opened, then it is reopened only after a backoff', async () => {
    const { time, client, loop } = await watching();
    await time.advance(1_000);
    await client.lastWatch().end(null);
    assert.equal(client.watches.length, 1);
    await time.advance(750);
    assert.equal(client.watches.length, 2);
    await loop.stop();
  });

  it('when the watch stalls without closing, then the periodic relist lists again and replaces it', async () => {
    const { time, client, handler, loop } = await watching();
    const stalled = client.lastWatch();
    await time.advance(299_999);
    assert.equal(client.lists.length, 1);
    await time.advance(1);
    assert.equal(client.lists.length, 2, 'relisted after 5 min (random 0.5: no jitter)');
    assert.ok(stalled.aborted);
    await client.lastList().answer([obj('p', '40')], '41');
    assert.deepEqual(handler.snapshots.at(-1), { names: ['p'], cause: 'resync' });
    assert.equal(client.lastWatch().request.resourceVersion, '41');
    await time.advance(300_000);
    assert.equal(client.lists.length, 3, 'and again 5 min later');
    await loop.stop();
  });

  it('when a list hangs, then it is aborted after the list timeout and retried after a backoff', async () => {
    const { time, client, handler, loop } = setup();
    const started = loop.start();
    await settle();
    const hung = client.lastList();
    await time.advance(30_000);
    await started;
    assert.ok(hung.signal.aborted);
    assert.equal(handler.failures[0]?.phase, 'list');
    assert.match(handler.failures[0]?.message ?? '', /did not answer within 30000 ms/);
    await hung.answer([obj('late', '1')], '1');
    assert.equal(handler.snapshots.length, 0, 'a late answer of the aborted list is ignored');
    await time.advance(750);
    assert.equal(client.lists.length, 2);
    await loop.stop();
  });

  it('when the watch call itself rejects, then it counts as a failure and is retried, with no unhandled rejection', async () => {
    const { time, client, handler, loop } = await watching();
    await client.lastWatch().end(new Error('ECONNRESET'));
    client.rejectNextWatch = new Error('exec plugin: token expired');
    await time.advance(750);
    assert.equal(handler.failures.at(-1)?.message, 'exec plugin: token expired');
    await time.advance(1_500);
    assert.equal(client.watches.length, 2);
    await loop.stop();
  });

  it('when a replaced watch calls back late, then its events and its end are ignored', async () => {
    const { time, client, handler, loop } = await watching();
    const old = client.lastWatch();
    await time.advance(300_000);
    await client.lastList().answer([], '50');
    await old.emit('MODIFIED', obj('p', '999'));
    await old.end(new Error('aborted'));
    assert.deepEqual(handler.changes, []);
    assert.equal(handler.failures.length, 0);
    assert.equal(client.lastWatch().request.resourceVersion, '50');
    await loop.stop();
  });

  it('when the handler throws, then the error is logged and the watch goes on', async () => {
    const { client, handler, loop, lines } = await watching();
    handler.throwOnChange = true;
    await client.lastWatch().emit('ADDED', obj('q', '11'));
    handler.throwOnChange = false;
    await client.lastWatch().emit('ADDED', obj('r', '12'));
    assert.deepEqual(handler.changes, [{ type: 'ADDED', name: 'r' }]);
    assert.ok(lines.some((l) => l.level === 50 && /change handler threw/.test(l.msg)));
    await loop.stop();
  });

  it('when stopped, then the watch is aborted and nothing runs again', async () => {
    const { time, client, loop } = await watching();
    const last = client.lastWatch();
    await last.end(new Error('ECONNRESET'));
    await loop.stop();
    await time.advance(3_600_000);
    assert.equal(client.lists.length, 1);
    assert.equal(client.watches.length, 1);
    assert.deepEqual(time.pendingDelays(), []);
  });
});
