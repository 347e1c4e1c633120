import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Just enough of an API server for the webhook as the Deployment runs it (ConfigMap source, the
 * namespace and node watches), so a benchmark measures that process under load: the lists answer
 * with the policy ConfigMap, the opted-in namespaces and no nodes; each watch is held open with a
 * bookmark now and then, as the API server's watch cache does; Events are accepted. Plain HTTP on
 * loopback, a token, and a kubeconfig that points at it.
 */
export interface FakeApiServer {
  readonly kubeconfig: string;
  /** Requests answered, by verb and collection (`GET /api/v1/nodes`, `WATCH …`, `POST …/events`). */
  readonly requests: Map<string, number>;
  close(): Promise<void>;
}

const BOOKMARK_MS = 10_000;

export async function startFakeApiServer(o: { namespace: string; configMap: string; policyYaml: string; namespaces: readonly string[] }): Promise<FakeApiServer> {
  const requests = new Map<string, number>();
  const watches = new Set<NodeJS.Timeout>();
  const configMaps = `/api/v1/namespaces/${o.namespace}/configmaps`;
  const items: Record<string, unknown[]> = {
    [configMaps]: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: o.configMap, namespace: o.namespace, resourceVersion: '7', uid: 'policy' },
      data: { 'policy.yaml': o.policyYaml } }],
    '/api/v1/namespaces': o.namespaces.map((name) => ({ apiVersion: 'v1', kind: 'Namespace',
      metadata: { name, resourceVersion: '7', labels: { 'gpu-admission.io/enabled': 'true', 'kubernetes.io/metadata.name': name } } })),
    '/api/v1/nodes': [],
  };
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://api');
    const watch = url.searchParams.get('watch') === 'true';
    const key = `${watch ? 'WATCH' : req.method} ${url.pathname}`;
    requests.set(key, (requests.get(key) ?? 0) + 1);
    req.resume();
    if (req.method === 'POST' || req.method === 'PATCH') {
      res.writeHead(req.method === 'POST' ? 201 : 200, { 'content-type': 'application/json' }).end('{}');
      return;
    }
    const list = items[url.pathname];
    if (req.method !== 'GET' || !list) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', code: 404 }));
      return;
    }
    if (!watch) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'List', metadata: { resourceVersion: '7' }, items: list }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    const bookmark = setInterval(() => res.write(`${JSON.stringify({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '7' } } })}\n`), BOOKMARK_MS);
    watches.add(bookmark);
    res.on('close', () => {
      clearInterval(bookmark);
      watches.delete(bookmark);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const dir = mkdtempSync(join(tmpdir(), 'gpu-admission-fake-api-'));
  const kubeconfig = join(dir, 'config');
  writeFileSync(kubeconfig, ['apiVersion: v1', 'kind: Config', 'current-context: fake',
    `clusters: [{name: fake, cluster: {server: "http://127.0.0.1:${port}", insecure-skip-tls-verify: true}}]`,
    'users: [{name: fake, user: {token: fake}}]', 'contexts: [{name: fake, context: {cluster: fake, user: fake}}]'].join('\n'));
  return {
    kubeconfig,
    requests,
    close: async () => {
      for (const bookmark of watches) clearInterval(bookmark);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
