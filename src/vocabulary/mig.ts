/**
 * MIG profiles as NVIDIA names them (`3g.40gb`, `1g.10gb+me`): compute slices of the card and
 * memory in decimal GB, with the attribute variants mig-parted's default configuration lists:
 * `+me` (media extensions), `+me.all`, `-me` (none), `+gfx` (graphics; RTX PRO 6000).
 */

import { GIB, floorUnits, type Quantity } from './quantity.ts';

export const MIG_PROFILE = '^([1-7])g\\.([1-9][0-9]*)gb(\\+me|\\+me\\.all|\\+gfx|-me)?$';

const MIG_PROFILE_RE = new RegExp(MIG_PROFILE);

export interface MigProfile {
  readonly name: string;
  /** Compute slices out of 7. */
  readonly slices: number;
  /** The memory in the profile's name, in decimal GB: NVIDIA's "10gb" is about 9.5 GiB on an A100. */
  readonly memoryGB: number;
  /** The same as bytes (GB × 10⁹), which never promises more than the slice has. */
  readonly memoryBytes: bigint;
}

export function parseMigProfile(name: string): MigProfile | undefined {
  const m = MIG_PROFILE_RE.exec(name);
  if (!m) return undefined;
  const memoryGB = Number(m[2]);
  return { name, slices: Number(m[1]), memoryGB, memoryBytes: BigInt(memoryGB) * 1_000_000_000n };
}

const MIG_RESOURCE_PREFIX = 'nvidia.com/mig-';

/**
 * The extended resource of a profile under the mixed strategy: NVIDIA's device plugin writes
 * `+` as `.` (`1g.10gb+me` is `nvidia.com/mig-1g.10gb.me`; `strings.ReplaceAll("mig-"+p.String(), "+", ".")`,
 * internal/rm/rm.go), since `+` is not allowed in names.
 */
export function migResourceName(profile: string): string {
  return `${MIG_RESOURCE_PREFIX}${profile.replaceAll('+', '.')}`;
}

/** The profile behind a `nvidia.com/mig-…` resource name, or undefined when it is not one. */
export function migProfileOfResource(resource: string): MigProfile | undefined {
  if (!resource.startsWith(MIG_RESOURCE_PREFIX)) return undefined;
  // The device plugin writes the attribute's `+` as `.`: mig-1g.24gb.me.all, mig-4g.96gb.gfx (mig-2g.48gb-me keeps its -).
  const name = resource.slice(MIG_RESOURCE_PREFIX.length).replace(/(gb)\.(me\.all|me|gfx)$/, '$1+$2');
  return parseMigProfile(name);
}

/**
 * The MIG profiles each GPU offers, with the most instances of each one card holds. From
 * NVIDIA's MIG user guide ("Supported MIG Profiles") and mig-parted's default configuration
 * (deployments/systemd/config-default.yaml); docs/backends.md has the sources.
 */
export interface MigCatalogEntry {
  readonly name: string;
  /** Compute slices one card has (7; 4 on the A30 and the RTX PRO 6000). */
  readonly slices: number;
  readonly profiles: Readonly<Record<string, number>>;
}

/** The 7-slice ladder: 1g (7, and one +me), 1g with twice the memory (4), 2g (3), 3g (2), 4g (1), 7g (1). */
const ladder = (name: string, one: number, two: number, three: number, seven: number): MigCatalogEntry => ({
  name, slices: 7,
  profiles: {
    [`1g.${one}gb`]: 7, [`1g.${one}gb+me`]: 1, [`1g.${two}gb`]: 4, [`2g.${two}gb`]: 3,
    [`3g.${three}gb`]: 2, [`4g.${three}gb`]: 1, [`7g.${seven}gb`]: 1,
  },
});

const A100_40GB: MigCatalogEntry = {
  name: 'A100 40GB', slices: 7,
  profiles: { '1g.5gb': 7, '1g.5gb+me': 1, '1g.10gb': 4, '2g.10gb': 3, '3g.20gb': 2, '4g.20gb': 1, '7g.40gb': 1 },
};
const A30: MigCatalogEntry = {
  name: 'A30 24GB', slices: 4, profiles: { '1g.6gb': 4, '1g.6gb+me': 1, '2g.12gb': 2, '2g.12gb+me': 1, '4g.24gb': 1 },
};
const RTX_PRO_6000: MigCatalogEntry = {
  name: 'RTX PRO 6000 Blackwell 96GB', slices: 4,
  profiles: {
    '1g.24gb': 4, '1g.24gb+gfx': 4, '1g.24gb-me': 4, '1g.24gb+me.all': 1,
    '2g.48gb': 2, '2g.48gb+gfx': 2, '2g.48gb-me': 2, '2g.48gb+me.all': 1, '4g.96gb': 1, '4g.96gb+gfx': 1,
  },
};
const GB80 = ladder('80GB (A100, A800, H100, H800)', 10, 20, 40, 80);
const H100_NVL = ladder('H100 NVL 94GB', 12, 24, 47, 94);
const GB96 = ladder('96GB (H100 96GB, GH200, H20)', 12, 24, 48, 96);
const H200 = ladder('H200 141GB', 18, 35, 71, 141);
const GH200_144 = ladder('GH200 144GB HBM3e', 18, 36, 72, 144);
const B200 = ladder('B200 180GB', 23, 45, 90, 180);
const GB200 = ladder('GB200 186GB', 23, 47, 93, 186);
const B300 = ladder('B300 269GB', 34, 67, 135, 269);
const GB300 = ladder('GB300 278GB', 35, 70, 139, 278);

/** The catalog entry of a pool's card: its model and product names, its memory in whole GiB. */
export function cardMigCatalog(gpu: { readonly model: string; readonly product: string }, memory: Quantity): MigCatalogEntry | undefined {
  return migCatalog(gpu.product === gpu.model ? gpu.model : `${gpu.model} ${gpu.product}`, Number(floorUnits(memory, GIB)));
}

/**
 * The catalog entry for a GPU, from its model name (`NVIDIA-A100-SXM4-80GB`, `H100`, `NVIDIA GB200`)
 * and its card memory in GiB; undefined for a model this catalog does not know. Models are
 * matched by whole words of the name, never by substring: `GB200` is not a `B200`.
 */
export function migCatalog(model: string, memoryGiB: number): MigCatalogEntry | undefined {
  const key = `${model}|${memoryGiB}`;
  if (catalogCache.has(key)) return catalogCache.get(key);
  const entry = lookUp(new Set(model.toUpperCase().split(/[^A-Z0-9]+/)), memoryGiB);
  catalogCache.set(key, entry);
  return entry;
}

const catalogCache = new Map<string, MigCatalogEntry | undefined>();

function lookUp(words: ReadonlySet<string>, memoryGiB: number): MigCatalogEntry | undefined {
  const is = (...names: string[]): boolean => names.some((n) => words.has(n));
  if (is('A30')) return A30;
  if (is('A100', 'A800')) return memoryGiB >= 60 ? GB80 : A100_40GB;
  if (is('GB300')) return GB300;
  if (is('B300')) return B300;
  if (is('GB200')) return GB200;
  if (is('B200')) return B200;
  if (is('GH200')) return memoryGiB > 100 ? GH200_144 : GB96;
  if (is('H200')) return H200;
  if (is('H100', 'H800')) return memoryGiB >= 95 ? GB96 : memoryGiB >= 90 || is('NVL') ? H100_NVL : GB80;
  if (is('H20')) return memoryGiB > 100 ? undefined : GB96;
  if (is('RTX') && is('PRO') && is('6000') && memoryGiB >= 90) return RTX_PRO_6000;
  return undefined;
}

/**
 * Compute slices of a full card: the catalog's (7, or 4 on the A30 and RTX PRO 6000); for a model
 * the catalog does not know, the slices of the listed profile that holds more than half the
 * card's memory (only the full-card profile does), else 7, which never gives a compute share less
 * than it asks.
 */
export function computeSlices(entry: MigCatalogEntry | undefined, profiles: readonly string[] = [], card?: Quantity): number {
  if (entry) return entry.slices;
  if (!card) return 7;
  const full = profiles.flatMap((p) => parseMigProfile(p) ?? []).find((p) => p.memoryBytes * card.den * 2n > card.num);
  return full?.slices ?? 7;
}

/**
 * Memory slices one profile takes of its card: a card has 8 (4 on 4-slice cards), each the full
 * profile's memory ÷ that many (A100 80GB: 10 GB; 3g.40gb takes 4). Undefined off the catalog.
 */
export function memorySlices(entry: MigCatalogEntry | undefined, profile: string): number | undefined {
  if (!entry) return undefined;
  const total = entry.slices === 4 ? 4 : 8;
  const full = Object.keys(entry.profiles).map(parseMigProfile).find((p) => p?.slices === entry.slices);
  const p = parseMigProfile(profile);
  if (!full || !p) return undefined;
  return Math.max(1, Math.round(p.memoryGB / (full.memoryGB / total)));
}
