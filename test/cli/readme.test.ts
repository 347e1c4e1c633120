import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

/**
 * Keeps the README true: every `$ npm run -s cli -- …` line in its console blocks is run, and
 * what it prints (stdout and stderr, as a terminal shows them) must be the text that follows it.
 */
const root = new URL('../../', import.meta.url).pathname;
const readme = readFileSync(join(root, 'README.md'), 'utf8');

interface Example { readonly args: string[]; readonly expected: string }

function examples(): Example[] {
  const found: Example[] = [];
  for (const block of readme.split('```console\n').slice(1).map((b) => b.split('\n```')[0] ?? '')) {
    const commands = block.split(/^\$ /m).slice(1);
    for (const command of commands) {
      const [line = '', ...output] = command.split('\n');
      if (!line.startsWith('npm run -s cli -- ')) continue;
      found.push({ args: line.slice('npm run -s cli -- '.length).split(' '), expected: output.join('\n').trim() });
    }
  }
  return found;
}

describe('README examples are real CLI output', () => {
  const all = examples();
  it('when the README is read, then it has the CLI examples this test checks', () => {
    assert.ok(all.length >= 4, `found ${all.length} examples`);
  });
  for (const { args, expected } of all) {
    it(`when "gpu-admission ${args.join(' ')}" runs, then it prints what the README shows`, () => {
      const r = spawnSync(process.execPath, [join(root, 'src/cli/main.ts'), ...args], { cwd: root, encoding: 'utf8' });
      assert.equal(`${r.stdout}${r.stderr}`.trim(), expected);
    });
  }
});
