#!/usr/bin/env node
'use strict';
// Runs the node tests (test helper flows over real sockets) against Node-RED 3.x, the oldest major
// version package.json declares, instead of the 4.x dev dependency. Node-RED 3 is installed once
// into .build/node-red-3 (ignored by git); the tests load it through MQTT_HUB_NODE_RED.
// Usage: node scripts/test-node-red-3.js [--dist DIR] [filters]   (default filters: nodes/ reliability/nodered editor/)
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const prefix = path.join(root, '.build', 'node-red-3');
const nodeRed = path.join(prefix, 'node_modules', 'node-red');
const VERSION = '3';

if (!fs.existsSync(path.join(nodeRed, 'package.json'))) {
  fs.mkdirSync(prefix, { recursive: true });
  fs.writeFileSync(path.join(prefix, 'package.json'), JSON.stringify({ name: 'node-red-3-under-test', private: true }));
  console.error(`test-node-red-3: installing node-red@${VERSION} into ${path.relative(root, prefix)}`);
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--no-save', `node-red@${VERSION}`], { cwd: prefix, stdio: 'inherit' });
}
const version = JSON.parse(fs.readFileSync(path.join(nodeRed, 'package.json'), 'utf8')).version;
console.error(`test-node-red-3: Node-RED ${version}`);

const args = process.argv.slice(2);
const hasFilter = args.some((a, i) => !a.startsWith('-') && args[i - 1] !== '--dist');
const testArgs = hasFilter ? args : [...args, 'nodes/', 'reliability/nodered', 'editor/'];
const run = spawnSync(process.execPath, [path.join(__dirname, 'test.js'), ...testArgs], {
  stdio: 'inherit',
  env: { ...process.env, MQTT_HUB_NODE_RED: nodeRed },
});
process.exit(run.status ?? 1);
