#!/usr/bin/env node
'use strict';
// `npm start` (after the build): Node-RED on http://127.0.0.1:1880 with a user dir inside the project
// (.node-red/, git-ignored), this package linked into it, and the local-broker example as the flow
// file the first time. Logs go to this terminal; Ctrl-C stops Node-RED.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const userDir = path.join(root, '.node-red');
const port = Number(process.env.PORT || 1880);
const host = process.env.HOST || '127.0.0.1';

if (!fs.existsSync(path.join(root, 'dist', 'nodes', 'mqtt-hub-connection.js'))) {
  console.error('start: dist/nodes is missing; run `npm start` (it builds first) or `npm run build`.');
  process.exit(1);
}

// The package reaches Node-RED as a symlink in the user dir's node_modules: no network, no copy,
// and a rebuild is picked up on the next start.
const scopeDir = path.join(userDir, 'node_modules', '@mqtt-hub');
const link = path.join(scopeDir, 'node-red');
fs.mkdirSync(scopeDir, { recursive: true });
try {
  const current = fs.readlinkSync(link);
  if (path.resolve(scopeDir, current) !== root) {
    fs.unlinkSync(link);
    fs.symlinkSync(root, link, 'dir');
  }
} catch {
  fs.rmSync(link, { recursive: true, force: true });
  fs.symlinkSync(root, link, 'dir');
}
// Node-RED lists the user dir's package.json dependencies in the palette manager.
const userPackage = path.join(userDir, 'package.json');
if (!fs.existsSync(userPackage)) {
  fs.writeFileSync(userPackage, JSON.stringify({ name: 'node-red-project', private: true, dependencies: { '@mqtt-hub/node-red': `file:${root}` } }, null, 2) + '\n');
}

const flowFile = path.join(userDir, 'flows.json');
if (!fs.existsSync(flowFile)) {
  fs.copyFileSync(path.join(root, 'examples', '01-local-broker.json'), flowFile);
  console.log('start: deployed examples/01-local-broker.json as the flow file');
}

const settingsFile = path.join(userDir, 'settings.js');
if (!fs.existsSync(settingsFile)) {
  fs.writeFileSync(
    settingsFile,
    [
      '// Written by scripts/start.js for local development; edit freely, it is not overwritten.',
      'module.exports = {',
      "    flowFile: 'flows.json',",
      '    uiHost: process.env.HOST || "127.0.0.1",',
      '    uiPort: process.env.PORT || 1880,',
      "    credentialSecret: 'mqtt-hub-dev',",
      '    logging: { console: { level: "info", metrics: false, audit: false } },',
      '    telemetry: { enabled: false, updateNotification: false },',
      '    editorTheme: { projects: { enabled: false }, tours: false, palette: { catalogues: [] } },',
      '};',
      '',
    ].join('\n'),
  );
}

const redJs = require.resolve('node-red/red.js', { paths: [root] });
const child = spawn(process.execPath, [redJs, '--userDir', userDir, '--settings', settingsFile, '--port', String(port)], {
  stdio: ['ignore', 'pipe', 'inherit'],
  env: { ...process.env, HOST: host },
});
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  if (/Server now running at/.test(String(chunk))) console.log(`\n  Node-RED editor: http://${host}:${port}/\n`);
});
const stop = (signal) => {
  if (child.exitCode === null) child.kill(signal);
};
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 0 : 1)));
