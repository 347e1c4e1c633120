import type { Backend } from '../vocabulary/backends.ts';
import type { GpuRequest } from './demand.ts';
import { formatBytes, isPositive, parseQuantity } from '../vocabulary/quantity.ts';
import { ANNOTATION } from '../vocabulary/names.ts';

/** The generic request of one container as the decision annotation records it. */
export interface RecordedRequest {
  readonly gpu: number;
  readonly 'gpu-memory'?: string;
  readonly 'gpu-cores'?: number;
  /** The GPU resources the decision wrote into the container: an edit since shows as a difference. */
  readonly resources?: Readonly<Record<string, number>>;
}

/** The JSON of the `gpu-admission.io/decision` annotation. */
export interface DecisionRecord {
  readonly pools: readonly string[];
  readonly backend: Backend;
  readonly revision: string;
  readonly containers: Readonly<Record<string, RecordedRequest>>;
  /**
   * The node-selector terms the decision ANDed into the pod (`key Op v1,v2` each), so that a
   * later decision under another policy takes back exactly what this one added.
   */
  readonly nodes?: readonly (readonly string[])[];
  /** Of those requirements, the ones the pod's own terms already held: never taken back. */
  readonly own?: readonly string[];
  /** The schedulerName the decision set, if any. */
  readonly scheduler?: string;
  /** The HAMi pod annotations the decision wrote (card type, placement): the webhook's, not the author's. */
  readonly annotations?: Readonly<Record<string, string>>;
}

export function toRecorded(request: GpuRequest, resources?: Readonly<Record<string, number>>): RecordedRequest {
  // Keys in RECORDED_ORDER, each only when it has a value.
  const recorded: { -readonly [K in keyof RecordedRequest]: RecordedRequest[K] } = { gpu: request.gpu };
  if (request.memory) recorded['gpu-memory'] = formatBytes(request.memory);
  if (request.cores !== undefined) recorded['gpu-cores'] = request.cores;
  if (resources) recorded.resources = resources;
  return recorded;
}

/**
 * Serialises with a fixed key order, so the same decision always gives the same text: the text
 * `JSON.stringify` gives the record with its keys in that order (and those undefined or empty left
 * out), written part by part, so that the node terms a pool's every record shares (frozen:
 * `recordedTerms`) are written once per pool rather than once per pod.
 */
export function writeRecord(record: DecisionRecord): string {
  // The requests a decision records come in that order already (toRecorded): then they are written as they are.
  const ordered = Object.values(record.containers).every(inWrittenOrder);
  const containers = !ordered ? JSON.stringify(Object.fromEntries(Object.entries(record.containers).map(([name, r]) => [name, toRecordedOrdered(r)])))
    : Array.isArray(record.containers) ? JSON.stringify(record.containers) : containersText(record.containers);
  const head = headText(record);
  let text = `${head}${head === '{' ? '' : ','}"containers":${containers}`;
  if (record.nodes) text += Array.isArray(record.nodes) ? `,"nodes":${termsText(record.nodes)}` : part('nodes', record.nodes);
  if (record.own) text += part('own', record.own);
  if (record.scheduler) text += part('scheduler', record.scheduler);
  return `${text}${part('annotations', record.annotations)}}`;
}

/** `,"key":value` as JSON.stringify writes a key of an object; nothing for a value it leaves out (undefined, a function). */
function part(key: string, value: unknown): string {
  const json = JSON.stringify(value) as string | undefined;
  return json === undefined ? '' : `,"${key}":${json}`;
}

const heads = new WeakMap<readonly string[], { readonly backend: string; readonly revision: string; readonly text: string }>();

/**
 * `{"pools":…,"backend":…,"revision":…` of a record: kept with its list of pools when that is
 * frozen (a pool's own list, which every record of it shares: groupWritten), for the same backend and revision.
 */
function headText({ pools, backend, revision }: DecisionRecord): string {
  // A record of other types than its own (a library caller's) is written whole, as JSON.stringify leaves out what has no JSON.
  if (typeof backend !== 'string' || typeof revision !== 'string' || !Array.isArray(pools)) {
    return JSON.stringify({ pools, backend, revision }).slice(0, -1);
  }
  const keeps = Object.isFrozen(pools);
  const kept = keeps ? heads.get(pools) : undefined;
  if (kept !== undefined && kept.backend === backend && kept.revision === revision) return kept.text;
  const text = `{"pools":${JSON.stringify(pools)},"backend":${JSON.stringify(backend)},"revision":${JSON.stringify(revision)}`;
  if (keeps) heads.set(pools, { backend, revision, text });
  return text;
}

/** Whether a string is printable ASCII but `"` and `\\`: JSON.stringify writes such a string between quotes as it is. */
function verbatim(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return false;
  }
  return true;
}

/**
 * The recorded requests (keys in RECORDED_ORDER) as JSON.stringify writes them, written directly
 * where every name and value is verbatim text or a finite number (as a decision records them);
 * anything else is left to JSON.stringify.
 */
function containersText(containers: DecisionRecord['containers']): string {
  let text = '{';
  for (const name in containers) {
    const request = verbatim(name) ? requestText(containers[name] as RecordedRequest) : undefined;
    if (request === undefined) return JSON.stringify(containers);
    text += `${text.length === 1 ? '' : ','}"${name}":${request}`;
  }
  return `${text}}`;
}

/** JSON of a finite number or verbatim string; undefined for anything else. */
function plainJson(value: unknown): string | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : undefined;
  return typeof value === 'string' && verbatim(value) ? `"${value}"` : undefined;
}

function requestText(r: RecordedRequest): string | undefined {
  let text = '';
  for (const key of RECORDED_ORDER) {
    const value = (r as unknown as Record<string, unknown>)[key];
    if (value === undefined) continue;
    const json = key === 'resources' ? resourcesText(value) : plainJson(value);
    if (json === undefined) return undefined;
    text += `${text === '' ? '{' : ','}"${key}":${json}`;
  }
  return text === '' ? '{}' : `${text}}`;
}

function resourcesText(resources: unknown): string | undefined {
  if (typeof resources !== 'object' || resources === null || Array.isArray(resources)) return undefined;
  let text = '';
  for (const name in resources) {
    const value = plainJson((resources as Record<string, unknown>)[name]);
    if (value === undefined || !verbatim(name)) return undefined;
    text += `${text === '' ? '{' : ','}"${name}":${value}`;
  }
  return text === '' ? '{}' : `${text}}`;
}

const termTexts = new WeakMap<readonly string[], string>();

/** Node terms as JSON; a frozen term's text is kept with it (a pool's terms, shared by its records). */
function termsText(terms: readonly (readonly string[])[]): string {
  let text = '[';
  for (let i = 0; i < terms.length; i++) {
    const term = terms[i] as readonly string[];
    const keeps = typeof term === 'object' && term !== null && Object.isFrozen(term);
    let t = keeps ? termTexts.get(term) : undefined;
    if (t === undefined) {
      // What JSON.stringify writes for an element that has no JSON (undefined) in an array.
      t = (JSON.stringify(term) as string | undefined) ?? 'null';
      if (keeps) termTexts.set(term, t);
    }
    text += i === 0 ? t : `,${t}`;
  }
  return `${text}]`;
}

const RECORDED_ORDER = ['gpu', 'gpu-memory', 'gpu-cores', 'resources'];

/** Whether a recorded request is an object whose keys are some of RECORDED_ORDER's, in that order, and no others. */
function inWrittenOrder(r: RecordedRequest): boolean {
  if (typeof r !== 'object' || r === null || Array.isArray(r)) return false;
  let i = 0;
  // for-in: the keys Object.keys lists, without the list (a recorded request is JSON-shaped: it inherits none).
  for (const key in r) {
    while (i < RECORDED_ORDER.length && RECORDED_ORDER[i] !== key) i++;
    if (i === RECORDED_ORDER.length) return false;
    i++;
  }
  return true;
}

function toRecordedOrdered(r: RecordedRequest): RecordedRequest {
  return { gpu: r.gpu, 'gpu-memory': r['gpu-memory'], 'gpu-cores': r['gpu-cores'], resources: r.resources };
}

export type RecordRead =
  | { readonly kind: 'absent' }
  | { readonly kind: 'malformed'; readonly problem: string }
  | {
    readonly kind: 'present';
    readonly record: DecisionRecord;
    readonly requests: ReadonlyMap<string, GpuRequest>;
    /** The GPU resources the decision wrote, per container, where the record says (records before #21 do not). */
    readonly written: ReadonlyMap<string, Readonly<Record<string, number>>>;
  };

const MALFORMED = `annotation ${ANNOTATION.decision} may only be written by gpu-admission`;

/** Reads a decision annotation found on an incoming pod (our own output on reinvocation). */
export function readRecord(annotations: Readonly<Record<string, string>>): RecordRead {
  const text = annotations[ANNOTATION.decision];
  if (text === undefined) return { kind: 'absent' };
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return { kind: 'malformed', problem: `${MALFORMED} (it is not JSON)` };
  }
  const record = data as Partial<DecisionRecord> | null;
  if (!record || typeof record !== 'object' || !Array.isArray(record.pools) || typeof record.backend !== 'string'
    || typeof record.revision !== 'string' || typeof record.containers !== 'object' || record.containers === null) {
    return { kind: 'malformed', problem: `${MALFORMED} (it lacks pools, backend, revision or containers)` };
  }
  const nodes: unknown = record.nodes;
  if (nodes !== undefined && !(Array.isArray(nodes) && nodes.every((t) => Array.isArray(t) && t.every((r) => typeof r === 'string')))) {
    return { kind: 'malformed', problem: `${MALFORMED} (nodes is not a list of terms)` };
  }
  const own: unknown = record.own;
  if (own !== undefined && !(Array.isArray(own) && own.every((r) => typeof r === 'string'))) {
    return { kind: 'malformed', problem: `${MALFORMED} (own is not a list of requirements)` };
  }
  if (record.scheduler !== undefined && typeof record.scheduler !== 'string') {
    return { kind: 'malformed', problem: `${MALFORMED} (scheduler is not a name)` };
  }
  const hamiWritten: unknown = record.annotations;
  if (hamiWritten !== undefined && !(typeof hamiWritten === 'object' && hamiWritten !== null && Object.values(hamiWritten).every((v) => typeof v === 'string'))) {
    return { kind: 'malformed', problem: `${MALFORMED} (annotations are not text)` };
  }
  const requests = new Map<string, GpuRequest>();
  const written = new Map<string, Readonly<Record<string, number>>>();
  for (const [name, r] of Object.entries(record.containers)) {
    const request = fromRecorded(r);
    if (!request) return { kind: 'malformed', problem: `${MALFORMED} (container "${name}" is not a request)` };
    requests.set(name, request);
    const resources: unknown = (r as RecordedRequest).resources;
    if (resources === undefined) continue;
    if (typeof resources !== 'object' || resources === null || Object.values(resources).some((v) => !Number.isInteger(v))) {
      return { kind: 'malformed', problem: `${MALFORMED} (container "${name}": resources are not whole numbers)` };
    }
    written.set(name, resources as Record<string, number>);
  }
  return { kind: 'present', record: record as DecisionRecord, requests, written };
}

function fromRecorded(r: unknown): GpuRequest | undefined {
  const x = r as Partial<RecordedRequest> | null;
  if (!x || typeof x !== 'object' || !Number.isInteger(x.gpu) || (x.gpu ?? 0) < 1) return undefined;
  const cores = x['gpu-cores'];
  if (cores !== undefined && !(Number.isInteger(cores) && cores >= 1 && cores <= 100)) return undefined;
  const memoryText = x['gpu-memory'];
  const memory = memoryText === undefined ? undefined : parseQuantity(memoryText);
  if (typeof memory === 'string' || (memory && !isPositive(memory))) return undefined;
  return { gpu: x.gpu as number, ...(memory ? { memory } : {}), ...(cores !== undefined ? { cores } : {}), source: 'record' };
}
