import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSharedSubscription, topicMatchesFilter, validateTopicFilter, validateTopicName } from '../../src/topics';

describe('topic names', () => {
  test('[MQTT-4.7.3-1] an empty topic name is invalid', () => {
    assert.equal(validateTopicName(''), false);
  });
  test('[MQTT-3.3.2-2] wildcards are not allowed in a topic name', () => {
    assert.equal(validateTopicName('a/+/b'), false);
    assert.equal(validateTopicName('a/#'), false);
    assert.equal(validateTopicName('a+b'), false);
  });
  test('[MQTT-4.7.3-2] U+0000 is not allowed', () => {
    assert.equal(validateTopicName('a\u0000b'), false);
  });
  test('ordinary names, empty levels and $ topics are valid', () => {
    for (const t of ['a', 'a/b/c', '/', '//', '/a', 'a/', '$SYS/broker/uptime', 'ünïcode/ok']) assert.equal(validateTopicName(t), true, t);
  });
});

describe('topic filters', () => {
  test('[MQTT-4.7.1-2] multi-level wildcard only alone and last', () => {
    for (const f of ['#', 'a/#', '/#', '+/#']) assert.equal(validateTopicFilter(f), true, f);
    for (const f of ['a#', 'a/#/b', '#/a', 'a/b#', '##']) assert.equal(validateTopicFilter(f), false, f);
  });
  test('[MQTT-4.7.1-3] single-level wildcard occupies a whole level', () => {
    for (const f of ['+', '+/+', 'a/+/b', '/+', '+/']) assert.equal(validateTopicFilter(f), true, f);
    for (const f of ['a+', '+a', 'a/b+/c', '++']) assert.equal(validateTopicFilter(f), false, f);
  });
  test('[MQTT-4.7.3-1] empty filter is invalid', () => {
    assert.equal(validateTopicFilter(''), false);
  });
  test('[MQTT-4.8.2-1] [MQTT-4.8.2-2] shared subscriptions need a share name without wildcards and a filter', () => {
    assert.deepEqual(parseSharedSubscription('$share/g/a/+'), { shareName: 'g', topicFilter: 'a/+' });
    assert.equal(validateTopicFilter('$share/g/a/#'), true);
    assert.equal(validateTopicFilter('$share//a'), false);
    assert.equal(validateTopicFilter('$share/g'), false);
    assert.equal(validateTopicFilter('$share/g/'), false);
    assert.equal(validateTopicFilter('$share/g+/a'), false);
    assert.equal(validateTopicFilter('$share/g/a#'), false);
    assert.equal(parseSharedSubscription('a/b'), null);
  });
});

describe('topicMatchesFilter', () => {
  const cases: [string, string, boolean][] = [
    ['a/b', 'a/b', true],
    ['a/b', 'a/c', false],
    ['a/+', 'a/b', true],
    ['a/+', 'a/b/c', false],
    ['a/+', 'a/', true],
    ['a/#', 'a', true], // [MQTT-4.7.1-2] parent level
    ['a/#', 'a/b/c', true],
    ['a/#', 'ab', false],
    ['#', 'a/b', true],
    ['+/+', '/a', true],
    ['+', '/a', false],
    ['/+', '/a', true],
    ['a/b', 'a', false],
    ['a', 'a/b', false],
    ['+/b/#', 'x/b', true],
    ['#', '$SYS/x', false], // [MQTT-4.7.2-1]
    ['+/x', '$SYS/x', false],
    ['$SYS/#', '$SYS/x', true],
  ];
  for (const [filter, topic, expected] of cases) {
    test(`${filter} ${expected ? 'matches' : 'does not match'} ${topic}`, () => {
      assert.equal(topicMatchesFilter(filter, topic), expected);
    });
  }
});
