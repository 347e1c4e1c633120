// Admission warnings: kubectl prints each as it is, and Kubernetes asks them to keep within 120
// characters (longer ones are cut mid-word). Every warning text is written to fit whole: the
// advice first, and a name that may be long (a container's, a pool's, a product's) shortened in
// its middle when the whole would not fit.

/** Kubernetes shows admission warnings as they are; keep each within this many characters. */
export const WARNING_LIMIT = 120;

/** The last resort for a text not written to fit: cut, with the cut marked. */
export function clampWarning(text: string): string {
  return text.length <= WARNING_LIMIT ? text : `${text.slice(0, WARNING_LIMIT - 1)}…`;
}

/** `name` shortened in its middle (`a-very…-name`) to at most `room` characters (at least 3 kept). */
export function elide(name: string, room: number): string {
  if (name.length <= room) return name;
  const keep = Math.max(2, room - 1);
  const head = Math.ceil(keep / 2);
  return `${name.slice(0, head)}…${name.slice(name.length - (keep - head))}`;
}

/**
 * A warning that names things which may be long: `text` is given the names, the longest shortened
 * in their middles first (none below 3 characters) when the whole passes the limit, so that the
 * rest of the text stays whole.
 */
export function fitWarning(text: (...names: string[]) => string, ...names: string[]): string {
  const full = text(...names);
  if (full.length <= WARNING_LIMIT) return full;
  const budget = WARNING_LIMIT - (full.length - names.reduce((sum, n) => sum + n.length, 0));
  let cap = Math.max(...names.map((n) => n.length));
  while (cap > 3 && names.reduce((sum, n) => sum + Math.min(n.length, cap), 0) > budget) cap -= 1;
  return text(...names.map((n) => elide(n, cap)));
}
