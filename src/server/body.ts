import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { ReviewError } from '../admission/errors.ts';

const MiB = 1024 * 1024;

/**
 * The largest AdmissionReview body accepted. The API server refuses request bodies over 3 MiB,
 * so the object under review is at most that; an UPDATE review carries it twice (object and
 * oldObject, which the policy ConfigMap validation receives), and the review's envelope plus the
 * JSON re-encoding of an object that arrived as protobuf add a little more. 2 × 3 MiB + 1 MiB
 * therefore admits every review a real API server can send, and still bounds the memory a
 * caller on the cluster network can make a replica hold.
 */
export const MAX_REVIEW_BYTES = 2 * 3 * MiB + 1 * MiB;

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
    parseJson(req, res, (err?: unknown) => next(err === undefined ? undefined : bodyError(err)));
  };
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
