import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createEventRecorder, type EventBody, type EventSeries, type EventSink, type RecordedEvent } from '../../src/kube/events.ts';
import { captureLogger, FakeTime } from './fakes.ts';

class MemorySink implements EventSink {
  readonly created: EventBody[] = [];
  readonly patched: { namespace: string; name: string; series: EventSeries }[] = [];
  failCreate: Error | undefined;
  failPatch: Error | undefined;
  async create(event: EventBody): Promise<string> {
    if (this.failCreate) throw this.failCreate;
    this.created.push(event);
    return `gpu-admission-policy.${this.created.length}`;
  }
  async patchSeries(namespace: string, name: string, series: EventSeries): Promise<void> {
    if (this.failPatch) throw this.failPatch;
    this.patched.push({ namespace, name, series });
  }
}

const regarding = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'gpu-admission', name: 'gpu-admission-policy', uid: 'u1' };
const invalid = (note = '/pools/0/gpu/memory: must be a quantity such as 24Gi'): RecordedEvent =>
  ({ regarding, reason: 'InvalidPolicy', action: 'RefusePolicy', note });

function setup() {
  const time = new FakeTime();
  const sink = new MemorySink();
  const { logger, lines } = captureLogger();
  const recorder = createEventRecorder({ sink, logger, clock: time, reportingInstance: 'gpu-admission-7d9f-abcde' });
  return { time, sink, lines, recorder };
}

describe('events: Warning Events without spam', () => {
  it('when a warning is recorded, then an events.k8s.io Warning Event regarding the object is created with the reporting controller and instance', async () => {
    const { time, sink, recorder } = setup();
    await recorder.warning(invalid());
    assert.deepEqual(sink.created, [{
      ...invalid(), type: 'Warning', eventTime: new Date(time.now()),
      reportingController: 'gpu-admission', reportingInstance: 'gpu-admission-7d9f-abcde',
    }]);
  });

  it('when the same warning repeats, then it is only counted until the series interval has passed, then the Event\'s series is patched', async () => {
    const { time, sink, recorder } = setup();
    await recorder.warning(invalid());
    await time.advance(60_000);
    await recorder.warning(invalid());
    await recorder.warning(invalid());
    assert.equal(sink.created.length, 1);
    assert.equal(sink.patched.length, 0);
    await time.advance(5 * 60_000);
    await recorder.warning(invalid());
    assert.equal(sink.created.length, 1);
    assert.deepEqual(sink.patched, [{
      namespace: 'gpu-admission', name: 'gpu-admission-policy.1',
      series: { count: 4, lastObservedTime: new Date(time.now()) },
    }]);
  });

  it('when an edit flaps between different broken versions, then new Events are capped by the burst and then one per refill period', async () => {
    const { time, sink, recorder } = setup();
    for (let i = 0; i < 25; i += 1) await recorder.warning(invalid(`error number ${i}`));
    assert.equal(sink.created.length, 10);
    await time.advance(5 * 60_000);
    for (let i = 25; i < 30; i += 1) await recorder.warning(invalid(`error number ${i}`));
    assert.equal(sink.created.length, 11);
  });

  it('when another object or reason is concerned, then it has its own budget', async () => {
    const { sink, recorder } = setup();
    for (let i = 0; i < 12; i += 1) await recorder.warning(invalid(`error number ${i}`));
    await recorder.warning({ ...invalid(), reason: 'PolicyDeleted', note: 'deleted' });
    assert.equal(sink.created.length, 11);
    assert.equal(sink.created.at(-1)?.reason, 'PolicyDeleted');
  });

  it('when the API server refuses the Event, then the warning still resolves, the failure is logged and the next occurrence tries again', async () => {
    const { sink, lines, recorder } = setup();
    sink.failCreate = new Error('events.events.k8s.io is forbidden');
    await recorder.warning(invalid());
    assert.ok(lines.some((l) => l.level === 40 && l.msg === 'could not record an Event'));
    sink.failCreate = undefined;
    await recorder.warning(invalid());
    assert.equal(sink.created.length, 1);
  });

  it('when the Event to count has expired, then a new Event is created', async () => {
    const { time, sink, recorder } = setup();
    await recorder.warning(invalid());
    sink.failPatch = new Error('events "gpu-admission-policy.1" not found');
    await time.advance(2 * 3_600_000);
    await recorder.warning(invalid());
    assert.equal(sink.created.length, 2);
  });

  it('when the note is longer than 1 kB, then it is cut to fit, marked with an ellipsis', async () => {
    const { sink, recorder } = setup();
    await recorder.warning(invalid('é'.repeat(2_000)));
    const note = sink.created[0]?.note ?? '';
    assert.ok(Buffer.byteLength(note) <= 1024, `${Buffer.byteLength(note)} bytes`);
    assert.ok(note.endsWith('…'));
    assert.ok(!note.includes('\uFFFD'), 'no character is cut in half');
  });
});
