// The editor side in a real browser: the package installed from its `npm pack` tarball into a fresh
// Node-RED, every node in the palette, each edit form opened, filled and saved, a flow deployed from
// the editor and its messages seen in the debug sidebar, no errors in the browser console.
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { freePort, waitForPort } from '../helpers/net';
import { nodeRedDir } from '../nodes/node-red-process';
import { chromiumMissing, launchChromium, openPage, screenshotDir } from './browser';

// Code inside page.evaluate runs in the browser; the test compiles without the DOM library.
declare const window: any;
declare const document: any;

const skip = chromiumMissing && `${chromiumMissing} (.ci/run installs Debian's chromium)`;

/** The build under test: this file sits in <dist>/test/editor/. */
const dist = path.resolve(__dirname, '../..');
/** The project (package.json, examples, icons, node_modules), found from the working directory or the build. */
const projectRoot = [process.cwd(), path.resolve(dist, '..')].find((d) => fs.existsSync(path.join(d, 'package.json')) && fs.existsSync(path.join(d, 'node_modules', 'node-red')))!;
const screenshots = screenshotDir(projectRoot, 'editor');

/** Packs the build under test the way `npm pack` ships it, and installs the tarball into `userDir`. */
function installFromTarball(userDir: string): string {
  const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-hub-pack-'));
  try {
    fs.copyFileSync(path.join(projectRoot, 'package.json'), path.join(stage, 'package.json'));
    for (const dir of ['examples', 'icons']) fs.cpSync(path.join(projectRoot, dir), path.join(stage, dir), { recursive: true });
    fs.cpSync(path.join(dist, 'nodes'), path.join(stage, 'dist', 'nodes'), { recursive: true });
    fs.cpSync(path.join(dist, 'src'), path.join(stage, 'dist', 'src'), { recursive: true });
    // --ignore-scripts: the stage holds a finished build; prepack would rebuild the project's own dist/.
    const out = execFileSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', userDir], { cwd: stage, encoding: 'utf8' });
    const tarball = path.join(userDir, out.trim().split('\n').pop()!);
    const target = path.join(userDir, 'node_modules', '@mqtt-hub', 'node-red');
    fs.mkdirSync(target, { recursive: true });
    execFileSync('tar', ['xzf', tarball, '-C', target, '--strip-components=1']);
    // The one runtime dependency, from the project's install (no network).
    fs.mkdirSync(path.join(target, 'node_modules'), { recursive: true });
    fs.symlinkSync(path.join(projectRoot, 'node_modules', 'ws'), path.join(target, 'node_modules', 'ws'), 'dir');
    fs.writeFileSync(path.join(userDir, 'package.json'), JSON.stringify({ name: 'editor-test', private: true, dependencies: { '@mqtt-hub/node-red': `file:${path.basename(tarball)}` } }));
    return tarball;
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}

/**
 * Clicks a form tab until it is the active one: the editor takes a second click on its tab strip
 * within 400 ms for a double click, so a click that lands in that window is tried again after it.
 */
async function clickTab(page: Page, id: string): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    await page.click(`#${id} a`);
    if (await page.locator(`#${id}.active`).count()) return;
    await page.waitForTimeout(450);
  }
  throw new Error(`tab ${id} did not become active`);
}

describe('editor in headless Chromium', { skip }, () => {
  let userDir: string;
  let nodeRed: ChildProcess;
  let output = '';
  let browser: Browser;
  let baseUrl: string;
  let brokerPort: number;

  before(async () => {
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-hub-editor-'));
    installFromTarball(userDir);
    const port = await freePort();
    brokerPort = await freePort();
    fs.writeFileSync(
      path.join(userDir, 'settings.js'),
      `module.exports = { uiHost: '127.0.0.1', uiPort: ${port}, flowFile: 'flows.json', credentialSecret: false,
        logging: { console: { level: 'info' } }, telemetry: { enabled: false, updateNotification: false }, editorTheme: { tours: false, projects: { enabled: false }, palette: { catalogues: [] } } };\n`,
    );
    const redJs = path.join(nodeRedDir, 'red.js');
    nodeRed = spawn(process.execPath, [redJs, '--userDir', userDir, '--settings', path.join(userDir, 'settings.js')], { stdio: ['ignore', 'pipe', 'pipe'] });
    nodeRed.stdout!.on('data', (d) => (output += d));
    nodeRed.stderr!.on('data', (d) => (output += d));
    await waitForPort(port, '127.0.0.1', 20_000);
    baseUrl = `http://127.0.0.1:${port}/`;
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    if (nodeRed && nodeRed.exitCode === null) {
      await new Promise<void>((resolve) => {
        nodeRed.once('exit', () => resolve());
        nodeRed.kill('SIGTERM');
      });
    }
    if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
  });

  async function openEditor(locale: string): Promise<{ page: Page; problems: string[] }> {
    const { page, problems } = await openPage(browser, baseUrl, { locale, viewport: { width: 1400, height: 900 } });
    await page.waitForSelector('#red-ui-palette-container .red-ui-palette-node', { timeout: 20_000 });
    await page.waitForFunction(() => !!(window.RED && window.RED.workspaces && window.RED.workspaces.active() && window.RED.nodes.getType('mqtt-hub-in')), undefined, { timeout: 20_000 });
    return { page, problems };
  }

  test('palette, forms, deploy and debug output, in English', async () => {
    const { page, problems } = await openEditor('en-US');
    for (const type of ['mqtt-hub-in', 'mqtt-hub-out', 'mqtt-hub-broker']) {
      assert.equal(await page.locator(`.red-ui-palette-node[data-palette-type="${type}"]`).count(), 1, `${type} in the palette`);
    }
    assert.ok(await page.evaluate(() => !!window.RED.nodes.getType('mqtt-hub-connection')), 'config node type registered');
    const category = await page.locator('.red-ui-palette-node[data-palette-type="mqtt-hub-in"]').evaluate((el) => el.closest('.red-ui-palette-category')?.id ?? '');
    assert.match(category, /network/);
    await page.screenshot({ path: path.join(screenshots, '01-palette.png') });

    // A flow with every node type, placed through the editor's import.
    await page.evaluate((port) => {
      const RED = window.RED;
      const z = RED.workspaces.active();
      RED.view.importNodes([
        { id: 'edBroker', type: 'mqtt-hub-broker', z, name: 'editor broker', bind: 'loopback', port: String(port), sysInterval: '0', x: 360, y: 80, wires: [[]] },
        { id: 'edConn', type: 'mqtt-hub-connection', serverType: 'broker-node', brokerNode: 'edBroker', protocolVersion: '5' },
        { id: 'edInject', type: 'inject', z, name: 'go', props: [{ p: 'payload' }], payload: 'hello from the editor', payloadType: 'str', repeat: '', once: false, topic: '', x: 340, y: 160, wires: [['edOut']] },
        { id: 'edOut', type: 'mqtt-hub-out', z, broker: 'edConn', topic: '', qos: '', retain: '', queueSize: '100', x: 580, y: 160, wires: [] },
        { id: 'edIn', type: 'mqtt-hub-in', z, broker: 'edConn', topic: '', qos: '2', datatype: 'auto-detect', x: 340, y: 240, wires: [['edDebug']] },
        { id: 'edDebug', type: 'debug', z, name: 'seen', active: true, tosidebar: true, complete: 'true', targetType: 'full', x: 580, y: 240, wires: [] },
      ], { generateIds: false, touchImport: true });
      // The import puts the flow at the mouse (Node-RED 3 at the workspace's left edge, under the
      // palette's shadow): place the nodes clear of it, so the inject button can be pressed.
      const places: Record<string, [number, number]> = { edBroker: [360, 80], edInject: [340, 160], edOut: [580, 160], edIn: [340, 240], edDebug: [580, 240] };
      for (const [id, [x, y]] of Object.entries(places)) Object.assign(RED.nodes.node(id), { x, y, dirty: true });
      RED.view.redraw(true);
    }, brokerPort);

    // The in node: an invalid filter is flagged in the form, a valid one saves.
    await page.evaluate(() => window.RED.editor.edit(window.RED.nodes.node('edIn')));
    await page.waitForSelector('#node-input-topic', { state: 'visible' });
    await page.fill('#node-input-topic', 'editor/#/bad');
    await page.locator('#node-input-topic').dispatchEvent('change');
    await page.waitForFunction(() => document.querySelector('#node-input-topic')!.classList.contains('input-error'));
    await page.fill('#node-input-topic', 'editor/#');
    await page.locator('#node-input-topic').dispatchEvent('change');
    await page.waitForFunction(() => !document.querySelector('#node-input-topic')!.classList.contains('input-error'));
    await page.selectOption('#node-input-qos', '1');
    await page.screenshot({ path: path.join(screenshots, '02-in-form.png') });
    await page.click('#node-dialog-ok');
    await page.waitForSelector('#node-input-topic', { state: 'detached' });

    // The out node: topic and MQTT 5 fields.
    await page.evaluate(() => window.RED.editor.edit(window.RED.nodes.node('edOut')));
    await page.waitForSelector('#node-input-topic', { state: 'visible' });
    await page.fill('#node-input-topic', 'editor/out');
    await page.selectOption('#node-input-qos', '1');
    await page.fill('#node-input-contentType', 'text/plain');
    await page.fill('#node-input-userProperties', '{"from":"editor"}');
    await page.screenshot({ path: path.join(screenshots, '03-out-form.png') });
    await page.click('#node-dialog-ok');
    await page.waitForSelector('#node-input-contentType', { state: 'detached' });

    // The broker node: its tabs and limits.
    await page.evaluate(() => window.RED.editor.edit(window.RED.nodes.node('edBroker')));
    await page.waitForSelector('#node-input-port', { state: 'visible' });
    assert.equal(await page.inputValue('#node-input-port'), String(brokerPort));
    await clickTab(page, 'red-ui-tab-mqtt-hub-broker-tab-limits');
    await page.waitForSelector('#node-input-maxConnections', { state: 'visible' });
    await page.fill('#node-input-maxConnections', '50');
    await page.screenshot({ path: path.join(screenshots, '04-broker-form.png') });
    await page.click('#node-dialog-ok');
    await page.waitForSelector('#node-input-maxConnections', { state: 'detached' });

    // The connection config node: every tab, a client id, saved.
    await page.evaluate(() => window.RED.editor.editConfig('', 'mqtt-hub-connection', 'edConn'));
    await page.waitForSelector('#node-config-input-serverType', { state: 'visible' });
    assert.equal(await page.inputValue('#node-config-input-serverType'), 'broker-node');
    // Client id is a typedInput (string or environment variable): type into its visible field.
    const clientIdField = page.locator('#node-config-input-clientId + div input.red-ui-typedInput-input');
    await clientIdField.fill('editor-client');
    await clientIdField.dispatchEvent('change');
    for (const tab of ['security', 'messages', 'mqtt5', 'connection']) {
      await clickTab(page, `red-ui-tab-mqtt-hub-connection-tab-${tab}`);
    }
    await clickTab(page, 'red-ui-tab-mqtt-hub-connection-tab-messages');
    await page.fill('#node-config-input-birthTopic', 'editor/birth');
    await page.screenshot({ path: path.join(screenshots, '05-connection-form.png') });
    await page.click('#node-config-dialog-ok');
    await page.waitForSelector('#node-config-input-serverType', { state: 'detached' });

    const saved = await page.evaluate(() => {
      const RED = window.RED;
      const pick = (id: string) => RED.nodes.node(id);
      return { inTopic: pick('edIn').topic, inQos: pick('edIn').qos, outTopic: pick('edOut').topic, contentType: pick('edOut').contentType, maxConnections: pick('edBroker').maxConnections, clientId: pick('edConn').clientId, birthTopic: pick('edConn').birthTopic };
    });
    assert.deepEqual(saved, { inTopic: 'editor/#', inQos: '1', outTopic: 'editor/out', contentType: 'text/plain', maxConnections: '50', clientId: 'editor-client', birthTopic: 'editor/birth' });

    // Deploy from the header button, then press the inject node's button.
    await page.click('#red-ui-header-button-deploy');
    await page.waitForFunction(() => {
      const RED = window.RED;
      const s = RED.nodes.node('edIn')?.status;
      return s && s.fill === 'green';
    }, undefined, { timeout: 15_000 });
    await page.evaluate(() => window.RED.sidebar.show('debug'));
    await page.click('#edInject .red-ui-flow-node-button rect.red-ui-flow-node-button-button');
    const entry = page.locator('.red-ui-debug-msg', { hasText: 'hello from the editor' });
    await entry.first().waitFor({ timeout: 15_000 });
    const text = await page.locator('.red-ui-debug-msg').filter({ hasText: 'hello from the editor' }).first().innerText();
    assert.match(text, /editor\/out/);
    await page.screenshot({ path: path.join(screenshots, '06-deployed-debug.png') });

    // Status texts are translated: the in node shows "connected", not a key.
    const statusText = await page.evaluate(() => window.RED.nodes.node('edIn').status.text);
    assert.equal(statusText, 'connected');
    assert.deepEqual(problems, [], 'no errors in the browser console');
    await page.context().close();
  });

  test('the forms and help read in Chinese', async () => {
    const { page, problems } = await openEditor('zh-CN');
    await page.waitForFunction(() => !!window.RED.nodes.node('edIn'), undefined, { timeout: 15_000 });
    await page.evaluate(() => window.RED.editor.edit(window.RED.nodes.node('edIn')));
    await page.waitForSelector('#node-input-topic', { state: 'visible' });
    const label = await page.locator('label[for="node-input-topic"]').innerText();
    assert.match(label, /主题/);
    // The help the editor holds for the node is the Chinese one, in the core nodes' format.
    const help: string = await page.evaluate(() => window.RED.nodes.getNodeHelp('mqtt-hub-in'));
    assert.match(help, /动态设置订阅/);
    assert.match(help, /class="message-properties"/);
    await page.screenshot({ path: path.join(screenshots, '07-in-form-zh-CN.png') });
    await page.click('#node-dialog-cancel');
    assert.deepEqual(problems, [], 'no errors in the browser console');
    await page.context().close();
  });
});
