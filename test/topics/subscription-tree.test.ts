import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type MatchVisitor, type SharedGroup, SubscriptionTree, topicMatchesFilter } from '../../src/topics';

interface Sub {
  client: string;
  filter: string;
}

function collect(tree: SubscriptionTree<Sub>, topic: string, online?: (s: Sub) => boolean): { plain: string[]; shared: string[] } {
  const plain: string[] = [];
  const shared: string[] = [];
  const visitor: MatchVisitor<Sub> = {
    subscriber: (s) => plain.push(`${s.client}:${s.filter}`),
    shared: (g: SharedGroup<Sub>) => {
      const m = g.pick(online);
      if (m) shared.push(`${g.shareName}:${m.client}`);
    },
  };
  tree.match(topic, visitor);
  return { plain: plain.sort(), shared };
}

function add(tree: SubscriptionTree<Sub>, client: string, filter: string): boolean {
  return tree.add(filter, client, { client, filter });
}

describe('SubscriptionTree', () => {
  test('matches literal, + and # filters, # including the parent level [MQTT-4.7.1-2]', () => {
    const tree = new SubscriptionTree<Sub>();
    for (const f of ['a/b/c', 'a/+/c', 'a/#', '#', '+/+/+', 'a/b', 'x/#']) add(tree, 'c1', f);
    assert.deepEqual(collect(tree, 'a/b/c').plain, ['c1:#', 'c1:+/+/+', 'c1:a/#', 'c1:a/+/c', 'c1:a/b/c']);
    assert.deepEqual(collect(tree, 'a').plain, ['c1:#', 'c1:a/#']);
    assert.deepEqual(collect(tree, 'x').plain, ['c1:#', 'c1:x/#']);
    assert.deepEqual(collect(tree, 'q/r').plain, ['c1:#']);
  });

  test('[MQTT-4.7.2-1] filters starting with a wildcard do not match $ topics', () => {
    const tree = new SubscriptionTree<Sub>();
    for (const f of ['#', '+/broker', '+/#', '$SYS/#', '$SYS/+']) add(tree, 'c', f);
    assert.deepEqual(collect(tree, '$SYS/broker').plain, ['c:$SYS/#', 'c:$SYS/+']);
    assert.deepEqual(collect(tree, 'SYS/broker').plain, ['c:#', 'c:+/#', 'c:+/broker']);
  });

  test('agrees with topicMatchesFilter on a grid of filters and topics', () => {
    const filters = ['#', '+', '+/+', 'a/#', 'a/+', 'a/+/#', '/#', '/+', '+/b', 'a/b', 'a//b', '$x/#', '+/+/+'];
    const topics = ['a', 'a/b', 'a/b/c', '/', '/a', 'a/', 'a//b', 'b', '$x/y', '$x'];
    const tree = new SubscriptionTree<Sub>();
    for (const f of filters) add(tree, 'k', f);
    for (const t of topics) {
      const expected = filters.filter((f) => topicMatchesFilter(f, t)).map((f) => `k:${f}`).sort();
      assert.deepEqual(collect(tree, t).plain, expected, t);
    }
  });

  test('add replaces per (filter, key) [MQTT-3.8.4-3]; remove prunes and reports', () => {
    const tree = new SubscriptionTree<Sub>();
    assert.equal(add(tree, 'c', 'a/b'), true);
    assert.equal(add(tree, 'c', 'a/b'), false);
    assert.equal(add(tree, 'd', 'a/b'), true);
    assert.equal(tree.size, 2);
    assert.equal(tree.remove('a/b', 'c'), true);
    assert.equal(tree.remove('a/b', 'c'), false);
    assert.deepEqual(collect(tree, 'a/b').plain, ['d:a/b']);
    assert.equal(tree.remove('a/b', 'd'), true);
    assert.equal(tree.size, 0);
    assert.deepEqual(collect(tree, 'a/b').plain, []);
    assert.equal(tree.remove('x/y', 'd'), false);
  });

  test('a client with overlapping filters is visited once per filter (the router merges them)', () => {
    const tree = new SubscriptionTree<Sub>();
    add(tree, 'c', 'a/+');
    add(tree, 'c', 'a/#');
    add(tree, 'd', 'a/b');
    assert.deepEqual(collect(tree, 'a/b').plain, ['c:a/#', 'c:a/+', 'd:a/b']);
  });

  test('shared subscriptions: one member per group, round-robin (section 4.8.2)', () => {
    const tree = new SubscriptionTree<Sub>();
    add(tree, 'm1', '$share/g/t/+');
    add(tree, 'm2', '$share/g/t/+');
    add(tree, 'm3', '$share/g/t/+');
    add(tree, 'o1', '$share/other/t/#');
    add(tree, 'p', 't/+');
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = collect(tree, 't/x');
      assert.deepEqual(r.plain, ['p:t/+']);
      assert.equal(r.shared.length, 2);
      assert.ok(r.shared.includes('other:o1'));
      seen.push(r.shared.find((s) => s.startsWith('g:'))!);
    }
    assert.deepEqual(seen, ['g:m1', 'g:m2', 'g:m3', 'g:m1', 'g:m2', 'g:m3']);
  });

  test('shared groups skip members that are not eligible (offline) while one is', () => {
    const tree = new SubscriptionTree<Sub>();
    for (const m of ['m1', 'm2', 'm3']) add(tree, m, '$share/g/t');
    const online = (s: Sub) => s.client !== 'm2';
    const picks = [0, 1, 2, 3].map(() => collect(tree, 't', online).shared[0]);
    assert.deepEqual(picks, ['g:m1', 'g:m3', 'g:m1', 'g:m3']);
    // nobody online: still one member (its session queues the message)
    assert.equal(collect(tree, 't', () => false).shared.length, 1);
  });

  test('removing a shared member keeps the rotation going; the empty group disappears', () => {
    const tree = new SubscriptionTree<Sub>();
    for (const m of ['m1', 'm2']) add(tree, m, '$share/g/t');
    assert.equal(tree.size, 2);
    assert.equal(tree.remove('$share/g/t', 'm1'), true);
    assert.deepEqual([collect(tree, 't').shared[0], collect(tree, 't').shared[0]], ['g:m2', 'g:m2']);
    assert.equal(tree.remove('$share/g/t', 'm2'), true);
    assert.deepEqual(collect(tree, 't').shared, []);
    assert.equal(tree.size, 0);
    assert.equal(tree.get('$share/g/t', 'm2'), undefined);
  });
});
