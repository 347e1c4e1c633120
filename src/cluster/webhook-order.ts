// `policy check --cluster`: whether the API server calls gpu-admission's pod webhook before the
// mutating webhooks of the schedulers its pools name (KAI's). KAI's webhook runs only for pods that
// already name its scheduler (a match condition on spec.schedulerName) and, skipped in the first
// round, is never called on reinvocation: if it runs first, a pod gpu-admission sends to KAI misses
// KAI's mutation (the share container's device environment). The API server sorts configurations
// by name and calls each one's webhooks in list order (docs/backends.md, KAI Scheduler).
import type { Policy } from '../policy/types.ts';
import { KAI } from '../vocabulary/names.ts';

/** gpu-admission's pod webhook, as manifests/base and the chart name it. */
export const POD_WEBHOOK = 'pods.gpu-admission.io';

/** One MutatingWebhookConfiguration as the check reads it. */
export interface MutatingConfiguration {
  readonly name: string;
  readonly webhooks: readonly { readonly name: string; readonly matchConditions: readonly { readonly name: string; readonly expression: string }[] }[];
}

/** The webhooks in the order the API server calls them: configurations by name (Go's byte order), then each one's list. */
export function callOrder(configurations: readonly MutatingConfiguration[]): { configuration: string; webhook: string; conditions: readonly string[] }[] {
  const sorted = [...configurations].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return sorted.flatMap((c) => c.webhooks.map((w) => ({ configuration: c.name, webhook: w.name, conditions: w.matchConditions.map((m) => m.expression) })));
}

/** Whether a CEL match condition sends only pods of this scheduler (KAI's `object.spec.schedulerName == 'kai-scheduler'`). */
function gatesOn(expression: string, scheduler: string): boolean {
  const compact = expression.replace(/\s+/g, '');
  return [`'${scheduler}'`, `"${scheduler}"`].some((s) => compact.includes(`object.spec.schedulerName==${s}`) || compact.includes(`${s}==object.spec.schedulerName`));
}

/** Findings, one line each: a scheduler's webhook the API server calls before gpu-admission's, or either one missing. */
export function checkWebhookOrder(policy: Policy, configurations: readonly MutatingConfiguration[]): string[] {
  const kaiPools = policy.pools.filter((p) => p.backend === 'kai' && !p.disabled);
  if (kaiPools.length === 0) return [];
  const schedulers = [...new Set(kaiPools.map((p) => p.schedulerName ?? KAI.scheduler))];
  const order = callOrder(configurations);
  const ours = order.findIndex((w) => w.webhook === POD_WEBHOOK);
  const theirs = order.flatMap((w, i) => {
    const gated = schedulers.filter((s) => w.conditions.some((e) => gatesOn(e, s)));
    return gated.length > 0 || w.configuration === KAI.webhookConfiguration ? [{ ...w, at: i, gated }] : [];
  });
  const pools = kaiPools.map((p) => p.name).join(', ');
  if (ours < 0) {
    return [`webhooks: no MutatingWebhookConfiguration holds gpu-admission's pod webhook ${POD_WEBHOOK}, so pods are not rewritten for kai pool${kaiPools.length > 1 ? 's' : ''} ${pools}`];
  }
  const own = order[ours]!.configuration;
  if (theirs.length === 0) {
    return [`webhooks: no mutating webhook gates on schedulerName ${schedulers.join(' or ')} (KAI's ${KAI.webhookConfiguration}): `
      + `pods of kai pool${kaiPools.length > 1 ? 's' : ''} ${pools} get no KAI mutation; is KAI's admission installed?`];
  }
  return theirs.filter((w) => w.at < ours).map((w) => `webhooks: the API server calls ${w.webhook} (MutatingWebhookConfiguration ${w.configuration}) `
    + `before gpu-admission's ${POD_WEBHOOK} (${own}): configurations run in name order, and a webhook that gates on schedulerName `
    + `${w.gated[0] ?? KAI.scheduler} skips the pods gpu-admission has not yet sent there and is not called again on reinvocation, so pods of `
    + `kai pool${kaiPools.length > 1 ? 's' : ''} ${pools} miss KAI's mutation: give KAI's configuration a name that sorts after "${own}" `
    + '(KAI\'s admission.mutatingWebhookConfigurationName)');
}
