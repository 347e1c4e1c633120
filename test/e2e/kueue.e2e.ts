// End to end with Kueue's real manager (sigs.k8s.io/kueue, built by test/e2e/kueue/build.sh):
// `policy kueue`'s flavors, ClusterQueue and transformations applied as printed; generic Jobs
// queued, admitted, charged in generic totals, translated to the flavor's pool and bound (a
// compute share kept off the cGPU flavors by their zero quota); a Job
// waiting on quota; a Job whose flavor's pool cannot serve it never leaking, with the reason on
// the Job, and its quota released by waitForPodsReady; a plain Pod through Kueue's pod integration. There is no kubelet: the test marks pods
// Succeeded itself.
// Run: npm run test:e2e -- test/e2e/kueue.e2e.ts
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { ROOT, namespace, startEnvironment, stopAfterSuite, type Environment } from './harness/cluster.ts';
import { eventually, runProcess, type Kubectl } from './harness/kubectl.ts';
import { POOL_NODES } from './harness/nodes.ts';
import { ensureKueue, startKueue, type KueueManager } from './kueue/kueue.ts';

type Obj = Record<string, any>;
let env: Environment | undefined;
let kueue: KueueManager | undefined;
let k: Kubectl;
const NS = 'queued';

async function cli(...args: string[]): Promise<string> {
  const r = await runProcess(process.execPath, [join(ROOT, 'src/cli/main.ts'), ...args], { cwd: ROOT });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

const job = (name: string, limits: Record<string, string>, extra: { annotations?: Record<string, string>; spec?: Obj } = {}): Obj => ({
  apiVersion: 'batch/v1', kind: 'Job', metadata: { name, namespace: NS, labels: { 'kueue.x-k8s.io/queue-name': 'gpus' } },
  spec: {
    backoffLimit: 0,
    template: {
      metadata: { labels: { app: name }, ...(extra.annotations ? { annotations: extra.annotations } : {}) },
      spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.10', resources: { limits } }], ...extra.spec },
    },
  },
});

/** The Workload Kueue made for a Job, once it is admitted. */
async function admitted(kind: 'Job' | 'Pod', name: string): Promise<Obj> {
  return eventually(`${kind} ${name}'s Workload admitted`, async () => {
    const list = await k.json(['get', 'workloads.kueue.x-k8s.io', '-n', NS]);
    const wl = (list.items as Obj[]).find((w) => w.metadata.ownerReferences?.some((o: Obj) => o.kind === kind && o.name === name));
    return wl?.status?.admission ? wl : undefined;
  }, 90_000);
}

async function podsOf(jobName: string): Promise<Obj[]> {
  return (await k.json(['get', 'pods', '-n', NS, '-l', `batch.kubernetes.io/job-name=${jobName}`])).items;
}

async function boundPod(jobName: string): Promise<Obj> {
  return eventually(`a pod of ${jobName} bound`, async () => (await podsOf(jobName)).find((p) => p.spec.nodeName), 90_000);
}

/** Plays the kubelet: a bound pod runs and is Ready (Kueue's waitForPodsReady counts it). */
async function markReady(name: string): Promise<void> {
  const now = new Date().toISOString();
  await k.ok(['patch', 'pod', name, '-n', NS, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: {
    phase: 'Running', startTime: now,
    conditions: ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'].map((type) => ({ type, status: 'True', lastTransitionTime: now })),
    containerStatuses: [{ name: 'main', image: 'registry.k8s.io/pause:3.10', imageID: '', ready: true, started: true, restartCount: 0, state: { running: { startedAt: now } } }],
  } })]);
}

async function boundReady(jobName: string): Promise<Obj> {
  const pod = await boundPod(jobName);
  await markReady(pod.metadata.name);
  return pod;
}

/** Plays the kubelet: the Job's pods end with exit code 0. */
async function complete(jobName: string): Promise<void> {
  for (const p of await podsOf(jobName)) {
    await k.ok(['patch', 'pod', p.metadata.name, '-n', NS, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: {
      phase: 'Succeeded', conditions: [{ type: 'Ready', status: 'False', reason: 'PodCompleted' }],
      containerStatuses: [{ name: 'main', image: 'registry.k8s.io/pause:3.10', imageID: '', ready: false, restartCount: 0,
        state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: new Date().toISOString(), finishedAt: new Date().toISOString() } } }],
    } })]);
  }
}

const decisionPools = (p: Obj): string[] => JSON.parse(p.metadata.annotations['gpu-admission.io/decision']).pools;
/** Bytes of what Kueue charged for a resource (it prints memory in bytes, or as the transformation's unit). */
const charged = (wl: Obj, resource: string): number => {
  const text = String(wl.status.admission.podSetAssignments[0].resourceUsage[resource]);
  const m = /^(\d+)(Gi)?$/.exec(text);
  assert.ok(m, `${resource}: ${text}`);
  return Number(m[1]) * (m[2] ? 2 ** 30 : 1);
};
const flavor = (wl: Obj): string => Object.values(wl.status.admission.podSetAssignments[0].flavors as Record<string, string>)[0]!;

before(async () => {
  env = await startEnvironment();
  k = env.kubectl;
  const build = await ensureKueue(ROOT, env.log);
  // The Configuration's transformations exactly as `policy kueue --config` prints them.
  const printed = parseAllDocuments(await cli('policy', 'kueue', 'test/e2e/policy.yaml', '--config'))[0]!.toJS() as Obj;
  kueue = await startKueue({
    build, kubectl: k, kubeconfig: env.cp.kubeconfig, caCertPath: env.cp.caCertPath, caKeyPath: env.cp.caKeyPath, workDir: env.workDir, log: env.log,
    excludedNamespaces: ['kube-system', 'kueue-system', 'gpu-admission'],
    configuration: {
      apiVersion: printed.apiVersion, kind: 'Configuration', manageJobsWithoutQueueName: false,
      integrations: { frameworks: ['batch/job', 'pod'] }, resources: printed.resources,
      // As docs/kueue.md asks: a workload whose pods never start is evicted, here deactivated at once, and its quota released.
      waitForPodsReady: { timeout: '60s', blockAdmission: false, requeuingStrategy: { timestamp: 'Eviction', backoffLimitCount: 0 } },
    },
  });
  // The flavors and ClusterQueue exactly as `policy kueue` prints them; a LocalQueue of our own.
  await k.ok(['apply', '-f', '-'], await cli('policy', 'kueue', 'test/e2e/policy.yaml'));
  await namespace(k, NS, true);
  const lq = await k.apply({ apiVersion: 'kueue.x-k8s.io/v1beta2', kind: 'LocalQueue', metadata: { name: 'gpus', namespace: NS }, spec: { clusterQueue: 'gpu-admission' } });
  assert.equal(lq.code, 0, lq.stderr);
  await eventually('ClusterQueue gpu-admission active', async () =>
    (await k.json(['get', 'clusterqueue', 'gpu-admission'])).status?.conditions?.some((c: Obj) => c.type === 'Active' && c.status === 'True') || undefined, 60_000);
});
stopAfterSuite(() => env && { ...env, stop: async (keep: boolean) => { await kueue?.stop(); await env!.stop(keep); } });

describe('gpu-admission with Kueue', () => {
  it('when a generic Job is queued, then Kueue admits it to the first pool\'s flavor that fits, charges 12Gi of total GPU memory, and its pod is translated for that pool and bound there', async () => {
    const apply = await k.apply(job('first', { 'gpu-admission.io/gpu-memory': '12Gi' }));
    assert.equal(apply.code, 0, apply.stderr);
    assert.match(apply.stderr, /queued in Kueue \(gpus\): its pool follows the flavor Kueue admits it to/);
    const wl = await admitted('Job', 'first');
    assert.equal(flavor(wl), 't4-shared');
    assert.equal(charged(wl, 'gpu-admission.io/total-gpu-memory'), 12 * 2 ** 30);
    const pod = await boundReady('first');
    assert.deepEqual(decisionPools(pod), ['t4-shared']);
    assert.equal(pod.spec.containers[0].resources.limits['aliyun.com/gpu-mem'], '12');
    assert.ok(POOL_NODES['t4-shared']!.includes(pod.spec.nodeName));
  });

  it('when a second Job that only the T4 pool can take finds its quota used, then it waits, and is admitted and bound once the first completes', async () => {
    // Its template keeps it on T4 nodes, as Kueue reads it: the T4 model, and not the HAMi pool's label.
    const onT4 = { nodeSelector: { 'aliyun.accelerator/nvidia_name': 'Tesla-T4' }, affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: {
      nodeSelectorTerms: [{ matchExpressions: [{ key: 'gpu.pool/name', operator: 'DoesNotExist' }] }] } } } };
    assert.equal((await k.apply(job('second', { 'gpu-admission.io/gpu-memory': '12Gi' }, { spec: onT4 }))).code, 0);
    await eventually('the second Job pending on quota', async () => {
      const list = await k.json(['get', 'workloads.kueue.x-k8s.io', '-n', NS]);
      const wl = (list.items as Obj[]).find((w) => w.metadata.ownerReferences?.some((o: Obj) => o.name === 'second'));
      const pending = wl?.status?.conditions?.find((c: Obj) => c.type === 'QuotaReserved' && c.status === 'False');
      return pending && /insufficient unused quota for gpu-admission\.io\/total-gpu-memory in flavor t4-shared/.test(pending.message) ? true : undefined;
    }, 60_000);
    assert.equal((await k.json(['get', 'job', 'second', '-n', NS])).spec.suspend, true);
    await complete('first');
    const wl = await admitted('Job', 'second');
    assert.equal(flavor(wl), 't4-shared');
    const pod = await boundReady('second');
    assert.deepEqual(decisionPools(pod), ['t4-shared']);
  });

  it('when a compute share is queued, then the zero compute quota of the cGPU flavors keeps Kueue off them, and its pod is translated for core_mem and bound there', async () => {
    // 2Gi fits the T4 flavor's memory left (3Gi), first in order: only its compute quota of 0 turns Kueue away.
    assert.equal((await k.apply(job('share', { 'gpu-admission.io/gpu-memory': '2Gi', 'gpu-admission.io/gpu-cores': '30' }))).code, 0);
    const wl = await admitted('Job', 'share');
    assert.equal(flavor(wl), 'a10-core');
    assert.equal(charged(wl, 'gpu-admission.io/total-gpu-cores'), 30);
    const considered = await eventually('Kueue\'s QuotaReserved event', async () => {
      const events = await k.json(['get', 'events', '-n', NS, '--field-selector', `involvedObject.name=${wl.metadata.name},reason=QuotaReserved`]);
      return (events.items as Obj[])[0]?.message as string | undefined;
    }, 60_000);
    assert.match(considered, /t4-shared\(NoFit;insufficient quota for gpu-admission\.io\/total-gpu-cores in flavor t4-shared, .* > maximum capacity \(0\)\)/);
    const pod = await boundReady('share');
    assert.deepEqual(decisionPools(pod), ['a10-core']);
    assert.deepEqual(pod.spec.containers[0].resources.limits, { 'aliyun.com/gpu-mem': '2', 'aliyun.com/gpu-core.percentage': '30' });
    assert.ok(POOL_NODES['a10-core']!.includes(pod.spec.nodeName));
  });

  it('when Kueue admits a Job to a flavor whose pool cannot serve it, then no pod leaks to another pool and the Job\'s events carry gpu-admission\'s reason', async () => {
    // Kueue cannot see the model annotation: it admits 8Gi to the next flavor with quota (a10-core,
    // which needs a compute share); the HAMi pool, whose label the flavor does not name, would serve L20.
    assert.equal((await k.apply(job('l20-only', { 'gpu-admission.io/gpu-memory': '8Gi' }, { annotations: { 'gpu-admission.io/gpu-model': 'L20' } }))).code, 0);
    const wl = await admitted('Job', 'l20-only');
    assert.equal(flavor(wl), 'a10-core');
    const event = await eventually('a FailedCreate event on the Job', async () => {
      const events = await k.json(['get', 'events', '-n', NS, '--field-selector', 'involvedObject.name=l20-only,reason=FailedCreate']);
      return (events.items as Obj[])[0];
    }, 90_000);
    assert.match(event.message, /admission webhook "pods\.gpu-admission\.io" denied the request/);
    assert.match(event.message, /pool l20-hami: the pod's nodeSelector ack\.node\.gpu\.schedule=core_mem, aliyun\.accelerator\/nvidia_name=NVIDIA-A10 matches none of its 1 node/);
    assert.deepEqual(await podsOf('l20-only'), [], 'no pod was created, so none waits on a node it can never reach');
    const describe = await k.ok(['describe', 'job', 'l20-only', '-n', NS]);
    assert.match(describe, /FailedCreate .*pool l20-hami/s);
    // No quota is held for ever: waitForPodsReady evicts it (no pod ever starts) and deactivates it.
    const evicted = await eventually('the Workload evicted and its quota released', async () => {
      const list = await k.json(['get', 'workloads.kueue.x-k8s.io', '-n', NS]);
      const w = (list.items as Obj[]).find((x) => x.metadata.ownerReferences?.some((o: Obj) => o.name === 'l20-only'));
      return w && !w.status?.admission && w.status?.conditions?.some((c: Obj) => c.type === 'Evicted' && c.status === 'True') ? w : undefined;
    }, 240_000);
    assert.equal(evicted.spec.active, false);
    assert.equal((await k.json(['get', 'job', 'l20-only', '-n', NS])).spec.suspend, true);
  });

  it('when a plain Pod is queued through Kueue\'s pod integration, then it is charged its backend name transformed into the generic total, and bound on its flavor\'s pool', async () => {
    const pod = {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'plain', namespace: NS, labels: { 'kueue.x-k8s.io/queue-name': 'gpus' } },
      spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.10', resources: { limits: { 'gpu-admission.io/gpu-memory': '6Gi' } } }] },
    };
    const r = await k.apply(pod);
    assert.equal(r.code, 0, r.stderr);
    const created = await k.json(['get', 'pod', 'plain', '-n', NS]);
    assert.equal(created.spec.containers[0].resources.limits['aliyun.com/gpu-mem'], '6');
    const wl = await admitted('Pod', 'plain');
    assert.equal(charged(wl, 'gpu-admission.io/total-gpu-memory'), 6 * 2 ** 30);
    const chosen = flavor(wl);
    const bound = await eventually('the plain Pod bound', async () => {
      const p = await k.json(['get', 'pod', 'plain', '-n', NS]);
      return p.spec.nodeName ? p : undefined;
    }, 90_000);
    await markReady('plain');
    assert.ok(decisionPools(bound).includes(chosen), `${chosen} in ${decisionPools(bound).join(', ')}`);
    assert.ok(POOL_NODES[chosen]!.includes(bound.spec.nodeName), `${bound.spec.nodeName} in pool ${chosen}`);
  });
});
