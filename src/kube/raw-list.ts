// A collection listed as plain JSON, page by page, for the cluster view's large lists (Nodes,
// Pods). The request is client-node's own: its KubeConfig puts the credentials on it (token,
// exec plugin, client certificate, basic auth) and chooses the TLS dispatcher (CA, proxy) as for
// the generated clients, and its fetch sends it. What is left out is the generated client's
// ObjectSerializer, which turns every object of the answer into class instances, field by field,
// dates parsed — most of inspect's time at 20,000 pods, for a view that reads a few fields.
import { ApiException, HttpMethod, IsomorphicFetchHttpLibrary, ServerConfiguration, type KubeConfig } from '@kubernetes/client-node';

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

/** One page of `path` (such as `/api/v1/pods`); an ApiException, as the generated clients throw, for an answer outside 2xx. */
async function page(kubeConfig: KubeConfig, path: string, query: RawListQuery, token: string | undefined): Promise<ListPage> {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('No active cluster!');
  const context = new ServerConfiguration(cluster.server, {}).makeRequestContext(path, HttpMethod.GET);
  context.setHeaderParam('Accept', 'application/json');
  context.setQueryParam('limit', String(query.limit));
  if (query.fieldSelector) context.setQueryParam('fieldSelector', query.fieldSelector);
  if (query.labelSelector) context.setQueryParam('labelSelector', query.labelSelector);
  if (token) context.setQueryParam('continue', token);
  await kubeConfig.applySecurityAuthentication(context);
  const response = await HTTP.send(context).toPromise();
  const text = await response.body.text();
  if (response.httpStatusCode === 401) throw new ApiException(401, 'Unauthorized', undefined, response.headers);
  if (response.httpStatusCode < 200 || response.httpStatusCode > 299) {
    throw new ApiException(response.httpStatusCode, 'Unknown API Status Code!', text, response.headers);
  }
  return JSON.parse(text) as ListPage;
}

/** Every item of the collection at `path`, as the API server's JSON, following the continue tokens. */
export async function listRaw(kubeConfig: KubeConfig, path: string, query: RawListQuery): Promise<unknown[]> {
  const out: unknown[] = [];
  let token: string | undefined;
  do {
    const list = await page(kubeConfig, path, query, token);
    if (Array.isArray(list.items)) for (const item of list.items) out.push(item);
    token = typeof list.metadata?.continue === 'string' && list.metadata.continue !== '' ? list.metadata.continue : undefined;
  } while (token);
  return out;
}
