// npm run sandbox: a throwaway cluster to try gpu-admission on, with no kind or Docker. It is the
// end-to-end environment (test/e2e/harness/cluster.ts): the project's own kube-apiserver, etcd,
// controller-manager and scheduler on loopback (built by test/e2e/control-plane/build.sh when not
// cached), the webhook built into dist/ and running with its ServiceAccount's token, its three
// webhook configurations, the e2e policy (test/e2e/policy.yaml) as the ConfigMap, and a Node for
// each of its pools (test/e2e/harness/nodes.ts). Adds the namespace `sandbox`, opted in, and an
// example pod file, prints what to type, and stops everything on Ctrl-C or SIGTERM.
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ROOT, namespace, startEnvironment, type Environment } from '../test/e2e/harness/cluster.ts';
import { gpuNodes } from '../test/e2e/harness/nodes.ts';

const NAMESPACE = 'sandbox';

const EXAMPLE_POD = `# A generic GPU request: 4 GiB of GPU memory, whatever the pool. The webhook picks a pool and
# rewrites the limits into what that pool's device plugin understands.
apiVersion: v1
kind: Pod
metadata:
  name: gpu-pod
  namespace: ${NAMESPACE}
spec:
  containers:
    - name: main
      image: registry.k8s.io/pause:3.10
      resources:
        limits:
          gpu-admission.io/gpu-memory: 4Gi
`;

const t0 = Date.now();
let env: Environment | undefined;
let stopping = false;

async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: stopping the sandbox`);
  await ready.catch(() => {}); // a signal during start-up stops what has started once it is up
  await env?.stop(false);
  if (env) console.log(`stopped; removed ${env.workDir}`);
  process.exit(0);
}

process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
// `npm run sandbox` does not pass a SIGTERM it receives on to this process: stop when npm is gone.
if (process.env.npm_lifecycle_event === 'sandbox') {
  const parent = process.ppid;
  setInterval(() => { if (process.ppid !== parent) void stop('npm exited'); }, 500).unref();
}

const ready = (async () => {
  env = await startEnvironment({ name: 'sandbox' });
  await namespace(env.kubectl, NAMESPACE, true);
  const podFile = join(env.workDir, 'gpu-pod.yaml');
  await writeFile(podFile, EXAMPLE_POD);
  const cli = join(ROOT, 'bin/gpu-admission.cjs');
  const nodes = gpuNodes().map((n) => (n as { metadata: { name: string } }).metadata.name);
  console.log(`
gpu-admission sandbox ready in ${((Date.now() - t0) / 1000).toFixed(1)} s: API server ${env.cp.apiServerUrl}
policy test/e2e/policy.yaml (ConfigMap gpu-admission/gpu-admission-policy); nodes without kubelet: ${nodes.join(', ')}
namespace ${NAMESPACE} is opted in (gpu-admission.io/enabled=true); pods are bound by the scheduler, never run
webhook log ${join(env.workDir, 'webhook.log')}; component logs ${env.cp.logDir}

In another shell:

export KUBECONFIG=${env.cp.kubeconfig}
export PATH=${dirname(env.kubectl.bin)}:$PATH   # kubectl of the same Kubernetes version
kubectl apply -f ${podFile}
kubectl -n ${NAMESPACE} get pod gpu-pod -o yaml   # the limits rewritten for a pool, the decision annotation, the node
${process.execPath} ${cli} inspect --kubeconfig ${env.cp.kubeconfig}
${process.execPath} ${cli} explain -f ${podFile} --cluster

Ctrl-C (or SIGTERM) stops everything and removes ${env.workDir}.`);
})();

ready.catch((err: unknown) => {
  console.error(`sandbox failed to start: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  process.exit(1);
});
