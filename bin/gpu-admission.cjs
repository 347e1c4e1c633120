#!/usr/bin/env node
// The installed command, and the kubectl plugin kubectl-gpu_admission (npm links both names to
// this file; kubectl runs the link by its path). Plain CommonJS that any Node can parse: it checks
// the version before anything of the CLI is read, because the CLI's ES modules need Node 24
// (package.json engines) and an older Node would otherwise fail on them, or do nothing and exit 0.
'use strict';
var NEEDED = 24;
var major = Number(String(process.versions.node).split('.')[0]);
if (!(major >= NEEDED)) {
  process.stderr.write('gpu-admission: needs Node.js ' + NEEDED + ' or newer (package.json engines: node >=' + NEEDED + '), '
    + 'but ' + process.execPath + ' is Node.js ' + process.version + '; put Node.js ' + NEEDED + ' first on PATH, '
    + 'or run it as: /path/to/node' + NEEDED + ' ' + __filename + ' ARGS\n');
  process.exit(2);
}
require('./run.cjs');
