/**
 * Kubernetes resource quantities, parsed exactly as apimachinery's `resource.ParseQuantity`
 * does: `<signedNumber><suffix>` where the suffix is binary SI (Ki … Ei), decimal SI
 * (n u m "" k M G T P E) or a decimal exponent (e3, E-2). Values are kept as exact rationals
 * (BigInt numerator / denominator) so that `1.5Gi` or `100m` never suffer float rounding.
 */

export interface Quantity {
  /** The text as written. */
  readonly text: string;
  readonly num: bigint;
  readonly den: bigint;
}

const BINARY: Readonly<Record<string, bigint>> = {
  Ki: 1n << 10n, Mi: 1n << 20n, Gi: 1n << 30n, Ti: 1n << 40n, Pi: 1n << 50n, Ei: 1n << 60n,
};
const DECIMAL: Readonly<Record<string, number>> = {
  n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18,
};

const NUMBER = /^([+-]?)(\d*)(?:\.(\d*))?/;
const EXPONENT = /^[eE]([+-]?\d+)$/;

export const GIB = 1n << 30n;
export const MIB = 1n << 20n;

/**
 * Quantities already parsed, by their text: the same few (`4`, `16Gi`, a pool's card) are read
 * in every pod. Results are frozen or strings, so they are shared; only short texts are kept, and
 * the map is emptied when full, so texts a client invents cannot grow it without bound.
 */
const parsed = new Map<string, Quantity | string>();
const MAX_PARSED = 1024;
const MAX_PARSED_TEXT = 64;

/** Parses a quantity; returns a reason string on failure (the caller names the field). */
export function parseQuantity(input: string | number): Quantity | string {
  const key = String(input);
  if (key.length > MAX_PARSED_TEXT) return parseText(key);
  let result = parsed.get(key);
  if (result === undefined) {
    if (parsed.size >= MAX_PARSED) parsed.clear();
    parsed.set(key, (result = parseText(key)));
  }
  return result;
}

function parseText(input: string): Quantity | string {
  const text = input.trim();
  const match = NUMBER.exec(text);
  const [whole, sign, intPart = '', fracPart = ''] = match ?? [];
  if (!match || whole === undefined || (intPart === '' && fracPart === '')) {
    return `"${text}" is not a quantity (expected a number with an optional suffix such as 12Gi or 500m)`;
  }
  const suffix = text.slice(whole.length);
  const scale = suffixScale(suffix);
  if (scale === undefined) return `"${text}" has an unknown suffix "${suffix}"${suffixHint(text.slice(0, whole.length), suffix)}`;
  let num = BigInt(intPart + fracPart || '0');
  let den = 10n ** BigInt(fracPart.length);
  if (sign === '-') num = -num;
  num *= scale.mul;
  if (scale.exp >= 0) num *= 10n ** BigInt(scale.exp);
  else den *= 10n ** BigInt(-scale.exp);
  return normalise(text, num, den);
}

/** `GB is not a Kubernetes suffix; did you mean 24G or 24Gi?` for the suffixes people write from habit. */
function suffixHint(number: string, suffix: string): string {
  const m = /^([KkMGTPE])(i?)B$/.exec(suffix);
  if (!m) return '';
  const letter = m[1] === 'k' ? 'K' : (m[1] as string);
  const decimal = letter === 'K' ? 'k' : letter;
  return `; ${suffix} is not a Kubernetes suffix: did you mean ${number}${decimal} or ${number}${letter}i?`;
}

function suffixScale(suffix: string): { mul: bigint; exp: number } | undefined {
  const binary = BINARY[suffix];
  if (binary !== undefined) return { mul: binary, exp: 0 };
  const decimal = DECIMAL[suffix];
  if (decimal !== undefined) return { mul: 1n, exp: decimal };
  const exponent = EXPONENT.exec(suffix);
  if (exponent?.[1] !== undefined) {
    const exp = Number(exponent[1]);
    return Math.abs(exp) <= 64 ? { mul: 1n, exp } : undefined;
  }
  return undefined;
}

function gcd(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x === 0n ? 1n : x;
}

function normalise(text: string, num: bigint, den: bigint): Quantity {
  const g = gcd(num, den);
  return Object.freeze({ text, num: num / g, den: den / g });
}

export function isPositive(q: Quantity): boolean {
  return q.num > 0n;
}

export function isInteger(q: Quantity): boolean {
  return q.den === 1n;
}

/** The smallest number of `unit`s that holds q (q > 0). */
export function ceilUnits(q: Quantity, unit: bigint): bigint {
  const d = q.den * unit;
  return (q.num + d - 1n) / d;
}

/** Whether q is an exact multiple of `unit`. */
export function isMultipleOf(q: Quantity, unit: bigint): boolean {
  return q.num % (q.den * unit) === 0n;
}

/** The quantity as a number (exact for the sizes a pod asks). */
export function toNumber(q: Quantity): number {
  return Number(q.num) / Number(q.den);
}

/** Floor of q in `unit`s. */
export function floorUnits(q: Quantity, unit: bigint): bigint {
  return q.num / (q.den * unit);
}

export function compareQuantity(a: Quantity, b: Quantity): number {
  // Whole quantities (most are: 8Gi, 80Gi) compare without the cross products.
  if (a.den === 1n && b.den === 1n) return a.num < b.num ? -1 : a.num > b.num ? 1 : 0;
  const l = a.num * b.den;
  const r = b.num * a.den;
  return l < r ? -1 : l > r ? 1 : 0;
}

const bytesText = new WeakMap<Quantity, string>();

/** A short human form: whole GiB or MiB when exact, else the original text (kept per quantity: parsed ones are shared). */
export function formatBytes(q: Quantity): string {
  let text = bytesText.get(q);
  if (text === undefined) {
    text = isInteger(q) && q.num % GIB === 0n ? `${q.num / GIB}Gi` : isInteger(q) && q.num % MIB === 0n ? `${q.num / MIB}Mi` : q.text;
    bytesText.set(q, text);
  }
  return text;
}
