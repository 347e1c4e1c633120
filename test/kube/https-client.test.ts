// The webhook's HTTPS client (src/kube/https-client.ts): requests and watches over node:https with
// the credentials client-node's KubeConfig gives — against local servers that record what they got.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { ApiException, KubeConfig } from '@kubernetes/client-node';
import { apiJson, UnsupportedKubeConfigError, watchLines } from '../../src/kube/https-client.ts';
import { ensureDevCertificate } from '../../src/server/dev-certificate.ts';

const dir = mkdtempSync(join(tmpdir(), 'ga-https-client-'));
after(() => rmSync(dir, { recursive: true, force: true }));

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function kubeConfigFor(server: string, user: Record<string, unknown>, cluster: Record<string, unknown> = {}): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server, skipTLSVerify: server.startsWith('http:'), ...cluster }],
    users: [{ name: 'u', ...user }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

interface Watched {
  readonly events: [string, unknown][];
  readonly done: Promise<unknown>;
  readonly doneCalls: () => number;
}

async function watch(kc: KubeConfig, path: string, options: Partial<Parameters<typeof watchLines>[2]> = {}): Promise<Watched & { abort(): void }> {
  const events: [string, unknown][] = [];
  let calls = 0;
  let resolveDone!: (err: unknown) => void;
  const done = new Promise<unknown>((resolve) => { resolveDone = resolve; });
  const handle = await watchLines(kc, path, { query: {}, idleTimeoutMs: 60_000, ...options },
    (type, object) => events.push([type, object]), (err) => { calls += 1; resolveDone(err); });
  return { events, done, doneCalls: () => calls, abort: () => handle.abort() };
}

describe('the webhook\'s HTTPS client: watches', () => {
  let handler: Handler = (_req, res) => res.end();
  const seen: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    seen.push(req);
    handler(req, res);
  });
  let kc: KubeConfig;
  before(async () => {
    kc = kubeConfigFor(`http://127.0.0.1:${await listen(server)}`, { token: 'sekret' });
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it('when the API server sends events split across chunks and several in one chunk, then each is given once, whole, in order; a line that is not JSON is skipped; the end of the answer ends the watch cleanly', async () => {
    seen.length = 0;
    const lines = [
      { type: 'ADDED', object: { metadata: { name: 'a', resourceVersion: '1' } } },
      { type: 'BOOKMARK', object: { metadata: { resourceVersion: '2' } } },
      { type: 'MODIFIED', object: { metadata: { name: 'é-ü', resourceVersion: '3' }, data: { k: 'x'.repeat(70_000) } } },
    ].map((e) => JSON.stringify(e));
    const text = Buffer.from(`${lines[0]}\n${lines[1]}\nnot json\n${lines[2]}\n`);
    handler = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      // cut inside the first line, inside the multi-byte name, and mid-way through the big one
      const cuts = [10, text.indexOf('é') + 1, text.length - 5_000, text.length];
      let from = 0;
      const next = (): void => {
        const to = cuts.shift();
        if (to === undefined) return void res.end();
        res.write(text.subarray(from, to));
        from = to;
        setImmediate(next);
      };
      next();
    };
    const w = await watch(kc, '/api/v1/namespaces/gpu-admission/configmaps', {
      query: { resourceVersion: '7', timeoutSeconds: 345, allowWatchBookmarks: true, fieldSelector: 'metadata.name=p', labelSelector: undefined },
    });
    assert.equal(await w.done, null);
    assert.deepEqual(w.events, lines.map((l) => { const e = JSON.parse(l) as { type: string; object: unknown }; return [e.type, e.object]; }));
    assert.equal(w.doneCalls(), 1);
    const url = new URL(seen[0]!.url ?? '', 'http://x');
    assert.equal(url.pathname, '/api/v1/namespaces/gpu-admission/configmaps');
    assert.deepEqual([...url.searchParams], [['watch', 'true'], ['resourceVersion', '7'], ['timeoutSeconds', '345'], ['allowWatchBookmarks', 'true'], ['fieldSelector', 'metadata.name=p']]);
    assert.equal(seen[0]!.headers.authorization, 'Bearer sekret');
  });

  it('when the watch is answered with 410, then it ends with an error carrying the status code, and no event', async () => {
    handler = (_req, res) => res.writeHead(410).end(JSON.stringify({ kind: 'Status', code: 410 }));
    const w = await watch(kc, '/api/v1/nodes');
    const err = await w.done as Error & { statusCode?: number };
    assert.equal(err.statusCode, 410);
    assert.equal(err.message, 'Gone');
    assert.deepEqual(w.events, []);
  });

  it('when an event line is longer than the bound, then the watch ends with an error before holding more of it, and the events before it were given', async () => {
    handler = (_req, res) => {
      res.writeHead(200);
      res.write(`${JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'small' } } })}\n`);
      const big = Buffer.alloc(64 * 1024, 'a');
      let sent = 0;
      const more = (): void => {
        if (res.destroyed || sent > 1024 * 1024) return void res.end();
        sent += big.length;
        res.write(big, () => setImmediate(more));
      };
      more();
    };
    const w = await watch(kc, '/api/v1/nodes', { maxLineBytes: 256 * 1024 });
    const err = await w.done as Error;
    assert.match(err.message, /a watch event of \/api\/v1\/nodes is longer than 262144 bytes/);
    assert.deepEqual(w.events, [['ADDED', { metadata: { name: 'small' } }]]);
  });

  it('when neither data nor an answer comes for the idle timeout, then the watch ends with a TimeoutError (the loop resumes at once)', async () => {
    handler = (_req, res) => res.writeHead(200).flushHeaders(); // answered, then silent
    const quiet = await watch(kc, '/api/v1/nodes', { idleTimeoutMs: 50 });
    assert.equal((await quiet.done as Error).name, 'TimeoutError');
    handler = () => {}; // never answered
    const unanswered = await watch(kc, '/api/v1/nodes', { idleTimeoutMs: 50 });
    assert.equal((await unanswered.done as Error).name, 'TimeoutError');
  });

  it('when the watch is aborted, then no event comes after, and it ends once', async () => {
    let res!: ServerResponse;
    const answered = new Promise<void>((resolve) => {
      handler = (_req, r) => {
        res = r;
        r.writeHead(200);
        r.write(`${JSON.stringify({ type: 'ADDED', object: { n: 1 } })}\n`, () => resolve());
      };
    });
    const w = await watch(kc, '/api/v1/nodes');
    await answered;
    while (w.events.length === 0) await new Promise((resolve) => setImmediate(resolve));
    w.abort();
    assert.equal((await w.done as Error).name, 'AbortError');
    if (!res.destroyed) res.write(`${JSON.stringify({ type: 'ADDED', object: { n: 2 } })}\n`);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(w.events, [['ADDED', { n: 1 }]]);
    assert.equal(w.doneCalls(), 1);
  });

  it('when the connection is cut in the middle of the answer, then the watch ends with an error, not cleanly', async () => {
    handler = (req, res) => {
      res.writeHead(200);
      res.write('{"type":"ADDED","obj', () => req.socket.destroy());
    };
    const w = await watch(kc, '/api/v1/nodes');
    assert.ok(await w.done instanceof Error);
    assert.deepEqual(w.events, []);
  });

  it('when the API server refuses connections, then the watch ends with the connection\'s error', async () => {
    const refused = kubeConfigFor('http://127.0.0.1:1', { token: 't' });
    const w = await watch(refused, '/api/v1/nodes');
    assert.equal((await w.done as NodeJS.ErrnoException).code, 'ECONNREFUSED');
  });
});

describe('the webhook\'s HTTPS client: credentials', () => {
  const tls = ensureDevCertificate(join(dir, 'server'), { hosts: ['kube.test'] });
  // A client certificate signed by the same development CA, for clientAuth.
  const clientKey = join(dir, 'client.key');
  const clientCert = join(dir, 'client.crt');
  before(() => {
    writeFileSync(join(dir, 'client.ext'), 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n');
    execFileSync('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', clientKey, '-out', join(dir, 'client.csr'), '-subj', '/CN=system:serviceaccount:gpu-admission:gpu-admission'], { stdio: 'ignore' });
    execFileSync('openssl', ['x509', '-req', '-in', join(dir, 'client.csr'), '-CA', tls.caFile, '-CAkey', join(dir, 'server', 'ca.key'), '-CAcreateserial',
      '-out', clientCert, '-days', '2', '-extfile', join(dir, 'client.ext')], { stdio: 'ignore' });
  });
  const got: { authorization?: string; impersonate?: string; peer?: string }[] = [];
  const server = createHttpsServer({ cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile), ca: readFileSync(tls.caFile), requestCert: true, rejectUnauthorized: false }, (req, res) => {
    const peer = (req.socket as TLSSocket).getPeerCertificate();
    got.push({
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
      ...(req.headers['impersonate-user'] ? { impersonate: String(req.headers['impersonate-user']) } : {}),
      ...((req.socket as TLSSocket).authorized && peer.subject ? { peer: String(peer.subject.CN) } : {}),
    });
    // an answer that reads as JSON and as one watch event
    res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"type":"BOOKMARK","object":{"kind":"Node"}}\n');
  });
  let url = '';
  before(async () => {
    url = `https://127.0.0.1:${await listen(server as unknown as Server)}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  const b64 = (file: string): string => readFileSync(file).toString('base64');
  const trusted = (): Record<string, unknown> => ({ caData: b64(tls.caFile), tlsServerName: 'kube.test' });

  it('when the kubeconfig gives the CA and the TLS server name, then the API server\'s certificate is verified against them; without the server name it is refused', async () => {
    got.length = 0;
    assert.deepEqual(await apiJson(kubeConfigFor(url, { token: 'tok' }, trusted()), '/api'), { type: 'BOOKMARK', object: { kind: 'Node' } });
    assert.deepEqual(got, [{ authorization: 'Bearer tok' }]);
    await assert.rejects(apiJson(kubeConfigFor(url, { token: 'tok' }, { caData: b64(tls.caFile) }), '/api'),
      (e: NodeJS.ErrnoException) => e.code === 'ERR_TLS_CERT_ALTNAME_INVALID');
    await assert.rejects(apiJson(kubeConfigFor(url, { token: 'tok' }, { tlsServerName: 'kube.test' }), '/api'),
      (e: NodeJS.ErrnoException) => e.code === 'SELF_SIGNED_CERT_IN_CHAIN', 'without the CA the development CA is not trusted');
  });

  it('when the user has a client certificate, then the API server sees it; impersonation and basic auth go as headers', async () => {
    got.length = 0;
    await apiJson(kubeConfigFor(url, { certData: b64(clientCert), keyData: b64(clientKey), impersonateUser: 'someone' }, trusted()), '/api');
    await apiJson(kubeConfigFor(url, { username: 'ann', password: 'pw' }, trusted()), '/api');
    assert.deepEqual(got, [
      { impersonate: 'someone', peer: 'system:serviceaccount:gpu-admission:gpu-admission' },
      { authorization: `Basic ${Buffer.from('ann:pw').toString('base64')}` },
    ]);
  });

  it('when the token comes from a file (a ServiceAccount\'s) or an exec plugin, then the request carries it; a watch too', async () => {
    got.length = 0;
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'from-file');
    await apiJson(kubeConfigFor(url, { authProvider: { name: 'tokenFile', config: { tokenFile } } }, trusted()), '/api');
    const exec = {
      apiVersion: 'client.authentication.k8s.io/v1', command: process.execPath, interactiveMode: 'Never',
      args: ['-e', 'console.log(JSON.stringify({ apiVersion: "client.authentication.k8s.io/v1", kind: "ExecCredential", status: { token: "from-exec" } }))'],
    };
    const w = await watch(kubeConfigFor(url, { exec }, trusted()), '/api/v1/nodes');
    assert.equal(await w.done, null);
    assert.deepEqual(w.events, [['BOOKMARK', { kind: 'Node' }]]);
    assert.deepEqual(got, [{ authorization: 'Bearer from-file' }, { authorization: 'Bearer from-exec' }]);
  });

  it('when the exec plugin fails, then the watch rejects before any request', async () => {
    got.length = 0;
    const exec = { apiVersion: 'client.authentication.k8s.io/v1', command: process.execPath, args: ['-e', 'process.exit(3)'], interactiveMode: 'Never' };
    await assert.rejects(watch(kubeConfigFor(url, { exec }, trusted()), '/api/v1/nodes'));
    assert.deepEqual(got, []);
  });

  it('when the kubeconfig asks for a proxy or a legacy auth provider, then every request is refused before it is sent, with an error that says so', async () => {
    got.length = 0;
    const proxied = kubeConfigFor(url, { token: 't' }, { ...trusted(), proxyUrl: 'http://proxy.example:3128' });
    await assert.rejects(apiJson(proxied, '/api'), (e: unknown) => e instanceof UnsupportedKubeConfigError && /proxy-url http:\/\/proxy\.example:3128/.test(e.message));
    await assert.rejects(watch(proxied, '/api/v1/nodes'), UnsupportedKubeConfigError);
    for (const name of ['oidc', 'azure', 'gcp']) {
      const legacy = kubeConfigFor(url, { authProvider: { name, config: {} } }, trusted());
      await assert.rejects(apiJson(legacy, '/api'), (e: unknown) => e instanceof UnsupportedKubeConfigError && e.message.includes(`the ${name} auth-provider`));
    }
    assert.deepEqual(got, []);
  });
});

describe('the webhook\'s HTTPS client: requests', () => {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/hang') return;
      if (req.url === '/half') return void res.writeHead(200, { 'Content-Length': '100' }).write('{"items":', () => req.socket.destroy());
      if (req.url === '/half-open') return void res.writeHead(200, { 'Content-Length': '100' }).write('{"items":');
      if (req.url === '/unauthorized') return void res.writeHead(401).end('no');
      res.writeHead(200, { 'Content-Type': 'application/json' })
        .end(JSON.stringify({ method: req.method, type: req.headers['content-type'], length: req.headers['content-length'], body: Buffer.concat(chunks).toString() }));
    });
  });
  let kc: KubeConfig;
  before(async () => {
    kc = kubeConfigFor(`http://127.0.0.1:${await listen(server)}`, { token: 't' });
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it('when a body is sent, then it goes as JSON with its content type and length (multi-byte text counted in bytes)', async () => {
    const json = { note: 'ünïcode' };
    const text = JSON.stringify(json);
    assert.deepEqual(await apiJson(kc, '/x', { method: 'PATCH', body: { json, contentType: 'application/merge-patch+json' } }),
      { method: 'PATCH', type: 'application/merge-patch+json', length: String(Buffer.byteLength(text)), body: text });
  });

  it('when the API server answers 401, then the ApiException says Unauthorized with code 401', async () => {
    await assert.rejects(apiJson(kc, '/unauthorized'), (e: unknown) => e instanceof ApiException && e.code === 401 && e.body === undefined);
  });

  it('when the connection is cut in the middle of the answer, then the request rejects', async () => {
    await assert.rejects(apiJson(kc, '/half'));
  });

  it('when a request is aborted while its answer is read, then it rejects', async () => {
    const abort = new AbortController();
    const asked = apiJson(kc, '/half-open', { signal: abort.signal });
    setTimeout(() => abort.abort(), 20);
    await assert.rejects(asked);
  });

  it('when a request is aborted, then it rejects with an AbortError', async () => {
    const abort = new AbortController();
    const asked = apiJson(kc, '/hang', { signal: abort.signal });
    setTimeout(() => abort.abort(), 20);
    await assert.rejects(asked, (e: unknown) => (e as Error).name === 'AbortError');
  });
});
