/** MIG profiles as NVIDIA names them (`3g.40gb`, `1g.10gb+me`): compute slices of 7 and memory in decimal GB. */

export const MIG_PROFILE = '^([1-7])g\\.([1-9][0-9]*)gb(\\+me)?$';
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
 * `+` as `.` (`1g.10gb+me` is `nvidia.com/mig-1g.10gb.me`), since `+` is not allowed in names.
 */
export function migResourceName(profile: string): string {
  return `${MIG_RESOURCE_PREFIX}${profile.replace('+', '.')}`;
}

/** The profile behind a `nvidia.com/mig-…` resource name, or undefined when it is not one. */
export function migProfileOfResource(resource: string): MigProfile | undefined {
  if (!resource.startsWith(MIG_RESOURCE_PREFIX)) return undefined;
  const name = resource.slice(MIG_RESOURCE_PREFIX.length).replace(/\.me$/, '+me');
  return parseMigProfile(name);
}
