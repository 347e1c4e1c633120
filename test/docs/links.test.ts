// README and the pages of docs/ link to each other by relative paths and heading anchors; after
// README was split into docs/ by reader (issue 19), a moved section must not leave a link that
// lands nowhere. Every relative link must name a file of the repository, and its #anchor a
// heading of that page (GitHub's slugs: lower case, punctuation dropped, spaces to hyphens).
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, it } from 'node:test';

const root = new URL('../../', import.meta.url).pathname;
const pages = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** The anchor GitHub gives a heading. */
export function slug(heading: string): string {
  return heading.trim().toLowerCase().replace(/`/g, '').replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');
}

function anchors(page: string): Set<string> {
  const text = readFileSync(join(root, page), 'utf8').replace(/```[\s\S]*?```/g, '');
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1]!)));
}

function links(page: string): Array<{ target: string; anchor: string | undefined }> {
  const text = readFileSync(join(root, page), 'utf8').replace(/```[\s\S]*?```/g, '');
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!)
    .filter((href) => !/^[a-z]+:/.test(href))
    .map((href) => {
      const [path = '', anchor] = href.split('#');
      return { target: path === '' ? page : normalize(join(dirname(page), path)), anchor };
    });
}

describe('links between README and docs/', () => {
  it('when a heading is turned into an anchor, then it follows GitHub\'s rule', () => {
    assert.equal(slug('Running the webhook outside the cluster (a laptop, a debugger)'), 'running-the-webhook-outside-the-cluster-a-laptop-a-debugger');
    assert.equal(slug('Dynamic Resource Allocation (`dra` pools)'), 'dynamic-resource-allocation-dra-pools');
    assert.equal(slug('What the webhook may do (RBAC)'), 'what-the-webhook-may-do-rbac');
  });

  it('when the pages are read, then README links to a page for each reader', () => {
    const readme = links('README.md').map((l) => l.target);
    for (const page of ['docs/operators.md', 'docs/policy.md', 'docs/workload-authors.md', 'docs/backends.md', 'docs/development.md']) {
      assert.ok(readme.includes(page), `README links to ${page}`);
    }
  });

  for (const page of pages) {
    it(`when ${page} is read, then every relative link names a file and every anchor a heading of it`, () => {
      const found = links(page);
      for (const { target, anchor } of found) {
        assert.ok(existsSync(join(root, target)), `${page} links to ${target}, which does not exist`);
        if (anchor !== undefined && target.endsWith('.md')) {
          assert.ok(anchors(target).has(anchor), `${page} links to ${target}#${anchor}: no such heading`);
        }
      }
    });
  }
});
