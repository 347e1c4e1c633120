import type { Operation } from 'fast-json-patch';

/**
 * The JSON Patch from `before` to `after`: the same operations, in the same order, as
 * fast-json-patch's `compare(before, after)` (its `_generate`, which the tests hold this to),
 * without its deep copy of every value added or replaced. The values are the mutated pod's own
 * subtrees, shared, not copied: the patch is read (serialised into the answer), never modified.
 * Subtrees shared by reference between the two are skipped, so a copy that shares what it does
 * not rewrite costs what the change costs. Both documents are JSON-shaped.
 */
export function jsonDiff(before: unknown, after: unknown): Operation[] {
  const patch: Operation[] = [];
  diffInto(before as Json, after as Json, '', patch);
  return patch;
}

type Json = Record<string, unknown> | unknown[];

const has = (o: object, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key);
function keysOf(o: Json): string[] {
  if (!Array.isArray(o)) return Object.keys(o);
  const keys = new Array<string>(o.length);
  for (let i = 0; i < o.length; i++) keys[i] = String(i);
  return keys;
}
/**
 * Escaped keys (`aliyun.com/gpu-mem` → `aliyun.com~1gpu-mem`, `spec` → `spec`), kept: the same
 * few keys and resource names come in every pod. Only short keys are kept, and the map is emptied
 * when full, so keys a client invents cannot grow it without bound.
 */
const escaped = new Map<string, string>();
const MAX_ESCAPED = 1024;
const MAX_ESCAPED_KEY = 64;
function escape(key: string): string {
  let text = escaped.get(key);
  if (text === undefined) {
    text = key.indexOf('/') === -1 && key.indexOf('~') === -1 ? key : key.split('~').join('~0').split('/').join('~1');
    if (key.length > MAX_ESCAPED_KEY) return text;
    if (escaped.size >= MAX_ESCAPED) escaped.clear();
    escaped.set(key, text);
  }
  return text;
}
/**
 * Object.keys(o).length without the list: for-in walks the same keys of a JSON-shaped object (it
 * inherits none). A copy given a `__proto__` by assignment counts its prototype's keys too: more
 * than it owns, which only sends diffInto to look for added keys (own ones).
 */
function countKeys(o: Record<string, unknown>): number {
  let n = 0;
  for (const _ in o) n++;
  return n;
}

/** JSON has no undefined: fast-json-patch's copy (a JSON round trip) makes it null. */
const valueOf = (v: unknown): unknown => (v === undefined ? null : v);

function diffInto(mirror: Json, obj: Json, path: string, patch: Operation[]): void {
  if (obj === mirror) return;
  const objIsArray = Array.isArray(obj);
  const mirrorIsArray = Array.isArray(mirror);
  if (objIsArray && mirrorIsArray) {
    diffArrays(mirror, obj, path, patch);
    return;
  }
  const o = obj as Record<string, unknown>;
  const m = mirror as Record<string, unknown>;
  // The mirror's keys whose values may differ, in its order: most keys of a copy that shares what it
  // does not rewrite hold the same defined value (for those no op is written, and they are skipped
  // here without the own-key test: `key` is the mirror's own, so `obj` holds the same value as its own
  // too — except for `__proto__`, which an assignment makes the object's prototype, not a key). for-in
  // walks the keys Object.keys lists, in its order (JSON-shaped objects inherit none), without the list.
  let changed: string[] | undefined;
  let count = 0;
  if (mirrorIsArray) {
    changed = keysOf(mirror);
    count = changed.length;
  } else {
    for (const key in m) {
      count++;
      const oldVal = m[key];
      if (oldVal !== undefined && o[key] === oldVal && key !== '__proto__') continue;
      (changed ??= []).push(key);
    }
  }
  let deleted = false;
  // From the last key down, as fast-json-patch's _generate walks them.
  if (changed !== undefined) {
    for (let t = changed.length - 1; t >= 0; t--) {
      const key = changed[t] as string;
      const oldVal = m[key];
      const newVal = o[key];
      if (has(obj, key) && !(newVal === undefined && oldVal !== undefined && !objIsArray)) {
        if (oldVal === newVal) continue; // the same value, or a shared subtree: no path written
        if (typeof oldVal === 'object' && oldVal !== null && typeof newVal === 'object' && newVal !== null
          && Array.isArray(oldVal) === Array.isArray(newVal)) {
          diffInto(oldVal as Json, newVal as Json, `${path}/${escape(key)}`, patch);
        } else {
          patch.push({ op: 'replace', path: `${path}/${escape(key)}`, value: valueOf(newVal) });
        }
      } else if (mirrorIsArray === objIsArray) {
        patch.push({ op: 'remove', path: `${path}/${escape(key)}` });
        deleted = true;
      } else {
        patch.push({ op: 'replace', path, value: obj });
      }
    }
  }
  // The new keys are listed only when some may be added: none are when nothing was removed and the counts agree.
  if (!deleted && (objIsArray ? (obj as unknown[]).length : countKeys(o)) === count) return;
  if (objIsArray) {
    for (const key of keysOf(obj)) {
      if (!has(mirror, key) && o[key] !== undefined) patch.push({ op: 'add', path: `${path}/${escape(key)}`, value: o[key] });
    }
    return;
  }
  // Own keys only: a copy given a `__proto__` by assignment inherits that object's keys.
  for (const key in o) {
    const value = o[key];
    if (value !== undefined && !has(mirror, key) && has(o, key)) patch.push({ op: 'add', path: `${path}/${escape(key)}`, value });
  }
}

/**
 * `diffInto` for two arrays, by index rather than by key text: the same ops in the same order.
 * JSON arrays have no holes, so an index below the length is an own element: kept or changed
 * from the last down, removed past the new length; then the new tail added in order.
 */
function diffArrays(mirror: unknown[], obj: unknown[], path: string, patch: Operation[]): void {
  let deleted = false;
  for (let t = mirror.length - 1; t >= 0; t--) {
    const oldVal = mirror[t];
    if (t >= obj.length) {
      patch.push({ op: 'remove', path: `${path}/${t}` });
      deleted = true;
      continue;
    }
    const newVal = obj[t];
    if (oldVal === newVal) continue;
    if (typeof oldVal === 'object' && oldVal !== null && typeof newVal === 'object' && newVal !== null
      && Array.isArray(oldVal) === Array.isArray(newVal)) {
      diffInto(oldVal as Json, newVal as Json, `${path}/${t}`, patch);
    } else {
      patch.push({ op: 'replace', path: `${path}/${t}`, value: valueOf(newVal) });
    }
  }
  if (!deleted && obj.length === mirror.length) return;
  for (let i = mirror.length; i < obj.length; i++) {
    if (obj[i] !== undefined) patch.push({ op: 'add', path: `${path}/${i}`, value: obj[i] });
  }
}
