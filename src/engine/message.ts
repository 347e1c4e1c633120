import { describeShare } from './translate.ts';
import type { ContainerDemand, GpuRequest } from './demand.ts';

/** Kubernetes shows admission warnings as they are; keep each within this many characters. */
export const WARNING_LIMIT = 120;

export function clampWarning(text: string): string {
  return text.length <= WARNING_LIMIT ? text : `${text.slice(0, WARNING_LIMIT - 1)}…`;
}

export function describeRequest(request: GpuRequest): string {
  const cards = `${request.gpu} GPU`;
  if (request.memory === undefined && request.cores === undefined) return request.gpu === 1 ? cards : `${cards}s`;
  return `${cards} × ${describeShare(request)}`;
}

export function describeContainer(c: ContainerDemand): string {
  if (c.request) return `container "${c.name}" asks ${describeRequest(c.request)}`;
  return `container "${c.name}" asks ${c.natives.map((n) => `${n.resource}: ${n.value.text}`).join(', ')}`;
}

/** `container "train" asks 2 GPU × 40Gi: pool t4-shared: card has 15Gi; pool h100: …` */
export function noPoolMessage(containers: readonly ContainerDemand[], reasons: readonly { pool: string; reason: string }[]): string {
  const asks = containers.map(describeContainer).join(', ');
  const why = reasons.map((r) => `pool ${r.pool}: ${r.reason}`).join('; ');
  return `${asks}: ${why || 'the policy has no pool'}`;
}
