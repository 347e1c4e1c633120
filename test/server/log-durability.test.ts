// A review line must reach the operating system when it is logged: a webhook killed by the
// cgroup's OOM kill, SIGKILL after the grace period or V8's heap-limit abort runs no exit hook,
// and lines held back in a batch would be lost with the reviews that caused the crash (found by
// review of a batching destination, #23; reverted).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import fs, { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createLogger, logDestination } from '../../src/server/logger.ts';

const dir = mkdtempSync(join(tmpdir(), 'gpu-admission-log-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('the log as a crash leaves it', () => {
  it('when a review line is logged, then its write to the operating system has started when the call returns', async (t) => {
    // sonic-boom starts each write with fs.write (the CommonJS object node:fs exports); the mock calls through.
    const write = t.mock.method(fs, 'write');
    const destination = logDestination(join(dir, 'handed.log')) as ReturnType<typeof logDestination> & NodeJS.EventEmitter & { end(): void };
    await once(destination, 'ready');
    const logger = createLogger('info', destination);
    logger.info({ uid: 'u-1', webhook: 'mutate', result: 'patched' }, 'review');
    const started = write.mock.calls.map((c) => String(c.arguments[1]));
    // Closed only once the write is done: sonic-boom ends after what is pending.
    const closed = once(destination, 'close');
    destination.end();
    await closed;
    t.mock.restoreAll();
    assert.ok(started.some((text) => text.includes('"uid":"u-1"')), `no write started for the line: ${JSON.stringify(started)}`);
  });
});
