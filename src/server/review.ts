import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Level, Logger } from 'pino';
import { encodeReview, refuse, reviewText, type Verdict } from '../admission/encode.ts';
import { ReviewError } from '../admission/errors.ts';
import { decodeReview } from '../admission/decode.ts';
import type { AdmissionRequest, AdmissionResponse } from '../admission/types.ts';
import { readJsonBody } from './body.ts';
import { UnavailableError } from './errors.ts';
import type { Metrics, ReviewResult, Webhook } from './metrics.ts';

/** What a webhook's handler made of one review. */
export interface ReviewOutcome {
  readonly verdict: Verdict;
  readonly result: Exclude<ReviewResult, 'invalid' | 'error'>;
  /** Why it was denied: the code counted in denials_total. */
  readonly reason?: string;
  /** The pools a patched pod was routed to, each with its backend. */
  readonly routed?: readonly { readonly pool: string; readonly backend: string }[];
  /** The policy revision the decision was made with. */
  readonly revision?: string;
}

/** Decides one decoded review. May throw a ReviewError (bad input) or anything else (our bug). */
export type ReviewHandler = (request: AdmissionRequest, log: ReviewLog) => ReviewOutcome;

export interface ReviewDeps {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly now: () => number;
  /** How "cannot decide yet" is answered: a refusal with the reason (HTTP 200), or HTTP 503. */
  readonly notReadyAnswer: 'deny' | 'unavailable';
  readonly inFlight: InFlightLimit;
}

/**
 * A cap on reviews being read and decided at once, counted from before the body is read until
 * the answer is written. Reviews over the cap wait with their bodies unread (TCP holds them back,
 * not our memory) until a slot frees or the request timeout ends them. The waiting line is fair
 * per client (remote address): a freed slot goes to the client that waited longest for its turn,
 * round robin, so one client's pile of slow or hostile requests delays another's by one turn, not
 * by the pile. When the line is full, a newcomer takes the place of the newest waiter of the
 * client holding most places (that one is refused), unless the newcomer's client holds most.
 */
export interface InFlightLimit {
  /**
   * Runs `go` now if a slot is free, else when one frees. False when the line is full and this
   * client holds most of it; `refuse` is called if the waiter is later pushed out of the line.
   */
  enter(client: string, go: () => void, refuse: () => void): boolean;
  /** Frees a slot: the next waiting review takes it. */
  leave(): void;
  /** Milliseconds the longest-waiting review has waited (0 when none waits): readiness reads it. */
  oldestWait(now: number): number;
  readonly max: number;
  readonly maxWaiting: number;
}

interface Waiter {
  readonly go: () => void;
  readonly refuse: () => void;
  readonly since: number;
}

export function inFlightLimit(max: number, maxWaiting = 32 * max, clock: () => number = () => performance.now()): InFlightLimit {
  let current = 0;
  let waitingCount = 0;
  // Each client's waiters in arrival order; the Map's order is the round robin (a client served goes last).
  const lines = new Map<string, Waiter[]>();
  const take = (): Waiter | undefined => {
    for (const [client, line] of lines) {
      const next = line.shift();
      lines.delete(client);
      if (line.length > 0) lines.set(client, line); // to the back of the round
      if (next) {
        waitingCount -= 1;
        return next;
      }
    }
    return undefined;
  };
  return {
    max,
    maxWaiting,
    enter(client, go, refuse) {
      if (current < max) {
        current += 1;
        go();
        return true;
      }
      if (waitingCount >= maxWaiting) {
        let biggest: [string, Waiter[]] | undefined;
        for (const entry of lines) if (!biggest || entry[1].length > biggest[1].length) biggest = entry;
        const mine = lines.get(client)?.length ?? 0;
        if (!biggest || biggest[1].length <= mine + 1) return false;
        const pushed = biggest[1].pop() as Waiter;
        waitingCount -= 1;
        pushed.refuse();
      }
      const line = lines.get(client);
      if (line) line.push({ go, refuse, since: clock() });
      else lines.set(client, [{ go, refuse, since: clock() }]);
      waitingCount += 1;
      return true;
    },
    leave() {
      const next = take();
      if (next) next.go(); // the slot passes on
      else current -= 1;
    },
    oldestWait(now) {
      let oldest = now;
      for (const line of lines.values()) if (line[0] && line[0].since < oldest) oldest = line[0].since;
      return now - oldest;
    },
  };
}

/**
 * How long a review may take to send its body once it holds a slot. The API server sends a body
 * of a few MiB at once; a client that trickles holds a slot only this long.
 */
export const BODY_TIMEOUT_MS = 2_000;
/**
 * How long an answer may take to reach the client once written. A client that never reads holds
 * its socket, not a slot (the slot is freed once the answer is written), and is cut after this.
 */
export const WRITE_TIMEOUT_MS = 10_000;

/** A review's answer: its HTTP status and outcome; `reason` is the error code when it failed. */
interface Answer {
  readonly status: number;
  readonly outcome: Omit<ReviewOutcome, 'result'> & { readonly result: ReviewResult };
}

/** The fields every log line of one review carries. */
type ReviewFields = Record<string, unknown>;

/**
 * One review's logger: a child of the root logger with the review's fields (who asked what about
 * which object), made only when a handler writes a line of its own. The review's one line is
 * written by the root with the same fields, so most reviews make no child at all.
 */
export class ReviewLog {
  readonly #root: Logger;
  readonly #fields: ReviewFields;
  #logger: Logger | undefined;
  constructor(root: Logger, fields: ReviewFields) {
    this.#root = root;
    this.#fields = fields;
  }

  /** The review's logger: every line it writes carries the review's fields. */
  get logger(): Logger {
    this.#logger ??= this.#root.child(this.#fields);
    return this.#logger;
  }

  /** Whether a line at this level would be written (without making the logger). */
  enabled(level: Level): boolean {
    return this.#root.isLevelEnabled(level);
  }

  /** The review's one line, written by the root: the review's fields, then how it ended. */
  write(level: 'info' | 'warn', msg: string, outcome: Answer['outcome'], sent: AdmissionResponse | undefined, seconds: number): void {
    this.#root[level](logLine({ ...this.#fields }, outcome, sent, seconds), msg);
  }
}

/**
 * One webhook endpoint on Node's own request and response, so that the app can serve it without
 * express (create-app.ts); `fail` is the app's answer to what is no review's failure (an aborted
 * upload, a bug outside the handler), as express's error handler gives it.
 */
export type ReviewEndpoint = (req: IncomingMessage, res: ServerResponse, fail: (err: unknown) => void) => void;

/**
 * One webhook endpoint: take a slot (or wait for one), read the body, decode the AdmissionReview,
 * run the handler, answer with the one response builder, then log one line and count it. Errors
 * map to HTTP statuses here and only here: bad input 400, not ready 503, anything else 500
 * (docs/adr/0001-internal-errors.md).
 */
export function reviewEndpoint(webhook: Webhook, handler: ReviewHandler, deps: ReviewDeps): ReviewEndpoint {
  const webhookOnly: ReviewFields = { webhook };
  const reply = (res: ServerResponse, log: ReviewLog, uid: string, answer: Answer, started: number, leave?: () => void): void => {
    // One string: Node writes it with the headers in one socket write.
    const review = encodeReview(uid, answer.outcome.verdict);
    const body = reviewText(review);
    res.writeHead(answer.status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
    // A client that does not read its answer keeps its socket for WRITE_TIMEOUT_MS at most, and no slot.
    if (!res.writableFinished) {
      const cut = setTimeout(() => res.destroy(), WRITE_TIMEOUT_MS);
      cut.unref();
      res.once('close', () => clearTimeout(cut));
    }
    if (leave) queueMicrotask(leave);
    const seconds = (deps.now() - started) / 1000;
    count(deps.metrics, webhook, answer.outcome, seconds);
    const level = answer.status >= 400 ? 'warn' : 'info';
    const msg = answer.status >= 500 ? 'review failed' : answer.status >= 400 ? 'review rejected as unreadable' : 'review';
    log.write(level, msg, answer.outcome, review.response, seconds);
  };
  const decideBody = (res: ServerResponse, body: unknown, started: number, leave: () => void): void => {
    let request: AdmissionRequest | undefined;
    let log: ReviewLog | undefined;
    try {
      request = decodeReview(body);
      log = new ReviewLog(deps.logger, reviewContext(webhook, request));
      reply(res, log, request.uid, { status: 200, outcome: handler(request, log) }, started, leave);
    } catch (err) {
      const uid = request?.uid ?? uidOf(err);
      log ??= new ReviewLog(deps.logger, uid ? { uid, webhook } : webhookOnly);
      reply(res, log, uid, failure(err, uid, log, deps.notReadyAnswer), started, leave);
    }
  };
  return (req, res, fail) => {
    const started = deps.now();
    let left = false;
    const leave = (): void => {
      if (!left) deps.inFlight.leave();
      left = true;
    };
    const go = (): void => {
      if (req.socket.destroyed || res.writableEnded) { // gone while it waited (timed out, or the client left)
        leave();
        return;
      }
      res.on('close', leave);
      // The body must follow at once: a trickling upload gives its slot up after BODY_TIMEOUT_MS.
      const timer = setTimeout(() => {
        if (!req.complete) {
          deps.logger.warn({ webhook, client: req.socket.remoteAddress, timeoutMs: BODY_TIMEOUT_MS }, 'review body not sent in time; connection closed');
          req.socket.destroy();
        }
      }, BODY_TIMEOUT_MS);
      timer.unref();
      const stop = (): void => clearTimeout(timer);
      req.once('end', stop);
      res.once('close', stop);
      readJsonBody(req, res, (err, body) => {
        try {
          if (err === undefined) decideBody(res, body, started, leave);
          else if (err instanceof ReviewError) {
            const log = new ReviewLog(deps.logger, webhookOnly);
            reply(res, log, err.uid ?? '', failure(err, err.uid ?? '', log, deps.notReadyAnswer), started, leave);
          } else fail(err);
        } catch (e) {
          fail(e);
        }
      });
    };
    const busy = (): void => {
      // Before the body is read: a burst of large reviews cannot pile up in memory.
      const message = `gpu-admission is deciding ${deps.inFlight.max} reviews and holding ${deps.inFlight.maxWaiting} more; retry`;
      res.setHeader('retry-after', '1');
      res.setHeader('connection', 'close'); // its body is never read
      reply(res, new ReviewLog(deps.logger, webhookOnly), '', { status: 429, outcome: { result: 'error', reason: 'GA_BUSY', verdict: refuse(429, message, 'TooManyRequests') } }, started);
    };
    if (!deps.inFlight.enter(req.socket.remoteAddress ?? '', go, busy)) busy();
  };
}

const uidOf = (err: unknown): string => (err instanceof ReviewError ? err.uid ?? '' : '');

function failure(err: unknown, uid: string, log: ReviewLog, notReady: ReviewDeps['notReadyAnswer']): Answer {
  if (err instanceof ReviewError) {
    return { status: 400, outcome: { result: 'invalid', reason: err.code, verdict: refuse(400, err.message, 'BadRequest') } };
  }
  if (err instanceof UnavailableError) {
    // Under failurePolicy Fail both refuse the pod; the AdmissionReview says why, a 503 does not reach the user.
    const verdict = refuse(503, notReady === 'deny' ? `${err.message}; GPU pods are refused until it can decide` : err.message, 'ServiceUnavailable');
    return { status: notReady === 'deny' ? 200 : 503, outcome: { result: 'error', reason: err.code, verdict } };
  }
  log.logger.error({ err }, 'internal error while deciding a review');
  const message = `gpu-admission could not decide this request (internal error); its log has the details under uid "${uid}"`;
  return { status: 500, outcome: { result: 'error', verdict: refuse(500, message, 'InternalError') } };
}

/** How the review ended, added to its fields for its one log line: never the object, never the patch. */
function logLine(line: ReviewFields, outcome: Answer['outcome'], sent: AdmissionResponse | undefined, seconds: number): ReviewFields {
  const { verdict } = outcome;
  line.result = outcome.result;
  if (outcome.revision) line.revision = outcome.revision;
  if (outcome.routed) {
    line.pools = outcome.routed.map((r) => r.pool);
    line.backends = [...new Set(outcome.routed.map((r) => r.backend))];
  }
  if (verdict.allowed) {
    line.patchOps = verdict.patch?.length ?? 0;
  } else {
    line.code = verdict.code;
    line.reason = outcome.reason ?? verdict.reason;
    // The message as sent: within its bound, so a hostile request cannot write a huge log line.
    line.message = sent?.status?.message;
  }
  if (sent?.warnings && sent.warnings.length > 0) line.warnings = sent.warnings.length;
  line.durationMs = Math.round(seconds * 1e6) / 1e3;
  return line;
}

function count(metrics: Metrics, webhook: Webhook, outcome: Answer['outcome'], seconds: number): void {
  metrics.reviews.inc({ webhook, result: outcome.result });
  metrics.duration.observe({ webhook }, seconds);
  if (outcome.result === 'denied') metrics.denials.inc({ webhook, reason: outcome.reason ?? 'denied' });
  for (const { pool, backend } of outcome.routed ?? []) metrics.routed.inc({ pool, backend });
}

/** The fields every log line of one review carries: who asked what about which object. */
function reviewContext(webhook: Webhook, request: AdmissionRequest): Record<string, unknown> {
  const meta = metadataOf(request.object ?? request.oldObject);
  const owner = meta.ownerReferences?.find((o) => o.controller) ?? meta.ownerReferences?.[0];
  return {
    uid: request.uid,
    webhook,
    kind: request.kind.kind,
    operation: request.operation,
    namespace: request.namespace ?? meta.namespace,
    ...objectName(request.name || meta.name, meta.generateName),
    ...(owner ? { owner: `${owner.kind}/${owner.name}` } : {}),
    user: request.userInfo.username,
    ...(request.dryRun ? { dryRun: true } : {}),
  };
}

/** The object's name, or its generateName when the API server has not named it yet (CREATE). */
function objectName(name: string | undefined, generateName: string | undefined): Record<string, string> {
  if (name) return { name };
  return generateName ? { generateName } : {};
}

interface LoggedMetadata {
  name?: string;
  generateName?: string;
  namespace?: string;
  ownerReferences?: { kind?: string; name?: string; controller?: boolean }[];
}

function metadataOf(object: unknown): LoggedMetadata {
  const meta = (object as { metadata?: unknown } | null | undefined)?.metadata;
  if (typeof meta !== 'object' || meta === null) return {};
  const m = meta as LoggedMetadata;
  return {
    ...(typeof m.name === 'string' ? { name: m.name } : {}),
    ...(typeof m.generateName === 'string' ? { generateName: m.generateName } : {}),
    ...(typeof m.namespace === 'string' ? { namespace: m.namespace } : {}),
    ...(Array.isArray(m.ownerReferences) ? { ownerReferences: m.ownerReferences.filter((o) => typeof o === 'object' && o !== null) } : {}),
  };
}
