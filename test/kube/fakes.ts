import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import { pino, type Logger } from 'pino';
import type { Clock, TimerId, Timers } from '../../src/kube/clock.ts';
import type { EventRecorder, RecordedEvent } from '../../src/kube/events.ts';
import type { ListWatchClient, ObjectList, WatchHandle, WatchRequest } from '../../src/kube/list-watch.ts';

/** Lets pending promise callbacks run (no time passes on the fake clock). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

interface Timer {
  readonly id: number;
  readonly at: number;
  readonly delay: number;
  readonly callback: () => void;
}

/** A clock and timers that move only when the test says so. */
export class FakeTime implements Clock, Timers {
  #now = 1_700_000_000_000;
  #next = 0;
  readonly #timers = new Map<number, Timer>();

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): TimerId {
    this.#next += 1;
    this.#timers.set(this.#next, { id: this.#next, at: this.#now + ms, delay: ms, callback });
    return this.#next;
  }

  clearTimeout(id: TimerId): void {
    this.#timers.delete(id as number);
  }

  /** Delays of the timers still pending, soonest first. */
  pendingDelays(): number[] {
    return [...this.#timers.values()].sort((a, b) => a.at - b.at).map((t) => t.delay);
  }

  /** Moves time forward by `ms`, running each timer that falls due, in order. */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    for (;;) {
      const due = [...this.#timers.values()].filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.#timers.delete(due.id);
      this.#now = due.at;
      due.callback();
      await settle();
    }
    this.#now = end;
    await settle();
  }
}

/** One call to `list()`, answered by the test. */
export class ListCall<T> {
  readonly signal: AbortSignal;
  readonly #resolve: (list: ObjectList<T>) => void;
  readonly #reject: (err: unknown) => void;
  constructor(signal: AbortSignal, resolve: (list: ObjectList<T>) => void, reject: (err: unknown) => void) {
    this.signal = signal;
    this.#resolve = resolve;
    this.#reject = reject;
  }
  async answer(items: readonly T[], resourceVersion: string): Promise<void> {
    this.#resolve({ items, resourceVersion });
    await settle();
  }
  async fail(err: unknown): Promise<void> {
    this.#reject(err);
    await settle();
  }
}

/** One call to `watch()`: the test plays the API server's events and the end of the stream. */
export class WatchCall {
  readonly request: WatchRequest;
  aborted = false;
  readonly #onEvent: (type: string, object: unknown) => void;
  readonly #onDone: (err: unknown) => void;
  constructor(request: WatchRequest, onEvent: (type: string, object: unknown) => void, onDone: (err: unknown) => void) {
    this.request = request;
    this.#onEvent = onEvent;
    this.#onDone = onDone;
  }
  async emit(type: string, object: unknown): Promise<void> {
    this.#onEvent(type, object);
    await settle();
  }
  async end(err: unknown = null): Promise<void> {
    this.#onDone(err);
    await settle();
  }
}

/** A ListWatchClient scripted by the test — the injected source; no HTTP involved. */
export class ScriptedClient<T> implements ListWatchClient<T> {
  readonly lists: ListCall<T>[] = [];
  readonly watches: WatchCall[] = [];
  /** When set, the next watch() rejects with it (as client-node's Watch does when auth fails). */
  rejectNextWatch: unknown;

  list(signal: AbortSignal): Promise<ObjectList<T>> {
    return new Promise((resolve, reject) => {
      this.lists.push(new ListCall<T>(signal, resolve, reject));
    });
  }

  async watch(
    request: WatchRequest,
    onEvent: (type: string, object: unknown) => void,
    onDone: (err: unknown) => void,
  ): Promise<WatchHandle> {
    if (this.rejectNextWatch !== undefined) {
      const err = this.rejectNextWatch;
      this.rejectNextWatch = undefined;
      throw err;
    }
    const call = new WatchCall(request, onEvent, onDone);
    this.watches.push(call);
    return { abort: () => { call.aborted = true; } };
  }

  lastList(): ListCall<T> {
    const call = this.lists.at(-1);
    if (!call) throw new Error('list() was not called');
    return call;
  }

  lastWatch(): WatchCall {
    const call = this.watches.at(-1);
    if (!call) throw new Error('watch() was not called');
    return call;
  }
}

export type LogLine = Record<string, unknown> & { level: number; msg: string };

/** A pino logger whose lines the test can read. */
export function captureLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => { lines.push(JSON.parse(line) as LogLine); } });
  return { logger, lines };
}

/** Records what would become Events. */
export class RecordingRecorder implements EventRecorder {
  readonly events: RecordedEvent[] = [];
  async warning(event: RecordedEvent): Promise<void> {
    this.events.push(event);
  }
}

/** Watch failures as client-node reports them. */
export function httpError(statusCode: number, message = `HTTP ${statusCode}`): Error & { statusCode: number } {
  return Object.assign(new Error(message), { statusCode });
}

export function timeoutError(): Error {
  return new DOMException('The operation was aborted due to timeout', 'TimeoutError');
}

export function goneStatus(): object {
  return { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'too old resource version: 1 (42)', reason: 'Expired', code: 410 };
}

/**
 * Starts `server` on a loopback port and points `kubeConfig` at it: plain HTTP (which needs
 * insecure-skip-tls-verify in client-node, whose dispatcher is then the one used) and the bearer
 * token `sekret`; `path` is a proxy's prefix before the API's paths (Rancher's /k8s/clusters/…).
 */
export async function serveKubeConfig(server: Server, kubeConfig: KubeConfig, path = ''): Promise<void> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'c', server: `http://127.0.0.1:${port}${path}`, skipTLSVerify: true }],
    users: [{ name: 'u', token: 'sekret' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
}
