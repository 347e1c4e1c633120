// One row of a table of decide() scenarios, and how it is run: routed, refused or left alone,
// and (routed) the webhook on its own output returns no patch.
import assert from 'node:assert/strict';
import { analyse, decide } from '../../src/engine/decide.ts';
import type { Pod } from '../../src/engine/pod.ts';
import type { Policy } from '../../src/policy/types.ts';
import { applied } from './pods.ts';
import { design } from './policies.ts';

export interface Case {
  name: string;
  pod: Pod;
  policy?: Policy;
  /** Routed: the pools of the decision. */
  pools?: string[];
  /** Denied: text the message must hold. */
  denied?: string[];
  /** Pools ruled out, with text their reason (what `explain` prints) must hold. */
  ruledOut?: Record<string, string>;
  /** Allowed untouched (no patch). */
  untouched?: true;
  check?: (out: Pod) => void;
}

/** The reason analyse() gives for each pool ruled out: the line `explain` prints for it. */
function reasons(pod: Pod, policy: Policy): Map<string, string> {
  const a = analyse(pod, { policy, namespace: { name: 'ml', labels: {} } });
  if (a.kind === 'pools') return new Map(a.outcomes.flatMap((o) => (o.ok ? [] : [[o.pool.name, o.reason]])));
  if (a.kind === 'natives') return new Map(a.verdicts.flatMap((v) => (v.reason === undefined ? [] : [[v.pool.name, v.reason]])));
  return new Map();
}

export function runCase(c: Case): void {
  const policy = c.policy ?? design;
  const ctx = { policy, namespace: { name: 'ml', labels: {} } };
  const d = decide(c.pod, ctx);
  const why = reasons(c.pod, policy);
  for (const [pool, text] of Object.entries(c.ruledOut ?? {})) {
    assert.ok(why.get(pool)?.includes(text), `pool ${pool}: "${text}" not in its reason: ${why.get(pool) ?? '(not ruled out)'}`);
  }
  if (c.denied) {
    assert.equal(d.kind, 'deny', JSON.stringify(d));
    for (const text of c.denied) assert.ok(d.kind === 'deny' && d.message.includes(text), `"${text}" not in: ${d.kind === 'deny' ? d.message : ''}`);
    return;
  }
  if (c.untouched) {
    assert.ok(d.kind === 'allow' || d.kind === 'not-applicable', JSON.stringify(d));
    return;
  }
  if (c.pools === undefined) return;
  assert.equal(d.kind, 'patch', JSON.stringify(d));
  if (d.kind !== 'patch') return;
  assert.deepEqual(d.record.pools, c.pools);
  const out = applied(c.pod, d);
  c.check?.(out);
  assert.deepEqual(decide(out, ctx), { kind: 'allow', warnings: [] }, 'its own output needs no patch');
}
