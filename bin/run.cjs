// Loaded by gpu-admission.cjs once the Node version is known to be enough: runs the built CLI.
'use strict';
const { enableCompileCache } = require('node:module');
const { homedir } = require('node:os');
const { isAbsolute, join } = require('node:path');
const { pathToFileURL } = require('node:url');

/**
 * Node's module compile cache: the V8 code of every module the CLI loads (its own, and
 * client-node's thousands of generated files) is kept on disk, so runs after the first skip
 * compiling them. Per user, as kubectl keeps its cache: $XDG_CACHE_HOME or ~/.cache, then
 * gpu-admission/node-compile-cache (never a directory other users could write into); Node keeps a
 * subdirectory per Node version and uses an entry only while its file's source is unchanged, so
 * several installed versions of the CLI share it safely. NODE_COMPILE_CACHE=DIR puts it elsewhere,
 * NODE_DISABLE_COMPILE_CACHE=1 turns it off; a cache that cannot be written is skipped quietly.
 */
function compileCacheDir() {
  const xdg = process.env.XDG_CACHE_HOME;
  try {
    return join(xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.cache'), 'gpu-admission', 'node-compile-cache');
  } catch {
    return undefined; // no home directory: no cache
  }
}
const cacheDir = compileCacheDir();
if (cacheDir !== undefined && typeof enableCompileCache === 'function') enableCompileCache(cacheDir);

import(pathToFileURL(join(__dirname, '..', 'dist', 'cli', 'main.js')).href)
  .then((cli) => cli.main(process.argv.slice(2)))
  .catch((e) => {
    process.stderr.write(`gpu-admission: cannot start: ${(e && e.stack) || e}\n`);
    process.exitCode = 2;
  });
