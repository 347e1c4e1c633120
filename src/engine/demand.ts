import type { Policy } from '../policy/types.ts';
import { isNativeGpuResource, nativeKind, type NativeKind } from './dialect.ts';
import type { Container, Pod, ResourceRequirements } from './pod.ts';
import { isInteger, isPositive, parseQuantity, type Quantity } from '../vocabulary/quantity.ts';
import { problem, type Problem } from './problem.ts';
import { GENERIC, NATIVE, PREFIX } from '../vocabulary/names.ts';

/** A container's portable GPU request: `gpu` cards, each with `memory` and `cores` percent. */
export interface GpuRequest {
  readonly gpu: number;
  readonly memory?: Quantity;
  readonly cores?: number;
  /** Where it was read: generic resources, a plain nvidia.com/gpu, or the decision record. */
  readonly source: 'generic' | 'nvidia.com/gpu' | 'record';
}

// The pod-level rule (KEP-753) is the vocabulary's: the cluster view applies it to pods it reads too.
export { effectiveTotal, type ContainerRole } from '../vocabulary/containers.ts';
import { containerRole, type ContainerRole } from '../vocabulary/containers.ts';

export interface ContainerDemand {
  readonly name: string;
  readonly role: ContainerRole;
  readonly request?: GpuRequest;
  /** GPU resources of a dialect (aliyun.com/gpu-mem, nvidia.com/mig-1g.10gb, …), each with its kind. */
  readonly natives: readonly NativeRequest[];
  readonly privileged: boolean;
  readonly cpu: { readonly request?: Quantity; readonly limit?: Quantity };
}

export interface NativeRequest {
  readonly resource: string;
  readonly kind: NativeKind;
  readonly value: Quantity;
}

export interface PodDemand {
  readonly containers: readonly ContainerDemand[];
  readonly problems: readonly Problem[];
}

/** Every container of the pod with its role, in Kubernetes' start order (init first). */
export function podContainers(pod: Pod): { container: Container; role: ContainerRole }[] {
  const init = (pod.spec.initContainers ?? []).map((container) => ({ container, role: containerRole(true, container.restartPolicy) }));
  const app = (pod.spec.containers ?? []).map((container) => ({ container, role: containerRole(false, undefined) }));
  return [...init, ...app];
}

/**
 * Reads each container's GPU demand. `recorded` holds the requests of a decision this webhook
 * already made (reinvocation): those containers' current GPU resources are its own output.
 * `plainIsNative`: plain nvidia.com/gpu is the node's own resource, not a generic request (a
 * pod whose node is already chosen).
 */
/** Containers of one pod whose generic requests are translated, at most: a node has a few dozen cards at most. */
export const MAX_GPU_CONTAINERS = 64;

const GENERIC_NAMES: ReadonlySet<string> = new Set(Object.values(GENERIC));

export function readDemand(pod: Pod, policy: Policy, recorded: ReadonlyMap<string, GpuRequest>, plainIsNative = false): PodDemand {
  const problems: Problem[] = [];
  const all = podContainers(pod);
  const twice = namesTwice(all);
  if (twice !== undefined) {
    problems.push(problem('invalid-request', `container names must be unique in a pod: ${[...twice].map((n) => `"${n}"`).join(', ')} used more than once`));
    return { containers: [], problems };
  }
  // Plain nvidia.com/gpu belongs to the pod's dialect when another container speaks HAMi or MIG.
  const names = all.map(({ container }) => resourceNames(container.resources ?? {}));
  const dialect = plainIsNative || all.some(({ container }, i) => !recorded.has(container.name)
    && (names[i] as string[]).some((n) => isNativeGpuResource(n, policy) && n !== NATIVE.nvidiaGpu));
  const containers = all.map(({ container, role }, i) =>
    readContainer(container, role, names[i] as string[], policy, { recorded: recorded.get(container.name), podDialect: dialect }, problems));
  let translated = 0;
  for (const c of containers) if (c.request) translated += 1;
  if (translated > MAX_GPU_CONTAINERS) {
    // Each translated container adds to the patch: a pod of thousands would turn a small review into a large answer.
    problems.push(problem('invalid-request', `${translated} containers ask gpu-admission.io GPUs; at most ${MAX_GPU_CONTAINERS} in a pod are translated`));
    return { containers: [], problems };
  }
  // Our own output (recorded containers) is native by design; anything native beside a generic
  // or recorded request is a mix, so a forged record cannot carry an unchecked native request.
  const mixed = containers.some((c) => c.request)
    && containers.some((c) => c.natives.length > 0 && !recorded.has(c.name));
  if (mixed) {
    problems.push(problem('mixed-resources', 'pod mixes gpu-admission.io requests with native GPU resources '
      + `(${nativeNames(containers).join(', ')}); use one or the other`));
  }
  return { containers, problems };
}

/** The container names a pod uses more than once, in order of their second use; undefined when none is (a pod of one container, most pods, without a set). */
function namesTwice(all: readonly { container: Container }[]): Set<string> | undefined {
  if (all.length < 2) return undefined;
  let twice: Set<string> | undefined;
  const seen = new Set<string>();
  for (const { container } of all) {
    if (seen.size === seen.add(container.name).size) (twice ??= new Set()).add(container.name);
  }
  return twice;
}

/** What a container with no native GPU resource holds of them: one frozen list for all. */
const NO_NATIVES: readonly NativeRequest[] = Object.freeze([]);

function nativeNames(containers: readonly ContainerDemand[]): string[] {
  return [...new Set(containers.flatMap((c) => c.natives.map((n) => n.resource)))];
}

/** `all`: the resource names the container's requests and limits mention (resourceNames). */
function readContainer(
  container: Container, role: ContainerRole, all: readonly string[], policy: Policy,
  { recorded, podDialect }: { recorded: GpuRequest | undefined; podDialect: boolean }, problems: Problem[],
): ContainerDemand {
  const where = `container "${container.name}"`;
  const res = container.resources ?? {};
  const read = (name: string): Quantity | undefined => readResource(res, name, where, problems);
  const names = all.includes(NATIVE.nvidiaGpu) ? all.filter((name) => name !== NATIVE.nvidiaGpu || !isZero(res, name)) : all;
  const dialect = names.filter((name) => isNativeGpuResource(name, policy));
  // Plain nvidia.com/gpu is read as whole GPUs; beside other native resources (HAMi's gpumem,
  // a MIG profile), in this container or another, it belongs to that dialect.
  const nvidiaIsNative = (podDialect || dialect.length > 0) && names.includes(NATIVE.nvidiaGpu) && !dialect.includes(NATIVE.nvidiaGpu);
  const natives = dialect.length === 0 && !nvidiaIsNative ? NO_NATIVES : (nvidiaIsNative ? [...dialect, NATIVE.nvidiaGpu] : dialect)
    .flatMap((resource) => {
      const value = read(resource);
      const kind = nativeKind(resource, policy);
      return value && kind ? [{ resource, kind, value }] : [];
    });
  const cpu = { request: readQuantity(res.requests?.cpu, where, 'resources.requests.cpu', problems),
    limit: readQuantity(res.limits?.cpu, where, 'resources.limits.cpu', problems) };
  const privileged = container.securityContext?.privileged === true;
  let unknown: string[] | undefined;
  for (const n of names) if (n.startsWith(PREFIX) && !GENERIC_NAMES.has(n)) (unknown ??= []).push(n);
  if (unknown !== undefined) {
    // A misspelt name (gpu-admission.io/GPU) would pass untranslated and wait Pending for ever.
    problems.push(problem('invalid-request', `${where}: ${unknown.map((n) => `"${n.slice(0, 80)}"`).join(', ')} `
      + `${unknown.length > 1 ? 'are' : 'is'} not a gpu-admission.io resource (${[...GENERIC_NAMES].join(', ')})`));
  }
  const request = recorded ?? readRequest(read, policy.defaults.acceptNvidiaGpu && !nvidiaIsNative, where, problems);
  if (recorded && all.some((n) => n.startsWith(PREFIX))) {
    problems.push(problem('reserved-annotation', `${where}: carries gpu-admission.io resources and a recorded decision; `
      + 'annotation gpu-admission.io/decision may only be written by gpu-admission'));
  }
  if (privileged && (isShared(request) || natives.some((n) => n.resource !== NATIVE.nvidiaGpu && n.resource !== NATIVE.aliyunGpu))) {
    problems.push(problem('privileged-shared', `${where}: a privileged container sees every GPU on the node, so it cannot use a shared GPU`));
  }
  return { name: container.name, role, request, natives, privileged, cpu };
}

/** `nvidia.com/gpu: 0` (charts emit it for CPU mode) asks for nothing, as Kubernetes reads it. */
function isZero(res: ResourceRequirements, name: string): boolean {
  const value = res.limits?.[name] ?? res.requests?.[name];
  const q = value === undefined ? undefined : parseQuantity(value);
  return q !== undefined && typeof q !== 'string' && q.num === 0n;
}

function isShared(request: GpuRequest | undefined): boolean {
  return request !== undefined && (request.memory !== undefined || (request.cores !== undefined && request.cores < 100));
}

/** The resource names a container's requests and limits mention, each once. */
export function resourceNames(res: ResourceRequirements): string[] {
  const { limits, requests } = res;
  const names = limits ? Object.keys(limits) : [];
  if (requests) {
    // for-in: the keys Object.keys lists (resource lists are JSON-shaped), without a second list.
    for (const name in requests) if (!limits || !Object.hasOwn(limits, name)) names.push(name);
  }
  return names;
}

function readRequest(
  read: (name: string) => Quantity | undefined, acceptNvidiaGpu: boolean, where: string, problems: Problem[],
): GpuRequest | undefined {
  const gpu = read(GENERIC.gpu);
  const memory = read(GENERIC.memory);
  const cores = read(GENERIC.cores);
  const plain = acceptNvidiaGpu ? read(NATIVE.nvidiaGpu) : undefined;
  const nvidia = plain && plain.num !== 0n ? plain : undefined; // nvidia.com/gpu: 0 asks for nothing
  if (!gpu && !memory && !cores && !nvidia) return undefined;
  if (gpu && nvidia) {
    problems.push(problem('invalid-request', `${where}: asks both ${GENERIC.gpu} and ${NATIVE.nvidiaGpu}; use ${GENERIC.gpu}`));
    return undefined;
  }
  const count = gpu ?? nvidia;
  const countName = gpu ? GENERIC.gpu : NATIVE.nvidiaGpu;
  const before = problems.length;
  if (count && !(isInteger(count) && count.num >= 1n && count.num <= 1024n)) {
    problems.push(problem('invalid-request', `${where}: ${countName} must be a whole number of GPUs from 1 (got "${count.text}")`));
  }
  if (memory && !isPositive(memory)) problems.push(problem('invalid-request', `${where}: ${GENERIC.memory} must be positive (got "${memory.text}")`));
  if (cores && !(isInteger(cores) && cores.num >= 1n && cores.num <= 100n)) {
    problems.push(problem('invalid-request', `${where}: ${GENERIC.cores} must be a whole percent of one GPU, 1 to 100 (got "${cores.text}")`));
  }
  if (problems.length > before) return undefined;
  return {
    gpu: count ? Number(count.num) : 1,
    ...(memory ? { memory } : {}),
    ...(cores ? { cores: Number(cores.num) } : {}),
    source: gpu || memory || cores ? 'generic' : 'nvidia.com/gpu',
  };
}

function readResource(res: ResourceRequirements, name: string, where: string, problems: Problem[]): Quantity | undefined {
  // The field's name is written only for a value that is there (most names read are not).
  const limitValue = res.limits?.[name];
  const requestValue = res.requests?.[name];
  const limit = limitValue == null ? undefined : readQuantity(limitValue, where, `resources.limits["${name}"]`, problems);
  const request = requestValue == null ? undefined : readQuantity(requestValue, where, `resources.requests["${name}"]`, problems);
  if (limit && request && (limit.num !== request.num || limit.den !== request.den)) {
    problems.push(problem('invalid-request', `${where}: resources.requests["${name}"] (${request.text}) must equal the limit (${limit.text})`));
    return undefined;
  }
  return limit ?? request;
}

/** A quantity read from `field` of `where` (a container); its problem names both. */
function readQuantity(value: unknown, where: string, field: string, problems: Problem[]): Quantity | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' && typeof value !== 'number') {
    problems.push(problem('invalid-request', `${where}: ${field}: must be a quantity string, got ${typeof value}`));
    return undefined;
  }
  const q = parseQuantity(value);
  if (typeof q === 'string') {
    problems.push(problem('invalid-request', `${where}: ${field}: ${q}`));
    return undefined;
  }
  return q;
}

