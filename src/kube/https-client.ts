// The webhook's own requests to the API server — its watches' lists and watches, its Events — over
// node:https (node:http for an `http://` server with insecure-skip-tls-verify, as client-node
// allows), with the credentials client-node's KubeConfig gives (`applyToHTTPSOptions`: the bearer
// token, refreshed from a token file or an exec plugin, a client certificate, basic auth,
// impersonation, the CA, the TLS server name, insecure-skip-tls-verify). In place of client-node's
// `Watch` and raw requests, which send through npm's undici: serve mode loads neither (ADR 0012).
// What this client does not do — a proxy, the legacy oidc/azure/gcp auth providers — is refused
// with an UnsupportedKubeConfigError before any request, never sent without its credentials.
import type http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { ApiException } from '@kubernetes/client-node/dist/gen/apis/exception.js';

/** The kubeconfig asks for something the webhook's client does not do; the message says what. */
export class UnsupportedKubeConfigError extends Error {
  readonly code = 'GA_ERR_KUBECONFIG_UNSUPPORTED';
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedKubeConfigError';
  }
}

/** Auth providers whose code serve mode does not load (src/kube/lean-client-node.ts); kubectl has long moved them to exec plugins. */
const UNSUPPORTED_AUTH_PROVIDERS = new Set(['oidc', 'azure', 'gcp']);

/**
 * What the current context of `kubeConfig` needs that this client does not do, or undefined. The
 * webhook checks it at start (src/main.ts), and every request checks it again.
 */
export function unsupportedKubeConfig(kubeConfig: KubeConfig): string | undefined {
  const cluster = kubeConfig.getCurrentCluster();
  if (cluster?.proxyUrl) return `cluster "${cluster.name}" uses proxy-url ${cluster.proxyUrl}: the webhook talks to the API server directly (no proxy)`;
  const provider = kubeConfig.getCurrentUser()?.authProvider?.name;
  if (typeof provider === 'string' && UNSUPPORTED_AUTH_PROVIDERS.has(provider)) {
    return `user "${kubeConfig.getCurrentUser()?.name}" uses the ${provider} auth-provider: give the webhook a token, a token file, a client certificate or an exec plugin`;
  }
  return undefined;
}

/**
 * node:http, for an `http://` server and its status texts, taken as the CommonJS module: an ESM
 * import of node:http builds its namespace, which reads its lazy `WebSocket`, `CloseEvent` and
 * `MessageEvent` and so loads Node's internal undici, http2 and web streams (1.4 MiB of heap).
 */
const plainHttp = process.getBuiltinModule('node:http');

interface Connection {
  readonly url: URL;
  readonly options: https.RequestOptions;
  readonly send: typeof https.request;
}

/** The request's URL and options with the current credentials: read again for every request (a token or certificate file may change). */
async function connect(kubeConfig: KubeConfig, path: string, query: Readonly<Record<string, string | undefined>>): Promise<Connection> {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('No active cluster!');
  const unsupported = unsupportedKubeConfig(kubeConfig);
  if (unsupported !== undefined) throw new UnsupportedKubeConfigError(unsupported);
  const options: https.RequestOptions = {};
  // Headers (Authorization, Impersonate-User), ca, cert, key, servername, rejectUnauthorized,
  // auth; and an agent, which is left out: each request has its own connection, as before.
  await kubeConfig.applyToHTTPSOptions(options);
  delete options.agent;
  const url = new URL(cluster.server + path);
  for (const [name, value] of Object.entries(query)) if (value) url.searchParams.set(name, value);
  return { url, options: { ...options, agent: false }, send: url.protocol === 'http:' ? plainHttp.request : https.request };
}

/** The answer's body in full, as text. */
function readBody(response: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    response.on('error', reject);
    // Aborted or cut off before its end: settled, whether or not an error was emitted first.
    response.on('close', () => { if (!response.complete) reject(new Error('the answer was cut off')); });
  });
}

export interface ApiRequest {
  readonly method?: 'GET' | 'POST' | 'PATCH';
  /** Query parameters; the empty and undefined ones are left out. */
  readonly query?: Readonly<Record<string, string | undefined>>;
  /** Sent as JSON (`JSON.stringify`) with this content type. */
  readonly body?: { readonly json: unknown; readonly contentType: string };
  readonly signal?: AbortSignal;
}

/**
 * One request of `path`, its answer as the API server's JSON; for an answer outside 2xx the
 * ApiException the generated clients throw (code, body, headers), so callers see the same errors.
 */
export async function apiJson(kubeConfig: KubeConfig, path: string, request: ApiRequest = {}): Promise<unknown> {
  const { url, options, send } = await connect(kubeConfig, path, request.query ?? {});
  const body = request.body === undefined ? undefined : JSON.stringify(request.body.json);
  const headers: Record<string, string | number> = { ...(options.headers as Record<string, string>), Accept: 'application/json' };
  if (request.body) {
    headers['Content-Type'] = request.body.contentType;
    headers['Content-Length'] = Buffer.byteLength(body ?? '');
  }
  const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = send(url, { ...options, method: request.method ?? 'GET', headers, ...(request.signal ? { signal: request.signal } : {}) }, resolve);
    req.on('error', reject);
    req.end(body);
  });
  const text = await readBody(response);
  const status = response.statusCode ?? 0;
  const answerHeaders = Object.fromEntries(Object.entries(response.headers).map(([k, v]) => [k, String(v)]));
  if (status === 401) throw new ApiException(401, 'Unauthorized', undefined, answerHeaders);
  if (status < 200 || status > 299) throw new ApiException(status, 'Unknown API Status Code!', text, answerHeaders);
  return JSON.parse(text) as unknown;
}

/** A watch event line longer than this ends the watch (an error: the loop relists after its backoff); objects in etcd are at most 1.5 MiB by default. */
export const MAX_WATCH_LINE_BYTES = 8 * 1024 * 1024;

export interface WatchOptions {
  /** Query parameters besides `watch=true`; the undefined ones are left out. */
  readonly query: Readonly<Record<string, string | boolean | number | undefined>>;
  /** No answer, then no data, for this long ends the watch with a TimeoutError. */
  readonly idleTimeoutMs: number;
  /** Longest event line held; longer ends the watch with an error. */
  readonly maxLineBytes?: number;
}

export interface WatchHandle {
  abort(): void;
}

const timeoutError = (): DOMException => new DOMException('The operation was aborted due to timeout', 'TimeoutError');

/**
 * A watch of `path`, as client-node's `Watch` made it: `watch=true` and the query; each line of
 * the answer parsed as an event and given to `onEvent` (a line that is not JSON is skipped); `onDone`
 * called once when the watch ends — null for a clean end of the answer, a TimeoutError when neither
 * an answer nor data came for `idleTimeoutMs`, an Error with `statusCode` for an answer other than
 * 200, or the connection's error. Rejects, before any request, when the credentials cannot be had.
 */
export async function watchLines(kubeConfig: KubeConfig, path: string, watch: WatchOptions,
  onEvent: (type: string, object: unknown) => void, onDone: (err: unknown) => void): Promise<WatchHandle> {
  const query: Record<string, string | undefined> = { watch: 'true' };
  for (const [name, value] of Object.entries(watch.query)) if (value !== undefined) query[name] = String(value);
  const { url, options, send } = await connect(kubeConfig, path, query);
  const maxLine = watch.maxLineBytes ?? MAX_WATCH_LINE_BYTES;
  let ended = false;
  let timer: NodeJS.Timeout | undefined;
  const end = (err: unknown): void => {
    if (ended) return;
    ended = true;
    if (timer !== undefined) clearTimeout(timer);
    req.destroy();
    onDone(err);
  };
  const idle = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => end(timeoutError()), watch.idleTimeoutMs);
    timer.unref();
  };
  const req = send(url, { ...options, method: 'GET', headers: { ...(options.headers as Record<string, string>), Accept: 'application/json' } }, (response) => {
    if (response.statusCode !== 200) {
      const error = new Error(response.statusMessage || plainHttp.STATUS_CODES[response.statusCode ?? 500] || 'Internal Server Error') as Error & { statusCode?: number };
      error.statusCode = response.statusCode;
      response.resume();
      end(error);
      return;
    }
    idle(); // the connect timeout is over; from here on it is an inactivity timeout
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const line = (bytes: Buffer): void => {
      if (ended || bytes.length === 0) return;
      let event: { type?: unknown; object?: unknown };
      try {
        event = JSON.parse(bytes.toString('utf8')) as { type?: unknown; object?: unknown };
      } catch {
        return; // as client-node's Watch: a line that is not JSON is skipped
      }
      onEvent(String(event?.type), event?.object);
    };
    response.on('data', (chunk: Buffer) => {
      idle();
      let from = 0;
      for (let at = chunk.indexOf(0x0a); at !== -1 && !ended; at = chunk.indexOf(0x0a, from)) {
        const piece = chunk.subarray(from, at);
        line(pending.length === 0 ? piece : Buffer.concat([...pending, piece]));
        pending = [];
        pendingBytes = 0;
        from = at + 1;
      }
      if (ended || from === chunk.length) return;
      pendingBytes += chunk.length - from;
      if (pendingBytes > maxLine) {
        end(new Error(`a watch event of ${path} is longer than ${maxLine} bytes`));
        return;
      }
      pending.push(chunk.subarray(from));
    });
    response.on('end', () => {
      if (pending.length > 0) line(Buffer.concat(pending));
      end(null);
    });
    response.on('error', end);
    response.on('close', () => end(response.complete ? null : new Error(`the watch of ${path} was cut off`)));
  });
  req.on('error', end);
  idle(); // until the answer comes: the connect timeout
  req.end();
  return { abort: () => end(new DOMException('This operation was aborted', 'AbortError')) };
}
