// .github/workflows/release.yml cannot run here (GitHub Actions, ghcr.io): what can be checked
// without it is checked here — its trigger, that it refuses a tag that is not the package's and
// the chart's version, and that it publishes the image and the chart where the README says.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse } from 'yaml';

const root = new URL('../../', import.meta.url);
const workflow = parse(readFileSync(new URL('.github/workflows/release.yml', root), 'utf8'));
const steps: Array<Record<string, any>> = workflow.jobs.release.steps;
const script = steps.map((s) => s.run ?? '').join('\n');

describe('the release workflow', () => {
  it('when read, then it runs on a pushed v* tag and on nothing else', () => {
    assert.deepEqual(workflow.on, { push: { tags: ['v*'] } });
  });

  it('when read, then before publishing it checks the tag against package.json and Chart.yaml\'s version and appVersion', () => {
    const check = steps.findIndex((s) => /package\.json/.test(s.run ?? '') && /Chart\.yaml/.test(s.run ?? ''));
    assert.ok(check >= 0, 'a version check step');
    for (const word of ['GITHUB_REF_NAME', 'version:', 'appVersion:', 'exit 1']) assert.ok(steps[check]!.run.includes(word), word);
    const publishing = steps.findIndex((s) => String(s.uses ?? '').startsWith('docker/build-push-action') || /helm push/.test(s.run ?? ''));
    assert.ok(check < publishing, 'checked before anything is pushed');
  });

  it('when read, then it pushes the Dockerfile\'s image and the packaged chart to ghcr.io', () => {
    const build = steps.find((s) => String(s.uses ?? '').startsWith('docker/build-push-action'))!;
    assert.equal(build.with.file, 'Dockerfile');
    assert.equal(build.with.push, true);
    assert.match(script, /helm package charts\/gpu-admission/);
    assert.match(script, /helm push /);
    assert.match(script, /ghcr\.io\/\$owner\/charts/);
    assert.equal(workflow.permissions.packages, 'write');
  });
});
