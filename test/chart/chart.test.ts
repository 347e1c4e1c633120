// The chart's own files, checked without Helm: versions, the values schema against the policy
// schema the webhook uses, a comment on every value, and the copies of manifests/monitoring.
// Rendering and installing the chart with a real Helm is test/e2e/helm.e2e.ts.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Ajv } from 'ajv';
import { isMap, isScalar, isSeq, parse, parseDocument, type Pair, type YAMLMap } from 'yaml';
import { embeddedPolicySchema } from '../../src/policy/schema.ts';

const root = new URL('../../', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, root), 'utf8');
const chart = (path: string): string => read(`charts/gpu-admission/${path}`);
const valuesSchema = JSON.parse(chart('values.schema.json'));

/** Ajv as strict as Helm's validator is on these keywords; `quantity` is a format only ours knows. */
function validator(): (values: unknown) => string[] {
  const ajv = new Ajv({ allErrors: true, strict: false });
  ajv.addFormat('quantity', true);
  const validate = ajv.compile(valuesSchema);
  return (values) => (validate(values) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`));
}

describe('the Helm chart', () => {
  it('when Chart.yaml is read, then its version and appVersion are the package version', () => {
    const meta = parse(chart('Chart.yaml'));
    const { version } = JSON.parse(read('package.json'));
    assert.equal(meta.appVersion, version);
    assert.equal(meta.version, version);
  });

  it('when values.schema.json is read, then its policy definition is the schema the webhook validates with', () => {
    assert.deepEqual(valuesSchema.definitions.policy, embeddedPolicySchema(), 'regenerate it: npm run chart:schema');
  });

  it('when values.yaml is read, then every value has a comment that says what it is', () => {
    const doc = parseDocument(chart('values.yaml'));
    const missing: string[] = [];
    const walk = (map: YAMLMap, path: string, mapComment: boolean): void => {
      map.items.forEach((pair: Pair, i) => {
        const key = isScalar(pair.key) ? String(pair.key.value) : '?';
        const commented = Boolean((isScalar(pair.key) && pair.key.commentBefore) || (i === 0 && mapComment)
          || (isScalar(pair.value) && pair.value.comment) || (isMap(pair.value) && pair.value.comment));
        // A commented group covers what is inside it; an uncommented one needs a comment on each.
        if (commented) return;
        if (isMap(pair.value) && pair.value.items.length > 0) {
          walk(pair.value, `${path}${key}.`, Boolean(pair.value.commentBefore));
        } else {
          missing.push(`${path}${key}`);
        }
      });
    };
    walk(doc.contents as YAMLMap, '', Boolean(doc.commentBefore));
    assert.deepEqual(missing, []);
    assert.ok(!isSeq(doc.contents));
  });

  it('when the default values are checked against values.schema.json, then they are valid', () => {
    assert.deepEqual(validator()(parse(chart('values.yaml'))), []);
  });

  it('when every example policy is given as the policy value, then the schema accepts the valid ones and names the field of the broken one', () => {
    const validate = validator();
    const defaults = parse(chart('values.yaml'));
    const files = readdirSync(new URL('examples/policies/', root)).filter((f) => f.endsWith('.yaml'));
    assert.ok(files.length >= 3);
    for (const file of files) {
      const policy = parse(read(`examples/policies/${file}`));
      const errors = validate({ ...defaults, policy });
      if (file === 'bad-policy.yaml') assert.ok(errors.some((e) => e.startsWith('/policy/')), errors.join('\n'));
      else assert.deepEqual(errors, [], file);
    }
    const typo = validate({ ...defaults, policy: { apiVersion: 'gpu-admission.io/v1alpha1', kind: 'GpuAdmissionPolicy', pools: [{ name: 'p', backend: 'ack-shared', nodeSelecter: {} }] } });
    assert.ok(typo.some((e) => e.startsWith('/policy/pools/0')), typo.join('\n'));
  });

  it('when a value outside the schema is given, then it is refused (typos in value names do not pass silently)', () => {
    const validate = validator();
    const defaults = parse(chart('values.yaml'));
    assert.notDeepEqual(validate({ ...defaults, replica: 3 }), []);
    assert.notDeepEqual(validate({ ...defaults, webhook: { ...defaults.webhook, failurePolicy: 'fail' } }), []);
    assert.notDeepEqual(validate({ ...defaults, certificates: { ...defaults.certificates, source: 'self-signed' } }), []);
    assert.notDeepEqual(validate({ ...defaults, podLabels: { app: 'mine' } }), [], 'the selector label is the chart\'s');
    assert.notDeepEqual(validate({ ...defaults, extraEnv: [{ value: 'no name' }] }), []);
    assert.notDeepEqual(validate({ ...defaults, extraArgs: [['--nested']] }), []);
  });

  it('when the READMEs install from the registry, then they name the chart published by the release workflow at the package version', () => {
    const { version } = JSON.parse(read('package.json'));
    for (const text of [read('README.md'), read('docs/operators.md'), chart('README.md')]) {
      const installs = [...text.matchAll(/helm install gpu-admission (oci:\S+) --version (\S+)/g)];
      assert.ok(installs.length > 0);
      for (const [, ref, v] of installs) assert.deepEqual([ref, v], ['oci://ghcr.io/gpu-admission/charts/gpu-admission', version]);
    }
    assert.match(read('.github/workflows/release.yml'), /oci:\/\/ghcr\.io\/\$owner\/charts/);
  });

  it('when the chart README is read, then its values table has a row for every value of values.yaml, with its default, and no other', () => {
    const rows = new Map([...chart('README.md').matchAll(/^\| `([^`]+)` \| `([^`]*)` \|/gm)].map((m) => [m[1]!, m[2]!]));
    const paths: Array<[string, unknown]> = [];
    // A value is a row; a map is walked into where the schema names its keys (image, webhook, ...).
    const walk = (value: Record<string, unknown>, schema: Record<string, any>, prefix: string): void => {
      for (const [key, v] of Object.entries(value)) {
        const sub = schema.properties?.[key] ?? {};
        if (sub.properties && v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0) walk(v as Record<string, unknown>, sub, `${prefix}${key}.`);
        else paths.push([`${prefix}${key}`, v]);
      }
    };
    walk(parse(chart('values.yaml')), valuesSchema, '');
    assert.deepEqual([...rows.keys()].sort(), paths.map(([p]) => p).sort());
    const shown = (v: unknown): string | undefined => (v === '' ? '""' : Array.isArray(v) && v.length === 0 ? '[]'
      : v && typeof v === 'object' ? (Object.keys(v).length === 0 ? '{}' : undefined) : String(v));
    for (const [path, v] of paths) if (shown(v) !== undefined) assert.equal(rows.get(path), shown(v), path);
  });

  it('when the monitoring files of the chart are compared with manifests/monitoring, then they are the same', () => {
    assert.equal(chart('files/gpu-admission-dashboard.json'), read('manifests/monitoring/gpu-admission-dashboard.json'));
    assert.deepEqual(parse(chart('files/prometheus-rule-spec.yaml')), parse(read('manifests/monitoring/prometheus-rule.yaml')).spec);
  });
});
