// Folders form floors and imports only go down: vocabulary (units, names, backend facts) below
// policy, policy below the pure engine and the pure cluster view, both free of I/O. A cycle, or an engine that
// logs or reads files, fails here.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';

const SRC = new URL('../src/', import.meta.url);

function imports(folder: string): { file: string; target: string }[] {
  return readdirSync(new URL(`${folder}/`, SRC)).filter((f) => f.endsWith('.ts')).flatMap((f) => {
    const text = readFileSync(new URL(`${folder}/${f}`, SRC), 'utf8');
    return [...text.matchAll(/^(?:import|export)[^'"]*from '([^']+)'/gm)].map((m) => ({ file: `${folder}/${f}`, target: m[1] ?? '' }));
  });
}

/** Which folders (relative imports) and packages each floor may import. */
const FLOORS: Record<string, { folders: string[]; packages: RegExp }> = {
  vocabulary: { folders: ['vocabulary'], packages: /^$/ },
  // ajv's runtime helpers: what the generated schema validator (scripts/validators.ts) imports of ajv.
  policy: { folders: ['policy', 'vocabulary'], packages: /^(ajv|ajv\/dist\/runtime\/[a-z0-9]+\.js|yaml|node:crypto)$/ },
  engine: { folders: ['engine', 'policy', 'vocabulary'], packages: /^fast-json-patch$/ },
  // The cluster view is pure too: src/kube reads the cluster, src/cli prints.
  cluster: { folders: ['cluster', 'policy', 'vocabulary'], packages: /^yaml$/ },
};

describe('architecture: imports only go down', () => {
  for (const [floor, allowed] of Object.entries(FLOORS)) {
    it(`when src/${floor} imports, then only ${allowed.folders.join(', ')} and its own packages`, () => {
      const list = imports(floor);
      assert.ok(list.length > 0);
      for (const { file, target } of list) {
        if (target.startsWith('.')) {
          const folder = target.startsWith('./') ? floor : target.split('/')[1];
          assert.ok(allowed.folders.includes(folder ?? ''), `${file} imports ${target}`);
        } else {
          assert.match(target, allowed.packages, `${file} imports the package ${target}`);
        }
      }
    });
  }

  it('when the engine imports policy, then only types and what a pool is made of (never parsing or I/O)', () => {
    for (const { file, target } of imports('engine').filter((i) => i.target.startsWith('../policy/'))) {
      assert.ok(['../policy/types.ts', '../policy/pool-nodes.ts', '../policy/defaults.ts', '../policy/dra.ts', '../policy/gke.ts'].includes(target), `${file} imports ${target}`);
    }
  });
});
