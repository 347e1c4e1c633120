import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { webhookRbac } from '../../src/kube/rbac.ts';

describe('RBAC the webhook needs', () => {
  const rules = webhookRbac();

  it('when listed, then every verb has its reason and nothing is granted with a wildcard or get', () => {
    for (const rule of rules) {
      assert.deepEqual(Object.keys(rule.why).sort(), [...rule.verbs].sort(), rule.resources.join());
      assert.ok(!rule.verbs.includes('*') && !rule.resources.includes('*') && !rule.verbs.includes('get'));
    }
  });

  it('when it comes to ConfigMaps, then only the policy ConfigMap in the webhook\'s namespace can be listed and watched', () => {
    const configMaps = rules.filter((r) => r.resources.includes('configmaps'));
    assert.deepEqual(configMaps.map((r) => [r.kind, r.namespace, r.resourceNames, r.verbs]), [
      ['Role', 'gpu-admission', ['gpu-admission-policy'], ['list', 'watch']],
    ]);
  });

  it('when it comes to Events, Namespaces and Nodes, then Events are namespaced and only Namespaces and Nodes (list, watch) need a ClusterRole', () => {
    assert.deepEqual(rules.filter((r) => r.kind === 'ClusterRole').map((r) => [r.resources, r.verbs]), [[['namespaces'], ['list', 'watch']], [['nodes'], ['list', 'watch']]]);
    const events = rules.find((r) => r.resources.includes('events'));
    assert.deepEqual([events?.kind, events?.namespace, events?.apiGroups, events?.verbs], ['Role', 'gpu-admission', ['events.k8s.io'], ['create', 'patch']]);
  });

  it('when the shipped manifests are read, then their Role and ClusterRole grant exactly these rules', () => {
    const docs = parseAllDocuments(readFileSync(new URL('../../manifests/base/rbac.yaml', import.meta.url), 'utf8')).map((d) => d.toJS());
    const shipped = docs.filter((d) => d.kind === 'Role' || d.kind === 'ClusterRole').flatMap((d) =>
      (d.rules as { apiGroups: string[]; resources: string[]; resourceNames?: string[]; verbs: string[] }[])
        .map((r) => ({ kind: d.kind, apiGroups: r.apiGroups, resources: r.resources, resourceNames: r.resourceNames, verbs: r.verbs })));
    assert.deepEqual(shipped, rules.map((r) => ({ kind: r.kind, apiGroups: r.apiGroups, resources: r.resources, resourceNames: r.resourceNames, verbs: r.verbs })));
  });
});
