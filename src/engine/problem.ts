/** Why a pod is denied: a stable code (metrics, tests) and a sentence for the workload author. */
export type DenyCode =
  | 'invalid-request'
  | 'reserved-annotation'
  | 'mixed-resources'
  | 'privileged-shared'
  | 'namespace-limit'
  | 'numa-cpu'
  | 'node-assigned'
  | 'no-pool';

export interface Problem {
  readonly code: DenyCode;
  readonly message: string;
}

export const problem = (code: DenyCode, message: string): Problem => ({ code, message });
