import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  GPU_ANNOTATION_PREFIXES, GPU_RESOURCE_PREFIXES, generatedFiles, workloadWebhookConfiguration,
} from '../../src/admission/webhook-configuration.ts';
import { WORKLOAD_KINDS } from '../../src/vocabulary/workloads.ts';

type Obj = Record<string, any>;

describe('the pod webhook, written by hand', () => {
  it('when its matchConditions are read (base and chart), then every GPU resource prefix is looked for in limits and requests of init and app containers', () => {
    for (const path of ['manifests/base/mutating-webhook.yaml', 'charts/gpu-admission/templates/webhooks.yaml']) {
      const text = readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
      for (const prefix of GPU_RESOURCE_PREFIXES) {
        assert.equal(text.split(`k.startsWith('${prefix}')`).length - 1 >= 4, true, `${path}: ${prefix}`);
      }
      for (const prefix of GPU_ANNOTATION_PREFIXES) assert.ok(text.includes(`k.startsWith('${prefix}')`), `${path}: annotation ${prefix}`);
    }
  });
});

describe('the generated workload webhook configuration', () => {
  it('when the committed files are read, then they are exactly what the workload table generates', () => {
    for (const [path, text] of Object.entries(generatedFiles())) {
      assert.equal(readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8'), text, `${path}: regenerate it with npm run manifests`);
    }
  });

  it('when each webhook is read, then every kind of the table is in its rules, on CREATE and UPDATE, and pods only where meant', () => {
    const hooks = workloadWebhookConfiguration('gpu-admission').webhooks as Obj[];
    assert.deepEqual(hooks.map((h) => h.name), ['workloads.gpu-admission.io', 'audit.gpu-admission.io', 'not-opted-in.gpu-admission.io']);
    for (const hook of hooks) {
      for (const w of WORKLOAD_KINDS) {
        const rule = hook.rules.find((r: Obj) => r.apiGroups.includes(w.group) && r.resources.includes(w.resource));
        assert.ok(rule, `${hook.name}: ${w.kind}`);
        assert.deepEqual(rule.operations, ['CREATE', 'UPDATE']);
        assert.deepEqual(rule.apiVersions, w.versions);
        for (const condition of hook.matchConditions.filter((c: Obj) => c.name !== 'not-made-by-a-controller')) {
          assert.ok(condition.expression.includes(`'${w.kind}'`), `${hook.name} ${condition.name}: ${w.kind}`);
        }
      }
      const pods = hook.rules.filter((r: Obj) => r.resources.includes('pods'));
      assert.deepEqual(pods.map((r: Obj) => r.operations), hook.name === 'workloads.gpu-admission.io' ? [] : [['CREATE']]);
      assert.deepEqual(hook.matchConditions.map((c: Obj) => c.name).slice(0, 2), ['not-made-by-a-controller', 'pod-template-changed']);
      assert.equal(hook.failurePolicy, 'Ignore');
      assert.equal(hook.sideEffects, 'None');
    }
  });

  it('when the namespace selectors are read, then opted-in, audit and every other namespace each get one webhook, never the system ones', () => {
    const hooks = workloadWebhookConfiguration('platform').webhooks as Obj[];
    const enabled = hooks.map((h) => h.namespaceSelector.matchExpressions[0]);
    assert.deepEqual(enabled, [
      { key: 'gpu-admission.io/enabled', operator: 'In', values: ['true'] },
      { key: 'gpu-admission.io/enabled', operator: 'In', values: ['audit'] },
      { key: 'gpu-admission.io/enabled', operator: 'NotIn', values: ['true', 'audit'] },
    ]);
    for (const h of hooks) assert.deepEqual(h.namespaceSelector.matchExpressions[1].values, ['kube-system', 'kube-node-lease', 'platform']);
    assert.equal(hooks[0]!.clientConfig.service.namespace, 'platform');
  });

  it('when the conditions are read, then the not-opted-in webhook is called only for the portable vocabulary, the others for natives too', () => {
    const hooks = workloadWebhookConfiguration('gpu-admission').webhooks as Obj[];
    const last = (h: Obj): string => h.matchConditions.at(-1).expression;
    assert.ok(last(hooks[0]!).includes("startsWith('nvidia.com/')"));
    assert.ok(!last(hooks[2]!).includes("startsWith('nvidia.com/')"));
    assert.ok(last(hooks[2]!).includes("startsWith('gpu-admission.io/')"));
  });
});
