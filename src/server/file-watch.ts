import { watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';

/** Time to let a burst of file events (a Secret or ConfigMap volume update is several renames) settle before reading. */
export const SETTLE_MS = 50;

/**
 * Calls `changed` when files may have changed: it watches the directories that hold them — a
 * Kubernetes Secret or ConfigMap volume updates by swapping its `..data` symlink, which only the
 * directory sees; an editor writes in place or renames over — and polls every `pollMs` as well,
 * in case a notification is missed. Returns the function that stops watching.
 */
export function watchFiles(files: readonly string[], pollMs: number, changed: () => void, log: Logger, what: string): () => void {
  let timer: NodeJS.Timeout | undefined;
  const schedule = (): void => {
    clearTimeout(timer);
    timer = setTimeout(changed, SETTLE_MS);
    timer.unref();
  };
  const watchers: FSWatcher[] = [...new Set(files.map((f) => dirname(f)))].map((dir) => {
    const watcher = watch(dir, { persistent: false }, schedule);
    watcher.on('error', (err) => log.warn({ dir, err: err.message }, `cannot watch the ${what} directory; polling only`));
    return watcher;
  });
  const poll = pollMs > 0 ? setInterval(changed, pollMs).unref() : undefined;
  return () => {
    clearTimeout(timer);
    clearInterval(poll);
    for (const w of watchers) w.close();
  };
}
