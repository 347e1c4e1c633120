// The cluster verbs of the CLI, and the webhook when it watches the cluster (src/main.ts), load
// only the part of @kubernetes/client-node they use. Its KubeConfig (dist/config.js: kubeconfig
// files, tokens, exec plugins, client certificates, CA,
// proxies) takes two names from its generated code's index, `createConfiguration` and
// `ServerConfiguration`, and that index loads every generated API and model: about 3,000 modules,
// most of the CLI's start-up (0.45 of 0.75 s of CPU to import config.js, measured for #23). A
// resolve hook gives config.js, and only config.js, an index holding those two names, from the
// same files the full index re-exports them from (so they are the same classes). Everything else
// is unchanged: the generated clients, loaded through the package's own index when a verb reads
// Events, DRA objects, webhooks or a namespace, load in full, and share config.js with this.
import { registerHooks } from 'node:module';

/** The import in client-node's config.js that is narrowed, and what it takes from it. */
const CONFIG_MODULE = /\/@kubernetes\/client-node\/dist\/config\.js$/;
const GENERATED_INDEX = './gen/index.js';
const NARROWED = '?config-only';
const NARROW_SOURCE = "export { createConfiguration } from './configuration.js';\nexport { ServerConfiguration } from './servers.js';\n";

let registered = false;
let serving = false;

/**
 * What serve mode keeps out of client-node's modules, and the names they import from each: npm's
 * undici (config.js's dispatchers; the generated clients' and `Watch`'s fetch), the proxies
 * (socks, hpagent) and the legacy auth providers' libraries (openid-client for oidc, jsonpath-plus
 * for azure and gcp). The webhook's requests go over node:https (src/kube/https-client.ts), which
 * refuses a proxy or those providers before any request; a stand-in that is reached anyway throws.
 */
const SERVE_MODE_STAND_INS: Readonly<Record<string, readonly string[]>> = {
  'undici': ['Agent', 'ProxyAgent', 'fetch'],
  'socks': ['SocksClient'],
  'socks-proxy-agent': ['SocksProxyAgent'],
  'hpagent': ['HttpProxyAgent', 'HttpsProxyAgent'],
  'openid-client': ['customFetch', 'discovery', 'refreshTokenGrant'],
  'jsonpath-plus': ['JSONPath'],
};
const CLIENT_NODE = /\/@kubernetes\/client-node\/dist\//;
const STAND_IN = 'gpu-admission-serve-mode:';

/**
 * Built-in modules that client-node's modules import and whose ESM namespace costs what the webhook
 * does not use: node:http's namespace reads its lazy `WebSocket`, `CloseEvent` and `MessageEvent`,
 * which load Node's internal undici, http2 and web streams (1.4 MiB of heap). client-node's modules
 * get the same module object (`process.getBuiltinModule`), its plain properties as named exports.
 */
const SERVE_MODE_BUILTINS = new Set(['node:http', 'http']);
const BUILTIN = 'gpu-admission-serve-mode-builtin:';

/** The built-in module `name` as its default export and its properties that are not getters as named exports; the getters are left unread. */
function builtinSource(name: string): string {
  const descriptors = Object.getOwnPropertyDescriptors(process.getBuiltinModule(name));
  const names = Object.keys(descriptors).filter((key) => 'value' in descriptors[key]! && /^[A-Za-z_$][\w$]*$/.test(key) && key !== 'default');
  return `const m = process.getBuiltinModule(${JSON.stringify(name)});\nexport default m;\n${names.map((key) => `export const ${key} = m.${key};\n`).join('')}`;
}

/** A module whose every name throws when used: `name` of `specifier` is not loaded in serve mode. */
function standInSource(specifier: string): string {
  const names = SERVE_MODE_STAND_INS[specifier] ?? [];
  const message = (name: string): string => JSON.stringify(`${specifier}'s ${name} is not loaded in the webhook's serve mode (src/kube/lean-client-node.ts): the webhook's requests go over node:https`);
  return names.map((name) => name === 'customFetch'
    ? `export const customFetch = Symbol('customFetch');\n`
    : `export function ${name}() { const e = new Error(${message(name)}); e.code = 'GA_ERR_SERVE_MODE_STAND_IN'; throw e; }\n`).join('');
}

/**
 * leanClientNode(), and for the webhook's serve mode: client-node's modules, and only they, get a
 * stand-in for each module of SERVE_MODE_STAND_INS, and node:http without its ESM namespace
 * (SERVE_MODE_BUILTINS). Call before the first import of client-node.
 */
export function leanServeMode(): void {
  leanClientNode();
  if (serving || typeof registerHooks !== 'function') return;
  serving = true;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      if (!CLIENT_NODE.test(context.parentURL ?? '')) return nextResolve(specifier, context);
      if (Object.hasOwn(SERVE_MODE_STAND_INS, specifier)) return { url: `${STAND_IN}${specifier}`, format: 'module', shortCircuit: true };
      if (SERVE_MODE_BUILTINS.has(specifier)) return { url: `${BUILTIN}${specifier.replace(/^node:/, '')}`, format: 'module', shortCircuit: true };
      return nextResolve(specifier, context);
    },
    load(url, context, nextLoad) {
      if (url.startsWith(STAND_IN)) return { format: 'module', source: standInSource(url.slice(STAND_IN.length)), shortCircuit: true };
      if (url.startsWith(BUILTIN)) return { format: 'module', source: builtinSource(`node:${url.slice(BUILTIN.length)}`), shortCircuit: true };
      return nextLoad(url, context);
    },
  });
}

/**
 * From now on in this process, client-node's config.js gets the narrowed generated index. Call
 * before the first import of `@kubernetes/client-node` or its config.js; once is enough. Without
 * module hooks (they came in Node 22.15) nothing changes.
 */
export function leanClientNode(): void {
  if (registered || typeof registerHooks !== 'function') return;
  registered = true;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      if (specifier !== GENERATED_INDEX || !CONFIG_MODULE.test(context.parentURL ?? '')) return nextResolve(specifier, context);
      const resolved = nextResolve(specifier, context);
      return { ...resolved, url: `${resolved.url}${NARROWED}` };
    },
    load(url, context, nextLoad) {
      if (!url.endsWith(`/gen/index.js${NARROWED}`)) return nextLoad(url, context);
      return { format: 'module', source: NARROW_SOURCE, shortCircuit: true };
    },
  });
}
