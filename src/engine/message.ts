import { describeShare } from './translate.ts';
import type { ContainerDemand, GpuRequest } from './demand.ts';

export { WARNING_LIMIT, clampWarning, fitWarning } from '../vocabulary/warnings.ts';

export function describeRequest(request: GpuRequest): string {
  const cards = `${request.gpu} GPU${request.gpu === 1 ? '' : 's'}`;
  if (request.memory === undefined && request.cores === undefined) return cards;
  return `${cards} × ${describeShare(request)}`;
}

export function describeContainer(c: ContainerDemand): string {
  if (c.request) return `container "${c.name}" asks ${describeRequest(c.request)}`;
  return `container "${c.name}" asks ${c.natives.map((n) => `${n.resource}: ${n.value.text}`).join(', ')}`;
}

/** `container "train" asks 2 GPUs × 40Gi: pool t4-shared: card has 15Gi; pool h100: …` */
export function noPoolMessage(containers: readonly ContainerDemand[], reasons: readonly { pool: string; reason: string }[]): string {
  const asks = containers.map(describeContainer).join(', ');
  const why = reasons.map((r) => `pool ${r.pool}: ${r.reason}`).join('; ');
  return `${asks}: ${why || 'the policy has no pool'}`;
}
