import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

/**
 * Keeps the README and the docs true: every `$ npm run -s cli -- …` line in their console blocks
 * is run, and what it prints (stdout and stderr, as a terminal shows them) must be the text that
 * follows it.
 */
const root = new URL('../../', import.meta.url).pathname;
const pages = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

interface Example { readonly page: string; readonly args: string[]; readonly expected: string }

function examples(): Example[] {
  const found: Example[] = [];
  for (const page of pages) for (const block of readFileSync(join(root, page), 'utf8').split('```console\n').slice(1).map((b) => b.split('\n```')[0] ?? '')) {
    const commands = block.split(/^\$ /m).slice(1);
    for (const command of commands) {
      const [line = '', ...output] = command.split('\n');
      if (!line.startsWith('npm run -s cli -- ')) continue;
      found.push({ page, args: line.slice('npm run -s cli -- '.length).split(' '), expected: output.join('\n').trim() });
    }
  }
  return found;
}

describe('the CLI examples of README and docs/ are real CLI output', () => {
  const all = examples();
  it('when the pages are read, then they have the CLI examples this test checks', () => {
    assert.ok(all.filter((e) => e.page === 'README.md').length >= 2, 'README shows the CLI');
    assert.ok(all.length >= 8, `found ${all.length} examples`);
  });
  for (const { page, args, expected } of all) {
    it(`when "gpu-admission ${args.join(' ')}" runs, then it prints what ${page} shows`, () => {
      const r = spawnSync(process.execPath, [join(root, 'src/cli/main.ts'), ...args], { cwd: root, encoding: 'utf8' });
      assert.equal(`${r.stdout}${r.stderr}`.trim(), expected);
    });
  }
});
