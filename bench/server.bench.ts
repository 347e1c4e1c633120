/**
 * Server CPU per review against a bare-Node floor, in one run (`npm run bench`).
 *
 * Serves, one after the other in this process, (1) `bare`: node:https reading and parsing the
 * same AdmissionReview and answering, for each review of the mix, the fixed bytes the webhook
 * answers for it (its patch where it patches, its denial where it denies; the uid substituted) —
 * the "bare node:https server answering a fixed patch"; (2) `bare-allow`: the same, but
 * answering a fixed allow without a patch to every review (the floor before 2026-12-03, kept so
 * that the yardstick cannot move silently); (3) `engine`: bare plus decodeReview, decide and
 * encodeReview; (4) `webhook`: the real thing — createApp over HTTPS with the real engine, the
 * design policy, pino logging one line per review (as main logs), metrics; and with
 * `--against DIR`, (5) `against`: the webhook of another checkout (main before a change). Each is
 * driven from a second process (bench/server-driver.ts) by autocannon with 16 connections
 * cycling through a pod without GPU, a shared-GPU pod, a NUMA pod and a denied pod, in
 * interleaved rounds. Per target: requests/s, p50 and p99, and the server's CPU time (user +
 * system, process.cpuUsage of this process) per review answered — on a shared machine far
 * steadier than throughput; then the medians and, per round, the ratios to each floor of the
 * same round, with the goals of issue #23 (CPU ≤ 3×, p99 ≤ 2× of `bare`) met or not. Figures, not
 * assertions. Flags: --seconds N (3), --rounds N (9), --connections N (16), --only a,b,
 * --against DIR, --pin.
 *
 * On a shared, noisy machine: the targets run in the opposite order every other round (a drift
 * in the machine's load does not always favour the same target), each round prints its own
 * ratios to its floor, and the verdict is the median of those ratios — hence many short rounds
 * by default. Contention only ever adds CPU time, so each target's best (least) round is printed
 * too, with the ratio of the best rounds. `--pin` (Linux, taskset) keeps the server on one core
 * and the load generator on the other, so that they never take turns on the same core (on a
 * machine busy with other work it also keeps the server off the less busy core: see
 * docs/benchmarks.md).
 */
import { execFileSync, fork } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer, request as httpsRequest, type Server } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { decodePod, decodeReview } from '../src/admission/decode.ts';
import { encodeReview, reviewText } from '../src/admission/encode.ts';
import { decide } from '../src/engine/decide.ts';
import { Registry } from 'prom-client';
import { defaultPolicy } from '../src/policy/default-policy.ts';
import { NoNamespaceLabels, StaticPolicySource } from '../src/policy/source.ts';
import { createApp } from '../src/server/create-app.ts';
import { createLogger, logDestination } from '../src/server/logger.ts';
import { outcomeOf } from '../src/server/mutate.ts';
import { ensureDevCertificate } from '../src/server/dev-certificate.ts';
import { createTlsServer, watchCertificate } from '../src/server/tls.ts';
import type { DriverJob, DriverResult } from './server-driver.ts';

const { values } = parseArgs({ options: {
  seconds: { type: 'string', default: '3' }, connections: { type: 'string', default: '16' }, rounds: { type: 'string', default: '9' },
  only: { type: 'string' },
  /** Another checkout of gpu-admission (e.g. main before a change): its webhook is measured too, as target `against`. */
  against: { type: 'string' },
  /** Server on CPU 0, load generator on CPU 1 (taskset). */
  pin: { type: 'boolean', default: false },
} });
const SECONDS = Number(values.seconds);
const CONNECTIONS = Number(values.connections);
const ROUNDS = Number(values.rounds);
/** The goals (#23), as ratios to the bare floor of the same run. */
const GOAL_CPU_RATIO = 3;
const GOAL_P99_RATIO = 2;
const WARM_UP_SECONDS = 2;

const MIX = ['plain-pod', 'shared-gpu-pod', 'numa-pod', 'denied-pod'];
const bodies = MIX.map((name) => readFileSync(new URL(`../test/fixtures/reviews/${name}.json`, import.meta.url), 'utf8'));

const work = mkdtempSync(join(tmpdir(), 'gpu-admission-bench-'));
const cert = ensureDevCertificate(join(work, 'certs'), { hosts: ['localhost', '127.0.0.1'] });

/** Binds every thread of a process to one CPU. */
const pin = (pid: number, cpu: number): void => {
  execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
};
if (values.pin) pin(process.pid, 0);

function drive(port: number, seconds: number): Promise<DriverResult> {
  const child = fork(new URL('./server-driver.ts', import.meta.url), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  if (values.pin && child.pid !== undefined) pin(child.pid, 1);
  const job: DriverJob = { url: `https://127.0.0.1:${port}`, connections: CONNECTIONS, seconds, bodies };
  child.send(job);
  return new Promise((resolve, reject) => {
    child.once('message', (result) => resolve(result as DriverResult));
    child.once('exit', (code) => code !== 0 && reject(new Error(`driver exited with ${code}`)));
  });
}

/** One target's figures: the driver's, and the server's CPU time (user + system) per review answered. */
interface Measured extends DriverResult {
  readonly cpuUsPerReview: number;
}

/**
 * Serves from this process and drives from another, so this process's CPU time over the
 * measured seconds is the server's (TLS, HTTP, the handler, the log line, the metrics, GC).
 */
async function measure(server: Server): Promise<Measured> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await drive(port, WARM_UP_SECONDS);
  const before = process.cpuUsage();
  const result = await drive(port, SECONDS);
  const cpu = process.cpuUsage(before);
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  return { ...result, cpuUsPerReview: (cpu.user + cpu.system) / Math.max(1, result.total) };
}

/** Reads a request's body and parses it as the review it is. */
function readReview(req: IncomingMessage, then: (review: BenchReview) => void): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => then(JSON.parse(Buffer.concat(chunks).toString('utf8')) as BenchReview));
}

interface BenchReview {
  readonly request: { readonly uid: string; readonly namespace?: string; readonly object?: { readonly metadata?: { readonly generateName?: string } } };
}

/** Which review of the mix this is, without deciding it: its namespace and the pod's generateName (each differs). */
const mixKey = (review: BenchReview): string => `${review.request.namespace ?? ''}/${review.request.object?.metadata?.generateName ?? ''}`;

/** An answer of the webhook with its uid cut out: `before` + the uid as a JSON string + `after`. */
interface FixedAnswer {
  readonly before: string;
  readonly after: string;
  readonly contentType: string;
  /** The whole answer's size in bytes, with the mix's uid. */
  readonly bytes: number;
}

/**
 * The webhook's own answers to the reviews of the mix, as it writes them (status, content type,
 * body), asked of it once over HTTPS; each with its uid cut out, for the floor to put back.
 */
async function webhookAnswers(webhook: () => Server): Promise<ReadonlyMap<string, FixedAnswer>> {
  const server = webhook();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const ask = (body: string): Promise<{ status: number; contentType: string; text: string }> => new Promise((resolve, reject) => {
    const req = httpsRequest({
      host: '127.0.0.1', port, method: 'POST', path: '/mutate', ca: readFileSync(cert.caFile), servername: 'localhost',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type']), text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
  const answers = new Map<string, FixedAnswer>();
  try {
    for (const body of bodies) {
      const review = JSON.parse(body) as BenchReview;
      const answer = await ask(body);
      const uid = `"uid":${JSON.stringify(review.request.uid)}`;
      const at = answer.text.indexOf(uid);
      if (answer.status !== 200 || at === -1) throw new Error(`the webhook answered ${answer.status} without the review's uid: ${answer.text}`);
      answers.set(mixKey(review), {
        before: answer.text.slice(0, at + '"uid":'.length), after: answer.text.slice(at + uid.length), contentType: answer.contentType,
        bytes: Buffer.byteLength(answer.text),
      });
    }
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  if (answers.size !== bodies.length) throw new Error('two reviews of the mix share a key; the floor could not tell them apart');
  return answers;
}

/**
 * The floor: read the body, parse the review, answer the fixed bytes the webhook answers
 * for that review (the same patch, the same denial, the same headers) with its uid. It writes as
 * many bytes as the webhook and decides nothing.
 */
function bareServer(answers: ReadonlyMap<string, FixedAnswer>): Server {
  return createHttpsServer({ cert: readFileSync(cert.certFile), key: readFileSync(cert.keyFile) }, (req, res) => {
    readReview(req, (review) => {
      const fixed = answers.get(mixKey(review));
      if (!fixed) throw new Error(`not a review of the mix: ${mixKey(review)}`);
      const body = fixed.before + JSON.stringify(review.request.uid) + fixed.after;
      res.writeHead(200, { 'content-type': fixed.contentType, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
}

/**
 * The floor before 2026-12-03: read the body, parse the review, answer a fixed allow without a
 * patch (about 130 bytes) to every review, whatever the webhook would answer.
 */
function bareAllowServer(): Server {
  return createHttpsServer({ cert: readFileSync(cert.certFile), key: readFileSync(cert.keyFile) }, (req, res) => {
    readReview(req, (review) => {
      const body = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: review.request.uid, allowed: true } });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
}

/**
 * The engine without the server around it: the bare server plus decodeReview, decide and
 * encodeReview. Not asked for, but it splits the gap between the two into engine and server.
 */
function engineServer(): Server {
  const policy = defaultPolicy();
  return createHttpsServer({ cert: readFileSync(cert.certFile), key: readFileSync(cert.keyFile) }, (req, res) => {
    readReview(req, (review) => {
      const request = decodeReview(review);
      const decision = decide(decodePod(request), { namespace: { name: request.namespace ?? '', labels: {} }, policy });
      const body = reviewText(encodeReview(request.uid, outcomeOf(decision).verdict));
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
}

/**
 * The real webhook, as main builds it: one app (its metrics, process metrics and log
 * destination made once, as in the one process main runs), a new server for it each round. Its
 * log lines go to a file, as main's go to stdout (a pipe).
 */
function webhookTarget(): () => Server {
  const logger = createLogger('info', logDestination(join(work, 'webhook.log')));
  const certificate = watchCertificate({ certFile: cert.certFile, keyFile: cert.keyFile }, { logger, pollIntervalMs: 0 });
  const app = createApp({
    policySource: new StaticPolicySource(defaultPolicy()), namespaceSource: new NoNamespaceLabels(), logger, certificate, registry: new Registry(),
  });
  return () => createTlsServer(app, certificate);
}

const median = (xs: readonly number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] as number : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

const row = (name: string, r: Measured): string =>
  `${name.padEnd(10)} ${r.requestsPerSecond.toFixed(0).padStart(8)} ${r.p50Ms.toFixed(2).padStart(8)} ${r.p99Ms.toFixed(2).padStart(8)}`
  + ` ${r.cpuUsPerReview.toFixed(1).padStart(12)} ${String(r.total).padStart(9)} ${String(r.non2xx + r.errors + r.timeouts).padStart(7)}`;

/**
 * The webhook of another checkout (--against DIR), built as this one's is (one app, a new server each round), with its own modules;
 * its log goes where its main sends it (its createLogger when it has one, else pino's default,
 * synchronous, destination), to a file.
 */
async function againstServer(dir: string): Promise<() => Server> {
  const load = async <T>(path: string): Promise<T> => import(pathToFileURL(join(dir, path)).href) as Promise<T>;
  const app = await load<typeof import('../src/server/create-app.ts')>('src/server/create-app.ts');
  const tls = await load<typeof import('../src/server/tls.ts')>('src/server/tls.ts');
  const source = await load<typeof import('../src/policy/source.ts')>('src/policy/source.ts');
  const policy = await load<typeof import('../src/policy/default-policy.ts')>('src/policy/default-policy.ts');
  const logs = existsSync(join(dir, 'src/server/logger.ts')) ? await load<typeof import('../src/server/logger.ts')>('src/server/logger.ts') : undefined;
  const dest = join(work, 'against.log');
  const logger = logs ? logs.createLogger('info', logs.logDestination(dest)) : pino(pino.destination({ dest, sync: true }));
  const certificate = tls.watchCertificate({ certFile: cert.certFile, keyFile: cert.keyFile }, { logger, pollIntervalMs: 0 });
  const listener = app.createApp({
    policySource: new source.StaticPolicySource(policy.defaultPolicy()), namespaceSource: new source.NoNamespaceLabels(), logger, certificate,
    registry: new Registry(),
  });
  return () => tls.createTlsServer(listener, certificate);
}

const webhook = webhookTarget();
const answers = await webhookAnswers(webhook);
const TARGETS: Record<string, () => Server> = {
  bare: () => bareServer(answers), 'bare-allow': bareAllowServer, engine: engineServer, webhook,
};
if (values.against) TARGETS.against = await againstServer(values.against);
type Target = string;
/** The floors, the first: every other target's ratios are printed against each one measured. */
const FLOORS: readonly Target[] = ['bare', 'bare-allow'];
const targets = values.only?.split(',') ?? Object.keys(TARGETS);
for (const t of targets) if (!(t in TARGETS)) throw new Error(`--only: no target "${t}" (${Object.keys(TARGETS).join(', ')})`);
const floors = FLOORS.filter((f) => targets.includes(f));

try {
  console.log(`node ${process.version}, ${CONNECTIONS} connections, ${ROUNDS} interleaved rounds of ${SECONDS} s per target after `
    + `${WARM_UP_SECONDS} s of warm-up, order reversed every other round${values.pin ? ', server on CPU 0 and load generator on CPU 1' : ''}, `
    + `mix: ${MIX.join(', ')}; load average before: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`floors: bare answers the webhook's own bytes for each review (${[...answers.values()].map((a) => a.bytes).join(', ')} `
    + 'bytes with the uid), bare-allow a fixed allow without a patch to every review (about 130 bytes)');
  console.log(`${'round'.padEnd(6)}${'target'.padEnd(10)} ${'req/s'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)}`
    + ` ${'CPU µs/rev'.padStart(12)} ${'requests'.padStart(9)} ${'failed'.padStart(7)}`);
  const runs = new Map<Target, Measured[]>(targets.map((t) => [t, []]));
  for (let round = 1; round <= ROUNDS; round += 1) {
    // Every other round in the opposite order: a drift of the machine's load favours no target.
    for (const target of round % 2 === 1 ? targets : [...targets].reverse()) {
      const r = await measure((TARGETS[target] as () => Server)());
      runs.get(target)?.push(r);
      console.log(`${String(round).padEnd(6)}${row(target, r)}`);
    }
    for (const floor of floors) {
      const base = runs.get(floor)?.[round - 1] as Measured;
      const ratios = targets.filter((t) => t !== floor).map((t) => {
        const r = runs.get(t)?.[round - 1] as Measured;
        return `${t} ${(r.cpuUsPerReview / base.cpuUsPerReview).toFixed(2)}× CPU, ${(r.p99Ms / base.p99Ms).toFixed(2)}× p99`;
      });
      console.log(`      round ${round} against ${floor}: ${ratios.join('; ')}; load average ${loadavg()[0]?.toFixed(2)}`);
    }
  }
  const med = (t: Target, f: (r: Measured) => number): number => median((runs.get(t) ?? []).map(f));
  console.log(`medians of ${ROUNDS} rounds; load average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  for (const t of targets) {
    console.log(`  ${t.padEnd(10)} CPU ${med(t, (r) => r.cpuUsPerReview).toFixed(1)} µs/review, p99 ${med(t, (r) => r.p99Ms).toFixed(2)} ms, `
      + `${med(t, (r) => r.requestsPerSecond).toFixed(0)} req/s`);
  }
  const best = (x: Target): number => Math.min(...(runs.get(x) ?? []).map((r) => r.cpuUsPerReview));
  for (const floor of floors) {
    const base = runs.get(floor) ?? [];
    for (const t of targets.filter((x) => x !== floor && !(floor === 'bare' && x === 'bare-allow'))) {
      // Ratios per round (each against the floor of its own round), then their median.
      const ratios = (f: (r: Measured) => number): number[] => (runs.get(t) ?? []).map((r, i) => f(r) / f(base[i] as Measured));
      const ratio = (f: (r: Measured) => number): number => median(ratios(f));
      const range = (f: (r: Measured) => number): string => `${Math.min(...ratios(f)).toFixed(2)}–${Math.max(...ratios(f)).toFixed(2)}`;
      const cpu = ratio((r) => r.cpuUsPerReview);
      const p99 = ratio((r) => r.p99Ms);
      // The goals are the issue's, against its floor (bare); against bare-allow the ratios are for comparison with earlier runs.
      const verdict = floor === 'bare' && (t === 'webhook' || t === 'against')
        ? ` — goal CPU ≤ ${GOAL_CPU_RATIO}× ${cpu <= GOAL_CPU_RATIO ? 'MET' : 'NOT MET'}, p99 ≤ ${GOAL_P99_RATIO}× ${p99 <= GOAL_P99_RATIO ? 'MET' : 'NOT MET'}` : '';
      console.log(`${t} / ${floor}: CPU per review ${cpu.toFixed(2)}× (rounds ${range((r) => r.cpuUsPerReview)}), p99 ${p99.toFixed(2)}× `
        + `(rounds ${range((r) => r.p99Ms)}), throughput ${(100 * ratio((r) => r.requestsPerSecond)).toFixed(0)} %${verdict}`);
      console.log(`${t} / ${floor}, best rounds: CPU per review ${best(t).toFixed(1)} / ${best(floor).toFixed(1)} µs = ${(best(t) / best(floor)).toFixed(2)}×`);
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
