/**
 * AdmissionReview `admission.k8s.io/v1` as it travels on the wire, with Kubernetes' own field
 * names (k8s.io/api/admission/v1). Only what the webhook reads or writes is typed; the rest of
 * the request passes through unread.
 */

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';
export const ADMISSION_KIND = 'AdmissionReview';

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export interface GroupVersionResource {
  group: string;
  version: string;
  resource: string;
}

export interface UserInfo {
  username?: string;
  uid?: string;
  groups?: string[];
}

export interface AdmissionRequest {
  /** Identifies this admission call; the response must carry it back. */
  uid: string;
  /** The kind of the object under review, e.g. `{group: "", version: "v1", kind: "Pod"}`. */
  kind: GroupVersionKind;
  resource: GroupVersionResource;
  /** Set for subresources such as `status` or `ephemeralcontainers`. */
  subResource?: string;
  requestKind?: GroupVersionKind;
  requestResource?: GroupVersionResource;
  /** The object's name; empty on CREATE when the object only has a generateName. */
  name?: string;
  namespace?: string;
  operation: Operation;
  userInfo: UserInfo;
  /** The object from the incoming request (absent on DELETE). */
  object?: unknown;
  /** The existing object (UPDATE and DELETE only). */
  oldObject?: unknown;
  /** When true, nothing will be persisted; a webhook with side effects must skip them. */
  dryRun?: boolean;
  options?: unknown;
}

/** metav1.Status, the part a webhook fills in on a refusal. */
export interface Status {
  /** HTTP-like code shown to the client, e.g. 403. */
  code: number;
  /** A CamelCase machine word, e.g. `Forbidden`. */
  reason?: string;
  message: string;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: Status;
  /** Base64 of a JSON Patch (RFC 6902); present only with `patchType`. */
  patch?: string;
  patchType?: 'JSONPatch';
  /** Shown to the client as `Warning:` lines; Kubernetes asks for ≤ 120 characters each. */
  warnings?: string[];
}

export interface AdmissionReview {
  apiVersion: typeof ADMISSION_API_VERSION;
  kind: typeof ADMISSION_KIND;
  request?: AdmissionRequest;
  response?: AdmissionResponse;
}
