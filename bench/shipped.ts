import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';

/**
 * What the shipped Deployment (manifests/base/deployment.yaml) gives the webhook: its environment
 * (GPU_ADMISSION_MAX_IN_FLIGHT, NODE_OPTIONS) and its memory limit; and the image's node flags
 * (Dockerfile), so benchmarks measure what ships.
 */
interface Container { env: { name: string; value: string }[]; resources: { limits: { memory: string } } }
const deployment = parseAllDocuments(readFileSync(new URL('../manifests/base/deployment.yaml', import.meta.url), 'utf8'))
  .map((d) => d.toJS() as { kind?: string; spec?: { template: { spec: { containers: Container[] } } } })
  .find((d) => d.kind === 'Deployment');
const container = deployment?.spec?.template.spec.containers[0] as Container;

/** The value of one of the shipped container's environment variables ('' when unset). */
export const shippedEnv = (name: string): string => container.env.find((e) => e.name === name)?.value ?? '';
/**
 * The shipped variables that shape the process's memory rather than the webhook's behaviour:
 * NODE_OPTIONS (V8's heap) and glibc's malloc settings (MALLOC_*), to run a webhook as the Deployment does.
 */
export const shippedProcessEnv = (): Record<string, string> => Object.fromEntries(container.env
  .filter((e) => e.name === 'NODE_OPTIONS' || e.name.startsWith('MALLOC_')).map((e) => [e.name, e.value]));
/**
 * Node's flags in the image's ENTRYPOINT (the Dockerfile's `["node", …, "dist/main.js"]`): V8's
 * flags that NODE_OPTIONS refuses (--no-maglev), to put on node's command line before dist/main.js.
 */
export function shippedNodeFlags(): string[] {
  const line = /^ENTRYPOINT (\[.*\])$/m.exec(readFileSync(new URL('../Dockerfile', import.meta.url), 'utf8'))?.[1];
  const entrypoint = line === undefined ? undefined : JSON.parse(line) as unknown;
  if (!Array.isArray(entrypoint) || entrypoint[0] !== 'node' || entrypoint.at(-1) !== 'dist/main.js' || !entrypoint.every((w) => typeof w === 'string')) {
    throw new Error(`the Dockerfile's ENTRYPOINT is not ["node", …, "dist/main.js"]: ${line ?? 'none'}`);
  }
  return entrypoint.slice(1, -1) as string[];
}
/** The shipped container's memory limit, as written (256Mi). */
export const shippedMemoryLimit = container.resources.limits.memory;
