// Loaded by gpu-admission.cjs once the Node version is known to be enough: runs the built CLI.
'use strict';
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');

import(pathToFileURL(join(__dirname, '..', 'dist', 'cli', 'main.js')).href)
  .then((cli) => cli.main(process.argv.slice(2)))
  .catch((e) => {
    process.stderr.write(`gpu-admission: cannot start: ${(e && e.stack) || e}\n`);
    process.exitCode = 2;
  });
