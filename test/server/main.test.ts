import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { AdmissionReview } from '../../src/admission/types.ts';
import { shippedNodeFlags } from '../../bench/shipped.ts';
import { DEFAULT_POLICY_YAML } from '../../src/policy/default-policy.ts';
import { genCerts } from './certs.ts';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const EXAMPLE = readFileSync(new URL('../../examples/admission-review.json', import.meta.url), 'utf8');
const GUARD = { timeout: 60_000 };

const root = mkdtempSync(join(tmpdir(), 'gpu-admission-main-'));
const certs = join(root, 'certs');
let ca: Buffer;
before(() => {
  genCerts(certs);
  ca = readFileSync(join(certs, 'ca.crt'));
});
after(() => rmSync(root, { recursive: true, force: true }));

type Line = Record<string, unknown> & { msg?: string };

/** The webhook as a child process, with its JSON log lines as they come. */
class Webhook {
  readonly child: ChildProcess;
  readonly lines: Line[] = [];
  readonly exited: Promise<number | null>;
  stderr = '';
  #waiters: { match: (l: Line) => boolean; resolve: (l: Line) => void }[] = [];

  /** `nodeFlags` go on node's command line before the entry point, as the image's ENTRYPOINT puts them. */
  constructor(args: string[], env: Record<string, string> = {}, nodeFlags: readonly string[] = []) {
    this.child = spawn(process.execPath, [...nodeFlags, MAIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let buffer = '';
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
        this.#take(JSON.parse(buffer.slice(0, i)) as Line);
        buffer = buffer.slice(i + 1);
      }
    });
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  #take(line: Line): void {
    this.lines.push(line);
    this.#waiters = this.#waiters.filter((w) => !(w.match(line) && (w.resolve(line), true)));
  }

  /** The first log line with this message, now or when it comes; fails if the process exits first. */
  line(msg: string): Promise<Line> {
    const seen = this.lines.find((l) => l.msg === msg);
    if (seen) return Promise.resolve(seen);
    return Promise.race([
      new Promise<Line>((resolve) => this.#waiters.push({ match: (l) => l.msg === msg, resolve })),
      this.exited.then((code) => { throw new Error(`exited with ${code} before logging "${msg}": ${this.stderr}`); }),
    ]);
  }
}

function call(port: number, path: string, body?: string): Promise<{ status: number; body: unknown; connection?: string }> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1', port, path, ca, agent: new Agent(), method: body === undefined ? 'GET' : 'POST',
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as unknown, ...(res.headers.connection ? { connection: res.headers.connection } : {}) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A POST whose headers are in (the server answered 100 Continue) and whose body is held back. */
function startReview(port: number): Promise<{ finish: () => Promise<{ status: number; review: AdmissionReview }> }> {
  return new Promise((resolve, reject) => {
    let answered: (v: { status: number; review: AdmissionReview }) => void = () => {};
    const answer = new Promise<{ status: number; review: AdmissionReview }>((r) => (answered = r));
    const req = request({
      host: '127.0.0.1', port, path: '/mutate', ca, agent: new Agent(), method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(EXAMPLE), expect: '100-continue' },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c));
      res.on('end', () => answered({ status: res.statusCode ?? 0, review: JSON.parse(text) as AdmissionReview }));
    });
    req.on('error', reject);
    req.on('continue', () => resolve({ finish: () => { req.end(EXAMPLE); return answer; } }));
    req.flushHeaders();
  });
}

const serving = (extra: string[] = []): string[] => [
  '--port', '0', '--host', '127.0.0.1', '--tls-cert', join(certs, 'tls.crt'), '--tls-key', join(certs, 'tls.key'),
  '--process-metrics', 'false', ...extra,
];

describe('src/main.ts', () => {
  it('when started with a certificate and the image\'s node flags, then it serves reviews; on SIGTERM it turns unready, finishes the review in flight and exits 0', GUARD, async () => {
    const webhook = new Webhook(serving(['--drain-delay-seconds', '600']), {}, shippedNodeFlags()); // the Dockerfile's ENTRYPOINT: node refuses a flag it does not know
    try {
      const port = Number((await webhook.line('listening')).port);
      assert.deepEqual((await call(port, '/readyz')).body, { ready: true });
      const patched = (await call(port, '/mutate', EXAMPLE)).body as AdmissionReview;
      assert.equal(patched.response?.patchType, 'JSONPatch');

      webhook.child.kill('SIGTERM');
      await webhook.line('shutting down: not ready, finishing reviews in flight');
      const readyz = await call(port, '/readyz');
      assert.equal(readyz.status, 503);
      assert.deepEqual(readyz.body, { ready: false, reasons: ['shutting down'] });
      assert.equal(readyz.connection, 'close');

      const inFlight = await startReview(port);
      webhook.child.kill('SIGTERM'); // a second signal ends the drain delay: close now
      await webhook.line('second signal: closing now');
      const { status, review } = await inFlight.finish();
      assert.equal(status, 200);
      assert.equal(review.response?.patchType, 'JSONPatch');
      assert.equal(await webhook.exited, 0);
      assert.ok(webhook.lines.some((l) => l.msg === 'stopped'));
    } finally {
      webhook.child.kill('SIGKILL');
    }
  });

  it('when the policy file is invalid, then it exits 1 and logs every error path', GUARD, async () => {
    const file = join(root, 'bad-policy.yaml');
    writeFileSync(file, DEFAULT_POLICY_YAML.replace('perNode: 8}', 'perNode: 0}').replace('rounding: up', 'rounding: sideways'));
    const webhook = new Webhook(serving(['--policy-file', file]));
    assert.equal(await webhook.exited, 1);
    const fatal = webhook.lines.find((l) => l.level === 'fatal');
    assert.match(String(fatal?.msg), /cannot start: invalid policy/);
    const errors = (fatal?.errors ?? []) as string[];
    assert.ok(errors.some((e) => e.startsWith('/defaults/rounding')), JSON.stringify(errors));
    assert.ok(errors.some((e) => /^\/pools\/\d+\/gpu\/perNode/.test(e)), JSON.stringify(errors));
  });

  it('when the policy file is valid, then its revision is in force', GUARD, async () => {
    const file = join(root, 'policy.yaml');
    writeFileSync(file, DEFAULT_POLICY_YAML);
    const webhook = new Webhook(serving(['--policy-file', file]));
    try {
      const listening = await webhook.line('listening');
      assert.match(String(listening.policy), /^file-[0-9a-f]{12}$/);
    } finally {
      webhook.child.kill('SIGKILL');
    }
  });

  it('when the policy file is rewritten in place, renamed over, swapped like a ConfigMap volume or made invalid, then each valid version is in force and an invalid one is refused, logged and counted', GUARD, async () => {
    // A ConfigMap volume: policy.yaml -> ..data/policy.yaml, ..data -> a timestamped directory, swapped atomically.
    const volume = join(root, 'policy-volume');
    mkdirSync(volume);
    const publish = (name: string, text: string): void => {
      mkdirSync(join(volume, name));
      writeFileSync(join(volume, name, 'policy.yaml'), text);
      symlinkSync(name, join(volume, '..data_tmp'));
      renameSync(join(volume, '..data_tmp'), join(volume, '..data'));
    };
    publish('..v1', DEFAULT_POLICY_YAML);
    symlinkSync('..data/policy.yaml', join(volume, 'policy.yaml'));
    const plain = join(root, 'plain-policy.yaml');
    writeFileSync(plain, DEFAULT_POLICY_YAML);
    const revisions = async (port: number): Promise<string> => {
      const review = (await call(port, '/mutate', EXAMPLE)).body as AdmissionReview;
      const patch = JSON.parse(Buffer.from(review.response?.patch ?? '', 'base64').toString('utf8')) as { value?: Record<string, string> }[];
      const decision = patch.map((op) => op.value?.['gpu-admission.io/decision']).find((d) => d !== undefined);
      return JSON.parse(decision ?? '{}').revision as string;
    };
    const loads = (webhook: Webhook): Line[] => webhook.lines.filter((l) => l.msg === 'policy loaded');
    const until = async (what: string, check: () => boolean): Promise<void> => {
      for (let i = 0; i < 100 && !check(); i += 1) await new Promise((r) => setTimeout(r, 100));
      assert.ok(check(), what);
    };
    for (const [file, edits] of [[plain, ['in place', 'rename-over']], [join(volume, 'policy.yaml'), ['..data swap']]] as const) {
      const webhook = new Webhook(serving(['--policy-file', file]));
      try {
        const port = Number((await webhook.line('listening')).port);
        const first = await revisions(port);
        let version = 1;
        for (const how of edits) {
          version += 1;
          const text = DEFAULT_POLICY_YAML.replace('perNode: 4}', `perNode: ${version}}`);
          if (how === 'in place') writeFileSync(file, text);
          else if (how === 'rename-over') { writeFileSync(`${file}.new`, text); renameSync(`${file}.new`, file); }
          else publish(`..v${version}`, text);
          const before = loads(webhook).length;
          await until(`the ${how} edit is loaded`, () => loads(webhook).length > before);
          assert.notEqual(await revisions(port), first, `the ${how} edit is in force`);
        }
        const inForce = await revisions(port);
        const bad = DEFAULT_POLICY_YAML.replace('perNode: 8}', 'perNode: 0}');
        if (file === plain) writeFileSync(file, bad);
        else publish('..vbad', bad);
        await until('the invalid edit is refused', () => webhook.lines.some((l) => l.msg === 'policy file is invalid; keeping the policy in force'));
        assert.equal(await revisions(port), inForce, 'the last good policy stays');
        const metrics = await new Promise<string>((resolve, reject) => {
          request({ host: '127.0.0.1', port, path: '/metrics', ca, agent: new Agent() }, (res) => {
            let text = '';
            res.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => resolve(text));
          }).on('error', reject).end();
        });
        assert.match(metrics, /gpu_admission_policy_reloads_total\{result="invalid"\} 1/);
        assert.match(metrics, new RegExp(`gpu_admission_policy_reloads_total\\{result="loaded"\\} ${edits.length}`));
      } finally {
        webhook.child.kill('SIGKILL');
      }
    }
  });

  it('when a client sends its body slowly, then the request is cut at --request-timeout-seconds', GUARD, async () => {
    const webhook = new Webhook(serving(['--request-timeout-seconds', '2']));
    try {
      const port = Number((await webhook.line('listening')).port);
      const started = Date.now();
      const status = await new Promise<number | string>((resolve) => {
        const req = request({
          host: '127.0.0.1', port, path: '/mutate', ca, agent: new Agent(), method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': 100_000 },
        }, (res) => resolve(res.statusCode ?? 0));
        req.on('error', (err) => resolve(err.message));
        req.write('{"apiVersion":'); // and nothing more
      });
      const seconds = (Date.now() - started) / 1000;
      assert.ok(seconds < 5, `cut after ${seconds} s`);
      assert.ok(status === 408 || typeof status === 'string', `answered ${status}`);
    } finally {
      webhook.child.kill('SIGKILL');
    }
  });

  it('when more reviews arrive than --max-in-flight, then the extra one waits its turn with its body unread, and both are decided', GUARD, async () => {
    const webhook = new Webhook(serving(['--max-in-flight', '1']));
    try {
      const port = Number((await webhook.line('listening')).port);
      const held = await startReview(port); // holds the one slot from its headers: its body is not sent yet
      let secondDone = false;
      const second = call(port, '/mutate', EXAMPLE).then((r) => { secondDone = true; return r; });
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(secondDone, false, 'the second review waits while the first holds the slot');
      const { status } = await held.finish();
      assert.equal(status, 200);
      assert.equal((await second).status, 200, 'then it is decided');
    } finally {
      webhook.child.kill('SIGKILL');
    }
  });

  it('when the policy comes from a ConfigMap but no cluster is configured, then it exits 1 at once saying how to give one', GUARD, async () => {
    const webhook = new Webhook(serving(['--policy-source', 'configmap']), { HOME: join(root, 'no-home') });
    assert.equal(await webhook.exited, 1);
    const fatal = webhook.lines.find((l) => l.level === 'fatal');
    assert.match(String(fatal?.msg), /cannot start: no cluster to read the policy ConfigMap and namespaces from: give --kubeconfig \(or KUBECONFIG\)/);
  });

  it('when the kubeconfig asks for a proxy, which the webhook\'s client does not do, then it exits 1 at once saying so, before any request', GUARD, async () => {
    const kubeconfig = join(root, 'proxied.kubeconfig');
    writeFileSync(kubeconfig, [
      'apiVersion: v1', 'kind: Config', 'current-context: x',
      'clusters: [{name: c, cluster: {server: "https://127.0.0.1:1", proxy-url: "http://proxy.example:3128"}}]',
      'users: [{name: u, user: {token: t}}]', 'contexts: [{name: x, context: {cluster: c, user: u}}]', '',
    ].join('\n'));
    const webhook = new Webhook(serving(['--policy-source', 'configmap', '--kubeconfig', kubeconfig]));
    assert.equal(await webhook.exited, 1);
    const fatal = webhook.lines.find((l) => l.level === 'fatal');
    assert.match(String(fatal?.msg), /cannot start: .*proxied\.kubeconfig: cluster "c" uses proxy-url http:\/\/proxy\.example:3128: the webhook talks to the API server directly/);
  });

  it('when it logs, then levels are names that operators can grep', GUARD, async () => {
    const webhook = new Webhook(serving());
    try {
      const listening = await webhook.line('listening');
      assert.equal(listening.level, 'info');
    } finally {
      webhook.child.kill('SIGKILL');
    }
  });

  it('when the configuration is invalid, then it exits 2 and says what is wrong', GUARD, async () => {
    const webhook = new Webhook(['--port', 'none']);
    assert.equal(await webhook.exited, 2);
    assert.match(webhook.stderr, /--port must be an integer from 0 to 65535, got "none"/);
    assert.match(webhook.stderr, /Usage:/);
  });
});
