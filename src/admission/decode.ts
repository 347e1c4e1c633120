import type { Pod } from '../engine/pod.ts';
import { ReviewError } from './errors.ts';
import {
  ADMISSION_API_VERSION, ADMISSION_KIND,
  type AdmissionRequest, type GroupVersionKind, type GroupVersionResource, type Operation,
} from './types.ts';

type Json = Record<string, unknown>;

const OPERATIONS: ReadonlySet<string> = new Set<Operation>(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']);

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const describe = (v: unknown): string => (v === undefined ? 'nothing' : JSON.stringify(v)?.slice(0, 60) ?? String(v));

/**
 * Reads the request of an `admission.k8s.io/v1` AdmissionReview from a parsed JSON body.
 * Throws a ReviewError naming the first problem; once the uid is known the error carries it.
 */
export function decodeReview(body: unknown): AdmissionRequest {
  if (!isObject(body)) throw new ReviewError('GA_REVIEW_NOT_AN_OBJECT', 'the body must be a JSON object (an AdmissionReview)');
  if (body.apiVersion !== ADMISSION_API_VERSION) {
    throw new ReviewError('GA_REVIEW_API_VERSION', `apiVersion must be ${ADMISSION_API_VERSION}, got ${describe(body.apiVersion)}`);
  }
  if (body.kind !== ADMISSION_KIND) {
    throw new ReviewError('GA_REVIEW_KIND', `kind must be ${ADMISSION_KIND}, got ${describe(body.kind)}`);
  }
  const request = body.request;
  if (!isObject(request)) throw new ReviewError('GA_REVIEW_NO_REQUEST', 'the AdmissionReview has no request object');
  const uid = request.uid;
  if (typeof uid !== 'string' || uid === '') throw new ReviewError('GA_REVIEW_NO_UID', 'request.uid must be a non-empty string');
  return readRequest(request, uid);
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
  if (object.kind !== undefined && object.kind !== 'Pod') throw notAPod(`its kind is ${describe(object.kind)}`);
  if (object.metadata !== undefined) checkMetadata(object.metadata, notAPod);
  if (!isObject(object.spec)) throw notAPod('spec is missing');
  const { containers, initContainers } = object.spec;
  if (!Array.isArray(containers)) throw notAPod('spec.containers is missing');
  checkContainers(containers, 'spec.containers', notAPod);
  if (initContainers !== undefined) {
    if (!Array.isArray(initContainers)) throw notAPod('spec.initContainers must be a list');
    checkContainers(initContainers, 'spec.initContainers', notAPod);
  }
  return object as unknown as Pod;
}

type Fail = (why: string) => Error;

function checkMetadata(metadata: unknown, fail: Fail): void {
  if (!isObject(metadata)) throw fail('metadata must be an object');
  for (const field of ['labels', 'annotations'] as const) {
    const map = metadata[field];
    if (map !== undefined && !isStringMap(map, (v) => typeof v === 'string')) throw fail(`metadata.${field} must map strings to strings`);
  }
}

function checkContainers(list: readonly unknown[], path: string, fail: Fail): void {
  list.forEach((c, i) => {
    if (!isObject(c) || typeof c.name !== 'string') throw fail(`${path}[${i}] must be a container with a name`);
    const resources = c.resources;
    if (resources === undefined) return;
    if (!isObject(resources)) throw fail(`${path}[${i}].resources must be an object`);
    for (const side of ['limits', 'requests'] as const) {
      const list = resources[side];
      if (list !== undefined && !isStringMap(list, (v) => typeof v === 'string' || typeof v === 'number')) {
        throw fail(`${path}[${i}].resources.${side} must map resource names to quantities`);
      }
    }
  });
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
