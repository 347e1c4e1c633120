import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { uidOfBody } from '../admission/decode.ts';
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

const parseJson = express.json({ limit: MAX_REVIEW_BYTES, strict: false, type: () => true });

/** Parses the body as JSON, refusing other content types with an error that names them. */
export function jsonBody(): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const json = req.is('application/json');
    if (json === null || req.headers['content-length'] === '0') {
      next(new ReviewError('GA_REVIEW_NOT_JSON', 'the request has no body; send an AdmissionReview as application/json'));
      return;
    }
    if (json === false) {
      const type = req.headers['content-type'];
      next(new ReviewError('GA_REVIEW_CONTENT_TYPE', `content-type must be application/json, got ${type ?? 'none'}`));
      return;
    }
    parseJson(req, res, (err?: unknown) => {
      if (err !== undefined) next(bodyError(err));
      else if (depthOver(req.body, MAX_JSON_DEPTH)) {
        next(new ReviewError('GA_REVIEW_TOO_DEEP', `the body nests deeper than ${MAX_JSON_DEPTH} levels; no Kubernetes object does`, uidOfBody(req.body)));
      } else next();
    });
  };
}

/**
 * How deep a review's JSON may nest. Kubernetes objects stay far below it (a pod template inside
 * a JobSet is about 30 levels); deeper bodies would overflow the stack of recursive JSON tools.
 */
export const MAX_JSON_DEPTH = 256;

/** Whether the value nests deeper than `limit`, found without recursion. */
function depthOver(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (typeof v !== 'object' || v === null) continue;
    if (depth > limit) return true;
    for (const child of Object.values(v)) if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
  }
  return false;
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
      return new ReviewError('GA_REVIEW_TOO_LARGE',
        `the body is ${e.length ?? 'more than'} bytes, over the limit of ${MAX_REVIEW_BYTES} bytes (${MAX_REVIEW_BYTES / MiB} MiB)`);
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
