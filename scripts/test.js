#!/usr/bin/env node
'use strict';
// Runs every dist/test/**/*.test.js with Node's built-in test runner (Node 20 takes no globs).
// Arguments filter the files by substring: `npm test -- codec broker/03`.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

// `--dist DIR` runs the tests of a build made with `build.js --out DIR`.
const args = process.argv.slice(2);
const distArg = args.indexOf('--dist');
const dist = distArg >= 0 ? path.resolve(args.splice(distArg, 2)[1]) : path.resolve(__dirname, '..', 'dist');
const root = path.join(dist, 'test');
const filters = args.filter((a) => !a.startsWith('-'));
const passThrough = args.filter((a) => a.startsWith('-'));

function walk(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? walk(p) : e.name.endsWith('.test.js') ? [p] : [];
  });
}

const files = walk(root)
  .filter((f) => filters.length === 0 || filters.some((s) => path.relative(root, f).includes(s)))
  .sort();
if (files.length === 0) {
  console.error('test: no test files matched');
  process.exit(1);
}
const res = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...passThrough, ...files], { stdio: 'inherit' });
process.exit(res.status ?? 1);
