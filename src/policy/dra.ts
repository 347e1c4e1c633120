/**
 * The DeviceClasses of dra pools: their names, the extended resource pods ask them by, and the
 * CEL selectors that pin each class to one GPU model (the devices' productName) and one kind of
 * device (a whole card, or one MIG profile), as NVIDIA's DRA driver publishes them
 * (docs/research/dra.md §4). `gpu-admission policy deviceclasses` prints them for the operator
 * to apply; the engine writes their resource names; the cluster view counts their devices.
 */
import { DRA_CLASS_RESOURCE_PREFIX } from '../vocabulary/names.ts';
import type { Policy, Pool, PoolDeviceClass } from './types.ts';

/** Why a dra pool serves no NUMA or RDMA alignment: a count cannot say it (docs/adr/0004-dra-claims.md). */
export const DRA_COUNT_ONLY = 'a dra pool is asked by count (the DeviceClass\'s extended resource), which cannot align';

/** The device kind of whole cards in deviceClasses; the other keys are MIG profiles. */
export const WHOLE_DEVICE = 'gpu';

/** The class name when the policy gives none: `<pool>.gpu-admission.io`, `<pool>-3g-40gb.gpu-admission.io`. */
export function defaultClassName(pool: string, device: string): string {
  return device === WHOLE_DEVICE ? `${pool}.gpu-admission.io` : `${pool}-${device.replace(/[.+]/g, '-')}.gpu-admission.io`;
}

/** The extended resource of a class: its extendedResourceName, else the implicit name every class has. */
export function classResource(name: string, extendedResourceName?: string): string {
  return extendedResourceName ?? `${DRA_CLASS_RESOURCE_PREFIX}${name}`;
}

/** The class of a dra pool that serves this device kind (`gpu` or a MIG profile). */
export function poolDeviceClass(pool: Pool, device: string): PoolDeviceClass | undefined {
  return pool.dra?.deviceClasses.find((c) => c.device === device);
}

/** The class of a dra pool that pods ask by this resource name. */
export function deviceClassOfResource(pool: Pool, resource: string): PoolDeviceClass | undefined {
  return pool.dra?.deviceClasses.find((c) => c.resource === resource);
}

/** A CEL string literal: JSON's escapes are CEL's (\", \\, \n, \uXXXX). */
const literal = (text: string): string => JSON.stringify(text);

/**
 * The selectors of a pool's class, each guarded: a device that does not publish an attribute
 * makes an unguarded selector a CEL runtime error, which aborts allocation for every pod of the
 * class instead of skipping the device (resource.k8s.io/v1 DeviceSelector; verified on v1.37.2).
 */
export function classSelectors(pool: Pool, cls: PoolDeviceClass): string[] {
  const driver = pool.dra?.driver ?? '';
  const attr = (name: string, value: string): string => {
    const ref = `device.attributes[${literal(driver)}]`;
    return `has(${ref}.${name}) && ${ref}.${name} == ${literal(value)}`;
  };
  const mig = cls.device !== WHOLE_DEVICE;
  return [
    `device.driver == ${literal(driver)}`,
    attr('type', mig ? 'mig' : 'gpu'),
    ...(mig ? [attr('profile', cls.device)] : []),
    attr('productName', pool.gpu.product),
  ];
}

/** A DeviceClass (resource.k8s.io/v1) as gpu-admission would create it for this pool's class. */
export interface DeviceClassObject {
  readonly apiVersion: 'resource.k8s.io/v1';
  readonly kind: 'DeviceClass';
  readonly metadata: { readonly name: string; readonly labels: Readonly<Record<string, string>>; readonly annotations: Readonly<Record<string, string>> };
  readonly spec: {
    readonly selectors: readonly { readonly cel: { readonly expression: string } }[];
    readonly extendedResourceName?: string;
  };
}

function deviceClassObject(pools: readonly Pool[], cls: PoolDeviceClass): DeviceClassObject {
  const pool = pools[0] as Pool;
  return {
    apiVersion: 'resource.k8s.io/v1',
    kind: 'DeviceClass',
    metadata: {
      name: cls.name,
      labels: { 'app.kubernetes.io/managed-by': 'gpu-admission' },
      annotations: { 'gpu-admission.io/pools': pools.map((p) => p.name).join(',') },
    },
    spec: {
      selectors: classSelectors(pool, cls).map((expression) => ({ cel: { expression } })),
      ...(cls.extendedResourceName ? { extendedResourceName: cls.extendedResourceName } : {}),
    },
  };
}

/** Every DeviceClass the policy's dra pools need, once each (pools may share a class), in pool order. */
export function policyDeviceClasses(policy: Pick<Policy, 'pools'>): DeviceClassObject[] {
  const byName = new Map<string, { cls: PoolDeviceClass; pools: Pool[] }>();
  for (const pool of policy.pools) {
    for (const cls of pool.dra?.deviceClasses ?? []) {
      const seen = byName.get(cls.name);
      if (seen) seen.pools.push(pool);
      else byName.set(cls.name, { cls, pools: [pool] });
    }
  }
  return [...byName.values()].map(({ cls, pools }) => deviceClassObject(pools, cls));
}

/**
 * A device as a ResourceSlice publishes it: its driver and its attributes' values. Attributes in
 * the driver's own domain are keyed short (`productName` for `gpu.nvidia.com/productName`), as CEL
 * reads them; others keep their domain (`resource.kubernetes.io/pciBusID`).
 */
export interface DraDevice {
  readonly driver: string;
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
  /** The device's memory capacity in bytes, when it publishes one. */
  readonly memoryBytes?: number;
}

/**
 * Whether the class's selectors hold for the device: the same facts as classSelectors, for the
 * cluster view (which does not evaluate CEL).
 */
export function classSelects(pool: Pool, cls: PoolDeviceClass, device: DraDevice): boolean {
  if (device.driver !== pool.dra?.driver) return false;
  const { type, profile, productName } = device.attributes;
  const mig = cls.device !== WHOLE_DEVICE;
  return type === (mig ? 'mig' : 'gpu') && (!mig || profile === cls.device) && productName === pool.gpu.product;
}
