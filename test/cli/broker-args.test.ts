// `mqtt-hub broker` command line and how it combines with mosquitto.conf listeners (pure functions).
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { parseBrokerArgs, resolveListeners, UsageError } from '../../src/cli/broker-args';
import { parseMosquittoConf } from '../../src/cli/mosquitto-conf';

describe('mqtt-hub broker arguments', () => {
  test('flags, short and long', () => {
    assert.deepEqual(parseBrokerArgs([]), { verbose: false, help: false });
    assert.deepEqual(parseBrokerArgs(['-c', 'm.conf', '-p', '1884', '--host', '0.0.0.0', '-v']), {
      configFile: 'm.conf',
      port: 1884,
      host: '0.0.0.0',
      verbose: true,
      help: false,
    });
    assert.deepEqual(parseBrokerArgs(['--config-file', 'x', '--port', '0', '--verbose', '--help']), {
      configFile: 'x',
      port: 0,
      verbose: true,
      help: true,
    });
  });

  test('bad arguments are usage errors', () => {
    assert.throws(() => parseBrokerArgs(['--port']), UsageError);
    assert.throws(() => parseBrokerArgs(['--port', '65536']), /Invalid port given: 65536/);
    assert.throws(() => parseBrokerArgs(['--port', '-1']), UsageError);
    assert.throws(() => parseBrokerArgs(['-d']), /Unknown option '-d'/);
  });

  test('no configuration: 127.0.0.1:1883, loopback only as Mosquitto 2; --host/--port change it', () => {
    assert.deepEqual(resolveListeners(undefined, parseBrokerArgs([])), [{ host: '127.0.0.1', port: 1883 }]);
    assert.deepEqual(resolveListeners(undefined, parseBrokerArgs(['-p', '1999'])), [{ host: '127.0.0.1', port: 1999 }]);
    assert.deepEqual(resolveListeners(undefined, parseBrokerArgs(['--host', '0.0.0.0'])), [{ host: '0.0.0.0', port: 1883 }]);
  });

  test('configured listeners without a bind address listen on every interface; --port adds the default listener', () => {
    const conf = parseMosquittoConf('listener 1883\nlistener 9001 127.0.0.1\nprotocol websockets\n');
    assert.deepEqual(resolveListeners(conf, parseBrokerArgs([])), [
      { port: 1883, host: '0.0.0.0' },
      { port: 9001, host: '127.0.0.1', protocol: 'ws' },
    ]);
    assert.deepEqual(resolveListeners(conf, parseBrokerArgs(['-p', '2000'])), [
      { host: '127.0.0.1', port: 2000 },
      { port: 1883, host: '0.0.0.0' },
      { port: 9001, host: '127.0.0.1', protocol: 'ws' },
    ]);
  });

  test('--port/--host override the configuration\'s default listener (port / bind_address)', () => {
    const conf = parseMosquittoConf('port 1884\nbind_address 10.1.1.1\nlistener 9001 127.0.0.1\n');
    assert.deepEqual(resolveListeners(conf, parseBrokerArgs([])), [
      { port: 1884, host: '10.1.1.1' },
      { port: 9001, host: '127.0.0.1' },
    ]);
    assert.deepEqual(resolveListeners(conf, parseBrokerArgs(['--port', '1999'])), [
      { port: 1999, host: '10.1.1.1' },
      { port: 9001, host: '127.0.0.1' },
    ]);
    assert.deepEqual(resolveListeners(conf, parseBrokerArgs(['--port', '1999', '--host', '127.0.0.1'])), [
      { port: 1999, host: '127.0.0.1' },
      { port: 9001, host: '127.0.0.1' },
    ]);
  });
});
