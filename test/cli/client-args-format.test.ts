// `mqtt-hub sub` output: -F with every directive, flags, widths, escapes and strftime sequences,
// -v and -N, compared with what mosquitto_sub prints for the same message.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ArgsError } from '../../src/cli/client-errors';
import { compileFormat, formatOutput, FormatMessage, messageJson, RenderContext } from '../../src/cli/client-format';

// A fixed instant: 2020-05-06T22:12:00.123456789Z, printed in UTC.
const NOW = 1588803120_123456789n;

function context(pretty = false): RenderContext & { warnings: string[] } {
  const warnings: string[] = [];
  return { now: NOW, pretty, warn: (w) => warnings.push(w), warnings };
}

const plain: FormatMessage = { topic: 'x/y', payload: Buffer.from('hel lo'), qos: 1, retain: true, packetId: 7 };
const rich: FormatMessage = {
  ...plain,
  properties: {
    userProperties: [['k', 'v'], ['k2', 'v2']],
    contentType: 'text/plain',
    responseTopic: 'rt',
    correlationData: Buffer.from('cd'),
    messageExpiryInterval: 95,
    payloadFormatIndicator: 1,
    topicAlias: 4,
    subscriptionIdentifiers: [3],
  },
};

function render(format: string, m: FormatMessage = rich, ctx: RenderContext = context()): string {
  return compileFormat(format)(m, ctx).toString('utf8');
}

before(() => {
  // strftime-like output is in local time; fix the zone so the expectations hold everywhere.
  process.env.TZ = 'UTC';
});

describe('-F directives', () => {
  test('message fields: %t %p %q %r %m %l %%', () => {
    assert.equal(render('%t|%p|%q|%r|%m|%l|%%'), 'x/y|hel lo|1|1|7|6|%');
    assert.equal(render('%m|%r', { ...plain, qos: 0, retain: false, packetId: undefined }), '0|0');
  });

  test('MQTT 5 properties: %C %R %P %E %F %D %A %S, and nothing when absent', () => {
    assert.equal(render('%C|%R|%P|%E|%F|%D|%A|%S'), 'text/plain|rt|k:v k2:v2|95|1|cd|4|3');
    assert.equal(render('%C|%R|%P|%E|%F|%D|%A|%S', plain), '|||||||');
  });

  test('payload in hex: %x lower case, %X upper case', () => {
    assert.equal(render('%x %X', { ...plain, payload: Buffer.from([0x00, 0xab, 0x7f]) }), '00ab7f 00AB7F');
  });

  test('times: %I ISO 8601, %U Unix time with nanoseconds', () => {
    assert.equal(render('%I'), '2020-05-06T22:12:00+0000');
    assert.equal(render('%U'), '1588803120.123456789');
  });

  test('escapes \\\\ \\0 \\a \\e \\n \\r \\t \\v', () => {
    assert.deepEqual(compileFormat('\\\\\\0\\a\\e\\n\\r\\t\\v')(plain, context()), Buffer.from('\\\0\x07\x1b\n\r\t\v', 'latin1'));
  });

  test('@ sequences go through strftime; @N nanoseconds; @@ a literal @; unknown ones are written back', () => {
    assert.equal(render('@Y-@m-@d @H:@M:@S @N @z @s @@ @j @a @b @q'), '2020-05-06 22:12:00 123456789 +0000 1588803120 @ 127 Wed May %q');
    assert.equal(render('@F @T @D @R @e @I @p @u @w @y @B @A'), '2020-05-06 22:12:00 05/06/20 22:12  6 10 PM 3 3 20 May Wednesday');
  });
});

describe('-F flags and widths (mosquitto_sub: %[flags][width][.precision]X)', () => {
  test('strings: width pads on the left, - pads on the right, .precision cuts', () => {
    assert.equal(render('[%10t][%-10t][%3.2t][%.1t]'), '[       x/y][x/y       ][ x/][x]');
    assert.equal(render('[%12C][%-4.2R]'), '[  text/plain][rt  ]');
  });

  test('numbers: width with blanks or zeros, - wins over 0', () => {
    assert.equal(render('[%05l][%5m][%-5l][%-05l][%03E][%3F]'), '[00006][    7][6    ][6    ][095][  1]');
  });

  test('%q and %r take no width', () => {
    assert.equal(render('[%5q][%5r]'), '[1][1]');
  });

  test('payload: a width is also the most printed, as mosquitto_sub does', () => {
    assert.equal(render('[%5p][%10p][%-10p][%010p]'), '[hel l][    hel lo][hel lo    ][0000hel lo]');
    // Hex: width / 2 bytes, then padding up to the width.
    assert.equal(render('[%5x][%20x][%-16X]'), '[ 6865][        68656c206c6f][68656C206C6F    ]');
  });
});

describe('-F errors, worded as mosquitto_sub words them', () => {
  const refused = (format: string, message: string) =>
    assert.throws(() => compileFormat(format), (e: unknown) => e instanceof ArgsError && e.message === message);

  test('unknown and incomplete directives and escapes', () => {
    refused('%z', "Invalid format specifier 'z'.");
    refused('abc %', 'Incomplete format specifier.');
    refused('%5', 'Incomplete format specifier.');
    refused('%-0', 'Incomplete format specifier.');
    refused('\\q', "Invalid escape specifier 'q'.");
    refused('x\\', 'Incomplete escape specifier.');
    refused('@', 'Incomplete format specifier.');
  });
});

describe('JSON: %j and %J', () => {
  test('%j: timestamp, topic, qos, retain, length, mid, properties, payload as a string', () => {
    const j = JSON.parse(render('%j'));
    assert.deepEqual(j, {
      tst: '2020-05-06T22:12:00.123456+0000',
      topic: 'x/y',
      qos: 1,
      retain: 1,
      payloadlen: 6,
      mid: 7,
      properties: {
        'user-properties': { k: 'v', k2: 'v2' },
        'content-type': 'text/plain',
        'response-topic': 'rt',
        'correlation-data': 'cd',
        'payload-format-indicator': 1,
        'message-expiry-interval': 95,
        'topic-alias': 4,
        'subscription-identifier': 3,
      },
      payload: 'hel lo',
    });
    const q0 = JSON.parse(render('%j', { ...plain, qos: 0, retain: false, packetId: undefined, payload: Buffer.from('a "quoted"\nline') }));
    assert.equal(q0.mid, undefined);
    assert.equal(q0.properties, undefined);
    assert.equal(q0.payload, 'a "quoted"\nline');
  });

  test('user properties keep repeated names, as mosquitto_sub prints them', () => {
    const text = render('%j', { ...plain, properties: { userProperties: [['k', '1'], ['k', '2']] } });
    assert.match(text, /"user-properties":\{"k":"1","k":"2"\}/);
  });

  test('%J embeds a JSON payload; a payload that is not JSON is reported and prints nothing', () => {
    const j = JSON.parse(render('%J', { ...plain, payload: Buffer.from('{"temperature":27.5,"ok":true}') }));
    assert.deepEqual(j.payload, { temperature: 27.5, ok: true });
    const ctx = context();
    assert.equal(render('%J', plain, ctx), '');
    assert.deepEqual(ctx.warnings, ['Error: Message payload is not valid JSON on topic x/y.']);
  });

  test('--pretty indents with tabs and stays valid JSON', () => {
    const text = messageJson({ ...plain, payload: Buffer.from('{"a":[1,2]}') }, { now: NOW, pretty: true }, true) as string;
    assert.match(text, /^\{\n\t"tst":\t"2020-05-06T22:12:00\.123456\+0000",\n/);
    assert.deepEqual(JSON.parse(text).payload, { a: [1, 2] });
    assert.equal(JSON.parse(render('%j', rich, context(true))).properties['content-type'], 'text/plain');
  });
});

describe('output modes without -F', () => {
  const out = (m: FormatMessage, verbose: boolean, eol: boolean, format?: string) =>
    formatOutput(m, { verbose, eol, format: format === undefined ? undefined : compileFormat(format) }, context()).toString('utf8');

  test('payload alone, then a newline; -N leaves it out', () => {
    assert.equal(out(plain, false, true), 'hel lo\n');
    assert.equal(out(plain, false, false), 'hel lo');
  });

  test('-v prints "topic payload"', () => {
    assert.equal(out(plain, true, true), 'x/y hel lo\n');
    assert.equal(out(plain, true, false), 'x/y hel lo');
  });

  test('an empty payload prints nothing, or "topic (null)" with -v (nothing with -v -N)', () => {
    const empty = { ...plain, payload: Buffer.alloc(0) };
    assert.equal(out(empty, false, true), '');
    assert.equal(out(empty, true, true), 'x/y (null)\n');
    assert.equal(out(empty, true, false), '');
  });

  test('-F wins over -v, and -N still applies', () => {
    assert.equal(out(plain, true, true, '%t=%p'), 'x/y=hel lo\n');
    assert.equal(out(plain, true, false, '%t=%p'), 'x/y=hel lo');
  });

  test('payload bytes are printed as they are, not decoded', () => {
    const binary = { ...plain, payload: Buffer.from([0xff, 0x00, 0xfe]) };
    assert.deepEqual(formatOutput(binary, { verbose: false, eol: false }, context()), Buffer.from([0xff, 0x00, 0xfe]));
  });
});
