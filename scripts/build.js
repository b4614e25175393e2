#!/usr/bin/env node
'use strict';
// One build step: compile TypeScript (src, nodes, test, bench) into dist/, then put each node's
// HTML, its locales and the icons next to the built node JS, where Node-RED's loader looks for them.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
// `--out DIR` builds elsewhere (a developer's private copy while others build too); default dist/.
const outArg = process.argv.indexOf('--out');
const dist = outArg > 0 ? path.resolve(process.argv[outArg + 1]) : path.join(root, 'dist');

function copyTree(from, to, filter = () => true) {
  if (!fs.existsSync(from)) return;
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, entry.name);
    const dst = path.join(to, entry.name);
    if (entry.isDirectory()) copyTree(src, dst, filter);
    else if (filter(entry.name)) {
      fs.mkdirSync(to, { recursive: true });
      fs.copyFileSync(src, dst);
    }
  }
}

const tsc = require.resolve('typescript/bin/tsc');
let compiled = true;
try {
  execFileSync(
    process.execPath,
    [tsc, '-p', path.join(root, 'tsconfig.json'), '--outDir', dist, '--tsBuildInfoFile', path.join(dist, '.tsbuildinfo')],
    { stdio: 'inherit', cwd: root },
  );
} catch {
  compiled = false; // tsc still emitted what it could; copy the rest, then fail
}

const nodesSrc = path.join(root, 'nodes');
const nodesOut = path.join(dist, 'nodes');
copyTree(nodesSrc, nodesOut, (name) => !name.endsWith('.ts'));
copyTree(path.join(root, 'icons'), path.join(nodesOut, 'icons'));

const cli = path.join(dist, 'src', 'cli', 'main.js');
if (fs.existsSync(cli)) fs.chmodSync(cli, 0o755);
if (!compiled) {
  console.error('build: TypeScript compilation failed');
  process.exit(1);
}
