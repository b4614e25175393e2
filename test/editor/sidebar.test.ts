// The "MQTT broker" sidebar in headless Chromium against a running Node-RED: a client connecting
// shows up, messages arriving fill the topic tree, a retained topic is cleared and a client
// disconnected from the UI, a test message published from it; the connection form's "Test
// connection" answers; a read-only user (adminAuth) sees the same without the actions. No errors in
// the browser console; screenshots in test-output/sidebar/.
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import mqtt from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import { freePort, waitUntil } from '../helpers/net';
import { projectRoot, startNodeRed, type NodeRedProcess } from '../nodes/node-red-process';
import { chromiumMissing, launchChromium, openPage, screenshotDir } from './browser';

// Code inside page.evaluate runs in the browser; the test compiles without the DOM library.
declare const window: any;
declare const document: any;

const skip = chromiumMissing;
const screenshots = screenshotDir(projectRoot, 'sidebar');

describe('mqtt-hub sidebar in headless Chromium', { skip }, () => {
  let red: NodeRedProcess;
  let browser: Browser;
  let port: number;
  let adminToken: string;
  let viewerToken: string;
  const clients: mqtt.MqttClient[] = [];

  before(async () => {
    port = await freePort();
    red = await startNodeRed({
      flows: [
        { id: 'f1', type: 'tab', label: 'sidebar' },
        { id: 'hub', z: 'f1', type: 'mqtt-hub-broker', x: 160, y: 80, name: 'hub', bind: 'loopback', port: String(port), sysInterval: '0', wires: [[]] },
        { id: 'conn', type: 'mqtt-hub-connection', serverType: 'host', host: '127.0.0.1', port: String(port), protocolVersion: '5', autoConnect: false },
      ],
      users: [
        { username: 'admin', password: 'admin-pw', permissions: '*' },
        { username: 'viewer', password: 'viewer-pw', permissions: 'read' },
      ],
    });
    adminToken = await red.login('admin', 'admin-pw');
    viewerToken = await red.login('viewer', 'viewer-pw', 'read');
    await red.waitForOutput(new RegExp(`Broker listening on 127\\.0\\.0\\.1:${port}`));
    browser = await launchChromium();
  });

  after(async () => {
    for (const c of clients) await c.endAsync(true).catch(() => undefined);
    await browser?.close();
    await red?.stop();
  });

  /** The editor, logged in: the token goes where the editor keeps it after its own login dialog. */
  async function openEditor(locale: string, token = adminToken): Promise<{ page: Page; problems: string[] }> {
    const { page, problems } = await openPage(browser, red.baseUrl, { locale, viewport: { width: 1500, height: 950 }, token, acceptDialogs: true });
    await page.waitForFunction(() => !!(window.RED && window.RED.nodes && window.RED.nodes.node('hub') && document.querySelector('#red-ui-tab-mqtt-hub')), undefined, { timeout: 20_000 });
    return { page, problems };
  }

  async function client(clientId: string): Promise<mqtt.MqttClient> {
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId, protocolVersion: 5, keepalive: 25, reconnectPeriod: 0 });
    clients.push(c);
    return c;
  }

  test('clients, topics, clearing a retained topic, disconnecting and publishing from the sidebar', async () => {
    const { page, problems } = await openEditor('en-US');
    await page.evaluate(() => window.RED.sidebar.show('mqtt-hub'));
    const side = page.locator('#mqtt-hub-sidebar');
    await side.locator('.mqtt-hub-sb-clients', { hasText: 'No client is connected.' }).waitFor();
    assert.equal(await side.locator('.mqtt-hub-sb-broker').inputValue(), 'hub');

    // A client connects: its row appears with what the broker knows of it.
    const c = await client('sidebar-client');
    await c.subscribeAsync({ 'sidebar/#': { qos: 1 } });
    const card = side.locator('.mqtt-hub-sb-client[data-client-id="sidebar-client"]');
    await card.waitFor();
    const field = (name: string) => card.locator(`[data-field="${name}"]`).innerText();
    await waitUntil(async () => (await field('subscriptions')) === '1', 5000, 'subscription count 1');
    assert.match(await field('address'), /^127\.0\.0\.1:\d+$/);
    assert.equal(await field('version'), '5.0');
    assert.equal(await field('keepalive'), '25 s');
    assert.match(await field('bytes'), /^\d+ \/ \d+$/);
    await side.locator('.mqtt-hub-sb-subscriptions', { hasText: 'sidebar/#' }).waitFor();

    // Messages arrive: the topic tree shows them with their payloads.
    await c.publishAsync('sidebar/line1/temp', JSON.stringify({ celsius: 20.5 }), { qos: 1, retain: true });
    await c.publishAsync('sidebar/line1/note', 'hello sidebar', { qos: 0 });
    const temp = side.locator('[data-topic="sidebar/line1/temp"]');
    const note = side.locator('[data-topic="sidebar/line1/note"]');
    await temp.waitFor();
    await note.waitFor();
    assert.match(await temp.innerText(), /temp\s*retained\s*\{"celsius":20\.5\}/);
    assert.match(await note.innerText(), /note\s*hello sidebar/);
    // The rate chart has drawn a line by now (one sample a second).
    await waitUntil(async () => ((await side.locator('polyline.mqtt-hub-sb-rate-in').getAttribute('points')) ?? '').split(' ').length >= 2, 6000, 'rate line');
    await page.screenshot({ path: path.join(screenshots, '01-client-and-topics.png') });

    // Clear the retained topic from the UI: the broker no longer holds it.
    await temp.locator('.mqtt-hub-sb-clear').click();
    await temp.waitFor({ state: 'detached' });
    const late = await client('sidebar-late');
    const retained: string[] = [];
    late.on('message', (topic, _payload, packet) => packet.retain && retained.push(topic));
    await late.subscribeAsync('sidebar/#');
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(retained, [], 'no retained message left');
    await page.screenshot({ path: path.join(screenshots, '02-retained-cleared.png') });

    // Publish a test message from the form: the subscriber gets it.
    const got: string[] = [];
    c.on('message', (topic, payload) => got.push(`${topic} ${payload.toString()}`));
    await side.locator('.mqtt-hub-sb-pub-topic').fill('sidebar/test');
    await side.locator('.mqtt-hub-sb-pub-payload').fill('from the editor');
    await side.locator('.mqtt-hub-sb-pub-send').click();
    await waitUntil(() => got.includes('sidebar/test from the editor'), 5000, 'test message delivered');

    // Disconnect a client from the UI: it gets DISCONNECT 0x98 and moves to the recently gone.
    const reason = new Promise<number | undefined>((resolve) => late.once('disconnect', (p) => resolve(p.reasonCode)));
    await side.locator('.mqtt-hub-sb-client[data-client-id="sidebar-late"] .mqtt-hub-sb-disconnect').click();
    assert.equal(await reason, 0x98);
    await side.locator('.mqtt-hub-sb-client[data-client-id="sidebar-late"]').waitFor({ state: 'detached' });
    await side.locator('.mqtt-hub-sb-gone', { hasText: 'sidebar-late' }).waitFor();
    assert.match(await side.locator('.mqtt-hub-sb-gone li').first().innerText(), /sidebar-late \(127\.0\.0\.1:\d+\): administrative-action/);
    await page.screenshot({ path: path.join(screenshots, '03-after-actions.png') });
    assert.deepEqual(problems, [], 'no errors in the browser console');
    await page.context().close();
  });

  test('"Test connection" in the connection form answers in plain words', async () => {
    const { page, problems } = await openEditor('en-US');
    await page.evaluate(() => window.RED.editor.editConfig('', 'mqtt-hub-connection', 'conn'));
    await page.waitForSelector('#mqtt-hub-connection-test', { state: 'visible' });
    await page.click('#mqtt-hub-connection-test');
    const result = page.locator('#mqtt-hub-connection-test-result.mqtt-hub-test-ok');
    await result.waitFor();
    assert.match(await result.innerText(), new RegExp(`^Connected: mqtt://127\\.0\\.0\\.1:${port} accepted the connection\\.$`));
    // An unsaved change is what is tested: a port where nothing listens.
    await page.fill('#node-config-input-port', String(await freePort()));
    await page.click('#mqtt-hub-connection-test');
    const failed = page.locator('#mqtt-hub-connection-test-result.mqtt-hub-test-failed');
    await failed.waitFor();
    assert.match(await failed.innerText(), /^Connection refused: nothing listens on that host and port\./);
    await page.screenshot({ path: path.join(screenshots, '04-test-connection.png') });
    await page.click('#node-config-dialog-cancel');
    assert.deepEqual(problems, [], 'no errors in the browser console');
    await page.context().close();
  });

  test('a read-only user, in Chinese: the same view without the actions', async () => {
    const c = await client('viewer-seen');
    await c.publishAsync('sidebar/readonly', 'kept', { qos: 1, retain: true });
    const { page, problems } = await openEditor('zh-CN', viewerToken);
    await page.evaluate(() => window.RED.sidebar.show('mqtt-hub'));
    const side = page.locator('#mqtt-hub-sidebar');
    await side.locator('.mqtt-hub-sb-clients .mqtt-hub-sb-title', { hasText: '已连接的客户端' }).waitFor();
    await side.locator('.mqtt-hub-sb-client[data-client-id="viewer-seen"]').waitFor();
    await side.locator('[data-topic="sidebar/readonly"]', { hasText: '保留' }).waitFor();
    assert.match(await side.locator('.mqtt-hub-sb-readonly').innerText(), /您只能查看，不能操作/);
    assert.equal(await side.locator('.mqtt-hub-sb-disconnect, .mqtt-hub-sb-clear, .mqtt-hub-sb-publish').count(), 0, 'no action for a read-only user');
    await page.screenshot({ path: path.join(screenshots, '05-read-only-zh-CN.png') });
    assert.deepEqual(problems, [], 'no errors in the browser console');
    await page.context().close();
  });
});
