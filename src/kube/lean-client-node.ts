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
