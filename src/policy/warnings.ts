import { BACKEND_FACTS } from '../vocabulary/backends.ts';
import type { Policy } from './types.ts';

/**
 * Valid policies that probably do not do what the operator means. Shown by `policy check`, as
 * admission warnings when the ConfigMap is applied, and logged when a policy is loaded.
 */
export function policyWarnings(policy: Policy): string[] {
  const warnings: string[] = [];
  const unlabelled = policy.pools.some((p) => !p.backend.startsWith('ack-') && p.backend !== 'nvidia-mig');
  policy.pools.forEach((pool, i) => {
    if (pool.backend === 'ack-exclusive' && Object.keys(pool.nodeSelector).length === 0 && unlabelled) {
      warnings.push(`/pools/${i}: ack-exclusive without nodeSelector also matches the nodes of non-ACK pools`);
    }
    if (pool.rdma && pool.rdmaResource === 'aliyun/erdma' && !pool.backend.startsWith('ack-')) {
      warnings.push(`/pools/${i}: rdma on ${pool.backend} uses ACK's aliyun/erdma; set rdmaResource`);
    }
  });
  policy.namespaces.forEach((rule, i) => {
    if (rule.allowedPools?.length === 0) warnings.push(`/namespaces/${i}/allowedPools: empty, so those namespaces get no GPU`);
  });
  const isolations = new Set(policy.pools.map((p) => BACKEND_FACTS[p.backend].isolation));
  if (policy.defaults.isolation === 'compute' && !isolations.has('compute')) {
    warnings.push('/defaults/isolation: compute, but no pool isolates compute');
  }
  return warnings;
}
