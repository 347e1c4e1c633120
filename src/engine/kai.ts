// KAI Scheduler's own dialect: a pod that asks KAI for a share with its pod annotations
// (gpu-fraction or gpu-memory, gpu-fraction-num-devices, gpu-fraction-container-name). It is not
// rewritten, but held to the values KAI's admission accepts and to the pools that take it.
// Sources: docs/backends.md, `kai` (pkg/binder/plugins/gpusharing/gpu-request/gpu_request_validator.go).
import type { Pool } from '../policy/types.ts';
import { KAI, NATIVE } from '../vocabulary/names.ts';
import { MIB, parseQuantity, toNumber, type Quantity } from '../vocabulary/quantity.ts';
import { podContainers, type ContainerDemand, type NativeRequest } from './demand.ts';
import type { NativeKind } from './dialect.ts';
import type { Pod } from './pod.ts';
import { problem, type Problem } from './problem.ts';
import { cardMemory } from './pools.ts';

/** The KAI share annotations the pod's author wrote: an annotation equal to what an earlier decision wrote is the webhook's. */
export function kaiAsked(annotations: Readonly<Record<string, string>>, written: Readonly<Record<string, string>> = {}): Readonly<Record<string, string>> {
  // Most pods carry none of the share annotations: they ask nothing of KAI.
  if (annotations[KAI.fraction] === undefined && annotations[KAI.memory] === undefined && annotations[KAI.numDevices] === undefined) return NOTHING_ASKED;
  const keys = [KAI.fraction, KAI.memory, KAI.numDevices, KAI.containerName];
  const own = Object.fromEntries(keys.flatMap((k) => (annotations[k] === undefined || annotations[k] === written[k] ? [] : [[k, annotations[k]]])));
  // The container name alone asks nothing (KAI reads it only beside a share).
  return own[KAI.fraction] !== undefined || own[KAI.memory] !== undefined || own[KAI.numDevices] !== undefined ? own : {};
}

const NOTHING_ASKED: Readonly<Record<string, string>> = Object.freeze({});

// Go's strconv.ParseFloat and ParseUint (base 10), as KAI's validator parses the values.
const GO_FLOAT = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const GO_UINT = /^\d+$/;
const field = (key: string, value: string): string => `annotation ${key}: "${value.slice(0, 40)}"`;

/** The value rules of KAI's admission (ValidateGpuRequests), each naming the annotation, and the container the share is for. */
export function kaiProblems(pod: Pod, asked: Readonly<Record<string, string>>): Problem[] {
  const fraction = asked[KAI.fraction];
  const memory = asked[KAI.memory];
  const devices = asked[KAI.numDevices];
  const name = asked[KAI.containerName];
  const out: string[] = [];
  const whole = podContainers(pod).find(({ container }) => container.resources?.limits?.[NATIVE.nvidiaGpu] !== undefined)?.container.name;
  if (fraction !== undefined && whole !== undefined) {
    out.push(`${field(KAI.fraction, fraction)} beside ${NATIVE.nvidiaGpu} in container "${whole}": KAI refuses a pod with both a GPU fraction and whole GPUs`);
  }
  if (memory !== undefined && (fraction !== undefined || whole !== undefined)) {
    out.push(`${field(KAI.memory, memory)} beside ${fraction !== undefined ? KAI.fraction : `${NATIVE.nvidiaGpu} in container "${whole}"`}: `
      + 'KAI refuses a pod that asks both GPUs and GPU memory');
  }
  if (devices !== undefined && fraction === undefined && memory === undefined) {
    out.push(`${field(KAI.numDevices, devices)}: KAI needs ${KAI.fraction} or ${KAI.memory} beside it (the portion of each card)`);
  }
  if (memory !== undefined && (!GO_UINT.test(memory) || BigInt(memory) === 0n || BigInt(memory) >= 2n ** 64n)) {
    out.push(`${field(KAI.memory, memory)}: must be a whole number of MiB from 1, without a unit (KAI: "a positive integer greater than 0")`);
  }
  const f = fraction !== undefined && GO_FLOAT.test(fraction) ? Number(fraction) : Number.NaN;
  if (fraction !== undefined && !(f > 0 && f < 1)) out.push(`${field(KAI.fraction, fraction)}: must be a number between 0 and 1, such as 0.5 (KAI: "smaller than 1.0")`);
  if (devices !== undefined && (!GO_UINT.test(devices) || BigInt(devices) === 0n || BigInt(devices) > 1024n)) {
    out.push(`${field(KAI.numDevices, devices)}: must be a whole number of cards from 1`);
  }
  const names = podContainers(pod).map(({ container }) => container.name);
  if (name !== undefined && !names.includes(name)) out.push(`${field(KAI.containerName, name)}: the pod has no such container (it has ${names.map((n) => `"${n}"`).join(', ')})`);
  if (name === undefined && (pod.spec.containers ?? []).length === 0) out.push(`${KAI.fraction}: the pod has no container to give the share to`);
  return out.map((m) => problem('invalid-request', m));
}

/** The container a KAI share is for: the one gpu-fraction-container-name names, else the first app container (KAI's default). */
export function kaiShareContainer(pod: Pod, asked: Readonly<Record<string, string>>): string | undefined {
  return asked[KAI.containerName] ?? pod.spec.containers?.[0]?.name;
}

const quantity = (text: string): Quantity => {
  const q = parseQuantity(text);
  return typeof q === 'string' ? { text, num: 0n, den: 1n } : q;
};

/** The pod's containers with the KAI share read as native requests of its container (checked by kaiProblems first). */
export function withKaiShare(containers: readonly ContainerDemand[], pod: Pod, asked: Readonly<Record<string, string>>): ContainerDemand[] {
  const target = kaiShareContainer(pod, asked);
  const natives: NativeRequest[] = ([[KAI.fraction, 'kai-fraction'], [KAI.memory, 'kai-memory'], [KAI.numDevices, 'kai-devices']] as const)
    .flatMap(([key, kind]) => (asked[key] === undefined ? [] : [{ resource: key, kind, value: quantity(asked[key]) }]));
  return containers.map((c) => (c.name === target ? { ...c, natives: [...c.natives, ...natives] } : c));
}

/** Whether a native kind is one of KAI's share annotations. */
export const isKaiKind = (kind: NativeKind): boolean => kind === 'kai-fraction' || kind === 'kai-memory' || kind === 'kai-devices';

/** Why a pool cannot take one of KAI's share annotations, or undefined if it can. */
export function kaiNativeReason(pool: Pool, { resource, kind, value }: NativeRequest): string | undefined {
  if (pool.backend !== 'kai') return `${pool.backend} does not take KAI's ${resource} annotation (KAI Scheduler shares)`;
  if (pool.mig) return `its cards are cut into MIG slices: ask nvidia.com/mig-<profile>, not ${resource}`;
  if (kind === 'kai-devices' && toNumber(value) > pool.gpu.perNode) return `${resource}: ${toNumber(value)} GPUs, a node has ${pool.gpu.perNode}`;
  if (kind === 'kai-memory') {
    const mib = Math.floor(toNumber(cardMemory(pool)) / Number(MIB));
    if (toNumber(value) > mib) return `card has ${pool.gpu.memory} (${mib} MiB), ${resource} asks ${toNumber(value)} MiB`;
  }
  return undefined;
}
