/**
 * The webhook cannot decide right now through no fault of the request: no policy in force yet,
 * or the pod's namespace not yet seen by the namespace watch. Answered with HTTP 503 and, like
 * every internal error, left to the webhook configuration's failurePolicy (docs/adr/0001).
 */
export class UnavailableError extends Error {
  readonly code: 'GA_NO_POLICY' | 'GA_NAMESPACE_UNKNOWN';
  constructor(code: UnavailableError['code'], message: string) {
    super(message);
    this.name = 'UnavailableError';
    this.code = code;
  }
}
