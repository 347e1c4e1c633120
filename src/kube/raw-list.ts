// A collection listed page by page, for the cluster view's large lists (Nodes, Pods: in
// Kubernetes' protobuf where the server speaks it, only the fields read decoded, see
// src/kube/protobuf-list.ts; plain JSON otherwise), and one object (the CLI's policy ConfigMap)
// as plain JSON; the CLI's requests. The webhook's own go over node:https (src/kube/https-client.ts,
// ADR 0012). The request is client-node's own: its KubeConfig puts the credentials on it (token,
// exec plugin, client certificate, basic auth) and chooses the TLS dispatcher (CA, proxy) as for
// the generated clients, and its fetch sends it. What is left out is the generated client's
// ObjectSerializer, which turns every object of the answer into class instances, field by field,
// dates parsed — most of inspect's time at 20,000 pods, for a view that reads a few fields.
// The pages of one list share their connections: client-node gives each request a new
// dispatcher, so a new TLS handshake per page.
// Imported from client-node's own modules, not its index, which loads every generated API and
// model: the CLI's cluster verbs then load only what they use (src/kube/lean-client-node.ts).
import type { KubeConfig } from '@kubernetes/client-node';
import { ApiException } from '@kubernetes/client-node/dist/gen/apis/exception.js';
import { HttpMethod, type RequestContext } from '@kubernetes/client-node/dist/gen/http/http.js';
import { IsomorphicFetchHttpLibrary } from '@kubernetes/client-node/dist/gen/http/isomorphic-fetch.js';
import { ServerConfiguration } from '@kubernetes/client-node/dist/gen/servers.js';
// Only the type: the caller gives the reader (src/kube/cluster-read.ts).
import type { ProtobufList } from './protobuf-list.ts';

/** What the API server answers with when it speaks protobuf. */
const PROTOBUF = 'application/vnd.kubernetes.protobuf';

/** A List as the API server sends it: the items, and the token of the next page. */
interface ListPage {
  readonly items?: unknown;
  readonly metadata?: { readonly continue?: unknown };
}

export interface RawListQuery {
  /** Items per page (the API server's `limit`). */
  readonly limit: number;
  readonly fieldSelector?: string;
  readonly labelSelector?: string;
}

const HTTP = new IsomorphicFetchHttpLibrary();

type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;

/** What the pages of one list share: the first page's dispatcher (its connections, TLS set up once). */
interface ListSession {
  dispatcher?: Dispatcher;
}

/** What a request takes besides its path and query: an abort signal. */
interface Send {
  readonly signal?: AbortSignal;
}

/** An answer's body: JSON text, or (where protobuf was asked for and given) the protobuf bytes. */
type Body = { readonly json: string } | { readonly protobuf: Uint8Array };

/** A request of `path` with `query`, its answer as text; an ApiException, as the generated clients throw, for an answer outside 2xx. */
async function requestText(kubeConfig: KubeConfig, path: string, query: Readonly<Record<string, string | undefined>>, session: ListSession, send: Send = {}): Promise<string> {
  const body = await requestBody(kubeConfig, path, query, session, send);
  return 'json' in body ? body.json : ''; // not reached: protobuf is not asked for
}

/**
 * A request of `path` with `query`, asking for protobuf first when given its reader (the server
 * answers JSON where it has no protobuf for the kind); an ApiException, as the generated clients
 * throw, for an answer outside 2xx, its body the JSON text of the Status in either encoding.
 */
async function requestBody(kubeConfig: KubeConfig, path: string, query: Readonly<Record<string, string | undefined>>, session: ListSession, send: Send, protobuf?: ProtobufList): Promise<Body> {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('No active cluster!');
  const context = new ServerConfiguration(cluster.server, {}).makeRequestContext(path, HttpMethod.GET);
  context.setHeaderParam('Accept', protobuf ? `${PROTOBUF}, application/json` : 'application/json');
  for (const [name, value] of Object.entries(query)) if (value) context.setQueryParam(name, value);
  if (send.signal) context.setSignal(send.signal);
  // The credentials are put on every page (a token may be refreshed); the connection is the first page's.
  await kubeConfig.applySecurityAuthentication(context);
  session.dispatcher ??= context.getDispatcher();
  if (session.dispatcher) context.setDispatcher(session.dispatcher);
  const response = await HTTP.send(context).toPromise();
  const body: Body = protobuf && response.headers['content-type']?.startsWith(PROTOBUF)
    ? { protobuf: await bytes(response.body.stream()) }
    : { json: await response.body.text() };
  if (response.httpStatusCode === 401) throw new ApiException(401, 'Unauthorized', undefined, response.headers);
  if (response.httpStatusCode < 200 || response.httpStatusCode > 299) {
    const text = 'json' in body ? body.json : statusText(body.protobuf, protobuf);
    throw new ApiException(response.httpStatusCode, 'Unknown API Status Code!', text, response.headers);
  }
  return body;
}

/** An error answer's protobuf Status as JSON text; undefined when it cannot be read (the code still tells). */
function statusText(body: Uint8Array, protobuf: ProtobufList | undefined): string | undefined {
  try {
    return protobuf?.status(body);
  } catch {
    return undefined;
  }
}

/** A response body's bytes, in one buffer. */
async function bytes(stream: ReadableStream<Uint8Array> | null): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  if (stream) for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** One page of `path` (such as `/api/v1/pods`). */
const page = (kubeConfig: KubeConfig, path: string, query: RawListQuery, token: string | undefined, session: ListSession, signal: AbortSignal | undefined, protobuf: ProtobufList | undefined): Promise<Body> =>
  requestBody(kubeConfig, path, { limit: String(query.limit), fieldSelector: query.fieldSelector, labelSelector: query.labelSelector, continue: token }, session,
    signal ? { signal } : {}, protobuf);

/**
 * One object (such as `/api/v1/namespaces/NS/configmaps/NAME`), or a collection in one answer
 * (the list a watch starts from), as the API server's JSON, with the generated clients' request
 * and errors (an ApiException with code 404 when it does not exist) but without loading them.
 */
export async function readRaw(kubeConfig: KubeConfig, path: string, options: RawReadOptions = {}): Promise<unknown> {
  return request(kubeConfig, path, options.query ?? {}, { signal: options.signal });
}

export interface RawReadOptions {
  /** Query parameters (such as `fieldSelector`); the empty and undefined ones are left out. */
  readonly query?: Readonly<Record<string, string | undefined>>;
  /** Aborts the request. */
  readonly signal?: AbortSignal;
}

/** One request on its own connection, closed once answered. */
async function request(kubeConfig: KubeConfig, path: string, query: Readonly<Record<string, string | undefined>>, send: Send): Promise<unknown> {
  const session: ListSession = {};
  try {
    return JSON.parse(await requestText(kubeConfig, path, query, session, send)) as unknown;
  } finally {
    session.dispatcher?.close().catch(() => {});
  }
}

/**
 * The continue token as the head of the text gives it: the API server writes a List's metadata
 * before its items. Only a guess, to ask for the next page while this one is parsed; the parsed
 * token decides.
 */
function tokenAhead(text: string): string | undefined {
  const head = text.slice(0, Math.max(0, text.indexOf('"items"')));
  return /"continue":"([^"\\]+)"/.exec(head)?.[1];
}

const parsedToken = (list: ListPage): string | undefined =>
  (typeof list.metadata?.continue === 'string' && list.metadata.continue !== '' ? list.metadata.continue : undefined);

/** A page read: its items, and the token of the next (undefined on the last). */
interface PageRead { readonly items: readonly unknown[]; readonly token: string | undefined }

/**
 * A page's continue token ahead of its items, to ask for the next page while this one is read:
 * exact from protobuf (the List's metadata decoded alone), a guess from JSON text.
 */
const ahead = (body: Body, wire: ProtobufList | undefined): string | undefined =>
  ('json' in body ? tokenAhead(body.json) : wire?.token(body.protobuf));

/** A page's items and next token; `early`, what `ahead` read of this page, is the token itself in protobuf (read exactly). */
function read(body: Body, wire: ProtobufList | undefined, early: string | undefined): PageRead {
  if (!('json' in body)) {
    if (!wire) throw new Error('a protobuf answer to a JSON request'); // not reached: protobuf is asked for only with a reader
    return { items: wire.items(body.protobuf), token: early };
  }
  const list = JSON.parse(body.json) as ListPage;
  return { items: Array.isArray(list.items) ? list.items : [], token: parsedToken(list) };
}

/**
 * Every item of the collection at `path`, as the API server's JSON, each reduced by `each` as its
 * page arrives (so only the reduced items are held), following the continue tokens. The next page
 * is asked for before this one is parsed, so the API server works while this process parses.
 * `signal` aborts the list: the request in flight, and the next page's. With `protobuf`, the
 * pages are asked for in Kubernetes' protobuf first and its reader gives each item as the JSON
 * fields it declares (src/kube/protobuf-list.ts); a server that answers JSON is read as JSON.
 */
export async function listRaw<T>(kubeConfig: KubeConfig, path: string, query: RawListQuery, each: (item: unknown) => T, signal?: AbortSignal, protobuf?: ProtobufList): Promise<T[]> {
  const out: T[] = [];
  const session: ListSession = {};
  const next = (token: string | undefined) => page(kubeConfig, path, query, token, session, signal, protobuf);
  try {
    let body = await next(undefined);
    for (;;) {
      const guess = ahead(body, protobuf);
      const following = guess === undefined ? undefined : next(guess);
      following?.catch(() => {}); // awaited below when the guess holds; its error is then thrown there
      const { items, token } = read(body, protobuf, guess);
      for (const item of items) out.push(each(item));
      if (token === undefined) return out;
      body = await (token === guess && following ? following : next(token));
    }
  } finally {
    // Its connections closed once the requests in flight (a wrong guess's) are answered.
    session.dispatcher?.close().catch(() => {});
  }
}
