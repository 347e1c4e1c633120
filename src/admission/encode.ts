import type { Operation } from 'fast-json-patch';
import { clampWarning } from '../engine/message.ts';
import { ADMISSION_API_VERSION, ADMISSION_KIND, type AdmissionResponse, type AdmissionReview } from './types.ts';

/** What the webhook answers, before it is put on the wire. */
export type Verdict =
  | { readonly allowed: true; readonly patch?: readonly Operation[]; readonly warnings?: readonly string[] }
  | {
    readonly allowed: false;
    /** Shown to the client as the HTTP-like status of the refusal (403 for a policy denial). */
    readonly code: number;
    readonly reason?: string;
    readonly message: string;
    readonly warnings?: readonly string[];
  };

export const allow = (patch?: readonly Operation[], warnings?: readonly string[]): Verdict =>
  ({ allowed: true, ...(patch ? { patch } : {}), ...(warnings ? { warnings } : {}) });

export const refuse = (code: number, message: string, reason?: string, warnings?: readonly string[]): Verdict =>
  ({ allowed: false, code, message, ...(reason ? { reason } : {}), ...(warnings ? { warnings } : {}) });

/**
 * The longest refusal message sent or logged. A denial names each pool's reason in a few dozen
 * characters (a 50-pool policy: about 5 KiB); what the author wrote is echoed only in part.
 */
export const MAX_MESSAGE_CHARS = 8 * 1024;
/** Warnings sent at most; the rest are counted in the last one. */
export const MAX_WARNINGS = 20;

/** The verdict within the bounds of an answer: message length, number of warnings, each warning's length. */
function bounded(verdict: Verdict): Verdict {
  const list = verdict.warnings?.filter((w) => w !== '');
  const warnings = list && list.length > MAX_WARNINGS
    ? [...list.slice(0, MAX_WARNINGS - 1), `… and ${list.length - MAX_WARNINGS + 1} more warnings`] : list;
  const clamped = warnings?.map(clampWarning);
  if (verdict.allowed) return { ...verdict, ...(clamped ? { warnings: clamped } : {}) };
  const { message } = verdict;
  const cut = message.length > MAX_MESSAGE_CHARS
    ? `${message.slice(0, MAX_MESSAGE_CHARS - 60)}… (${message.length - MAX_MESSAGE_CHARS + 60} more characters cut)` : message;
  return { ...verdict, message: cut, ...(clamped ? { warnings: clamped } : {}) };
}

/**
 * The one builder of every AdmissionReview the webhook sends, errors included. It always echoes
 * the request's uid (empty only when the body was too broken to carry one), sends a base64
 * JSONPatch only when the patch changes something, and keeps the message and warnings within
 * their bounds (`bounded`).
 */
export function encodeReview(uid: string, answer: Verdict): AdmissionReview {
  const verdict = bounded(answer);
  const response: AdmissionResponse = { uid, allowed: verdict.allowed };
  if (verdict.allowed && verdict.patch && verdict.patch.length > 0) {
    response.patchType = 'JSONPatch';
    response.patch = Buffer.from(JSON.stringify(verdict.patch)).toString('base64');
  }
  if (!verdict.allowed) {
    response.status = { code: verdict.code, ...(verdict.reason ? { reason: verdict.reason } : {}), message: verdict.message };
  }
  if (verdict.warnings && verdict.warnings.length > 0) response.warnings = [...verdict.warnings];
  return { apiVersion: ADMISSION_API_VERSION, kind: ADMISSION_KIND, response };
}

const PATCH_KEY = '"patch":""';

/**
 * A review as encodeReview built it, as JSON text: what `JSON.stringify(review)` writes, byte for
 * byte, with the base64 patch (kilobytes, every character `A–Z a–z 0–9 + / =`, none that JSON
 * escapes) put in as it is instead of scanned again by the serialiser.
 */
export function reviewText(review: AdmissionReview): string {
  const patch = review.response?.patch;
  if (patch === undefined) return JSON.stringify(review);
  // The key order is the response's own (the patch keeps its place); only the key's empty value is filled.
  const text = JSON.stringify({ ...review, response: { ...review.response, patch: '' } });
  const at = text.indexOf(PATCH_KEY) + PATCH_KEY.length - 1;
  return text.slice(0, at) + patch + text.slice(at);
}
