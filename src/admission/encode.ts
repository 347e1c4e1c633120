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
 * The one builder of every AdmissionReview the webhook sends, errors included. It always echoes
 * the request's uid (empty only when the body was too broken to carry one), sends a base64
 * JSONPatch only when the patch changes something, and keeps warnings within 120 characters.
 */
export function encodeReview(uid: string, verdict: Verdict): AdmissionReview {
  const response: AdmissionResponse = { uid, allowed: verdict.allowed };
  if (verdict.allowed && verdict.patch && verdict.patch.length > 0) {
    response.patchType = 'JSONPatch';
    response.patch = Buffer.from(JSON.stringify(verdict.patch)).toString('base64');
  }
  if (!verdict.allowed) {
    response.status = { code: verdict.code, ...(verdict.reason ? { reason: verdict.reason } : {}), message: verdict.message };
  }
  const warnings = verdict.warnings?.filter((w) => w !== '').map(clampWarning) ?? [];
  if (warnings.length > 0) response.warnings = warnings;
  return { apiVersion: ADMISSION_API_VERSION, kind: ADMISSION_KIND, response };
}
