import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { type MatchVisitor, SubscriptionTree } from '../../src/topics';

const MB = 1024 * 1024;

function counter(): { visitor: MatchVisitor<string>; matched: string[] } {
  const matched: string[] = [];
  return { visitor: { subscriber: (v) => matched.push(v), shared: () => undefined }, matched };
}

describe('SubscriptionTree topic-level cache', () => {
  test('is bounded by memory: the stated maximum is small', () => {
    assert.ok(SubscriptionTree.levelCacheMaxBytes > 0);
    assert.ok(SubscriptionTree.levelCacheMaxBytes <= 8 * MB, `${SubscriptionTree.levelCacheMaxBytes}`);
  });

  test('3,000 distinct 60 KB topics are matched without being cached', () => {
    const tree = new SubscriptionTree<string>();
    tree.add('long/#', 'c', 'long/#');
    const { visitor, matched } = counter();
    const filler = 'x'.repeat(60 * 1024 - 20);
    for (let i = 0; i < 3000; i++) tree.match(`long/${i}/${filler}`, visitor);
    assert.equal(matched.length, 3000);
    assert.ok(tree.levelCacheUsage.bytes <= SubscriptionTree.levelCacheMaxBytes);
    assert.equal(tree.levelCacheUsage.topics, 0);
  });

  test('many distinct short topics keep the accounted size under the bound, and still match after it starts afresh', () => {
    const tree = new SubscriptionTree<string>();
    tree.add('a/+/c/#', 'k', 'a/+/c/#');
    const { visitor, matched } = counter();
    let peak = 0;
    const levels = 'ab/'.repeat(80);
    for (let i = 0; i < 50_000; i++) {
      tree.match(`a/${i}/c/${levels}`, visitor);
      peak = Math.max(peak, tree.levelCacheUsage.bytes);
    }
    assert.equal(matched.length, 50_000);
    assert.ok(peak <= SubscriptionTree.levelCacheMaxBytes, `peak ${peak}`);
    assert.ok(peak > SubscriptionTree.levelCacheMaxBytes / 2, `the cache was used: peak ${peak}`);
    assert.ok(tree.levelCacheUsage.topics <= 10_000);
  });

  test('a topic seen before is served from the cache, not cached twice', () => {
    const tree = new SubscriptionTree<string>();
    tree.add('a/b', 'k', 'a/b');
    const { visitor, matched } = counter();
    for (let i = 0; i < 5; i++) tree.match('a/b', visitor);
    assert.equal(tree.levelCacheUsage.topics, 1);
    assert.equal(matched.length, 5);
  });

  test('3,000 distinct 60 KB topics, 2,000 topics 10,000 levels deep and a cache filled to its bound leave under 8 MB of heap after GC', () => {
    const child = path.join(__dirname, 'level-cache-heap-child.js');
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    const res = spawnSync(process.execPath, ['--expose-gc', child], { encoding: 'utf8', env, maxBuffer: MB });
    assert.equal(res.status, 0, res.stderr);
    const out = JSON.parse(res.stdout) as { retainedBytes: number; published: number; delivered: number };
    assert.equal(out.delivered, out.published); // every one reached the '#' subscriber
    assert.ok(out.retainedBytes < 8 * MB, `retained ${(out.retainedBytes / MB).toFixed(1)} MB`);
  });
});
