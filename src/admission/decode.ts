import type { Pod } from '../engine/pod.ts';
import { ReviewError } from './errors.ts';
import { podShapeProblem } from './pod-shape.ts';
import {
  ADMISSION_API_VERSION, ADMISSION_KIND,
  type AdmissionRequest, type GroupVersionKind, type GroupVersionResource, type Operation,
} from './types.ts';

type Json = Record<string, unknown>;

const OPERATIONS: ReadonlySet<string> = new Set<Operation>(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']);

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
/** A value as a message shows it: short, and never a throw (a value nested too deep to print is named as such). */
function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  try {
    return JSON.stringify(v)?.slice(0, 60) ?? String(v);
  } catch {
    return 'a value nested too deep to show';
  }
}

/**
 * Reads the request of an `admission.k8s.io/v1` AdmissionReview from a parsed JSON body.
 * Throws a ReviewError naming the first problem; once the uid is known the error carries it.
 */
export function decodeReview(body: unknown): AdmissionRequest {
  if (!isObject(body)) throw new ReviewError('GA_REVIEW_NOT_AN_OBJECT', 'the body must be a JSON object (an AdmissionReview)');
  const uid = uidOfBody(body);
  if (body.apiVersion !== ADMISSION_API_VERSION) {
    throw new ReviewError('GA_REVIEW_API_VERSION', `apiVersion must be ${ADMISSION_API_VERSION}, got ${describe(body.apiVersion)}`, uid);
  }
  if (body.kind !== ADMISSION_KIND) {
    throw new ReviewError('GA_REVIEW_KIND', `kind must be ${ADMISSION_KIND}, got ${describe(body.kind)}`, uid);
  }
  const request = body.request;
  if (!isObject(request)) throw new ReviewError('GA_REVIEW_NO_REQUEST', 'the AdmissionReview has no request object');
  if (uid === undefined) throw new ReviewError('GA_REVIEW_NO_UID', 'request.uid must be a non-empty string');
  return readRequest(request, uid);
}

/** The review's uid when the body carries one where it belongs, so that every answer can echo it. */
export function uidOfBody(body: unknown): string | undefined {
  const request = isObject(body) ? body.request : undefined;
  const uid = isObject(request) ? request.uid : undefined;
  return typeof uid === 'string' && uid !== '' ? uid : undefined;
}

function readRequest(request: Json, uid: string): AdmissionRequest {
  const malformed = (field: string, expected: string): ReviewError =>
    new ReviewError('GA_REVIEW_MALFORMED', `request.${field} must be ${expected}, got ${describe(request[field])}`, uid);
  if (!isGvk(request.kind)) throw malformed('kind', 'a {group, version, kind} object');
  if (!isGvr(request.resource)) throw malformed('resource', 'a {group, version, resource} object');
  if (typeof request.operation !== 'string' || !OPERATIONS.has(request.operation)) {
    throw malformed('operation', 'one of CREATE, UPDATE, DELETE, CONNECT');
  }
  for (const field of ['name', 'namespace', 'subResource'] as const) {
    if (request[field] !== undefined && typeof request[field] !== 'string') throw malformed(field, 'a string');
  }
  if (request.userInfo !== undefined && !isObject(request.userInfo)) throw malformed('userInfo', 'an object');
  if (request.dryRun !== undefined && typeof request.dryRun !== 'boolean') throw malformed('dryRun', 'a boolean');
  return { ...request, uid, userInfo: request.userInfo ?? {} } as unknown as AdmissionRequest;
}

function isGvk(v: unknown): v is GroupVersionKind {
  return isObject(v) && typeof v.group === 'string' && typeof v.version === 'string' && typeof v.kind === 'string';
}

function isGvr(v: unknown): v is GroupVersionResource {
  return isObject(v) && typeof v.group === 'string' && typeof v.version === 'string' && typeof v.resource === 'string';
}

/** True when the review is about a core/v1 Pod itself (not a subresource such as status). */
export function isPodReview(request: AdmissionRequest): boolean {
  return request.kind.group === '' && request.kind.kind === 'Pod' && request.resource.resource === 'pods'
    && !request.subResource;
}

/**
 * The pod under review, checked for the shape the engine relies on (containers with names,
 * string maps for labels and annotations, quantities as strings or numbers).
 */
export function decodePod(request: AdmissionRequest): Pod {
  return asPod(request.object, (why) => new ReviewError('GA_REVIEW_NOT_A_POD', `request.object is not a Pod: ${why}`, request.uid));
}

/** Checks the shape the engine relies on (the CLI uses it too); `notAPod` makes the error. */
export function asPod(object: unknown, notAPod: (why: string) => Error): Pod {
  if (!isObject(object)) throw notAPod(`it is ${describe(object)}`);
  const problem = podShapeProblem(object);
  if (problem !== undefined) throw notAPod(problem);
  return object as unknown as Pod;
}

function isStringMap(v: unknown, valueOk: (x: unknown) => boolean): boolean {
  return isObject(v) && Object.values(v).every(valueOk);
}

/** The parts of a core/v1 ConfigMap the policy validation reads. */
export interface ConfigMap {
  metadata?: { name?: string; namespace?: string; [key: string]: unknown };
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

/** True when the review is about a core/v1 ConfigMap. */
export function isConfigMapReview(request: AdmissionRequest): boolean {
  return request.kind.group === '' && request.kind.kind === 'ConfigMap' && request.resource.resource === 'configmaps';
}

export function decodeConfigMap(request: AdmissionRequest): ConfigMap {
  const fail = (why: string): ReviewError => new ReviewError('GA_REVIEW_NOT_A_CONFIGMAP', `request.object is not a ConfigMap: ${why}`, request.uid);
  const object = request.object;
  if (!isObject(object)) throw fail(`it is ${describe(object)}`);
  if (object.kind !== undefined && object.kind !== 'ConfigMap') throw fail(`its kind is ${describe(object.kind)}`);
  if (object.metadata !== undefined && !isObject(object.metadata)) throw fail('metadata must be an object');
  for (const field of ['data', 'binaryData'] as const) {
    const map = object[field];
    if (map !== undefined && map !== null && !isStringMap(map, (v) => typeof v === 'string')) throw fail(`${field} must map keys to strings`);
  }
  return object as ConfigMap;
}
