import { decodeConfigMap, isConfigMapReview } from '../admission/decode.ts';
import { allow, refuse } from '../admission/encode.ts';
import { parsePolicy } from '../policy/parse.ts';
import { policyWarnings } from '../policy/warnings.ts';
import type { ReviewHandler, ReviewOutcome } from './review.ts';

/** Where the policy lives: gpu-admission/gpu-admission-policy, key policy.yaml (public names). */
export interface PolicyConfigMapRef {
  readonly namespace: string;
  readonly name: string;
  readonly key: string;
}

const UNTOUCHED: ReviewOutcome = { verdict: allow(), result: 'unchanged' };

const deny = (reason: string, message: string): ReviewOutcome =>
  ({ verdict: refuse(403, message, 'Forbidden'), result: 'denied', reason: reason });

/**
 * POST /validate-policy: refuses a create or update of the policy ConfigMap whose policy would
 * not load, with every error and its path, so a bad edit never reaches the running webhooks
 * (which would keep their last good policy anyway). Other ConfigMaps pass untouched.
 */
export function validatePolicyHandler(ref: PolicyConfigMapRef): ReviewHandler {
  return (request) => {
    if (!isConfigMapReview(request) || (request.operation !== 'CREATE' && request.operation !== 'UPDATE')) return UNTOUCHED;
    const configMap = decodeConfigMap(request);
    const name = request.name || configMap.metadata?.name;
    const namespace = request.namespace || configMap.metadata?.namespace;
    if (name !== ref.name || namespace !== ref.namespace) return UNTOUCHED;
    const where = `ConfigMap ${namespace}/${name}`;
    const text = configMap.data?.[ref.key];
    if (text === undefined) {
      const inBinary = configMap.binaryData?.[ref.key] !== undefined ? ` (it is under binaryData; put it under data)` : '';
      return deny('policy-missing', `${where} has no data key "${ref.key}"${inBinary}: the GPU policy must be there`);
    }
    const result = parsePolicy(text);
    if (!result.ok) {
      return deny('policy-invalid', `${where}, key ${ref.key}: invalid GPU policy: ${result.errors.join('; ')}`);
    }
    const warnings = policyWarnings(result.policy);
    return { verdict: allow(undefined, warnings.length > 0 ? warnings : undefined), result: 'accepted', revision: result.policy.revision };
  };
}
