// The broker form's "Import mosquitto.conf" in headless Chromium: a file with an error leaves the form
// as it was and lists the error with its line; a gateway's mosquitto.conf (a password_file from the
// real mosquitto_passwd, an acl_file, a bridge) picked through the button fills the fields and lists
// every warning; after Deploy an imported user logs in with its password and anonymous clients are
// refused. No errors in the browser console; screenshots in test-output/editor/.
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import mqtt from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import { mosquittoAvailable } from '../helpers/mosquitto';
import { freePort } from '../helpers/net';
import { projectRoot, startNodeRed, type NodeRedProcess } from '../nodes/node-red-process';
import { chromiumMissing, launchChromium, openPage, screenshotDir } from './browser';

// Code inside page.evaluate runs in the browser; the test compiles without the DOM library.
declare const window: any;

const skip = chromiumMissing || (!mosquittoAvailable() && 'mosquitto_passwd is not installed');
const screenshots = screenshotDir(projectRoot, 'editor');

describe('broker form: Import mosquitto.conf in headless Chromium', { skip }, () => {
  let red: NodeRedProcess;
  let browser: Browser;
  let dir: string;
  let confPath: string;
  let nodePort: number;
  let importedPort: number;
  const clients: mqtt.MqttClient[] = [];

  before(async () => {
    nodePort = await freePort();
    importedPort = await freePort();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-hub-editor-import-'));
    const passwd = path.join(dir, 'passwd');
    execFileSync('mosquitto_passwd', ['-c', '-b', passwd, 'alice', 'alice-secret']);
    execFileSync('mosquitto_passwd', ['-b', passwd, 'bob', 'bob-secret']);
    fs.writeFileSync(path.join(dir, 'acl'), 'user alice\ntopic readwrite plant/#\n');
    confPath = path.join(dir, 'mosquitto.conf');
    const unused = await freePort();
    fs.writeFileSync(
      confPath,
      [
        `listener ${importedPort} 127.0.0.1`, //  1
        'listener 18830', //                      2
        'allow_anonymous false', //               3
        `password_file ${passwd}`, //             4
        `acl_file ${path.join(dir, 'acl')}`, //   5
        'max_connections 25', //                  6
        'frobnicate 1', //                        7
        'connection upstream', //                 8
        `address 127.0.0.1:${unused}`, //         9
        'keepalive_interval 20', //               10
        'cleansession true', //                   11
        'notification_topic gw/upstream/state', // 12
        'topic plant/# out 1', //                 13
        '',
      ].join('\n'),
    );
    red = await startNodeRed({
      flows: [
        { id: 'f1', type: 'tab', label: 'import' },
        { id: 'gw', z: 'f1', type: 'mqtt-hub-broker', x: 160, y: 80, name: 'gateway', bind: 'loopback', port: String(nodePort), sysInterval: '0', wires: [[]] },
      ],
    });
    await red.waitForOutput(new RegExp(`Broker listening on 127\\.0\\.0\\.1:${nodePort}`));
    browser = await launchChromium();
  });

  after(async () => {
    for (const c of clients) await c.endAsync(true).catch(() => undefined);
    await browser?.close();
    await red?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  async function openEditor(locale: string): Promise<{ page: Page; problems: string[] }> {
    const { page, problems } = await openPage(browser, red.baseUrl, { locale, viewport: { width: 1400, height: 1000 } });
    await page.waitForFunction(() => !!(window.RED && window.RED.nodes && window.RED.nodes.node('gw')), undefined, { timeout: 20_000 });
    await page.evaluate(() => window.RED.editor.edit(window.RED.nodes.node('gw')));
    await page.waitForSelector('#mqtt-hub-broker-import-button', { state: 'visible' });
    return { page, problems };
  }

  test('an error leaves the form unchanged; the file fills the fields and lists the warnings; after Deploy an imported user logs in', async () => {
    const { page, problems } = await openEditor('en-US');
    assert.equal((await page.innerText('#mqtt-hub-broker-import-button')).trim(), 'Import mosquitto.conf');
    await page.click('#mqtt-hub-broker-import-button');
    await page.waitForSelector('#mqtt-hub-broker-import-text', { state: 'visible' });

    // Pasted text with an error: listed with its line, nothing changes.
    await page.fill('#mqtt-hub-broker-import-text', 'listener 1999\nmax_connections many\n');
    await page.click('#mqtt-hub-broker-import-run');
    await page.waitForSelector('#mqtt-hub-broker-import-result[data-result="errors"] li');
    const errors = await page.locator('#mqtt-hub-broker-import-result li').allInnerTexts();
    assert.deepEqual(errors, ["mosquitto.conf line 2: invalid value 'many' for 'max_connections': an integer from -1 to 9007199254740991 is expected"]);
    assert.equal(await page.inputValue('#node-input-port'), String(nodePort), 'the port is unchanged');
    assert.match(await page.innerText('#mqtt-hub-broker-import-result'), /form is unchanged/);

    // The file, through the file picker.
    await page.setInputFiles('#mqtt-hub-broker-import-file', confPath);
    await page.waitForSelector('#mqtt-hub-broker-import-result[data-result="warnings"] li').catch(async (err: Error) => {
      throw new Error(`${err.message}\nresult: ${await page.innerText('#mqtt-hub-broker-import-result')}\n${problems.join('\n')}`);
    });
    const warnings = await page.locator('#mqtt-hub-broker-import-result li').allInnerTexts();
    assert.equal(warnings.length, 2, warnings.join('\n'));
    assert.match(warnings[0], /^mosquitto\.conf line 2: listener on port 18830 is not imported/);
    assert.match(warnings[1], /^mosquitto\.conf line 7: option 'frobnicate' is not supported yet and is ignored/);
    assert.match(await page.innerText('#mqtt-hub-broker-import-result'), /Imported, with 2 warning\(s\)/);

    const fields = await page.evaluate(() => {
      const $ = window.$;
      const users = $('#node-input-users-container').editableList('items').map(function (this: any) {
        return $(this).find('.mqtt-hub-broker-username').val();
      }).get();
      // editableList('items') is a set of jQuery objects, one per row.
      const row = $($('#node-input-bridges-container').editableList('items')[0]);
      return {
        bind: $('#node-input-bind').val(),
        port: $('#node-input-port').val(),
        allowAnonymous: $('#node-input-allowAnonymous').is(':checked'),
        maxConnections: $('#node-input-maxConnections').val(),
        acl: $('#node-input-acl').val(),
        users,
        hashPlaceholder: $('#node-input-users-container .mqtt-hub-broker-password').first().attr('placeholder'),
        bridge: [row.find('.mqtt-hub-bridge-name').val(), row.find('.mqtt-hub-bridge-address').val(), row.find('.mqtt-hub-bridge-topics').val()],
        advancedHidden: !row.find('.mqtt-hub-bridge-advanced').is(':visible'),
      };
    });
    assert.deepEqual(fields, {
      bind: 'loopback',
      port: String(importedPort),
      allowAnonymous: false,
      maxConnections: '25',
      acl: 'user alice\ntopic readwrite plant/#\n',
      users: ['alice', 'bob'],
      hashPlaceholder: 'imported password hash (blank = keep it)',
      bridge: ['upstream', fields.bridge[1], 'plant/# out 1'],
      advancedHidden: true,
    });
    assert.match(String(fields.bridge[1]), /^127\.0\.0\.1:\d+$/);

    // The bridge's advanced options, opened.
    await page.evaluate(() => window.RED.sidebar.show('info'));
    await page.click('#red-ui-tab-mqtt-hub-broker-tab-bridges a');
    await page.click('.mqtt-hub-bridge-advanced-toggle');
    await page.waitForSelector('.mqtt-hub-bridge-keepalive', { state: 'visible' });
    const advanced = await page.evaluate(() => {
      const $ = window.$;
      return [$('.mqtt-hub-bridge-keepalive').val(), $('.mqtt-hub-bridge-cleansession').is(':checked'), $('.mqtt-hub-bridge-notificationtopic').val(), $('.mqtt-hub-bridge-tryprivate').is(':checked'), $('.mqtt-hub-bridge-tls').val()];
    });
    assert.deepEqual(advanced, ['20', true, 'gw/upstream/state', true, '']);
    await page.screenshot({ path: path.join(screenshots, '10-broker-import.png') });

    await page.click('#node-dialog-ok');
    await page.waitForSelector('#mqtt-hub-broker-import-button', { state: 'detached' });
    const saved = await page.evaluate(() => {
      const n = window.RED.nodes.node('gw');
      return { port: n.port, users: n.brokerUsers, bridge: n.bridges[0], passwords: JSON.parse(n.credentials.passwords) };
    });
    assert.equal(saved.port, String(importedPort));
    assert.deepEqual(saved.users, [{ username: 'alice' }, { username: 'bob' }]);
    assert.match(saved.passwords.alice.hash, /^\$7\$/);
    assert.deepEqual([saved.bridge.keepalive, saved.bridge.cleanSession, saved.bridge.notificationTopic], ['20', true, 'gw/upstream/state']);

    // The form's checks of the advanced bridge fields, as the runtime checks them at deploy.
    const verdicts = await page.evaluate(() => {
      const RED = window.RED;
      const validate = RED.nodes.getType('mqtt-hub-broker').defaults.bridges.validate;
      const n = RED.nodes.node('gw');
      const base = { name: 'b', address: '127.0.0.1:1883', topics: 'a/# out' };
      return [{ keepalive: 'abc' }, { keepalive: '70000' }, { restartTimeout: '30 5' }, { notificationTopic: 'gw/+/state' }, { keepalive: '30', restartTimeout: '5 30', notificationTopic: 'gw/b/state' }].map((extra) =>
        validate.call(n, [Object.assign({}, base, extra)], {}),
      );
    });
    assert.deepEqual(verdicts, ['Bridge b: keepalive: abc', 'Bridge b: keepalive: 70000', 'Bridge b: restart timeout: 30 5', 'Bridge b: notification topic: gw/+/state', true]);

    await page.click('#red-ui-header-button-deploy');
    await red.waitForOutput(new RegExp(`Broker listening on 127\\.0\\.0\\.1:${importedPort}`), 15_000);
    const url = `mqtt://127.0.0.1:${importedPort}`;
    const alice = await mqtt.connectAsync(url, { username: 'alice', password: 'alice-secret', protocolVersion: 5, reconnectPeriod: 0 });
    clients.push(alice);
    assert.equal(alice.connected, true);
    // Without credentials a 5.0 client gets CONNACK 0x87 (not authorized).
    await assert.rejects(mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0 }), (err: Error & { code?: number }) => err.code === 0x87);
    assert.deepEqual(problems, [], 'no errors in the browser console');
    await page.context().close();
  });

  test('the import reads in Chinese', async () => {
    const { page, problems } = await openEditor('zh-CN');
    assert.equal((await page.innerText('#mqtt-hub-broker-import-button')).trim(), '导入 mosquitto.conf');
    await page.click('#mqtt-hub-broker-import-button');
    assert.match(await page.innerText('#mqtt-hub-broker-import-panel .form-tips'), /password_file/);
    const help: string = await page.evaluate(() => window.RED.nodes.getNodeHelp('mqtt-hub-broker'));
    assert.match(help, /导入 mosquitto\.conf/);
    await page.click('#node-dialog-cancel');
    assert.deepEqual(problems, [], 'no errors in the browser console');
    await page.context().close();
  });
});
