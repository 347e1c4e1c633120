import type { IncomingMessage, ServerResponse } from 'node:http';
import { StringDecoder } from 'node:string_decoder';
import express from 'express';
import { ReviewError } from '../admission/errors.ts';

const MiB = 1024 * 1024;

/**
 * The largest AdmissionReview body accepted. The API server refuses request bodies over 3 MiB
 * and etcd stores objects of 1.5 MiB at most, so a pod under review (CREATE: the object once) is
 * at most about 3 MiB as JSON; a policy ConfigMap (UPDATE: object and oldObject) at most 2 × 1 MiB.
 * 4 MiB admits every review a real API server sends us and bounds what a caller can make a
 * replica hold; with the in-flight cap (--max-in-flight) it bounds peak memory
 * (docs/reliability.md).
 */
export const MAX_REVIEW_BYTES = 4 * MiB;

/**
 * How many JSON values (objects, arrays, scalars) a review may hold. A real pod, or a workload
 * with dozens of pod templates, holds a few thousand; a body of a million tiny objects (`{}`
 * tolerations, 3 MB) costs about 50 times its size on the heap once parsed. So the text is
 * counted before it is parsed, and a wider body is refused without building it.
 */
export const MAX_JSON_VALUES = 100_000;

/**
 * How deep a review's JSON may nest. Kubernetes objects stay far below it (a pod template inside
 * a JobSet is about 30 levels); deeper bodies would overflow the stack of recursive JSON tools.
 */
export const MAX_JSON_DEPTH = 256;

const readText = express.text({ limit: MAX_REVIEW_BYTES, type: () => true, defaultCharset: 'utf-8' });
const DIGITS = /^\d+$/;
/** express's own `req.is` (type-is), on a request that has not been through express. */
const requestIs = express.request.is;

/**
 * Reads the body as text: what the API server sends (UTF-8, not compressed, its length given)
 * directly, everything else through body-parser (express.text), whose errors and limits both
 * paths share: a declared length over the limit is refused unread, an aborted upload is
 * `request.aborted`, a leading byte order mark is dropped.
 */
function readBody(req: IncomingMessage, res: ServerResponse, charset: string | undefined, done: (err: unknown, text?: string) => void): void {
  const length = req.headers['content-length'];
  const encoding = req.headers['content-encoding'];
  const plain = (charset === undefined || charset === 'utf-8' || charset === 'utf8')
    && (encoding === undefined || encoding.toLowerCase() === 'identity') && length !== undefined && DIGITS.test(length);
  if (!plain || Number(length) > MAX_REVIEW_BYTES || req.readableEnded || req.destroyed) {
    const parsed = req as IncomingMessage & { body?: unknown };
    readText(parsed as never, res as never, (err?: unknown) => done(err, typeof parsed.body === 'string' ? parsed.body : ''));
    return;
  }
  readDeclared(req, Number(length), done);
}

/**
 * A body of a declared length (the HTTP parser holds it to that length), as UTF-8 text. Each
 * chunk is decoded as it comes, so the socket's buffers die young (a scavenge frees them), not
 * after the review in old space where only a full collection would, however much they weigh.
 */
function readDeclared(req: IncomingMessage, length: number, done: (err: unknown, text?: string) => void): void {
  const decoder = new StringDecoder('utf8');
  let text = '';
  let received = 0;
  let finished = false;
  const finish = (err: unknown, body?: string): void => {
    if (finished) return;
    finished = true;
    req.off('data', onData).off('end', onEnd).off('error', onAborted).off('close', onClose);
    done(err, body);
  };
  const onData = (chunk: Buffer): void => {
    received += chunk.length;
    text += decoder.write(chunk);
  };
  const onEnd = (): void => {
    text += decoder.end();
    finish(undefined, text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  };
  // As raw-body names it: the client went away before the whole body came.
  const onAborted = (): void => finish(Object.assign(new Error('request aborted'), {
    status: 400, statusCode: 400, expose: true, code: 'ECONNABORTED', expected: length, length, received, type: 'request.aborted',
  }));
  const onClose = (): void => {
    if (!req.complete) onAborted();
  };
  req.on('data', onData).on('end', onEnd).on('error', onAborted).on('close', onClose);
}

/**
 * Whether a text might cross a bound at all: values are at most one per character, and the
 * nesting at most the number of `{` and `[` in it. A review of a few KiB is then known to be
 * within both without being scanned character by character.
 */
function mayCrossBounds(text: string, maxDepth: number, maxValues: number): boolean {
  if (text.length >= maxValues) return true;
  let opens = 0;
  for (const c of ['{', '[']) {
    for (let i = text.indexOf(c); i !== -1; i = text.indexOf(c, i + 1)) {
      opens += 1;
      if (opens > maxDepth) return true;
    }
  }
  return false;
}

/**
 * Reads a review's body as JSON, refusing other content types, and bodies too deep or too wide,
 * with errors that name them (ReviewErrors; anything else, such as an aborted upload, as it came).
 * Works on Node's own request and response: express need not have seen them.
 */
export function readJsonBody(req: IncomingMessage, res: ServerResponse, done: (err: unknown, body?: unknown) => void): void {
  // What the API server sends (`application/json`, its length given) is JSON as type-is would say; anything else is asked of it.
  const json = req.headers['content-type'] === 'application/json' && DIGITS.test(req.headers['content-length'] ?? '')
    ? 'application/json' : requestIs.call(req as never, 'application/json');
  if (json === null || req.headers['content-length'] === '0') {
    done(new ReviewError('GA_REVIEW_NOT_JSON', 'the request has no body; send an AdmissionReview as application/json'));
    return;
  }
  if (json === false) {
    const type = req.headers['content-type'];
    done(new ReviewError('GA_REVIEW_CONTENT_TYPE', `content-type must be application/json, got ${type ?? 'none'}`));
    return;
  }
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.headers['content-type'] ?? '')?.[1]?.toLowerCase();
  if (charset !== undefined && !charset.startsWith('utf-')) {
    done(new ReviewError('GA_REVIEW_CONTENT_TYPE', `unsupported charset "${charset.toUpperCase()}"`));
    return;
  }
  readBody(req, res, charset, (err, body) => {
    if (err !== undefined) {
      done(bodyError(err));
      return;
    }
    const text = body ?? '';
    // Counted before it is parsed (when it could cross a bound at all).
    const shape = mayCrossBounds(text, MAX_JSON_DEPTH, MAX_JSON_VALUES) ? scanJson(text, MAX_JSON_DEPTH, MAX_JSON_VALUES) : WITHIN;
    if (shape.over === 'depth') {
      done(new ReviewError('GA_REVIEW_TOO_DEEP', `the body nests deeper than ${MAX_JSON_DEPTH} levels; no Kubernetes object does`, shape.uid));
    } else if (shape.over === 'values') {
      done(new ReviewError('GA_REVIEW_TOO_WIDE', `the body holds more than ${MAX_JSON_VALUES} JSON values (lists and maps counted `
        + 'item by item); no Kubernetes pod or workload does, so it is refused before it is read', shape.uid));
    } else {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text) as unknown;
      } catch (e) {
        // The uid, for the refusal to echo: from the scan, made now if it was not needed before.
        const uid = shape === WITHIN ? scanJson(text, MAX_JSON_DEPTH, MAX_JSON_VALUES).uid : shape.uid;
        done(new ReviewError('GA_REVIEW_NOT_JSON', `the body is not valid JSON: ${(e as Error).message}`, uid));
        return;
      }
      done(undefined, parsed);
    }
  });
}

/** What a scan of a JSON text found: the first bound it crossed, and the review's uid where it sits (request.uid). */
export interface JsonShape {
  readonly over?: 'depth' | 'values';
  readonly uid?: string;
}

const WITHIN: JsonShape = {};

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Counts the values and the nesting of a JSON text in one pass, without parsing it: every
 * object, array and comma outside strings (a value follows each comma). It names the first
 * bound crossed (then it only looks for the uid). On the way it picks the review's `request.uid`, so that even a refusal of an
 * unparsed body echoes it. Invalid JSON is left for JSON.parse to name.
 */
export function scanJson(text: string, maxDepth: number, maxValues: number): JsonShape {
  let depth = 0;
  let values = text.length > 0 ? 1 : 0;
  let uid: string | undefined;
  let requestDepth = 0; // the depth of the request object while inside it, else 0
  let lastKey = '';
  let lastKeyDepth = -1;
  let over: JsonShape['over'];
  // Past a bound the scan goes on only to find the uid (it may come after the offending value).
  for (let i = 0; i < text.length && !(over && (uid !== undefined || requestDepth === -1)); i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const start = i;
      i++;
      while (i < text.length && text.charCodeAt(i) !== QUOTE) i += text.charCodeAt(i) === BACKSLASH ? 2 : 1;
      // Keys and the uid are read only where they matter (depth 1 and 2).
      if (depth <= 2) {
        let j = i + 1;
        while (j < text.length && (text.charCodeAt(j) <= 0x20)) j++;
        if (text.charCodeAt(j) === 0x3a) { // a key
          lastKey = text.slice(start + 1, i);
          lastKeyDepth = depth;
        } else if (uid === undefined && requestDepth === 2 && depth === 2 && lastKeyDepth === 2 && lastKey === 'uid') {
          try {
            uid = JSON.parse(text.slice(start, i + 1)) as string;
          } catch {
            // not a valid string: JSON.parse of the whole body will say so
          }
        }
      }
      continue;
    }
    if (c === 0x7b || c === 0x5b) { // { [
      depth++;
      values++;
      if (depth > maxDepth) over ??= 'depth';
      if (c === 0x7b && depth === 2 && lastKeyDepth === 1 && lastKey === 'request' && requestDepth === 0) requestDepth = 2;
    } else if (c === 0x7d || c === 0x5d) { // } ]
      if (depth === requestDepth) requestDepth = -1; // the request object is closed: no uid after it
      depth--;
    } else if (c === 0x2c) { // ,
      values++;
    } else continue;
    if (values > maxValues) over ??= 'values';
  }
  return { ...(over ? { over } : {}), ...(uid ? { uid } : {}) };
}

interface BodyParserError {
  readonly type?: string;
  readonly status?: number;
  readonly length?: number;
  readonly limit?: number;
  readonly message: string;
}

/** Maps body-parser's errors to review errors; an aborted upload (no one left to answer) passes through. */
function bodyError(err: unknown): unknown {
  const e = err as BodyParserError;
  switch (e.type) {
    case 'entity.parse.failed':
      return new ReviewError('GA_REVIEW_NOT_JSON', `the body is not valid JSON: ${e.message}`);
    case 'entity.too.large':
      return new ReviewError('GA_REVIEW_TOO_LARGE', `the body ${e.length === undefined ? 'inflates to more than' : `is ${e.length} bytes,`} `
        + `over the limit of ${MAX_REVIEW_BYTES} bytes (${MAX_REVIEW_BYTES / MiB} MiB)`);
    case 'charset.unsupported':
    case 'encoding.unsupported':
      return new ReviewError('GA_REVIEW_CONTENT_TYPE', e.message);
    case 'request.aborted':
      return err;
    default:
      return e.status !== undefined && e.status >= 400 && e.status < 500
        ? new ReviewError('GA_REVIEW_MALFORMED', `the body could not be read: ${e.message}`)
        : err;
  }
}
