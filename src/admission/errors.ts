/** Stable codes of the ways an incoming review can be unusable; each is answered with HTTP 400. */
export type ReviewErrorCode =
  | 'GA_REVIEW_CONTENT_TYPE'
  | 'GA_REVIEW_NOT_JSON'
  | 'GA_REVIEW_TOO_LARGE'
  | 'GA_REVIEW_TOO_DEEP'
  | 'GA_REVIEW_TOO_WIDE'
  | 'GA_REVIEW_NOT_AN_OBJECT'
  | 'GA_REVIEW_API_VERSION'
  | 'GA_REVIEW_KIND'
  | 'GA_REVIEW_NO_REQUEST'
  | 'GA_REVIEW_NO_UID'
  | 'GA_REVIEW_MALFORMED'
  | 'GA_REVIEW_NOT_A_POD'
  | 'GA_REVIEW_NOT_A_CONFIGMAP';

/** A review the webhook cannot read. `uid` is set when the request got far enough to carry one. */
export class ReviewError extends Error {
  readonly code: ReviewErrorCode;
  readonly uid: string | undefined;
  constructor(code: ReviewErrorCode, message: string, uid?: string) {
    super(message);
    this.name = 'ReviewError';
    this.code = code;
    this.uid = uid;
  }
}
