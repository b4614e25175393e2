// Matching over empty levels: topicMatchesFilter (retained messages, bridges, `sub -T`) and the
// subscription tree (live delivery) give Mosquitto's answers for every row of the table.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SubscriptionTree, topicMatchesFilter } from '../../src/topics';
import { EMPTY_LEVEL_MATCHES, EMPTY_LEVEL_TOPICS } from './empty-level-table';

describe('empty topic levels', () => {
  test('[MQTT-4.7.1-3] "+" matches one empty level: topicMatchesFilter agrees with the table', () => {
    for (const [filter, expected] of EMPTY_LEVEL_MATCHES) {
      assert.deepEqual(EMPTY_LEVEL_TOPICS.filter((t) => topicMatchesFilter(filter, t)).sort(), expected, filter);
    }
  });

  test('[MQTT-4.7.1-3] the subscription tree agrees with the table', () => {
    for (const [filter, expected] of EMPTY_LEVEL_MATCHES) {
      const tree = new SubscriptionTree<string>();
      tree.add(filter, 'client', filter);
      const matched = EMPTY_LEVEL_TOPICS.filter((t) => {
        let hit = false;
        tree.match(t, { subscriber: () => (hit = true), shared: () => undefined });
        return hit;
      });
      assert.deepEqual(matched.sort(), expected, filter);
    }
  });

  test('the cases of the issue: a trailing empty level after "+"', () => {
    assert.equal(topicMatchesFilter('a/+/', 'a/b/'), true);
    assert.equal(topicMatchesFilter('+/b/', 'a/b/'), true);
    assert.equal(topicMatchesFilter('foo/+/baz//', 'foo//baz//'), true);
    assert.equal(topicMatchesFilter('a/+/', 'a/b'), false);
    assert.equal(topicMatchesFilter('a/+/', 'a/b/c'), false);
  });
});
