import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createPolicySource, type ConfigMapObject } from '../../src/kube/policy-reloader.ts';
import { DEFAULT_POLICY_YAML } from '../../src/policy/default-policy.ts';
import type { PolicyEvent } from '../../src/policy/source.ts';
import { captureLogger, FakeTime, goneStatus, httpError, RecordingRecorder, ScriptedClient, settle } from './fakes.ts';

const LOCATION = { namespace: 'gpu-admission', name: 'gpu-admission-policy', key: 'policy.yaml' };

/** The default policy with its first pool's card memory changed — still valid. */
const EDITED_YAML = DEFAULT_POLICY_YAML.replace('memory: 15Gi', 'memory: 16Gi');

/** Two broken fields at once: every path must reach the log. */
const BROKEN_YAML = DEFAULT_POLICY_YAML
  .replace('memory: 15Gi', 'memory: 15GB')
  .replace('backend: ack-core-mem', 'backend: amd');

function configMap(resourceVersion: string, text: string | undefined, name = LOCATION.name): ConfigMapObject {
  return {
    metadata: { name, namespace: LOCATION.namespace, uid: 'uid-1', resourceVersion },
    ...(text === undefined ? {} : { data: { [LOCATION.key]: text } }),
  };
}

function setup() {
  const time = new FakeTime();
  const client = new ScriptedClient<ConfigMapObject>();
  const recorder = new RecordingRecorder();
  const { logger, lines } = captureLogger();
  const source = createPolicySource({
    location: LOCATION, client, recorder, logger, clock: time, timers: time, random: () => 0.5,
  });
  const events: PolicyEvent[] = [];
  source.on((event) => events.push(event));
  return { time, client, recorder, lines, source, events };
}

/** Started with the list answering `items` at resourceVersion 100. */
async function started(items: ConfigMapObject[]) {
  const s = setup();
  const start = s.source.start();
  await settle();
  await s.client.lastList().answer(items, '100');
  await start;
  return s;
}

describe('policy source on the watched ConfigMap', () => {
  it('when the ConfigMap holds a valid policy at start-up, then it is in force with revision <resourceVersion>-<hash>', async () => {
    const { time, source, events } = await started([configMap('7', DEFAULT_POLICY_YAML)]);
    const policy = source.current();
    assert.match(policy?.revision ?? '', /^7-[0-9a-f]{12}$/);
    assert.equal(source.notReadyReason(), undefined);
    assert.equal(source.loadedAt(), time.now());
    assert.deepEqual(events.map((e) => e.type), ['loaded']);
    await source.stop();
  });

  it('when a valid edit arrives, then it replaces the policy in one step and a review holding the old one still sees all of the old one', async () => {
    const { time, client, source, events } = await started([configMap('7', DEFAULT_POLICY_YAML)]);
    const inReview = source.current();
    assert.ok(inReview);
    await time.advance(10_000);
    await client.lastWatch().emit('MODIFIED', configMap('8', EDITED_YAML));
    const next = source.current();
    assert.match(next?.revision ?? '', /^8-/);
    assert.equal(next?.pools[0]?.gpu.memory, '16Gi');
    assert.match(inReview.revision, /^7-/);
    assert.equal(inReview.pools[0]?.gpu.memory, '15Gi', 'the old version is untouched');
    assert.ok(Object.isFrozen(inReview.pools[0]?.gpu), 'and cannot be changed under the review');
    assert.equal(source.loadedAt(), time.now());
    assert.deepEqual(events.map((e) => e.type), ['loaded', 'loaded']);
    assert.equal(events[1]?.type === 'loaded' ? events[1].policy : undefined, next);
    await source.stop();
  });

  it('when an invalid edit arrives, then the last good policy stays, every error path is logged, one InvalidPolicy Event is recorded and `invalid` is emitted', async () => {
    const { client, recorder, lines, source, events } = await started([configMap('7', DEFAULT_POLICY_YAML)]);
    const good = source.current();
    await client.lastWatch().emit('MODIFIED', configMap('8', BROKEN_YAML));
    assert.equal(source.current(), good);
    assert.equal(source.notReadyReason(), undefined, 'still ready: the last good policy is enforced');
    const refused = lines.find((l) => /policy edit refused/.test(l.msg));
    assert.ok(refused, 'an error line');
    assert.equal(refused.level, 50);
    const errors = refused.errors as string[];
    assert.ok(errors.some((e) => e.startsWith('/pools/0/gpu/memory')), errors.join('\n'));
    assert.ok(errors.some((e) => e.startsWith('/pools/1/backend')), errors.join('\n'));
    assert.deepEqual(recorder.events.map((e) => e.reason), ['InvalidPolicy']);
    const [event] = recorder.events;
    assert.deepEqual(event?.regarding, {
      apiVersion: 'v1', kind: 'ConfigMap', namespace: 'gpu-admission', name: 'gpu-admission-policy',
      uid: 'uid-1', resourceVersion: '8',
    });
    assert.match(event?.note ?? '', new RegExp(`keeping revision ${good?.revision}`));
    assert.match(event?.note ?? '', /\/pools\/0\/gpu\/memory/);
    const invalid = events.at(-1);
    assert.equal(invalid?.type, 'invalid');
    assert.deepEqual(invalid?.type === 'invalid' ? invalid.errors : [], errors);
    await source.stop();
  });

  it('when a relist sees the same invalid version again, then nothing is logged, recorded or emitted twice', async () => {
    const { time, client, recorder, lines, source, events } = await started([configMap('7', DEFAULT_POLICY_YAML)]);
    await client.lastWatch().emit('MODIFIED', configMap('8', BROKEN_YAML));
    await time.advance(300_000);
    await client.lastList().answer([configMap('8', BROKEN_YAML)], '120');
    assert.equal(recorder.events.length, 1);
    assert.equal(events.filter((e) => e.type === 'invalid').length, 1);
    assert.equal(lines.filter((l) => /policy edit refused/.test(l.msg)).length, 1);
    await source.stop();
  });

  it('when the ConfigMap lacks the policy key, then the version is refused with that path', async () => {
    const { client, source, events } = await started([configMap('7', DEFAULT_POLICY_YAML)]);
    await client.lastWatch().emit('MODIFIED', configMap('8', undefined));
    const last = events.at(-1);
    assert.deepEqual(last?.type === 'invalid' ? last.errors : [], ['/data: no key "policy.yaml" in ConfigMap gpu-admission/gpu-admission-policy']);
    assert.match(source.current()?.revision ?? '', /^7-/);
    await source.stop();
  });

  it('when the ConfigMap is deleted, then the last good policy stays, a PolicyDeleted Event is recorded on it and `deleted` is emitted', async () => {
    const { client, recorder, lines, source, events } = await started([configMap('7', DEFAULT_POLICY_YAML)]);
    const good = source.current();
    await client.lastWatch().emit('DELETED', configMap('9', DEFAULT_POLICY_YAML));
    assert.equal(source.current(), good);
    assert.equal(source.notReadyReason(), undefined);
    assert.deepEqual(events.map((e) => e.type), ['loaded', 'deleted']);
    assert.deepEqual(recorder.events.map((e) => [e.reason, e.regarding.name, e.regarding.uid]), [['PolicyDeleted', 'gpu-admission-policy', 'uid-1']]);
    assert.ok(lines.some((l) => l.level === 40 && /policy ConfigMap deleted; keeping revision 7-/.test(l.msg)));
    await source.stop();
  });

  it('when a relist no longer finds the ConfigMap (the watch missed the delete), then it is handled as deleted once', async () => {
    const { time, client, recorder, source, events } = await started([configMap('7', DEFAULT_POLICY_YAML)]);
    await time.advance(300_000);
    await client.lastList().answer([], '130');
    await time.advance(300_000);
    await client.lastList().answer([], '140');
    assert.deepEqual(events.map((e) => e.type), ['loaded', 'deleted']);
    assert.equal(recorder.events.length, 1);
    assert.match(source.current()?.revision ?? '', /^7-/);
    await source.stop();
  });

  it('when the ConfigMap is absent at start-up, then the source is not ready and says so; when it appears, then it is ready', async () => {
    const { client, source, events } = await started([]);
    assert.equal(source.current(), undefined);
    assert.equal(source.notReadyReason(), 'ConfigMap gpu-admission/gpu-admission-policy not found');
    assert.deepEqual(events, []);
    await client.lastWatch().emit('ADDED', configMap('101', DEFAULT_POLICY_YAML));
    assert.equal(source.notReadyReason(), undefined);
    assert.match(source.current()?.revision ?? '', /^101-/);
    await source.stop();
  });

  it('when the first version is invalid, then the source is not ready and the reason names the first error', async () => {
    const { source, recorder } = await started([configMap('7', BROKEN_YAML)]);
    assert.equal(source.current(), undefined);
    assert.match(source.notReadyReason() ?? '', /^ConfigMap gpu-admission\/gpu-admission-policy is invalid: \/pools\/\d\/.* \(and 1 more\)$/);
    assert.match(recorder.events[0]?.note ?? '', /no policy is in force/);
    await source.stop();
  });

  it('when the first list fails, then the source is not ready with the error and emits `error`; when a retry succeeds, then it is ready', async () => {
    const { time, client, source, events } = setup();
    const start = source.start();
    await settle();
    await client.lastList().fail(httpError(403, 'configmaps is forbidden'));
    await start;
    assert.equal(source.notReadyReason(), 'cannot list ConfigMap gpu-admission/gpu-admission-policy: configmaps is forbidden');
    assert.deepEqual(events, [{ type: 'error', message: 'list of ConfigMap gpu-admission/gpu-admission-policy failed: configmaps is forbidden' }]);
    await time.advance(750);
    await client.lastList().answer([configMap('7', DEFAULT_POLICY_YAML)], '100');
    assert.equal(source.notReadyReason(), undefined);
    await source.stop();
  });

  it('when the watch fails, then `error` is emitted, the policy stays, and after the backoff the watch resumes and picks up edits', async () => {
    const { time, client, source, events } = await started([configMap('7', DEFAULT_POLICY_YAML)]);
    await client.lastWatch().end(new Error('ECONNRESET'));
    assert.equal(events.at(-1)?.type, 'error');
    assert.match(source.current()?.revision ?? '', /^7-/);
    await time.advance(750);
    assert.equal(client.lastWatch().request.resourceVersion, '100');
    await client.lastWatch().emit('MODIFIED', configMap('8', EDITED_YAML));
    assert.match(source.current()?.revision ?? '', /^8-/);
    await source.stop();
  });

  it('when the watch expires (410 Gone), then the relist finds the edit it missed', async () => {
    const { time, client, source, events } = await started([configMap('7', DEFAULT_POLICY_YAML)]);
    await time.advance(60_000);
    await client.lastWatch().emit('ERROR', goneStatus());
    await client.lastList().answer([configMap('8', EDITED_YAML)], '150');
    assert.match(source.current()?.revision ?? '', /^8-/);
    assert.deepEqual(events.map((e) => e.type), ['loaded', 'loaded']);
    await source.stop();
  });

  it('when the watch stalls silently, then the periodic relist finds the edit and says the watch missed it', async () => {
    const { time, client, source, lines } = await started([configMap('7', DEFAULT_POLICY_YAML)]);
    await time.advance(300_000);
    await client.lastList().answer([configMap('8', EDITED_YAML)], '160');
    assert.match(source.current()?.revision ?? '', /^8-/);
    assert.ok(lines.some((l) => /the periodic relist found a change the watch missed/.test(l.msg)));
    await source.stop();
  });

  it('when another ConfigMap shows up in the stream, then it is ignored', async () => {
    const { client, source, events } = await started([configMap('7', DEFAULT_POLICY_YAML)]);
    await client.lastWatch().emit('MODIFIED', configMap('8', BROKEN_YAML, 'someone-else'));
    await client.lastWatch().emit('DELETED', configMap('9', DEFAULT_POLICY_YAML, 'someone-else'));
    assert.deepEqual(events.map((e) => e.type), ['loaded']);
    assert.match(source.current()?.revision ?? '', /^7-/);
    await source.stop();
  });

  it('when a listener throws, then other listeners still hear the event and the policy is still swapped', async () => {
    const { client, source, lines } = await started([]);
    const heard: string[] = [];
    source.on(() => { throw new Error('listener bug'); });
    source.on((e) => heard.push(e.type));
    await client.lastWatch().emit('ADDED', configMap('101', DEFAULT_POLICY_YAML));
    assert.deepEqual(heard, ['loaded']);
    assert.ok(source.current());
    assert.ok(lines.some((l) => /listener threw/.test(l.msg)));
    await source.stop();
  });

  it('when a listener unsubscribes, then it hears nothing more', async () => {
    const { client, source } = await started([]);
    const heard: string[] = [];
    const off = source.on((e) => heard.push(e.type));
    off();
    await client.lastWatch().emit('ADDED', configMap('101', DEFAULT_POLICY_YAML));
    assert.deepEqual(heard, []);
    await source.stop();
  });
});
