import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';

/** No cluster can be found, or the kubeconfig names none: the message says how to give one. */
export class NoClusterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NoClusterError';
  }
}

/**
 * The cluster to talk to, as kubectl finds it: `file` (--kubeconfig, or KUBECONFIG, which may list
 * several files merged as kubectl merges them), else
 * ~/.kube/config, else the pod's ServiceAccount; `context` picks a context of the file. With
 * none of them there is no cluster: say so (`what` says what it was needed for), never retry a
 * made-up http://localhost:8080.
 */
export async function loadKubeConfig(file: string | undefined, what: string, context?: string): Promise<KubeConfig> {
  // Its own module rather than the package's index, which loads every generated API too.
  const { KubeConfig } = await import('@kubernetes/client-node/dist/config.js');
  const kubeConfig = new KubeConfig();
  const home = join(homedir(), '.kube', 'config');
  if (file) {
    try {
      loadFiles(kubeConfig, file.split(delimiter).filter(Boolean), KubeConfig);
    } catch (err) {
      throw new NoClusterError(`${file}: not a usable kubeconfig: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  else if (existsSync(home)) kubeConfig.loadFromFile(home);
  else if (process.env.KUBERNETES_SERVICE_HOST && existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token')) kubeConfig.loadFromCluster();
  else throw new NoClusterError(`no cluster to ${what}: give --kubeconfig (or KUBECONFIG), put one in ~/.kube/config, or run in a pod with a ServiceAccount`);
  if (context !== undefined) {
    if (!kubeConfig.getContextObject(context)) throw new NoClusterError(`${file ?? home}: no context "${context}" (it has ${kubeConfig.getContexts().map((c) => c.name).join(', ') || 'none'})`);
    kubeConfig.setCurrentContext(context);
  }
  if (!kubeConfig.getCurrentCluster()) throw new NoClusterError(`${file ?? home}: the kubeconfig has no current cluster (set current-context)`);
  return kubeConfig;
}

type KubeConfigClass = typeof import('@kubernetes/client-node').KubeConfig;

/**
 * Several kubeconfig files merged as kubectl merges KUBECONFIG: for clusters, users and contexts
 * the first file to name one wins, and so does the first current-context (client-node's own merge
 * lets later files win and throws on a name seen twice).
 */
function loadFiles(target: KubeConfig, files: readonly string[], KubeConfig: KubeConfigClass): void {
  if (files.length === 1) {
    target.loadFromFile(files[0]!);
    return;
  }
  const parts = files.map((f) => {
    const part = new KubeConfig();
    part.loadFromFile(f);
    return part;
  });
  const first = <T extends { readonly name: string }>(lists: readonly (readonly T[])[]): T[] =>
    [...new Map(lists.flat().reverse().map((x) => [x.name, x])).values()].reverse();
  target.loadFromOptions({
    clusters: first(parts.map((p) => p.clusters)),
    users: first(parts.map((p) => p.users)),
    contexts: first(parts.map((p) => p.contexts)),
    currentContext: parts.find((p) => p.currentContext)?.currentContext ?? '',
  });
}
